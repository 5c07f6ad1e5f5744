/* SPDX-License-Identifier: MIT */
/* The synchronous process calls on a service of three engine loops: the
 * processes go to each loop in turn (seen in each loop's statistics), and
 * wait, terminate, a console resize, terminating the system and
 * hcs_close reach them wherever they run; a synchronous call from a
 * worker loop's thread is refused; hcs_session_start_in works from each
 * loop's thread. */
#include "test_hcs_util.h"

#include <hcs-async.h>
#include <pthread.h>
#include <signal.h>

enum { LOOPS = 3 };

static hcs_t *open_three(const char *id) {
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  hcs_options_t o = {.size = sizeof(o), .threads = LOOPS};
  th_expect_ok(hcs_open(&h, &o, &err), err);
  cr_assert_eq(hcs_engine_loops(h), LOOPS);
  th_expect_ok(hcs_CreateComputeSystem(h, id, TH_DUMMY, &err), err);
  th_expect_ok(hcs_StartComputeSystem(h, id, &err), err);
  return h;
}

static uint32_t start(hcs_t *h, const char *const *args, bool console, int *in,
                      int *out) {
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = args;
  p.emulate_console = console;
  p.console_size[0] = 33;
  p.console_size[1] = 101;
  hcs_error_t *err = NULL;
  uint32_t pid = 0;
  th_expect_ok(hcs_CreateProcessInComputeSystem(h, "s", in != NULL, out != NULL,
                                                false, &p, &pid, in, out, NULL,
                                                &err),
               err);
  cr_assert_gt(pid, 0);
  return pid;
}

/* Each loop's count of sessions, read on that loop's thread. */
typedef struct count_s {
  hcs_t *h;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int answered;
  size_t sessions[LOOPS];
  hcs_result_t sync_r;
  char sync_msg[256];
} count_t;

static void count_on(as_loop_t *loop, void *data) {
  count_t *c = data;
  hcs_stats_t st;
  hcs_stats(c->h, &st);
  for (int i = 0; i < LOOPS; i++) {
    if (hcs_engine_loop_at(c->h, (uint32_t)i) == loop) {
      pthread_mutex_lock(&c->mu);
      c->sessions[i] = st.sessions;
      c->answered++;
      pthread_cond_signal(&c->cv);
      pthread_mutex_unlock(&c->mu);
    }
  }
}

static void counts(count_t *c) {
  c->answered = 0;
  for (uint32_t i = 0; i < LOOPS; i++) {
    cr_assert_eq(as_loop_post(hcs_engine_loop_at(c->h, i), count_on, c), 0);
  }
  pthread_mutex_lock(&c->mu);
  while (c->answered < LOOPS) {
    pthread_cond_wait(&c->cv, &c->mu);
  }
  pthread_mutex_unlock(&c->mu);
}

