/* SPDX-License-Identifier: MIT */
/* Error objects, the HcsError equivalent: the code space, the parts
 * (operation, object, cause, errno), the message text, the JSON form, and
 * the contract around err: NULL is accepted by every call, success sets
 * *err to NULL, hcs_error_free(NULL) is a no-op. */
#include "test_hcs_util.h"

#include <jansson.h>

Test(error, code_values) {
  cr_assert_eq(HCS_OK, 0);
  cr_assert_eq(HCS_ERROR_OUTOFMEMORY, 14);
  cr_assert_eq(HCS_ERROR_GEN_FAILURE, 31);
  cr_assert_eq(HCS_ERROR_NOT_SUPPORTED, 50);
  cr_assert_eq(HCS_ERROR_CALL_NOT_IMPLEMENTED, 120);
  cr_assert_eq(HCS_ERROR_ALREADY_EXISTS, 183);
  cr_assert_eq(HCS_ERROR_SHUTDOWN_IN_PROGRESS, 1115);
  cr_assert_eq(HCS_ERROR_NOT_FOUND, 1168);
  cr_assert_eq(HCS_WAIT_TIMEOUT, 258);
  cr_assert_eq(HCS_WSAEINVAL, 10022);
  cr_assert_eq(HCS_WAIT_ERR_EXEC_FAILED, 32767);
  cr_assert_eq(HCS_TIMEOUT_INFINITE, 0xFFFFFFFFu);
  /* The seed's names. */
  cr_assert_eq(WaitErrExecFailed, 32767);
  cr_assert_eq(ERROR_GEN_FAILURE, 31);
  cr_assert_eq(ERROR_SHUTDOWN_IN_PROGRESS, 1115);
  cr_assert_eq(WSAEINVAL, 10022);
  cr_assert_eq(TimeoutInfinite, 0xFFFFFFFFu);
}

/* Checks the parts of e against want_* (NULL: not checked), the message
 * shape and the JSON form; frees e. */
static void check_error(hcs_error_t *e, hcs_result_t want_code,
                        const char *want_op, const char *want_object,
                        const char *want_cause_part, int want_errno) {
  cr_assert_not_null(e);
  cr_assert_eq(hcs_error_code(e), want_code, "code %u, want %u: %s",
               (unsigned)hcs_error_code(e), (unsigned)want_code,
               hcs_error_message(e));
  const char *op = hcs_error_op(e);
  const char *obj = hcs_error_object(e);
  const char *cause = hcs_error_cause(e);
  cr_assert_not_null(op);
  cr_assert_not_null(obj);
  cr_assert_not_null(cause);
  if (want_op != NULL) {
    cr_assert_str_eq(op, want_op);
  }
  if (want_object != NULL) {
    cr_assert_str_eq(obj, want_object);
  }
  if (want_cause_part != NULL) {
    cr_assert(strstr(cause, want_cause_part) != NULL,
              "cause \"%s\" lacks \"%s\"", cause, want_cause_part);
  }
  cr_assert_eq(hcs_error_errno(e), want_errno, "errno %d, want %d",
               hcs_error_errno(e), want_errno);
  /* "<op> failed: <cause> (0x<code>) <object>", no blank without object */
  char msg[2048];
  snprintf(msg, sizeof(msg), "%s failed: %s (0x%x)%s%s", op, cause,
           (unsigned)want_code, obj[0] != '\0' ? " " : "", obj);
  cr_assert_str_eq(hcs_error_message(e), msg);

  char *text = hcs_error_json(e);
  cr_assert_not_null(text);
  json_error_t je;
  json_t *o = json_loads(text, 0, &je);
  cr_assert_not_null(o, "error JSON does not parse: %s: %s", je.text, text);
  cr_assert(json_is_object(o));
  cr_assert_eq(json_object_size(o), 6, "%s", text);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Operation")), op);
  cr_assert(json_is_integer(json_object_get(o, "Code")));
  cr_assert_eq(json_integer_value(json_object_get(o, "Code")),
               (json_int_t)want_code);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Object")), obj);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Cause")), cause);
  cr_assert_eq(json_integer_value(json_object_get(o, "Errno")), want_errno);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Message")), msg);
  json_decref(o);
  hcs_free(text);
  hcs_error_free(e);
}

