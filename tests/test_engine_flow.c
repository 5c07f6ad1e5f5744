/* SPDX-License-Identifier: MIT */
/* Flow control (docs/DESIGN.md, process sessions, point 5): a consumer that
 * holds buffers stops the reading at the stream's cap, so memory stays
 * bounded however fast the child writes and however slow the consumer is;
 * and stdin takes a large write followed at once by its close. */
#include "test_engine_util.h"

#include <stdlib.h>
#include <unistd.h>

/* Under ASan the loop and the hashing run several times slower. */
#if TE_ASAN
#define SLOW_TOTAL (256ull << 20)
#else
#define SLOW_TOTAL (1ull << 30)
#endif

enum {
  SLOW_CAP = 1 << 20,
  SLOW_SLACK = 256 << 10, /* in_use may pass the cap by this much */
  SLOW_TICK_MS = 1,
  SLOW_PER_TICK = 4, /* buffers released per tick */
  SLOW_QUEUE = 1024,
};

typedef struct slow_s {
  as_loop_t *loop;
  as_session_t *s;
  uv_timer_t timer;
  struct {
    char *buf;
    size_t len;
  } q[SLOW_QUEUE];
  size_t head, count;
  uint64_t bytes, hash;
  size_t max_in_use, max_held;
  uint64_t ticks, holds, stalls;
  int eof, done, timer_closed;
  as_result_t r;
} slow_t;

static void slow_check_pool(slow_t *sl) {
  as_bufpool_stats_t st;
  as_bufpool_stats(as_loop_pool(sl->loop), &st);
  if (st.in_use > sl->max_in_use) {
    sl->max_in_use = st.in_use;
  }
  cr_assert_leq(st.in_use, SLOW_CAP + SLOW_SLACK,
                "bufpool in_use %zu over the cap %d + %d", st.in_use, SLOW_CAP,
                SLOW_SLACK);
  size_t held = as_session_held(sl->s, AS_STDOUT);
  if (held > sl->max_held) {
    sl->max_held = held;
  }
}

static void slow_data(as_session_t *s, int stream, char *buf, size_t len,
                      void *data) {
  slow_t *sl = data;
  cr_assert_eq(stream, AS_STDOUT);
  if (len == 0) {
    sl->eof = 1;
    return;
  }
  cr_assert_lt(sl->count, SLOW_QUEUE, "more buffers held than the cap allows");
  as_session_hold(s, stream, buf);
  sl->q[(sl->head + sl->count) % SLOW_QUEUE].buf = buf;
  sl->q[(sl->head + sl->count) % SLOW_QUEUE].len = len;
  sl->count++;
  sl->holds++;
  slow_check_pool(sl);
}

static void slow_done(as_session_t *s, const as_result_t *r, void *data) {
  slow_t *sl = data;
  (void)s;
  sl->done = 1;
  sl->r = *r;
}

static void slow_timer_closed(uv_handle_t *h) {
  slow_t *sl = h->data;
  sl->timer_closed = 1;
}

/* The consumer, slower than any writer: it gives buffers back only once
 * it holds the whole cap (the engine has stopped reading, the writer is
 * blocked) or the session is done; then a few per tick, oldest first,
 * hashed as they go. */
static void slow_tick(uv_timer_t *t) {
  slow_t *sl = t->data;
  sl->ticks++;
  slow_check_pool(sl);
  if (!sl->done && as_session_held(sl->s, AS_STDOUT) < SLOW_CAP) {
    return;
  }
  if (!sl->done) {
    sl->stalls++;
  }
  for (int i = 0; i < SLOW_PER_TICK && sl->count > 0; i++) {
    char *buf = sl->q[sl->head].buf;
    size_t len = sl->q[sl->head].len;
    sl->head = (sl->head + 1) % SLOW_QUEUE;
    sl->count--;
    sl->hash = te_fnv1a(sl->hash, buf, len);
    sl->bytes += len;
    as_session_release(sl->s, AS_STDOUT, buf);
  }
  slow_check_pool(sl);
  if (sl->done && sl->count == 0) {
    uv_close((uv_handle_t *)t, slow_timer_closed);
  }
}

