/* SPDX-License-Identifier: MIT */
/* hcs-runc honours what config.json says of its process (issue 18, the
 * runtime-tools validation suite in CONFORMANCE.md): each case writes a
 * bundle, runs `hcs-runc create` and `start` as a shim does (the test a
 * child subreaper that waits for the --pid-file's process), and reads
 * what the container's process printed of itself; or checks that create
 * refuses a config, naming the field. The rootfs is the built-in busybox
 * layer, read-only. */
#include "oci_util.h"

#include <jansson.h>

static char dir[128], root[160], bundle[160];

static void setup(void) {
  oci_suite_setup("/tmp/hcs-ocispec-XXXXXX", dir, sizeof(dir), root,
                  sizeof(root), bundle, sizeof(bundle));
}

static void teardown(void) { oci_suite_teardown(dir); }

TestSuite(oci_spec, .init = setup, .fini = teardown, .timeout = 120);

/* hcs-runc --root ROOT ARGS... with stdin /dev/null and stdout, stderr
 * in dir/tag.out, dir/tag.err (a keeper it leaves keeps writing there). */
static run_t runc_v(const char *tag, const char *const *args) {
  const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
  return oci_run_args(dir, pre, args, tag);
}

#define RUNC(tag, ...) runc_v(tag, (const char *const[]){__VA_ARGS__, NULL})

/* config.json: `sh -c script` as uid 0 on the busybox layer, with the
 * mounts of runtime-tools' default config; extra is merged in. */
static void write_bundle(const char *script, const char *extra) {
  const char *rootfs = oci_busybox_rootfs();
  json_error_t jerr;
  json_t *c = json_pack_ex(
      &jerr, 0,
      "{s:s, s:{s:{s:i, s:i}, s:[s,s,s], s:[s], s:s}, s:{s:s, s:b},"
      " s:[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:[s,s]}],"
      " s:{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]}}",
      "ociVersion", "1.0.2", "process", "user", "uid", 0, "gid", 0, "args",
      "sh", "-c", script, "env", "PATH=/bin:/usr/bin", "cwd", "/", "root",
      "path", rootfs, "readonly", 1, "mounts", "destination", "/proc", "type",
      "proc", "source", "proc", "destination", "/dev", "type", "tmpfs",
      "source", "tmpfs", "options", "nosuid", "mode=755", "linux", "namespaces",
      "type", "mount", "type", "network", "type", "uts", "type", "pid", "type",
      "ipc");
  cr_assert_not_null(c, "config: %s", jerr.text);
  if (extra != NULL) {
    json_t *x = json_loads(extra, 0, &jerr);
    cr_assert_not_null(x, "extra: %s", jerr.text);
    json_object_update_recursive(c, x);
    json_decref(x);
  }
  char p[200];
  snprintf(p, sizeof(p), "%s/config.json", bundle);
  cr_assert_eq(json_dump_file(c, p, JSON_INDENT(1)), 0);
  json_decref(c);
}

/* create + start as id, waits for the keeper; its exit status, and what
 * the container printed in *r. */
static int run_bundle(const char *id, run_t *r) {
  return oci_create_start_wait(dir, root, bundle, id, r);
}

static const char status_script[] =
    "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|"
    "NoNewPrivs)' /proc/self/status; umask";

/* runtime-tools' default: Docker's 14 capabilities in all five sets;
 * process_user's uid 10, gid 10, additionalGids [5], umask 002; and
 * noNewPrivileges false (absent). */
