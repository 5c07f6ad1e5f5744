/* SPDX-License-Identifier: MIT */
/* The synchronous HCS calls on a host (IsDummy) compute system, through a
 * service with its own engine thread: the system state machine, ids and
 * configuration errors, processes with every choice of streams, waits with
 * timeouts, terminate, exec failures, consoles, argv from CommandLine /
 * Args / ApplicationName, environment and working directory, shutdown with
 * a timeout, calls from many threads, and hcs_close with processes still
 * running. */
#include "test_hcs_util.h"

#include <hcs-async.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

/* The state of system id as InspectComputeSystem tells it, and its count
 * of running processes in *running. */
static void inspect(hcs_t *h, const char *id, char *state, size_t n,
                    long long *running) {
  char *text = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_InspectComputeSystem(h, id, &text, &err), err);
  json_error_t je;
  json_t *o = json_loads(text, 0, &je);
  cr_assert_not_null(o, "inspect JSON: %s: %s", je.text, text);
  const char *st = json_string_value(json_object_get(o, "State"));
  cr_assert_not_null(st, "no State in %s", text);
  snprintf(state, n, "%s", st);
  if (running != NULL) {
    *running = json_integer_value(json_object_get(o, "Processes"));
  }
  json_decref(o);
  hcs_free(text);
}

static void assert_state(hcs_t *h, const char *id, const char *want) {
  char st[32];
  inspect(h, id, st, sizeof(st), NULL);
  cr_assert_str_eq(st, want, "system %s is %s, want %s", id, st, want);
}

/* Waits (bounded) until system id has no running process: its exits have
 * been seen by the engine, while their records are still held. */
static void wait_idle(hcs_t *h, const char *id) {
  int64_t deadline = th_now_ms() + 20000;
  for (;;) {
    char st[32];
    long long running = -1;
    inspect(h, id, st, sizeof(st), &running);
    if (running == 0) {
      return;
    }
    cr_assert(th_now_ms() < deadline, "%lld processes still running", running);
    struct pollfd none;
    (void)poll(&none, 0, 5); /* a bounded poll of the engine's count */
  }
}

static hcs_process_params_t params_args(const char *const *args) {
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = args;
  return p;
}

/* Starts args in system id with no streams; returns the pid. */
static uint32_t start_quiet(hcs_t *h, const char *id, const char *const *args) {
  hcs_process_params_t p = params_args(args);
  hcs_error_t *err = NULL;
  uint32_t pid = 0;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, id, false, false, false, &p,
                                                &pid, NULL, NULL, NULL, &err),
               err);
  cr_assert_gt(pid, 0);
  return pid;
}

static int32_t wait_exit(hcs_t *h, const char *id, uint32_t pid) {
  int32_t code = -1;
  hcs_error_t *err = NULL;
  th_expect_ok(
      hcs_WaitForProcessInComputeSystem(h, id, pid, 30000, &code, &err), err);
  return code;
}

/* The system's output lines of cli_argv for params p (stdout only). */
static void run_capture(hcs_t *h, const hcs_process_params_t *p, th_buf_t *out,
                        int32_t *code) {
  hcs_error_t *err = NULL;
  uint32_t pid = 0;
  int fd = -1;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", false, true, false, p,
                                                &pid, NULL, &fd, NULL, &err),
               err);
  cr_assert_geq(fd, 0);
  th_read_all(&fd, out, 1, 30000);
  *code = wait_exit(h, "s", pid);
}

