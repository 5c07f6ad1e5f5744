/* SPDX-License-Identifier: MIT */
/* Wake-ups of a loop the engine owns (loop.c, issue 16): a wake that only
 * sessions caused costs one epoll_wait, and everything libuv carries
 * (timers, posts from other threads, thread-pool work, closes) still
 * fires, on time, on a loop that otherwise sleeps.
 *
 * The system calls are counted from outside: the scenario runs in a
 * forked child that this process traces (ptrace, PTRACE_SYSCALL stops),
 * counting the child's epoll_wait calls. Only the loop thread is traced:
 * the pool threads and the spawned programs are not (no TRACECLONE). */
#include "test_engine_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { MSG_LEN = 64 };

/* TSan cannot start threads in the fork of a threaded process ("starting
 * new threads after multi-threaded fork is not supported"): the traced
 * scenarios that need a thread are skipped there. */
#if defined(__SANITIZE_THREAD__)
#define WAKE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WAKE_TSAN 1
#endif
#endif
#ifndef WAKE_TSAN
#define WAKE_TSAN 0
#endif

static void skip_threads_under_tsan(void) {
  if (WAKE_TSAN) {
    cr_skip_test("TSan cannot start threads in a fork of this threaded "
                 "process; the count is checked in the other builds");
  }
}

/* A loop whose clock stands still never fires its timers: the case ends
 * by this timeout, since the watchdog is such a timer. */
TestSuite(engine_wake, .timeout = 60);

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A scenario runs in the traced child: it returns 0, or writes why it
 * failed into why and returns 1. No Criterion assertion there. */
typedef int (*scenario_fn)(int arg, char *why, size_t n);

typedef struct traced_s {
  int status; /* the child's wait status */
  long waits; /* epoll_wait, epoll_pwait, epoll_pwait2 entries */
  char why[256];
  int refused; /* ptrace is not allowed here: errno */
} traced_t;

static int is_epoll_wait(uint64_t nr) {
  if (nr == SYS_epoll_pwait) {
    return 1;
  }
#ifdef SYS_epoll_wait
  if (nr == SYS_epoll_wait) {
    return 1;
  }
#endif
#ifdef SYS_epoll_pwait2
  if (nr == SYS_epoll_pwait2) {
    return 1;
  }
#endif
  return 0;
}

/* Follows the child's stops until it ends, counting the entries of the
 * epoll waits. Signals for the child (SIGCHLD of its programs) are passed
 * on. */
static void trace_until_exit(pid_t pid, traced_t *t) {
  for (;;) {
    int st;
    pid_t r = waitpid(pid, &st, __WALL);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    cr_assert_eq(r, pid, "waitpid: %s", strerror(errno));
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      t->status = st;
      return;
    }
    int sig = 0;
    if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
      struct __ptrace_syscall_info info;
      memset(&info, 0, sizeof(info));
      long n =
          ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info);
      cr_assert_gt(n, 0, "PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
      if (info.op == PTRACE_SYSCALL_INFO_ENTRY &&
          is_epoll_wait(info.entry.nr)) {
        t->waits++;
      }
    } else if ((st >> 16) != PTRACE_EVENT_STOP) {
      sig = WSTOPSIG(st);
    }
    cr_assert_eq(ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig), 0,
                 "PTRACE_SYSCALL: %s", strerror(errno));
  }
}

/* Runs fn(arg) in a forked child traced by this process. The child waits
 * on a pipe until the tracing is in place, so that its loop's every
 * system call is seen. */