Test(oci_spec, capability_sets_user_groups_umask_as_config) {
  write_bundle(status_script,
               "{\"process\": {\"user\": {\"uid\": 10, \"gid\": 10,"
               " \"additionalGids\": [5], \"umask\": 2},"
               " \"capabilities\": {"
               "  \"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\","
               "   \"CAP_NET_BIND_SERVICE\"],"
               "  \"effective\": [\"CAP_CHOWN\", \"CAP_KILL\","
               "   \"CAP_NET_BIND_SERVICE\"],"
               "  \"permitted\": [\"CAP_CHOWN\", \"CAP_KILL\","
               "   \"CAP_NET_BIND_SERVICE\"],"
               "  \"inheritable\": [\"CAP_CHOWN\", \"CAP_KILL\","
               "   \"CAP_NET_BIND_SERVICE\"],"
               "  \"ambient\": [\"CAP_CHOWN\", \"CAP_KILL\","
               "   \"CAP_NET_BIND_SERVICE\"]}}}");
  run_t r;
  cr_assert_eq(run_bundle("caps", &r), 0, "%s%s", r.out, r.err);
  /* CAP_CHOWN 0, CAP_KILL 5, CAP_NET_BIND_SERVICE 10: 0x421. */
  cr_expect_str_eq(r.out, "Uid:\t10\t10\t10\t10\n"
                          "Gid:\t10\t10\t10\t10\n"
                          "Groups:\t5 \n"
                          "CapInh:\t0000000000000421\n"
                          "CapPrm:\t0000000000000421\n"
                          "CapEff:\t0000000000000421\n"
                          "CapBnd:\t0000000000000421\n"
                          "CapAmb:\t0000000000000421\n"
                          "NoNewPrivs:\t0\n"
                          "0002\n");
}

/* As root with noNewPrivileges true and no inheritable or ambient set:
 * what hcs does by default. */
Test(oci_spec, no_new_privileges_true_and_empty_sets) {
  write_bundle(status_script,
               "{\"process\": {\"noNewPrivileges\": true,"
               " \"capabilities\": {"
               "  \"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"],"
               "  \"permitted\": [\"CAP_KILL\"]}}}");
  run_t r;
  cr_assert_eq(run_bundle("nnp", &r), 0, "%s%s", r.out, r.err);
  cr_expect_str_eq(r.out, "Uid:\t0\t0\t0\t0\n"
                          "Gid:\t0\t0\t0\t0\n"
                          "Groups:\t \n"
                          "CapInh:\t0000000000000000\n"
                          "CapPrm:\t0000000000000020\n"
                          "CapEff:\t0000000000000020\n"
                          "CapBnd:\t0000000000000020\n"
                          "CapAmb:\t0000000000000000\n"
                          "NoNewPrivs:\t1\n"
                          "0022\n");
}

/* The kernel raises an ambient capability only if it is inheritable (and
 * permitted): create says so, naming the field, and leaves nothing. */
Test(oci_spec, ambient_outside_inheritable_refused) {
  write_bundle("true", "{\"process\": {\"capabilities\": {"
                       "  \"bounding\": [\"CAP_KILL\"],"
                       "  \"effective\": [\"CAP_KILL\"],"
                       "  \"permitted\": [\"CAP_KILL\"],"
                       "  \"ambient\": [\"CAP_KILL\"]}}}");
  char pidf[200];
  snprintf(pidf, sizeof(pidf), "%s/amb.pid", dir);
  run_t r =
      RUNC("amb", "create", "--bundle", bundle, "--pid-file", pidf, "amb");
  cr_expect_neq(r.status, 0);
  cr_expect(strstr(r.err, "process.capabilities.ambient[0]") != NULL, "%s",
            r.err);
  r = RUNC("state", "state", "amb");
  cr_expect_neq(r.status, 0, "no container is left: %s", r.out);
}

/* The mounts in the order runtime-tools' default config lists them (its
 * runtimetest checks "mounts[i] found in order"): /proc first, then /dev,
 * /dev/pts, /dev/shm, /dev/mqueue (hcs's own), /sys and the cgroup tree
 * the keeper adds. */
Test(oci_spec, mounts_in_the_config_order) {
  write_bundle("cut -d' ' -f5 /proc/self/mountinfo | "
               "grep -E '^/(proc|dev|dev/pts|dev/shm|dev/mqueue|sys|"
               "sys/fs/cgroup)$'",
               "{\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\","
               "  \"source\": \"proc\"},"
               " {\"destination\": \"/dev\", \"type\": \"tmpfs\","
               "  \"source\": \"tmpfs\"},"
               " {\"destination\": \"/dev/pts\", \"type\": \"devpts\","
               "  \"source\": \"devpts\"},"
               " {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\","
               "  \"source\": \"shm\"},"
               " {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\","
               "  \"source\": \"mqueue\", \"options\": [\"nosuid\"]},"
               " {\"destination\": \"/sys\", \"type\": \"sysfs\","
               "  \"source\": \"sysfs\"},"
               " {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\","
               "  \"source\": \"cgroup\"}]}");
  run_t r;
  cr_assert_eq(run_bundle("order", &r), 0, "%s%s", r.out, r.err);
  cr_expect_str_eq(r.out, "/proc\n/dev\n/dev/pts\n/dev/shm\n/dev/mqueue\n"
                          "/sys\n/sys/fs/cgroup\n");
}

