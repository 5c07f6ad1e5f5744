/* SPDX-License-Identifier: MIT */
/* Shared by the engine suites (tests/test_engine_*.c): leak checks, a
 * watchdog on the loop, the byte pattern of the gen helper, and a session
 * recorder. Every function is static: each suite is its own program. */
#ifndef HCS_TESTS_ENGINE_UTIL_H
#define HCS_TESTS_ENGINE_UTIL_H

#include <hcs-async.h>

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <uv.h>

#if defined(__SANITIZE_ADDRESS__)
#define TE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TE_ASAN 1
#endif
#endif
#ifndef TE_ASAN
#define TE_ASAN 0
#endif

#define TE_UNUSED __attribute__((unused))
#define HELPER(name) HCS_TEST_HELPERS_DIR "/" name

/* Open fds of this process, not counting the one that lists them. */
TE_UNUSED static int te_fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  cr_assert_not_null(d, "opendir /proc/self/fd: %s", strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') {
      n++;
    }
  }
  closedir(d);
  return n - 1;
}

/* The fd count to compare against at the end of a test. libuv opens a
 * process-wide pipe on its first loop (the signal lock of
 * uv__signal_global_once_init) and keeps it: a throwaway loop first makes
 * that pipe part of the baseline. */
TE_UNUSED static int te_fd_baseline(void) {
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  as_loop_free(loop);
  return te_fd_count();
}

/* No child of ours is left, running or zombie. */
TE_UNUSED static void te_assert_no_child(void) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL);
  int err = errno;
  cr_assert(r == -1 && err == ECHILD,
            "a child is left: waitid gave %d (errno %d), pid %d", r, err,
            (int)si.si_pid);
}

/* Raises the fd limit to at least want (the hard limit too, which root
 * may); returns the soft limit now in force. */
TE_UNUSED static rlim_t te_raise_nofile(rlim_t want) {
  struct rlimit rl;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max < want) {
    struct rlimit up = {want, want};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
      return want;
    }
  }
  rl.rlim_cur = rl.rlim_max;
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  return rl.rlim_cur;
}

/* A watchdog: an unreferenced timer that fails the test if the loop is
 * still running when it fires. te_watchdog_stop() closes it and runs one
 * non-blocking loop round, in which the close completes, so the timer may
 * live on the caller's stack. */
typedef struct te_watchdog_s {
  uv_timer_t t;
  const char *what;
  uint64_t ms;
} te_watchdog_t;

static void te_watchdog_fire(uv_timer_t *t) {
  te_watchdog_t *w = t->data;
  cr_assert_fail("watchdog: %s still running after %llu ms", w->what,
                 (unsigned long long)w->ms);
}

TE_UNUSED static void te_watchdog_start(as_loop_t *loop, te_watchdog_t *w,
                                        uint64_t ms, const char *what) {
  w->what = what;
  w->ms = ms;
  cr_assert_eq(uv_timer_init(as_loop_uv(loop), &w->t), 0);
  w->t.data = w;
  cr_assert_eq(uv_timer_start(&w->t, te_watchdog_fire, ms, 0), 0);
  uv_unref((uv_handle_t *)&w->t);
}

TE_UNUSED static void te_watchdog_stop(te_watchdog_t *w) {
  uv_loop_t *uv = w->t.loop;
  uv_close((uv_handle_t *)&w->t, NULL);
  uv_run(uv, UV_RUN_NOWAIT);
}

/* The byte pattern of tests/helpers/gen.c: stream 0 (stdout) and 1
 * (stderr) of seed. */
typedef struct te_pattern_s {
  uint64_t state, word;
  unsigned left;
} te_pattern_t;

TE_UNUSED static uint64_t te_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

TE_UNUSED static te_pattern_t te_pattern(uint64_t seed, int stream) {
  te_pattern_t p = {.state = stream == 0 ? seed : seed ^ 0x9e3779b97f4a7c15ULL};
  return p;
}

TE_UNUSED static void te_pattern_fill(te_pattern_t *p, unsigned char *buf,
                                      size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p->left == 0) {
      p->word = te_splitmix64(&p->state);
      p->left = 8;
    }
    buf[i] = (unsigned char)p->word;
    p->word >>= 8;
    p->left--;
  }
}

#define TE_FNV_BASIS 0xcbf29ce484222325ULL

