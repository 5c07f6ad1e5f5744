/* SPDX-License-Identifier: MIT */
/* Engine loops (hcs_options_t.threads): how many a service runs, that a
 * session started on a loop's thread lives there (its callbacks on that
 * thread, counted in that loop's statistics), that loops run at once, and
 * that hcs_close() ends what the worker loops still run. */
#include <criterion/criterion.h>

#include <errno.h>
#include <hcs-async.h>
#include <hcs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static hcs_t *open_loops(uint32_t threads, bool no_thread) {
  hcs_t *h = NULL;
  hcs_options_t o = {
      .size = sizeof(o), .threads = threads, .no_thread = no_thread};
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&h, &o, &err), HCS_OK, "%s",
               err != NULL ? hcs_error_message(err) : "");
  return h;
}

Test(loops, count_and_range) {
  hcs_t *h = open_loops(3, false);
  cr_assert_eq(hcs_engine_loops(h), 3);
  cr_assert_eq(hcs_engine_loop_at(h, 0), hcs_engine_loop(h));
  cr_assert_not_null(hcs_engine_loop_at(h, 2));
  cr_assert_neq(hcs_engine_loop_at(h, 1), hcs_engine_loop_at(h, 2));
  cr_assert_null(hcs_engine_loop_at(h, 3));
  hcs_close(h);

  cpu_set_t set;
  cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
  uint32_t cpus = (uint32_t)CPU_COUNT(&set);
  h = open_loops(0, false);
  cr_assert_eq(hcs_engine_loops(h), cpus > 64 ? 64 : cpus,
               "default: one loop per CPU");
  hcs_close(h);
  h = open_loops(1, false);
  cr_assert_eq(hcs_engine_loops(h), 1);
  hcs_close(h);
}

Test(loops, too_many_refused) {
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  hcs_options_t o = {.size = sizeof(o), .threads = 65};
  cr_assert_eq(hcs_open(&h, &o, &err), HCS_WSAEINVAL);
  cr_assert_null(h);
  cr_assert(strstr(hcs_error_message(err), "threads") != NULL, "%s",
            hcs_error_message(err));
  hcs_error_free(err);
}

enum { PER_LOOP = 24, LOOPS = 3 };

typedef struct run_s run_t;
typedef struct one_s {
  run_t *run;
  uint32_t loop;
  hcs_session_t *s;
  char out[32];
  size_t n;
  int code;
} one_t;

struct run_s {
  hcs_t *h;
  one_t one[LOOPS][PER_LOOP];
  pthread_t thread[LOOPS];
  atomic_int wrong_thread, done, started_err, sessions_seen[LOOPS];
  atomic_int in_cb[LOOPS], overlap;
  pthread_mutex_t lock;
  pthread_cond_t cond;
};

static void check_thread(one_t *o) {
  run_t *r = o->run;
  if (!as_loop_on_thread(hcs_engine_loop_at(r->h, o->loop)) ||
      !pthread_equal(pthread_self(), r->thread[o->loop])) {
    atomic_fetch_add(&r->wrong_thread, 1);
  }
}

static void on_data(hcs_session_t *s, int stream, char *buf, size_t len,
                    void *data) {
  one_t *o = data;
  (void)s;
  (void)stream;
  check_thread(o);
  if (len > 0 && o->n + len < sizeof(o->out)) {
    memcpy(o->out + o->n, buf, len);
    o->n += len;
  }
}

static void on_done(hcs_session_t *s, const hcs_process_result_t *res,
                    void *data) {
  one_t *o = data;
  run_t *r = o->run;
  check_thread(o);
  o->code = res->exit_code;
  hcs_session_unref(s);
  pthread_mutex_lock(&r->lock);
  atomic_fetch_add(&r->done, 1);
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->lock);
}

/* Runs on loop i: starts its sessions there and notes its thread. */
static void start_on(as_loop_t *loop, void *data) {
  one_t *first = data;
  run_t *r = first->run;
  uint32_t i = first->loop;
  (void)loop;
  r->thread[i] = pthread_self();
  static const char *const argv[] = {"/bin/sh", "-c", "sleep 0.2; echo loop$L",
                                     NULL};
  for (int k = 0; k < PER_LOOP; k++) {
    one_t *o = &r->one[i][k];
    char env[16];
    snprintf(env, sizeof(env), "L=%u", i);
    const char *envp[] = {env, "PATH=/usr/bin:/bin", NULL};
    hcs_session_options_t so = {.size = sizeof(so),
                                .argv = argv,
                                .envp = envp,
                                .use_stdout = true,
                                .cb = {.data = on_data, .done = on_done},
                                .data = o};
    if (hcs_session_start(r->h, &so, &o->s) != 0) {
      atomic_fetch_add(&r->started_err, 1);
    }
  }
  hcs_stats_t st;
  hcs_stats(r->h, &st);
  atomic_store(&r->sessions_seen[i], (int)st.sessions);
}

static void run_on_loops(run_t *r) {
  for (uint32_t i = 0; i < LOOPS; i++) {
    for (int k = 0; k < PER_LOOP; k++) {
      r->one[i][k].run = r;
      r->one[i][k].loop = i;
    }
  }
  for (uint32_t i = 0; i < LOOPS; i++) {
    cr_assert_eq(
        as_loop_post(hcs_engine_loop_at(r->h, i), start_on, &r->one[i][0]), 0);
  }
}

