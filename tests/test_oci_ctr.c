/* SPDX-License-Identifier: MIT */
/* hcs-runc (issue 18) as the runc binary of Debian's containerd: `ctr run
 * --runc-binary hcs-runc`, the way a containerd user picks a runtime.
 * Each case starts a private containerd (a config.toml under a temp dir:
 * root, state and the gRPC socket there, no CRI plugin) in a network
 * namespace the test makes with `ip netns add` and joins with setns,
 * imports the built-in busybox layer as docker.io/library/busybox:latest
 * (a docker-archive tar the test writes: manifest.json, the image config
 * and the layer tar), runs a container with ctr (ctr run --rm, with -t on a
 * console of the test's, and -d with task exec, pause, kill) and asserts
 * its output and exit status, then that no shim or hcs-runc keeper is
 * left. containerd is
 * stopped by its pid. Skipped when containerd, ctr, the shim or ip is not
 * installed (scripts/deps.sh installs them). */
#include "oci_util.h"

#define NS "hcst"
#define IMAGE "docker.io/library/busybox:latest"

static char dir[128], sock[200], netns[64];
static pid_t containerd_pid;

/* Runs argv with its output in files under dir: r gets its status and
 * output. */
static int run_argv(char *const argv[], run_t *r) {
  return oci_run(dir, argv, "cmd", r);
}

#define RUN(r, ...) run_argv((char *const[]){__VA_ARGS__, NULL}, r)
#define CTR(r, ...) RUN(r, "ctr", "-a", sock, "-n", NS, __VA_ARGS__)

/* A shim has -address DIR/containerd.sock, a keeper hcs-runc's create
 * with --bundle under DIR/state. */
static void expect_no_leftovers(const char *when) {
  oci_expect_no_leftovers(dir, containerd_pid, when);
}

static bool containerd_up(void *data) {
  (void)data;
  run_t r;
  return CTR(&r, "version") == 0;
}

static void containerd_start(void) {
  snprintf(netns, sizeof(netns), "hcs-ctr-%d", (int)getpid());
  run_t r;
  cr_assert_eq(RUN(&r, "ip", "netns", "add", netns), 0, "ip netns add: %s",
               r.err);
  snprintf(sock, sizeof(sock), "%s/containerd.sock", dir);
  char conf[200], text[1024], log[200];
  snprintf(conf, sizeof(conf), "%s/config.toml", dir);
  snprintf(log, sizeof(log), "%s/containerd.log", dir);
  snprintf(text, sizeof(text),
           "version = 2\n"
           "root = \"%s/root\"\n"
           "state = \"%s/state\"\n"
           "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
           "[grpc]\n  address = \"%s\"\n"
           "[ttrpc]\n  address = \"%s.ttrpc\"\n",
           dir, dir, sock, sock);
  oci_write_file(conf, text);
  char *argv[] = {"containerd", "--config", conf, NULL};
  containerd_pid = oci_spawn_in_netns(netns, log, argv);
  oci_wait_daemon(&containerd_pid, log, containerd_up, NULL);
}

/* ctr KIND rm [-f] of each ID `ctr KIND ls -q` lists. */
static void rm_each(char *kind, bool force) {
  run_t r;
  char ids[sizeof(r.out)];
  CTR(&r, kind, "ls", "-q");
  memcpy(ids, r.out, sizeof(ids));
  for (char *save = NULL, *id = strtok_r(ids, "\n", &save); id != NULL;
       id = strtok_r(NULL, "\n", &save)) {
    (void)(force ? CTR(&r, kind, "rm", "-f", id) : CTR(&r, kind, "rm", id));
  }
}

/* What a failed step left (a running task, a container): its shim and
 * keeper would outlive containerd. */
static void remove_all(void) {
  rm_each("tasks", true);
  rm_each("containers", false);
}

static void containerd_stop(void) {
  if (containerd_pid > 0) {
    remove_all();
    kill(containerd_pid, SIGTERM);
    (void)oci_wait_status(containerd_pid);
    containerd_pid = 0;
  }
  if (netns[0] != '\0') {
    run_t r;
    (void)RUN(&r, "ip", "netns", "del", netns);
    netns[0] = '\0';
  }
}

/* The built-in busybox layer as a docker-archive tar (docker save's
 * format), which `ctr images import` takes and unpacks. */
