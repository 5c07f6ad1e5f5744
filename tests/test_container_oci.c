/* SPDX-License-Identifier: MIT */
/* The configuration fields through which hcs-runc sets a process as an OCI
 * runtime does (CapInheritable, CapAmbient, CapsForUser, GroupAdd, Umask,
 * NoNewPrivileges), driven through the public API as root and read back
 * from inside the container's processes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hcs.h>
#include <stdio.h>
#include <string.h>

#include "hcs/system/seccomp.h"
#include "test_ct_util.h"

TestSuite(container_oci, .init = ct_setup, .fini = ct_teardown, .timeout = 120);

/* CAP_NET_BIND_SERVICE (10) and CAP_KILL (5): 0x420. */
Test(container_oci, inheritable_ambient_user_caps_groups_umask_nnp) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "oci",
               ",\"CapInheritable\":[\"CAP_KILL\",\"NET_BIND_SERVICE\"],"
               "\"CapAmbient\":[\"CAP_NET_BIND_SERVICE\"],"
               "\"CapsForUser\":true,\"GroupAdd\":[\"5\",\"77\"],"
               "\"Umask\":23,\"NoNewPrivileges\":false");
  out_t o;
  run_in(h, "oci",
         "grep -E '^(CapInh|CapEff|CapAmb|NoNewPrivs|Groups)' "
         "/proc/self/status; umask",
         "1000:1000", &o);
  cr_assert_eq(o.r.exit_code, 0, "%s", o.text);
  /* A user other than root: what execve leaves of its permitted set is
   * the ambient one (the program has no file capabilities). */
  cr_expect_str_eq(o.text, "Groups:\t5 77 \n"
                           "CapInh:\t0000000000000420\n"
                           "CapEff:\t0000000000000400\n"
                           "CapAmb:\t0000000000000400\n"
                           "NoNewPrivs:\t0\n"
                           "0027\n");
  run_in(h, "oci", "grep -E '^CapEff' /proc/self/status; id -G", NULL, &o);
  cr_expect_str_eq(o.text, "CapEff:\t00000000a80425fb\n0 5 77\n");
  /* Without those fields: hcs's own defaults, as before. */
  start_system(h, "dflt", "");
  run_in(h, "dflt",
         "grep -E '^(CapInh|CapEff|CapAmb|NoNewPrivs|Groups)' "
         "/proc/self/status",
         "1000:1000", &o);
  cr_expect_str_eq(o.text, "Groups:\t \n"
                           "CapInh:\t0000000000000000\n"
                           "CapEff:\t0000000000000000\n"
                           "CapAmb:\t0000000000000000\n"
                           "NoNewPrivs:\t1\n");
  stop_system(h, "oci");
  stop_system(h, "dflt");
  hcs_close(h);
}

static void expect_refused(hcs_t *h, const char *extra, const char *needle) {
  char cfg[2048];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\"%s}", base,
           extra);
  hcs_error_t *err = NULL;
  cr_expect_eq(hcs_CreateComputeSystem(h, "bad", cfg, &err), HCS_WSAEINVAL,
               "%s", extra);
  const char *msg = err != NULL ? hcs_error_message(err) : "";
  cr_expect(strstr(msg, needle) != NULL, "%s: %s", extra, msg);
  hcs_error_free(err);
}

Test(container_oci, bad_sets_and_groups_refused_by_name) {
  hcs_t *h = open_hcs(NULL);
  expect_refused(h, ",\"CapInheritable\":[\"CAP_NOPE\"]", "CAP_NOPE");
  expect_refused(h, ",\"CapAmbient\":[\"CAP_KILL\"]", "CapAmbient");
  expect_refused(h, ",\"GroupAdd\":[\"wheel\"]", "GroupAdd[0]");
  expect_refused(h, ",\"Umask\":512", "Umask");
  hcs_close(h);
}

/* A profile of the system's own is compiled once: create checks it,
 * start reuses that (docker run --rm and hcs-runc pay for one compile),
 * and the filter is applied: sethostname(2) fails with its errno. */
Test(container_oci, a_profile_is_compiled_once) {
  hcs_t *h = open_hcs(NULL);
  hcs__seccomp_cache_set(NULL); /* counts compiles, not the disk's hits */
  unsigned long before = hcs__seccomp_compiles();
  start_system(h, "sc",
               ",\"SeccompProfile\":\"{\\\"defaultAction\\\":"
               "\\\"SCMP_ACT_ALLOW\\\",\\\"syscalls\\\":[{\\\"names\\\":"
               "[\\\"sethostname\\\"],\\\"action\\\":\\\"SCMP_ACT_ERRNO\\\","
               "\\\"errnoRet\\\":38}]}\"");
  cr_expect_eq(hcs__seccomp_compiles() - before, 1,
               "compiled %lu times for create and start",
               hcs__seccomp_compiles() - before);
  out_t o;
  run_in(h, "sc", "hostname x 2>&1; echo $?", NULL, &o);
  cr_expect(strstr(o.text, "not implemented") != NULL, "%s", o.text);
  stop_system(h, "sc");
  hcs_close(h);
}