TE_UNUSED static uint64_t te_fnv1a(uint64_t h, const void *buf, size_t n) {
  const unsigned char *p = buf;
  for (size_t i = 0; i < n; i++) {
    h = (h ^ p[i]) * 0x100000001b3ULL;
  }
  return h;
}

/* FNV-1a of the first n bytes of a gen stream. */
TE_UNUSED static uint64_t te_pattern_hash(uint64_t seed, int stream,
                                          uint64_t n) {
  static unsigned char buf[65536];
  te_pattern_t p = te_pattern(seed, stream);
  uint64_t h = TE_FNV_BASIS;
  while (n > 0) {
    size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
    te_pattern_fill(&p, buf, k);
    h = te_fnv1a(h, buf, k);
    n -= k;
  }
  return h;
}

/* Options with every field zero but the program. */
TE_UNUSED static as_spawn_opts_t te_opts(const char *file, char *const *argv) {
  as_spawn_opts_t o;
  memset(&o, 0, sizeof(o));
  o.file = file;
  o.argv = argv;
  return o;
}

/* A recorder of one session's callbacks: the first TE_OUT_MAX bytes of
 * each stream, counts and hashes of all of them, the order of events. */
enum { TE_OUT_MAX = 8192 };

typedef struct te_run_s {
  as_session_t *s;
  int exited, done;
  int eof[2];          /* stdout, stderr EOF seen */
  int eof_at_done[2];  /* what eof[] said when done_cb ran */
  int exited_at_done;  /* exit_cb had run when done_cb ran */
  int data_after_done; /* a data_cb after done_cb (must stay 0) */
  int keep;            /* done_cb leaves the caller's reference */
  as_result_t exit_r, done_r;
  uint64_t exit_at, done_at; /* loop time, ms */
  uint64_t bytes[2];
  uint64_t hash[2];
  char out[2][TE_OUT_MAX + 1];
  void (*next)(struct te_run_s *run); /* called at the end of done_cb */
  as_loop_t **loopp;
  void *user;
} te_run_t;

TE_UNUSED static void te_run_init(te_run_t *run) {
  memset(run, 0, sizeof(*run));
  run->hash[0] = run->hash[1] = TE_FNV_BASIS;
}

static void te_on_data(as_session_t *s, int stream, char *buf, size_t len,
                       void *data) {
  te_run_t *run = data;
  (void)s;
  cr_assert(stream == AS_STDOUT || stream == AS_STDERR, "stream %d", stream);
  int i = stream - AS_STDOUT;
  if (run->done) {
    run->data_after_done = 1;
  }
  if (len == 0) {
    cr_assert(!run->eof[i], "second EOF on stream %d", stream);
    run->eof[i] = 1;
    return;
  }
  cr_assert(!run->eof[i], "data after EOF on stream %d", stream);
  if (run->bytes[i] < TE_OUT_MAX) {
    size_t room = TE_OUT_MAX - (size_t)run->bytes[i];
    memcpy(run->out[i] + run->bytes[i], buf, len < room ? len : room);
  }
  run->bytes[i] += len;
  run->hash[i] = te_fnv1a(run->hash[i], buf, len);
}

static void te_on_exit(as_session_t *s, const as_result_t *r, void *data) {
  te_run_t *run = data;
  cr_assert(!run->exited, "second exit_cb");
  run->exited = 1;
  run->exit_r = *r;
  run->exit_at = as_loop_now(*run->loopp);
  (void)s;
}

static void te_on_done(as_session_t *s, const as_result_t *r, void *data) {
  te_run_t *run = data;
  cr_assert(!run->done, "second done_cb");
  run->done = 1;
  run->done_r = *r;
  run->done_at = as_loop_now(*run->loopp);
  run->eof_at_done[0] = run->eof[0];
  run->eof_at_done[1] = run->eof[1];
  run->exited_at_done = run->exited;
  if (!run->keep) {
    as_session_unref(s);
    run->s = NULL;
  }
  if (run->next != NULL) {
    run->next(run);
  }
}

/* Spawns with the recorder; loopp must point at the loop for as long as
 * the session calls back. */
TE_UNUSED static int te_spawn(as_loop_t **loopp, as_spawn_opts_t *o,
                              te_run_t *run) {
  run->loopp = loopp;
  o->cbs.data_cb = te_on_data;
  o->cbs.exit_cb = te_on_exit;
  o->cbs.done_cb = te_on_done;
  o->data = run;
  return as_session_spawn(*loopp, o, &run->s);
}

#endif
