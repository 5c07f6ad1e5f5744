/* SPDX-License-Identifier: MIT */
/* Option structs that grow (hcs.h, "Option structs grow"): the size a
 * caller compiled decides what is read; bytes past what the library
 * knows must be zero. */
#include "test_hcs_util.h"

#include <hcs-async.h>
#include <hcs.h>
#include <stddef.h>

/* A caller built against a newer hcs: the struct and one more field. */
typedef struct newer_options_s {
  hcs_options_t known;
  uint64_t added;
} newer_options_t;

Test(opts_size, open_reads_the_callers_layout) {
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  hcs_options_t o = {.size = sizeof(o)};
  cr_assert_eq(hcs_open(&h, &o, &err), HCS_OK);
  hcs_close(h);
  o.size = 0; /* the first layout */
  cr_assert_eq(hcs_open(&h, &o, &err), HCS_OK);
  hcs_close(h);
  /* A caller built before threads was added: its size ends at state_dir. */
  o.size = (uint32_t)offsetof(hcs_options_t, threads);
  o.threads = 65; /* past its size: never read (read, it is refused) */
  cr_assert_eq(hcs_open(&h, &o, &err), HCS_OK, "%s",
               err != NULL ? hcs_error_message(err) : "");
  hcs_close(h);
  o.threads = 0;

  newer_options_t n = {.known = {.size = sizeof(n)}};
  cr_assert_eq(hcs_open(&h, &n.known, &err), HCS_OK,
               "unknown fields left at zero are accepted");
  hcs_close(h);
  n.added = 1;
  cr_assert_eq(hcs_open(&h, &n.known, &err), HCS_WSAEINVAL);
  cr_assert_not_null(err);
  cr_assert(strstr(hcs_error_message(err), "hcs_options_t") != NULL, "%s",
            hcs_error_message(err));
  cr_assert_eq(hcs_error_errno(err), E2BIG);
  hcs_error_free(err);
  err = NULL;

  o.size = 2; /* shorter than any layout */
  cr_assert_eq(hcs_open(&h, &o, &err), HCS_WSAEINVAL);
  cr_assert_eq(hcs_error_errno(err), EINVAL);
  hcs_error_free(err);
}

typedef struct newer_params_s {
  hcs_process_params_t known;
  const char *added;
} newer_params_t;

Test(opts_size, process_params_and_sessions) {
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&h, NULL, &err), HCS_OK);
  cr_assert_eq(hcs_CreateComputeSystem(h, "s", TH_DUMMY, &err), HCS_OK);
  cr_assert_eq(hcs_StartComputeSystem(h, "s", &err), HCS_OK);

  const char *args[] = {"/bin/true", NULL};
  newer_params_t n = {.known = {.size = sizeof(n), .args = args}};
  uint32_t pid = 0;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "s", false, false, false,
                                                &n.known, &pid, NULL, NULL,
                                                NULL, &err),
               HCS_OK);
  int32_t code = -1;
  cr_assert_eq(
      hcs_WaitForProcessInComputeSystem(h, "s", pid, 30000, &code, &err),
      HCS_OK);
  cr_assert_eq(code, 0);
  n.added = "something this hcs does not know";
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "s", false, false, false,
                                                &n.known, &pid, NULL, NULL,
                                                NULL, &err),
               HCS_WSAEINVAL);
  cr_assert(strstr(hcs_error_message(err), "hcs_process_params_t") != NULL,
            "%s", hcs_error_message(err));
  hcs_error_free(err);
  err = NULL;

  /* What the library hands out carries its own size. */
  hcs_process_params_t *p = NULL;
  cr_assert_eq(
      hcs_process_params_from_json("{\"CommandLine\":\"true\"}", &p, &err),
      HCS_OK);
  cr_assert_eq(p->size, sizeof(*p));
  hcs_process_params_free(p);

  cr_assert_eq(hcs_TerminateComputeSystem(h, "s", 30000, NULL, &err), HCS_OK);
  hcs_close(h);
}

/* The session calls say -E2BIG and -EINVAL. */
typedef struct newer_session_s {
  hcs_session_options_t known;
  int added;
} newer_session_t;

Test(opts_size, session_start_refuses_unknown_fields) {
  hcs_t *h = NULL;
  cr_assert_eq(hcs_open(&h, &(hcs_options_t){.no_thread = true}, NULL), HCS_OK);
  const char *args[] = {"/bin/true", NULL};
  newer_session_t n = {.known = {.size = sizeof(n), .argv = args}, .added = 7};
  hcs_session_t *s = NULL;
  cr_assert_eq(hcs_session_start(h, &n.known, &s), -E2BIG);
  n.known.size = 1;
  cr_assert_eq(hcs_session_start(h, &n.known, &s), -EINVAL);
  n.added = 0;
  n.known.size = sizeof(n);
  cr_assert_eq(hcs_session_start(h, &n.known, &s), 0);
  hcs_session_unref(s);
  cr_assert_eq(as_loop_run(hcs_engine_loop(h), 0), 0);
  hcs_close(h);
}