/* A hook running the layer's busybox sh: `sh -c script kind`. */
static json_t *hook(const char *path, const char *script, const char *kind) {
  return json_pack("{s:s, s:[s, s, s, s]}", "path", path, "args", "sh", "-c",
                   script, kind);
}

/* All six hooks, in the lifecycle's order, each with the state on its
 * stdin: prestart, createRuntime and poststart, poststop on the host (a
 * log of the test's), createContainer and startContainer in the
 * container (its hostname, its /dev/shm), createContainer's path found on
 * the host and startContainer's in the container. */
Test(oci_spec, hooks_run_in_order_with_the_state) {
  char sh[600], log[200], host_script[400];
  snprintf(sh, sizeof(sh), "%s/bin/sh", oci_busybox_rootfs());
  snprintf(log, sizeof(log), "%s/hooks.log", dir);
  snprintf(host_script, sizeof(host_script), "echo \"$0 $(cat)\" >> %s", log);
  const char *in_ct = "echo \"$0 $(hostname) $(cat)\" >> /dev/shm/hooks";
  write_bundle("cat /dev/shm/hooks", "{\"hostname\": \"hooked\","
                                     " \"annotations\": {\"a\": \"b\"}}");
  char p[200];
  snprintf(p, sizeof(p), "%s/config.json", bundle);
  json_t *c = json_load_file(p, 0, NULL);
  json_t *h =
      json_pack("{s:[o], s:[o], s:[o], s:[o], s:[o], s:[o]}", "prestart",
                hook(sh, host_script, "prestart"), "createRuntime",
                hook(sh, host_script, "createRuntime"), "createContainer",
                hook(sh, in_ct, "createContainer"), "startContainer",
                hook("/bin/sh", in_ct, "startContainer"), "poststart",
                hook(sh, host_script, "poststart"), "poststop",
                hook(sh, host_script, "poststop"));
  json_object_set_new(c, "hooks", h);
  cr_assert_eq(json_dump_file(c, p, 0), 0);
  json_decref(c);

  char pidf[200], buf[32];
  snprintf(pidf, sizeof(pidf), "%s/h.pid", dir);
  run_t r = RUNC("h", "create", "--bundle", bundle, "--pid-file", pidf, "h");
  cr_assert_eq(r.status, 0, "create: %s", r.err);
  oci_slurp(pidf, buf, sizeof(buf));
  pid_t keeper = (pid_t)atoi(buf);
  char text[8192];
  oci_slurp(log, text, sizeof(text));
  char want[1024];
  snprintf(want, sizeof(want),
           "prestart {\"ociVersion\":\"1.0.2\",\"id\":\"h\",\"status\":"
           "\"created\",\"pid\":%d,\"bundle\":\"%s\",\"annotations\":{\"a\":"
           "\"b\"}}\ncreateRuntime {\"ociVersion\":\"1.0.2\",\"id\":\"h\","
           "\"status\":\"created\",\"pid\":%d,\"bundle\":\"%s\","
           "\"annotations\":{\"a\":\"b\"}}\n",
           (int)keeper, bundle, (int)keeper, bundle);
  cr_expect_str_eq(text, want, "create ran the create hooks only");
  run_t s = RUNC("start", "start", "h");
  cr_assert_eq(s.status, 0, "start: %s", s.err);
  oci_slurp(log, text, sizeof(text));
  cr_expect(strstr(text, "\npoststart {") != NULL &&
                strstr(text, "\"status\":\"running\"") != NULL,
            "poststart ran before start returned: %s", text);
  cr_assert_eq(oci_wait_status(keeper), 0);
  snprintf(p, sizeof(p), "%s/h.out", dir);
  oci_slurp(p, r.out, sizeof(r.out));
  cr_expect(strncmp(r.out, "createContainer hooked {", 24) == 0 &&
                strstr(r.out, "\nstartContainer hooked {") != NULL,
            "createContainer, then startContainer, in the container: %s",
            r.out);
  s = RUNC("delete", "delete", "h");
  cr_assert_eq(s.status, 0, "delete: %s", s.err);
  oci_slurp(log, text, sizeof(text));
  cr_expect(strstr(text, "\npoststop {") != NULL &&
                strstr(text, "\"status\":\"stopped\"") != NULL,
            "poststop ran at delete: %s", text);
}

