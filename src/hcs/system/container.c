/* SPDX-License-Identifier: MIT */
/* Containers: a compute system with isolation. Start prepares its
 * configuration, cgroups and seccomp filter here and runs its init
 * (init.c) in new namespaces; its endpoints follow (netattach.c).
 * Processes started later are clones of the system's spawner, a thread
 * that has joined it once (no runtime binary per exec). */
#include "hcs/system/container.h"

#include "hcs/system/init.h"
#include "hcs/system/ns.h"
#include "hcs/system/procfs.h"
#include "hcs/system/rootfs.h"
#include "hcs/system/user.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The capabilities a container's processes keep: Docker's default set. */
#define CAP(n) (UINT64_C(1) << (n))
static const uint64_t default_caps =
    CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) | CAP(CAP_FOWNER) |
    CAP(CAP_MKNOD) | CAP(CAP_NET_RAW) | CAP(CAP_SETGID) | CAP(CAP_SETUID) |
    CAP(CAP_SETFCAP) | CAP(CAP_SETPCAP) | CAP(CAP_NET_BIND_SERVICE) |
    CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) | CAP(CAP_AUDIT_WRITE);

static void spawner_end(as_loop_t *loop, void *data) {
  (void)loop;
  as_spawner_free(data);
}

/* Each spawner ends on its loop, after the spawns already posted there. */
static void spawners_free(hcs__system_t *s) {
  hcs__container_t *ct = s->ct;
  if (ct->spawners == NULL) {
    return;
  }
  for (uint32_t i = 0; i < s->hcs->nloops; i++) {
    as_spawner_t *sp = ct->spawners[i];
    if (sp != NULL &&
        (i == 0 || as_loop_post(s->hcs->loops[i], spawner_end, sp) != 0)) {
      as_spawner_free(sp); /* loop 0's, or a loop that runs no more */
    }
  }
  as_free(ct->spawners);
  ct->spawners = NULL;
}

void hcs__container_init_done(as_session_t *is, const as_result_t *r,
                              void *data) {
  hcs__system_t *s = data;
  hcs__container_t *ct = s->ct;
  (void)is;
  (void)r;
  ct->init_done = 1;
  /* Its namespaces are dying: nothing more can be started in them. */
  spawners_free(s);
  hcs__container_detach(s);
  /* pid 1 is gone, so the kernel killed its namespace; the cgroup may
   * still hold processes that left it. */
  hcs__cgroup_kill(&ct->cg);
  s->nrunning--;
  if (s->state == HCS__SYS_RUNNING) {
    s->stopping = 1;
  }
  hcs__system_check_stopped(s);
}

/* Pins the container's devpts multiplexer while only init runs there (no
 * process of the container could have swapped it yet); each console then
 * reopens that inode, whatever the container later does to its /dev. */
void hcs__container_open_ptmx(hcs__container_t *ct) {
  char path[64];
  struct stat st;
  snprintf(path, sizeof(path), "/proc/%d/root/dev/pts/ptmx", (int)ct->init_pid);
  ct->ptmx_fd = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (ct->ptmx_fd >= 0 &&
      (fstat(ct->ptmx_fd, &st) != 0 || !S_ISCHR(st.st_mode))) {
    close(ct->ptmx_fd);
    ct->ptmx_fd = -1;
  }
  if (ct->ptmx_fd >= 0) {
    snprintf(ct->ptmx, sizeof(ct->ptmx), "/proc/self/fd/%d", ct->ptmx_fd);
  }
}

static hcs_result_t start_fail_as(hcs__system_t *s, hcs_error_t **err,
                                  hcs_result_t code, int e, const char *what) {
  char obj[160];
  snprintf(obj, sizeof(obj), "id=%s", s->id);
  hcs__container_free(s);
  return hcs__fail(err, code, "hcs::StartComputeSystem", obj, e, "%s: %s", what,
                   strerror(e));
}

static hcs_result_t start_fail(hcs__system_t *s, hcs_error_t **err, int e,
                               const char *what) {
  return start_fail_as(s, err, HCS_ERROR_GEN_FAILURE, e, what);
}

