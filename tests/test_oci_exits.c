/* SPDX-License-Identifier: MIT */
/* How a container ends, through Debian's dockerd, with `--runtime hcs`
 * (hcs-runc) against runc, dockerd's default, as the reference: each case
 * does the same thing on both and asserts that docker reports the same
 * (exit codes of `docker run`, `docker stop`, `docker kill`, `docker
 * wait`, restarts, an exec cut by the container's end, signals a process
 * of the container sends its pid 1), then that nothing is left behind: no
 * shim, keeper or init, no state under the runtime root, no cgroup, no
 * fd the daemon's caller left open. Where hcs differs on purpose (its pid
 * 1 is hcs's init, not the OCI process: README's "What differs from
 * runc") the case uses a program that handles the signal. One dockerd per
 * case, in a network namespace the case makes with `ip netns add`; skipped
 * when dockerd or ip is not installed. */
#include "oci_util.h"

#include <sys/time.h>

static char dir[128];
static oci_dockerd_t dockerd;

static const char *const runtimes[] = {"runc", "hcs"};

static void run_argv(char *const argv[], run_t *r) {
  oci_run(dir, argv, "cmd", r);
}

static void setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("dockerd and hcs-runc make containers: root only");
  }
  if (!oci_on_path("dockerd") || !oci_on_path("ip") ||
      !oci_on_path("containerd-shim-runc-v2") || !oci_on_path("runc")) {
    cr_skip_test("no dockerd, runc, containerd-shim-runc-v2 or ip (Debian's "
                 "docker.io, iproute2)");
  }
  snprintf(dir, sizeof(dir), "/tmp/hcs-exits-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
  if (dockerd.pid > 0) {
    oci_dockerd_stop(&dockerd);
  }
  if (dockerd.netns[0] != '\0') {
    run_t r;
    run_argv((char *const[]){"ip", "netns", "del", dockerd.netns, NULL}, &r);
  }
  if (dir[0] != '\0') {
    oci_rm_tree(dir);
  }
}

TestSuite(oci_exits, .init = setup, .fini = teardown, .timeout = 180);

static void start_dockerd(void) {
  snprintf(dockerd.netns, sizeof(dockerd.netns), "hcs-exits-%d", (int)getpid());
  run_t r;
  run_argv((char *const[]){"ip", "netns", "add", dockerd.netns, NULL}, &r);
  cr_assert_eq(r.status, 0, "ip netns add: %s", r.err);
  oci_dockerd_start(&dockerd, dir, dockerd.netns, NULL);
  oci_dockerd_import_busybox(&dockerd);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* docker --host ... ARGS, killed after 30 s (status 124), so that a
 * hang fails the step that hung, within the case's time. */
static int dk_v(run_t *r, const char *const *a) {
  char *argv[40] = {"timeout", "-k",     "5",         "30",
                    "docker",  "--host", dockerd.host};
  size_t n = 7;
  for (size_t i = 0; a[i] != NULL && n < 39; i++) {
    argv[n++] = (char *)a[i];
  }
  argv[n] = NULL;
  return oci_run(dir, argv, "docker", r);
}

#define DK(r, ...) dk_v(r, (const char *const[]){__VA_ARGS__, NULL})

/* docker inspect --format f NAME, its first line. */
static void inspect(const char *name, const char *f, char *out, size_t n) {
  run_t r;
  DK(&r, "inspect", "--format", f, name);
  snprintf(out, n, "%.*s", (int)strcspn(r.out, "\n"), r.out);
}

/* Appends "what=value " to the line of one runtime's results. */
static void note(char *line, size_t n, const char *what, const char *value) {
  size_t used = strlen(line);
  snprintf(line + used, n - used, "%s=%s ", what, value);
}

static void note_int(char *line, size_t n, const char *what, int value) {
  char v[16];
  snprintf(v, sizeof(v), "%d", value);
  note(line, n, what, v);
}

/* A program that ends with 5 on SIGTERM, 3 on SIGUSR1, says hup on
 * SIGHUP. */
#define TRAPS                                                                  \
  "trap 'exit 5' TERM; trap 'exit 3' USR1; trap 'echo hup' HUP; "              \
  "while :; do sleep 0.1; done"

/* One runtime's exit statuses as docker reports them. */
static void exits_of(const char *rt, char *line, size_t n) {
  run_t r;
  static const char *const codes[] = {"0", "1", "23", "255"};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "exit %s", codes[i]);
    DK(&r, "run", "--rm", "--runtime", rt, "busybox", "sh", "-c", cmd);
    note_int(line, n, cmd, r.status);
  }
  DK(&r, "run", "--rm", "--runtime", rt, "busybox", "sh", "-c",
     "sleep 100 & kill -9 $!; wait $!");
  note_int(line, n, "child-killed", r.status);
  /* stop: a handler's status; SIGKILL after -t for one that ignores it. */
  DK(&r, "run", "-d", "--name", "st", "--runtime", rt, "busybox", "sh", "-c",
     TRAPS);
  DK(&r, "run", "-d", "--name", "ig", "--runtime", rt, "busybox", "sh", "-c",
     "trap '' TERM; while :; do sleep 0.1; done");
  DK(&r, "run", "-d", "--name", "us", "--runtime", rt, "busybox", "sh", "-c",
     TRAPS);
  oci_nap_ms(300); /* the traps are set */
  DK(&r, "stop", "-t", "1", "st");
  DK(&r, "stop", "-t", "1", "ig");
  DK(&r, "kill", "-s", "USR1", "us");
  DK(&r, "wait", "us");
  note(line, n, "wait-us", r.out);
  char v[64];
  static const char *const names[] = {"st", "ig", "us"};
  for (size_t i = 0; i < 3; i++) {
    inspect(names[i], "{{.State.Status}}/{{.State.ExitCode}}", v, sizeof(v));
    note(line, n, names[i], v);
    DK(&r, "rm", "-f", names[i]);
  }
  /* pause, unpause, then stop: the handler still runs. */
  DK(&r, "run", "-d", "--name", "pz", "--runtime", rt, "busybox", "sh", "-c",
     TRAPS);
  oci_nap_ms(300);
  DK(&r, "pause", "pz");
  inspect("pz", "{{.State.Status}}", v, sizeof(v));
  note(line, n, "paused", v);
  DK(&r, "unpause", "pz");
  DK(&r, "stop", "-t", "5", "pz");
  inspect("pz", "{{.State.Status}}/{{.State.ExitCode}}", v, sizeof(v));
  note(line, n, "pz", v);
  DK(&r, "rm", "-f", "pz");
}