static void wait_all(run_t *r) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 120; /* 72 shells, under sanitizers and load */
  pthread_mutex_lock(&r->lock);
  while (atomic_load(&r->done) < LOOPS * PER_LOOP) {
    cr_assert_neq(pthread_cond_timedwait(&r->cond, &r->lock, &dl), ETIMEDOUT,
                  "only %d sessions done", atomic_load(&r->done));
  }
  pthread_mutex_unlock(&r->lock);
}

static void check_results(run_t *r) {
  cr_assert_eq(atomic_load(&r->started_err), 0);
  cr_assert_eq(atomic_load(&r->wrong_thread), 0,
               "a callback ran off its session's loop");
  for (uint32_t i = 0; i < LOOPS; i++) {
    cr_assert_eq(atomic_load(&r->sessions_seen[i]), PER_LOOP,
                 "loop %u counted %d sessions, not its own %d", i,
                 atomic_load(&r->sessions_seen[i]), PER_LOOP);
    for (uint32_t j = 0; j < i; j++) {
      cr_assert(!pthread_equal(r->thread[i], r->thread[j]),
                "loops %u and %u share a thread", i, j);
    }
    for (int k = 0; k < PER_LOOP; k++) {
      char want[16];
      snprintf(want, sizeof(want), "loop%u\n", i);
      one_t *o = &r->one[i][k];
      cr_assert_eq(o->code, 0);
      cr_assert_eq(o->n, strlen(want));
      cr_assert_eq(memcmp(o->out, want, o->n), 0, "%.*s", (int)o->n, o->out);
    }
  }
}

Test(loops, sessions_stay_on_their_loop) {
  static run_t r = {.lock = PTHREAD_MUTEX_INITIALIZER,
                    .cond = PTHREAD_COND_INITIALIZER};
  r.h = open_loops(LOOPS, false);
  run_on_loops(&r);
  wait_all(&r);
  check_results(&r);
  hcs_close(r.h);
}

/* With no_thread the caller runs loop 0; the others are hcs's threads. */
static void *run_loop0(void *arg) {
  as_loop_run(arg, 0);
  return NULL;
}

static void stop_loop(as_loop_t *loop, void *data) {
  (void)data;
  as_loop_keepalive(loop, 0);
  as_loop_stop(loop);
}

Test(loops, no_thread_keeps_loop0_the_callers) {
  static run_t r = {.lock = PTHREAD_MUTEX_INITIALIZER,
                    .cond = PTHREAD_COND_INITIALIZER};
  r.h = open_loops(LOOPS, true);
  as_loop_t *l0 = hcs_engine_loop(r.h);
  as_loop_keepalive(l0, 1);
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, run_loop0, l0), 0);
  run_on_loops(&r);
  wait_all(&r);
  check_results(&r);
  cr_assert(pthread_equal(r.thread[0], t),
            "loop 0 ran off the caller's thread");
  cr_assert_eq(as_loop_post(l0, stop_loop, NULL), 0);
  pthread_join(t, NULL);
  hcs_close(r.h);
}

/* A session left running on a worker loop is killed by hcs_close, which
 * returns without waiting for the program, and leaves no child. */
static void start_sleeper(as_loop_t *loop, void *data) {
  run_t *r = data;
  (void)loop;
  static const char *const argv[] = {"/bin/sleep", "1000", NULL};
  hcs_session_options_t so = {.size = sizeof(so), .argv = argv};
  hcs_session_t *s;
  if (hcs_session_start(r->h, &so, &s) != 0) {
    atomic_fetch_add(&r->started_err, 1);
  } else {
    atomic_store(&r->sessions_seen[1], hcs_session_pid(s));
    hcs_session_unref(s);
  }
  pthread_mutex_lock(&r->lock);
  atomic_fetch_add(&r->done, 1);
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->lock);
}

Test(loops, close_ends_worker_sessions) {
  static run_t r = {.lock = PTHREAD_MUTEX_INITIALIZER,
                    .cond = PTHREAD_COND_INITIALIZER};
  r.h = open_loops(2, false);
  cr_assert_eq(as_loop_post(hcs_engine_loop_at(r.h, 1), start_sleeper, &r), 0);
  pthread_mutex_lock(&r.lock);
  while (atomic_load(&r.done) == 0) {
    pthread_cond_wait(&r.cond, &r.lock);
  }
  pthread_mutex_unlock(&r.lock);
  cr_assert_eq(atomic_load(&r.started_err), 0);
  pid_t pid = atomic_load(&r.sessions_seen[1]);
  cr_assert_gt(pid, 0);
  cr_assert_eq(kill(pid, 0), 0, "the sleeper runs");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  hcs_close(r.h);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  cr_assert_lt(t1.tv_sec - t0.tv_sec, 10, "close waited for the program");
  cr_assert_eq(kill(pid, 0), -1, "the sleeper outlived hcs_close");
  cr_assert_eq(errno, ESRCH);
  cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a child was left");
  cr_assert_eq(errno, ECHILD);
}