/* PATH and HOSTNAME as Docker gives them, then the configuration's own
 * Environment (which may replace them). */
static char **default_env(const hcs__config_t *cfg, const char *id) {
  size_t n = 0;
  while (cfg->environment != NULL && cfg->environment[n] != NULL) {
    n++;
  }
  char **env = as_calloc(n + 3, sizeof(char *));
  if (env == NULL) {
    return NULL;
  }
  char host[128];
  snprintf(host, sizeof(host), "HOSTNAME=%s",
           cfg->host_name != NULL ? cfg->host_name : id);
  const char *base[] = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      host};
  size_t k = 0;
  for (size_t i = 0; i < 2; i++) {
    size_t klen = (size_t)(strchr(base[i], '=') - base[i]) + 1;
    int overridden = 0;
    for (size_t j = 0; j < n; j++) {
      overridden |= strncmp(cfg->environment[j], base[i], klen) == 0;
    }
    if (!overridden && (env[k++] = as_strdup(base[i])) == NULL) {
      return env; /* partial: the caller frees it */
    }
  }
  for (size_t j = 0; j < n; j++) {
    if ((env[k++] = as_strdup(cfg->environment[j])) == NULL) {
      return env;
    }
  }
  return env;
}

hcs_result_t hcs__container_start(hcs__system_t *s, hcs_error_t **err) {
  char why[1024] = ""; /* a sentence naming a path of ct->root_mnt's size */
  int e = hcs__container_prepare(s, why, sizeof(why));
  if (e != 0) {
    return start_fail(s, err, -e, why[0] != '\0' ? why : "preparing");
  }
  hcs__container_t *ct = s->ct;
  const char *run = hcs__system_run_dir(s->hcs);
  (void)mkdir(run, 0700);
  if (mkdir(ct->root_mnt, 0700) != 0 && errno != EEXIST) {
    snprintf(why, sizeof(why), "mkdir(%s)", ct->root_mnt);
    return start_fail(s, err, errno, why);
  }
  e = hcs__container_resolv_conf(s, run);
  if (e != 0) {
    snprintf(why, sizeof(why), "writing %s/%s.resolv.conf", run, s->id);
    return start_fail(s, err, -e, why);
  }
  as_spawn_opts_t o;
  memset(&o, 0, sizeof(o));
  o.child_fn = hcs__init_main;
  o.child_arg = ct;
  /* The cgroup namespace is made by init once it is in its groups, so
   * that its root is the system's group (a clone flag would root it in
   * the engine's); the namespaces joined by path init joins itself, but
   * a pid namespace, which the engine's thread picks for the clone. */
  o.clone_flags = ct->ns_new & ~(unsigned)CLONE_NEWCGROUP;
  if (ct->cfg.init_sibling) {
    o.clone_flags |= CLONE_PARENT; /* the embedder's parent reaps it */
  }
  o.cbs.done_cb = hcs__container_init_done;
  o.data = s;
  e = hcs__ns_open(&ct->cfg, ct->ns_fd, why, sizeof(why));
  pid_t mapper = 0;
  if (e == 0 && (ct->ns_new & CLONE_NEWUSER)) {
    e = hcs__ns_mapper_start(&ct->cfg, &ct->userns_sock, &mapper, why,
                             sizeof(why));
    /* init is then the user namespace's root, a host uid that may not
     * pass the state directory: the mount point is root_mnt/r, with
     * root_mnt one that any uid may pass (init.c). */
    char r[sizeof(ct->root_mnt) + 2];
    snprintf(r, sizeof(r), "%s/r", ct->root_mnt);
    if (e == 0 && (chmod(ct->root_mnt, 0711) != 0 ||
                   (mkdir(r, 0700) != 0 && errno != EEXIST))) {
      e = -errno;
      snprintf(why, sizeof(why), "making %s", r);
    }
  }
  int own_pidns = -1;
  if (e == 0 && (e = hcs__ns_pid_enter(ct->ns_fd, &own_pidns)) != 0) {
    snprintf(why, sizeof(why), "Namespaces (pid): setns");
  }
  int life[2] = {-1, -1};
  if (e == 0 && ct->cfg.init_sibling && pipe2(life, O_CLOEXEC) != 0) {
    e = -errno;
    snprintf(why, sizeof(why), "InitSibling: pipe2");
  }
  ct->life_r = life[0];
  if (e == 0) {
    e = as_session_spawn(hcs__loop(s->hcs), &o, &ct->init);
    if (e != 0) {
      snprintf(why, sizeof(why), "%s",
               e == -EINVAL && ct->cfg.init_sibling
                   ? "InitSibling: starting init (the embedding process may "
                     "be a pid namespace's init)"
                   : "starting init");
    }
  }
  hcs__ns_pid_leave(own_pidns);
  if (life[0] >= 0) {
    close(life[0]);
    ct->life_r = -1;
    ct->life_w = life[1]; /* held while the system is this engine's */
  }
  hcs__ns_close(ct->ns_fd);
  hcs__ns_mapper_end(&ct->userns_sock, &mapper);
  if (e != 0) {
    return start_fail(s, err, -e, why);
  }
  e = as_session_exec_errno(ct->init);
  if (e != 0) {
    /* The setup failed in the child: the init died during Start, HCS's
     * unexpected exit. Its session completes on its own, calling nobody
     * once it is unreferenced. */
    char what[AS_WHY_MAX + 32];
    hcs__rootfs_unmount(ct->root_mnt); /* what it made in the host's */
    snprintf(what, sizeof(what), "setting up the system: %s",
             as_session_setup_why(ct->init)[0] != '\0'
                 ? as_session_setup_why(ct->init)
                 : "its root and namespaces");
    return start_fail_as(s, err, HCS_E_UNEXPECTED_EXIT, e, what);
  }
  ct->init_pid = as_session_pid(ct->init);
  hcs__container_open_ptmx(ct);
  char attach_why[256] = "";
  e = hcs__container_attach(s, attach_why, sizeof(attach_why));
  if (e != 0) {
    /* init runs: stop it before letting go, or it would run on alone. */
    (void)as_session_kill(ct->init, SIGKILL);
    hcs__container_detach(s);
    return start_fail(s, err, -e, attach_why);
  }
  s->init_pid = ct->init_pid;
  s->init_start = hcs__proc_start_time(ct->init_pid);
  s->nrunning++;
  return HCS_OK;
}

