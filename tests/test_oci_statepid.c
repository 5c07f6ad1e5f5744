/* SPDX-License-Identifier: MIT */
/* hcs-runc's `state` pid and --pid-file name the container's init (a
 * process of the container, libhcs's, cloned as the keeper's sibling with
 * the InitSibling extension), not the keeper: /proc/<pid>/cgroup is the
 * container's group and /proc/<pid>/ns/... its namespaces, as runtime-tools'
 * linux_cgroups_relative_* and linux_ns_* read them. The test is a child
 * subreaper, as containerd's shim is: once `create` exits, the init is its
 * child, and the exit status it reaps is the OCI process's (its code, or
 * 128 + n for a death by signal n, as the shim reports a runc container's).
 * The keeper stays outside the container's group. Also libhcs alone: an
 * InitSibling init reaped by its embedder's parent with the status queued
 * to it while the embedder's libhcs sees it end, and the refusals of a
 * malformed InitSibling. The rootfs is the built-in busybox layer. */
#include "oci_util.h"

#include <jansson.h>

static char dir[128], root[160], bundle[160];

static void setup(void) {
  oci_suite_setup("/tmp/hcs-statepid-XXXXXX", dir, sizeof(dir), root,
                  sizeof(root), bundle, sizeof(bundle));
}

static void teardown(void) { oci_suite_teardown(dir); }

TestSuite(oci_statepid, .init = setup, .fini = teardown, .timeout = 120);

static run_t runc_v(const char *tag, const char *const *args) {
  const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
  return oci_run_args(dir, pre, args, tag);
}

#define RUNC(tag, ...) runc_v(tag, (const char *const[]){__VA_ARGS__, NULL})

/* config.json: `sh -c script` on the busybox layer; extra merged in. */
static void write_bundle(const char *script, const char *extra) {
  json_error_t jerr;
  json_t *c = json_pack_ex(
      &jerr, 0,
      "{s:s, s:{s:{s:i, s:i}, s:[s,s,s], s:[s], s:s}, s:{s:s, s:b},"
      " s:[{s:s, s:s, s:s}],"
      " s:{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]}}",
      "ociVersion", "1.0.2", "process", "user", "uid", 0, "gid", 0, "args",
      "sh", "-c", script, "env", "PATH=/bin:/usr/bin", "cwd", "/", "root",
      "path", oci_busybox_rootfs(), "readonly", 1, "mounts", "destination",
      "/proc", "type", "proc", "source", "proc", "linux", "namespaces", "type",
      "mount", "type", "network", "type", "uts", "type", "pid", "type", "ipc");
  cr_assert_not_null(c, "config: %s", jerr.text);
  oci_write_config(bundle, c, extra);
}

static json_t *state_of(const char *id) {
  run_t r = RUNC("state", "state", id);
  cr_assert_eq(r.status, 0, "state %s: %s", id, r.err);
  json_t *o = json_loads(r.out, 0, NULL);
  cr_assert_not_null(o, "state is not JSON: %s", r.out);
  return o;
}

/* `state` of id: its status, and its pid into *pid. */
static void expect_state(const char *id, const char *status, pid_t pid) {
  json_t *o = state_of(id);
  cr_expect_str_eq(json_string_value(json_object_get(o, "status")), status,
                   "%s", id);
  cr_expect_eq(json_integer_value(json_object_get(o, "pid")), pid,
               "state %s: pid", id);
  json_decref(o);
}

/* create as id; the --pid-file's pid, which `state` gives too. */
static pid_t create(const char *id) {
  char pidf[200], buf[32];
  snprintf(pidf, sizeof(pidf), "%s/%s.pid", dir, id);
  run_t r = RUNC(id, "create", "--bundle", bundle, "--pid-file", pidf, id);
  cr_assert_eq(r.status, 0, "create: %s", r.err);
  oci_slurp(pidf, buf, sizeof(buf));
  pid_t pid = (pid_t)atoi(buf);
  cr_assert_gt(pid, 0, "--pid-file: %s", buf);
  expect_state(id, "created", pid);
  return pid;
}

/* hcs-runc CMD ID [ARG], which must succeed. */
static void must(const char *cmd, const char *id, const char *arg) {
  run_t r = arg != NULL ? RUNC(cmd, cmd, id, arg) : RUNC(cmd, cmd, id);
  cr_assert_eq(r.status, 0, "%s %s: %s", cmd, id, r.err);
}

/* The keeper's pid, as hcs-runc keeps it in ROOT/ID/state.json. */
static pid_t keeper_of(const char *id) {
  char p[256];
  snprintf(p, sizeof(p), "%s/%s/state.json", root, id);
  json_t *o = json_load_file(p, 0, NULL);
  cr_assert_not_null(o, "%s", p);
  pid_t pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
  json_decref(o);
  cr_assert_gt(pid, 0);
  return pid;
}

