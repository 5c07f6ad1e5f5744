/* SPDX-License-Identifier: MIT */
/* The exec scenario's systems: one busybox root in a temporary directory,
 * and on it an hcs compute system, a crun container and a runc container,
 * each running until every exec cell is done. The contenders then differ
 * only in how an exec gets into a running system.
 *
 * The OCI containers get what the hcs system gets where it costs an exec
 * something: pid, ipc, uts and mount namespaces, Docker's default
 * capabilities, no_new_privs, and a cgroup of their own (the runtime's
 * default cgroupfs manager), which each exec joins. Only ids made here
 * are ever deleted. */
#include "bench.h"

#include <hcs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

enum { STOP_MS = 10000 };

extern char **environ;

/* The signal that interrupted the run while the systems were up, or 0.
 * A global because a signal handler sets it; the only one here. */
static volatile sig_atomic_t interrupted;

static const int stop_sigs[] = {SIGINT, SIGTERM, SIGHUP};

static void on_stop_signal(int sig) { interrupted = sig; }

int exec_env_interrupted(void) { return interrupted; }

static const char *const applets[] = {"sh", "sleep", "true", NULL};

static const char *const rt_name[2] = {"crun", "runc"};

/* Docker's default set, which hcs gives a container's processes too. */
#define CAPS                                                                   \
  "[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\","         \
  "\"CAP_MKNOD\",\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\","               \
  "\"CAP_SETFCAP\",\"CAP_SETPCAP\",\"CAP_NET_BIND_SERVICE\","                  \
  "\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"]"

static bool find_tool(const char *name, char *out, size_t size) {
  const char *path = getenv("PATH");
  if (path == NULL || path[0] == '\0') {
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  }
  while (*path != '\0') {
    const char *end = strchr(path, ':');
    size_t len = end != NULL ? (size_t)(end - path) : strlen(path);
    if (len > 0 && path[0] == '/') {
      snprintf(out, size, "%.*s/%s", (int)len, path, name);
      if (access(out, X_OK) == 0) {
        return true;
      }
    }
    path += len + (end != NULL);
  }
  return false;
}

static int copy_file(const char *from, const char *to, mode_t mode) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    return -errno;
  }
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (out < 0) {
    int err = -errno;
    close(in);
    return err;
  }
  char buf[65536];
  ssize_t n;
  int err = 0;
  while ((n = read(in, buf, sizeof(buf))) != 0 && err == 0) {
    if (n < 0) {
      err = errno == EINTR ? 0 : -errno;
    } else if (write(out, buf, (size_t)n) != n) {
      err = -EIO;
    }
  }
  close(in);
  if (close(out) != 0 && err == 0) {
    err = -errno;
  }
  return err;
}

static int put_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return -errno;
  }
  size_t len = strlen(text);
  int err = write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
  if (close(fd) != 0 && err == 0) {
    err = -errno;
  }
  return err;
}

/* dir/rootfs: busybox with the applets the containers use, the program
 * the execs run as /bin/nop, /etc/passwd and /etc/group, and the mount
 * points the runtimes need on a read-only root. */
static int make_rootfs(exec_env_t *e, const char *nop, const char **what) {
  static const char *const dirs[] = {"",     "/bin", "/etc", "/proc",
                                     "/dev", "/sys", "/tmp"};
  char p[PATH_MAX], q[PATH_MAX];
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    snprintf(p, sizeof(p), "%s%s", e->rootfs, dirs[i]);
    if (mkdir(p, strcmp(dirs[i], "/tmp") == 0 ? 01777 : 0755) != 0) {
      *what = "mkdir in the root";
      return -errno;
    }
  }
  snprintf(p, sizeof(p), "%s/bin/busybox", e->rootfs);
  int err = copy_file("/bin/busybox", p, 0755);
  if (err != 0) {
    *what = "copying /bin/busybox (package busybox-static)";
    return err;
  }
  for (const char *const *a = applets; *a != NULL; a++) {
    snprintf(q, sizeof(q), "%s/bin/%s", e->rootfs, *a);
    if (symlink("busybox", q) != 0) {
      *what = "an applet link";
      return -errno;
    }
  }
  snprintf(p, sizeof(p), "%s/bin/nop", e->rootfs);
  if ((err = copy_file(nop, p, 0755)) != 0) {
    *what = "copying nop into the root";
    return err;
  }
  snprintf(p, sizeof(p), "%s/etc/passwd", e->rootfs);
  err = put_file(p, "root:x:0:0:root:/:/bin/sh\n");
  snprintf(p, sizeof(p), "%s/etc/group", e->rootfs);
  if (err == 0) {
    err = put_file(p, "root:x:0:\n");
  }
  if (err != 0) {
    *what = "writing /etc in the root";
  }
  return err;
}