static traced_t run_traced(scenario_fn fn, int arg) {
  traced_t t;
  memset(&t, 0, sizeof(t));
  int go[2], res[2];
  cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(res, O_CLOEXEC), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    close(go[1]);
    close(res[0]);
    char c;
    if (read(go[0], &c, 1) != 1) {
      _exit(2);
    }
    char why[sizeof(t.why)] = "";
    int rc = fn(arg, why, sizeof(why));
    if (write(res[1], why, strlen(why)) < 0) {
      rc = 3;
    }
    _exit(rc);
  }
  close(go[0]);
  close(res[1]);
  if (ptrace(PTRACE_SEIZE, pid, NULL,
             (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) != 0) {
    t.refused = errno;
    close(go[1]);
    int st;
    (void)waitpid(pid, &st, 0);
    close(res[0]);
    return t;
  }
  cr_assert_eq(ptrace(PTRACE_INTERRUPT, pid, NULL, NULL), 0);
  int st;
  cr_assert_eq(waitpid(pid, &st, __WALL), pid);
  cr_assert(WIFSTOPPED(st), "the child did not stop: status %#x", st);
  cr_assert_eq(ptrace(PTRACE_SYSCALL, pid, NULL, NULL), 0);
  cr_assert_eq(write(go[1], "g", 1), 1);
  close(go[1]);
  trace_until_exit(pid, &t);
  ssize_t n = read(res[0], t.why, sizeof(t.why) - 1);
  t.why[n > 0 ? n : 0] = '\0';
  close(res[0]);
  return t;
}

static traced_t traced_ok(scenario_fn fn, int arg, const char *what) {
  traced_t t = run_traced(fn, arg);
  if (t.refused != 0) {
    cr_skip_test("ptrace is refused here (%s): cannot count %s's system "
                 "calls",
                 strerror(t.refused), what);
  }
  cr_assert(WIFEXITED(t.status) && WEXITSTATUS(t.status) == 0,
            "%s: the traced child ended with status %#x: %s", what, t.status,
            t.why);
  return t;
}

#define FAIL(...)                                                              \
  do {                                                                         \
    snprintf(why, n, __VA_ARGS__);                                             \
    return 1;                                                                  \
  } while (0)

/* How a session of a scenario ended; first in each scenario's state, which
 * is the session's data. */
typedef struct ended_s {
  int done, exit_code;
} ended_t;

static void note_done(as_session_t *s, const as_result_t *r, void *data) {
  ended_t *e = data;
  e->done = 1;
  e->exit_code = r->exit_code;
  as_session_unref(s);
}

/* Echo: one message in flight through cat, trips times. */
typedef struct echo_s {
  ended_t end;
  as_loop_t *loop;
  char msg[MSG_LEN];
  int left;
  size_t got;
  int err;
} echo_t;

static void echo_send(as_session_t *s, echo_t *e) {
  int err = as_session_write(s, e->msg, sizeof(e->msg), NULL, NULL);
  if (err != 0 && e->err == 0) {
    e->err = err;
  }
}

static void echo_data(as_session_t *s, int stream, char *buf, size_t len,
                      void *data) {
  echo_t *e = data;
  (void)stream;
  (void)buf;
  e->got += len;
  if (len == 0 || e->got < sizeof(e->msg)) {
    return;
  }
  e->got -= sizeof(e->msg);
  if (--e->left > 0) {
    echo_send(s, e);
  } else {
    (void)as_session_close_stdin(s);
  }
}

static int echo_trips(int trips, char *why, size_t n) {
  echo_t e;
  memset(&e, 0, sizeof(e));
  memset(e.msg, 'e', sizeof(e.msg));
  e.left = trips;
  if (as_loop_new(&e.loop, NULL) != 0) {
    FAIL("as_loop_new");
  }
  char *argv[] = {"cli_cat", NULL};
  as_spawn_opts_t o = te_opts(HELPER("cli_cat"), argv);
  o.stdio[AS_STDIN] = AS_STDIO_PIPE;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.cbs.data_cb = echo_data;
  o.cbs.done_cb = note_done;
  o.data = &e;
  as_session_t *s;
  int err = as_session_spawn(e.loop, &o, &s);
  if (err != 0) {
    FAIL("spawn cli_cat: %s", strerror(-err));
  }
  echo_send(s, &e);
  as_loop_run(e.loop, 0);
  as_loop_free(e.loop);
  if (!e.end.done || e.err != 0 || e.left != 0 || e.end.exit_code != 0) {
    FAIL("echo: done %d, err %d, %d trips left, exit %d", e.end.done, e.err,
         e.left, e.end.exit_code);
  }
  return 0;
}

enum { TRIPS = 400, SETUP_WAITS = 30 };

/* Before the engine ran libuv's loop itself, each trip cost two waits:
 * libuv's, which found the engine's set ready, then the engine's own. */