Test(oci_exits, exit_codes_stop_kill_pause_as_runc) {
  start_dockerd();
  char line[2][1024] = {"", ""};
  for (int i = 0; i < 2; i++) {
    exits_of(runtimes[i], line[i], sizeof(line[i]));
  }
  cr_expect_str_eq(line[1], line[0], "hcs (first) and runc differ");
  cr_expect(strstr(line[0], "exit 23=23 ") != NULL, "runc: %s", line[0]);
  cr_expect(strstr(line[0], "st=exited/5 ") != NULL, "runc: %s", line[0]);
  cr_expect(strstr(line[0], "ig=exited/137 ") != NULL, "runc: %s", line[0]);
}

/* restart policies: on-failure:2 runs 3 times; always restarts. */
Test(oci_exits, restart_policies_as_runc) {
  start_dockerd();
  char line[2][512] = {"", ""}, v[64];
  run_t r;
  for (int i = 0; i < 2; i++) {
    char of[16], al[16];
    snprintf(of, sizeof(of), "of-%s", runtimes[i]);
    snprintf(al, sizeof(al), "al-%s", runtimes[i]);
    DK(&r, "run", "-d", "--name", of, "--restart", "on-failure:2", "--runtime",
       runtimes[i], "busybox", "sh", "-c", "exit 3");
    cr_expect_eq(r.status, 0, "%s: %s", of, r.err);
    DK(&r, "run", "-d", "--name", al, "--restart", "always", "--runtime",
       runtimes[i], "busybox", "sh", "-c", "exit 0");
    cr_expect_eq(r.status, 0, "%s: %s", al, r.err);
  }
  /* docker's backoff: 100, 200, 400 ms ... after each exit. */
  for (int t = 0; t < 100; t++) {
    bool done = true;
    for (int i = 0; i < 2; i++) {
      char of[16];
      snprintf(of, sizeof(of), "of-%s", runtimes[i]);
      inspect(of, "{{.RestartCount}}/{{.State.Status}}", v, sizeof(v));
      done = done && strcmp(v, "2/exited") == 0;
    }
    if (done) {
      break;
    }
    oci_nap_ms(100);
  }
  for (int i = 0; i < 2; i++) {
    char of[16], al[16];
    snprintf(of, sizeof(of), "of-%s", runtimes[i]);
    snprintf(al, sizeof(al), "al-%s", runtimes[i]);
    inspect(of, "{{.RestartCount}}/{{.State.Status}}/{{.State.ExitCode}}", v,
            sizeof(v));
    note(line[i], sizeof(line[i]), "on-failure:2", v);
    inspect(al, "{{.RestartCount}}", v, sizeof(v));
    note(line[i], sizeof(line[i]), "always-restarted", atoi(v) > 0 ? "y" : "n");
    DK(&r, "rm", "-f", of, al);
  }
  cr_expect_str_eq(line[1], line[0], "hcs (first) and runc differ");
  cr_expect_str_eq(line[0], "on-failure:2=2/exited/3 always-restarted=y ");
}

