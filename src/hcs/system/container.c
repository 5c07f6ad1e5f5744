/* Containers: a compute system with isolation. Its init is a fork of the
 * engine that enters new namespaces, joins the system's cgroups, builds
 * the root (rootfs.c), pivots into it and then reaps orphans until told to
 * stop. Processes started later are clones of the system's spawner, a
 * thread that has joined it once (no runtime binary per exec). */
#include "hcs/system/container.h"

#include "hcs/hns/hns_attach.h"
#include "hcs/layer/layerstore.h"
#include "hcs/system/procfs.h"
#include "hcs/system/rootfs.h"
#include "hcs/system/user.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* The capabilities a container's processes keep: Docker's default set. */
#define CAP(n) (UINT64_C(1) << (n))
static const uint64_t default_caps =
    CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) | CAP(CAP_FOWNER) |
    CAP(CAP_MKNOD) | CAP(CAP_NET_RAW) | CAP(CAP_SETGID) | CAP(CAP_SETUID) |
    CAP(CAP_SETFCAP) | CAP(CAP_SETPCAP) | CAP(CAP_NET_BIND_SERVICE) |
    CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) | CAP(CAP_AUDIT_WRITE);

/* Every container has these; a network namespace too unless its
 * configuration asks for the host's (HostNetwork). The cgroup namespace is
 * made by init once it is in its groups, so that its root is the
 * system's group (a clone flag would root it in the engine's). */
static const unsigned ns_flags =
    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

/* ---- in the init child: a fork, single-threaded ---- */

/* The loopback interface of a new network namespace starts down. */
static int loopback_up(void) {
  int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sk < 0) {
    return -errno;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  int err = 0;
  if (ioctl(sk, SIOCGIFFLAGS, &ifr) != 0) {
    err = -errno;
  } else {
    ifr.ifr_flags |= IFF_UP;
    err = ioctl(sk, SIOCSIFFLAGS, &ifr) != 0 ? -errno : 0;
  }
  close(sk);
  return err;
}

static void noop_handler(int sig) { (void)sig; }

/* pid 1: reaps orphans; on SIGTERM (or INT, HUP, PWR) asks every process
 * to stop and exits once none is left. The kernel drops signals from the
 * parent namespace for which an init has no handler, so the ones it
 * waits for get a handler that is never run (they stay blocked). */
__attribute__((noreturn)) static void init_loop(void) {
  static const int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPWR};
  sigset_t all;
  sigfillset(&all);
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = noop_handler;
    sigaction(sigs[i], &sa, NULL);
  }
  int stopping = 0;
  for (;;) {
    siginfo_t si;
    struct timespec tick = {0, 20 * 1000 * 1000};
    int sig = sigtimedwait(&all, &si, stopping ? &tick : NULL);
    while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {
    }
    if (!stopping && sig > 0 && sig != SIGCHLD) {
      stopping = 1;
      (void)kill(-1, SIGTERM);
    }
    if (stopping && kill(-1, 0) != 0 && errno == ESRCH) {
      _exit(0);
    }
  }
}

static int init_main(void *arg, int ready_fd, char *why, size_t n) {
  hcs__container_t *ct = arg;
  /* A copy of the engine's memory, running the host's binary: no process
   * of the container may read it or open its executable (spawn.c says
   * why for the exec path; the same holds here). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return hcs__setup_fail(why, n, errno, "prctl(PR_SET_DUMPABLE)");
  }
  for (int i = 0; i < ct->cg.nprocs; i++) {
    if (write(ct->cg.procs[i], "0", 1) != 1) {
      return hcs__setup_fail(why, n, errno, "joining its cgroups (hcs/%s)",
                             ct->cg.id);
    }
  }
  if ((ct->ns & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) != 0) {
    return hcs__setup_fail(why, n, errno, "unshare(CLONE_NEWCGROUP)");
  }
  int err = 0;
  if ((ct->ns & CLONE_NEWNET) && (err = loopback_up()) != 0) {
    return hcs__setup_fail(why, n, err, "bringing up its loopback interface");
  }
  if ((err = hcs__rootfs_build(ct, why, n)) != 0 ||
      (err = hcs__rootfs_enter(ct, why, n)) != 0) {
    return -err;
  }
  /* Nothing of the host stays open in pid 1. */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null >= 0; fd++) {
    dup2(null, fd);
  }
  if (dup3(ready_fd, 3, O_CLOEXEC) < 0) {
    return errno;
  }
  syscall(SYS_close_range, 4, ~0U, 0);
  setsid();
  prctl(PR_SET_NAME, "hcs-init", 0, 0, 0);
  close(3); /* ready: the engine goes on */
  init_loop();
}