/* The path of pid's group in hierarchy ("pids", or "" for v2's line). */
static void cgroup_of(pid_t pid, const char *ctl, char *out, size_t n) {
  char p[64], buf[4096];
  snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
  oci_slurp(p, buf, sizeof(buf));
  out[0] = '\0';
  for (char *l = strtok(buf, "\n"); l != NULL; l = strtok(NULL, "\n")) {
    char *a = strchr(l, ':');
    char *b = a != NULL ? strchr(a + 1, ':') : NULL;
    if (b == NULL) {
      continue;
    }
    *b = '\0';
    bool hit = ctl[0] == '\0' && a[1] == '\0';
    char *save = NULL;
    for (char *c = strtok_r(a + 1, ",", &save); !hit && c != NULL;
         c = strtok_r(NULL, ",", &save)) {
      hit = strcmp(c, ctl) == 0;
    }
    if (hit) {
      snprintf(out, n, "%s", b + 1);
      return;
    }
  }
}

/* A relative cgroupsPath with a pids limit: state's pid is in that group
 * (the limit is its pids.max), in the container's namespaces; the keeper
 * is in neither, so it counts not against the limit. */
Test(oci_statepid, state_pid_is_in_the_containers_group_and_namespaces) {
  char cg[64], extra[256];
  snprintf(cg, sizeof(cg), "hcs-statepid-%d", (int)getpid());
  snprintf(extra, sizeof(extra),
           "{\"linux\": {\"cgroupsPath\": \"%s\","
           " \"resources\": {\"pids\": {\"limit\": 42}}}}",
           cg);
  write_bundle("sleep 60", extra);
  pid_t pid = create("rel");
  oci_expect_container_pid(pid, "state's pid");
  char grp[1024], want[128], self_grp[1024], keeper_grp[1024];
  cgroup_of(pid, "pids", grp, sizeof(grp));
  bool v2 = grp[0] == '\0';
  if (v2) {
    cgroup_of(pid, "", grp, sizeof(grp));
  }
  snprintf(want, sizeof(want), "/%s", cg);
  size_t gl = strlen(grp), wl = strlen(want);
  cr_expect(gl >= wl && strcmp(grp + gl - wl, want) == 0,
            "state's pid %d is in %s, not under a group %s", (int)pid, grp,
            want);
  char p[1200], max[32];
  snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s/pids.max",
           v2 ? (access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0
                     ? "unified"
                     : "")
              : "pids",
           grp);
  oci_slurp(p, max, sizeof(max));
  cr_expect_str_eq(max, "42\n", "%s", p);
  pid_t keeper = keeper_of("rel");
  cgroup_of(keeper, v2 ? "" : "pids", keeper_grp, sizeof(keeper_grp));
  cgroup_of(getpid(), v2 ? "" : "pids", self_grp, sizeof(self_grp));
  cr_expect_str_eq(keeper_grp, self_grp, "the keeper stays in our group");
  cr_expect_neq(keeper, pid);
  must("start", "rel", NULL);
  expect_state("rel", "running", pid);
  must("kill", "rel", "KILL");
  cr_expect_eq(oci_wait_status(pid), 128 + SIGKILL);
  must("delete", "rel", NULL);
}

/* The pid the shim reaps exits with the OCI process's code. */
Test(oci_statepid, subreaper_reaps_the_process_exit_code) {
  write_bundle("exit 23", NULL);
  pid_t pid = create("code");
  must("start", "code", NULL);
  int st = oci_reap(pid);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 23,
            "status 0x%x: exit 23 wanted", st);
  expect_state("code", "stopped", 0);
  run_t r = RUNC("kill", "kill", "code", "TERM");
  cr_expect_neq(r.status, 0, "kill of a stopped container fails");
  cr_expect(strstr(r.err, "not running") != NULL, "%s", r.err);
  must("delete", "code", NULL);
  r = RUNC("state", "state", "code");
  cr_expect_neq(r.status, 0, "state after delete: %s", r.out);
  cr_expect(strstr(r.err, "does not exist") != NULL, "%s", r.err);
}

/* A process killed by a signal: the shim reads 128 + n, as it reports a
 * runc container killed by n; before start, the same. */
Test(oci_statepid, subreaper_reaps_128_plus_the_signal) {
  write_bundle("sleep 60", NULL);
  pid_t pid = create("sig");
  must("start", "sig", NULL);
  expect_state("sig", "running", pid);
  must("kill", "sig", "TERM");
  int st = oci_reap(pid);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM,
            "status 0x%x: exit 143 wanted", st);
  expect_state("sig", "stopped", 0);
  must("delete", "sig", NULL);

  pid = create("early");
  must("kill", "early", "KILL");
  cr_expect_eq(oci_wait_status(pid), 128 + SIGKILL, "killed before start");
  must("delete", "early", NULL);
}

/* delete --force of a running container: its init is gone after, with
 * SIGKILL's status, and nothing of it is left under the root. */
Test(oci_statepid, delete_force_ends_the_init) {
  write_bundle("sleep 60", NULL);
  pid_t pid = create("force");
  must("start", "force", NULL);
  run_t r = RUNC("delete", "delete", "--force", "force");
  cr_assert_eq(r.status, 0, "delete --force: %s", r.err);
  cr_expect_eq(oci_wait_status(pid), 128 + SIGKILL);
  char p[256];
  snprintf(p, sizeof(p), "%s/force", root);
  cr_expect_neq(access(p, F_OK), 0, "%s is removed", p);
}

