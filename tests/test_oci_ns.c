/* SPDX-License-Identifier: MIT */
/* hcs-runc and linux.namespaces (the runtime-tools programs linux_ns_path
 * and linux_ns_itype in CONFORMANCE.md): a namespace given a path is
 * joined, one left out is the host's, and what hcs cannot do is refused
 * naming the field. Each case writes a bundle, runs create and start as
 * a shim does and reads what the container printed of itself. */
#include "ns_hold.h"
#include "oci_util.h"

#include <jansson.h>

static char dir[128], root[160], bundle[160];

static void setup(void) {
  oci_suite_setup("/tmp/hcs-ocins-XXXXXX", dir, sizeof(dir), root, sizeof(root),
                  bundle, sizeof(bundle));
}

static void teardown(void) { oci_suite_teardown(dir); }

TestSuite(oci_ns, .init = setup, .fini = teardown, .timeout = 120);

/* config.json: `sh -c script` on the busybox layer with /proc, and
 * linux.namespaces as given (JSON text). */
static void write_bundle(const char *script, const char *namespaces) {
  json_error_t jerr;
  json_t *ns = json_loads(namespaces, 0, &jerr);
  cr_assert_not_null(ns, "namespaces: %s", jerr.text);
  json_t *c = json_pack_ex(
      &jerr, 0,
      "{s:s, s:{s:{s:i, s:i}, s:[s,s,s], s:[s], s:s}, s:{s:s, s:b},"
      " s:[{s:s, s:s, s:s}], s:{s:o}}",
      "ociVersion", "1.0.2", "process", "user", "uid", 0, "gid", 0, "args",
      "sh", "-c", script, "env", "PATH=/bin:/usr/bin", "cwd", "/", "root",
      "path", oci_busybox_rootfs(), "readonly", 1, "mounts", "destination",
      "/proc", "type", "proc", "source", "proc", "linux", "namespaces", ns);
  cr_assert_not_null(c, "config: %s", jerr.text);
  oci_write_config(bundle, c, NULL);
}

static const char *create_fails(const char *id, run_t *r) {
  const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
  const char *const args[] = {"create", "--bundle", bundle, id, NULL};
  *r = oci_run_args(dir, pre, args, id);
  cr_expect_neq(r->status, 0, "create of %s succeeded", id);
  return r->err;
}

/* network, ipc, uts, mount and pid given paths of a process the test
 * holds (pid's its pid_for_children): the container's process is in
 * each, and the hostname of the config names the joined uts namespace. */
Test(oci_ns, joined_by_path) {
  pid_t m;
  pid_t held = ns_hold(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                           CLONE_NEWNS | CLONE_NEWPID,
                       &m);
  char nss[1024];
  snprintf(nss, sizeof(nss),
           "[{\"type\": \"network\", \"path\": \"/proc/%d/ns/net\"},"
           " {\"type\": \"ipc\", \"path\": \"/proc/%d/ns/ipc\"},"
           " {\"type\": \"uts\", \"path\": \"/proc/%d/ns/uts\"},"
           " {\"type\": \"mount\", \"path\": \"/proc/%d/ns/mnt\"},"
           " {\"type\": \"pid\", \"path\": \"/proc/%d/ns/pid_for_children\"}]",
           held, held, held, held, held);
  write_bundle("for n in net ipc uts mnt pid; do readlink /proc/self/ns/$n;"
               " done; hostname",
               nss);
  char want[512] = "";
  ns_links(held, "net ipc uts mnt", want, sizeof(want));
  ns_links(m, "pid", want, sizeof(want));
  strcat(want, "held\n");
  run_t r;
  cr_expect_eq(oci_create_start_wait(dir, root, bundle, "joined", &r), 0, "%s",
               r.err);
  cr_expect_str_eq(r.out, want);
  cr_expect_eq(kill(m, 0), 0, "the joined pid namespace's pid 1 died");
  ns_unhold(held, m);
}

/* pid, ipc and uts left out: the host's, as linux_ns_itype checks them;
 * the container sees the host's processes and host name. */
Test(oci_ns, left_out_are_the_hosts) {
  char script[256];
  snprintf(script, sizeof(script),
           "for n in pid ipc uts; do readlink /proc/self/ns/$n; done;"
           " hostname; test -d /proc/%d && echo sees-the-test",
           (int)getpid());
  write_bundle(script, "[{\"type\": \"mount\"}, {\"type\": \"network\"}]");
  char want[512] = "", host[128];
  ns_links(getpid(), "pid ipc uts", want, sizeof(want));
  cr_assert_eq(gethostname(host, sizeof(host)), 0);
  strcat(want, host);
  strcat(want, "\nsees-the-test\n");
  run_t r;
  cr_expect_eq(oci_create_start_wait(dir, root, bundle, "host", &r), 0, "%s",
               r.err);
  cr_expect_str_eq(r.out, want);
}

/* A user namespace with linux.uidMappings and gidMappings (as
 * linux_uid_mappings has them): the process is its root, host uid 1000
 * as the host sees it, and /dev/null works (bound from the host's). */
Test(oci_ns, user_namespace_with_maps) {
  write_bundle("cat /proc/self/uid_map /proc/self/gid_map; id -u; "
               "grep '^Uid' /proc/self/status; echo x > /dev/null && echo ok",
               "[{\"type\": \"mount\"}, {\"type\": \"network\"},"
               " {\"type\": \"pid\"}, {\"type\": \"ipc\"},"
               " {\"type\": \"uts\"}, {\"type\": \"user\"}]");
  char p[200];
  snprintf(p, sizeof(p), "%s/config.json", bundle);
  json_t *c = json_load_file(p, 0, NULL);
  cr_assert_not_null(c);
  oci_write_config(bundle, c,
                   "{\"linux\": {\"uidMappings\": [{\"containerID\": 0,"
                   " \"hostID\": 1000, \"size\": 2000}], \"gidMappings\":"
                   " [{\"containerID\": 0, \"hostID\": 1000, \"size\":"
                   " 3000}]}}");
  run_t r;
  cr_expect_eq(oci_create_start_wait(dir, root, bundle, "userns", &r), 0, "%s",
               r.err);
  cr_expect_str_eq(r.out, "         0       1000       2000\n"
                          "         0       1000       3000\n"
                          "0\nUid:\t0\t0\t0\t0\nok\n");
}

Test(oci_ns, refused_by_name) {
  run_t r;
  write_bundle("true", "[{\"type\": \"mount\"}, {\"type\": \"mount\"}]");
  const char *e = create_fails("twice", &r);
  cr_expect(strstr(e, "linux.namespaces[1].type: \"mount\" is given twice") !=
                NULL,
            "%s", e);
  write_bundle("true", "[{\"type\": \"mount\"}, {\"type\": \"user\"}]");
  e = create_fails("user", &r);
  cr_expect(strstr(e, "linux.uidMappings: a new user namespace needs it") !=
                NULL,
            "%s", e);
  write_bundle("true", "[{\"type\": \"mount\"}, {\"type\": \"ipc\","
                       " \"path\": \"/proc/self/ns/net\"}]");
  e = create_fails("notipc", &r);
  cr_expect(strstr(e, "ipc namespace") != NULL, "%s", e);
}