static size_t threads_of_self(void) {
  size_t n = 0;
  DIR *d = opendir("/proc/self/task");
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
    n += e->d_name[0] != '.';
  }
  if (d != NULL) {
    closedir(d);
  }
  return n;
}

/* NoNewPrivileges false alone keeps the fast path: the processes are
 * clones of spawner threads (a thread per engine loop that started one,
 * in this process), which installed Docker's default filter before
 * giving up CAP_SYS_ADMIN; a Umask, which each process sets itself,
 * starts none. */
Test(container_oci, no_new_privileges_false_keeps_the_spawner) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "um", ",\"Umask\":18");
  start_system(h, "nnp", ",\"NoNewPrivileges\":false");
  size_t before = threads_of_self();
  out_t o;
  for (int i = 0; i < 2; i++) {
    run_in(h, "um", "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status", NULL,
           &o);
    cr_expect_str_eq(o.text, "NoNewPrivs:\t1\nSeccomp:\t2\n");
  }
  cr_expect_eq(threads_of_self(), before, "no spawner with a Umask");
  for (int i = 0; i < 2; i++) {
    run_in(h, "nnp", "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status", NULL,
           &o);
    cr_expect_str_eq(o.text, "NoNewPrivs:\t0\nSeccomp:\t2\n");
  }
  cr_expect_gt(threads_of_self(), before, "spawners: %zu threads, %zu before",
               threads_of_self(), before);
  stop_system(h, "um");
  stop_system(h, "nnp");
  hcs_close(h);
}

/* path's text into buf ("" when unreadable). */
static void read_text(const char *path, char *buf, size_t n) {
  buf[0] = '\0';
  FILE *f = fopen(path, "re");
  if (f != NULL) {
    buf[fread(buf, 1, n - 1, f)] = '\0';
    fclose(f);
  }
}

/* CgroupPath: the group under each hierarchy's root, with the limits;
 * names only (no . or .., no :). */
Test(container_oci, cgroup_path) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "cgp",
               ",\"CgroupPath\":\"/hcs-test-cgp/one\",\"PidsMaximum\":55");
  char max[32];
  read_text("/sys/fs/cgroup/pids/hcs-test-cgp/one/pids.max", max, sizeof(max));
  if (max[0] == '\0') {
    read_text("/sys/fs/cgroup/hcs-test-cgp/one/pids.max", max, sizeof(max));
  }
  cr_expect_str_eq(max, "55\n");
  stop_system(h, "cgp");
  static const char *const tops[] = {"pids",    "memory",  "cpu,cpuacct",
                                     "cpuset",  "devices", "freezer",
                                     "unified", ""};
  for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
    char p[256];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/hcs-test-cgp", tops[i]);
    (void)rmdir(p);
  }
  expect_refused(h, ",\"CgroupPath\":\"a/../b\"", "CgroupPath");
  expect_refused(h, ",\"CgroupPath\":\"x.slice:a:b\"", "CgroupPath");
  hcs_close(h);
}

/* MappedDirectories[].Options: the flags go on the bind (a program there
 * cannot be run: EACCES), mountinfo shows them and the propagation; exec
 * undoes noexec on a second bind of the same directory; an unknown
 * option is refused by name. */
