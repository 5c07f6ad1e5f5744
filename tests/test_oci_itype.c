/* SPDX-License-Identifier: MIT */
/* hcs-runc and runtime-tools' linux_ns_itype: a namespace type left out
 * of linux.namespaces is the host's, the cgroup one included. With the
 * host's cgroup namespace, the cgroup tree a config mounts at
 * /sys/fs/cgroup (as Docker 20.10 asks on a v1 host, without a cgroup
 * namespace) is the container's own groups, never the host's whole
 * tree. Each case writes a bundle, runs create and start as a shim does
 * and reads what the container printed of itself. */
#include "ns_hold.h"
#include "oci_util.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static char dir[128], root[160], bundle[160];

static void setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("hcs-runc makes containers: root only");
  }
  snprintf(dir, sizeof(dir), "/tmp/hcs-ocitype-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(root, sizeof(root), "%s/root", dir);
  snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
  cr_assert_eq(mkdir(bundle, 0700), 0);
  cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

static void teardown(void) {
  if (dir[0] != '\0') {
    oci_rm_tree(dir);
  }
}

TestSuite(oci_itype, .init = setup, .fini = teardown, .timeout = 120);

/* config.json: `sh -c script` on the busybox layer with /proc and the
 * cgroup tree mounted as Docker asks (cgroup_opt: its option, "ro" or
 * "rw"), and linux.namespaces as given (JSON text). */
static void write_bundle(const char *script, const char *namespaces,
                         const char *cgroup_opt) {
  json_error_t jerr;
  json_t *ns = json_loads(namespaces, 0, &jerr);
  cr_assert_not_null(ns, "namespaces: %s", jerr.text);
  json_t *c = json_pack_ex(
      &jerr, 0,
      "{s:s, s:{s:{s:i, s:i}, s:[s,s,s], s:[s], s:s}, s:{s:s, s:b},"
      " s:[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:[s,s,s,s,s]}], s:{s:o}}",
      "ociVersion", "1.0.2", "process", "user", "uid", 0, "gid", 0, "args",
      "sh", "-c", script, "env", "PATH=/bin:/usr/bin", "cwd", "/", "root",
      "path", oci_busybox_rootfs(), "readonly", 1, "mounts", "destination",
      "/proc", "type", "proc", "source", "proc", "destination",
      "/sys/fs/cgroup", "type", "cgroup", "source", "cgroup", "options",
      "nosuid", "noexec", "nodev", "relatime", cgroup_opt, "linux",
      "namespaces", ns);
  cr_assert_not_null(c, "config: %s", jerr.text);
  oci_write_config(bundle, c, NULL);
}

/* What each hierarchy under /sys/fs/cgroup shows, one line each: its
 * name, "own" when the container's shell is a member of its top, and the
 * count of groups under it; then "ro" when no group can be made. */
static const char cg_script[] =
    "for n in cgroup pid ipc uts net; do readlink /proc/self/ns/$n; done;"
    " for h in /sys/fs/cgroup/*; do test -e $h/cgroup.procs || continue;"
    " grep -qx $$ $h/cgroup.procs && o=own || o=not-own;"
    " echo ${h##*/} $o $(find $h -mindepth 1 -type d | wc -l); done;"
    " mkdir /sys/fs/cgroup/memory/x 2>/dev/null &&"
    " rmdir /sys/fs/cgroup/memory/x || echo ro";

/* The hierarchy lines of out (from cg_script): each is the container's
 * own group, a leaf (where the host's whole tree has the container's
 * group under its top), and those of the hierarchies a system always
 * joins are there (devices, freezer, memory on v1; the one on v2). */
static void expect_own_groups(const char *out) {
  bool v2 = access("/sys/fs/cgroup/cgroup.procs", F_OK) == 0;
  size_t lines = 0;
  char copy[4096];
  snprintf(copy, sizeof(copy), "%s", out);
  for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l != NULL;
       l = strtok_r(NULL, "\n", &save)) {
    const char *sp = strchr(l, ' ');
    if (sp == NULL || strchr(l, ':') != NULL) {
      continue; /* a namespace link */
    }
    lines++;
    cr_expect_str_eq(sp, " own 0", "%s", out);
  }
  if (v2) {
    cr_expect_eq(lines, 0, "%s", out); /* its group has none under it */
  } else {
    cr_expect(strstr(out, "\ndevices own 0\n") != NULL &&
                  strstr(out, "\nfreezer own 0\n") != NULL &&
                  strstr(out, "\nmemory own 0\n") != NULL,
              "%s", out);
  }
}

/* Only the mount namespace given, as linux_ns_itype has it save for the
 * mount one: cgroup, pid, ipc, uts and network are the test's (the
 * host's), and /sys/fs/cgroup holds the container's own group in each
 * hierarchy (its shell a member, no group under it) where the host's
 * whole tree has the container's group under its top. */
Test(oci_itype, left_out_are_the_hosts_cgroup_too) {
  write_bundle(cg_script, "[{\"type\": \"mount\"}]", "ro");
  char want[1024] = "";
  ns_links(getpid(), "cgroup pid ipc uts net", want, sizeof(want));
  run_t r;
  cr_expect_eq(oci_create_start_wait(dir, root, bundle, "cg", &r), 0, "%s",
               r.err);
  cr_expect(strncmp(r.out, want, strlen(want)) == 0, "want %s, got %s", want,
            r.out);
  expect_own_groups(r.out);
  cr_expect(strstr(r.out, "\nro\n") != NULL, "%s", r.out);
}

/* The same with a cgroup namespace asked for: a new one (not the
 * test's), and the tree it shows is the container's group still, now
 * mounted writable. */
Test(oci_itype, new_cgroup_namespace_shows_its_group) {
  write_bundle(cg_script, "[{\"type\": \"mount\"}, {\"type\": \"cgroup\"}]",
               "rw");
  char mine[1024] = "";
  ns_links(getpid(), "cgroup", mine, sizeof(mine));
  run_t r;
  cr_expect_eq(oci_create_start_wait(dir, root, bundle, "cgnew", &r), 0, "%s",
               r.err);
  cr_expect(strncmp(r.out, mine, strlen(mine)) != 0, "the test's: %s", r.out);
  expect_own_groups(r.out);
  cr_expect(strstr(r.out, "\nro\n") == NULL, "%s", r.out);
}