/* An exec running when the container's process ends is killed, and docker
 * exec says so (137) at once, as under runc, whose pid 1's end takes the
 * namespace; a child the process leaves holds up neither the exit nor
 * the output, and a daemon it started does not outlive it. */
Test(oci_exits, exec_and_children_end_with_the_container) {
  start_dockerd();
  run_t r;
  char line[2][512] = {"", ""};
  long took[2][2];
  for (int i = 0; i < 2; i++) {
    const char *rt = runtimes[i];
    DK(&r, "run", "-d", "--name", "ex", "--runtime", rt, "busybox", "sh", "-c",
       "sleep 1; exit 3");
    cr_assert_eq(r.status, 0, "%s: %s", rt, r.err);
    long t0 = now_ms();
    /* Bounded: unfixed, docker exec never returned. */
    run_argv((char *const[]){"timeout", "-k", "5", "20", "docker", "--host",
                             dockerd.host, "exec", "ex", "sh", "-c",
                             "echo in; sleep 20; echo late", NULL},
             &r);
    long ms = now_ms() - t0;
    note_int(line[i], sizeof(line[i]), "exec", r.status);
    note(line[i], sizeof(line[i]), "out", r.out);
    cr_expect_lt(ms, 8000, "%s: docker exec returned after %ld ms", rt, ms);
    DK(&r, "wait", "ex");
    note(line[i], sizeof(line[i]), "wait", r.out);
    DK(&r, "rm", "-f", "ex");
    /* The exit with a child holding stdout against one without. */
    t0 = now_ms();
    DK(&r, "run", "--rm", "--runtime", rt, "busybox", "sh", "-c",
       "echo a; exit 4");
    took[i][0] = now_ms() - t0;
    t0 = now_ms();
    DK(&r, "run", "--rm", "--runtime", rt, "busybox", "sh", "-c",
       "sleep 100 & echo b; exit 4");
    took[i][1] = now_ms() - t0;
    note_int(line[i], sizeof(line[i]), "bg", r.status);
    note(line[i], sizeof(line[i]), "out", r.out);
    DK(&r, "run", "--rm", "--runtime", rt, "busybox", "sh", "-c",
       "setsid sh -c 'exec sleep 7771' </dev/null >/dev/null 2>&1 & exit 0");
    note_int(line[i], sizeof(line[i]), "daemon", r.status);
    char list[1024];
    cr_expect_eq(oci_leftovers("sleep 7771", 0, list, sizeof(list)), 0,
                 "%s: the daemon outlived its container: %s", rt, list);
  }
  cr_expect_str_eq(line[1], line[0], "hcs (first) and runc differ");
  cr_expect_str_eq(line[0],
                   "exec=137 out=in\n wait=3\n bg=4 out=b\n daemon=0 ");
  /* libhcs's drain timeout (2 s) must not be what ends the session. */
  cr_expect_lt(took[1][1] - took[1][0], 1500,
               "hcs: a background child held the exit %ld ms (runc %ld)",
               took[1][1] - took[1][0], took[0][1] - took[0][0]);
}

/* Signals a root process of the container sends its pid 1: SIGHUP and
 * SIGTERM (`kill 1`) reach a program that handles them (which then goes
 * on, or exits with its status), SIGSTOP and an unqueued
 * HCS_INIT_EXIT_SIGNAL change nothing. */
