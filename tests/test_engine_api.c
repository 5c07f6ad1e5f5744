/* SPDX-License-Identifier: MIT */
/* The public asynchronous face (hcs_session_* in include/hcs.h) on a
 * service whose loop the caller runs (no_thread): spawn, data, exit, done,
 * stdin, kill, a console and an exec failure, in the public result shape. */
#include "test_engine_util.h"

#include <hcs-async.h>
#include <hcs.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct pub_run_s {
  hcs_t *hcs;
  hcs_session_t *s;
  int exited, done, eof[2], eof_at_done[2], exited_at_done;
  hcs_process_result_t exit_r, done_r;
  uint64_t bytes[2], hash[2];
  char out[256];
  size_t out_n;
  int write_status, write_calls;
  int resize_after_line, resize_err; /* console: resize after line 1 */
} pub_run_t;

static void pub_init(pub_run_t *p, hcs_t *hcs) {
  memset(p, 0, sizeof(*p));
  p->hcs = hcs;
  p->hash[0] = p->hash[1] = TE_FNV_BASIS;
  p->write_status = 1;
}

static void pub_data(hcs_session_t *s, int stream, char *buf, size_t len,
                     void *data) {
  pub_run_t *p = data;
  cr_assert_eq(s, p->s);
  cr_assert(stream == HCS_STDOUT || stream == HCS_STDERR);
  int i = stream - HCS_STDOUT;
  if (len == 0) {
    p->eof[i] = 1;
    return;
  }
  if (i == 0 && p->out_n + len < sizeof(p->out)) {
    memcpy(p->out + p->out_n, buf, len);
    p->out_n += len;
  }
  if (p->resize_after_line && memchr(p->out, '\n', p->out_n) != NULL) {
    p->resize_after_line = 0;
    p->resize_err = hcs_session_resize(s, 41, 133);
  }
  p->bytes[i] += len;
  p->hash[i] = te_fnv1a(p->hash[i], buf, len);
}

static void pub_exit(hcs_session_t *s, const hcs_process_result_t *r,
                     void *data) {
  pub_run_t *p = data;
  cr_assert_eq(s, p->s);
  p->exited = 1;
  p->exit_r = *r;
}

static void pub_done(hcs_session_t *s, const hcs_process_result_t *r,
                     void *data) {
  pub_run_t *p = data;
  cr_assert_eq(s, p->s);
  p->done = 1;
  p->done_r = *r;
  p->eof_at_done[0] = p->eof[0];
  p->eof_at_done[1] = p->eof[1];
  p->exited_at_done = p->exited;
  cr_assert_eq(hcs_session_kill(s, SIGKILL), 0, "kill after the end");
  hcs_session_unref(s);
}

static void pub_written(hcs_session_t *s, int status, void *data) {
  pub_run_t *p = data;
  cr_assert_eq(s, p->s);
  p->write_calls++;
  p->write_status = status;
}

static hcs_session_options_t pub_opts(pub_run_t *p, const char *const *argv) {
  hcs_session_options_t o;
  memset(&o, 0, sizeof(o));
  o.argv = argv;
  o.use_stdout = true;
  o.cb.data = pub_data;
  o.cb.exit = pub_exit;
  o.cb.done = pub_done;
  o.data = p;
  return o;
}

static hcs_t *open_no_thread(void) {
  hcs_t *hcs = NULL;
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_open(&hcs, &(hcs_options_t){.no_thread = true}, &err);
  cr_assert_eq(r, HCS_OK, "hcs_open: %s",
               err != NULL ? hcs_error_message(err) : "?");
  cr_assert_null(err);
  return hcs;
}