static void finish(hcs_t *h, int fds0) {
  hcs_close(h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

Test(process, system_state_machine) {
  int fds0 = th_fd_baseline();
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  const char *args[] = {TH_HELPER("cli_exit"), "0", NULL};
  hcs_process_params_t p = params_args(args);
  uint32_t pid = 0;
  int32_t code;

  /* Unknown ids. */
  th_expect_fail(hcs_StartComputeSystem(h, "nosuch", &err), err,
                 HCS_E_SYSTEM_NOT_FOUND);
  th_expect_fail(hcs_ShutdownComputeSystem(h, "nosuch", 1000, NULL, &err), err,
                 HCS_E_SYSTEM_NOT_FOUND);
  th_expect_fail(hcs_TerminateComputeSystem(h, "nosuch", 1000, NULL, &err), err,
                 HCS_E_SYSTEM_NOT_FOUND);
  th_expect_fail(hcs_DeleteComputeSystem(h, "nosuch", &err), err,
                 HCS_E_SYSTEM_NOT_FOUND);
  th_expect_fail(hcs_CreateProcessInComputeSystem(h, "nosuch", false, false,
                                                  false, &p, &pid, NULL, NULL,
                                                  NULL, &err),
                 err, HCS_E_SYSTEM_NOT_FOUND);
  th_expect_fail(
      hcs_WaitForProcessInComputeSystem(h, "nosuch", 1, 100, &code, &err), err,
      HCS_E_SYSTEM_NOT_FOUND);

  /* Created: no processes, no stop, a second create is refused. */
  th_expect_ok(hcs_CreateComputeSystem(h, "s1", TH_DUMMY, &err), err);
  assert_state(h, "s1", "Created");
  th_expect_fail(hcs_CreateComputeSystem(h, "s1", TH_DUMMY, &err), err,
                 HCS_E_SYSTEM_ALREADY_EXISTS);
  th_expect_fail(hcs_CreateProcessInComputeSystem(h, "s1", false, false, false,
                                                  &p, &pid, NULL, NULL, NULL,
                                                  &err),
                 err, HCS_E_INVALID_STATE);
  th_expect_fail(hcs_ShutdownComputeSystem(h, "s1", 1000, NULL, &err), err,
                 HCS_E_INVALID_STATE);
  th_expect_fail(hcs_TerminateComputeSystem(h, "s1", 1000, NULL, &err), err,
                 HCS_E_INVALID_STATE);

  /* Running: a second start and a delete are refused. */
  th_expect_ok(hcs_StartComputeSystem(h, "s1", &err), err);
  assert_state(h, "s1", "Running");
  th_expect_fail(hcs_StartComputeSystem(h, "s1", &err), err,
                 HCS_E_INVALID_STATE);
  th_expect_fail(hcs_DeleteComputeSystem(h, "s1", &err), err,
                 HCS_E_INVALID_STATE);
  assert_state(h, "s1", "Running");
  pid = start_quiet(h, "s1", args);
  cr_assert_eq(wait_exit(h, "s1", pid), 0);

  /* Stopped: nothing applies but delete. */
  th_expect_ok(hcs_ShutdownComputeSystem(h, "s1", 10000, "test", &err), err);
  assert_state(h, "s1", "Stopped");
  th_expect_fail(hcs_StartComputeSystem(h, "s1", &err), err,
                 HCS_E_INVALID_STATE);
  th_expect_fail(hcs_CreateProcessInComputeSystem(h, "s1", false, false, false,
                                                  &p, &pid, NULL, NULL, NULL,
                                                  &err),
                 err, HCS_E_INVALID_STATE);
  th_expect_ok(hcs_DeleteComputeSystem(h, "s1", &err), err);
  th_expect_fail(hcs_StartComputeSystem(h, "s1", &err), err,
                 HCS_E_SYSTEM_NOT_FOUND);
  th_expect_fail(hcs_DeleteComputeSystem(h, "s1", &err), err,
                 HCS_E_SYSTEM_NOT_FOUND);

  /* The id is free again; a created system can be deleted at once. */
  th_expect_ok(hcs_CreateComputeSystem(h, "s1", TH_DUMMY, &err), err);
  th_expect_ok(hcs_DeleteComputeSystem(h, "s1", &err), err);
  char *list = NULL;
  th_expect_ok(hcs_ListComputeSystems(h, &list, &err), err);
  json_t *o = json_loads(list, 0, NULL);
  cr_assert_not_null(o);
  cr_assert_eq(json_array_size(json_object_get(o, "Systems")), 0, "%s", list);
  json_decref(o);
  hcs_free(list);
  finish(h, fds0);
}

Test(process, invalid_ids) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("ok");
  hcs_error_t *err = NULL;
  char long_id[201];
  memset(long_id, 'a', 200);
  long_id[200] = '\0';
  const char *bad[] = {"", ".x", "-x", long_id, "a/b", "a b", "é", NULL};
  const char *args[] = {TH_HELPER("cli_exit"), "0", NULL};
  hcs_process_params_t p = params_args(args);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const char *id = bad[i];
    uint32_t pid = 0;
    int32_t code = 0;
    char *json = NULL;
    th_expect_fail(hcs_CreateComputeSystem(h, id, TH_DUMMY, &err), err,
                   HCS_WSAEINVAL);
    th_expect_fail(hcs_StartComputeSystem(h, id, &err), err, HCS_WSAEINVAL);
    th_expect_fail(hcs_ShutdownComputeSystem(h, id, 100, NULL, &err), err,
                   HCS_WSAEINVAL);
    th_expect_fail(hcs_TerminateComputeSystem(h, id, 100, NULL, &err), err,
                   HCS_WSAEINVAL);
    th_expect_fail(hcs_DeleteComputeSystem(h, id, &err), err, HCS_WSAEINVAL);
    th_expect_fail(hcs_InspectComputeSystem(h, id, &json, &err), err,
                   HCS_WSAEINVAL);
    th_expect_fail(hcs_CreateProcessInComputeSystem(h, id, false, false, false,
                                                    &p, &pid, NULL, NULL, NULL,
                                                    &err),
                   err, HCS_WSAEINVAL);
    th_expect_fail(
        hcs_WaitForProcessInComputeSystem(h, id, 1, 100, &code, &err), err,
        HCS_WSAEINVAL);
    th_expect_fail(hcs_TerminateProcessInComputeSystem(h, id, 1, &err), err,
                   HCS_WSAEINVAL);
    th_expect_fail(hcs_ResizeConsoleInComputeSystem(h, id, 1, 24, 80, &err),
                   err, HCS_WSAEINVAL);
  }
  /* 128 characters is the longest id; 129 is one too many. */
  long_id[128] = '\0';
  th_expect_ok(hcs_CreateComputeSystem(h, long_id, TH_DUMMY, &err), err);
  th_expect_ok(hcs_DeleteComputeSystem(h, long_id, &err), err);
  long_id[128] = 'a';
  long_id[129] = '\0';
  th_expect_fail(hcs_CreateComputeSystem(h, long_id, TH_DUMMY, &err), err,
                 HCS_WSAEINVAL);
  th_expect_ok(hcs_CreateComputeSystem(h, "A-z_0.9", TH_DUMMY, &err), err);
  finish(h, fds0);
}