/* A createContainer hook that fails (or outlives its timeout) fails
 * create, naming it, and leaves no container; a poststart hook that fails
 * is a warning in the log, the container runs on. */
Test(oci_spec, failing_hooks) {
  char sh[600];
  snprintf(sh, sizeof(sh), "%s/bin/sh", oci_busybox_rootfs());
  const struct {
    const char *kind, *script;
    int timeout;
    const char *how;
  } cases[] = {{"createContainer", "exit 3", 0, "exit status 3"},
               {"createRuntime", "sleep 30", 1, "timed out after 1 s"}};
  for (size_t i = 0; i < 2; i++) {
    json_t *h = hook(sh, cases[i].script, "x");
    if (cases[i].timeout > 0) {
      json_object_set_new(h, "timeout", json_integer(cases[i].timeout));
    }
    json_t *x = json_pack("{s:{s:[o]}}", "hooks", cases[i].kind, h);
    char *extra = json_dumps(x, 0), want[800], pidf[200];
    json_decref(x);
    snprintf(want, sizeof(want), "hooks.%s[0] (%s): %s", cases[i].kind, sh,
             cases[i].how);
    write_bundle("true", extra);
    free(extra);
    snprintf(pidf, sizeof(pidf), "%s/f.pid", dir);
    run_t r = RUNC("f", "create", "--bundle", bundle, "--pid-file", pidf, "f");
    cr_expect_neq(r.status, 0);
    cr_expect(strstr(r.err, want) != NULL, "%s in %s", want, r.err);
    r = RUNC("state", "state", "f");
    cr_expect_neq(r.status, 0, "no container is left: %s", r.out);
  }
  char extra[700];
  snprintf(extra, sizeof(extra),
           "{\"hooks\": {\"poststart\": [{\"path\": \"%s\", \"args\": [\"sh\","
           " \"-c\", \"exit 4\"]}]}}",
           sh);
  write_bundle("echo ran", extra);
  char logf[200];
  snprintf(logf, sizeof(logf), "%s/log", dir);
  char pidf[200], buf[32];
  snprintf(pidf, sizeof(pidf), "%s/w.pid", dir);
  run_t r = RUNC("w", "--log", logf, "create", "--bundle", bundle, "--pid-file",
                 pidf, "w");
  cr_assert_eq(r.status, 0, "create: %s", r.err);
  oci_slurp(pidf, buf, sizeof(buf));
  run_t s = RUNC("start", "--log", logf, "start", "w");
  cr_expect_eq(s.status, 0, "a failing poststart fails nothing: %s", s.err);
  cr_expect_eq(oci_wait_status((pid_t)atoi(buf)), 0);
  char p[256], text[4096];
  snprintf(p, sizeof(p), "%s/w.out", dir);
  oci_slurp(p, r.out, sizeof(r.out));
  cr_expect_str_eq(r.out, "ran\n");
  oci_slurp(logf, text, sizeof(text));
  cr_expect(strstr(text, "hooks.poststart[0]") != NULL &&
                strstr(text, "exit status 4") != NULL,
            "the warning names the hook: %s", text);
  (void)RUNC("delete", "delete", "w");
}

/* maskedPaths and readonlyPaths beyond hcs's own set: a masked directory
 * is an empty read-only one, a masked file reads and writes as /dev/null,
 * a read-only path refuses writes; a path that is not there is let be. */
Test(oci_spec, masked_and_readonly_paths) {
  write_bundle("ls -A /dev/mqueue | wc -l; touch /dev/mqueue/x 2>/dev/null "
               "|| echo ro-masked; echo x > /dev/full && echo wrote; "
               "touch /dev/shm/x 2>/dev/null || echo ro",
               "{\"linux\": {\"maskedPaths\": [\"/dev/mqueue\", \"/dev/full\","
               " \"/no/such/path\", \"/proc/kcore\"],"
               " \"readonlyPaths\": [\"/dev/shm\", \"/proc/sys\"]}}");
  run_t r;
  cr_assert_eq(run_bundle("mask", &r), 0, "%s%s", r.out, r.err);
  cr_expect_str_eq(r.out, "0\nro-masked\nwrote\nro\n");
}