Test(engine_wake, echo_round_trip_is_one_epoll_wait) {
  traced_t t = traced_ok(echo_trips, TRIPS, "echo");
  cr_log_info("echo: %ld epoll waits for %d round trips", t.waits, TRIPS);
  /* At least one wait a trip: the count is real. */
  cr_assert_geq(t.waits, TRIPS, "only %ld waits for %d trips", t.waits, TRIPS);
  cr_assert_leq(t.waits, TRIPS + SETUP_WAITS,
                "%ld epoll waits for %d round trips: more than one a trip",
                t.waits, TRIPS);
}

/* Idle: a keepalive loop with nothing but a timer. The timer starts
 * thread-pool work, whose job posts from its pool thread; the loop returns
 * once the post and the work's completion have both run. */
typedef struct idle_s {
  as_loop_t *loop;
  as_timer_t *timer;
  uint64_t armed_at, fired_at; /* loop time */
  int posted, work_status, work_done, job_ran;
  int post_err;
} idle_t;

static void idle_maybe_end(idle_t *x) {
  if (x->posted && x->work_done) {
    as_timer_free(x->timer);
    as_loop_keepalive(x->loop, 0);
  }
}

static void idle_post(as_loop_t *loop, void *data) {
  idle_t *x = data;
  (void)loop;
  x->posted = 1;
  idle_maybe_end(x);
}

static void idle_job(void *data) {
  idle_t *x = data;
  x->job_ran = 1;
  x->post_err = as_loop_post(x->loop, idle_post, x);
}

static void idle_work_done(as_loop_t *loop, int status, void *data) {
  idle_t *x = data;
  (void)loop;
  x->work_done = 1;
  x->work_status = status;
  idle_maybe_end(x);
}

static void idle_fire(as_timer_t *t, void *data) {
  idle_t *x = data;
  (void)t;
  x->fired_at = as_loop_now(x->loop);
  int err = as_loop_work(x->loop, idle_job, idle_work_done, x);
  if (err != 0) {
    x->work_done = 1;
    x->work_status = err;
  }
}

static int idle_wakes(int ms, char *why, size_t n) {
  idle_t x;
  memset(&x, 0, sizeof(x));
  if (as_loop_new(&x.loop, NULL) != 0 || as_timer_new(x.loop, &x.timer) != 0) {
    FAIL("as_loop_new / as_timer_new");
  }
  as_loop_keepalive(x.loop, 1);
  /* Before the run, the loop's clock is where the loop's making left it:
   * the timer counts from there (libuv's rule), not from now. */
  x.armed_at = as_loop_now(x.loop);
  as_timer_arm(x.timer, (uint64_t)ms, idle_fire, &x);
  as_loop_run(x.loop, 0);
  as_loop_free(x.loop);
  if (x.fired_at == 0) {
    FAIL("the timer never fired");
  }
  if (x.fired_at - x.armed_at < (uint64_t)ms) {
    FAIL("a %d ms timer fired after %llu ms", ms,
         (unsigned long long)(x.fired_at - x.armed_at));
  }
  if (!x.job_ran || x.post_err != 0 || !x.posted || x.work_status != 0) {
    FAIL("job ran %d, post %d (err %d), work status %d", x.job_ran, x.posted,
         x.post_err, x.work_status);
  }
  return 0;
}

/* Each of the timer, the work's completion and the post wakes the loop
 * once or twice (the engine's wait, then libuv's round); a loop that spun
 * while it waited for them would wait thousands of times. */
enum { IDLE_MS = 100, IDLE_WAITS = 20 };

Test(engine_wake, timer_work_and_post_wake_an_idle_loop) {
  skip_threads_under_tsan();
  traced_t t = traced_ok(idle_wakes, IDLE_MS, "idle");
  cr_log_info("idle: %ld epoll waits", t.waits);
  cr_assert_leq(t.waits, IDLE_WAITS, "an idle loop waited %ld times", t.waits);
}

/* Posts from another thread, one at a time: each wakes a sleeping loop.
 * They come through the engine's own set, so each costs one wait (with a
 * uv_async they would cost the engine's wait and libuv's round). */
typedef struct ping_s {
  as_loop_t *loop;
  sem_t back;
  int n, got, err;
} ping_t;

static void ping_cb(as_loop_t *loop, void *data) {
  ping_t *x = data;
  if (++x->got == x->n) {
    as_loop_keepalive(loop, 0);
  }
  sem_post(&x->back);
}