Test(container_oci, bind_options) {
  hcs_t *h = open_hcs(NULL);
  char dir[300], prog[320], extra[1200];
  snprintf(dir, sizeof(dir), "%s/mx", base);
  cr_assert_eq(mkdir(dir, 0755), 0);
  snprintf(prog, sizeof(prog), "%s/run", dir);
  FILE *f = fopen(prog, "we");
  cr_assert_not_null(f);
  fputs("#!/bin/sh\necho ran\n", f);
  fclose(f);
  cr_assert_eq(chmod(prog, 0755), 0);
  snprintf(extra, sizeof(extra),
           ",\"MappedDirectories\":["
           "{\"HostPath\":\"%s\",\"ContainerPath\":\"/nx\","
           "\"Options\":\"nosuid,nodev,noexec,noatime,ro,shared\"},"
           "{\"HostPath\":\"%s\",\"ContainerPath\":\"/ex\","
           "\"Options\":\"noexec,exec,suid,rw,private\"}],"
           "\"Tmpfs\":[{\"ContainerPath\":\"/ts\",\"Options\":"
           "\"slave,shared\"},{\"ContainerPath\":\"/tu\",\"Options\":"
           "\"unbindable\"}]",
           dir, dir);
  start_system(h, "bo", extra);
  out_t o;
  run_in(h, "bo", "/nx/run 2>&1; echo $?; /ex/run", NULL, &o);
  cr_expect_str_eq(o.text, "sh: /nx/run: Permission denied\n126\nran\n");
  run_in(h, "bo",
         "grep ' /nx ' /proc/self/mountinfo | cut -d' ' -f6-7; "
         "grep ' /ex ' /proc/self/mountinfo | cut -d' ' -f6-7",
         NULL, &o);
  cr_expect(strstr(o.text, "ro,nosuid,nodev,noexec,noatime shared:") == o.text,
            "%s", o.text);
  cr_expect(strstr(o.text, "\nrw,relatime -\n") != NULL, "%s", o.text);
  /* A tmpfs's propagation, the later one winning. */
  run_in(h, "bo",
         "awk '$5 == \"/ts\" || $5 == \"/tu\" {print $5, $7}' "
         "/proc/self/mountinfo",
         NULL, &o);
  cr_expect(strstr(o.text, "/ts shared:") == o.text, "%s", o.text);
  cr_expect(strstr(o.text, "\n/tu unbindable\n") != NULL, "%s", o.text);
  stop_system(h, "bo");
  snprintf(extra, sizeof(extra),
           ",\"MappedDirectories\":[{\"HostPath\":\"%s\","
           "\"ContainerPath\":\"/nx\",\"Options\":\"nosuid,mand\"}]",
           dir);
  expect_refused(h, extra, "MappedDirectories[0].Options: \"mand\"");
  hcs_close(h);
}

/* The cpu files of /hcs-test-cpu/one: "shares quota period" (v1) or
 * "weight max" (v2), newline-free; *v1 set. */
static void cpu_files(char *out, size_t n, bool *v1) {
  static const char *const v1f[] = {"cpu.shares", "cpu.cfs_quota_us",
                                    "cpu.cfs_period_us"};
  static const char *const v2f[] = {"cpu.weight", "cpu.max"};
  *v1 = access("/sys/fs/cgroup/cpu/hcs-test-cpu/one", F_OK) == 0;
  out[0] = '\0';
  for (size_t i = 0; i < (*v1 ? 3u : 2u); i++) {
    char p[160], one[64];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/%shcs-test-cpu/one/%s",
             *v1 ? "cpu/" : "", *v1 ? v1f[i] : v2f[i]);
    read_text(p, one, sizeof(one));
    one[strcspn(one, "\n")] = '\0';
    size_t used = strlen(out);
    snprintf(out + used, n - used, "%s%s", i ? " " : "", one);
  }
}

/* CpuShares, CpuQuota, CpuPeriod: the cgroup's values as given (v1) or
 * by runc's conversion (v2), at create and through ModifyComputeSystem
 * (the period kept); not with the share-of-the-machine fields. */
Test(container_oci, exact_cpu_values) {
  hcs_t *h = open_hcs(NULL);
  start_system(h, "cpu",
               ",\"CgroupPath\":\"/hcs-test-cpu/one\",\"CpuShares\":2048,"
               "\"CpuQuota\":50000,\"CpuPeriod\":500000");
  char got[128], f[160];
  bool v1;
  cpu_files(got, sizeof(got), &v1);
  /* v2: 1 + (2048 - 2) * 9999 / 262142 */
  cr_expect_str_eq(got, v1 ? "2048 50000 500000" : "79 50000 500000");
  hcs_error_t *err = NULL;
  cr_expect_eq(hcs_ModifyComputeSystem(h, "cpu",
                                       "{\"ResourcePath\":\"Limits\","
                                       "\"Settings\":{\"CpuQuota\":30000}}",
                                       &err),
               HCS_OK, "%s", err ? hcs_error_message(err) : "");
  hcs_error_free(err);
  cpu_files(got, sizeof(got), &v1);
  cr_expect_str_eq(got, v1 ? "2048 30000 500000" : "79 30000 500000");
  stop_system(h, "cpu");
  static const char *const tops[] = {"pids",    "memory",  "cpu",
                                     "cpuacct", "cpuset",  "devices",
                                     "freezer", "unified", ""};
  for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
    snprintf(f, sizeof(f), "/sys/fs/cgroup/%s/hcs-test-cpu", tops[i]);
    (void)rmdir(f);
  }
  expect_refused(h, ",\"CpuShares\":2048,\"ProcessorWeight\":50", "CpuShares");
  expect_refused(h, ",\"CpuQuota\":5000,\"ProcessorMaximum\":50", "CpuQuota");
  expect_refused(h, ",\"CpuPeriod\":500", "CpuPeriod");
  hcs_close(h);
}