/* linux.rootfsPropagation on the container's root: shared gives it a peer
 * group; absent, it is private, as hcs makes it; a value the spec does
 * not define is refused by name. */
Test(oci_spec, rootfs_propagation) {
  const char *script = "awk '$5 == \"/\"' /proc/self/mountinfo | "
                       "grep -c ' shared:'";
  write_bundle(script, "{\"linux\": {\"rootfsPropagation\": \"shared\"}}");
  run_t r;
  run_bundle("shared", &r);
  cr_expect_str_eq(r.out, "1\n");
  write_bundle(script, NULL);
  run_bundle("private", &r);
  cr_expect_str_eq(r.out, "0\n");
  write_bundle("true", "{\"linux\": {\"rootfsPropagation\": \"sideways\"}}");
  r = RUNC("bad", "create", "--bundle", bundle, "bad");
  cr_expect_neq(r.status, 0);
  cr_expect(strstr(r.err, "linux.rootfsPropagation") != NULL, "%s", r.err);
}

/* `runc spec`'s cgroup and mqueue mounts, relatime included: made with
 * those options, as mountinfo shows; strictatime there is refused. */
Test(oci_spec, runc_spec_cgroup_and_mqueue_mounts) {
  static const char mounts[] =
      "{\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\","
      " \"source\": \"proc\"}, {\"destination\": \"/dev\", \"type\":"
      " \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\","
      " \"mode=755\"]}, {\"destination\": \"/dev/mqueue\", \"type\":"
      " \"mqueue\", \"source\": \"mqueue\", \"options\": [\"nosuid\","
      " \"noexec\", \"nodev\"]}, {\"destination\": \"/sys/fs/cgroup\","
      " \"type\": \"cgroup\", \"source\": \"cgroup\", \"options\":"
      " [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"%s\"]}]}";
  char extra[1024];
  snprintf(extra, sizeof(extra), mounts, "ro");
  write_bundle("awk '$5 == \"/sys/fs/cgroup\" || $5 == \"/dev/mqueue\""
               " {print $5, $6}' /proc/self/mountinfo",
               extra);
  run_t r;
  cr_assert_eq(run_bundle("cg", &r), 0, "%s", r.err);
  cr_expect(
      strstr(r.out, "/sys/fs/cgroup ro,nosuid,nodev,noexec,relatime") != NULL &&
          strstr(r.out, "/dev/mqueue rw,nosuid,nodev,noexec,relatime") != NULL,
      "%s", r.out);
  snprintf(extra, sizeof(extra), mounts, "strictatime");
  write_bundle("true", extra);
  r = RUNC("bad", "create", "--bundle", bundle, "bad");
  cr_expect_neq(r.status, 0);
  cr_expect(strstr(r.err, "mounts[3].options: \"strictatime\"") != NULL, "%s",
            r.err);
}

/* linux.devices made in the container's /dev with their type, numbers,
 * mode and owner (what replaces a node already there); a type the spec
 * does not define is refused by name. */
Test(oci_spec, devices_made) {
  write_bundle("stat -c '%n %F %t:%T %a %u:%g' /dev/mynull /dev/myfifo "
               "/dev/full",
               "{\"linux\": {\"devices\": ["
               " {\"path\": \"/dev/mynull\", \"type\": \"c\", \"major\": 1,"
               "  \"minor\": 3, \"fileMode\": 416, \"uid\": 5, \"gid\": 7},"
               " {\"path\": \"/dev/myfifo\", \"type\": \"p\"},"
               " {\"path\": \"/dev/full\", \"type\": \"c\", \"major\": 1,"
               "  \"minor\": 5, \"fileMode\": 384}]}}");
  run_t r;
  cr_assert_eq(run_bundle("dev", &r), 0, "%s%s", r.out, r.err);
  cr_expect_str_eq(r.out, "/dev/mynull character special file 1:3 640 5:7\n"
                          "/dev/myfifo fifo 0:0 666 0:0\n"
                          "/dev/full character special file 1:5 600 0:0\n");
  write_bundle("true", "{\"linux\": {\"devices\": [{\"path\": \"/dev/x\","
                       " \"type\": \"q\"}]}}");
  r = RUNC("bad", "create", "--bundle", bundle, "bad");
  cr_expect_neq(r.status, 0);
  cr_expect(strstr(r.err, "linux.devices[0].type") != NULL, "%s", r.err);
}