static void import_busybox(void) {
  char img[200], layer[220], tar[200], path[220], text[1024];
  snprintf(img, sizeof(img), "%s/img", dir);
  snprintf(layer, sizeof(layer), "%s/layer.tar", img);
  snprintf(tar, sizeof(tar), "%s/busybox.tar", dir);
  cr_assert_eq(mkdir(img, 0700), 0);
  run_t r;
  cr_assert_eq(RUN(&r, "tar", "--numeric-owner", "--owner=0", "--group=0", "-C",
                   (char *)oci_busybox_rootfs(), "-cf", layer, "."),
               0, "tar of the busybox layer: %s", r.err);
  cr_assert_eq(RUN(&r, "sha256sum", layer), 0, "sha256sum: %s", r.err);
  cr_assert(strlen(r.out) > 64 && r.out[64] == ' ', "%s", r.out);
  r.out[64] = '\0';
  snprintf(text, sizeof(text),
           "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":"
           "{\"Env\":[\"PATH=/bin:/usr/bin\"],\"Cmd\":[\"sh\"]},"
           "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%.64s\"]}}",
           r.out);
  snprintf(path, sizeof(path), "%s/config.json", img);
  oci_write_file(path, text);
  snprintf(path, sizeof(path), "%s/manifest.json", img);
  oci_write_file(path, "[{\"Config\":\"config.json\",\"RepoTags\":"
                       "[\"busybox:latest\"],\"Layers\":[\"layer.tar\"]}]");
  cr_assert_eq(RUN(&r, "tar", "-C", img, "-cf", tar, "manifest.json",
                   "config.json", "layer.tar"),
               0, "tar of the image: %s", r.err);
  cr_assert_eq(CTR(&r, "images", "import", tar), 0, "ctr images import: %s",
               r.err);
  CTR(&r, "images", "ls", "-q");
  cr_assert_str_eq(r.out, IMAGE "\n", "the imported image: %s", r.err);
}

static void setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("containerd and hcs-runc make containers: root only");
  }
  if (!oci_on_path("containerd") || !oci_on_path("ctr") ||
      !oci_on_path("containerd-shim-runc-v2") || !oci_on_path("ip")) {
    cr_skip_test("no containerd, ctr, containerd-shim-runc-v2 or ip "
                 "(Debian's containerd, iproute2)");
  }
  snprintf(dir, sizeof(dir), "/tmp/hcs-ctr-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  containerd_start();
  import_busybox();
}

static void teardown(void) {
  containerd_stop();
  /* The shim's runc root for the namespace, when nothing else is in it. */
  (void)rmdir("/run/containerd/runc/" NS);
  if (dir[0] != '\0') {
    oci_rm_tree(dir);
    dir[0] = '\0';
  }
}

TestSuite(oci_ctr, .init = setup, .fini = teardown, .timeout = 300);

/* ctr run --runc-binary HCS_RUNC --rm IMAGE ID ARGS...: its status and
 * the container's output, which ctr copies. */
static int ctr_run(run_t *r, const char *id, const char *const *args) {
  char *argv[32] = {"ctr",           "-a",         sock,   "-n", NS, "run",
                    "--runc-binary", HCS_RUNC_BIN, "--rm", IMAGE};
  size_t n = 10;
  argv[n++] = (char *)id;
  for (size_t i = 0; args[i] != NULL && n < 31; i++) {
    argv[n++] = (char *)args[i];
  }
  argv[n] = NULL;
  return run_argv(argv, r);
}

#define CTR_RUN(r, id, ...)                                                    \
  ctr_run(r, id, (const char *const[]){__VA_ARGS__, NULL})

static void expect_gone(const char *id) {
  run_t r;
  CTR(&r, "containers", "ls", "-q");
  cr_expect(strstr(r.out, id) == NULL, "--rm removed %s: %s", id, r.out);
  expect_no_leftovers("after ctr run --rm");
  containerd_stop();
  expect_no_leftovers("after containerd stopped");
}

Test(oci_ctr, run_prints_the_output) {
  run_t r;
  CTR_RUN(&r, "t1", "echo", "hi");
  cr_expect_eq(r.status, 0, "ctr run: %s", r.err);
  cr_expect_str_eq(r.out, "hi\n", "stderr: %s", r.err);
  expect_gone("t1");
}

Test(oci_ctr, exit_status_comes_back) {
  run_t r;
  CTR_RUN(&r, "t2", "sh", "-c", "echo out; echo err >&2; exit 3");
  cr_expect_eq(r.status, 3, "ctr exits with the container's status: %s", r.err);
  cr_expect_str_eq(r.out, "out\n");
  cr_expect(strstr(r.err, "err\n") != NULL, "%s", r.err);
  expect_gone("t2");
}