Test(engine_api, session_spawn_data_done) {
  int fds0 = te_fd_baseline();
  hcs_t *hcs = open_no_thread();
  pub_run_t gen, sum, killed, missing, con;

  /* A writer on both streams. */
  pub_init(&gen, hcs);
  const char *gen_argv[] = {HELPER("gen"), "3000000", "500000", "11", NULL};
  hcs_session_options_t o = pub_opts(&gen, gen_argv);
  o.use_stderr = true;
  cr_assert_eq(hcs_session_start(hcs, &o, &gen.s), 0);
  cr_assert_gt(hcs_session_pid(gen.s), 0);

  /* A reader of stdin, by name through PATH, with the write queued and
   * stdin closed before the loop runs. */
  pub_init(&sum, hcs);
  static char path_env[] = "PATH=" HCS_TEST_HELPERS_DIR;
  const char *const envp[] = {path_env, NULL};
  const char *sum_argv[] = {"sumin", NULL};
  o = pub_opts(&sum, sum_argv);
  o.envp = envp;
  o.use_stdin = true;
  cr_assert_eq(hcs_session_start(hcs, &o, &sum.s), 0);
  static const char text[] = "through the public face";
  cr_assert_eq(
      hcs_session_write(sum.s, text, sizeof(text) - 1, pub_written, &sum), 0);
  cr_assert_eq(hcs_session_close_stdin(sum.s), 0);
  cr_assert_eq(hcs_session_close_stdin(sum.s), 0);
  cr_assert_eq(sum.write_calls, 0, "write callback inside the call");
  cr_assert_eq(hcs_session_resize(sum.s, 24, 80), -ENOTTY);

  /* A reader that never ends by itself, killed. */
  pub_init(&killed, hcs);
  const char *killed_argv[] = {HELPER("sumin"), NULL};
  o = pub_opts(&killed, killed_argv);
  o.use_stdin = true;
  cr_assert_eq(hcs_session_start(hcs, &o, &killed.s), 0);
  cr_assert_eq(hcs_session_kill(killed.s, SIGKILL), 0);
  cr_assert_eq(hcs_session_kill(killed.s, SIGKILL), 0);

  /* A program that is not there. */
  pub_init(&missing, hcs);
  const char *missing_argv[] = {HELPER("no-such-helper"), NULL};
  o = pub_opts(&missing, missing_argv);
  cr_assert_eq(hcs_session_start(hcs, &o, &missing.s), 0);

  /* A console of a given size. */
  pub_init(&con, hcs);
  const char *con_argv[] = {HELPER("winsz"), NULL};
  o = pub_opts(&con, con_argv);
  o.console = true;
  o.rows = 40;
  o.cols = 132;
  /* winsz prints its size, then waits for a resize to print it again. */
  con.resize_after_line = 1;
  con.resize_err = 1;
  cr_assert_eq(hcs_session_start(hcs, &o, &con.s), 0);

  /* Arguments are checked. */
  hcs_session_t *bad;
  o = pub_opts(&missing, NULL);
  cr_assert_eq(hcs_session_start(hcs, &o, &bad), -EINVAL);

  cr_assert_eq(gen.exited + sum.exited + killed.done + missing.done, 0,
               "a callback ran inside a call");
  alarm(60); /* the loop runs here: no timer to hang a watchdog on */
  cr_assert_eq(as_loop_run(hcs_engine_loop(hcs), 0), 0);
  alarm(0);

  cr_assert(gen.done && gen.exited_at_done);
  cr_assert(gen.eof_at_done[0] && gen.eof_at_done[1]);
  cr_assert_eq(gen.done_r.exit_code, 0);
  cr_assert_eq(gen.done_r.output_cut, false);
  cr_assert_eq(gen.bytes[0], 3000000);
  cr_assert_eq(gen.bytes[1], 500000);
  cr_assert_eq(gen.hash[0], te_pattern_hash(11, 0, 3000000));
  cr_assert_eq(gen.hash[1], te_pattern_hash(11, 1, 500000));

  cr_assert(sum.done);
  cr_assert_eq(sum.done_r.exit_code, 0, "sumin by name: exit %d errno %d",
               sum.done_r.exit_code, sum.done_r.exec_errno);
  cr_assert_eq(sum.write_calls, 1);
  cr_assert_eq(sum.write_status, 0);
  char expect[64];
  snprintf(expect, sizeof(expect), "%016llx %zu\n",
           (unsigned long long)te_fnv1a(TE_FNV_BASIS, text, sizeof(text) - 1),
           sizeof(text) - 1);
  cr_assert_str_eq(sum.out, expect);

  cr_assert(killed.done);
  cr_assert_eq(killed.exit_r.exit_code, 137);
  cr_assert_eq(killed.done_r.exit_code, 137);
  cr_assert_eq(killed.done_r.signal, SIGKILL);

  cr_assert(missing.done);
  cr_assert_eq(missing.done_r.exit_code, HCS_WAIT_ERR_EXEC_FAILED);
  cr_assert_eq(missing.done_r.exec_errno, ENOENT);
  cr_assert_eq(missing.out_n, 0);

  cr_assert(con.done);
  cr_assert_eq(con.done_r.exit_code, 0);
  cr_assert_eq(con.resize_err, 0);
  cr_assert_str_eq(con.out, "40 132\r\n41 133\r\n");

  hcs_close(hcs);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}