/* RLIMIT_AS among process.rlimits (runtime-tools' process_rlimits sets
 * it): applied as the others are. */
Test(oci_spec, rlimit_as) {
  write_bundle("ulimit -H -v; ulimit -S -v",
               "{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_AS\","
               " \"hard\": 2147483648, \"soft\": 1073741824}]}}");
  run_t r;
  cr_assert_eq(run_bundle("as", &r), 0, "%s%s", r.out, r.err);
  cr_expect_str_eq(r.out, "2097152\n1048576\n");
}

/* The pids.max of group path, v1 or v2; "" when there is none. */
static void pids_max_of(const char *path, char *buf, size_t n) {
  char p[512];
  snprintf(p, sizeof(p), "/sys/fs/cgroup/pids%s/pids.max", path);
  oci_slurp(p, buf, n);
  if (buf[0] == '\0') {
    snprintf(p, sizeof(p), "/sys/fs/cgroup%s/pids.max", path);
    oci_slurp(p, buf, n);
  }
}

/* linux.cgroupsPath is where the container's group is, under each
 * hierarchy's root, with its limits; it is gone after delete. A systemd
 * slice (without --systemd-cgroup) is refused by name. */
Test(oci_spec, cgroups_path) {
  char path[128], extra[512], max[32];
  snprintf(path, sizeof(path), "/hcs-ocispec-cg/%s", strrchr(dir, '-') + 1);
  snprintf(extra, sizeof(extra),
           "{\"linux\": {\"cgroupsPath\": \"%s\","
           " \"resources\": {\"pids\": {\"limit\": 77}}}}",
           path);
  write_bundle("cat /proc/self/cgroup | grep -c pids", extra);
  char pidf[200], buf[32];
  snprintf(pidf, sizeof(pidf), "%s/cg.pid", dir);
  run_t r = RUNC("cg", "create", "--bundle", bundle, "--pid-file", pidf, "cg");
  cr_assert_eq(r.status, 0, "create: %s", r.err);
  pids_max_of(path, max, sizeof(max));
  cr_expect_str_eq(max, "77\n", "%s/pids.max", path);
  r = RUNC("start", "start", "cg");
  cr_assert_eq(r.status, 0, "start: %s", r.err);
  oci_slurp(pidf, buf, sizeof(buf));
  cr_expect_eq(oci_wait_status((pid_t)atoi(buf)), 0);
  r = RUNC("delete", "delete", "cg");
  cr_expect_eq(r.status, 0, "delete: %s", r.err);
  pids_max_of(path, max, sizeof(max));
  cr_expect_str_eq(max, "", "the group is gone with the container");
  static const char *const tops[] = {"pids",    "memory",  "cpu,cpuacct",
                                     "cpuset",  "devices", "freezer",
                                     "unified", ""};
  for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
    char p[256];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/hcs-ocispec-cg", tops[i]);
    (void)rmdir(p);
  }
  write_bundle("true", "{\"linux\": {\"cgroupsPath\": \"system.slice:x:y\"}}");
  r = RUNC("bad", "create", "--bundle", bundle, "bad");
  cr_expect_neq(r.status, 0);
  cr_expect(strstr(r.err, "linux.cgroupsPath") != NULL, "%s", r.err);
}

/* extra (n bytes): mounts of /proc and of host directory mx bound on
 * /mnt with options (JSON strings after rbind). */
static void bind_bundle(char *extra, size_t n, const char *mx,
                        const char *options) {
  snprintf(extra, n,
           "{\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\","
           "  \"source\": \"proc\"},"
           " {\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": "
           "\"%s\", \"options\": [\"rbind\", %s]}]}",
           mx, options);
}

/* A bind's options (issue: runtime-tools' mounts): nosuid, nodev, noexec
 * and ro on the bind (a program there cannot be run), rshared its
 * propagation, as mountinfo shows; an option hcs does not take is refused
 * by name at create. */
