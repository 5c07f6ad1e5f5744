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
  oci_suite_setup("/tmp/hcs-ocitype-XXXXXX", dir, sizeof(dir), root,
                  sizeof(root), bundle, sizeof(bundle));
}

static void teardown(void) { oci_suite_teardown(dir); }

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

/* Whether a mount of the test's mount namespace lies under dir (the
 * container's root and what is mounted under it). */
static bool mounts_under(const char *d) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  cr_assert_not_null(f);
  char line[4096];
  bool found = false;
  while (!found && fgets(line, sizeof(line), f) != NULL) {
    found = strstr(line, d) != NULL;
  }
  fclose(f);
  return found;
}

static run_t runc(const char *tag, const char *const *args) {
  const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
  return oci_run_args(dir, pre, args, tag);
}

/* linux_ns_itype's config (every namespace left out, no hostname) with
 * `sleep 1000`, created as id: state.pid (init). */
static pid_t create_sleeper(const char *id) {
  write_bundle("sleep 1000", "[]", "ro");
  char pidf[200], buf[32];
  snprintf(pidf, sizeof(pidf), "%s/%s.pid", dir, id);
  const char *const create[] = {"create", "--bundle", bundle, "--pid-file",
                                pidf,     id,         NULL};
  run_t r = runc("create", create);
  cr_assert_eq(r.status, 0, "create: %s", r.err);
  oci_slurp(pidf, buf, sizeof(buf));
  pid_t init = (pid_t)atoi(buf);
  cr_assert_gt(init, 0);
  return init;
}

/* linux_ns_itype's config: every namespace left out, no hostname. The
 * container's process is in the test's mount namespace too, in its own
 * root (a chroot) with its /proc (the host's processes: the pid
 * namespace is the host's), Docker's masked and read-only paths and the
 * cgroup tree of its own groups; an exec'd process is in that root; and
 * once the container is deleted nothing of it stays mounted here. */
Test(oci_itype, host_mount_namespace_is_a_chroot) {
  pid_t init = create_sleeper("all");
  const char *const start[] = {"start", "all", NULL};
  run_t r = runc("start", start);
  cr_assert_eq(r.status, 0, "start: %s", r.err);
  char want[1024] = "", got[1024] = "";
  ns_links(getpid(), "mnt cgroup pid ipc uts net", want, sizeof(want));
  ns_links(init, "mnt cgroup pid ipc uts net", got, sizeof(got));
  cr_expect_str_eq(got, want, "state.pid's namespaces");

  char proc[200];
  snprintf(proc, sizeof(proc), "%s/process.json", dir);
  char script[1024];
  snprintf(script, sizeof(script),
           "{\"args\":[\"sh\",\"-c\",\"readlink /proc/self/ns/mnt;"
           " test -x /bin/busybox && echo busybox-root;"
           " test -e %s || echo not-the-hosts;"
           " test -d /proc/%d && echo host-procs;"
           " test -c /proc/keys && echo keys-masked;"
           " grep -q ' /proc/sys ro,' /proc/self/mountinfo && echo sys-ro;"
           " grep -qx $$ /sys/fs/cgroup/memory/cgroup.procs && echo own-group;"
           " pwd\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/etc\"}",
           dir, (int)getpid());
  oci_write_file(proc, script);
  const char *const exec[] = {"exec", "--process", proc, "all", NULL};
  r = runc("exec", exec);
  cr_expect_eq(r.status, 0, "exec: %s", r.err);
  char mnt[128] = "";
  ns_links(getpid(), "mnt", mnt, sizeof(mnt));
  char expect[1024];
  snprintf(expect, sizeof(expect),
           "%sbusybox-root\nnot-the-hosts\nhost-procs\nkeys-masked\n"
           "sys-ro\nown-group\n/etc\n",
           mnt);
  cr_expect_str_eq(r.out, expect);
  cr_expect(mounts_under(dir), "the root is mounted in the test's namespace");

  const char *const del[] = {"delete", "--force", "all", NULL};
  r = runc("delete", del);
  cr_expect_eq(r.status, 0, "delete: %s", r.err);
  cr_expect_eq(oci_wait_status(init), 128 + SIGKILL);
  cr_expect(!mounts_under(dir), "mounts left under %s", dir);
}

