/* SPDX-License-Identifier: MIT */
/* What the hcs-runc suites (test_oci_runc, test_oci_ctr, test_oci_swarm)
 * share: a command run with its output in files, a client on a console of
 * the test's, a daemon started in a network namespace the test made, the
 * processes a daemon leaves, and Debian's dockerd on a private socket,
 * data root and exec root, stopped by its pid. Static inline: each suite
 * is one program, and the helpers fail the calling test with Criterion's
 * asserts. */
#ifndef HCS_TESTS_OCI_UTIL_H
#define HCS_TESTS_OCI_UTIL_H

#include <criterion/criterion.h>
#include <hcs.h>
#include <jansson.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct run_s {
  int status; /* exit status, 128+n for signal n */
  char out[8192], err[8192];
} run_t;

static inline void oci_slurp(const char *path, char *buf, size_t n) {
  buf[0] = '\0';
  FILE *f = fopen(path, "re");
  if (f != NULL) {
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = '\0';
    fclose(f);
  }
}

static inline void oci_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "we");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  fputs(text, f);
  cr_assert_eq(fclose(f), 0);
}

/* The wait status of our child pid, reaped. */
static inline int oci_reap(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0) {
    cr_assert_eq(errno, EINTR, "waitpid %d: %s", (int)pid, strerror(errno));
  }
  return st;
}

