/* SPDX-License-Identifier: MIT */
/* hcs-runc (issue 18) as the default runtime of a two-node Docker Swarm.
 * The test makes two network namespaces joined by a veth pair (NODE1_IP,
 * NODE2_IP) and runs Debian's dockerd in each (oci_util.h: a private
 * socket, data root and exec root, the containerd it starts itself,
 * --add-runtime hcs=<hcs-runc> --default-runtime hcs). Node 1 inits the
 * swarm, node 2 joins it as a worker, the built-in busybox layer is
 * imported as "busybox" on both. A replicated service without published
 * ports (its tasks need no overlay network; this kernel has vxlan, but
 * the test does not depend on it) is created with 2 replicas, scaled to
 * 4, then to 1. At each step the test waits for the replicas to run,
 * asserts the spread the scheduler promises for equal nodes (as many
 * tasks on each), and that every task container runs under hcs: its
 * HostConfig.Runtime is "hcs", its State.Pid is the container's init
 * (hcs-init, in the container's namespaces and cgroup; a fork of
 * hcs-runc's keeper, so its command line is `create`'s) whose `hcs-runc
 * state` under the root dockerd gave it says running with that pid.
 * Scaled down, the removed tasks' containers and keepers are gone. The
 * end leaves the swarm, stops both dockerd by
 * pid and asserts that no process and no mount names the test's
 * directory. dockerd resolves the image locally
 * (DOCKER_SERVICE_PREFER_OFFLINE_IMAGE): the namespaces have no route to
 * a registry. Skipped when dockerd, docker, the shim or ip is missing. */
#include "oci_util.h"

#include <jansson.h>
#include <limits.h>

#define NODE1_IP "10.231.77.1"
#define NODE2_IP "10.231.77.2"
#define SERVICE "hcs-swarm-s"
#define LABEL "label=com.docker.swarm.service.name=" SERVICE

typedef struct node_s {
  oci_dockerd_t d;
  char netns[64];
  char id[64]; /* the swarm's node ID */
} node_t;

static char dir[128];
static node_t nodes[2];
static bool service_made;

static int run_cmd(char *const argv[], run_t *r) {
  return oci_run(dir, argv, "cmd", r);
}

#define RUN(r, ...) run_cmd((char *const[]){__VA_ARGS__, NULL}, r)

/* Two namespaces, a veth pair between them, addresses on both ends. */
static void make_network(void) {
  char a[16], b[16];
  snprintf(a, sizeof(a), "hswa%d", (int)getpid());
  snprintf(b, sizeof(b), "hswb%d", (int)getpid());
  run_t r;
  for (int i = 0; i < 2; i++) {
    snprintf(nodes[i].netns, sizeof(nodes[i].netns), "hcs-swarm%d-%d", i + 1,
             (int)getpid());
    cr_assert_eq(RUN(&r, "ip", "netns", "add", nodes[i].netns), 0,
                 "ip netns add: %s", r.err);
    cr_assert_eq(RUN(&r, "ip", "-n", nodes[i].netns, "link", "set", "lo", "up"),
                 0, "lo up: %s", r.err);
  }
  cr_assert_eq(RUN(&r, "ip", "link", "add", a, "netns", nodes[0].netns, "type",
                   "veth", "peer", "name", b, "netns", nodes[1].netns),
               0, "veth: %s", r.err);
  char *end[2] = {a, b}, *ip[2] = {NODE1_IP "/24", NODE2_IP "/24"};
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(RUN(&r, "ip", "-n", nodes[i].netns, "addr", "add", ip[i],
                     "dev", end[i]),
                 0, "ip addr: %s", r.err);
    cr_assert_eq(
        RUN(&r, "ip", "-n", nodes[i].netns, "link", "set", end[i], "up"), 0,
        "link up: %s", r.err);
  }
}

static void setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("dockerd and hcs-runc make containers: root only");
  }
  if (!oci_on_path("dockerd") || !oci_on_path("docker") ||
      !oci_on_path("containerd-shim-runc-v2") || !oci_on_path("ip")) {
    cr_skip_test("no dockerd, docker, containerd-shim-runc-v2 or ip "
                 "(Debian's docker.io, iproute2)");
  }
  snprintf(dir, sizeof(dir), "/tmp/hcs-swarm-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  /* Inherited by both dockerd: a task's image is the local one, without
   * the pull that swarm's executor tries first. */
  cr_assert_eq(setenv("DOCKER_SERVICE_PREFER_OFFLINE_IMAGE", "1", 1), 0);
  make_network();
  const char *const extra[] = {"--default-runtime", "hcs", NULL};
  for (int i = 0; i < 2; i++) {
    char sub[160];
    snprintf(sub, sizeof(sub), "%s/n%d", dir, i + 1);
    cr_assert_eq(mkdir(sub, 0700), 0);
    oci_dockerd_start(&nodes[i].d, sub, nodes[i].netns, extra);
    oci_dockerd_import_busybox(&nodes[i].d);
  }
}