/* ---- in the engine ---- */

/* Gives the endpoints back to the host's side, ready for another system. */
static void detach_endpoints(hcs__system_t *s) {
  hcs__container_t *ct = s->ct;
  for (size_t i = 0; i < ct->n_attached; i++) {
    hcs__hns_detach(s->hcs, ct->cfg.endpoint_list[i]);
  }
  ct->n_attached = 0;
}

static void init_done_cb(as_session_t *is, const as_result_t *r, void *data) {
  hcs__system_t *s = data;
  hcs__container_t *ct = s->ct;
  (void)is;
  (void)r;
  ct->init_done = 1;
  /* Its namespaces are dying: nothing more can be started in them. */
  as_spawner_free(ct->spawner);
  ct->spawner = NULL;
  detach_endpoints(s);
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
static void open_ptmx(hcs__container_t *ct) {
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

static int container_prepare(hcs__system_t *s, const char **why);

/* Moves each endpoint of EndpointList into init's network namespace as
 * eth0, eth1, ... */
static int attach_endpoints(hcs__system_t *s, char *why, size_t n) {
  hcs__container_t *ct = s->ct;
  char **eps = ct->cfg.endpoint_list;
  for (size_t i = 0; eps != NULL && eps[i] != NULL; i++) {
    char ifname[32];
    snprintf(ifname, sizeof(ifname), "eth%u", (unsigned)(i % 1000));
    char detail[200] = "";
    int e = hcs__hns_attach(s->hcs, eps[i], ct->init_pid, ifname, detail,
                            sizeof(detail));
    if (e != 0) {
      snprintf(why, n, "EndpointList[%zu] %s: %s", i, eps[i], detail);
      return e;
    }
    ct->n_attached = i + 1;
  }
  return 0;
}

/* The DNS settings of the first endpoint that has any, in a file of the
 * state directory that init binds over the system's /etc/resolv.conf.
 * Nothing when no endpoint gives any. */
static int write_resolv_conf(hcs__system_t *s, const char *run) {
  hcs__container_t *ct = s->ct;
  char **eps = ct->cfg.endpoint_list;
  char dns[1024] = "";
  for (size_t i = 0; eps != NULL && eps[i] != NULL && dns[0] == '\0'; i++) {
    (void)hcs__hns_resolv_conf(s->hcs, eps[i], dns, sizeof(dns));
  }
  if (dns[0] == '\0') {
    return 0;
  }
  snprintf(ct->resolv, sizeof(ct->resolv), "%s/%s.resolv.conf", run, s->id);
  int fd = open(ct->resolv, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = -errno;
    ct->resolv[0] = '\0';
    return err;
  }
  size_t len = strlen(dns);
  int err = write(fd, dns, len) == (ssize_t)len ? 0 : errno ? -errno : -EIO;
  if (close(fd) != 0 && err == 0) {
    err = -errno;
  }
  return err;
}

hcs_result_t hcs__container_start(hcs__system_t *s, hcs_error_t **err) {
  const char *why = NULL;
  int e = container_prepare(s, &why);
  if (e != 0) {
    return start_fail(s, err, -e, why != NULL ? why : "preparing");
  }
  hcs__container_t *ct = s->ct;
  const char *run = hcs__system_run_dir(s->hcs);
  (void)mkdir(run, 0700);
  if (mkdir(ct->root_mnt, 0700) != 0 && errno != EEXIST) {
    return start_fail(s, err, errno, ct->root_mnt);
  }
  e = write_resolv_conf(s, run);
  if (e != 0) {
    return start_fail(s, err, -e, "writing the system's resolv.conf");
  }
  as_spawn_opts_t o;
  memset(&o, 0, sizeof(o));
  o.child_fn = init_main;
  o.child_arg = ct;
  o.clone_flags = ct->ns & ~(unsigned)CLONE_NEWCGROUP;
  o.cbs.done_cb = init_done_cb;
  o.data = s;
  e = as_session_spawn(hcs__loop(s->hcs), &o, &ct->init);
  if (e != 0) {
    return start_fail(s, err, -e, "starting init");
  }
  e = as_session_exec_errno(ct->init);
  if (e != 0) {
    /* The setup failed in the child: the init died during Start, HCS's
     * unexpected exit. Its session completes on its own, calling nobody
     * once it is unreferenced. */
    char what[AS_WHY_MAX + 32];
    snprintf(what, sizeof(what), "setting up the system: %s",
             as_session_setup_why(ct->init)[0] != '\0'
                 ? as_session_setup_why(ct->init)
                 : "its root and namespaces");
    return start_fail_as(s, err, HCS_E_UNEXPECTED_EXIT, e, what);
  }
  ct->init_pid = as_session_pid(ct->init);
  open_ptmx(ct);
  char attach_why[256] = "";
  e = attach_endpoints(s, attach_why, sizeof(attach_why));
  if (e != 0) {
    /* init runs: stop it before letting go, or it would run on alone. */
    (void)as_session_kill(ct->init, SIGKILL);
    detach_endpoints(s);
    return start_fail(s, err, -e, attach_why);
  }
  s->init_pid = ct->init_pid;
  s->init_start = hcs__proc_start_time(ct->init_pid);
  s->nrunning++;
  return HCS_OK;
}

/* The filter its processes install before execve: the default (Docker's
 * default profile), none ("unconfined"), or a profile of its own. */
static int container_seccomp(hcs__container_t *ct, const char **why) {
  const char *p = ct->cfg.seccomp_profile;
  const hcs__bpf_t *bpf = NULL;
  int e = 0;
  if (p == NULL || strcmp(p, "default") == 0) {
    e = hcs__seccomp_default(&bpf);
  } else if (strcmp(p, "unconfined") != 0) {
    char detail[160];
    e = hcs__seccomp_from_json(p, default_caps, &ct->seccomp_own, detail,
                               sizeof(detail));
    bpf = &ct->seccomp_own;
  }
  if (e != 0) {
    *why = "SeccompProfile";
    return e;
  }
  if (bpf != NULL) {
    ct->seccomp.len = bpf->len;
    ct->seccomp.filter = bpf->insns;
  }
  return 0;
}

/* Prepares the parts of a container that live in this process: its
 * configuration, environment and cgroups (created again or reused). */
static int container_prepare(hcs__system_t *s, const char **why) {
  hcs__container_t *ct = as_calloc(1, sizeof(*ct));
  if (ct == NULL) {
    return -ENOMEM;
  }
  ct->ptmx_fd = -1;
  s->ct = ct;
  if (hcs__config_parse(s->config, &ct->cfg, NULL, NULL) != HCS_OK) {
    *why = "configuration";
    return -EINVAL;
  }
  ct->env = default_env(&ct->cfg, s->id);
  if (ct->env == NULL) {
    return -ENOMEM;
  }
  ct->ns = ns_flags;
  if (!ct->cfg.host_network) {
    ct->ns |= CLONE_NEWNET; /* loopback and the endpoints, if any */
  }
  int e = container_seccomp(ct, why);
  if (e != 0) {
    return e;
  }
  hcs__cgroup_limits_t lim = {
      .memory_bytes = ct->cfg.memory_maximum_mb * 1024 * 1024,
      .pids = ct->cfg.pids_maximum,
      .cpu_weight = ct->cfg.processor_weight,
      .cpu_max = ct->cfg.processor_maximum,
      .cpu_count = ct->cfg.processor_count,
  };
  hcs__system_path(s, ".root", ct->root_mnt, sizeof(ct->root_mnt));
  char name[160];
  hcs__system_cgroup_name(s, name, sizeof(name));
  return hcs__cgroup_create(&ct->cg, name, &lim, why);
}

/* A record says the system runs: adopt its init if the pid still names
 * the same process (same start time), else the record was stale. A record
 * of a start that never finished: kill what is in its groups, remove them
 * and its root's mount point; it is Created again. */
static void reattach_one(hcs__system_t *s) {
  const char *why = NULL;
  int ok = container_prepare(s, &why) == 0 && !s->starting && s->init_pid > 0;
  hcs__container_t *ct = s->ct;
  if (ok) {
    as_spawn_opts_t o;
    memset(&o, 0, sizeof(o));
    o.cbs.done_cb = init_done_cb;
    o.data = s;
    ok = as_session_adopt(hcs__loop(s->hcs), s->init_pid, &o, &ct->init) == 0;
  }
  /* Checked after the pidfd exists: from here the pid cannot be reused. */
  if (ok && hcs__proc_start_time(s->init_pid) != s->init_start) {
    as_session_abandon(ct->init);
    ct->init = NULL;
    ok = 0;
  }
  if (!ok) {
    /* A group not made (prepare failed first) has no name: killing it
     * would reach the parent, every system's. */
    if (ct != NULL && ct->cg.id[0] != '\0') {
      hcs__cgroup_kill(&ct->cg);
    }
    hcs__container_free(s);
    s->state = s->starting ? HCS__SYS_CREATED : HCS__SYS_STOPPED;
    s->starting = 0;
    s->init_pid = 0;
    (void)hcs__state_save(s);
    return;
  }
  ct->init_pid = s->init_pid;
  open_ptmx(ct);
  s->nrunning++;
}

void hcs__system_reattach(hcs__system_t *s) {
  if (!s->is_dummy && s->ct == NULL &&
      (s->state == HCS__SYS_RUNNING || s->starting)) {
    reattach_one(s);
  }
}

void hcs__container_release(hcs__system_t *s) {
  hcs__container_t *ct = s->ct;
  if (ct != NULL && ct->init != NULL && !ct->init_done) {
    as_session_abandon(ct->init);
    ct->init = NULL;
    s->nrunning--;
  }
}

int hcs__container_exec_opts(hcs__system_t *s, as_spawn_opts_t *o,
                             const char *user, const char **why) {
  hcs__container_t *ct = s->ct;
  int pidfd = ct->init_done ? -1 : as_session_pidfd(ct->init);
  if (pidfd < 0) {
    *why = "the system's init has exited";
    return -ESRCH;
  }
  o->ns_pidfd = pidfd;
  o->ns_flags = ct->ns;
  o->cgroup_fds = ct->cg.procs;
  o->n_cgroup_fds = (size_t)ct->cg.nprocs;
  o->set_caps = 1;
  o->caps = default_caps;
  o->no_new_privs = 1;
  o->seccomp = ct->seccomp.filter != NULL ? &ct->seccomp : NULL;
  if (ct->spawner == NULL && !ct->spawner_failed) {
    /* The default filter allows what the spawner's thread does itself
     * (futex, clone without namespace flags); a profile of the system's
     * own might not, so its processes install that one each. */
    int on_thread = ct->cfg.seccomp_profile == NULL ||
                    strcmp(ct->cfg.seccomp_profile, "default") == 0;
    as_spawner_opts_t so = {.ns_pidfd = pidfd,
                            .ns_flags = ct->ns,
                            .set_caps = 1,
                            .caps = default_caps,
                            .no_new_privs = 1,
                            .seccomp = on_thread ? o->seccomp : NULL};
    /* Without one (no thread to be had), each process joins on its own:
     * slower, the same result. */
    ct->spawner_failed = as_spawner_new(&so, &ct->spawner) != 0;
    ct->seccomp_on_thread = on_thread && !ct->spawner_failed;
  }
  o->spawner = ct->spawner;
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
  }
  return 0;
}

void hcs__container_signal(hcs__system_t *s, int sig) {
  hcs__container_t *ct = s->ct;
  if (ct == NULL || ct->init == NULL) {
    return;
  }
  (void)as_session_kill(ct->init, sig);
  if (sig == SIGKILL) {
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
  as_spawner_free(ct->spawner);
  ct->spawner = NULL;
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
    (void)rmdir(ct->root_mnt);
  }
  if (ct->resolv[0] != '\0' && !running) {
    (void)unlink(ct->resolv);
  }
  hcs__config_free(&ct->cfg);
  hcs__bpf_free(&ct->seccomp_own);
  for (char **e = ct->env; e != NULL && *e != NULL; e++) {
    as_free(*e);
  }
  as_free(ct->env);
  as_free(ct);
  s->ct = NULL;
}
