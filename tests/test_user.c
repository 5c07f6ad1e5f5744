/* SPDX-License-Identifier: MIT */
/* CreateProcessParams.User on a host system: the process runs with the
 * uid and gid asked for and no supplementary groups. */
#include <criterion/criterion.h>
#include <hcs.h>
#include <string.h>
#include <unistd.h>

static hcs_t *start(void) {
  hcs_t *hcs;
  cr_assert_eq(hcs_open(&hcs, NULL, NULL), HCS_OK);
  cr_assert_eq(
      hcs_CreateComputeSystem(
          hcs, "u", "{\"SystemType\":\"Container\",\"IsDummy\":true}", NULL),
      HCS_OK);
  cr_assert_eq(hcs_StartComputeSystem(hcs, "u", NULL), HCS_OK);
  return hcs;
}

/* Runs `id` as user and returns what it printed. */
static void run_id(hcs_t *hcs, const char *user, char *out, size_t n) {
  const char *args[] = {"sh", "-c", "echo $(id -u):$(id -g):$(id -G)", NULL};
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = args;
  pp.user = user;
  uint32_t pid;
  int fd = -1;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(hcs, "u", false, true, false,
                                                &pp, &pid, NULL, &fd, NULL,
                                                &err),
               HCS_OK, "%s", err ? hcs_error_message(err) : "");
  size_t got = 0;
  ssize_t r;
  while ((r = read(fd, out + got, n - 1 - got)) > 0) {
    got += (size_t)r;
  }
  out[got] = '\0';
  close(fd);
  int32_t code = -1;
  cr_assert_eq(hcs_WaitForProcessInComputeSystem(
                   hcs, "u", pid, HCS_TIMEOUT_INFINITE, &code, NULL),
               HCS_OK);
  cr_assert_eq(code, 0);
}

Test(user, numeric_and_named) {
  if (geteuid() != 0) {
    cr_skip_test("changing uid needs root");
  }
  hcs_t *hcs = start();
  char out[256];
  run_id(hcs, "65534:65534", out, sizeof(out));
  cr_assert_str_eq(out, "65534:65534:65534\n");
  run_id(hcs, "1234:4321", out, sizeof(out));
  cr_assert_str_eq(out, "1234:4321:4321\n");
  run_id(hcs, "root", out, sizeof(out));
  cr_assert_str_eq(out, "0:0:0\n");
  hcs_close(hcs);
}

Test(user, unknown_user_refused) {
  hcs_t *hcs = start();
  const char *args[] = {"true", NULL};
  const char *bad[] = {"no-such-user-hcs", "root:no-such-group-hcs", ":1",
                       "1:"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    hcs_process_params_t pp;
    memset(&pp, 0, sizeof(pp));
    pp.args = args;
    pp.user = bad[i];
    uint32_t pid;
    hcs_error_t *err = NULL;
    cr_assert_eq(hcs_CreateProcessInComputeSystem(hcs, "u", false, false, false,
                                                  &pp, &pid, NULL, NULL, NULL,
                                                  &err),
                 HCS_WSAEINVAL, "user %s accepted", bad[i]);
    cr_assert_not_null(strstr(hcs_error_cause(err), "User"));
    hcs_error_free(err);
  }
  hcs_close(hcs);
}