/* The error of a failed create: its code, and a cause that contains want. */
static void expect_config_error(hcs_t *h, const char *config, hcs_result_t code,
                                const char *want) {
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_CreateComputeSystem(h, "cfg", config, &err);
  cr_assert_eq(r, code, "%s: got %u, want %u: %s", config, (unsigned)r,
               (unsigned)code, err != NULL ? hcs_error_message(err) : "");
  cr_assert_not_null(err);
  cr_assert_eq(hcs_error_code(err), code);
  cr_assert_str_eq(hcs_error_op(err), "hcs::CreateComputeSystem");
  cr_assert_str_eq(hcs_error_object(err), "id=cfg");
  const char *cause = hcs_error_cause(err);
  cr_assert(strstr(cause, want) != NULL, "%s: cause \"%s\" lacks \"%s\"",
            config, cause, want);
  /* "<op> failed: <cause> (0x<code>) <object>" */
  char msg[1024];
  snprintf(msg, sizeof(msg),
           "hcs::CreateComputeSystem failed: %s (0x%x) id=cfg", cause,
           (unsigned)code);
  cr_assert_str_eq(hcs_error_message(err), msg);
  char *text = hcs_error_json(err);
  cr_assert_not_null(text);
  json_error_t je;
  json_t *o = json_loads(text, 0, &je);
  cr_assert_not_null(o, "error JSON: %s: %s", je.text, text);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Operation")),
                   "hcs::CreateComputeSystem");
  cr_assert_eq(json_integer_value(json_object_get(o, "Code")), code);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Object")), "id=cfg");
  cr_assert_str_eq(json_string_value(json_object_get(o, "Cause")), cause);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Message")), msg);
  cr_assert_eq(json_integer_value(json_object_get(o, "Errno")),
               hcs_error_errno(err));
  json_decref(o);
  hcs_free(text);
  hcs_error_free(err);
  /* Nothing half-applied: the id is still free. */
  err = NULL;
  th_expect_fail(hcs_StartComputeSystem(h, "cfg", &err), err,
                 HCS_E_SYSTEM_NOT_FOUND);
}

Test(process, configuration_errors) {
  int fds0 = th_fd_baseline();
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  expect_config_error(h, "{\"SystemType\":", HCS_E_INVALID_JSON, "not JSON");
  expect_config_error(h, "", HCS_E_INVALID_JSON, "not JSON");
  expect_config_error(h, "[\"SystemType\"]", HCS_E_INVALID_JSON, "JSON object");
  expect_config_error(h, "[]", HCS_E_INVALID_JSON, "JSON object");
  expect_config_error(
      h, "{\"SystemType\":\"Container\",\"IsDummy\":true,\"Bogus\":1}",
      HCS_WSAEINVAL, "Bogus: unknown field");
  expect_config_error(h, "{\"IsDummy\":true}", HCS_WSAEINVAL,
                      "SystemType: required field missing");
  expect_config_error(h, "{\"SystemType\":\"VirtualMachine\",\"IsDummy\":true}",
                      HCS_WSAEINVAL, "SystemType");
  expect_config_error(h, "{\"SystemType\":7,\"IsDummy\":true}", HCS_WSAEINVAL,
                      "SystemType: must be a string");
  expect_config_error(h, "{\"SystemType\":\"Container\",\"IsDummy\":\"yes\"}",
                      HCS_WSAEINVAL, "IsDummy: must be a boolean");
  expect_config_error(
      h, "{\"SystemType\":\"Container\",\"IsDummy\":true,\"HvPartition\":true}",
      HCS_ERROR_NOT_SUPPORTED, "HvPartition");
  /* Isolated systems are built now; one with no root is refused by name,
   * and networks are the part still missing. */
  expect_config_error(h, "{\"SystemType\":\"Container\",\"IsDummy\":false}",
                      HCS_WSAEINVAL, "VolumePath");
  expect_config_error(h,
                      "{\"SystemType\":\"Container\",\"VolumePath\":\"/tmp\","
                      "\"EndpointList\":[\"e1\"]}",
                      HCS_WSAEINVAL, "EndpointList[0]: no endpoint");
  th_expect_fail(hcs_CreateComputeSystem(h, "cfg", NULL, &err), err,
                 HCS_WSAEINVAL);
  finish(h, fds0);
}

/* Each choice of streams: the requested ones are the caller's pipe ends
 * and carry the bytes, the others are -1 and /dev/null in the process. */
Test(process, stdio_combinations) {
  int fds0 = th_fd_baseline();
  char dir[] = "/tmp/hcs-stdio-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char report[64];
  snprintf(report, sizeof(report), "%s/report", dir);
  hcs_t *h = th_open_with("s");
  for (int mask = 0; mask < 8; mask++) {
    bool use[3] = {mask & 1, (mask & 2) != 0, (mask & 4) != 0};
    const char *args[] = {TH_HELPER("cli_stdio"), report, NULL};
    hcs_process_params_t p = params_args(args);
    hcs_error_t *err = NULL;
    uint32_t pid = 0;
    int fd[3] = {-7, -7, -7};
    th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", use[0], use[1],
                                                  use[2], &p, &pid, &fd[0],
                                                  &fd[1], &fd[2], &err),
                 err);
    for (int i = 0; i < 3; i++) {
      cr_assert(use[i] ? fd[i] >= 0 : fd[i] == -1, "mask %d: fd[%d] = %d", mask,
                i, fd[i]);
    }
    if (use[0]) {
      th_write_all(fd[0], "ping", 4);
      close(fd[0]);
    }
    th_buf_t out[2] = {{0}, {0}};
    th_read_all(&fd[1], out, 2, 30000);
    cr_assert_eq(wait_exit(h, "s", pid), 0, "mask %d", mask);
    const char *data = use[0] ? "ping" : "";
    char want[32];
    if (use[1]) {
      snprintf(want, sizeof(want), "out:%s", data);
      cr_assert_str_eq(out[0].p, want, "mask %d", mask);
    }
    if (use[2]) {
      snprintf(want, sizeof(want), "err:%s", data);
      cr_assert_str_eq(out[1].p, want, "mask %d", mask);
    }
    th_buf_free(&out[0]);
    th_buf_free(&out[1]);
    FILE *f = fopen(report, "re");
    cr_assert_not_null(f);
    for (int i = 0; i < 3; i++) {
      char line[1100];
      cr_assert_not_null(fgets(line, sizeof(line), f));
      line[strcspn(line, "\n")] = '\0';
      char prefix[4];
      snprintf(prefix, sizeof(prefix), "%d=", i);
      cr_assert_eq(strncmp(line, prefix, 2), 0, "%s", line);
      if (use[i]) {
        cr_assert_eq(strncmp(line + 2, "pipe:[", 6), 0, "mask %d: %s", mask,
                     line);
      } else {
        cr_assert_str_eq(line + 2, "/dev/null", "mask %d", mask);
      }
    }
    fclose(f);
    /* The record went with the result. */
    int32_t code;
    th_expect_fail(
        hcs_WaitForProcessInComputeSystem(h, "s", pid, 1000, &code, &err), err,
        HCS_ERROR_NOT_FOUND);
  }
  unlink(report);
  rmdir(dir);
  finish(h, fds0);
}

