/* SPDX-License-Identifier: MIT */
/* The socket transport in the public API (include/hcs.h,
 * hcs_stdio_transport_t): hcs_session_options_t.stdio_transport,
 * hcs_process_params_t.stdio_transport and "StdioTransport" in
 * CreateProcessParams: honoured (the program's stdout is a socket, every
 * byte arrives), refused by name where it cannot be (an unknown value, a
 * console), and absent from a caller built before the field. */
#include "hcs/api/opts.h"
#include "test_engine_util.h"
#include "test_hcs_util.h"

#include <hcs-async.h>
#include <sys/stat.h>

enum { OUT_N = 8 << 20, SEED = 0x5ad };

/* ---- the JSON field ---- */

Test(stdio_transport, json_field_read_and_written) {
  static const struct {
    const char *doc;
    int want;
  } ok[] = {
      {"{\"CommandLine\":\"x\",\"StdioTransport\":\"Socket\"}",
       HCS_STDIO_SOCKET},
      {"{\"CommandLine\":\"x\",\"StdioTransport\":\"Pipe\"}", HCS_STDIO_PIPE},
      {"{\"CommandLine\":\"x\",\"StdioTransport\":\"\"}", HCS_STDIO_PIPE},
      {"{\"CommandLine\":\"x\"}", HCS_STDIO_PIPE},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    hcs_process_params_t *p = NULL;
    hcs_error_t *err = NULL;
    cr_assert_eq(hcs_process_params_from_json(ok[i].doc, &p, &err), HCS_OK,
                 "%s: %s", ok[i].doc, err ? hcs_error_message(err) : "");
    cr_assert_eq(p->stdio_transport, ok[i].want, "%s", ok[i].doc);
    char *text = hcs_process_params_json(p);
    cr_assert_not_null(text);
    cr_assert_eq(strstr(text, "\"StdioTransport\":\"Socket\"") != NULL,
                 ok[i].want == HCS_STDIO_SOCKET, "%s gave %s", ok[i].doc, text);
    hcs_process_params_t *back = NULL;
    cr_assert_eq(hcs_process_params_from_json(text, &back, &err), HCS_OK);
    cr_assert_eq(back->stdio_transport, ok[i].want);
    hcs_process_params_free(back);
    hcs_free(text);
    hcs_process_params_free(p);
  }
}

Test(stdio_transport, json_bad_values_are_refused) {
  static const char *const bad[] = {
      "{\"StdioTransport\":\"socket\"}",
      "{\"StdioTransport\":\"Pty\"}",
      "{\"StdioTransport\":1}",
      "{\"StdioTransport\":true}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    hcs_process_params_t *p = (hcs_process_params_t *)1;
    hcs_error_t *err = NULL;
    cr_assert_eq(hcs_process_params_from_json(bad[i], &p, &err), HCS_WSAEINVAL,
                 "%s", bad[i]);
    cr_assert_null(p, "%s: half a result came back", bad[i]);
    cr_assert_not_null(strstr(hcs_error_cause(err), "StdioTransport"),
                       "%s: cause \"%s\"", bad[i], hcs_error_cause(err));
    hcs_error_free(err);
  }
  /* A struct with a value no document can say has no text. */
  hcs_process_params_t p = {.size = sizeof(p), .stdio_transport = 7};
  cr_assert_null(hcs_process_params_json(&p));
}

/* ---- hcs_session_start ---- */

typedef struct sess_s {
  uint64_t bytes, hash;
  int eof, done, exit_code;
} sess_t;

static void on_data(hcs_session_t *s, int stream, char *buf, size_t len,
                    void *data) {
  sess_t *x = data;
  (void)s;
  cr_assert_eq(stream, HCS_STDOUT);
  if (len == 0) {
    x->eof = 1;
    return;
  }
  x->bytes += len;
  x->hash = te_fnv1a(x->hash, buf, len);
}

static void on_done(hcs_session_t *s, const hcs_process_result_t *r,
                    void *data) {
  sess_t *x = data;
  x->done = 1;
  x->exit_code = r->exit_code;
  hcs_session_unref(s);
}

/* The program's fd 1: "socket:[...]" or "pipe:[...]". */
static void fd1_kind(pid_t pid, char *link, size_t size) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)pid);
  ssize_t n = readlink(path, link, size - 1);
  cr_assert_gt(n, 0, "readlink %s: %s", path, strerror(errno));
  link[n] = '\0';
}

static void gen_argv(const char *argv[5], char out[32], char seed[32]) {
  snprintf(out, 32, "%d", OUT_N);
  snprintf(seed, 32, "%d", SEED);
  argv[0] = TH_HELPER("gen");
  argv[1] = out;
  argv[2] = "0";
  argv[3] = seed;
  argv[4] = NULL;
}