/* The embedder (a child of the test's) makes an InitSibling container,
 * so its init is the test's child: the test reaps it with the status the
 * embedder queued with HCS_INIT_EXIT_SIGNAL, and libhcs, not its parent,
 * still sees it end (the system reads Stopped). 0, or a step number. */
static int sibling_embedder(const char *vol, int out) {
  char sd[200], cfg[600], rec[300];
  snprintf(sd, sizeof(sd), "%s/hcs-sib", dir);
  hcs_options_t o = {.size = sizeof(o), .state_dir = sd, .threads = 1};
  hcs_t *hcs = NULL;
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\": \"Container\", \"VolumePath\": \"%s\","
           " \"InitSibling\": true}",
           vol);
  if (hcs_open(&hcs, &o, NULL) != HCS_OK ||
      hcs_CreateComputeSystem(hcs, "sib", cfg, NULL) != HCS_OK ||
      hcs_StartComputeSystem(hcs, "sib", NULL) != HCS_OK) {
    return 1;
  }
  snprintf(rec, sizeof(rec), "%s/sib.json", sd);
  json_t *r = json_load_file(rec, 0, NULL);
  json_int_t pid = 0;
  (void)json_unpack(r, "{s:{s:I}}", "Init", "Pid", &pid);
  json_decref(r);
  pid_t p = (pid_t)pid;
  if (pid <= 0 || write(out, &p, sizeof(p)) != (ssize_t)sizeof(p)) {
    return 2;
  }
  union sigval v = {.sival_int = 42};
  if (sigqueue(p, HCS_INIT_EXIT_SIGNAL, v) != 0) {
    return 3;
  }
  int stopped = 0;
  for (int i = 0; i < 100 && !stopped; i++) {
    char *json = NULL;
    if (hcs_InspectComputeSystem(hcs, "sib", &json, NULL) == HCS_OK) {
      stopped = strstr(json, "\"State\": \"Stopped\"") != NULL;
      hcs_free(json);
    }
    oci_nap_ms(stopped ? 0 : 50);
  }
  (void)hcs_DeleteComputeSystem(hcs, "sib", NULL);
  hcs_close(hcs);
  return stopped ? 0 : 4;
}

Test(oci_statepid, libhcs_init_sibling_is_reaped_by_the_embedders_parent) {
  char vol[200];
  snprintf(vol, sizeof(vol), "%s/vol", dir);
  cr_assert_eq(mkdir(vol, 0700), 0);
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  pid_t emb = fork();
  cr_assert_geq(emb, 0);
  if (emb == 0) {
    close(p[0]);
    _exit(sibling_embedder(vol, p[1]));
  }
  close(p[1]);
  pid_t init = 0;
  ssize_t n = read(p[0], &init, sizeof(init));
  close(p[0]);
  if (n != (ssize_t)sizeof(init)) {
    cr_assert_fail("the embedder ended with %d", oci_wait_status(emb));
  }
  int st = oci_reap(init); /* ours: the embedder's sibling */
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 42,
            "status 0x%x: the queued 42 wanted", st);
  cr_expect_eq(oci_wait_status(emb), 0,
               "the embedder's libhcs saw its init end (0), or failed at "
               "that step");
}

/* libhcs refuses a malformed InitSibling, naming it, and one on a system
 * without isolation (it has no init). */
Test(oci_statepid, init_sibling_malformed_is_refused) {
  char sd[200];
  snprintf(sd, sizeof(sd), "%s/hcs", dir);
  hcs_options_t o = {.size = sizeof(o), .state_dir = sd, .threads = 1};
  hcs_t *hcs = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&hcs, &o, &err), HCS_OK, "%s", hcs_error_message(err));
  static const char *const cfgs[] = {
      "{\"SystemType\": \"Container\", \"IsDummy\": true,"
      " \"InitSibling\": \"yes\"}",
      "{\"SystemType\": \"Container\", \"IsDummy\": true,"
      " \"InitSibling\": true}"};
  for (size_t i = 0; i < 2; i++) {
    hcs_result_t r = hcs_CreateComputeSystem(hcs, "sib", cfgs[i], &err);
    cr_expect_eq(r, HCS_WSAEINVAL, "%s: 0x%x", cfgs[i], (unsigned)r);
    const char *m = hcs_error_message(err);
    cr_expect(m != NULL && strstr(m, "InitSibling") != NULL, "%s", m);
    hcs_error_free(err);
    err = NULL;
  }
  cr_expect_eq(hcs_CreateComputeSystem(
                   hcs, "sib",
                   "{\"SystemType\": \"Container\", \"IsDummy\": true,"
                   " \"InitSibling\": false}",
                   &err),
               HCS_OK, "InitSibling false: %s", hcs_error_message(err));
  (void)hcs_DeleteComputeSystem(hcs, "sib", NULL);
  hcs_close(hcs);
}