Test(process, wait_timeout_then_terminate) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  const char *args[] = {TH_HELPER("cli_sleeper"), NULL};
  uint32_t pid = start_quiet(h, "s", args);
  hcs_error_t *err = NULL;
  int32_t code = -1;
  for (int round = 0; round < 2; round++) {
    int64_t t0 = th_now_ms();
    th_expect_fail(
        hcs_WaitForProcessInComputeSystem(h, "s", pid, 200, &code, &err), err,
        HCS_WAIT_TIMEOUT);
    int64_t took = th_now_ms() - t0;
    cr_assert(took >= 190 && took < 3000, "a 200 ms wait took %lld ms",
              (long long)took);
    cr_assert_eq(code, -1, "exit code set on a timeout");
  }
  /* A zero timeout answers at once. */
  int64_t t0 = th_now_ms();
  th_expect_fail(hcs_WaitForProcessInComputeSystem(h, "s", pid, 0, &code, &err),
                 err, HCS_WAIT_TIMEOUT);
  cr_assert_lt(th_now_ms() - t0, 2000);
  th_expect_ok(hcs_TerminateProcessInComputeSystem(h, "s", pid, &err), err);
  th_expect_ok(hcs_TerminateProcessInComputeSystem(h, "s", pid, &err), err);
  hcs_process_result_t res;
  memset(&res, 0xff, sizeof(res));
  th_expect_ok(hcs_WaitForProcessResult(h, "s", pid, 30000, &res, &err), err);
  cr_assert_eq(res.exit_code, 137);
  cr_assert_eq(res.signal, SIGKILL);
  cr_assert_eq(res.exec_errno, 0);
  th_expect_fail(hcs_TerminateProcessInComputeSystem(h, "s", pid, &err), err,
                 HCS_ERROR_NOT_FOUND);
  finish(h, fds0);
}

/* Terminate after the exit, before the result is taken: HCS_OK and nothing
 * signalled, the exit code stays the program's. */
Test(process, terminate_after_exit) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  const char *args[] = {TH_HELPER("cli_exit"), "5", NULL};
  uint32_t pid = start_quiet(h, "s", args);
  wait_idle(h, "s");
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_TerminateProcessInComputeSystem(h, "s", pid, &err), err);
  th_expect_ok(hcs_TerminateProcessInComputeSystem(h, "s", pid, &err), err);
  cr_assert_eq(wait_exit(h, "s", pid), 5);
  int32_t code;
  th_expect_fail(
      hcs_WaitForProcessInComputeSystem(h, "s", pid, 100, &code, &err), err,
      HCS_ERROR_NOT_FOUND);
  th_expect_fail(hcs_TerminateProcessInComputeSystem(h, "s", pid, &err), err,
                 HCS_ERROR_NOT_FOUND);
  finish(h, fds0);
}

Test(process, exec_failure) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  struct {
    const char *prog;
    int err;
  } cases[] = {{"/nonexistent/hcs-test-program", ENOENT},
               {"/tmp", EACCES},
               {"hcs-test-no-such-program-on-path", ENOENT}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *args[] = {cases[i].prog, "x", NULL};
    uint32_t pid = start_quiet(h, "s", args);
    hcs_process_result_t res;
    hcs_error_t *err = NULL;
    th_expect_ok(hcs_WaitForProcessResult(h, "s", pid, 30000, &res, &err), err);
    cr_assert_eq(res.exit_code, HCS_WAIT_ERR_EXEC_FAILED, "%s: %d",
                 cases[i].prog, res.exit_code);
    cr_assert_eq(res.exec_errno, cases[i].err, "%s: errno %d", cases[i].prog,
                 res.exec_errno);
    cr_assert_eq(res.exec_stage, HCS_EXEC_STAGE_PROGRAM);
    cr_assert_eq(res.signal, 0);
  }
  /* The same through ApplicationName, with the plain wait. */
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.application_name = "/nonexistent/app";
  p.command_line = "app arg";
  hcs_error_t *err = NULL;
  uint32_t pid = 0;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", false, false, false, &p,
                                                &pid, NULL, NULL, NULL, &err),
               err);
  cr_assert_eq(wait_exit(h, "s", pid), WaitErrExecFailed);
  finish(h, fds0);
}

