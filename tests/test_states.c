/* SPDX-License-Identifier: MIT */
/* Every call on a compute system, in every state a system can be in
 * (unknown, created, running, stopped, deleted), answers the code the HCS
 * gave (docs/hcs-api.md): HCS_E_SYSTEM_NOT_FOUND for an unknown
 * id, HCS_E_SYSTEM_ALREADY_EXISTS for a duplicate,
 * HCS_E_SYSTEM_ALREADY_STOPPED for Shutdown/Terminate of a stopped system,
 * HCS_E_INVALID_STATE for a call the state forbids, ERROR_NOT_FOUND for an
 * unknown process. The error object carries the same code, and hcsshim's
 * predicates read it as hcsshim did. Then the codes of the process calls
 * on a real process: WAIT_TIMEOUT, a result already taken, a console
 * resize without a console, a second shutdown. */
#include "test_hcs_util.h"

typedef enum {
  ST_UNKNOWN,
  ST_CREATED,
  ST_RUNNING,
  ST_STOPPED,
  ST_DELETED,
  N_STATES
} state_t;

static const char *const state_names[N_STATES] = {
    "unknown", "created", "running", "stopped", "deleted"};

typedef enum {
  C_CREATE,
  C_START,
  C_SHUTDOWN,
  C_TERMINATE,
  C_DELETE,
  C_INSPECT,
  C_CREATE_PROCESS,
  C_WAIT_PROCESS,
  C_TERMINATE_PROCESS,
  C_RESIZE_CONSOLE,
  N_CALLS
} call_t;

static const char *const call_names[N_CALLS] = {
    "CreateComputeSystem",
    "StartComputeSystem",
    "ShutdownComputeSystem",
    "TerminateComputeSystem",
    "DeleteComputeSystem",
    "InspectComputeSystem",
    "CreateProcessInComputeSystem",
    "WaitForProcessInComputeSystem",
    "TerminateProcessInComputeSystem",
    "ResizeConsoleInComputeSystem",
};

#define OK HCS_OK
#define NF HCS_E_SYSTEM_NOT_FOUND
#define AE HCS_E_SYSTEM_ALREADY_EXISTS
#define AS HCS_E_SYSTEM_ALREADY_STOPPED
#define IS HCS_E_INVALID_STATE
#define PNF HCS_ERROR_NOT_FOUND

/* The code of each call in each state; the process calls name a pid the
 * system does not know. */
static const hcs_result_t want[N_CALLS][N_STATES] = {
    /*                      unknown created running stopped deleted */
    [C_CREATE] = {OK, AE, AE, AE, OK},
    [C_START] = {NF, OK, IS, IS, NF},
    [C_SHUTDOWN] = {NF, IS, OK, AS, NF},
    [C_TERMINATE] = {NF, IS, OK, AS, NF},
    [C_DELETE] = {NF, OK, IS, OK, NF},
    [C_INSPECT] = {NF, OK, OK, OK, NF},
    [C_CREATE_PROCESS] = {NF, IS, OK, IS, NF},
    [C_WAIT_PROCESS] = {NF, PNF, PNF, PNF, NF},
    [C_TERMINATE_PROCESS] = {NF, PNF, PNF, PNF, NF},
    [C_RESIZE_CONSOLE] = {NF, PNF, PNF, PNF, NF},
};

#define ID "sys"
#define UNKNOWN_PID 4242424u

/* A service with system ID in state st ("unknown": never made). */
static hcs_t *with_state(state_t st) {
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  if (st == ST_UNKNOWN) {
    return h;
  }
  th_expect_ok(hcs_CreateComputeSystem(h, ID, TH_DUMMY, &err), err);
  if (st == ST_DELETED) {
    th_expect_ok(hcs_DeleteComputeSystem(h, ID, &err), err);
  } else if (st != ST_CREATED) {
    th_expect_ok(hcs_StartComputeSystem(h, ID, &err), err);
    if (st == ST_STOPPED) {
      th_expect_ok(hcs_TerminateComputeSystem(h, ID, 30000, NULL, &err), err);
    }
  }
  return h;
}