static void *pinger(void *arg) {
  ping_t *x = arg;
  for (int i = 0; i < x->n && x->err == 0; i++) {
    x->err = as_loop_post(x->loop, ping_cb, x);
    while (x->err == 0 && sem_wait(&x->back) != 0) {
    }
  }
  return NULL;
}

static int post_pings(int pings, char *why, size_t n) {
  ping_t x;
  memset(&x, 0, sizeof(x));
  x.n = pings;
  if (as_loop_new(&x.loop, NULL) != 0 || sem_init(&x.back, 0, 0) != 0) {
    FAIL("as_loop_new / sem_init");
  }
  as_loop_keepalive(x.loop, 1);
  pthread_t th;
  if (pthread_create(&th, NULL, pinger, &x) != 0) {
    FAIL("pthread_create");
  }
  as_loop_run(x.loop, 0);
  pthread_join(th, NULL);
  as_loop_free(x.loop);
  sem_destroy(&x.back);
  if (x.err != 0 || x.got != pings) {
    FAIL("%d of %d posts ran, err %d", x.got, pings, x.err);
  }
  return 0;
}

enum { PINGS = 200 };

Test(engine_wake, a_post_is_one_epoll_wait) {
  skip_threads_under_tsan();
  traced_t t = traced_ok(post_pings, PINGS, "posts");
  cr_log_info("posts: %ld epoll waits for %d posts", t.waits, PINGS);
  cr_assert_geq(t.waits, PINGS, "only %ld waits for %d posts", t.waits, PINGS);
  cr_assert_leq(t.waits, PINGS + SETUP_WAITS,
                "%ld epoll waits for %d posts: more than one a post", t.waits,
                PINGS);
}

/* A session alone keeps the loop alive (no keepalive, no libuv handle of
 * the caller's): the loop must sleep on the session, and on a timer that
 * does not keep the loop alive, and not spin. */
typedef struct lone_s {
  ended_t end;
  as_loop_t *loop;
  as_session_t *s;
  as_timer_t *timer;
  int ready;
} lone_t;

static void lone_fire(as_timer_t *t, void *data) {
  lone_t *x = data;
  (void)as_session_kill(x->s, SIGKILL);
  as_timer_free(t);
}

static void lone_data(as_session_t *s, int stream, char *buf, size_t len,
                      void *data) {
  lone_t *x = data;
  (void)s;
  (void)stream;
  (void)buf;
  if (len > 0 && !x->ready) {
    x->ready = 1;
    as_timer_arm(x->timer, IDLE_MS, lone_fire, x);
  }
}

static int lone_session(int arg, char *why, size_t n) {
  lone_t x;
  memset(&x, 0, sizeof(x));
  (void)arg;
  if (as_loop_new(&x.loop, NULL) != 0 || as_timer_new(x.loop, &x.timer) != 0) {
    FAIL("as_loop_new / as_timer_new");
  }
  char *argv[] = {"cli_sleeper", NULL};
  as_spawn_opts_t o = te_opts(HELPER("cli_sleeper"), argv);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.cbs.data_cb = lone_data;
  o.cbs.done_cb = note_done;
  o.data = &x;
  int err = as_session_spawn(x.loop, &o, &x.s);
  if (err != 0) {
    FAIL("spawn cli_sleeper: %s", strerror(-err));
  }
  as_loop_run(x.loop, 0);
  as_loop_free(x.loop);
  if (!x.ready || !x.end.done || x.end.exit_code != 128 + SIGKILL) {
    FAIL("ready %d, done %d, exit %d", x.ready, x.end.done, x.end.exit_code);
  }
  return 0;
}

Test(engine_wake, a_session_alone_keeps_the_loop_asleep) {
  traced_t t = traced_ok(lone_session, 0, "lone session");
  cr_log_info("lone session: %ld epoll waits", t.waits);
  cr_assert_leq(t.waits, IDLE_WAITS, "the loop waited %ld times", t.waits);
}

/* libuv's clock only moves in libuv's rounds; a session event after a
 * long sleep must not find it stale, or a timer armed there counts from
 * before the sleep and fires at once. The event comes from a thread that
 * writes into cat's stdin after a pause: the pause is the stimulus (a long
 * wait in the loop), not a synchronisation. */