Test(error, parts_message_and_json) {
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("s");
  hcs_error_t *err = NULL;

  cr_assert_eq(hcs_StartComputeSystem(h, "nosuch", &err),
               HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_str_eq(hcs_error_message(err),
                   "hcs::StartComputeSystem failed: "
                   "no such compute system (0xc037010e) "
                   "id=nosuch");
  check_error(err, HCS_E_SYSTEM_NOT_FOUND, "hcs::StartComputeSystem",
              "id=nosuch", "no such compute system", ENOENT);

  /* No object: no trailing blank. */
  cr_assert_eq(hcs_CreateComputeSystem(h, "a/b", TH_DUMMY, &err),
               HCS_WSAEINVAL);
  cr_assert(strstr(hcs_error_message(err), "(0x2726)") != NULL);
  cr_assert_eq(hcs_error_message(err)[strlen(hcs_error_message(err)) - 1], ')');
  check_error(err, HCS_WSAEINVAL, "hcs::CreateComputeSystem", "",
              "invalid compute system id", EINVAL);

  cr_assert_eq(hcs_CreateComputeSystem(h, "s", TH_DUMMY, &err),
               HCS_E_SYSTEM_ALREADY_EXISTS);
  check_error(err, HCS_E_SYSTEM_ALREADY_EXISTS, "hcs::CreateComputeSystem",
              "id=s", NULL, EEXIST);

  cr_assert_eq(hcs_StartComputeSystem(h, "s", &err), HCS_E_INVALID_STATE);
  check_error(err, HCS_E_INVALID_STATE, "hcs::StartComputeSystem", "id=s",
              "running", EINVAL);

  int32_t code;
  cr_assert_eq(
      hcs_WaitForProcessInComputeSystem(h, "s", 4242, 100, &code, &err),
      HCS_ERROR_NOT_FOUND);
  check_error(err, HCS_ERROR_NOT_FOUND, "hcs::WaitForProcessInComputeSystem",
              "id=s pid=4242", "no such process", ESRCH);

  cr_assert_eq(hcs_TerminateProcessInComputeSystem(h, "s", 4242, &err),
               HCS_ERROR_NOT_FOUND);
  check_error(err, HCS_ERROR_NOT_FOUND, "hcs::TerminateProcessInComputeSystem",
              "id=s pid=4242", NULL, ESRCH);

  /* A wait that times out, on a real process. */
  const char *args[] = {TH_HELPER("cli_sleeper"), NULL};
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = args;
  uint32_t pid = 0;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", false, false, false, &p,
                                                &pid, NULL, NULL, NULL, &err),
               err);
  cr_assert_eq(hcs_WaitForProcessInComputeSystem(h, "s", pid, 50, &code, &err),
               HCS_WAIT_TIMEOUT);
  char obj[64];
  snprintf(obj, sizeof(obj), "id=s pid=%u", (unsigned)pid);
  check_error(err, HCS_WAIT_TIMEOUT, "hcs::WaitForProcessInComputeSystem", obj,
              "still running", ETIMEDOUT);
  th_expect_ok(hcs_TerminateProcessInComputeSystem(h, "s", pid, &err), err);
  th_expect_ok(
      hcs_WaitForProcessInComputeSystem(h, "s", pid, 30000, &code, &err), err);
  cr_assert_eq(code, 137);

  cr_assert_eq(hcs_CreateComputeSystem(h, "hv",
                                       "{\"SystemType\":\"Container\","
                                       "\"IsDummy\":true,\"HvPartition\":true}",
                                       &err),
               HCS_ERROR_NOT_SUPPORTED);
  check_error(err, HCS_ERROR_NOT_SUPPORTED, "hcs::CreateComputeSystem", "id=hv",
              "HvPartition", ENOTSUP);

  /* A memory limit whose bytes would overflow is refused, not wrapped. */
  cr_assert_eq(hcs_CreateComputeSystem(h, "big",
                                       "{\"SystemType\":\"Container\","
                                       "\"MemoryMaximumInMB\":8796093022208}",
                                       &err),
               HCS_WSAEINVAL);
  check_error(err, HCS_WSAEINVAL, "hcs::CreateComputeSystem", "id=big",
              "MemoryMaximumInMB", EINVAL);

  cr_assert_eq(hcs_DeleteComputeSystem(h, "s", &err), HCS_E_INVALID_STATE);
  check_error(err, HCS_E_INVALID_STATE, "hcs::DeleteComputeSystem", "id=s",
              NULL, EBUSY);

  /* Calls that need no service. */
  hcs_guid_t g;
  cr_assert_eq(hcs_guid_parse("not-a-guid", &g, &err), HCS_WSAEINVAL);
  check_error(err, HCS_WSAEINVAL, "hcs::ParseGUID", "", "not-a-guid", EINVAL);
  hcs_process_params_t *pp = NULL;
  cr_assert_eq(hcs_process_params_from_json("{\"Bogus\":1}", &pp, &err),
               HCS_WSAEINVAL);
  cr_assert_null(pp);
  check_error(err, HCS_WSAEINVAL, "hcs::CreateProcessParams", "",
              "Bogus: unknown field", EINVAL);
  cr_assert_eq(hcs_NameToGuid(NULL, &g, &err), HCS_WSAEINVAL);
  check_error(err, HCS_WSAEINVAL, NULL, "", NULL, EINVAL);

  hcs_close(h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0);
}