/* The filter its processes install before execve: the default (Docker's
 * default profile), none ("unconfined"), or a profile of its own. */
static int container_seccomp(hcs__container_t *ct, char *why, size_t n) {
  const char *p = ct->cfg.seccomp_profile;
  const hcs__bpf_t *bpf = NULL;
  char detail[160] = "";
  int e = 0;
  if ((p == NULL || strcmp(p, "default") == 0) && ct->caps == default_caps) {
    e = hcs__seccomp_default(&bpf);
  } else if (p == NULL || strcmp(p, "default") == 0) {
    e = hcs__seccomp_default_caps(ct->caps, &ct->seccomp_own);
    bpf = &ct->seccomp_own;
  } else if (strcmp(p, "unconfined") != 0) {
    e = hcs__seccomp_from_json(p, ct->caps, &ct->seccomp_own, detail,
                               sizeof(detail));
    bpf = &ct->seccomp_own;
  }
  if (e != 0) {
    snprintf(why, n, "SeccompProfile: %s",
             bpf == &ct->seccomp_own ? detail : "the default profile");
    return e;
  }
  if (bpf != NULL) {
    ct->seccomp.len = bpf->len;
    ct->seccomp.filter = bpf->insns;
  }
  return 0;
}

void hcs__container_limits(const hcs__config_t *cfg,
                           hcs__cgroup_limits_t *lim) {
  *lim = (hcs__cgroup_limits_t){
      .memory_bytes = cfg->memory_maximum_mb * 1024 * 1024,
      .pids = cfg->pids_maximum,
      .cpu_weight = cfg->processor_weight,
      .cpu_max = cfg->processor_maximum,
      .cpu_count = cfg->processor_count,
      .cpu_shares = cfg->cpu_shares,
      .cpu_quota = cfg->cpu_quota,
      .cpu_period = cfg->cpu_period,
      .swap_bytes = cfg->swap_maximum_mb > 0
                        ? cfg->swap_maximum_mb * 1024 * 1024
                        : cfg->swap_maximum_mb,
      .memory_low_bytes = cfg->memory_reservation_mb * 1024 * 1024,
      .cpuset_cpus = cfg->cpuset_cpus,
      .cpuset_mems = cfg->cpuset_mems,
  };
}