enum { LATE_PAUSE_MS = 150, LATE_TIMER_MS = 60 };

typedef struct late_s {
  as_loop_t *loop;
  as_timer_t *timer;
  int in_w; /* the write end of cat's stdin */
  pthread_t writer;
  int joined;
  uint64_t armed_at, fired_at, loop_armed_at, loop_fired_at;
  int done;
} late_t;

static void *late_writer(void *arg) {
  late_t *x = arg;
  struct timespec ts = {0, LATE_PAUSE_MS * 1000000L};
  nanosleep(&ts, NULL);
  /* A failed write leaves the loop waiting: the watchdog reports it. */
  (void)!write(x->in_w, "x", 1);
  return NULL;
}

static void late_fire(as_timer_t *t, void *data) {
  late_t *x = data;
  (void)t;
  x->fired_at = mono_ms();
  x->loop_fired_at = as_loop_now(x->loop);
  /* The writer is done (its byte came back): joined before its fd goes. */
  pthread_join(x->writer, NULL);
  x->joined = 1;
  close(x->in_w);
  x->in_w = -1;
}

static void late_data(as_session_t *s, int stream, char *buf, size_t len,
                      void *data) {
  late_t *x = data;
  (void)s;
  (void)stream;
  (void)buf;
  if (len > 0 && x->armed_at == 0) {
    x->armed_at = mono_ms();
    x->loop_armed_at = as_loop_now(x->loop);
    as_timer_arm(x->timer, LATE_TIMER_MS, late_fire, x);
  }
}

static void late_done(as_session_t *s, const as_result_t *r, void *data) {
  late_t *x = data;
  (void)r;
  x->done = 1;
  as_session_unref(s);
}

Test(engine_wake, a_timer_armed_after_a_long_sleep_counts_from_the_wake) {
  int fds0 = te_fd_baseline();
  late_t x;
  memset(&x, 0, sizeof(x));
  int in[2];
  cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
  x.in_w = in[1];
  cr_assert_eq(as_loop_new(&x.loop, NULL), 0);
  cr_assert_eq(as_timer_new(x.loop, &x.timer), 0);
  char *argv[] = {"cli_cat", NULL};
  as_spawn_opts_t o = te_opts(HELPER("cli_cat"), argv);
  o.stdio[AS_STDIN] = AS_STDIO_FD;
  o.stdio_fd[AS_STDIN] = in[0];
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.cbs.data_cb = late_data;
  o.cbs.done_cb = late_done;
  o.data = &x;
  as_session_t *s;
  cr_assert_eq(as_session_spawn(x.loop, &o, &s), 0);
  close(in[0]);
  cr_assert_eq(pthread_create(&x.writer, NULL, late_writer, &x), 0);
  te_watchdog_t wd;
  te_watchdog_start(x.loop, &wd, 10000, "late timer");
  as_loop_run(x.loop, 0);
  te_watchdog_stop(&wd);
  if (!x.joined) {
    pthread_join(x.writer, NULL);
  }
  as_timer_free(x.timer);
  as_loop_free(x.loop);
  cr_assert(x.done);
  cr_assert_neq(x.fired_at, 0, "the timer never fired");
  /* The timer counts from the wake, a little before the arming (more
   * under valgrind); a clock left at the start of the sleep would make it
   * fire at once. */
  cr_assert_geq(x.fired_at - x.armed_at, LATE_TIMER_MS / 2,
                "a %d ms timer armed after a %d ms sleep fired after %llu ms",
                LATE_TIMER_MS, LATE_PAUSE_MS,
                (unsigned long long)(x.fired_at - x.armed_at));
  cr_assert_geq(x.loop_fired_at - x.loop_armed_at, LATE_TIMER_MS);
  cr_assert_eq(te_fd_count(), fds0, "fds leaked");
  te_assert_no_child();
}

/* Starts cat with msg (a literal, lent until written) on its stdin, then
 * EOF. */