static int write_bundle(const exec_env_t *e) {
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "%s/bundle", e->dir);
  if (mkdir(p, 0700) != 0) {
    return -errno;
  }
  char cfg[4096];
  /* The root is an absolute path made by mkdtemp: no character in it
   * needs escaping in JSON. */
  snprintf(cfg, sizeof(cfg),
           "{\"ociVersion\":\"1.0.2\",\n"
           " \"process\":{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},\n"
           "  \"args\":[\"/bin/sleep\",\"2147483647\"],\n"
           "  \"env\":[\"PATH=/bin\"],\"cwd\":\"/\",\n"
           "  \"capabilities\":{\"bounding\":%s,\n"
           "   \"effective\":%s,\n   \"permitted\":%s},\n"
           "  \"noNewPrivileges\":true},\n"
           " \"root\":{\"path\":\"%s\",\"readonly\":true},\n"
           " \"hostname\":\"hcs-bench\",\n"
           " \"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\","
           "\"source\":\"proc\"},\n"
           "  {\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":"
           "\"tmpfs\",\"options\":[\"nosuid\",\"mode=755\",\"size=1m\"]}],\n"
           " \"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},"
           "{\"type\":\"uts\"},{\"type\":\"mount\"}]}}\n",
           CAPS, CAPS, CAPS, e->rootfs);
  snprintf(p, sizeof(p), "%s/bundle/config.json", e->dir);
  return put_file(p, cfg);
}