Test(oci_spec, bind_options) {
  char mx[200], prog[220], extra[600];
  snprintf(mx, sizeof(mx), "%s/mx", dir);
  cr_assert_eq(mkdir(mx, 0755), 0);
  snprintf(prog, sizeof(prog), "%s/run", mx);
  FILE *f = fopen(prog, "we");
  cr_assert_not_null(f);
  fputs("#!/bin/sh\necho ran\n", f);
  fclose(f);
  cr_assert_eq(chmod(prog, 0755), 0);
  bind_bundle(extra, sizeof(extra), mx,
              "\"nosuid\", \"nodev\", \"noexec\", \"ro\", \"rshared\"");
  write_bundle("/mnt/run 2>&1; echo $?; "
               "awk '$5 == \"/mnt\" {print $6, $7}' /proc/self/mountinfo",
               extra);
  run_t r;
  cr_assert_eq(run_bundle("bindopts", &r), 0, "%s%s", r.out, r.err);
  cr_expect(strstr(r.out, "sh: /mnt/run: Permission denied\n126\n"
                          "ro,nosuid,nodev,noexec,relatime shared:") == r.out,
            "%s", r.out);
  bind_bundle(extra, sizeof(extra), mx, "\"nosuid\", \"mand\"");
  write_bundle("true", extra);
  r = RUNC("bad", "create", "--bundle", bundle, "bad");
  cr_expect_neq(r.status, 0);
  cr_expect(strstr(r.err, "\"mand\"") != NULL, "%s", r.err);
}

/* The cpu files of group path: "shares quota period" (v1) or "weight
 * max" (v2), newline-free. */
static void cpu_of(const char *path, char *out, size_t n) {
  static const char *const v1[] = {"cpu.shares", "cpu.cfs_quota_us",
                                   "cpu.cfs_period_us"};
  static const char *const v2[] = {"cpu.weight", "cpu.max"};
  char p[256], one[64];
  snprintf(p, sizeof(p), "/sys/fs/cgroup/cpu%s/cpu.shares", path);
  bool is_v1 = access(p, F_OK) == 0;
  out[0] = '\0';
  for (size_t i = 0; i < (is_v1 ? 3u : 2u); i++) {
    snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s/%s", is_v1 ? "cpu" : "", path,
             is_v1 ? v1[i] : v2[i]);
    oci_slurp(p, one, sizeof(one));
    one[strcspn(one, "\n")] = '\0';
    size_t used = strlen(out);
    snprintf(out + used, n - used, "%s%s", i ? " " : "", one);
  }
}

/* linux.resources.cpu shares, quota and period in the cgroup as given
 * (runc's conversion to a weight on v2), and quota changed by `update`,
 * the period kept (runtime-tools' linux_cgroups_cpus). */
Test(oci_spec, cpu_values_exact) {
  char path[128], extra[512], got[128], file[200];
  snprintf(path, sizeof(path), "/hcs-ocispec-cpu/%s", strrchr(dir, '-') + 1);
  snprintf(extra, sizeof(extra),
           "{\"linux\": {\"cgroupsPath\": \"%s\", \"resources\": {\"cpu\": "
           "{\"shares\": 2048, \"quota\": 50000, \"period\": 500000}}}}",
           path);
  write_bundle("true", extra);
  run_t r = RUNC("cpu", "create", "--bundle", bundle, "cpu");
  cr_assert_eq(r.status, 0, "create: %s", r.err);
  cpu_of(path, got, sizeof(got));
  snprintf(extra, sizeof(extra), "/sys/fs/cgroup/cpu%s/cpu.shares", path);
  bool is_v1 = access(extra, F_OK) == 0;
  cr_expect_str_eq(got, is_v1 ? "2048 50000 500000" : "79 50000 500000");
  snprintf(file, sizeof(file), "%s/res.json", dir);
  FILE *f = fopen(file, "we");
  cr_assert_not_null(f);
  fputs("{\"cpu\": {\"quota\": 30000}}", f);
  fclose(f);
  r = RUNC("update", "update", "--resources", file, "cpu");
  cr_expect_eq(r.status, 0, "update: %s", r.err);
  cpu_of(path, got, sizeof(got));
  cr_expect_str_eq(got, is_v1 ? "2048 30000 500000" : "79 30000 500000");
  r = RUNC("delete", "delete", "--force", "cpu");
  cr_expect_eq(r.status, 0, "delete: %s", r.err);
  static const char *const tops[] = {"pids",    "memory",  "cpu",
                                     "cpuacct", "cpuset",  "devices",
                                     "freezer", "unified", ""};
  for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
    snprintf(file, sizeof(file), "/sys/fs/cgroup/%s/hcs-ocispec-cpu", tops[i]);
    (void)rmdir(file);
  }
}
