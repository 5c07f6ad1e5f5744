/* SPDX-License-Identifier: MIT */
/* Consoles (docs/DESIGN.md, process sessions, point 7): the size applies before
 * the program starts, a resize reaches it (SIGWINCH and the new size),
 * the last bytes written before exit are drained, and closing stdin gives
 * the console's EOF. */
#include "test_engine_util.h"

#include <stdlib.h>
#include <unistd.h>

typedef struct winsz_s {
  te_run_t run;
  int resized;
  int resize_err;
} winsz_t;

static void winsz_data(as_session_t *s, int stream, char *buf, size_t len,
                       void *data) {
  winsz_t *w = data;
  te_on_data(s, stream, buf, len, &w->run);
  /* Resize once the first size line is complete. */
  if (!w->resized && strchr(w->run.out[0], '\n') != NULL) {
    w->resized = 1;
    w->resize_err = as_session_resize(s, 51, 173);
  }
}

static void winsz_exit(as_session_t *s, const as_result_t *r, void *data) {
  te_on_exit(s, r, &((winsz_t *)data)->run);
}

static void winsz_done(as_session_t *s, const as_result_t *r, void *data) {
  te_on_done(s, r, &((winsz_t *)data)->run);
}

Test(engine_pty, size_before_start_and_resize) {
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {"winsz", NULL};
  as_spawn_opts_t o = te_opts(HELPER("winsz"), argv);
  o.flags = AS_PTY;
  o.rows = 33;
  o.cols = 111;
  o.cbs.data_cb = winsz_data;
  o.cbs.exit_cb = winsz_exit;
  o.cbs.done_cb = winsz_done;
  winsz_t w;
  memset(&w, 0, sizeof(w));
  te_run_init(&w.run);
  w.run.loopp = &loop;
  w.run.keep = 1;
  o.data = &w;
  cr_assert_eq(as_session_spawn(loop, &o, &w.run.s), 0);
  /* Bad sizes are refused. */
  cr_assert_eq(as_session_resize(w.run.s, 0, 80), -EINVAL);
  cr_assert_eq(as_session_resize(w.run.s, 24, 0), -EINVAL);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 20000, "winsz");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  cr_assert(w.run.done);
  cr_assert(w.resized);
  cr_assert_eq(w.resize_err, 0, "resize: %s", strerror(-w.resize_err));
  cr_assert_eq(w.run.done_r.exit_code, 0, "winsz exit %d",
               w.run.done_r.exit_code);
  cr_assert_str_eq(w.run.out[0], "33 111\r\n51 173\r\n");
  /* After the end the console is gone but the call stays safe. */
  int r = as_session_resize(w.run.s, 10, 10);
  cr_assert(r == 0 || r == -ENOTTY || r == -EIO || r == -EBADF,
            "resize after done: %d", r);
  as_session_unref(w.run.s);
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* The last block written right before exit arrives, 1,000 times in a
 * row, 50 consoles at a time. */
enum { BURST_RUNS = 1000, BURST_PAR = 50, BURST_SIZE = 4096 };

typedef struct burst_s {
  as_loop_t *loop;
  te_run_t slots[BURST_PAR];
  char want[BURST_SIZE];
  int started, finished, short_runs, bad;
  uint64_t short_len;
} burst_t;

static void burst_next(te_run_t *run);

static void burst_start(burst_t *b, int slot) {
  static char *argv[] = {"ptyburst", "4096", NULL};
  as_spawn_opts_t o = te_opts(HELPER("ptyburst"), argv);
  o.flags = AS_PTY;
  o.rows = 24;
  o.cols = 80;
  /* EOF must come, not the drain bound: under valgrind on a loaded
   * machine the default bound was seen to pass first. */
  o.drain_ms = 60000;
  te_run_t *run = &b->slots[slot];
  te_run_init(run);
  run->next = burst_next;
  run->user = b;
  b->started++;
  int err = te_spawn(&b->loop, &o, run);
  cr_assert_eq(err, 0, "spawn %d: %s", b->started, strerror(-err));
}

static void burst_next(te_run_t *run) {
  burst_t *b = run->user;
  b->finished++;
  cr_assert_eq(run->done_r.exit_code, 0);
  cr_assert(run->eof_at_done[0], "console done before EOF");
  if (run->bytes[0] != BURST_SIZE) {
    b->short_runs++;
    b->short_len = run->bytes[0];
  } else if (memcmp(run->out[0], b->want, BURST_SIZE) != 0) {
    b->bad++;
  }
  if (b->started < BURST_RUNS) {
    burst_start(b, (int)(run - b->slots));
  }
}

Test(engine_pty, last_bytes_before_exit_arrive) {
  te_raise_nofile(4096);
  int fds0 = te_fd_baseline();
  burst_t *b = calloc(1, sizeof(*b));
  cr_assert_not_null(b);
  for (int i = 0; i < BURST_SIZE - 8; i++) {
    b->want[i] = (char)('a' + i % 26);
  }
  memcpy(b->want + BURST_SIZE - 8, "#MARKER#", 8);
  cr_assert_eq(as_loop_new(&b->loop, NULL), 0);
  for (int i = 0; i < BURST_PAR; i++) {
    burst_start(b, i);
  }
  te_watchdog_t wd;
  te_watchdog_start(b->loop, &wd, 300000, "1,000 console bursts");
  as_loop_run(b->loop, 0);
  te_watchdog_stop(&wd);
  cr_assert_eq(b->finished, BURST_RUNS);
  cr_assert_eq(b->short_runs, 0,
               "%d of %d runs lost their last bytes (one gave %llu)",
               b->short_runs, BURST_RUNS, (unsigned long long)b->short_len);
  cr_assert_eq(b->bad, 0, "%d runs gave wrong bytes", b->bad);
  cr_assert_eq(as_loop_sessions(b->loop), 0);
  as_loop_free(b->loop);
  free(b);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* Closing a console's stdin sends its EOF character: a program reading to
 * EOF ends. The console echoes the line. */
Test(engine_pty, close_stdin_gives_eof) {
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {"sumin", NULL};
  as_spawn_opts_t o = te_opts(HELPER("sumin"), argv);
  o.flags = AS_PTY;
  te_run_t run;
  te_run_init(&run);
  cr_assert_eq(te_spawn(&loop, &o, &run), 0);
  static const char line[] = "hello\n";
  cr_assert_eq(as_session_write(run.s, line, sizeof(line) - 1, NULL, NULL), 0);
  cr_assert_eq(as_session_close_stdin(run.s), 0);
  cr_assert_eq(as_session_close_stdin(run.s), 0);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 20000, "sumin on a console");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  cr_assert(run.done);
  cr_assert_eq(run.done_r.exit_code, 0);
  char expect[64];
  snprintf(expect, sizeof(expect), "hello\r\n%016llx 6\r\n",
           (unsigned long long)te_fnv1a(TE_FNV_BASIS, line, 6));
  cr_assert_str_eq(run.out[0], expect);
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}