Test(engine_flow, slow_consumer_of_a_fast_writer) {
  const uint64_t seed = 77;
  int fds0 = te_fd_baseline();
  slow_t *sl = calloc(1, sizeof(*sl));
  cr_assert_not_null(sl);
  sl->hash = TE_FNV_BASIS;
  cr_assert_eq(as_loop_new(&sl->loop, NULL), 0);
  char total[32], seed_arg[32];
  snprintf(total, sizeof(total), "%llu", (unsigned long long)SLOW_TOTAL);
  snprintf(seed_arg, sizeof(seed_arg), "%llu", (unsigned long long)seed);
  char *argv[] = {"gen", total, "0", seed_arg, NULL};
  as_spawn_opts_t o = te_opts(HELPER("gen"), argv);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.stream_cap = SLOW_CAP;
  o.cbs.data_cb = slow_data;
  o.cbs.done_cb = slow_done;
  o.data = sl;
  cr_assert_eq(as_session_spawn(sl->loop, &o, &sl->s), 0);
  cr_assert_eq(uv_timer_init(as_loop_uv(sl->loop), &sl->timer), 0);
  sl->timer.data = sl;
  cr_assert_eq(
      uv_timer_start(&sl->timer, slow_tick, SLOW_TICK_MS, SLOW_TICK_MS), 0);
  te_watchdog_t wd;
  te_watchdog_start(sl->loop, &wd, 240000, "slow consumer");
  as_loop_run(sl->loop, 0);
  te_watchdog_stop(&wd);
  cr_assert(sl->done && sl->eof && sl->timer_closed);
  cr_assert_eq(sl->r.exit_code, 0);
  cr_assert_eq(sl->r.output_cut, 0);
  cr_assert_eq(sl->bytes, SLOW_TOTAL, "%llu bytes of %llu",
               (unsigned long long)sl->bytes, (unsigned long long)SLOW_TOTAL);
  cr_assert_eq(sl->hash, te_pattern_hash(seed, 0, SLOW_TOTAL), "bytes differ");
  /* The cap was reached again and again (reading stopped and resumed),
   * and memory stayed near it. */
  cr_assert_geq(sl->max_held, SLOW_CAP, "the consumer never held the cap");
  cr_assert_geq(sl->stalls, 100, "only %llu stalls at the cap",
                (unsigned long long)sl->stalls);
  cr_assert_leq(sl->max_in_use, SLOW_CAP + SLOW_SLACK);
  cr_assert_eq(as_session_held(sl->s, AS_STDOUT), 0);
  as_session_unref(sl->s);
  as_bufpool_stats_t st;
  as_bufpool_stats(as_loop_pool(sl->loop), &st);
  cr_assert_eq(st.in_use, 0);
  cr_assert_leq(st.high_water, SLOW_CAP + SLOW_SLACK);
  cr_log_info("slow consumer: %llu ticks, %llu stalls, %llu buffers, max "
              "in_use %zu",
              (unsigned long long)sl->ticks, (unsigned long long)sl->stalls,
              (unsigned long long)sl->holds, sl->max_in_use);
  as_loop_free(sl->loop);
  free(sl);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* 64 MiB into stdin, close_stdin right after the write call: every byte
 * reaches the child before the EOF. */
typedef struct sum_s {
  te_run_t run;
  int write_status, write_calls;
} sum_t;

static void sum_written(as_session_t *s, int status, void *data) {
  sum_t *su = data;
  (void)s;
  su->write_calls++;
  su->write_status = status;
}

Test(engine_flow, big_stdin_then_close) {
  const size_t n = 64u << 20;
  int fds0 = te_fd_baseline();
  unsigned char *buf = malloc(n);
  cr_assert_not_null(buf);
  te_pattern_t p = te_pattern(99, 0);
  te_pattern_fill(&p, buf, n);
  uint64_t want = te_fnv1a(TE_FNV_BASIS, buf, n);
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {"sumin", NULL};
  as_spawn_opts_t o = te_opts(HELPER("sumin"), argv);
  o.stdio[AS_STDIN] = AS_STDIO_PIPE;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  sum_t su;
  memset(&su, 0, sizeof(su));
  su.write_status = 1;
  te_run_init(&su.run);
  su.run.keep = 1;
  cr_assert_eq(te_spawn(&loop, &o, &su.run), 0);
  cr_assert_eq(as_session_write(su.run.s, buf, n, sum_written, &su), 0);
  cr_assert_eq(as_session_close_stdin(su.run.s), 0);
  /* Closing again, and writing after the close, are refused quietly. */
  cr_assert_eq(as_session_close_stdin(su.run.s), 0);
  cr_assert_eq(as_session_write(su.run.s, buf, 1, sum_written, &su), -EPIPE);
  cr_assert_eq(su.write_calls, 0, "write_cb ran inside the call");
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 120000, "sumin of 64 MiB");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  cr_assert_eq(su.write_calls, 1);
  cr_assert_eq(su.write_status, 0, "write_cb status %d", su.write_status);
  cr_assert(su.run.done);
  cr_assert_eq(su.run.done_r.exit_code, 0);
  char expect[64];
  snprintf(expect, sizeof(expect), "%016llx %zu\n", (unsigned long long)want,
           n);
  cr_assert_str_eq(su.run.out[0], expect);
  as_session_unref(su.run.s);
  as_loop_free(loop);
  free(buf);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* The same through the write-at-once path: a small write that fits the
 * pipe completes from the loop, not inside the call, then close. */
Test(engine_flow, small_stdin_then_close) {
  int fds0 = te_fd_baseline();
  static const char text[] = "hello, stdin";
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {"sumin", NULL};
  as_spawn_opts_t o = te_opts(HELPER("sumin"), argv);
  o.stdio[AS_STDIN] = AS_STDIO_PIPE;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  sum_t su;
  memset(&su, 0, sizeof(su));
  su.write_status = 1;
  te_run_init(&su.run);
  cr_assert_eq(te_spawn(&loop, &o, &su.run), 0);
  cr_assert_eq(
      as_session_write(su.run.s, text, sizeof(text) - 1, sum_written, &su), 0);
  cr_assert_eq(su.write_calls, 0, "write_cb ran inside the call");
  cr_assert_eq(as_session_close_stdin(su.run.s), 0);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 20000, "sumin");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  cr_assert_eq(su.write_calls, 1);
  cr_assert_eq(su.write_status, 0);
  char expect[64];
  snprintf(expect, sizeof(expect), "%016llx %zu\n",
           (unsigned long long)te_fnv1a(TE_FNV_BASIS, text, sizeof(text) - 1),
           sizeof(text) - 1);
  cr_assert_str_eq(su.run.out[0], expect);
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}