/* The capabilities this process holds (its permitted set). */
static uint64_t permitted_caps(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof(d));
  if (syscall(SYS_capget, &h, d) != 0) {
    return default_caps;
  }
  return (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
}

int hcs__container_prepare(hcs__system_t *s, char *why, size_t n) {
  hcs__container_t *ct = as_calloc(1, sizeof(*ct));
  if (ct == NULL) {
    return -ENOMEM;
  }
  ct->ptmx_fd = -1;
  for (int k = 0; k < HCS__NS_N; k++) {
    ct->ns_fd[k] = -1;
  }
  ct->userns_sock = -1;
  ct->root_fd = -1;
  ct->life_r = ct->life_w = -1;
  s->ct = ct;
  if (hcs__config_parse(s->config, &ct->cfg, NULL, NULL) != HCS_OK) {
    snprintf(why, n, "configuration");
    return -EINVAL;
  }
  ct->env = default_env(&ct->cfg, s->id);
  if (ct->env == NULL) {
    return -ENOMEM;
  }
  /* pid, mount, uts, ipc, cgroup and network made (loopback and the
   * endpoints, if any) but for what the configuration shares. */
  hcs__ns_plan(&ct->cfg, &ct->ns, &ct->ns_new);
  const char *bad = NULL;
  if (hcs__config_caps(&ct->cfg, default_caps, &ct->caps, &bad) != 0) {
    snprintf(why, n, "CapAdd/CapDrop: %s", bad);
    return -EINVAL;
  }
  /* ALL is what this process may hand on: a capability it lacks cannot
   * be given (capset(2) refuses the whole set). */
  ct->caps &= permitted_caps();
  if (hcs__config_cap_bits(ct->cfg.cap_inheritable, &ct->caps_inh, &bad) ||
      hcs__config_cap_bits(ct->cfg.cap_ambient, &ct->caps_amb, &bad)) {
    snprintf(why, n, "CapInheritable/CapAmbient: %s", bad);
    return -EINVAL;
  }
  /* The kernel raises an ambient capability only if the process holds it. */
  if ((ct->caps_amb & ~ct->caps) != 0) {
    snprintf(why, n, "CapAmbient: a capability the processes do not hold");
    return -EINVAL;
  }
  for (char **g = ct->cfg.group_add; g != NULL && *g != NULL; g++) {
    if (ct->n_groups == sizeof(ct->groups) / sizeof(ct->groups[0])) {
      snprintf(why, n, "GroupAdd: more than 64 groups");
      return -EINVAL;
    }
    ct->groups[ct->n_groups++] = (gid_t)strtoul(*g, NULL, 10);
  }
  int e = container_seccomp(ct, why, n);
  if (e != 0) {
    return e;
  }
  if (ct->cfg.n_ulimits > 0 &&
      (ct->rlimits = as_calloc(ct->cfg.n_ulimits, sizeof(as_rlimit_t))) ==
          NULL) {
    return -ENOMEM;
  }
  for (size_t i = 0; i < ct->cfg.n_ulimits; i++) {
    const hcs__ulimit_t *u = &ct->cfg.ulimits[i];
    ct->rlimits[i] = (as_rlimit_t){hcs__ulimit_resource(u->name),
                                   (uint64_t)u->soft, (uint64_t)u->hard};
  }
  hcs__cgroup_limits_t lim;
  hcs__container_limits(&ct->cfg, &lim);
  hcs__system_path(s, ".root", ct->root_mnt, sizeof(ct->root_mnt));
  char name[160];
  hcs__system_cgroup_name(s, name, sizeof(name)); /* ct->cfg is parsed */
  return hcs__cgroup_create(&ct->cg, name, &lim, why, n);
}