static inline int oci_wait_status(pid_t pid) {
  int st = oci_reap(pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Writes c (taken) with extra (JSON text, or NULL) merged in as
 * bundle/config.json. */
static inline void oci_write_config(const char *bundle, json_t *c,
                                    const char *extra) {
  json_error_t jerr;
  if (extra != NULL) {
    json_t *x = json_loads(extra, 0, &jerr);
    cr_assert_not_null(x, "extra: %s", jerr.text);
    json_object_update_recursive(c, x);
    json_decref(x);
  }
  char p[4200];
  snprintf(p, sizeof(p), "%s/config.json", bundle);
  cr_assert_eq(json_dump_file(c, p, JSON_INDENT(1)), 0);
  json_decref(c);
}

/* Polls are paced by sleeps: daemons' sockets and states have no other
 * readiness a test can wait on. */
static inline void oci_nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
  nanosleep(&ts, NULL);
}

/* SIGTERM to a daemon of the test's, SIGKILL after secs; reaped. */
static inline void oci_stop_pid(pid_t pid, int secs) {
  kill(pid, SIGTERM);
  int st;
  for (int i = 0; i < secs * 10; i++) {
    if (waitpid(pid, &st, WNOHANG) == pid) {
      return;
    }
    oci_nap_ms(100);
  }
  kill(pid, SIGKILL);
  (void)oci_wait_status(pid);
}

static inline bool oci_on_path(const char *name) {
  char p[128];
  snprintf(p, sizeof(p), "/usr/sbin/%s", name);
  if (access(p, X_OK) == 0) {
    return true;
  }
  snprintf(p, sizeof(p), "/usr/bin/%s", name);
  return access(p, X_OK) == 0;
}

static inline int oci_rm_one(const char *p, const struct stat *sb, int type,
                             struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  (void)(type == FTW_DP ? rmdir(p) : unlink(p));
  return 0;
}

/* rm -rf dir, not crossing into what is mounted under it. */
static inline void oci_rm_tree(const char *dir) {
  (void)nftw(dir, oci_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* A suite's .init for hcs-runc cases: skips unless root; makes dir from
 * template (mkdtemp), root (the runtime's --root, dir/root, made by
 * hcs-runc) and bundle (dir/bundle); the test process becomes a
 * subreaper, as a shim is, to reap the containers' inits. */
static inline void oci_suite_setup(const char *template, char *dir, size_t dn,
                                   char *root, size_t rn, char *bundle,
                                   size_t bn) {
  if (geteuid() != 0) {
    cr_skip_test("hcs-runc makes containers: root only");
  }
  snprintf(dir, dn, "%s", template);
  cr_assert_not_null(mkdtemp(dir));
  snprintf(root, rn, "%s/root", dir);
  snprintf(bundle, bn, "%s/bundle", dir);
  cr_assert_eq(mkdir(bundle, 0700), 0);
  cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

/* Its .fini: removes what oci_suite_setup made, if it got that far. */
static inline void oci_suite_teardown(const char *dir) {
  if (dir[0] != '\0') {
    oci_rm_tree(dir);
  }
}

/* The built-in busybox layer, the rootfs of the suites' containers. */
static inline const char *oci_busybox_rootfs(void) {
  static char p[512];
  snprintf(p, sizeof(p), "%s/%s/diff", hcs_default_image_home(),
           HCS_DEFAULT_IMAGE);
  return p;
}

/* Runs argv (argv[0] a program on PATH or a path) with stdin from
 * /dev/null and stdout, stderr to dir/tag.out and dir/tag.err, which a
 * process it leaves may keep writing to. */
static inline pid_t oci_spawn_to(const char *dir, char *const argv[],
                                 const char *tag) {
  char out[256], err[256];
  snprintf(out, sizeof(out), "%s/%s.out", dir, tag);
  snprintf(err, sizeof(err), "%s/%s.err", dir, tag);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid;
  int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  cr_assert_eq(e, 0, "spawn %s: %s", argv[0], strerror(e));
  return pid;
}

static inline void oci_collect(const char *dir, run_t *r, const char *tag) {
  char p[256];
  snprintf(p, sizeof(p), "%s/%s.out", dir, tag);
  oci_slurp(p, r->out, sizeof(r->out));
  snprintf(p, sizeof(p), "%s/%s.err", dir, tag);
  oci_slurp(p, r->err, sizeof(r->err));
}

/* oci_spawn_to, waited for: r gets its status and output. */
static inline int oci_run(const char *dir, char *const argv[], const char *tag,
                          run_t *r) {
  r->status = oci_wait_status(oci_spawn_to(dir, argv, tag));
  oci_collect(dir, r, tag);
  return r->status;
}

/* `pre... args...` (both NULL-ended; at most 31 in all) run as oci_run
 * does: hcs-runc with its global options first, then a command. */
static inline run_t oci_run_args(const char *dir, const char *const *pre,
                                 const char *const *args, const char *tag) {
  char *argv[32];
  size_t n = 0;
  for (size_t i = 0; pre[i] != NULL && n < 31; i++) {
    argv[n++] = (char *)pre[i];
  }
  for (size_t i = 0; args[i] != NULL && n < 31; i++) {
    argv[n++] = (char *)args[i];
  }
  argv[n] = NULL;
  run_t r;
  oci_run(dir, argv, tag, &r);
  return r;
}

/* `hcs-runc --root root create --bundle bundle` (pid file in dir) and
 * `start` as id, as a shim does (the caller a child subreaper); waits for
 * the keeper, deletes the container and returns the keeper's exit
 * status, with what the container printed (dir/id.out, dir/id.err) in
 * *r. */
static inline int oci_create_start_wait(const char *dir, const char *root,
                                        const char *bundle, const char *id,
                                        run_t *r) {
  char pidf[200], buf[32];
  snprintf(pidf, sizeof(pidf), "%s/%s.pid", dir, id);
  const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
  const char *const create[] = {"create", "--bundle", bundle, "--pid-file",
                                pidf,     id,         NULL};
  *r = oci_run_args(dir, pre, create, id);
  cr_assert_eq(r->status, 0, "create: %s", r->err);
  oci_slurp(pidf, buf, sizeof(buf));
  pid_t keeper = (pid_t)atoi(buf);
  cr_assert_gt(keeper, 0);
  const char *const start[] = {"start", id, NULL};
  run_t s = oci_run_args(dir, pre, start, "start");
  cr_assert_eq(s.status, 0, "start: %s", s.err);
  int status = oci_wait_status(keeper);
  char p[256];
  snprintf(p, sizeof(p), "%s/%s.out", dir, id);
  oci_slurp(p, r->out, sizeof(r->out));
  snprintf(p, sizeof(p), "%s/%s.err", dir, id);
  oci_slurp(p, r->err, sizeof(r->err));
  const char *const del[] = {"delete", id, NULL};
  s = oci_run_args(dir, pre, del, "delete");
  cr_expect_eq(s.status, 0, "delete: %s", s.err);
  return status;
}

/* argv with a console of its own (-t/-it clients put theirs in raw mode):
 * input is written to it once its output holds after ("" at once), the
 * output read into out until the client exits; returns its status. */
static inline int oci_pty_run(char *const argv[], const char *after,
                              const char *input, char *out, size_t n) {
  int m;
  pid_t pid = forkpty(&m, NULL, NULL, NULL);
  cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
  if (pid == 0) {
    execvp(argv[0], argv);
    _exit(127);
  }
  size_t got = 0;
  bool sent = false;
  out[0] = '\0';
  for (;;) {
    if (!sent && strstr(out, after) != NULL) {
      cr_assert_eq(write(m, input, strlen(input)), (ssize_t)strlen(input));
      sent = true;
    }
    struct pollfd p = {.fd = m, .events = POLLIN};
    cr_assert_gt(poll(&p, 1, 60000), 0,
                 "%s on a console: no end after 60 s: %s", argv[0], out);
    ssize_t r = read(m, out + got, n - 1 - got);
    if (r <= 0 || (got += (size_t)r) == n - 1) {
      break; /* EIO: the client exited and closed the console */
    }
    out[got] = '\0';
  }
  out[got] = '\0';
  close(m);
  return oci_wait_status(pid);
}

/* argv in the network namespace /run/netns/netns (made with ip netns
 * add), output to log, killed when the test's process dies: the child
 * joins it with setns, without the /sys that `ip netns exec` would
 * remount (dockerd and containerd need the host's cgroup mounts). */
static inline pid_t oci_spawn_in_netns(const char *netns, const char *log,
                                       char *const argv[]) {
  char nspath[128];
  snprintf(nspath, sizeof(nspath), "/run/netns/%s", netns);
  int ns = open(nspath, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(ns, 0, "%s: %s", nspath, strerror(errno));
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
        setns(ns, CLONE_NEWNET) != 0 || prctl(PR_SET_PDEATHSIG, SIGTERM)) {
      _exit(126);
    }
    execvp(argv[0], argv);
    _exit(127);
  }
  close(ns);
  return pid;
}

/* The end of a daemon's log, for a failure's message. */
static inline const char *oci_log_tail(const char *log) {
  static char buf[65536];
  oci_slurp(log, buf, sizeof(buf));
  size_t n = strlen(buf);
  return n > 3000 ? buf + n - 3000 : buf;
}

/* Waits up to 60 s for up(data) while the daemon *pid lives (0 once it
 * exited and was reaped). */
static inline void oci_wait_daemon(pid_t *pid, const char *log,
                                   bool (*up)(void *), void *data) {
  for (int i = 0; i < 600; i++) {
    if (up(data)) {
      return;
    }
    int st;
    if (waitpid(*pid, &st, WNOHANG) == *pid) {
      *pid = 0;
      cr_assert_fail("the daemon exited (status 0x%x): %s", st,
                     oci_log_tail(log));
    }
    oci_nap_ms(100);
  }
  cr_assert_fail("the daemon did not answer in 60 s: %s", oci_log_tail(log));
}

/* The pids of the live processes but skip whose command line names
 * needle (a daemon's shims name its socket, their keepers their bundle),
 * listed into list. */
static inline size_t oci_leftovers(const char *needle, pid_t skip, char *list,
                                   size_t n) {
  size_t found = 0;
  list[0] = '\0';
  DIR *d = opendir("/proc");
  cr_assert_not_null(d);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0 || pid == skip) {
      continue;
    }
    char p[64], cmd[4096];
    snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    ssize_t k = read(fd, cmd, sizeof(cmd) - 1);
    close(fd);
    if (k <= 0) {
      continue; /* a zombie: nothing left to run */
    }
    for (ssize_t i = 0; i < k; i++) {
      cmd[i] = cmd[i] == '\0' ? ' ' : cmd[i];
    }
    cmd[k] = '\0';
    if (strstr(cmd, needle) != NULL) {
      size_t used = strlen(list);
      snprintf(list + used, n - used, "%d: %.300s\n", (int)pid, cmd);
      found++;
    }
  }
  closedir(d);
  return found;
}

/* pid is a container's process as hcs-runc's state and --pid-file name
 * it (the container's init, hcs-init): not in our pid, mount, uts or ipc
 * namespace, nor in our cgroup. */
static inline void oci_expect_container_pid(pid_t pid, const char *what) {
  char p[64], comm[32];
  snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
  oci_slurp(p, comm, sizeof(comm));
  cr_expect_str_eq(comm, "hcs-init\n", "%s %d is the container's init", what,
                   (int)pid);
  static const char *const ns[] = {"pid", "mnt", "uts", "ipc"};
  for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
    char a[64], b[64], la[64] = "", lb[64] = "";
    snprintf(a, sizeof(a), "/proc/%d/ns/%s", (int)pid, ns[i]);
    snprintf(b, sizeof(b), "/proc/self/ns/%s", ns[i]);
    cr_expect_gt(readlink(a, la, sizeof(la) - 1), 0, "%s: %s", a,
                 strerror(errno));
    cr_expect_gt(readlink(b, lb, sizeof(lb) - 1), 0, "%s", b);
    cr_expect_str_neq(la, lb, "%s %d: its %s namespace is not ours", what,
                      (int)pid, ns[i]);
  }
  char cg[4096], self[4096];
  snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
  oci_slurp(p, cg, sizeof(cg));
  oci_slurp("/proc/self/cgroup", self, sizeof(self));
  cr_expect(cg[0] != '\0' && strcmp(cg, self) != 0,
            "%s %d: its cgroup is the container's, not ours: %s", what,
            (int)pid, cg);
}