/* What a test that failed half way left: the service, the swarm, both
 * dockerd, the namespaces (the veth pair goes with them), the files. */
static void teardown(void) {
  run_t r;
  if (service_made) {
    DOCKER(&nodes[0].d, &r, "service", "rm", SERVICE);
    service_made = false;
  }
  for (int i = 1; i >= 0; i--) {
    if (nodes[i].d.pid > 0) {
      DOCKER(&nodes[i].d, &r, "swarm", "leave", "--force");
      oci_dockerd_stop(&nodes[i].d);
    }
    if (nodes[i].netns[0] != '\0') {
      (void)RUN(&r, "ip", "netns", "del", nodes[i].netns);
      nodes[i].netns[0] = '\0';
    }
  }
  if (dir[0] != '\0') {
    oci_rm_tree(dir);
    dir[0] = '\0';
  }
}

TestSuite(oci_swarm, .init = setup, .fini = teardown, .timeout = 400);

/* Lines of s, copied into ids (one per line, NUL-separated): their count. */
static size_t split_lines(const char *s, char ids[][80], size_t max) {
  size_t n = 0;
  for (const char *p = s; *p != '\0' && n < max;) {
    size_t len = strcspn(p, "\n");
    if (len > 0) {
      snprintf(ids[n++], 80, "%.*s", (int)len, p);
    }
    p += len + (p[len] == '\n');
  }
  return n;
}

/* The IDs of the service's task containers on node i; all of them, or
 * the running ones only. */
static size_t task_containers(int i, bool all, char ids[][80], size_t max) {
  run_t r;
  if (all) {
    DOCKER(&nodes[i].d, &r, "ps", "-a", "--no-trunc", "-q", "--filter", LABEL);
  } else {
    DOCKER(&nodes[i].d, &r, "ps", "--no-trunc", "-q", "--filter", LABEL);
  }
  cr_assert_eq(r.status, 0, "docker ps on node %d: %s", i + 1, r.err);
  return split_lines(r.out, ids, max);
}

/* The service's replicas as `docker service ls` shows them: "4/4". */
static void replicas(char *out, size_t n) {
  run_t r;
  DOCKER(&nodes[0].d, &r, "service", "ls", "--filter", "name=" SERVICE,
         "--format", "{{.Replicas}}");
  snprintf(out, n, "%.*s", (int)strcspn(r.out, "\n"), r.out);
}

/* Waits up to 120 s until the manager counts want replicas running, and
 * each node runs per_node[i] task containers and has no other. */
static void wait_for_tasks(int want, const int per_node[2]) {
  char expect[32], seen[64] = "";
  snprintf(expect, sizeof(expect), "%d/%d", want, want);
  size_t on[2] = {0, 0}, all[2] = {0, 0};
  char ids[16][80];
  for (int t = 0; t < 1200; t++) {
    replicas(seen, sizeof(seen));
    for (int i = 0; i < 2; i++) {
      on[i] = task_containers(i, false, ids, 16);
      all[i] = task_containers(i, true, ids, 16);
    }
    if (strcmp(seen, expect) == 0 && on[0] == (size_t)per_node[0] &&
        on[1] == (size_t)per_node[1] && all[0] == on[0] && all[1] == on[1]) {
      return;
    }
    oci_nap_ms(100);
  }
  run_t r;
  DOCKER(&nodes[0].d, &r, "service", "ps", "--no-trunc", SERVICE);
  cr_assert_fail("after 120 s: replicas %s (want %s), node 1 runs %zu of %zu"
                 " task containers (want %d), node 2 %zu of %zu (want %d):"
                 "\n%s%s",
                 seen, expect, on[0], all[0], per_node[0], on[1], all[1],
                 per_node[1], r.out, r.err);
}

/* The argument after --root on pid's command line, or "". */
static void root_arg(pid_t pid, char *root, size_t n) {
  char p[64], cmd[4096];
  snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
  root[0] = '\0';
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  ssize_t k = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
  if (fd >= 0) {
    close(fd);
  }
  cmd[k > 0 ? k : 0] = '\0';
  for (char *a = cmd; a < cmd + k; a += strlen(a) + 1) {
    if (strcmp(a, "--root") == 0 && a + strlen(a) + 1 < cmd + k) {
      snprintf(root, n, "%s", a + strlen(a) + 1);
      return;
    }
  }
}