Test(oci_exits, signals_to_pid_1_from_inside) {
  start_dockerd();
  run_t r;
  char line[2][512] = {"", ""}, v[64];
  for (int i = 0; i < 2; i++) {
    const char *rt = runtimes[i];
    DK(&r, "run", "-d", "--name", "p1", "--runtime", rt, "busybox", "sh", "-c",
       TRAPS);
    cr_assert_eq(r.status, 0, "%s: %s", rt, r.err);
    oci_nap_ms(300);
    DK(&r, "exec", "p1", "sh", "-c", "kill -STOP 1; kill -40 1; echo sent");
    note(line[i], sizeof(line[i]), "sent", r.out);
    oci_nap_ms(300);
    DK(&r, "exec", "p1", "echo", "alive");
    note(line[i], sizeof(line[i]), "then", r.out);
    inspect("p1", "{{.State.Status}}", v, sizeof(v));
    note(line[i], sizeof(line[i]), "status", v);
    DK(&r, "exec", "p1", "kill", "-HUP", "1");
    oci_nap_ms(500);
    inspect("p1", "{{.State.Status}}", v, sizeof(v));
    note(line[i], sizeof(line[i]), "after-hup", v);
    DK(&r, "logs", "p1");
    note(line[i], sizeof(line[i]), "said",
         strstr(r.out, "hup\n") != NULL ? "hup" : r.out);
    DK(&r, "exec", "p1", "kill", "1");
    DK(&r, "wait", "p1");
    note(line[i], sizeof(line[i]), "kill-1", r.out);
    DK(&r, "rm", "-f", "p1");
  }
  cr_expect_str_eq(line[1], line[0], "hcs (first) and runc differ");
  cr_expect_str_eq(line[0], "sent=sent\n then=alive\n status=running "
                            "after-hup=running said=hup kill-1=5\n ");
}

/* The inode of fd's pipe. */
static ino_t fd_inode(int fd) {
  struct stat sb;
  cr_assert_eq(fstat(fd, &sb), 0);
  return sb.st_ino;
}

/* Whether process pid holds an fd on a pipe with inode ino. */
static bool holds_pipe(pid_t pid, ino_t ino) {
  char p[64], want[64], l[128];
  snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
  snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)ino);
  DIR *d = opendir(p);
  bool found = false;
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL && !found;) {
    ssize_t k = readlinkat(dirfd(d), e->d_name, l, sizeof(l) - 1);
    l[k > 0 ? k : 0] = '\0';
    found = strcmp(l, want) == 0;
  }
  if (d != NULL) {
    closedir(d);
  }
  return found;
}

/* pids of the processes whose command line holds both a and b. */
static size_t find_procs(const char *a, const char *b, pid_t *out, size_t n) {
  size_t k = 0;
  DIR *d = opendir("/proc");
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL && k < n;) {
    pid_t pid = (pid_t)atoi(e->d_name);
    char p[64], cmd[4096];
    snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
    int fd = pid > 0 ? open(p, O_RDONLY | O_CLOEXEC) : -1;
    ssize_t m = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
    if (fd >= 0) {
      close(fd);
    }
    for (ssize_t i = 0; i < m; i++) {
      cmd[i] = cmd[i] == '\0' ? ' ' : cmd[i];
    }
    cmd[m > 0 ? m : 0] = '\0';
    if (m > 0 && strstr(cmd, a) != NULL && strstr(cmd, b) != NULL) {
      out[k++] = pid;
    }
  }
  if (d != NULL) {
    closedir(d);
  }
  return k;
}

/* What the daemon's caller left open (a pipe the test makes without
 * O_CLOEXEC, which dockerd, containerd and the shim pass on) is held by
 * no process of the runtime's, as runc's init closes it; after docker rm
 * -f nothing of the container is left: shims, keepers, inits, its state
 * under the runtime root, its cgroup, its mounts. */