int hcs__container_exec_opts(hcs__system_t *s, as_spawn_opts_t *o,
                             const char *user, uint32_t slot,
                             const char **why) {
  hcs__container_t *ct = s->ct;
  int pidfd = ct->init_done ? -1 : as_session_pidfd(ct->init);
  if (pidfd < 0) {
    *why = "the system's init has exited";
    return -ESRCH;
  }
  if (hcs__rootfs_host_mounts(ct) && ct->root_fd < 0) {
    /* Its root, a chroot in the host's mount namespace, opened at the
     * first process (of this service: an adopted system's too); the
     * pidfd holds init, so the pid is still its. */
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/root", (int)ct->init_pid);
    ct->root_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ct->root_fd < 0) {
      *why = "opening init's root (Namespaces: mount Host)";
      return -errno;
    }
  }
  if (ct->spawners == NULL && !ct->spawner_failed) {
    ct->spawners = as_calloc(s->hcs->nloops, sizeof(*ct->spawners));
    if (ct->spawners == NULL) {
      *why = "allocating the spawners";
      return -ENOMEM;
    }
  }
  o->ns_pidfd = pidfd;
  o->ns_flags = ct->ns;
  o->cgroup_fds = ct->cg.procs;
  o->n_cgroup_fds = (size_t)ct->cg.nprocs;
  o->set_caps = 1;
  o->caps = ct->caps;
  o->no_new_privs = !hcs__config_has(&ct->cfg, "NoNewPrivileges") ||
                    ct->cfg.no_new_privileges;
  o->caps_inheritable = ct->caps_inh;
  o->caps_ambient = ct->caps_amb;
  o->user_keeps_caps = ct->cfg.caps_for_user;
  o->groups = ct->groups;
  o->n_groups = ct->n_groups;
  o->set_umask = hcs__config_has(&ct->cfg, "Umask");
  o->umask = (unsigned)ct->cfg.umask;
  o->seccomp = ct->seccomp.filter != NULL ? &ct->seccomp : NULL;
  o->rlimits = ct->rlimits;
  o->n_rlimits = ct->cfg.n_ulimits;
  o->set_oom_score_adj = ct->cfg.oom_score_adj != 0;
  o->oom_score_adj = (int)ct->cfg.oom_score_adj;
  /* A spawner's clones have lost CAP_SYS_RESOURCE, which raising a hard
   * limit needs: with limits each process joins on its own. */
  ct->spawner_failed |= ct->rlimits != NULL;
  /* A spawner's clones take its sets as they are: what an OCI runtime
   * sets per process (inheritable and ambient sets, the capabilities of
   * a user, groups, umask) each process sets itself. */
  ct->spawner_failed |= o->caps_inheritable != 0 || o->user_keeps_caps ||
                        o->n_groups > 0 || o->set_umask;
  /* A spawner's thread cannot join a user namespace (setns refuses a
   * process with threads); nor chroot for its clones (they hold its
   * capabilities only). */
  ct->spawner_failed |= (ct->ns & CLONE_NEWUSER) != 0 || ct->root_fd >= 0;
  o->set_root = ct->root_fd >= 0;
  o->root_fd = ct->root_fd;
  if (!ct->spawner_failed && ct->spawners[slot] == NULL) {
    /* The default filter allows what the spawner's thread does itself
     * (futex, clone without namespace flags); a profile of the system's
     * own might not, so its processes install that one each. */
    int on_thread = ct->cfg.seccomp_profile == NULL ||
                    strcmp(ct->cfg.seccomp_profile, "default") == 0;
    as_spawner_opts_t so = {.ns_pidfd = pidfd,
                            .ns_flags = ct->ns,
                            .set_caps = 1,
                            .caps = ct->caps,
                            .no_new_privs = o->no_new_privs,
                            .seccomp = on_thread ? o->seccomp : NULL};
    /* Without one (no thread to be had), each process joins on its own:
     * slower, the same result. */
    ct->spawner_failed = as_spawner_new(&so, &ct->spawners[slot]) != 0;
    ct->seccomp_on_thread = on_thread && !ct->spawner_failed;
  }
  o->spawner = ct->spawner_failed ? NULL : ct->spawners[slot];
  if (ct->seccomp_on_thread) {
    o->seccomp = NULL;
  }
  if (o->cwd == NULL) {
    o->cwd = "/";
  }
  if (o->envp == NULL) {
    o->envp = ct->env;
  }
  if (ct->ptmx_fd >= 0) {
    o->ptmx = ct->ptmx;
  }
  if (user != NULL && user[0] != '\0') {
    /* Names are the container's: read through init's root. */
    char root[64];
    snprintf(root, sizeof(root), "/proc/%d/root", (int)ct->init_pid);
    int err = hcs__parse_user_in(root, user, &o->uid, &o->gid);
    if (err != 0) {
      *why = err == -ENOENT ? "User: names no user or group in the system"
                            : "User: must be uid[:gid] or name[:group]";
      return err;
    }
    o->set_ids = 1;
  } else if (ct->n_groups > 0 || (ct->ns & CLONE_NEWUSER)) {
    o->uid = 0; /* root, with the groups of GroupAdd; or the user
                   namespace's root (the engine's uid has no name there) */
    o->gid = 0;
    o->set_ids = 1;
  }
  return 0;
}