/* The --root of a container's init's keeper: its sibling (init is
 * "hcs-init ID" on its own command line), `create`'s command line. */
static void root_of(pid_t pid, char *root, size_t n) {
  char p[64], stat[512];
  snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
  oci_slurp(p, stat, sizeof(stat));
  const char *rp = strrchr(stat, ')');
  int ppid = 0;
  cr_assert(rp != NULL && sscanf(rp + 2, "%*c %d", &ppid) == 1, "%s", p);
  root[0] = '\0';
  DIR *d = opendir("/proc");
  for (struct dirent *e;
       d != NULL && root[0] == '\0' && (e = readdir(d)) != NULL;) {
    int q = atoi(e->d_name), qp = 0;
    snprintf(p, sizeof(p), "/proc/%d/stat", q);
    oci_slurp(p, stat, sizeof(stat));
    rp = q > 0 && q != pid ? strrchr(stat, ')') : NULL;
    if (rp != NULL && sscanf(rp + 2, "%*c %d", &qp) == 1 && qp == ppid) {
      root_arg(q, root, n);
    }
  }
  if (d != NULL) {
    closedir(d);
  }
  cr_assert(root[0] != '\0', "no keeper with --root beside the init %d",
            (int)pid);
}

/* The task container id on node i runs under hcs: the runtime dockerd
 * recorded, the process it reports, and hcs-runc's own state of it. */
static void expect_under_hcs(int i, const char *id) {
  run_t r;
  DOCKER(&nodes[i].d, &r, "inspect", "--format",
         "{{.HostConfig.Runtime}} {{.State.Pid}} "
         "{{index .Config.Labels \"com.docker.swarm.node.id\"}}",
         id);
  cr_assert_eq(r.status, 0, "docker inspect %s: %s", id, r.err);
  char runtime[32], node[80];
  int pid;
  cr_assert_eq(sscanf(r.out, "%31s %d %79s", runtime, &pid, node), 3, "%s",
               r.out);
  cr_expect_str_eq(runtime, "hcs", "node %d, task %.12s", i + 1, id);
  cr_expect_str_eq(node, nodes[i].id, "the task's node label");
  cr_assert_gt(pid, 0, "%.12s runs", id);
  oci_expect_container_pid(pid, "the task's State.Pid");
  char root[PATH_MAX];
  root_of(pid, root, sizeof(root));
  cr_expect(strncmp(root, nodes[i].d.dir, strlen(nodes[i].d.dir)) == 0,
            "hcs-runc's --root %s is under node %d's exec root", root, i + 1);
  RUN(&r, HCS_RUNC_BIN, "--root", root, "state", (char *)id);
  cr_assert_eq(r.status, 0, "hcs-runc state %s: %s", id, r.err);
  json_t *st = json_loads(r.out, 0, NULL);
  cr_assert_not_null(st, "hcs-runc state is JSON: %s", r.out);
  cr_expect_str_eq(json_string_value(json_object_get(st, "status")), "running");
  cr_expect_eq(json_integer_value(json_object_get(st, "pid")), pid);
  json_decref(st);
}

/* Every running task container on both nodes is hcs's; their ids (for
 * the scale down) in ids, their count returned. */
static size_t expect_all_under_hcs(char ids[][80], size_t max) {
  size_t n = 0;
  for (int i = 0; i < 2; i++) {
    size_t k = task_containers(i, false, ids + n, max - n);
    for (size_t j = 0; j < k; j++) {
      expect_under_hcs(i, ids[n + j]);
    }
    n += k;
  }
  return n;
}

static void scale(int n) {
  char arg[64];
  snprintf(arg, sizeof(arg), SERVICE "=%d", n);
  run_t r;
  DOCKER(&nodes[0].d, &r, "service", "scale", "--detach", arg);
  cr_assert_eq(r.status, 0, "docker service scale %s: %s", arg, r.err);
}