static hcs_result_t run_call(hcs_t *h, call_t c, hcs_error_t **err) {
  const char *args[] = {TH_HELPER("cli_exit"), "0", NULL};
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = args;
  uint32_t pid = 0;
  int32_t code = 0;
  char *json = NULL;
  hcs_result_t r = HCS_OK;
  switch (c) {
  case C_CREATE:
    return hcs_CreateComputeSystem(h, ID, TH_DUMMY, err);
  case C_START:
    return hcs_StartComputeSystem(h, ID, err);
  case C_SHUTDOWN:
    return hcs_ShutdownComputeSystem(h, ID, 30000, "table", err);
  case C_TERMINATE:
    return hcs_TerminateComputeSystem(h, ID, 30000, "table", err);
  case C_DELETE:
    return hcs_DeleteComputeSystem(h, ID, err);
  case C_INSPECT:
    r = hcs_InspectComputeSystem(h, ID, &json, err);
    hcs_free(json);
    return r;
  case C_CREATE_PROCESS:
    r = hcs_CreateProcessInComputeSystem(h, ID, false, false, false, &p, &pid,
                                         NULL, NULL, NULL, err);
    if (r == HCS_OK) {
      cr_assert_eq(
          hcs_WaitForProcessInComputeSystem(h, ID, pid, 30000, &code, NULL),
          HCS_OK);
    }
    return r;
  case C_WAIT_PROCESS:
    return hcs_WaitForProcessInComputeSystem(h, ID, UNKNOWN_PID, 100, &code,
                                             err);
  case C_TERMINATE_PROCESS:
    return hcs_TerminateProcessInComputeSystem(h, ID, UNKNOWN_PID, err);
  case C_RESIZE_CONSOLE:
    return hcs_ResizeConsoleInComputeSystem(h, ID, UNKNOWN_PID, 24, 80, err);
  case N_CALLS:
    break;
  }
  return HCS_ERROR_GEN_FAILURE;
}

/* The error object agrees with the code, and with hcsshim's reading. */
static void check_error(hcs_result_t r, hcs_error_t *err, const char *what) {
  cr_assert_not_null(err, "%s: no error object", what);
  cr_assert_eq(hcs_error_code(err), r, "%s", what);
  cr_assert_eq(hcs_is_not_exist(r), r == NF || r == PNF, "%s", what);
  cr_assert_eq(hcs_is_already_stopped(r), r == AS || r == PNF, "%s", what);
  char hex[32];
  snprintf(hex, sizeof(hex), "(0x%x)", (unsigned)r);
  cr_assert_not_null(strstr(hcs_error_message(err), hex), "%s: %s", what,
                     hcs_error_message(err));
  cr_assert_not_null(strstr(hcs_error_message(err), "id=" ID), "%s: %s", what,
                     hcs_error_message(err));
  hcs_error_free(err);
}

Test(states, every_call_in_every_state) {
  int fds0 = th_fd_baseline();
  for (call_t c = 0; c < N_CALLS; c++) {
    for (state_t st = 0; st < N_STATES; st++) {
      char what[128];
      snprintf(what, sizeof(what), "%s on a system %s", call_names[c],
               state_names[st]);
      hcs_t *h = with_state(st);
      hcs_error_t *err = NULL;
      hcs_result_t r = run_call(h, c, &err);
      cr_assert_eq(r, want[c][st], "%s: 0x%x, want 0x%x (%s)", what,
                   (unsigned)r, (unsigned)want[c][st],
                   err != NULL ? hcs_error_message(err) : "no error");
      if (r == HCS_OK) {
        cr_assert_null(err, "%s", what);
      } else {
        check_error(r, err, what);
      }
      /* Without an error object: the same code. */
      hcs_close(h);
      h = with_state(st);
      cr_assert_eq(run_call(h, c, NULL), want[c][st], "%s without err", what);
      hcs_close(h);
    }
  }
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0);
}

/* The process calls on a real process, and a shutdown while another is
 * pending. */