/* A cause carrying quotes, backslashes, control bytes and UTF-8 (the name
 * of an unknown field, from the caller's document) stays valid JSON and
 * comes back byte for byte. */
Test(error, json_escapes_the_cause) {
  static const char *const docs[] = {
      "{\"we\\\"ird\\\\key\\n\\t\":1}",
      "{\"caf\\u00e9 \\u2603\":true}",
      "{\"ctl\\u0001\\u001f\":0}",
  };
  static const char *const keys[] = {
      "we\"ird\\key\n\t",
      "caf\xc3\xa9 \xe2\x98\x83",
      "ctl\x01\x1f",
  };
  for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    hcs_process_params_t *pp = NULL;
    hcs_error_t *err = NULL;
    cr_assert_eq(hcs_process_params_from_json(docs[i], &pp, &err),
                 HCS_WSAEINVAL, "%s", docs[i]);
    char want[128];
    snprintf(want, sizeof(want), "%s: unknown field", keys[i]);
    cr_assert_str_eq(hcs_error_cause(err), want);
    check_error(err, HCS_WSAEINVAL, "hcs::CreateProcessParams", "", want,
                EINVAL);
  }
}

/* The JSON of an error whose cause quotes the caller's bytes is still
 * JSON when those bytes are not UTF-8 (a C caller's string), or when the
 * cause cuts a quoted value inside a multi-byte character ("%.64s" of a
 * valid UTF-8 SystemType). hcs_error_json may answer NULL only on ENOMEM. */
static void expect_json_of(hcs_error_t *e, const char *op) {
  cr_assert_not_null(e);
  char *text = hcs_error_json(e);
  cr_assert_not_null(text, "hcs_error_json gave NULL for: %s",
                     hcs_error_message(e));
  json_t *o = json_loads(text, 0, NULL);
  cr_assert_not_null(o, "not JSON: %s", text);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Operation")), op);
  cr_assert_eq(json_integer_value(json_object_get(o, "Code")),
               (json_int_t)hcs_error_code(e));
  json_decref(o);
  hcs_free(text);
  hcs_error_free(e);
}

Test(error, json_of_a_cause_that_is_not_utf8) {
  hcs_guid_t g;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_guid_parse("\xff\xfe", &g, &err), HCS_WSAEINVAL);
  expect_json_of(err, "hcs::ParseGUID");

  /* 'a' and 40 two-byte characters: the 64-byte cut falls inside one. */
  char cfg[256];
  int n = snprintf(cfg, sizeof(cfg), "{\"IsDummy\":true,\"SystemType\":\"a");
  for (int i = 0; i < 40; i++) {
    n += snprintf(cfg + n, sizeof(cfg) - (size_t)n, "\xc3\xa9");
  }
  snprintf(cfg + n, sizeof(cfg) - (size_t)n, "\"}");
  hcs_t *h = NULL;
  cr_assert_eq(hcs_open(&h, NULL, NULL), HCS_OK);
  cr_assert_eq(hcs_CreateComputeSystem(h, "x", cfg, &err), HCS_WSAEINVAL);
  cr_assert(strstr(hcs_error_cause(err), "SystemType") != NULL);
  expect_json_of(err, "hcs::CreateComputeSystem");
  hcs_close(h);
}