Test(stdio_transport, session_over_a_socket) {
  int fds0 = th_fd_baseline();
  hcs_t *h = NULL;
  cr_assert_eq(hcs_open(&h, &(hcs_options_t){.no_thread = true}, NULL), HCS_OK);
  char a1[32], a2[32];
  const char *argv[5];
  gen_argv(argv, a1, a2);
  sess_t x = {.hash = TE_FNV_BASIS};
  hcs_session_options_t o = {.size = sizeof(o),
                             .argv = argv,
                             .use_stdout = true,
                             .stdio_transport = HCS_STDIO_SOCKET,
                             .cb = {.data = on_data, .done = on_done},
                             .data = &x};
  hcs_session_t *s = NULL;
  cr_assert_eq(hcs_session_start(h, &o, &s), 0);
  cr_assert_eq(as_loop_run(hcs_engine_loop(h), 0), 0);
  cr_assert(x.done && x.eof);
  cr_assert_eq(x.exit_code, 0);
  cr_assert_eq(x.bytes, (uint64_t)OUT_N);
  cr_assert_eq(x.hash, te_pattern_hash(SEED, 0, OUT_N));

  /* What the program sees, while it waits on its stdin. */
  const char *echo[] = {TH_HELPER("bulkecho"), "0", NULL};
  sess_t y = {.hash = TE_FNV_BASIS};
  o.argv = echo;
  o.use_stdin = true;
  o.data = &y;
  cr_assert_eq(hcs_session_start(h, &o, &s), 0);
  char link[64];
  fd1_kind(hcs_session_pid(s), link, sizeof(link));
  cr_assert_eq(strncmp(link, "socket:[", 8), 0, "fd 1 is %s", link);
  cr_assert_eq(hcs_session_close_stdin(s), 0);
  cr_assert_eq(as_loop_run(hcs_engine_loop(h), 0), 0);
  cr_assert(y.done && y.eof);
  cr_assert_eq(y.exit_code, 0);
  hcs_close(h);
  cr_assert_eq(th_fd_count(), fds0);
  th_assert_no_child();
}

Test(stdio_transport, session_refusals_and_old_callers) {
  hcs_t *h = NULL;
  cr_assert_eq(hcs_open(&h, &(hcs_options_t){.no_thread = true}, NULL), HCS_OK);
  const char *echo[] = {TH_HELPER("bulkecho"), "0", NULL};
  sess_t y = {.hash = TE_FNV_BASIS};
  hcs_session_options_t o = {.size = sizeof(o),
                             .argv = echo,
                             .use_stdin = true,
                             .use_stdout = true,
                             .stdio_transport = 2,
                             .cb = {.data = on_data, .done = on_done},
                             .data = &y};
  hcs_session_t *s = NULL;
  cr_assert_eq(hcs_session_start(h, &o, &s), -EINVAL, "an unknown transport");
  o.stdio_transport = HCS_STDIO_SOCKET;
  o.console = true;
  cr_assert_eq(hcs_session_start(h, &o, &s), -EINVAL, "a socket console");
  o.console = false;
  /* A caller built before the field: its layout ends there, and the
   * bytes after it (here a socket asked) are not read. */
  o.size = (uint32_t)HCS__SESSION_FIRST;
  cr_assert_eq(hcs_session_start(h, &o, &s), 0);
  char link[64];
  fd1_kind(hcs_session_pid(s), link, sizeof(link));
  cr_assert_eq(strncmp(link, "pipe:[", 6), 0, "fd 1 is %s", link);
  cr_assert_eq(hcs_session_close_stdin(s), 0);
  cr_assert_eq(as_loop_run(hcs_engine_loop(h), 0), 0);
  cr_assert(y.done);
  hcs_close(h);
  th_assert_no_child();
}

/* ---- CreateProcessInComputeSystem ---- */

Test(stdio_transport, create_process_from_json) {
  int fds0 = th_fd_baseline();
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&h, NULL, &err), HCS_OK);
  cr_assert_eq(hcs_CreateComputeSystem(h, "st", TH_DUMMY, &err), HCS_OK);
  cr_assert_eq(hcs_StartComputeSystem(h, "st", &err), HCS_OK);
  char doc[512];
  snprintf(doc, sizeof(doc),
           "{\"Args\":[\"%s\",\"%d\",\"0\",\"%d\"],"
           "\"StdioTransport\":\"Socket\"}",
           TH_HELPER("gen"), OUT_N, SEED);
  hcs_process_params_t *p = NULL;
  cr_assert_eq(hcs_process_params_from_json(doc, &p, &err), HCS_OK);
  uint32_t pid = 0;
  int out = -1;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "st", false, true, false, p,
                                                &pid, NULL, &out, NULL, &err),
               HCS_OK, "%s", err ? hcs_error_message(err) : "");
  struct stat sb;
  cr_assert_eq(fstat(out, &sb), 0);
  cr_assert(S_ISSOCK(sb.st_mode), "stdout_fd is no socket");
  static char buf[65536];
  uint64_t got = 0, hash = TE_FNV_BASIS;
  ssize_t n;
  while ((n = read(out, buf, sizeof(buf))) > 0) {
    got += (uint64_t)n;
    hash = te_fnv1a(hash, buf, (size_t)n);
  }
  cr_assert_eq(n, 0);
  close(out);
  cr_assert_eq(got, (uint64_t)OUT_N);
  cr_assert_eq(hash, te_pattern_hash(SEED, 0, OUT_N));
  int32_t code = -1;
  cr_assert_eq(
      hcs_WaitForProcessInComputeSystem(h, "st", pid, 30000, &code, &err),
      HCS_OK);
  cr_assert_eq(code, 0);

  /* A console has no pipes to replace: refused by name, nothing runs. */
  p->emulate_console = true;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "st", true, true, false, p,
                                                &pid, &out, &out, NULL, &err),
               HCS_WSAEINVAL);
  cr_assert_not_null(strstr(hcs_error_cause(err), "StdioTransport"), "%s",
                     hcs_error_cause(err));
  hcs_error_free(err);
  err = NULL;
  p->emulate_console = false;
  /* An unknown value from C, likewise. */
  p->stdio_transport = 9;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, "st", false, true, false, p,
                                                &pid, NULL, &out, NULL, &err),
               HCS_WSAEINVAL);
  cr_assert_not_null(strstr(hcs_error_cause(err), "StdioTransport"), "%s",
                     hcs_error_cause(err));
  hcs_error_free(err);
  err = NULL;
  hcs_process_params_free(p);
  cr_assert_eq(hcs_TerminateComputeSystem(h, "st", 30000, NULL, &err), HCS_OK);
  hcs_close(h);
  cr_assert_eq(th_fd_count(), fds0);
  th_assert_no_child();
}
