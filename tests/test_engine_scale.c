/* SPDX-License-Identifier: MIT */
/* Scale: 10,000 sessions held open at once on one loop, then completed;
 * every fd, buffer and session comes back. */
#include "test_engine_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

/* Four kinds of session, one in four each, so that 10,000 fit the 20,000
 * fds an unprivileged container allows (no CAP_SYS_RESOURCE to raise it):
 * OWN: its own stdin and stdout pipes (3 fds: 2 pipe ends + pidfd), ended
 *      by closing its stdin;
 * SHARED_OUT: stdin is one pipe shared by all the others (the caller keeps
 *      its write end), stdout piped (2 fds), ended by closing that pipe;
 * KILLED: shared stdin, no stdout (1 fd: the pidfd), ended by SIGKILL;
 * SHARED: shared stdin, no stdout, ended by closing the shared pipe. */
enum { SCALE_N = 10000, OWN = 0, SHARED_OUT, KILLED, SHARED, KINDS };

static const int kind_fds[KINDS] = {3, 2, 1, 1};

static const char empty_sum[] = "cbf29ce484222325 0\n";

typedef struct rec_s {
  as_session_t *s;
  int done, exited;
  as_result_t r;
  size_t n;
  char out[32];
} rec_t;

typedef struct scale_s {
  rec_t rec[SCALE_N];
} scale_t;

static void rec_data(as_session_t *s, int stream, char *buf, size_t len,
                     void *data) {
  rec_t *rec = data;
  (void)s;
  cr_assert_eq(stream, AS_STDOUT);
  if (len > 0 && rec->n + len < sizeof(rec->out)) {
    memcpy(rec->out + rec->n, buf, len);
  }
  rec->n += len;
}

static void rec_exit(as_session_t *s, const as_result_t *r, void *data) {
  (void)s;
  (void)r;
  ((rec_t *)data)->exited = 1;
}

static void rec_done(as_session_t *s, const as_result_t *r, void *data) {
  rec_t *rec = data;
  cr_assert(rec->exited, "done before exit");
  rec->done = 1;
  rec->r = *r;
  as_session_unref(s);
}

static void check_rec(const rec_t *rec, int i) {
  cr_assert(rec->done, "session %d not done", i);
  cr_assert_eq(rec->r.output_cut, 0);
  int kind = i % KINDS;
  if (kind == KILLED) {
    cr_assert_eq(rec->r.exit_code, 137, "session %d: exit %d", i,
                 rec->r.exit_code);
    cr_assert_eq(rec->r.signal, SIGKILL);
    return;
  }
  if (kind == OWN || kind == SHARED_OUT) {
    cr_assert_str_eq(rec->out, empty_sum, "session %d", i);
  }
  cr_assert_eq(rec->r.exit_code, 0, "session %d: exit %d", i, rec->r.exit_code);
  cr_assert_eq(rec->r.signal, 0);
}

Test(engine_scale, ten_thousand_at_once) {
  int want_fds = 0;
  for (int i = 0; i < SCALE_N; i++) {
    want_fds += kind_fds[i % KINDS];
  }
  rlim_t need = (rlim_t)want_fds + 1024;
  rlim_t got = te_raise_nofile(need);
  if (got < need) {
    cr_skip_test("RLIMIT_NOFILE is %llu, this test needs %llu",
                 (unsigned long long)got, (unsigned long long)need);
  }
  int fds0 = te_fd_baseline();
  scale_t *sc = calloc(1, sizeof(*sc));
  cr_assert_not_null(sc);
  int shared[2];
  cr_assert_eq(pipe2(shared, O_CLOEXEC), 0);
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  int fds_loop = te_fd_count();
  as_bufpool_stats_t st0;
  as_bufpool_stats(as_loop_pool(loop), &st0);
  char *argv[] = {"sumin", NULL};
  for (int i = 0; i < SCALE_N; i++) {
    int kind = i % KINDS;
    as_spawn_opts_t o = te_opts(HELPER("sumin"), argv);
    if (kind == OWN) {
      o.stdio[AS_STDIN] = AS_STDIO_PIPE;
    } else {
      o.stdio[AS_STDIN] = AS_STDIO_FD;
      o.stdio_fd[AS_STDIN] = shared[0];
    }
    if (kind == OWN || kind == SHARED_OUT) {
      o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
    }
    o.cbs.data_cb = rec_data;
    o.cbs.exit_cb = rec_exit;
    o.cbs.done_cb = rec_done;
    o.data = &sc->rec[i];
    int err = as_session_spawn(loop, &o, &sc->rec[i].s);
    cr_assert_eq(err, 0, "spawn %d: %s", i, strerror(-err));
  }
  /* All alive at once, each holding its pipe ends and its pidfd, nothing
   * more. */
  cr_assert_eq(as_loop_sessions(loop), SCALE_N);
  cr_assert_eq(te_fd_count(), fds_loop + want_fds,
               "%d fds for %d sessions, want %d", te_fd_count() - fds_loop,
               SCALE_N, want_fds);
  close(shared[0]);
  as_loop_run(loop, 1);
  for (int i = 0; i < SCALE_N; i++) {
    cr_assert(!sc->rec[i].exited, "session %d ended by itself", i);
  }
  for (int i = 0; i < SCALE_N; i++) {
    if (i % KINDS == OWN) {
      cr_assert_eq(as_session_close_stdin(sc->rec[i].s), 0);
    } else if (i % KINDS == KILLED) {
      cr_assert_eq(as_session_kill(sc->rec[i].s, SIGKILL), 0);
    }
  }
  close(shared[1]);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 300000, "10,000 sessions");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  for (int i = 0; i < SCALE_N; i++) {
    check_rec(&sc->rec[i], i);
  }
  cr_assert_eq(as_loop_sessions(loop), 0);
  cr_assert_eq(te_fd_count(), fds_loop - 2);
  as_bufpool_stats_t st;
  as_bufpool_stats(as_loop_pool(loop), &st);
  cr_assert_eq(st.in_use, st0.in_use, "in_use %zu after the run", st.in_use);
  as_loop_free(loop);
  free(sc);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}
