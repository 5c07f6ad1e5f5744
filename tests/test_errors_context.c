/* SPDX-License-Identifier: MIT */
/* Errors that climb out of a container's start name the step, the call
 * that failed and the path or file it failed on, whether the failure is
 * in the engine (a cgroup file) or in the init child (a bind mount, a
 * layer folder): an errno alone says nothing about where. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <hcs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_ct_util.h"

TestSuite(errctx, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

/* Creates id with cfg, starts it (which must fail) and returns the start's
 * error message; the caller frees *err. */
static const char *start_fails(hcs_t *h, const char *id, const char *cfg,
                               hcs_error_t **err) {
  cr_assert_eq(hcs_CreateComputeSystem(h, id, cfg, err), HCS_OK, "%s",
               *err ? hcs_error_message(*err) : "");
  cr_assert_neq(hcs_StartComputeSystem(h, id, err), HCS_OK,
                "the start of %s succeeded", id);
  cr_assert_not_null(*err);
  return hcs_error_message(*err);
}

static void assert_names(const char *msg, const char *const *parts) {
  for (const char *const *p = parts; *p != NULL; p++) {
    cr_assert_not_null(strstr(msg, *p), "no \"%s\" in: %s", *p, msg);
  }
}

Test(errctx, missing_mapped_host_path_names_stat_and_the_path) {
  hcs_t *h = open_hcs(NULL);
  char cfg[2048], host[1024];
  snprintf(host, sizeof(host), "%s/no-such-dir", base);
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\","
           "\"MappedDirectories\":[{\"HostPath\":\"%s\","
           "\"ContainerPath\":\"/data\"}]}",
           base, host);
  hcs_error_t *err = NULL;
  const char *msg = start_fails(h, "md", cfg, &err);
  const char *const parts[] = {"MappedDirectories[0]", "stat(HostPath)", host,
                               "No such file or directory", NULL};
  assert_names(msg, parts);
  assert_names(hcs_error_cause(err), parts);
  hcs_error_free(err);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "md", NULL), HCS_OK);
  hcs_close(h);
}

Test(errctx, missing_layer_folder_names_the_layer_and_its_path) {
  hcs_t *h = open_hcs(NULL);
  char cfg[2048], layer[1024];
  snprintf(layer, sizeof(layer), "%s/no-such-layer", base);
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"Layers\":[{\"ID\":\"l0\","
           "\"Path\":\"%s/root\"},{\"ID\":\"l1\",\"Path\":\"%s\"}]}",
           base, layer);
  hcs_error_t *err = NULL;
  const char *msg = start_fails(h, "lf", cfg, &err);
  const char *const parts[] = {"Layers[1]", "stat(", layer,
                               "No such file or directory", NULL};
  assert_names(msg, parts);
  hcs_error_free(err);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "lf", NULL), HCS_OK);
  hcs_close(h);
}

Test(errctx, missing_sandbox_folder_names_layer_folder_path) {
  hcs_t *h = open_hcs(NULL);
  char cfg[2048], sandbox[1024];
  snprintf(sandbox, sizeof(sandbox), "%s/no-such-sandbox", base);
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"LayerFolderPath\":\"%s\","
           "\"Layers\":[{\"ID\":\"l0\",\"Path\":\"%s/root\"}]}",
           sandbox, base);
  hcs_error_t *err = NULL;
  const char *msg = start_fails(h, "sb", cfg, &err);
  const char *const parts[] = {"LayerFolderPath", "stat(", sandbox, NULL};
  assert_names(msg, parts);
  hcs_error_free(err);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "sb", NULL), HCS_OK);
  hcs_close(h);
}

static int write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  ssize_t n = write(fd, text, strlen(text));
  int e = n < 0 ? -errno : 0;
  close(fd);
  return e;
}

static const char cpu_parent[] = "/sys/fs/cgroup/cpu/hcs";

/* Lifts the cap again whatever the test's outcome, and removes the
 * test's scratch directory. */
static void uncap_and_teardown(void) {
  char quota[256];
  snprintf(quota, sizeof(quota), "%s/cpu.cfs_quota_us", cpu_parent);
  (void)write_text(quota, "-1");
  ct_teardown();
}

/* On cgroup v1 a group's CFS quota may not exceed its parent's: with the
 * parent of every system (hcs/) capped at 1 ms per 100 ms, the kernel
 * refuses the quota of ProcessorMaximum 100 %, and the error names the
 * write and the file. */
Test(errctx, refused_cgroup_limit_names_the_write_and_the_file,
     .fini = uncap_and_teardown) {
  const char *parent = cpu_parent;
  char quota[256];
  snprintf(quota, sizeof(quota), "%s/cpu.cfs_quota_us", parent);
  if (access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", F_OK) != 0) {
    cr_skip_test("no cgroup v1 cpu hierarchy: v2 lets a child's cpu.max "
                 "exceed its parent's, so nothing refuses the limit");
  }
  (void)mkdir(parent, 0755);
  int e = write_text(quota, "1000");
  if (e != 0) {
    cr_skip_test("cannot cap %s (%s): another system under it has a quota",
                 quota, strerror(-e));
  }
  hcs_t *h = open_hcs(NULL);
  char cfg[1024];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\","
           "\"ProcessorMaximum\":10000}",
           base);
  hcs_error_t *err = NULL;
  const char *msg = start_fails(h, "cg", cfg, &err);
  const char *const parts[] = {"write(", parent, "cpu.cfs_quota_us",
                               "Invalid argument", NULL};
  assert_names(msg, parts);
  hcs_error_free(err);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "cg", NULL), HCS_OK);
  hcs_close(h);
}