bool bench_crun_refuses_cgroups(void) {
  struct statfs sf;
  if (statfs("/sys/fs/cgroup", &sf) != 0 || sf.f_type != TMPFS_MAGIC ||
      statfs("/sys/fs/cgroup/unified", &sf) != 0 ||
      sf.f_type != CGROUP2_SUPER_MAGIC) {
    return false;
  }
  int fd =
      open("/sys/fs/cgroup/unified/cgroup.controllers", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  char c;
  bool any = read(fd, &c, 1) == 1 && c != '\n';
  close(fd);
  return any;
}

/* Runs a runtime command (setup or teardown, not the measured path) with
 * its output appended to log; its exit status, or a negative errno. With
 * hide_unified the command runs in a mount namespace of its own without
 * /sys/fs/cgroup/unified, where crun sees a plain v1 layout. */
static int run_cmd(char *const argv[], const char *log, bool hide_unified) {
  int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out < 0) {
    return -errno;
  }
  pid_t pid = fork();
  if (pid == 0) {
    /* Only system calls from here: the harness may have threads. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    (void)sigaction(SIGPIPE, &dfl, NULL);
    int nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
      _exit(126);
    }
    if (hide_unified && (unshare(CLONE_NEWNS) != 0 ||
                         mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0 ||
                         umount2("/sys/fs/cgroup/unified", MNT_DETACH) != 0)) {
      _exit(125);
    }
    execve(argv[0], argv, environ);
    _exit(127);
  }
  int err = pid < 0 ? -errno : 0;
  close(out);
  int status = 0;
  while (err == 0 && waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      err = -errno;
    }
  }
  if (err != 0) {
    return err;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The last line of a log, for a note. */
static void log_tail(const char *log, char *out, size_t size) {
  out[0] = '\0';
  FILE *f = fopen(log, "re");
  if (f == NULL) {
    return;
  }
  char line[512];
  while (fgets(line, sizeof(line), f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    size_t len = strlen(line);
    if (len > 0) {
      len = len < size - 1 ? len : size - 1;
      memcpy(out, line, len);
      out[len] = '\0';
    }
  }
  fclose(f);
}

static void start_runtime(exec_env_t *e, contender_t ct) {
  int k = ct - CT_CRUN;
  char *note = e->note[ct];
  if (!find_tool(rt_name[k], e->rt[k].bin, sizeof(e->rt[k].bin))) {
    snprintf(note, sizeof(e->note[ct]),
             "%s not installed (Debian package %s); skipped", rt_name[k],
             rt_name[k]);
    return;
  }
  char bundle[PATH_MAX], log[PATH_MAX], dir[sizeof(e->dir)];
  /* From a copy: gcc takes e->dir for a part of the destination
   * (-Wrestrict). */
  memcpy(dir, e->dir, sizeof(dir));
  snprintf(e->rt[k].state, sizeof(e->rt[k].state), "%s/%s-state", dir,
           rt_name[k]);
  snprintf(e->rt[k].id, sizeof(e->rt[k].id), "hcs-bench-%s-%d", rt_name[k],
           (int)getpid());
  snprintf(bundle, sizeof(bundle), "%s/bundle", e->dir);
  snprintf(log, sizeof(log), "%s/%s.log", e->dir, rt_name[k]);
  char *argv[] = {e->rt[k].bin, "--root", e->rt[k].state, "run", "-d",
                  "--bundle",   bundle,   e->rt[k].id,    NULL};
  bool hide = ct == CT_CRUN && bench_crun_refuses_cgroups();
  int rc = run_cmd(argv, log, hide);
  if (rc != 0) {
    char tail[120];
    log_tail(log, tail, sizeof(tail));
    e->err[ct] = rc < 0 ? rc : -EIO;
    snprintf(note, sizeof(e->note[ct]), "%s run: %s %d: %s", rt_name[k],
             rc < 0 ? "error" : "exit", rc < 0 ? -rc : rc, tail);
    return; /* a container half made is still deleted by its id */
  }
  e->up[ct] = true;
  if (hide) {
    snprintf(note, sizeof(e->note[ct]),
             "crun refuses this host's hybrid cgroups: its container was "
             "started in a mount namespace without cgroup2");
  }
}

static void stop_runtime(exec_env_t *e, contender_t ct) {
  int k = ct - CT_CRUN;
  if (e->rt[k].id[0] == '\0') {
    return;
  }
  char log[PATH_MAX];
  snprintf(log, sizeof(log), "%s/%s.log", e->dir, rt_name[k]);
  char *argv[] = {e->rt[k].bin, "--root", e->rt[k].state, "delete", "-f",
                  e->rt[k].id,  NULL};
  int rc = run_cmd(argv, log, ct == CT_CRUN && bench_crun_refuses_cgroups());
  if (rc != 0 && e->up[ct]) {
    char tail[120];
    log_tail(log, tail, sizeof(tail));
    fprintf(stderr, "hcs-bench: %s delete -f %s: %d: %s\n", rt_name[k],
            e->rt[k].id, rc, tail);
  }
  e->up[ct] = false;
}

static void hcs_note(exec_env_t *e, hcs_error_t *herr, const char *what) {
  int en = hcs_error_errno(herr);
  e->err[CT_HCS] = -(en != 0 ? en : EIO);
  snprintf(e->note[CT_HCS], sizeof(e->note[CT_HCS]), "%s: %s", what,
           herr != NULL ? hcs_error_message(herr) : "failed");
  hcs_error_free(herr);
}

static void start_hcs(exec_env_t *e) {
  hcs_error_t *herr = NULL;
  hcs_t *h;
  if (hcs_open(&h, NULL, &herr) != HCS_OK) {
    hcs_note(e, herr, "hcs_open");
    return;
  }
  e->hcs = h;
  snprintf(e->hcs_id, sizeof(e->hcs_id), "hcs-bench-%d", (int)getpid());
  char cfg[512];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s\"}", e->rootfs);
  if (hcs_CreateComputeSystem(h, e->hcs_id, cfg, &herr) != HCS_OK) {
    e->hcs_id[0] = '\0';
    hcs_note(e, herr, "create");
    return;
  }
  if (hcs_StartComputeSystem(h, e->hcs_id, &herr) != HCS_OK) {
    hcs_note(e, herr, "start");
    return;
  }
  e->up[CT_HCS] = true;
}

static void stop_hcs(exec_env_t *e) {
  hcs_error_t *herr = NULL;
  if (e->hcs_id[0] != '\0') {
    if ((e->up[CT_HCS] || e->up[CT_HCS_SYNC]) &&
        hcs_TerminateComputeSystem(e->hcs, e->hcs_id, STOP_MS, NULL, &herr) !=
            HCS_OK) {
      fprintf(stderr, "hcs-bench: terminating %s: %s\n", e->hcs_id,
              hcs_error_message(herr));
      hcs_error_free(herr);
      herr = NULL;
    }
    if (hcs_DeleteComputeSystem(e->hcs, e->hcs_id, &herr) != HCS_OK) {
      fprintf(stderr, "hcs-bench: deleting %s: %s\n", e->hcs_id,
              hcs_error_message(herr));
      hcs_error_free(herr);
    }
  }
  /* Terminates whatever is left of the system too. */
  hcs_close(e->hcs);
  e->hcs = NULL;
  e->up[CT_HCS] = false;
  e->up[CT_HCS_SYNC] = false;
}

void exec_env_open(exec_env_t *e, const char *nop, const bool *want) {
  memset(e, 0, sizeof(*e));
  e->prog = "/bin/nop";
  /* From here to exec_env_close an interrupt stops the execs and lets
   * the systems be removed, instead of leaving them running. */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop_signal;
  for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++) {
    (void)sigaction(stop_sigs[i], &sa, &e->old_sa[i]);
  }
  const contender_t cts[] = {CT_HCS, CT_CRUN, CT_RUNC};
  const char *why = NULL;
  int err = 0;
  if (geteuid() != 0) {
    why = "containers need root; skipped";
  } else {
    snprintf(e->dir, sizeof(e->dir), "/tmp/hcs-bench-exec-XXXXXX");
    if (mkdtemp(e->dir) == NULL) {
      err = -errno;
      why = "mkdtemp /tmp/hcs-bench-exec-XXXXXX";
      e->dir[0] = '\0';
    } else {
      snprintf(e->rootfs, sizeof(e->rootfs), "%s/rootfs", e->dir);
      err = make_rootfs(e, nop, &why);
      if (err == 0 && (err = write_bundle(e)) != 0) {
        why = "writing the OCI bundle";
      }
    }
  }
  for (size_t i = 0; i < sizeof(cts) / sizeof(cts[0]); i++) {
    contender_t ct = cts[i];
    if (!want[ct] && !(ct == CT_HCS && want[CT_HCS_SYNC])) {
      snprintf(e->note[ct], sizeof(e->note[ct]), "not asked for");
    } else if (why != NULL || err != 0) {
      e->err[ct] = err;
      snprintf(e->note[ct], sizeof(e->note[ct]), "%s%s%s", why,
               err != 0 ? ": " : "", err != 0 ? strerror(-err) : "");
    } else if (ct == CT_HCS) {
      start_hcs(e);
    } else {
      start_runtime(e, ct);
    }
  }
  /* Both hcs rows exec into the one system: they differ only in the face
   * of the API that makes the execs. */
  e->up[CT_HCS_SYNC] = e->up[CT_HCS] && want[CT_HCS_SYNC];
  e->err[CT_HCS_SYNC] = want[CT_HCS_SYNC] ? e->err[CT_HCS] : 0;
  snprintf(e->note[CT_HCS_SYNC], sizeof(e->note[CT_HCS_SYNC]), "%s",
           want[CT_HCS_SYNC] ? e->note[CT_HCS] : "not asked for");
  e->up[CT_HCS] = e->up[CT_HCS] && want[CT_HCS];
}

int exec_env_close(exec_env_t *e) {
  stop_runtime(e, CT_CRUN);
  stop_runtime(e, CT_RUNC);
  if (e->hcs != NULL) {
    stop_hcs(e);
  }
  if (e->dir[0] != '\0') {
    /* FTW_MOUNT: nothing is mounted under dir on the host (the systems
     * mount in their own namespaces), and if something were, it would be
     * left alone rather than emptied. */
    bench_rmtree(e->dir);
    e->dir[0] = '\0';
  }
  for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++) {
    (void)sigaction(stop_sigs[i], &e->old_sa[i], NULL);
  }
  return interrupted;
}