Test(oci_exits, nothing_left_behind) {
  int marker[2];
  cr_assert_eq(pipe(marker), 0);
  ino_t ino = fd_inode(marker[0]);
  start_dockerd();
  run_t r;
  for (int i = 0; i < 2; i++) {
    const char *rt = runtimes[i];
    DK(&r, "run", "-d", "--name", "lk", "--runtime", rt, "busybox", "sh", "-c",
       "sleep 1000 & sleep 1000");
    cr_assert_eq(r.status, 0, "%s: %s", rt, r.err);
    char id[80];
    snprintf(id, sizeof(id), "%.64s", r.out);
    DK(&r, "exec", "-d", "lk", "sleep", "999");
    cr_expect_eq(r.status, 0, "%s exec -d: %s", rt, r.err);
    oci_nap_ms(300);
    /* hcs: its keeper and exec waiter, and init; runc: the container's
     * pid 1. */
    pid_t procs[16];
    size_t n = i == 1 ? find_procs(HCS_RUNC_BIN, id, procs, 15) : 0;
    if (i == 1) {
      cr_expect_geq(n, 2, "hcs: a keeper and an exec waiter run");
    }
    /* docker top lists the container's processes, no runtime's command
     * line (hcs's init, a copy of the keeper, is "hcs-init ID"). */
    DK(&r, "top", "lk");
    cr_expect(strstr(r.out, "sleep 1000") != NULL && !strstr(r.out, "--bundle"),
              "%s: docker top: %s", rt, r.out);
    char title[100];
    snprintf(title, sizeof(title), "hcs-init %s\n", id);
    cr_expect(i == 0 || strstr(r.out, title) != NULL, "%s: docker top: %s", rt,
              r.out);
    /* Nor does the container see the runtime's host paths as pid 1's. */
    DK(&r, "exec", "lk", "cat", "/proc/1/cmdline");
    cr_expect(r.status == 0 && strstr(r.out, dir) == NULL,
              "%s: the container's /proc/1/cmdline: %s", rt, r.out);
    char v[32];
    inspect("lk", "{{.State.Pid}}", v, sizeof(v));
    procs[n++] = (pid_t)atoi(v);
    cr_expect_gt(procs[n - 1], 0, "%s: docker inspect's Pid", rt);
    for (size_t j = 0; j < n; j++) {
      cr_expect(!holds_pipe(procs[j], ino),
                "%s: process %d holds the fd its daemon's caller left open", rt,
                (int)procs[j]);
    }
    DK(&r, "rm", "-f", "lk");
    cr_expect_eq(r.status, 0, "%s rm -f: %s", rt, r.err);
    char path[512];
    snprintf(path, sizeof(path), "%s/exec/runtime-runc/moby/%s", dir, id);
    for (int t = 0; t < 100 && access(path, F_OK) == 0; t++) {
      oci_nap_ms(100);
    }
    cr_expect_neq(access(path, F_OK), 0, "%s: %s is left", rt, path);
    snprintf(path, sizeof(path), "/sys/fs/cgroup/pids/docker/%s", id);
    cr_expect_neq(access(path, F_OK), 0, "%s: %s is left", rt, path);
    char mounts[65536];
    oci_slurp("/proc/self/mountinfo", mounts, sizeof(mounts));
    cr_expect(strstr(mounts, id) == NULL, "%s: a mount of %s is left", rt, id);
    oci_expect_no_leftovers(id, 0, "after docker rm -f");
    oci_expect_no_leftovers("sleep 999", 0, "after docker rm -f");
  }
  close(marker[0]);
  close(marker[1]);
}

/* Killed from the host (SIGKILL): runc's container process, or hcs's
 * keeper, which runs the container's programs: either way the container
 * ends at once, 137, and leaves nothing (hcs's init sees its keeper's
 * end and takes the container down). */
Test(oci_exits, killed_from_the_host) {
  start_dockerd();
  run_t r;
  char line[2][256] = {"", ""}, v[64];
  for (int i = 0; i < 2; i++) {
    const char *rt = runtimes[i];
    DK(&r, "run", "-d", "--name", "kh", "--runtime", rt, "busybox", "sh", "-c",
       "sleep 1000 & sleep 1000");
    cr_assert_eq(r.status, 0, "%s: %s", rt, r.err);
    char id[80];
    snprintf(id, sizeof(id), "%.64s", r.out);
    pid_t victim[4];
    size_t n = i == 1 ? find_procs(HCS_RUNC_BIN, "create", victim, 4) : 0;
    size_t k = 0;
    for (size_t j = 0; j < n; j++) {
      char p[64], cmd[8192];
      snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)victim[j]);
      oci_slurp(p, cmd, sizeof(cmd));
      for (char *c = cmd; c < cmd + sizeof(cmd) - 1 && (c[0] || c[1]); c++) {
        *c = *c == '\0' ? ' ' : *c;
      }
      victim[k] = victim[j];
      k += strstr(cmd, id) != NULL;
    }
    if (i == 0) {
      inspect("kh", "{{.State.Pid}}", v, sizeof(v));
      victim[k++] = (pid_t)atoi(v);
    }
    cr_assert_eq(k, 1, "%s: the process to kill", rt);
    cr_assert_eq(kill(victim[0], SIGKILL), 0);
    for (int t = 0; t < 50; t++) {
      inspect("kh", "{{.State.Status}}/{{.State.ExitCode}}", v, sizeof(v));
      if (strncmp(v, "exited", 6) == 0) {
        break;
      }
      oci_nap_ms(100);
    }
    note(line[i], sizeof(line[i]), "kh", v);
    DK(&r, "rm", "-f", "kh");
    oci_expect_no_leftovers(id, 0, "after the kill and docker rm -f");
  }
  cr_expect_str_eq(line[1], line[0], "hcs (first) and runc differ");
  cr_expect_str_eq(line[0], "kh=exited/137 ");
}