/* Every call takes err == NULL, failing or not, with the same result. */
Test(error, null_err_everywhere) {
  int fds0 = th_fd_baseline();
  hcs_t *h = NULL;
  cr_assert_eq(hcs_open(NULL, NULL, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_open(&h, NULL, NULL), HCS_OK);
  cr_assert_not_null(h);

  /* The service calls with a NULL service. */
  char *json = NULL;
  uint32_t pid = 0;
  int32_t code = 0;
  hcs_process_result_t res;
  const char *args[] = {TH_HELPER("cli_exit"), "3", NULL};
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = args;
  cr_assert_eq(hcs_CreateComputeSystem(NULL, "x", TH_DUMMY, NULL),
               HCS_WSAEINVAL);
  cr_assert_eq(hcs_StartComputeSystem(NULL, "x", NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_ShutdownComputeSystem(NULL, "x", 1, NULL, NULL),
               HCS_WSAEINVAL);
  cr_assert_eq(hcs_TerminateComputeSystem(NULL, "x", 1, NULL, NULL),
               HCS_WSAEINVAL);
  cr_assert_eq(hcs_DeleteComputeSystem(NULL, "x", NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_ListComputeSystems(NULL, &json, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_InspectComputeSystem(NULL, "x", &json, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_CreateProcessInComputeSystem(NULL, "x", false, false, false,
                                                &p, &pid, NULL, NULL, NULL,
                                                NULL),
               HCS_WSAEINVAL);
  cr_assert_eq(hcs_WaitForProcessInComputeSystem(NULL, "x", 1, 1, &code, NULL),
               HCS_WSAEINVAL);
  cr_assert_eq(hcs_WaitForProcessResult(NULL, "x", 1, 1, &res, NULL),
               HCS_WSAEINVAL);
  cr_assert_eq(hcs_TerminateProcessInComputeSystem(NULL, "x", 1, NULL),
               HCS_WSAEINVAL);
  cr_assert_eq(hcs_ResizeConsoleInComputeSystem(NULL, "x", 1, 2, 3, NULL),
               HCS_WSAEINVAL);

  /* Failures on a live service. */
  cr_assert_eq(hcs_CreateComputeSystem(h, "", TH_DUMMY, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_CreateComputeSystem(h, "x", "{", NULL), HCS_E_INVALID_JSON);
  cr_assert_eq(hcs_CreateComputeSystem(h, "x", NULL, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_StartComputeSystem(h, "x", NULL), HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_eq(hcs_ShutdownComputeSystem(h, "x", 1, NULL, NULL),
               HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_eq(hcs_TerminateComputeSystem(h, "x", 1, NULL, NULL),
               HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "x", NULL), HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_eq(hcs_ListComputeSystems(h, NULL, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_InspectComputeSystem(h, "x", &json, NULL),
               HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "x", false, false, false, &p,
                                                &pid, NULL, NULL, NULL, NULL),
               HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "x", false, false, false,
                                                NULL, &pid, NULL, NULL, NULL,
                                                NULL),
               HCS_WSAEINVAL);
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "x", false, true, false, &p,
                                                &pid, NULL, NULL, NULL, NULL),
               HCS_WSAEINVAL);
  cr_assert_eq(hcs_WaitForProcessInComputeSystem(h, "x", 1, 1, &code, NULL),
               HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_eq(hcs_WaitForProcessResult(h, "x", 1, 1, &res, NULL),
               HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_eq(hcs_TerminateProcessInComputeSystem(h, "x", 1, NULL),
               HCS_E_SYSTEM_NOT_FOUND);
  cr_assert_eq(hcs_ResizeConsoleInComputeSystem(h, "x", 1, 2, 3, NULL),
               HCS_E_SYSTEM_NOT_FOUND);

  /* Successes, then state failures, with NULL. */
  cr_assert_eq(hcs_CreateComputeSystem(h, "x", TH_DUMMY, NULL), HCS_OK);
  cr_assert_eq(hcs_CreateComputeSystem(h, "x", TH_DUMMY, NULL),
               HCS_E_SYSTEM_ALREADY_EXISTS);
  cr_assert_eq(hcs_StartComputeSystem(h, "x", NULL), HCS_OK);
  cr_assert_eq(hcs_StartComputeSystem(h, "x", NULL), HCS_E_INVALID_STATE);
  cr_assert_eq(hcs_ListComputeSystems(h, &json, NULL), HCS_OK);
  hcs_free(json);
  cr_assert_eq(hcs_InspectComputeSystem(h, "x", &json, NULL), HCS_OK);
  hcs_free(json);
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "x", false, false, false, &p,
                                                &pid, NULL, NULL, NULL, NULL),
               HCS_OK);
  cr_assert_eq(hcs_ResizeConsoleInComputeSystem(h, "x", pid, 2, 3, NULL),
               HCS_E_INVALID_STATE);
  cr_assert_eq(hcs_TerminateProcessInComputeSystem(h, "x", pid + 1000000, NULL),
               HCS_ERROR_NOT_FOUND);
  cr_assert_eq(hcs_WaitForProcessResult(h, "x", pid, 30000, &res, NULL),
               HCS_OK);
  cr_assert_eq(res.exit_code, 3);
  cr_assert_eq(hcs_WaitForProcessInComputeSystem(h, "x", pid, 1, &code, NULL),
               HCS_ERROR_NOT_FOUND);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "x", NULL), HCS_E_INVALID_STATE);
  cr_assert_eq(hcs_TerminateComputeSystem(h, "x", 30000, NULL, NULL), HCS_OK);
  cr_assert_eq(hcs_ShutdownComputeSystem(h, "x", 1, NULL, NULL),
               HCS_E_SYSTEM_ALREADY_STOPPED);
  cr_assert_eq(hcs_DeleteComputeSystem(h, "x", NULL), HCS_OK);

  /* Calls without a service. */
  hcs_guid_t g;
  hcs_process_params_t *pp = NULL;
  cr_assert_eq(hcs_NameToGuid(NULL, &g, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_NameToGuid("x", &g, NULL), HCS_OK);
  cr_assert_eq(hcs_guid_parse("nope", &g, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_guid_parse(NULL, &g, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_process_params_from_json("[", &pp, NULL),
               HCS_E_INVALID_JSON);
  cr_assert_null(pp);
  cr_assert_eq(hcs_process_params_from_json("{}", NULL, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_process_params_from_json(NULL, &pp, NULL), HCS_WSAEINVAL);
  cr_assert_eq(hcs_process_params_from_json("{}", &pp, NULL), HCS_OK);
  hcs_process_params_free(pp);

  /* NULL to the freeing calls. */
  hcs_error_free(NULL);
  hcs_free(NULL);
  hcs_process_params_free(NULL);
  cr_assert_null(hcs_process_params_json(NULL));
  hcs_close(NULL);

  hcs_close(h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0);
}

/* On success *err is set to NULL, whatever it held. */
Test(error, success_clears_err) {
  int fds0 = th_fd_baseline();
  static char not_an_error;
  hcs_error_t *const junk = (hcs_error_t *)(void *)&not_an_error;
  hcs_error_t *err = junk;
  hcs_t *h = NULL;
  cr_assert_eq(hcs_open(&h, NULL, &err), HCS_OK);
  cr_assert_null(err);
#define OK(call)                                                               \
  do {                                                                         \
    err = junk;                                                                \
    cr_assert_eq((call), HCS_OK, "%s", #call);                                 \
    cr_assert_null(err, "%s left *err set", #call);                            \
  } while (0)
  char *json = NULL;
  OK(hcs_CreateComputeSystem(h, "x", TH_DUMMY, &err));
  OK(hcs_StartComputeSystem(h, "x", &err));
  OK(hcs_ListComputeSystems(h, &json, &err));
  hcs_free(json);
  OK(hcs_InspectComputeSystem(h, "x", &json, &err));
  hcs_free(json);
  const char *args[] = {TH_HELPER("cli_sleeper"), NULL};
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = args;
  uint32_t pid = 0;
  OK(hcs_CreateProcessInComputeSystem(h, "x", false, false, false, &p, &pid,
                                      NULL, NULL, NULL, &err));
  OK(hcs_TerminateProcessInComputeSystem(h, "x", pid, &err));
  int32_t code = 0;
  OK(hcs_WaitForProcessInComputeSystem(h, "x", pid, 30000, &code, &err));
  cr_assert_eq(code, 137);
  p.emulate_console = true;
  OK(hcs_CreateProcessInComputeSystem(h, "x", false, false, false, &p, &pid,
                                      NULL, NULL, NULL, &err));
  OK(hcs_ResizeConsoleInComputeSystem(h, "x", pid, 30, 90, &err));
  OK(hcs_TerminateProcessInComputeSystem(h, "x", pid, &err));
  hcs_process_result_t res;
  OK(hcs_WaitForProcessResult(h, "x", pid, 30000, &res, &err));
  OK(hcs_ShutdownComputeSystem(h, "x", 30000, "ctx", &err));
  OK(hcs_DeleteComputeSystem(h, "x", &err));
  OK(hcs_CreateComputeSystem(h, "y", TH_DUMMY, &err));
  OK(hcs_StartComputeSystem(h, "y", &err));
  OK(hcs_TerminateComputeSystem(h, "y", 30000, NULL, &err));
  hcs_guid_t g;
  OK(hcs_NameToGuid("name", &g, &err));
  OK(hcs_guid_parse("c2b7ea9e-3f1d-4a5c-8e6b-9d0f4a2c1b7e", &g, &err));
  hcs_process_params_t *pp = NULL;
  OK(hcs_process_params_from_json("{\"CommandLine\":\"a b\"}", &pp, &err));
  hcs_process_params_free(pp);
#undef OK
  hcs_close(h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0);
}