static void cat_once(as_loop_t **loopp, te_run_t *run, const char *msg) {
  te_run_init(run);
  char *argv[] = {"cli_cat", NULL};
  as_spawn_opts_t o = te_opts(HELPER("cli_cat"), argv);
  o.stdio[AS_STDIN] = AS_STDIO_PIPE;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  cr_assert_eq(te_spawn(loopp, &o, run), 0);
  cr_assert_eq(as_session_write(run->s, msg, strlen(msg), NULL, NULL), 0);
  cr_assert_eq(as_session_close_stdin(run->s), 0);
}

/* as_loop_stop ends the run from a callback, a later run goes on where it
 * stopped, and after a run the libuv loop can be driven by uv_run alone:
 * the engine's set is back in libuv's. */
typedef struct stop_s {
  as_loop_t *loop;
  as_timer_t *timer;
  int fired;
} stop_t;

static void stop_fire(as_timer_t *t, void *data) {
  stop_t *x = data;
  (void)t;
  x->fired++;
  as_loop_stop(x->loop);
}

Test(engine_wake, stop_then_run_again_then_uv_run_alone) {
  int fds0 = te_fd_baseline();
  stop_t x;
  memset(&x, 0, sizeof(x));
  cr_assert_eq(as_loop_new(&x.loop, NULL), 0);
  cr_assert_eq(as_timer_new(x.loop, &x.timer), 0);
  as_loop_keepalive(x.loop, 1);
  te_watchdog_t wd;
  te_watchdog_start(x.loop, &wd, 10000, "stop");
  as_timer_arm(x.timer, 5, stop_fire, &x);
  /* Kept alive: only the stop ends the run, and the loop is still alive. */
  cr_assert_neq(as_loop_run(x.loop, 0), 0);
  cr_assert_eq(x.fired, 1);
  as_timer_arm(x.timer, 5, stop_fire, &x);
  cr_assert_neq(as_loop_run(x.loop, 0), 0);
  cr_assert_eq(x.fired, 2);
  /* A once round with nothing due returns at once. */
  cr_assert_neq(as_loop_run(x.loop, 1), 0);
  as_loop_keepalive(x.loop, 0);

  /* A session driven by uv_run alone, after the engine's own runs. */
  te_run_t run;
  cat_once(&x.loop, &run, "hello");
  cr_assert_eq(uv_run(as_loop_uv(x.loop), UV_RUN_DEFAULT), 0);
  cr_assert(run.done);
  cr_assert_eq(run.bytes[0], 5);
  cr_assert_str_eq(run.out[0], "hello");
  te_watchdog_stop(&wd);
  as_timer_free(x.timer);
  as_loop_free(x.loop);
  cr_assert_eq(te_fd_count(), fds0, "fds leaked");
  te_assert_no_child();
}

/* On an embedder's loop the engine's set stays nested in libuv's, and the
 * embedder runs uv_run: a session's events and a post from another thread
 * (its eventfd is in the engine's set) still arrive. */
typedef struct emb_s {
  as_loop_t *loop;
  int posted, post_err;
} emb_t;

static void emb_post(as_loop_t *loop, void *data) {
  emb_t *x = data;
  x->posted = 1;
  as_loop_keepalive(loop, 0);
}

static void *emb_poster(void *arg) {
  emb_t *x = arg;
  x->post_err = as_loop_post(x->loop, emb_post, x);
  return NULL;
}

Test(engine_wake, an_embedders_loop_keeps_the_nesting) {
  int fds0 = te_fd_baseline();
  uv_loop_t uv;
  cr_assert_eq(uv_loop_init(&uv), 0);
  emb_t x = {0};
  cr_assert_eq(as_loop_new(&x.loop, &uv), 0);
  te_run_t run;
  cat_once(&x.loop, &run, "nested");
  as_loop_keepalive(x.loop, 1);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, emb_poster, &x), 0);
  te_watchdog_t wd;
  te_watchdog_start(x.loop, &wd, 10000, "embedder's loop");
  /* Until the session is done and the post has turned keepalive off. */
  cr_assert_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  pthread_join(th, NULL);
  cr_assert_eq(x.post_err, 0);
  cr_assert(x.posted);
  cr_assert(run.done);
  cr_assert_str_eq(run.out[0], "nested");
  te_watchdog_stop(&wd);
  as_loop_free(x.loop);
  cr_assert_eq(uv_loop_close(&uv), 0);
  cr_assert_eq(te_fd_count(), fds0, "fds leaked");
  te_assert_no_child();
}