Test(loops_sync, spread_wait_terminate_resize) {
  int fds0 = th_fd_baseline();
  static count_t c = {.mu = PTHREAD_MUTEX_INITIALIZER,
                      .cv = PTHREAD_COND_INITIALIZER};
  c.h = open_three("s");
  const char *sleeper[] = {TH_HELPER("cli_sleeper"), NULL};
  uint32_t pid[2 * LOOPS];
  for (int i = 0; i < 2 * LOOPS; i++) {
    pid[i] = start(c.h, sleeper, false, NULL, NULL);
  }
  counts(&c);
  for (int i = 0; i < LOOPS; i++) {
    cr_assert_eq(c.sessions[i], 2, "loop %d holds %zu of the processes", i,
                 c.sessions[i]);
  }
  hcs_error_t *err = NULL;
  for (int i = 0; i < 2 * LOOPS; i++) {
    int32_t code = -1;
    th_expect_fail(
        hcs_WaitForProcessInComputeSystem(c.h, "s", pid[i], 50, &code, &err),
        err, HCS_WAIT_TIMEOUT);
    th_expect_ok(hcs_TerminateProcessInComputeSystem(c.h, "s", pid[i], &err),
                 err);
    hcs_process_result_t res;
    th_expect_ok(hcs_WaitForProcessResult(c.h, "s", pid[i], 30000, &res, &err),
                 err);
    cr_assert_eq(res.exit_code, 137);
    cr_assert_eq(res.signal, SIGKILL);
    th_expect_fail(hcs_TerminateProcessInComputeSystem(c.h, "s", pid[i], &err),
                   err, HCS_ERROR_NOT_FOUND);
  }
  /* A console on each loop: the resize reaches the program. */
  const char *winsz[] = {TH_HELPER("cli_winsz"), NULL};
  for (int i = 0; i < LOOPS; i++) {
    int in = -1, out = -1;
    uint32_t p = start(c.h, winsz, true, &in, &out);
    th_buf_t b = {0};
    th_read_until(out, &b, "SIZE 33 101\n", 20000);
    th_expect_ok(hcs_ResizeConsoleInComputeSystem(c.h, "s", p, 50, 132, &err),
                 err);
    th_write_all(in, "x", 1);
    th_read_until(out, &b, "SIZE 50 132\n", 20000);
    th_write_all(in, "q", 1);
    close(in);
    th_read_all(&out, &b, 1, 20000);
    cr_assert_str_eq(b.p, "SIZE 33 101\nSIZE 50 132\n");
    th_buf_free(&b);
    int32_t code = -1;
    th_expect_ok(
        hcs_WaitForProcessInComputeSystem(c.h, "s", p, 30000, &code, &err),
        err);
    cr_assert_eq(code, 0);
  }
  /* A session is released on its loop just after its result was handed
   * over: the counts fall to 0 a moment later. */
  int64_t deadline = th_now_ms() + 10000;
  for (size_t left = 1; left != 0;) {
    counts(&c);
    left = 0;
    for (int i = 0; i < LOOPS; i++) {
      left += c.sessions[i];
    }
    cr_assert(left == 0 || th_now_ms() < deadline, "%zu sessions kept", left);
  }
  hcs_close(c.h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

/* Terminating the system ends its processes on every loop; close then
 * finds nothing left. */
Test(loops_sync, terminate_system_reaches_every_loop) {
  int fds0 = th_fd_baseline();
  hcs_t *h = open_three("s");
  const char *stubborn[] = {TH_HELPER("cli_sleeper"), "ignore-term", NULL};
  uint32_t pid[2 * LOOPS];
  for (int i = 0; i < 2 * LOOPS; i++) {
    pid[i] = start(h, stubborn, false, NULL, NULL);
  }
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_TerminateComputeSystem(h, "s", 30000, NULL, &err), err);
  for (int i = 0; i < 2 * LOOPS; i++) {
    int32_t code = -1;
    hcs_result_t r =
        hcs_WaitForProcessInComputeSystem(h, "s", pid[i], 30000, &code, &err);
    /* Either its result, or the system took it with it. */
    if (r == HCS_OK) {
      cr_assert_eq(code, 137);
    } else {
      hcs_error_free(err);
      err = NULL;
    }
  }
  hcs_close(h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

/* hcs_close with processes running on every loop, some ignoring SIGTERM,
 * one a console: all go, no fd or child is left. */
Test(loops_sync, close_kills_on_every_loop) {
  int fds0 = th_fd_baseline();
  hcs_t *h = open_three("s");
  const char *stubborn[] = {TH_HELPER("cli_sleeper"), "ignore-term", NULL};
  int held[2 * LOOPS];
  for (int i = 0; i < 2 * LOOPS; i++) {
    held[i] = -1;
    (void)start(h, stubborn, i == 1, NULL, &held[i]);
    th_buf_t b = {0};
    th_read_until(held[i], &b, "ready", 20000);
    th_buf_free(&b);
  }
  hcs_close(h);
  th_assert_no_child();
  th_buf_t rest[2 * LOOPS];
  memset(rest, 0, sizeof(rest));
  th_read_all(held, rest, 2 * LOOPS, 20000);
  for (int i = 0; i < 2 * LOOPS; i++) {
    th_buf_free(&rest[i]);
  }
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

/* A worker loop's thread may not block on loop 0. */
static void sync_from_worker(as_loop_t *loop, void *data) {
  count_t *c = data;
  hcs_error_t *err = NULL;
  const char *args[] = {"/bin/true", NULL};
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = args;
  uint32_t pid = 0;
  hcs_result_t r = hcs_CreateProcessInComputeSystem(
      c->h, "s", false, false, false, &p, &pid, NULL, NULL, NULL, &err);
  pthread_mutex_lock(&c->mu);
  c->sync_r = r;
  snprintf(c->sync_msg, sizeof(c->sync_msg), "%s",
           err != NULL ? hcs_error_message(err) : "");
  c->answered = 1;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  hcs_error_free(err);
  (void)loop;
}

Test(loops_sync, sync_call_from_worker_refused) {
  static count_t c = {.mu = PTHREAD_MUTEX_INITIALIZER,
                      .cv = PTHREAD_COND_INITIALIZER};
  c.h = open_three("s");
  c.answered = 0;
  cr_assert_eq(as_loop_post(hcs_engine_loop_at(c.h, 2), sync_from_worker, &c),
               0);
  pthread_mutex_lock(&c.mu);
  while (!c.answered) {
    pthread_cond_wait(&c.cv, &c.mu);
  }
  pthread_mutex_unlock(&c.mu);
  cr_assert_eq(c.sync_r, HCS_WSAEINVAL);
  cr_assert(strstr(c.sync_msg, "worker loop") != NULL, "%s", c.sync_msg);
  hcs_close(c.h);
  th_assert_no_child();
}

/* hcs_session_start_in from each loop's thread (an exec gateway's worker
 * taking a connection and its exec): each session lives on the loop that
 * started it, its data and done callbacks run on that thread, it counts
 * in that loop's statistics, and the system's terminate reaches the ones
 * still running on worker loops. */
enum { PER = 4 };

typedef struct in_run_s in_run_t;
typedef struct in_one_s {
  in_run_t *run;
  uint32_t loop;
  char out[32];
  size_t n;
  int code;
} in_one_t;

struct in_run_s {
  hcs_t *h;
  in_one_t one[LOOPS][PER + 1];
  pthread_t thread[LOOPS];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done, started, wrong_thread, start_err;
  size_t sessions[LOOPS];
  char why[256];
};

static void in_check(in_one_t *o) {
  if (!pthread_equal(pthread_self(), o->run->thread[o->loop]) ||
      !as_loop_on_thread(hcs_engine_loop_at(o->run->h, o->loop))) {
    pthread_mutex_lock(&o->run->mu);
    o->run->wrong_thread++;
    pthread_mutex_unlock(&o->run->mu);
  }
}

static void in_data(hcs_session_t *s, int stream, char *buf, size_t len,
                    void *data) {
  in_one_t *o = data;
  (void)s;
  (void)stream;
  in_check(o);
  if (len > 0 && o->n + len < sizeof(o->out)) {
    memcpy(o->out + o->n, buf, len);
    o->n += len;
  }
}

static void in_done(hcs_session_t *s, const hcs_process_result_t *res,
                    void *data) {
  in_one_t *o = data;
  in_check(o);
  o->code = res->exit_code;
  hcs_session_unref(s);
  pthread_mutex_lock(&o->run->mu);
  o->run->done++;
  pthread_cond_broadcast(&o->run->cv);
  pthread_mutex_unlock(&o->run->mu);
}

/* On loop i: PER short sessions, and one that sleeps until terminated. */
static void in_start(as_loop_t *loop, void *data) {
  in_one_t *first = data;
  in_run_t *r = first->run;
  uint32_t i = first->loop;
  (void)loop;
  r->thread[i] = pthread_self();
  for (int k = 0; k <= PER; k++) {
    char script[64];
    if (k < PER) {
      snprintf(script, sizeof(script), "echo in%u; exit %d", i, k + 1);
    } else {
      snprintf(script, sizeof(script), "echo up; exec sleep 60");
    }
    const char *args[] = {"/bin/sh", "-c", script, NULL};
    hcs_process_params_t p;
    memset(&p, 0, sizeof(p));
    p.args = args;
    hcs_session_in_t in = {.size = sizeof(in),
                           .use_stdout = true,
                           .cb = {.data = in_data, .done = in_done},
                           .data = &r->one[i][k]};
    hcs_session_t *s = NULL;
    hcs_error_t *err = NULL;
    hcs_result_t hr = hcs_session_start_in(r->h, "s", &p, &in, &s, &err);
    pthread_mutex_lock(&r->mu);
    if (hr != HCS_OK) {
      r->start_err++;
      snprintf(r->why, sizeof(r->why), "%s", hcs_error_message(err));
    }
    pthread_mutex_unlock(&r->mu);
    hcs_error_free(err);
  }
  hcs_stats_t st;
  hcs_stats(r->h, &st);
  pthread_mutex_lock(&r->mu);
  r->sessions[i] = st.sessions;
  r->started++;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void in_wait(in_run_t *r, int *what, int n) {
  pthread_mutex_lock(&r->mu);
  while (*what < n) {
    pthread_cond_wait(&r->cv, &r->mu);
  }
  pthread_mutex_unlock(&r->mu);
}

Test(loops_sync, session_start_in_from_every_loop, .timeout = 120) {
  static in_run_t r = {.mu = PTHREAD_MUTEX_INITIALIZER,
                       .cv = PTHREAD_COND_INITIALIZER};
  int fds0 = th_fd_baseline();
  r.h = open_three("s");
  for (uint32_t i = 0; i < LOOPS; i++) {
    for (int k = 0; k <= PER; k++) {
      r.one[i][k].run = &r;
      r.one[i][k].loop = i;
    }
  }
  for (uint32_t i = 0; i < LOOPS; i++) {
    cr_assert_eq(
        as_loop_post(hcs_engine_loop_at(r.h, i), in_start, &r.one[i][0]), 0);
  }
  in_wait(&r, &r.started, LOOPS);
  cr_assert_eq(r.start_err, 0, "%s", r.why);
  in_wait(&r, &r.done, LOOPS * PER);
  for (uint32_t i = 0; i < LOOPS; i++) {
    cr_assert_eq(r.sessions[i], PER + 1, "loop %u counted %zu sessions", i,
                 r.sessions[i]);
    for (int k = 0; k < PER; k++) {
      char want[16];
      snprintf(want, sizeof(want), "in%u\n", i);
      in_one_t *o = &r.one[i][k];
      cr_assert_eq(o->code, k + 1);
      cr_assert_eq(o->n, strlen(want), "%.*s", (int)o->n, o->out);
      cr_assert_eq(memcmp(o->out, want, o->n), 0);
    }
  }
  /* The sleepers: the system's terminate reaches each loop's. */
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_TerminateComputeSystem(r.h, "s", 30000, NULL, &err), err);
  in_wait(&r, &r.done, LOOPS * (PER + 1));
  for (uint32_t i = 0; i < LOOPS; i++) {
    cr_assert_eq(r.one[i][PER].code, 137, "loop %u: %d", i, r.one[i][PER].code);
  }
  cr_assert_eq(r.wrong_thread, 0, "a callback ran off its session's loop");
  hcs_close(r.h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}