/* The same after the keeper is killed: delete still ends init and
 * leaves nothing mounted. */
Test(oci_itype, host_mount_namespace_delete_after_a_keeper_crash) {
  pid_t init = create_sleeper("crash");
  run_t r;
  /* InitSibling: init's parent is the keeper's parent; the keeper is the
   * one child of ours named hcs-runc that is not init. */
  pid_t keeper = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d != NULL && keeper == 0 && (e = readdir(d)) != NULL) {
    char p[300], st[512];
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0 || pid == init) {
      continue;
    }
    snprintf(p, sizeof(p), "/proc/%s/stat", e->d_name);
    oci_slurp(p, st, sizeof(st));
    const char *end = strrchr(st, ')');
    int ppid = 0;
    if (end != NULL && sscanf(end + 4, "%d", &ppid) == 1 && ppid == getpid() &&
        strstr(st, "(hcs-runc)") != NULL) {
      keeper = pid;
    }
  }
  if (d != NULL) {
    closedir(d);
  }
  cr_assert_gt(keeper, 0, "the keeper");
  cr_assert_eq(kill(keeper, SIGKILL), 0);
  cr_expect_eq(oci_wait_status(keeper), 128 + SIGKILL);
  cr_expect(mounts_under(dir), "the root is mounted in the test's namespace");
  const char *const del[] = {"delete", "--force", "crash", NULL};
  r = runc("delete", del);
  cr_expect_eq(r.status, 0, "delete: %s", r.err);
  (void)oci_wait_status(init);
  cr_expect(!mounts_under(dir), "mounts left under %s", dir);
}

/* createContainer and startContainer hooks run in the container's root,
 * a chroot in the host's mount namespace too: each fails unless the
 * busybox layer is its root and this test's directory is out of sight. */
Test(oci_itype, host_mount_namespace_hooks_run_in_the_root) {
  write_bundle("true", "[]", "ro");
  char p[200], sh[600], script[400];
  snprintf(p, sizeof(p), "%s/config.json", bundle);
  snprintf(sh, sizeof(sh), "%s/bin/sh", oci_busybox_rootfs());
  snprintf(script, sizeof(script),
           "cat > /dev/null; test -x /bin/busybox && test ! -e %s", dir);
  json_t *c = json_load_file(p, 0, NULL);
  cr_assert_not_null(c);
  json_object_set_new(c, "hooks",
                      json_pack("{s:[{s:s, s:[s,s,s]}], s:[{s:s, s:[s,s,s]}]}",
                                "createContainer", "path", sh, "args", "sh",
                                "-c", script, "startContainer", "path",
                                "/bin/sh", "args", "sh", "-c", script));
  cr_assert_eq(json_dump_file(c, p, 0), 0);
  json_decref(c);
  char pidf[200], buf[32];
  snprintf(pidf, sizeof(pidf), "%s/hooks.pid", dir);
  const char *const create[] = {"create", "--bundle", bundle, "--pid-file",
                                pidf,     "hooks",    NULL};
  run_t r = runc("create", create);
  cr_assert_eq(r.status, 0, "create (createContainer at the root): %s", r.err);
  oci_slurp(pidf, buf, sizeof(buf));
  pid_t init = (pid_t)atoi(buf);
  const char *const start[] = {"start", "hooks", NULL};
  r = runc("start", start);
  cr_expect_eq(r.status, 0, "start (startContainer at the root): %s", r.err);
  cr_expect_eq(oci_wait_status(init), 0);
  const char *const del[] = {"delete", "--force", "hooks", NULL};
  r = runc("delete", del);
  cr_expect_eq(r.status, 0, "delete: %s", r.err);
  cr_expect(!mounts_under(dir), "mounts left under %s", dir);
}