static const char *task_status(const char *id) {
  static run_t r;
  CTR(&r, "tasks", "ls");
  for (char *save = NULL, *l = strtok_r(r.out, "\n", &save); l != NULL;
       l = strtok_r(NULL, "\n", &save)) {
    char name[64], status[32];
    if (sscanf(l, "%63s %*d %31s", name, status) == 2 &&
        strcmp(name, id) == 0) {
      static char copy[32];
      snprintf(copy, sizeof(copy), "%s", status);
      return copy;
    }
  }
  return "";
}

/* The PID column of `ctr tasks ls` for id. */
static pid_t task_pid(const char *id) {
  run_t r;
  CTR(&r, "tasks", "ls");
  for (char *save = NULL, *l = strtok_r(r.out, "\n", &save); l != NULL;
       l = strtok_r(NULL, "\n", &save)) {
    char name[64];
    int pid;
    if (sscanf(l, "%63s %d", name, &pid) == 2 && strcmp(name, id) == 0) {
      return (pid_t)pid;
    }
  }
  cr_assert_fail("ctr tasks ls has no %s: %s", id, r.out);
  return 0;
}

Test(oci_ctr, detached_exec_pause_kill) {
  run_t r;
  CTR(&r, "run", "-d", "--runc-binary", HCS_RUNC_BIN, IMAGE, "d1", "sleep",
      "1000");
  cr_assert_eq(r.status, 0, "ctr run -d: %s", r.err);
  cr_expect_str_eq(task_status("d1"), "RUNNING");
  /* The task's pid (what the shim waits for) is the container's init. */
  oci_expect_container_pid(task_pid("d1"), "ctr's task pid");
  CTR(&r, "tasks", "exec", "--exec-id", "e1", "d1", "sh", "-c",
      "echo in-exec; exit 4");
  cr_expect_eq(r.status, 4, "ctr task exec: %s", r.err);
  cr_expect_str_eq(r.out, "in-exec\n");
  CTR(&r, "tasks", "ps", "d1");
  cr_expect(strchr(r.out, '\n') != NULL && strchr(r.out, '\n')[1] != '\0',
            "ctr task ps lists pids: %s %s", r.out, r.err);
  CTR(&r, "tasks", "pause", "d1");
  cr_expect_eq(r.status, 0, "ctr task pause: %s", r.err);
  cr_expect_str_eq(task_status("d1"), "PAUSED");
  CTR(&r, "tasks", "resume", "d1");
  cr_expect_eq(r.status, 0, "ctr task resume: %s", r.err);
  cr_expect_str_eq(task_status("d1"), "RUNNING");
  CTR(&r, "tasks", "kill", "-s", "TERM", "d1");
  cr_expect_eq(r.status, 0, "ctr task kill: %s", r.err);
  const char *st = "";
  for (int i = 0; i < 300 && strcmp(st = task_status("d1"), "STOPPED"); i++) {
    oci_nap_ms(100);
  }
  cr_expect_str_eq(st, "STOPPED", "SIGTERM stops the task in 30 s");
  CTR(&r, "tasks", "rm", "d1");
  cr_expect_eq(r.status, 0, "ctr task rm: %s", r.err);
  /* ctr warns of a non-zero status: SIGTERM's. */
  cr_expect(strstr(r.err, "exit code 143") != NULL, "%s", r.err);
  CTR(&r, "containers", "rm", "d1");
  cr_expect_eq(r.status, 0, "ctr container rm: %s", r.err);
  expect_gone("d1");
}

Test(oci_ctr, run_on_a_console) {
  /* ctr run -t puts its own console in raw mode: it needs one. */
  char *argv[] = {"ctr",        "-a",   sock,
                  "-n",         NS,     "run",
                  "-t",         "--rm", "--runc-binary",
                  HCS_RUNC_BIN, IMAGE,  "c1",
                  "sh",         "-c",   "tty; read x; echo got-$x; exit 6",
                  NULL};
  char out[8192];
  int st = oci_pty_run(argv, "/dev/pts/", "abc\r", out, sizeof(out));
  cr_expect_eq(st, 6, "ctr run -t exits 6: %s", out);
  cr_expect(strstr(out, "/dev/pts/") != NULL, "a console: %s", out);
  cr_expect(strstr(out, "got-abc") != NULL, "input reaches it: %s", out);
  expect_gone("c1");
}