Test(process, console_size_and_resize) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  const char *args[] = {TH_HELPER("cli_winsz"), NULL};
  hcs_process_params_t p = params_args(args);
  p.emulate_console = true;
  p.console_size[0] = 33;
  p.console_size[1] = 101;
  hcs_error_t *err = NULL;
  uint32_t pid = 0;
  int in = -7, out = -7, errfd = -7;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", true, true, true, &p,
                                                &pid, &in, &out, &errfd, &err),
               err);
  cr_assert_geq(in, 0);
  cr_assert_geq(out, 0);
  cr_assert_eq(errfd, -1, "a console has no stderr of its own");
  th_buf_t b = {0};
  th_read_until(out, &b, "SIZE 33 101\n", 20000);
  th_expect_ok(hcs_ResizeConsoleInComputeSystem(h, "s", pid, 50, 132, &err),
               err);
  th_write_all(in, "x", 1);
  th_read_until(out, &b, "SIZE 50 132\n", 20000);
  th_expect_fail(hcs_ResizeConsoleInComputeSystem(h, "s", pid, 0, 80, &err),
                 err, HCS_WSAEINVAL);
  th_expect_ok(hcs_ResizeConsoleInComputeSystem(h, "s", pid, 7, 9, &err), err);
  th_write_all(in, "x", 1);
  th_read_until(out, &b, "SIZE 7 9\n", 20000);
  th_write_all(in, "q", 1);
  close(in);
  th_read_all(&out, &b, 1, 20000);
  cr_assert_str_eq(b.p, "SIZE 33 101\nSIZE 50 132\nSIZE 7 9\n");
  th_buf_free(&b);
  cr_assert_eq(wait_exit(h, "s", pid), 0);
  th_expect_fail(hcs_ResizeConsoleInComputeSystem(h, "s", pid, 24, 80, &err),
                 err, HCS_ERROR_NOT_FOUND);
  finish(h, fds0);
}

Test(process, resize_without_console) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  const char *args[] = {TH_HELPER("cli_sleeper"), NULL};
  uint32_t pid = start_quiet(h, "s", args);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_ResizeConsoleInComputeSystem(h, "s", pid, 24, 80, &err),
               HCS_E_INVALID_STATE);
  cr_assert_not_null(err);
  cr_assert_eq(hcs_error_errno(err), ENOTTY);
  cr_assert_str_eq(hcs_error_op(err), "hcs::ResizeConsoleInComputeSystem");
  char obj[64];
  snprintf(obj, sizeof(obj), "id=s pid=%u", (unsigned)pid);
  cr_assert_str_eq(hcs_error_object(err), obj);
  hcs_error_free(err);
  err = NULL;
  th_expect_fail(
      hcs_ResizeConsoleInComputeSystem(h, "s", pid + 1000000, 24, 80, &err),
      err, HCS_ERROR_NOT_FOUND);
  th_expect_ok(hcs_TerminateProcessInComputeSystem(h, "s", pid, &err), err);
  cr_assert_eq(wait_exit(h, "s", pid), 137);
  finish(h, fds0);
}

Test(process, command_line_split_reaches_argv) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.command_line = "\"" TH_HELPER(
      "cli_argv") "\" plain \"two words\" "
                  "back\\slash a\\\\\\\"q \"in\"\"side\" \"\" \"tab\there\" "
                  "\\\\\\\\\"x y\"  trailing\\\\ ";
  th_buf_t out = {0};
  int32_t code = -1;
  run_capture(h, &p, &out, &code);
  cr_assert_eq(code, 0);
  cr_assert_str_eq(out.p, "[" TH_HELPER("cli_argv") "]\n"
                                                    "[plain]\n"
                                                    "[two words]\n"
                                                    "[back\\slash]\n"
                                                    "[a\\\"q]\n"
                                                    "[in\"side]\n"
                                                    "[]\n"
                                                    "[tab\there]\n"
                                                    "[\\\\x y]\n"
                                                    "[trailing\\\\]\n");
  th_buf_free(&out);
  finish(h, fds0);
}

Test(process, args_and_application_name) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  th_buf_t out = {0};
  int32_t code = -1;

  /* Args wins over CommandLine, byte for byte (no splitting). */
  const char *args[] = {TH_HELPER("cli_argv"), "a b", "", "\"q\"", "c\\", NULL};
  hcs_process_params_t p = params_args(args);
  p.command_line = "/nonexistent/never-run x y";
  run_capture(h, &p, &out, &code);
  cr_assert_eq(code, 0);
  cr_assert_str_eq(out.p, "[" TH_HELPER("cli_argv") "]\n[a b]\n[]\n[\"q\"]\n"
                                                    "[c\\]\n");
  th_buf_free(&out);

  /* ApplicationName is the program; argv[0] stays the command line's. */
  memset(&p, 0, sizeof(p));
  p.application_name = TH_HELPER("cli_argv");
  p.command_line = "myname one \"two three\"";
  run_capture(h, &p, &out, &code);
  cr_assert_eq(code, 0);
  cr_assert_str_eq(out.p, "[myname]\n[one]\n[two three]\n");
  th_buf_free(&out);

  /* ApplicationName with Args. */
  const char *args2[] = {"zeroth", "1", NULL};
  p = params_args(args2);
  p.application_name = TH_HELPER("cli_argv");
  run_capture(h, &p, &out, &code);
  cr_assert_eq(code, 0);
  cr_assert_str_eq(out.p, "[zeroth]\n[1]\n");
  th_buf_free(&out);

  /* ApplicationName alone: it is argv[0] too. */
  memset(&p, 0, sizeof(p));
  p.application_name = TH_HELPER("cli_argv");
  run_capture(h, &p, &out, &code);
  cr_assert_eq(code, 0);
  cr_assert_str_eq(out.p, "[" TH_HELPER("cli_argv") "]\n");
  th_buf_free(&out);

  /* Neither: nothing to run. */
  memset(&p, 0, sizeof(p));
  p.command_line = "  \t ";
  hcs_error_t *err = NULL;
  uint32_t pid = 0;
  th_expect_fail(hcs_CreateProcessInComputeSystem(h, "s", false, false, false,
                                                  &p, &pid, NULL, NULL, NULL,
                                                  &err),
                 err, HCS_WSAEINVAL);
  finish(h, fds0);
}

