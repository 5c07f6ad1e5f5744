/* SPDX-License-Identifier: MIT */
/* Teardown (docs/DESIGN.md, process sessions, point 3): kill, close stdin and
 * unref are safe twice and after exit; a kill shows in the result; a
 * detached session is still drained and reaped, and calls nobody. */
#include "test_engine_util.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static const char empty_sum[] = "cbf29ce484222325 0\n";

typedef struct td_s {
  te_run_t run;
  int kill_in_exit, kill_in_done, close_in_done, write_in_done;
} td_t;

static void td_data(as_session_t *s, int stream, char *buf, size_t len,
                    void *data) {
  te_on_data(s, stream, buf, len, &((td_t *)data)->run);
}

static void td_exit(as_session_t *s, const as_result_t *r, void *data) {
  td_t *t = data;
  te_on_exit(s, r, &t->run);
  t->kill_in_exit = as_session_kill(s, SIGKILL);
}

static void td_done(as_session_t *s, const as_result_t *r, void *data) {
  td_t *t = data;
  t->kill_in_done = as_session_kill(s, SIGKILL);
  t->close_in_done = as_session_close_stdin(s);
  t->write_in_done = as_session_write(s, "x", 1, NULL, NULL);
  te_on_done(s, r, &t->run);
}

static void td_spawn(as_loop_t **loopp, td_t *t, char **argv) {
  memset(t, 0, sizeof(*t));
  te_run_init(&t->run);
  t->run.loopp = loopp;
  t->run.keep = 1;
  as_spawn_opts_t o = te_opts(argv[0], argv);
  o.stdio[AS_STDIN] = AS_STDIO_PIPE;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.cbs.data_cb = td_data;
  o.cbs.exit_cb = td_exit;
  o.cbs.done_cb = td_done;
  o.data = t;
  int err = as_session_spawn(*loopp, &o, &t->run.s);
  cr_assert_eq(err, 0, "spawn %s: %s", argv[0], strerror(-err));
}

static void run_loop(as_loop_t *loop, const char *what) {
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 30000, what);
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
}

/* The calls every finished session must take quietly. */
static void check_after_done(td_t *t) {
  cr_assert_eq(t->kill_in_exit, 0, "kill in exit_cb: %d", t->kill_in_exit);
  cr_assert_eq(t->kill_in_done, 0, "kill in done_cb: %d", t->kill_in_done);
  cr_assert_eq(t->close_in_done, 0, "close_stdin in done_cb: %d",
               t->close_in_done);
  cr_assert_eq(t->write_in_done, -EPIPE, "write in done_cb: %d",
               t->write_in_done);
  cr_assert_eq(as_session_kill(t->run.s, SIGKILL), 0);
  cr_assert_eq(as_session_kill(t->run.s, SIGTERM), 0);
  cr_assert_eq(as_session_close_stdin(t->run.s), 0);
  as_result_t r;
  cr_assert(as_session_exited(t->run.s, &r));
  cr_assert_eq(r.exit_code, t->run.done_r.exit_code);
  cr_assert(as_session_done(t->run.s, &r));
  cr_assert_eq(r.signal, t->run.done_r.signal);
}