Test(states, process_codes) {
  int fds0 = th_fd_baseline();
  hcs_t *h = with_state(ST_RUNNING);
  hcs_error_t *err = NULL;
  const char *args[] = {TH_HELPER("cli_sleeper"), NULL};
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = args;
  uint32_t pid = 0;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, ID, false, false, false, &p,
                                                &pid, NULL, NULL, NULL, &err),
               err);
  int32_t code = 0;
  hcs_result_t r =
      hcs_WaitForProcessInComputeSystem(h, ID, pid, 50, &code, &err);
  cr_assert_eq(r, HCS_WAIT_TIMEOUT);
  cr_assert(hcs_is_timeout(r));
  cr_assert_eq(hcs_error_code(err), HCS_WAIT_TIMEOUT);
  cr_assert_eq(hcs_error_errno(err), ETIMEDOUT);
  hcs_error_free(err);
  err = NULL;
  /* No console: the resize is not valid in its state. */
  th_expect_fail(hcs_ResizeConsoleInComputeSystem(h, ID, pid, 24, 80, &err),
                 err, HCS_E_INVALID_STATE);
  th_expect_ok(hcs_TerminateProcessInComputeSystem(h, ID, pid, &err), err);
  th_expect_ok(
      hcs_WaitForProcessInComputeSystem(h, ID, pid, 30000, &code, &err), err);
  cr_assert_eq(code, 137);
  /* The result was taken: the pid is unknown, and hcsshim reads that as
   * both "not exist" and "already stopped". */
  r = hcs_TerminateProcessInComputeSystem(h, ID, pid, &err);
  cr_assert_eq(r, HCS_ERROR_NOT_FOUND);
  cr_assert(hcs_is_not_exist(r) && hcs_is_already_stopped(r));
  hcs_error_free(err);
  err = NULL;
  th_expect_fail(hcs_WaitForProcessInComputeSystem(h, ID, pid, 0, &code, &err),
                 err, HCS_ERROR_NOT_FOUND);

  /* A process that ignores SIGTERM keeps a shutdown pending. */
  const char *stubborn[] = {TH_HELPER("cli_sleeper"), "ignore-term", NULL};
  p.args = stubborn;
  int out = -1;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, ID, false, true, false, &p,
                                                &pid, NULL, &out, NULL, &err),
               err);
  th_buf_t ready = {0};
  th_read_until(out, &ready, "ready\n", 30000);
  th_buf_free(&ready);
  close(out);
  r = hcs_ShutdownComputeSystem(h, ID, 50, NULL, &err);
  cr_assert_eq(r, HCS_WAIT_TIMEOUT, "0x%x", (unsigned)r);
  hcs_error_free(err);
  err = NULL;
  th_expect_fail(hcs_ShutdownComputeSystem(h, ID, 50, NULL, &err), err,
                 HCS_ERROR_SHUTDOWN_IN_PROGRESS);
  /* A process cannot start in a system that is stopping. */
  th_expect_fail(hcs_CreateProcessInComputeSystem(h, ID, false, false, false,
                                                  &p, &pid, NULL, NULL, NULL,
                                                  &err),
                 err, HCS_E_INVALID_STATE);
  th_expect_ok(hcs_TerminateComputeSystem(h, ID, 30000, NULL, &err), err);
  r = hcs_TerminateComputeSystem(h, ID, 30000, NULL, &err);
  cr_assert_eq(r, HCS_E_SYSTEM_ALREADY_STOPPED);
  cr_assert(hcs_is_already_stopped(r));
  hcs_error_free(err);
  hcs_close(h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0);
}

/* A context that is empty is no context; one given is in the error. */
Test(states, the_context_in_errors) {
  hcs_t *h = with_state(ST_STOPPED);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_ShutdownComputeSystem(h, ID, 10, "", &err),
               HCS_E_SYSTEM_ALREADY_STOPPED);
  cr_assert_null(strstr(hcs_error_message(err), "context"), "%s",
                 hcs_error_message(err));
  cr_assert_null(strstr(hcs_error_message(err), "  "), "%s",
                 hcs_error_message(err));
  hcs_error_free(err);
  cr_assert_eq(hcs_TerminateComputeSystem(h, ID, 10, "docker stop", &err),
               HCS_E_SYSTEM_ALREADY_STOPPED);
  cr_assert_not_null(strstr(hcs_error_message(err), "context: docker stop"),
                     "%s", hcs_error_message(err));
  hcs_error_free(err);
  hcs_close(h);
}

/* An init that dies during Start (its mapped directory is not there):
 * HCS_E_UNEXPECTED_EXIT with the errno, and the system is still Created. */
Test(states, an_init_that_dies_during_start) {
  if (geteuid() != 0) {
    cr_skip_test("a compute system with isolation needs root");
  }
  char root[] = "/tmp/hcs-states-XXXXXX";
  cr_assert_not_null(mkdtemp(root));
  char cfg[512];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s\","
           "\"MappedDirectories\":[{\"HostPath\":\"%s/missing\","
           "\"ContainerPath\":\"/m\"}]}",
           root, root);
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  th_expect_ok(hcs_CreateComputeSystem(h, ID, cfg, &err), err);
  hcs_result_t r = hcs_StartComputeSystem(h, ID, &err);
  cr_assert_eq(r, HCS_E_UNEXPECTED_EXIT, "0x%x: %s", (unsigned)r,
               err != NULL ? hcs_error_message(err) : "");
  cr_assert_eq(hcs_error_errno(err), ENOENT);
  hcs_error_free(err);
  char *json = NULL;
  th_expect_ok(hcs_InspectComputeSystem(h, ID, &json, &err), err);
  cr_assert_not_null(strstr(json, "\"State\": \"Created\""), "%s", json);
  hcs_free(json);
  th_expect_ok(hcs_DeleteComputeSystem(h, ID, &err), err);
  hcs_close(h);
  /* The mount points of /proc, /dev and /sys, mounted before the
   * mappings (as an OCI config orders them), may be there, empty, as
   * after any start; nothing else. */
  static const char *const points[] = {"proc", "dev", "sys"};
  for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
    char p[sizeof(root) + 8];
    snprintf(p, sizeof(p), "%s/%s", root, points[i]);
    cr_assert(rmdir(p) == 0 || errno == ENOENT, "%s: %s", p, strerror(errno));
  }
  cr_assert_eq(rmdir(root), 0);
}
