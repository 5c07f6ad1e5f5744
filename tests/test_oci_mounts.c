/* SPDX-License-Identifier: MIT */
/* hcs-runc makes a config's mounts as runc does (runtime-tools' `mounts`
 * program, CONFORMANCE.md): hcs's own mounts first, then the binds and
 * tmpfs in the order the config lists them, whatever their depth, as
 * the container's /proc/self/mountinfo shows; a bind's data options
 * (mode=, size=) handed to the kernel with the bind, which reads none of
 * them; a bind under /dev on top of hcs's /dev. Each case writes a
 * bundle on the busybox layer (read-only, every mount point under a tmpfs
 * of the config's, so that the shared layer is never written), runs
 * `hcs-runc create` and `start` as a shim does, and reads what the
 * container printed. */
#include "oci_util.h"

#include <jansson.h>
#include <sys/mount.h>

static char dir[128], root[160], bundle[160], host[160];

static void setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("hcs-runc makes containers: root only");
  }
  snprintf(dir, sizeof(dir), "/tmp/hcs-ocimnt-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(root, sizeof(root), "%s/root", dir);
  snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
  snprintf(host, sizeof(host), "%s/host", dir);
  cr_assert_eq(mkdir(bundle, 0700), 0);
  cr_assert_eq(mkdir(host, 0755), 0);
  cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

static void teardown(void) {
  if (dir[0] != '\0') {
    oci_rm_tree(dir);
  }
}

TestSuite(oci_mounts, .init = setup, .fini = teardown, .timeout = 120);

static run_t hcs_runc(const char *tag, const char *const *args) {
  const char *const pre[] = {HCS_RUNC_BIN, "--root", root, NULL};
  return oci_run_args(dir, pre, args, tag);
}

#define HCS_RUNC(tag, ...)                                                     \
  hcs_runc(tag, (const char *const[]){__VA_ARGS__, NULL})

/* The system mounts as runtime-tools' default config lists them. */
static const char system_mounts[] =
    "[{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
    " {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
    "  \"options\": [\"nosuid\", \"strictatime\", \"mode=755\","
    "   \"size=65536k\"]},"
    " {\"destination\": \"/dev/pts\", \"type\": \"devpts\","
    "  \"source\": \"devpts\"},"
    " {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\","
    "  \"source\": \"shm\"},"
    " {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\","
    "  \"source\": \"mqueue\"},"
    " {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\","
    "  \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]}]";

/* config.json: `sh -c script` as root on the busybox layer (read-only),
 * its mounts first (a JSON array, or NULL for none) then mounts (a JSON
 * array). */
static void write_bundle(const char *script, const char *first,
                         const char *mounts) {
  json_error_t jerr;
  json_t *all = json_array();
  const char *const parts[] = {first, mounts};
  for (size_t i = 0; i < 2; i++) {
    json_t *a = parts[i] != NULL ? json_loads(parts[i], 0, &jerr) : NULL;
    cr_assert(parts[i] == NULL || a != NULL, "mounts: %s", jerr.text);
    json_array_extend(all, a);
    json_decref(a);
  }
  json_t *c = json_pack_ex(
      &jerr, 0,
      "{s:s, s:{s:{s:i, s:i}, s:[s,s,s], s:[s], s:s}, s:{s:s, s:b}, s:o,"
      " s:{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]}}",
      "ociVersion", "1.0.2", "process", "user", "uid", 0, "gid", 0, "args",
      "sh", "-c", script, "env", "PATH=/bin:/usr/bin", "cwd", "/", "root",
      "path", oci_busybox_rootfs(), "readonly", 1, "mounts", all, "linux",
      "namespaces", "type", "mount", "type", "network", "type", "uts", "type",
      "pid", "type", "ipc");
  cr_assert_not_null(c, "config: %s", jerr.text);
  char p[200];
  snprintf(p, sizeof(p), "%s/config.json", bundle);
  cr_assert_eq(json_dump_file(c, p, JSON_INDENT(1)), 0);
  json_decref(c);
}

/* A file name in the host directory, with text. */
static void host_file(const char *name, const char *text) {
  char p[256];
  snprintf(p, sizeof(p), "%s/%s", host, name);
  oci_write_file(p, text);
}

/* Binds and tmpfs interleaved, a deeper one before a shallower one: made
 * in the config's order after hcs's own, so the bind on /tmp/x covers the
 * tmpfs made at /tmp/x/y/z before it (as with runc), and a bind under
 * /dev lands on hcs's /dev. */
Test(oci_mounts, binds_and_tmpfs_in_the_config_order) {
  host_file("mark", "from the host\n");
  char devsrc[200], mounts[1024];
  snprintf(devsrc, sizeof(devsrc), "%s/mark", host);
  snprintf(mounts, sizeof(mounts),
           "[{\"destination\": \"/tmp\", \"type\": \"tmpfs\","
           "  \"source\": \"tmpfs\"},"
           " {\"destination\": \"/tmp/x/y/z\", \"type\": \"tmpfs\","
           "  \"source\": \"tmpfs\"},"
           " {\"destination\": \"/tmp/x\", \"source\": \"%s\","
           "  \"options\": [\"rbind\"]},"
           " {\"destination\": \"/tmp/w\", \"type\": \"tmpfs\","
           "  \"source\": \"tmpfs\"},"
           " {\"destination\": \"/dev/foo\", \"type\": \"bind\","
           "  \"source\": \"%s\", \"options\": [\"bind\", \"ro\"]},"
           " {\"destination\": \"/tmp/v\", \"source\": \"%s\","
           "  \"options\": [\"bind\"]}]",
           host, devsrc, host);
  write_bundle("cut -d' ' -f5 /proc/self/mountinfo | grep -E "
               "'^/(proc|dev|dev/pts|dev/shm|dev/mqueue|sys|tmp.*|dev/foo)$';"
               " cat /tmp/x/mark /dev/foo; ls /tmp/x/y 2>&1 >/dev/null | wc -l",
               system_mounts, mounts);
  run_t r;
  cr_assert_eq(oci_create_start_wait(dir, root, bundle, "order", &r), 0, "%s%s",
               r.out, r.err);
  cr_expect_str_eq(r.out, "/proc\n/dev\n/dev/pts\n/dev/shm\n/dev/mqueue\n"
                          "/sys\n/tmp\n/tmp/x/y/z\n/tmp/x\n/tmp/w\n/dev/foo\n"
                          "/tmp/v\n"
                          "from the host\nfrom the host\n1\n");
}

/* runtime-tools' mounts program gives every bind nosuid, strictatime,
 * mode=755 and size=1k: the flags are set, the data goes to the kernel
 * with the bind, which reads none of it (the directory keeps its mode,
 * the superblock its options), as with runc. */
Test(oci_mounts, bind_data_options_go_to_the_kernel) {
  cr_assert_eq(chmod(host, 0711), 0);
  char mounts[512];
  snprintf(mounts, sizeof(mounts),
           "[{\"destination\": \"/tmp\", \"type\": \"tmpfs\","
           "  \"source\": \"tmpfs\"},"
           " {\"destination\": \"/tmp/d\", \"source\": \"%s\","
           "  \"options\": [\"nosuid\", \"strictatime\", \"mode=755\","
           "   \"size=1k\", \"bind\", \"shared\"]}]",
           host);
  write_bundle("awk '$5 == \"/tmp/d\" {print $6, $7, $NF}' "
               "/proc/self/mountinfo; stat -c %a /tmp/d",
               system_mounts, mounts);
  run_t r;
  cr_assert_eq(oci_create_start_wait(dir, root, bundle, "data", &r), 0, "%s%s",
               r.out, r.err);
  cr_expect(strncmp(r.out, "rw,nosuid shared:", 17) == 0, "%s", r.out);
  cr_expect(strstr(r.out, "size=1k") == NULL, "%s", r.out);
  cr_expect(strstr(r.out, "mode=755") == NULL, "%s", r.out);
  const char *nl = strchr(r.out, '\n');
  cr_expect_str_eq(nl != NULL ? nl + 1 : "", "711\n");
}

/* bind is the host directory's own mount, rbind also the mounts under
 * it (here a tmpfs on host/sub), as runc makes them. */
Test(oci_mounts, bind_alone_rbind_with_submounts) {
  char sub[200], mounts[768];
  snprintf(sub, sizeof(sub), "%s/sub", host);
  cr_assert_eq(mkdir(sub, 0755), 0);
  cr_assert_eq(mount("tmpfs", sub, "tmpfs", 0, "size=16k"), 0, "%s",
               strerror(errno));
  host_file("sub/mark", "on the submount\n");
  snprintf(mounts, sizeof(mounts),
           "[{\"destination\": \"/tmp\", \"type\": \"tmpfs\","
           "  \"source\": \"tmpfs\"},"
           " {\"destination\": \"/tmp/b\", \"source\": \"%s\","
           "  \"options\": [\"bind\"]},"
           " {\"destination\": \"/tmp/r\", \"source\": \"%s\","
           "  \"options\": [\"rbind\"]}]",
           host, host);
  write_bundle("cut -d' ' -f5 /proc/self/mountinfo | grep '^/tmp/';"
               " cat /tmp/b/sub/mark /tmp/r/sub/mark 2>&1; echo $?",
               system_mounts, mounts);
  run_t r;
  int st = oci_create_start_wait(dir, root, bundle, "rec", &r);
  cr_expect_eq(umount2(sub, MNT_DETACH), 0, "%s", strerror(errno));
  cr_assert_eq(st, 0, "%s%s", r.out, r.err);
  cr_expect_str_eq(r.out, "/tmp/b\n/tmp/r\n/tmp/r/sub\n"
                          "cat: can't open '/tmp/b/sub/mark': No such file "
                          "or directory\non the submount\n1\n");
}

/* What hcs cannot honour is refused naming it: a data option with no
 * key, and a mount hcs makes itself listed after a bind. */
Test(oci_mounts, refusals_name_the_mount) {
  char mounts[512];
  snprintf(mounts, sizeof(mounts),
           "[{\"destination\": \"/tmp\", \"source\": \"%s\","
           "  \"options\": [\"rbind\", \"=1k\"]}]",
           host);
  write_bundle("true", system_mounts, mounts);
  run_t r = HCS_RUNC("nokey", "create", "--bundle", bundle, "nokey");
  cr_expect_neq(r.status, 0);
  if (r.status == 0) {
    HCS_RUNC("rm", "delete", "--force", "nokey");
  }
  cr_expect(strstr(r.err, "\"=1k\"") != NULL, "%s", r.err);
  snprintf(mounts, sizeof(mounts),
           "[{\"destination\": \"/tmp\", \"source\": \"%s\","
           "  \"options\": [\"rbind\"]},"
           " {\"destination\": \"/proc\", \"type\": \"proc\","
           "  \"source\": \"proc\"}]",
           host);
  write_bundle("true", NULL, mounts);
  r = HCS_RUNC("late", "create", "--bundle", bundle, "late");
  cr_expect_neq(r.status, 0);
  if (r.status == 0) {
    HCS_RUNC("rm", "delete", "--force", "late");
  }
  cr_expect(strstr(r.err, "mounts[1]: /proc after mounts[0]") != NULL, "%s",
            r.err);
}