/* The lines of b that start with prefix, counted; *found says whether one
 * equals want. */
static int lines_with(const char *text, const char *prefix, const char *want,
                      int *found) {
  int n = 0;
  size_t plen = strlen(prefix);
  *found = 0;
  for (const char *l = text; *l != '\0';) {
    const char *nl = strchr(l, '\n');
    size_t len = nl != NULL ? (size_t)(nl - l) : strlen(l);
    if (len >= plen && strncmp(l, prefix, plen) == 0) {
      n++;
      if (want != NULL && strlen(want) == len && strncmp(l, want, len) == 0) {
        *found = 1;
      }
    }
    l += len + (nl != NULL ? 1 : 0);
  }
  return n;
}

Test(process, environment_and_working_directory) {
  int fds0 = th_fd_baseline();
  /* Before any thread: the service's environment has this. */
  cr_assert_eq(setenv("HCS_TEST_MARK", "inherited", 1), 0);
  char dir[] = "/tmp/hcs-cwd-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  hcs_t *h = th_open_with("s");
  const char *args[] = {TH_HELPER("cli_env"), NULL};
  const char *env[] = {"A=1", "B=two words", "C=x=y", NULL};
  hcs_process_params_t p = params_args(args);
  p.environment = env;
  p.working_directory = dir;
  th_buf_t out = {0};
  int32_t code = -1;
  run_capture(h, &p, &out, &code);
  cr_assert_eq(code, 0);
  char want[64];
  snprintf(want, sizeof(want), "cwd=%s", dir);
  int found;
  cr_assert_eq(lines_with(out.p, "cwd=", want, &found), 1);
  cr_assert(found, "%s", out.p);
  cr_assert_eq(lines_with(out.p, "env=", NULL, &found), 3,
               "exactly the given environment: %s", out.p);
  const char *each[] = {"env=A=1", "env=B=two words", "env=C=x=y"};
  for (int i = 0; i < 3; i++) {
    lines_with(out.p, "env=", each[i], &found);
    cr_assert(found, "no %s in %s", each[i], out.p);
  }
  th_buf_free(&out);

  /* Without them: the service's environment and working directory. */
  p = params_args(args);
  run_capture(h, &p, &out, &code);
  cr_assert_eq(code, 0);
  char cwd[4096];
  cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
  char want2[4200];
  snprintf(want2, sizeof(want2), "cwd=%s", cwd);
  lines_with(out.p, "cwd=", want2, &found);
  cr_assert(found, "%s", out.p);
  lines_with(out.p, "env=", "env=HCS_TEST_MARK=inherited", &found);
  cr_assert(found, "%s", out.p);
  th_buf_free(&out);

  /* A working directory that does not exist: the program is not run. */
  p = params_args(args);
  p.working_directory = "/nonexistent/dir";
  hcs_error_t *err = NULL;
  uint32_t pid = 0;
  hcs_process_result_t res;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", false, false, false, &p,
                                                &pid, NULL, NULL, NULL, &err),
               err);
  th_expect_ok(hcs_WaitForProcessResult(h, "s", pid, 30000, &res, &err), err);
  cr_assert_eq(res.exit_code, HCS_WAIT_ERR_EXEC_FAILED);
  cr_assert_eq(res.exec_errno, ENOENT);
  cr_assert_eq(res.exec_stage, HCS_EXEC_STAGE_CWD,
               "the directory, not the program, was missing");
  rmdir(dir);
  finish(h, fds0);
}

Test(process, shutdown_timeout_then_terminate) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  const char *args[] = {TH_HELPER("cli_sleeper"), "ignore-term", NULL};
  hcs_process_params_t p = params_args(args);
  hcs_error_t *err = NULL;
  uint32_t pid = 0;
  int out = -1;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", false, true, false, &p,
                                                &pid, NULL, &out, NULL, &err),
               err);
  th_buf_t b = {0};
  th_read_until(out, &b, "ready\n", 20000);

  int64_t t0 = th_now_ms();
  th_expect_fail(hcs_ShutdownComputeSystem(h, "s", 300, "first", &err), err,
                 HCS_WAIT_TIMEOUT);
  int64_t took = th_now_ms() - t0;
  cr_assert(took >= 290 && took < 5000, "a 300 ms shutdown took %lld ms",
            (long long)took);
  assert_state(h, "s", "Running");
  th_expect_fail(hcs_ShutdownComputeSystem(h, "s", 300, "second", &err), err,
                 HCS_ERROR_SHUTDOWN_IN_PROGRESS);
  /* A stopping system takes no new process. */
  const char *args2[] = {TH_HELPER("cli_exit"), "0", NULL};
  hcs_process_params_t p2 = params_args(args2);
  uint32_t pid2 = 0;
  th_expect_fail(hcs_CreateProcessInComputeSystem(h, "s", false, false, false,
                                                  &p2, &pid2, NULL, NULL, NULL,
                                                  &err),
                 err, HCS_E_INVALID_STATE);
  th_expect_ok(hcs_TerminateComputeSystem(h, "s", 20000, "kill", &err), err);
  assert_state(h, "s", "Stopped");
  th_read_all(&out, &b, 1, 20000);
  cr_assert_str_eq(b.p, "ready\n");
  th_buf_free(&b);
  cr_assert_eq(wait_exit(h, "s", pid), 137);
  th_expect_fail(hcs_ShutdownComputeSystem(h, "s", 1000, NULL, &err), err,
                 HCS_E_SYSTEM_ALREADY_STOPPED);
  th_expect_fail(hcs_TerminateComputeSystem(h, "s", 1000, NULL, &err), err,
                 HCS_E_SYSTEM_ALREADY_STOPPED);
  th_expect_ok(hcs_DeleteComputeSystem(h, "s", &err), err);
  finish(h, fds0);
}

