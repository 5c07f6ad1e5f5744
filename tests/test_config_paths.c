/* SPDX-License-Identifier: MIT */
/* Host paths in a ContainerConfig are absolute: a relative VolumePath,
 * LayerFolderPath, MappedDirectories[].HostPath or Layers[].Path would be
 * resolved against the working directory of whichever process starts the
 * system. Each is HCS_WSAEINVAL naming the field, and nothing is made;
 * the same configuration with an absolute path is accepted. */
#include "test_hcs_util.h"

#include <sys/stat.h>

static void need_root(void) {
  if (geteuid() != 0) {
    cr_skip_test("compute systems with isolation need root");
  }
}

/* Creating id from cfg fails with HCS_WSAEINVAL naming field, and leaves
 * no system behind. */
static void expect_refused(hcs_t *h, const char *cfg, const char *field) {
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_CreateComputeSystem(h, "paths", cfg, &err);
  cr_assert_eq(r, HCS_WSAEINVAL, "%s: got %u (%s)", cfg, (unsigned)r,
               err != NULL ? hcs_error_message(err) : "no error");
  cr_assert_not_null(err);
  cr_assert(strstr(hcs_error_message(err), field) != NULL &&
                strstr(hcs_error_message(err), "absolute") != NULL,
            "%s: the message does not name %s: %s", cfg, field,
            hcs_error_message(err));
  hcs_error_free(err);
  err = NULL;
  char *json = NULL;
  cr_assert_eq(hcs_InspectComputeSystem(h, "paths", &json, &err),
               HCS_E_SYSTEM_NOT_FOUND, "a refused system was made: %s",
               json != NULL ? json : "");
  hcs_error_free(err);
}

Test(config_paths, relative_host_paths_are_refused) {
  need_root();
  /* In a directory where the relative paths exist, so that only the
   * check can refuse them. */
  char dir[] = "/tmp/hcs-paths-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char root[64];
  snprintf(root, sizeof(root), "%s/root", dir);
  cr_assert_eq(mkdir(root, 0755), 0);
  char cwd[4096];
  cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
  cr_assert_eq(chdir(dir), 0);
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);

  expect_refused(h, "{\"SystemType\":\"Container\",\"VolumePath\":\"root\"}",
                 "VolumePath");
  expect_refused(h, "{\"SystemType\":\"Container\",\"VolumePath\":\"./root\"}",
                 "VolumePath");
  /* "" is Go's unset string: no VolumePath, so no root at all. */
  cr_assert_eq(hcs_CreateComputeSystem(
                   h, "paths",
                   "{\"SystemType\":\"Container\",\"VolumePath\":\"\"}", &err),
               HCS_WSAEINVAL);
  cr_assert(strstr(hcs_error_message(err), "needs a root: VolumePath") != NULL,
            "%s", hcs_error_message(err));
  hcs_error_free(err);
  err = NULL;
  char cfg[1024];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s\","
           "\"LayerFolderPath\":\"root\"}",
           root);
  expect_refused(h, cfg, "LayerFolderPath");
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s\","
           "\"MappedDirectories\":[{\"HostPath\":\"root\","
           "\"ContainerPath\":\"/mnt\"}]}",
           root);
  expect_refused(h, cfg, "MappedDirectories[0].HostPath");
  expect_refused(
      h,
      "{\"SystemType\":\"Container\",\"Layers\":[{\"ID\":"
      "\"00000000-0000-0000-0000-000000000000\",\"Path\":\"root\"}]}",
      "Layers[0].Path");

  /* Absolute: accepted. */
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s\"}", root);
  th_expect_ok(hcs_CreateComputeSystem(h, "paths", cfg, &err), err);
  th_expect_ok(hcs_DeleteComputeSystem(h, "paths", &err), err);
  hcs_close(h);
  cr_assert_eq(chdir(cwd), 0);
  cr_assert_eq(rmdir(root), 0);
  cr_assert_eq(rmdir(dir), 0);
}