static void form_swarm(void) {
  run_t r;
  DOCKER(&nodes[0].d, &r, "swarm", "init", "--advertise-addr", NODE1_IP,
         "--listen-addr", NODE1_IP ":2377");
  cr_assert_eq(r.status, 0, "docker swarm init: %s", r.err);
  DOCKER(&nodes[0].d, &r, "swarm", "join-token", "-q", "worker");
  cr_assert_eq(r.status, 0, "join-token: %s", r.err);
  char token[256];
  snprintf(token, sizeof(token), "%.*s", (int)strcspn(r.out, "\n"), r.out);
  DOCKER(&nodes[1].d, &r, "swarm", "join", "--token", token, "--advertise-addr",
         NODE2_IP, NODE1_IP ":2377");
  cr_assert_eq(r.status, 0, "docker swarm join: %s", r.err);
  for (int i = 0; i < 2; i++) {
    DOCKER(&nodes[i].d, &r, "info", "--format", "{{.Swarm.NodeID}}");
    snprintf(nodes[i].id, sizeof(nodes[i].id), "%.*s",
             (int)strcspn(r.out, "\n"), r.out);
    cr_assert_neq(nodes[i].id[0], '\0', "node %d's ID: %s", i + 1, r.err);
  }
  const char *ready = "";
  for (int t = 0; t < 600; t++) {
    DOCKER(&nodes[0].d, &r, "node", "ls", "--format",
           "{{.Status}} {{.Availability}}");
    if (strcmp(ready = r.out, "Ready Active\nReady Active\n") == 0) {
      break;
    }
    oci_nap_ms(100);
  }
  cr_assert_str_eq(ready, "Ready Active\nReady Active\n",
                   "both nodes ready in 60 s: %s", r.err);
}

Test(oci_swarm, service_scales_over_two_nodes_under_hcs) {
  form_swarm();
  run_t r;
  /* A task that ends is not replaced: the counts below stay the scale's. */
  DOCKER(&nodes[0].d, &r, "service", "create", "--detach", "--name", SERVICE,
         "--replicas", "2", "--restart-condition", "none", "busybox", "sleep",
         "1d");
  cr_assert_eq(r.status, 0, "docker service create: %s", r.err);
  service_made = true;
  /* The spread strategy puts as many of a service's tasks on each of two
   * equal nodes. */
  wait_for_tasks(2, (const int[]){1, 1});
  char ids[8][80];
  cr_expect_eq(expect_all_under_hcs(ids, 8), 2);
  scale(4);
  wait_for_tasks(4, (const int[]){2, 2});
  size_t was = expect_all_under_hcs(ids, 8);
  cr_expect_eq(was, 4);
  scale(1);
  int left[2] = {0, 0};
  for (int t = 0; t < 1200; t++) {
    char seen[64];
    char tmp[4][80];
    replicas(seen, sizeof(seen));
    size_t on0 = task_containers(0, true, tmp, 4);
    size_t on1 = task_containers(1, true, tmp, 4);
    if (strcmp(seen, "1/1") == 0 && on0 + on1 == 1) {
      left[0] = (int)on0;
      left[1] = (int)on1;
      break;
    }
    oci_nap_ms(100);
  }
  cr_assert_eq(left[0] + left[1], 1, "scaled to 1 in 120 s");
  wait_for_tasks(1, left);
  char now[2][80];
  cr_expect_eq(expect_all_under_hcs(now, 2), 1);
  /* The removed tasks' shims and keepers exited with their containers. */
  for (size_t j = 0; j < was; j++) {
    if (strcmp(ids[j], now[0]) != 0) {
      oci_expect_no_leftovers(ids[j], 0, "a removed task");
    }
  }
  DOCKER(&nodes[0].d, &r, "service", "rm", SERVICE);
  cr_expect_eq(r.status, 0, "docker service rm: %s", r.err);
  service_made = false;
  for (int i = 0; i < 2; i++) {
    for (int t = 0; t < 300 && task_containers(i, true, now, 2) > 0; t++) {
      oci_nap_ms(100);
    }
    cr_expect_eq(task_containers(i, true, now, 2), 0,
                 "service rm removed node %d's task in 30 s", i + 1);
  }
  DOCKER(&nodes[1].d, &r, "swarm", "leave");
  cr_expect_eq(r.status, 0, "the worker leaves: %s", r.err);
  DOCKER(&nodes[0].d, &r, "swarm", "leave", "--force");
  cr_expect_eq(r.status, 0, "the manager leaves: %s", r.err);
  for (int i = 1; i >= 0; i--) {
    oci_dockerd_stop(&nodes[i].d);
  }
  oci_expect_no_leftovers(dir, 0, "both dockerd stopped");
  char mounts[65536];
  oci_slurp("/proc/self/mountinfo", mounts, sizeof(mounts));
  cr_expect(strstr(mounts, dir) == NULL, "mounts left under %s:\n%s", dir,
            mounts);
}