Test(process, shutdown_stops_processes) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  const char *args[] = {TH_HELPER("cli_sleeper"), NULL};
  hcs_process_params_t p = params_args(args);
  hcs_error_t *err = NULL;
  uint32_t pid[3];
  for (int i = 0; i < 3; i++) {
    int out = -1;
    th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", false, true, false,
                                                  &p, &pid[i], NULL, &out, NULL,
                                                  &err),
                 err);
    th_buf_t b = {0};
    th_read_until(out, &b, "ready\n", 20000);
    th_buf_free(&b);
    close(out);
  }
  th_expect_ok(hcs_ShutdownComputeSystem(h, "s", 20000, NULL, &err), err);
  assert_state(h, "s", "Stopped");
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(wait_exit(h, "s", pid[i]), 128 + SIGTERM);
  }
  /* Records not taken by a wait go with the system. */
  th_expect_ok(hcs_DeleteComputeSystem(h, "s", &err), err);
  finish(h, fds0);
}

/* Many callers at once: each thread starts and waits for its processes. */
typedef struct worker_s {
  hcs_t *h;
  int index;
  int ok;
  char why[256];
} worker_t;

enum { WORKERS = 8, PER_WORKER = 50 };

static void *worker_main(void *arg) {
  worker_t *w = arg;
  for (int i = 0; i < PER_WORKER; i++) {
    char code[16];
    int want = (w->index * PER_WORKER + i) % 256;
    snprintf(code, sizeof(code), "%d", want);
    const char *args[] = {TH_HELPER("cli_exit"), code, NULL};
    hcs_process_params_t p = params_args(args);
    hcs_error_t *err = NULL;
    uint32_t pid = 0;
    hcs_result_t r = hcs_CreateProcessInComputeSystem(
        w->h, "s", false, false, false, &p, &pid, NULL, NULL, NULL, &err);
    int32_t got = -1;
    if (r == HCS_OK) {
      r = hcs_WaitForProcessInComputeSystem(w->h, "s", pid, 60000, &got, &err);
    }
    if (r != HCS_OK || got != want) {
      snprintf(w->why, sizeof(w->why), "worker %d run %d: %u %s, code %d/%d",
               w->index, i, (unsigned)r,
               err != NULL ? hcs_error_message(err) : "", got, want);
      hcs_error_free(err);
      return NULL;
    }
  }
  w->ok = 1;
  return NULL;
}

Test(process, calls_from_many_threads) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  pthread_t t[WORKERS];
  worker_t w[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    w[i] = (worker_t){.h = h, .index = i};
    cr_assert_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
  }
  for (int i = 0; i < WORKERS; i++) {
    cr_assert_eq(pthread_join(t[i], NULL), 0);
  }
  for (int i = 0; i < WORKERS; i++) {
    cr_assert(w[i].ok, "%s", w[i].why);
  }
  long long running = -1;
  char st[32];
  inspect(h, "s", st, sizeof(st), &running);
  cr_assert_eq(running, 0);
  finish(h, fds0);
}

/* hcs_close with processes running, unwaited, one ignoring SIGTERM, one
 * on a console, two systems: they are killed and reaped. */
Test(process, close_kills_running) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_CreateComputeSystem(h, "t", TH_DUMMY, &err), err);
  th_expect_ok(hcs_StartComputeSystem(h, "t", &err), err);
  const char *plain[] = {TH_HELPER("cli_sleeper"), NULL};
  const char *stubborn[] = {TH_HELPER("cli_sleeper"), "ignore-term", NULL};
  int held[4];
  int nheld = 0;
  for (int i = 0; i < 4; i++) {
    hcs_process_params_t p = params_args(i % 2 ? stubborn : plain);
    p.emulate_console = i == 3;
    uint32_t pid = 0;
    int out = -1;
    th_expect_ok(hcs_CreateProcessInComputeSystem(h, i < 2 ? "s" : "t", false,
                                                  true, false, &p, &pid, NULL,
                                                  &out, NULL, &err),
                 err);
    th_buf_t b = {0};
    th_read_until(out, &b, "ready", 20000);
    th_buf_free(&b);
    held[nheld++] = out;
  }
  hcs_close(h);
  th_assert_no_child();
  /* The caller's ends stay the caller's; the processes are gone, so each
   * reads EOF (or EIO for the console). */
  th_buf_t rest[4] = {{0}, {0}, {0}, {0}};
  th_read_all(held, rest, nheld, 20000);
  for (int i = 0; i < 4; i++) {
    th_buf_free(&rest[i]);
  }
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

/* hcs_session_start_in: a pumped process of a system, on the engine
 * thread. Its output arrives through the session callbacks, stdin through
 * hcs_session_write, the system's records count it while it runs, and
 * terminating the system reaches it. */
typedef struct pumped_s {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  hcs_t *h;
  const char *id;
  const char *const *args;
  bool use_stdin;
  const char *input;
  hcs_result_t start;
  uint32_t err_code;
  th_buf_t out[3];
  int eofs;
  bool done;
  hcs_process_result_t result;
  hcs_session_t *s;
} pumped_t;