/* A shim exits after its daemon's delete returned: it is waited for. */
static inline void oci_expect_no_leftovers(const char *needle, pid_t skip,
                                           const char *when) {
  char list[4096];
  for (int i = 0; i < 200 && oci_leftovers(needle, skip, list, sizeof(list));
       i++) {
    oci_nap_ms(100);
  }
  cr_expect_eq(oci_leftovers(needle, skip, list, sizeof(list)), 0,
               "%s: shims or keepers left after 20 s:\n%s", when, list);
}

/* ------------------------------------------------------------------------
 * Debian's dockerd, with the runtime hcs=HCS_RUNC_BIN. */

typedef struct oci_dockerd_s {
  char dir[160];  /* its data root, exec root, socket, pid file, log */
  char netns[64]; /* the namespace it runs in, the test's */
  char host[220]; /* unix://dir/docker.sock */
  pid_t pid;
} oci_dockerd_t;

/* docker --host d->host ARGS..., killed after 120 s (exit status 124 or
 * 137); output in d->dir/tag.out, .err. */
static inline int oci_docker(const oci_dockerd_t *d, const char *tag,
                             const char *const *a, run_t *r) {
  char *argv[40] = {"timeout", "-k",           "5", "120", "docker",
                    "--host",  (char *)d->host};
  size_t n = 7;
  for (size_t i = 0; a[i] != NULL && n < 39; i++) {
    argv[n++] = (char *)a[i];
  }
  argv[n] = NULL;
  return oci_run(d->dir, argv, tag, r);
}