Test(engine_teardown, kill_twice_then_after_exit) {
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {HELPER("sumin"), NULL};
  td_t t;
  td_spawn(&loop, &t, argv);
  cr_assert(!as_session_exited(t.run.s, NULL));
  cr_assert_eq(as_session_kill(t.run.s, SIGKILL), 0);
  cr_assert_eq(as_session_kill(t.run.s, SIGKILL), 0);
  /* A later, different signal does not change how it died. */
  cr_assert_eq(as_session_kill(t.run.s, SIGTERM), 0);
  cr_assert_eq(as_session_kill(t.run.s, -1), -EINVAL);
  run_loop(loop, "killed sumin");
  cr_assert(t.run.done);
  cr_assert_eq(t.run.done_r.exit_code, 137, "exit %d", t.run.done_r.exit_code);
  cr_assert_eq(t.run.done_r.signal, SIGKILL);
  cr_assert_eq(t.run.done_r.output_cut, 0);
  cr_assert_eq(t.run.bytes[0], 0);
  check_after_done(&t);
  as_session_unref(t.run.s);
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* A kill in the middle of a large output: done after the pipe's EOF, with
 * 137/SIGKILL and nothing cut. */
static void kill_on_data(as_session_t *s, int stream, char *buf, size_t len,
                         void *data) {
  td_t *t = data;
  te_on_data(s, stream, buf, len, &t->run);
  if (len > 0 && t->run.bytes[0] >= (1u << 20) && t->kill_in_exit == 0) {
    t->kill_in_exit = 1;
    cr_assert_eq(as_session_kill(s, SIGKILL), 0);
  }
}

static void kill_done(as_session_t *s, const as_result_t *r, void *data) {
  te_on_done(s, r, &((td_t *)data)->run);
}

Test(engine_teardown, kill_while_writing) {
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {"gen", "1099511627776", "0", "5", NULL};
  as_spawn_opts_t o = te_opts(HELPER("gen"), argv);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  td_t t;
  memset(&t, 0, sizeof(t));
  te_run_init(&t.run);
  t.run.loopp = &loop;
  o.cbs.data_cb = kill_on_data;
  o.cbs.done_cb = kill_done;
  o.data = &t;
  cr_assert_eq(as_session_spawn(loop, &o, &t.run.s), 0);
  run_loop(loop, "gen killed mid-stream");
  cr_assert(t.run.done);
  cr_assert_eq(t.run.done_r.exit_code, 137);
  cr_assert_eq(t.run.done_r.signal, SIGKILL);
  cr_assert_eq(t.run.done_r.output_cut, 0);
  cr_assert(t.run.eof_at_done[0]);
  /* What arrived is a prefix of the pattern. */
  cr_assert_eq(t.run.hash[0], te_pattern_hash(5, 0, t.run.bytes[0]));
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

Test(engine_teardown, close_stdin_twice) {
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {HELPER("sumin"), NULL};
  td_t t;
  td_spawn(&loop, &t, argv);
  cr_assert_eq(as_session_close_stdin(t.run.s), 0);
  cr_assert_eq(as_session_close_stdin(t.run.s), 0);
  cr_assert_eq(as_session_write(t.run.s, "x", 1, NULL, NULL), -EPIPE);
  run_loop(loop, "sumin with stdin closed");
  cr_assert(t.run.done);
  cr_assert_eq(t.run.done_r.exit_code, 0);
  cr_assert_str_eq(t.run.out[0], empty_sum);
  check_after_done(&t);
  /* A session without a console cannot be resized. */
  cr_assert_eq(as_session_resize(t.run.s, 24, 80), -ENOTTY);
  as_session_unref(t.run.s);
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* Detached sessions: unref'd while running, they are still pumped and
 * reaped, and no callback runs. */
typedef struct det_s {
  int data_calls, exit_calls, done_calls;
  int unref_after; /* unref from the data_cb after this many calls */
  as_session_t *s;
} det_t;

static void det_data(as_session_t *s, int stream, char *buf, size_t len,
                     void *data) {
  det_t *d = data;
  (void)stream;
  (void)buf;
  (void)len;
  d->data_calls++;
  if (d->unref_after > 0 && d->data_calls == d->unref_after) {
    as_session_unref(s);
  }
}

static void det_exit(as_session_t *s, const as_result_t *r, void *data) {
  (void)s;
  (void)r;
  ((det_t *)data)->exit_calls++;
}

static void det_done(as_session_t *s, const as_result_t *r, void *data) {
  (void)s;
  (void)r;
  ((det_t *)data)->done_calls++;
}

static as_session_t *det_spawn(as_loop_t *loop, det_t *d, char **argv,
                               int use_stdin) {
  as_spawn_opts_t o = te_opts(argv[0], argv);
  o.stdio[AS_STDIN] = use_stdin ? AS_STDIO_PIPE : AS_STDIO_NULL;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.stdio[AS_STDERR] = AS_STDIO_PIPE;
  o.cbs.data_cb = det_data;
  o.cbs.exit_cb = det_exit;
  o.cbs.done_cb = det_done;
  o.data = d;
  int err = as_session_spawn(loop, &o, &d->s);
  cr_assert_eq(err, 0, "spawn: %s", strerror(-err));
  return d->s;
}

Test(engine_teardown, unref_running_session_is_reaped) {
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  det_t d[4];
  memset(d, 0, sizeof(d));
  /* 0: a writer of 8 MiB + 1 MiB, detached before the loop ran: its output
   * must be drained and discarded or it would block for ever. */
  char *gen_argv[] = {HELPER("gen"), "8388608", "1048576", "3", NULL};
  as_session_unref(det_spawn(loop, &d[0], gen_argv, 0));
  /* 1: the same, detached from its own data_cb. */
  d[1].unref_after = 1;
  det_spawn(loop, &d[1], gen_argv, 0);
  /* 2: a reader of stdin, detached after its stdin close was asked. */
  char *sum_argv[] = {HELPER("sumin"), NULL};
  as_session_t *s2 = det_spawn(loop, &d[2], sum_argv, 1);
  static const char text[] = "bytes written before the detach";
  cr_assert_eq(as_session_write(s2, text, sizeof(text) - 1, NULL, NULL), 0);
  cr_assert_eq(as_session_close_stdin(s2), 0);
  as_session_unref(s2);
  /* 3: a reader of stdin that never ends by itself, detached; only the
   * loop's kill-all ends it. */
  as_session_unref(det_spawn(loop, &d[3], sum_argv, 1));
  cr_assert_eq(as_loop_sessions(loop), 4);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 30000, "detached sessions");
  /* Run until only the endless one is left. */
  while (as_loop_sessions(loop) > 1) {
    uv_run(as_loop_uv(loop), UV_RUN_ONCE);
  }
  cr_assert_eq(as_loop_sessions(loop), 1);
  as_loop_kill_all(loop, SIGKILL);
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  cr_assert_eq(as_loop_sessions(loop), 0);
  for (int i = 0; i < 4; i++) {
    int want_data = i == 1 ? 1 : 0;
    cr_assert_eq(d[i].data_calls, want_data, "session %d: %d data calls", i,
                 d[i].data_calls);
    cr_assert_eq(d[i].exit_calls, 0, "session %d: exit_cb ran", i);
    cr_assert_eq(d[i].done_calls, 0, "session %d: done_cb ran", i);
  }
  as_bufpool_stats_t st;
  as_bufpool_stats(as_loop_pool(loop), &st);
  cr_assert_eq(st.in_use, 0);
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* as_loop_kill_all reaches every running session; finished ones are left
 * alone. */
Test(engine_teardown, kill_all) {
  enum { N = 20 };
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {HELPER("sumin"), NULL};
  td_t *t = calloc(N, sizeof(*t));
  cr_assert_not_null(t);
  for (int i = 0; i < N; i++) {
    td_spawn(&loop, &t[i], argv);
  }
  as_loop_kill_all(loop, SIGTERM);
  run_loop(loop, "kill_all");
  for (int i = 0; i < N; i++) {
    cr_assert(t[i].run.done);
    cr_assert_eq(t[i].run.done_r.exit_code, 128 + SIGTERM);
    cr_assert_eq(t[i].run.done_r.signal, SIGTERM);
  }
  /* Finished sessions still referenced: nothing to signal. */
  cr_assert_eq(as_loop_sessions(loop), N);
  as_loop_kill_all(loop, SIGKILL);
  as_loop_run(loop, 0);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(t[i].run.done_r.signal, SIGTERM);
    as_session_unref(t[i].run.s);
  }
  cr_assert_eq(as_loop_sessions(loop), 0);
  as_loop_free(loop);
  free(t);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}