static void pumped_data(hcs_session_t *s, int stream, char *buf, size_t len,
                        void *data) {
  pumped_t *t = data;
  (void)s;
  pthread_mutex_lock(&t->mu);
  if (len == 0) {
    t->eofs++;
  } else {
    th_buf_add(&t->out[stream], buf, len);
  }
  pthread_mutex_unlock(&t->mu);
}

static void pumped_done(hcs_session_t *s, const hcs_process_result_t *r,
                        void *data) {
  pumped_t *t = data;
  pthread_mutex_lock(&t->mu);
  t->result = *r;
  t->done = true;
  t->s = NULL;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  hcs_session_unref(s);
}

static void pumped_start(as_loop_t *loop, void *data) {
  pumped_t *t = data;
  hcs_t *h = t->h;
  (void)loop;
  hcs_process_params_t p = params_args(t->args);
  hcs_session_in_t o = {.use_stdin = t->use_stdin,
                        .use_stdout = true,
                        .use_stderr = true,
                        .cb = {.data = pumped_data, .done = pumped_done},
                        .data = t};
  hcs_error_t *err = NULL;
  hcs_session_t *s = NULL;
  hcs_result_t r = hcs_session_start_in(h, t->id, &p, &o, &s, &err);
  t->err_code = err != NULL ? hcs_error_code(err) : 0;
  hcs_error_free(err);
  if (r == HCS_OK && t->input != NULL) {
    cr_assert_eq(hcs_session_write(s, t->input, strlen(t->input), NULL, NULL),
                 0);
    cr_assert_eq(hcs_session_close_stdin(s), 0);
  }
  pthread_mutex_lock(&t->mu);
  t->start = r;
  t->s = s;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

static void pumped_wait(pumped_t *t, bool for_done) {
  int64_t deadline = th_now_ms() + 20000;
  pthread_mutex_lock(&t->mu);
  while (for_done ? !t->done : t->start == (hcs_result_t)-1) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    cr_assert(th_now_ms() < deadline, "pumped session never %s",
              for_done ? "completed" : "started");
  }
  pthread_mutex_unlock(&t->mu);
}

static void pumped_init(pumped_t *t, hcs_t *h, const char *id,
                        const char *const *args) {
  memset(t, 0, sizeof(*t));
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cv, NULL);
  t->h = h;
  t->id = id;
  t->args = args;
  t->start = (hcs_result_t)-1;
}

static void pumped_fini(pumped_t *t) {
  for (int i = 0; i < 3; i++) {
    th_buf_free(&t->out[i]);
  }
  pthread_mutex_destroy(&t->mu);
  pthread_cond_destroy(&t->cv);
}

Test(process, session_start_in_pumps_a_system_process) {
  int fds0 = th_fd_baseline();
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  th_expect_ok(hcs_CreateComputeSystem(h, "p", TH_DUMMY, &err), err);

  /* Not running yet: refused with the sync call's code; unknown id too. */
  const char *sh[] = {"/bin/sh", "-c",
                      "read line; echo \"out:$line\"; echo err >&2; exit 3",
                      NULL};
  pumped_t t;
  pumped_init(&t, h, "p", sh);
  cr_assert_eq(as_loop_post(hcs_engine_loop(h), pumped_start, &t), 0);
  pumped_wait(&t, false);
  cr_assert_eq(t.start, HCS_E_INVALID_STATE);
  pumped_fini(&t);
  pumped_init(&t, h, "nosuch", sh);
  cr_assert_eq(as_loop_post(hcs_engine_loop(h), pumped_start, &t), 0);
  pumped_wait(&t, false);
  cr_assert_eq(t.start, HCS_E_SYSTEM_NOT_FOUND);
  pumped_fini(&t);
  /* Not from another thread. */
  hcs_process_params_t p0 = params_args(sh);
  hcs_session_in_t o0 = {.use_stdout = true};
  hcs_session_t *s0 = NULL;
  th_expect_fail(hcs_session_start_in(h, "p", &p0, &o0, &s0, &err), err,
                 HCS_WSAEINVAL);

  th_expect_ok(hcs_StartComputeSystem(h, "p", &err), err);
  pumped_init(&t, h, "p", sh);
  t.use_stdin = true;
  t.input = "hello\n";
  cr_assert_eq(as_loop_post(hcs_engine_loop(h), pumped_start, &t), 0);
  pumped_wait(&t, true);
  cr_assert_eq(t.start, HCS_OK);
  cr_assert_eq(t.result.exit_code, 3);
  cr_assert_str_eq(t.out[HCS_STDOUT].p, "out:hello\n");
  cr_assert_str_eq(t.out[HCS_STDERR].p, "err\n");
  cr_assert_eq(t.eofs, 2);
  pumped_fini(&t);
  wait_idle(h, "p");

  /* A running one is one of the system's: terminate reaches it. */
  const char *sleeper[] = {TH_HELPER("cli_sleeper"), "ignore-term", NULL};
  pumped_init(&t, h, "p", sleeper);
  cr_assert_eq(as_loop_post(hcs_engine_loop(h), pumped_start, &t), 0);
  pumped_wait(&t, false);
  cr_assert_eq(t.start, HCS_OK);
  long long running = 0;
  char st[32];
  inspect(h, "p", st, sizeof(st), &running);
  cr_assert_eq(running, 1);
  th_expect_ok(hcs_TerminateComputeSystem(h, "p", 20000, NULL, &err), err);
  pumped_wait(&t, true);
  cr_assert_eq(t.result.signal, SIGKILL);
  cr_assert_eq(t.result.exit_code, 128 + SIGKILL);
  pumped_fini(&t);
  assert_state(h, "p", "Stopped");
  finish(h, fds0);
}