#define DOCKER(d, r, ...)                                                      \
  oci_docker(d, "docker", (const char *const[]){__VA_ARGS__, NULL}, r)

static inline bool oci_dockerd_up(void *data) {
  run_t r;
  return DOCKER((oci_dockerd_t *)data, &r, "version", "--format",
                "{{.Server.Version}}") == 0;
}

/* dockerd in the existing namespace netns, its files under dir (made),
 * with extra flags (NULL-terminated) after the test's own; returns when
 * it answers. */
static inline void oci_dockerd_start(oci_dockerd_t *d, const char *dir,
                                     const char *netns,
                                     const char *const *extra) {
  if (d->dir != dir) {
    snprintf(d->dir, sizeof(d->dir), "%s", dir);
  }
  if (d->netns != netns) {
    snprintf(d->netns, sizeof(d->netns), "%s", netns);
  }
  snprintf(d->host, sizeof(d->host), "unix://%s/docker.sock", dir);
  char data[200], exec_root[200], pidfile[200], rt[300], log[200];
  snprintf(data, sizeof(data), "%s/data", dir);
  snprintf(exec_root, sizeof(exec_root), "%s/exec", dir);
  snprintf(pidfile, sizeof(pidfile), "%s/dockerd.pid", dir);
  snprintf(rt, sizeof(rt), "hcs=%s", HCS_RUNC_BIN);
  snprintf(log, sizeof(log), "%s/dockerd.log", dir);
  char *argv[32] = {"dockerd",
                    "--host",
                    d->host,
                    "--data-root",
                    data,
                    "--exec-root",
                    exec_root,
                    "--pidfile",
                    pidfile,
                    "--bridge",
                    "none",
                    "--iptables=false",
                    "--ip6tables=false",
                    "--ip-forward=false",
                    "--add-runtime",
                    rt};
  size_t n = 16;
  for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 31; i++) {
    argv[n++] = (char *)extra[i];
  }
  argv[n] = NULL;
  d->pid = oci_spawn_in_netns(netns, log, argv);
  oci_wait_daemon(&d->pid, log, oci_dockerd_up, d);
}

/* Removes what a failed step left (a created container, a running one:
 * their shims and keepers would outlive dockerd), then stops dockerd. */
static inline void oci_dockerd_stop(oci_dockerd_t *d) {
  if (d->pid <= 0) {
    return;
  }
  run_t r;
  DOCKER(d, &r, "ps", "-aq");
  char ids[sizeof(r.out)];
  memcpy(ids, r.out, sizeof(ids));
  for (char *save = NULL, *id = strtok_r(ids, "\n", &save); id != NULL;
       id = strtok_r(NULL, "\n", &save)) {
    DOCKER(d, &r, "rm", "-f", id);
  }
  oci_stop_pid(d->pid, 30);
  d->pid = 0;
}

/* The busybox layer as the image "busybox" (docker import of its tar). */
static inline void oci_dockerd_import_busybox(oci_dockerd_t *d) {
  char tar[200];
  snprintf(tar, sizeof(tar), "%s/busybox.tar", d->dir);
  char *argv[] = {"tar",       "--numeric-owner",
                  "--owner=0", "--group=0",
                  "-C",        (char *)oci_busybox_rootfs(),
                  "-cf",       tar,
                  ".",         NULL};
  run_t r;
  cr_assert_eq(oci_run(d->dir, argv, "tar", &r), 0,
               "tar of the busybox layer: %s", r.err);
  cr_assert_eq(DOCKER(d, &r, "import", tar, "busybox:latest"), 0,
               "docker import: %s", r.err);
}

#endif