void hcs__container_signal(hcs__system_t *s, int sig) {
  hcs__container_t *ct = s->ct;
  if (ct == NULL || ct->init == NULL) {
    return;
  }
  int e = as_session_kill(ct->init, sig);
  /* SIGKILL to init takes its pid namespace down: the kernel kills every
   * member, and init's exit waits for them. What the groups hold besides
   * is killed at that exit (hcs__container_init_done); now only when init
   * is gone already. Freezing the groups here would only hold the dying
   * init back until the group reads frozen. */
  if (sig == SIGKILL && (e != 0 || ct->init_done)) {
    hcs__cgroup_kill(&ct->cg);
  }
}

int hcs__container_take_oom(hcs__system_t *s) {
  hcs__container_t *ct = s->ct;
  if (ct == NULL) {
    return 0;
  }
  uint64_t n = hcs__cgroup_oom_kills(&ct->cg);
  if (n > ct->oom_seen) {
    ct->oom_seen = n;
    return 1;
  }
  return 0;
}

void hcs__container_free(hcs__system_t *s) {
  hcs__container_t *ct = s->ct;
  if (ct == NULL) {
    return;
  }
  /* Let go of while it runs on (hcs__container_release): its groups and
   * files stay, for the service that finds it next. */
  int running = (ct->init != NULL || ct->init_pid > 0) && !ct->init_done;
  if (ct->ptmx_fd >= 0) {
    close(ct->ptmx_fd);
  }
  if (ct->root_fd >= 0) {
    close(ct->root_fd);
  }
  hcs__ns_close(ct->ns_fd);
  if (ct->life_w >= 0 && !running) {
    close(ct->life_w); /* released, an init runs on until we exit */
  }
  spawners_free(s);
  if (ct->init != NULL) {
    as_session_unref(ct->init);
  }
  if (ct->init == NULL && running) {
    ct->cg.id[0] = '\0'; /* destroy then closes the fds only */
  }
  hcs__cgroup_destroy(&ct->cg);
  /* The directory is the root's mount point in the system's own mount
   * namespace: removing it while the system runs would detach its root. */
  if (ct->root_mnt[0] != '\0' && !running) {
    /* In the host's mount namespace its mounts are under root_mnt there
     * (in its own, root_mnt is no mount point here: nothing to do). So
     * after a crash of the embedder too, once the system is found
     * ended. */
    hcs__rootfs_unmount(ct->root_mnt);
    char sub[sizeof(ct->root_mnt) + 2];
    snprintf(sub, sizeof(sub), "%s/r", ct->root_mnt); /* a user ns's */
    (void)rmdir(sub);
    (void)rmdir(ct->root_mnt);
  }
  if (ct->resolv[0] != '\0' && !running) {
    (void)unlink(ct->resolv);
  }
  hcs__config_free(&ct->cfg);
  hcs__bpf_free(&ct->seccomp_own);
  as_free(ct->rlimits);
  for (char **e = ct->env; e != NULL && *e != NULL; e++) {
    as_free(*e);
  }
  as_free(ct->env);
  as_free(ct);
  s->ct = NULL;
}
