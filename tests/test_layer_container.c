/* SPDX-License-Identifier: MIT */
/* A compute system started from layers, both flavours: the built-in
 * busybox base image in "Layers" (a layer folder, used through its diff)
 * and a sandbox layer as "LayerFolderPath". What the system writes lands
 * in the sandbox. Needs root. */
#include "test_layer_util.h"

#include "test_hcs_util.h"

TestSuite(layer_container, .init = tl_setup, .fini = tl_teardown,
          .timeout = 120);

/* Runs argv in system id; returns its stdout and stderr (a static
 * buffer) and its exit code. */
static const char *run(hcs_t *h, const char *id, const char *const *argv,
                       int32_t *code) {
  static char out[4096];
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = argv;
  int fds[2] = {-1, -1};
  uint32_t pid;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, id, false, true, true, &pp,
                                                &pid, NULL, &fds[0], &fds[1],
                                                &err),
               err);
  th_buf_t bufs[2] = {{0}, {0}};
  th_read_all(fds, bufs, 2, 30000);
  th_expect_ok(hcs_WaitForProcessInComputeSystem(h, id, pid, 30000, code, &err),
               err);
  snprintf(out, sizeof(out), "%s%s", bufs[0].p != NULL ? bufs[0].p : "",
           bufs[1].p != NULL ? bufs[1].p : "");
  th_buf_free(&bufs[0]);
  th_buf_free(&bufs[1]);
  return out;
}

static void system_on_layers(int flavour) {
  char home[512], img[512], sandbox[600], cfg[2048];
  snprintf(home, sizeof(home), "%s/home", tl_base);
  snprintf(img, sizeof(img), "%s/%s", hcs_default_image_home(),
           HCS_DEFAULT_IMAGE);
  snprintf(sandbox, sizeof(sandbox), "%s/sb", home);
  hcs_driver_info_t info = {.flavour = flavour, .home_dir = home};
  const char *const parents[] = {img, NULL};
  TL_OK(hcs_CreateSandboxLayer, &info, "sb", HCS_DEFAULT_IMAGE, parents);
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"Layers\":[{\"ID\":"
           "\"9f1c2a3b-0000-4000-8000-000000000001\",\"Path\":\"%s\"}],"
           "\"LayerFolderPath\":\"%s\"}",
           img, sandbox);
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  th_expect_ok(hcs_CreateComputeSystem(h, "lc", cfg, &err), err);
  th_expect_ok(hcs_StartComputeSystem(h, "lc", &err), err);
  int32_t code = -1;
  const char *const echo[] = {"busybox", "echo", "hi", NULL};
  const char *out = run(h, "lc", echo, &code);
  cr_assert_eq(code, 0, "exit %d: %s", code, out);
  cr_assert_str_eq(out, "hi\n");
  const char *const write_file[] = {"sh", "-c", "echo kept > /tmp/f", NULL};
  out = run(h, "lc", write_file, &code);
  cr_assert_eq(code, 0, "exit %d: %s", code, out);
  th_expect_ok(hcs_TerminateComputeSystem(h, "lc", 10000, NULL, &err), err);
  th_expect_ok(hcs_DeleteComputeSystem(h, "lc", &err), err);
  hcs_close(h);
  char f[700];
  snprintf(f, sizeof(f), "%s/%s/tmp/f", sandbox,
           flavour == HCS_FLAVOUR_FILTER ? "upper" : "diff");
  cr_assert_str_eq(tl_read(f), "kept\n", "the sandbox holds the write");
  snprintf(f, sizeof(f), "%s/diff/tmp/f", img);
  cr_assert(!tl_exists(f), "the base image is untouched");
  TL_OK(hcs_DestroyLayer, &info, "sb");
}

Test(layer_container, busybox_base_and_a_sandbox_filter) {
  system_on_layers(HCS_FLAVOUR_FILTER);
}

Test(layer_container, busybox_base_and_a_sandbox_diff) {
  system_on_layers(HCS_FLAVOUR_DIFF);
}

/* One read-only layer and no sandbox: the system's root is read-only and
 * the layer, shared by every system on it, is never written. */
Test(layer_container, a_lone_read_only_layer_stays_read_only) {
  char img[512], cfg[2048], f[700];
  snprintf(img, sizeof(img), "%s/%s", hcs_default_image_home(),
           HCS_DEFAULT_IMAGE);
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"Layers\":[{\"ID\":"
           "\"9f1c2a3b-0000-4000-8000-000000000002\",\"Path\":\"%s\"}]}",
           img);
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  th_expect_ok(hcs_CreateComputeSystem(h, "ro", cfg, &err), err);
  th_expect_ok(hcs_StartComputeSystem(h, "ro", &err), err);
  int32_t code = -1;
  const char *const write_file[] = {
      "sh", "-c",
      "echo x > /hcs-probe; echo x > /etc/hcs-probe; "
      "echo x > /etc/resolv.conf; echo done",
      NULL};
  const char *out = run(h, "ro", write_file, &code);
  cr_assert_eq(code, 0, "exit %d: %s", code, out);
  cr_assert_not_null(strstr(out, "Read-only file system"), "%s", out);
  cr_assert_not_null(strstr(out, "done"), "%s", out);
  th_expect_ok(hcs_TerminateComputeSystem(h, "ro", 10000, NULL, &err), err);
  th_expect_ok(hcs_DeleteComputeSystem(h, "ro", &err), err);
  hcs_close(h);
  snprintf(f, sizeof(f), "%s/diff/hcs-probe", img);
  cr_assert(!tl_exists(f), "the layer was written");
  snprintf(f, sizeof(f), "%s/diff/etc/hcs-probe", img);
  cr_assert(!tl_exists(f), "the layer was written");
}
