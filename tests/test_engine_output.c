/* SPDX-License-Identifier: MIT */
/* Output delivery (docs/DESIGN.md, process sessions, points 1 and 6): every
 * byte written arrives, in order, before done_cb; exit is not completion; a
 * grandchild holding a pipe ends the session after the drain timeout with
 * output_cut; no fd of the host crosses into a child. */
#include "test_engine_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* 100 MiB to stdout and 10 MiB to stderr, interleaved in random chunks,
 * then _exit: both streams arrive whole and in order (checked by hash), and
 * done comes only after both EOFs. */
Test(engine_output, big_stdout_and_stderr) {
  const uint64_t out_n = 100ull << 20, err_n = 10ull << 20, seed = 0x1234;
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char a1[32], a2[32], a3[32];
  snprintf(a1, sizeof(a1), "%llu", (unsigned long long)out_n);
  snprintf(a2, sizeof(a2), "%llu", (unsigned long long)err_n);
  snprintf(a3, sizeof(a3), "%llu", (unsigned long long)seed);
  char *argv[] = {"gen", a1, a2, a3, NULL};
  as_spawn_opts_t o = te_opts(HELPER("gen"), argv);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.stdio[AS_STDERR] = AS_STDIO_PIPE;
  te_run_t run;
  te_run_init(&run);
  cr_assert_eq(te_spawn(&loop, &o, &run), 0);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 120000, "110 MiB writer");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  cr_assert(run.done);
  cr_assert(run.exited_at_done, "done before exit");
  cr_assert(run.eof_at_done[0] && run.eof_at_done[1],
            "done before EOF: stdout %d stderr %d", run.eof_at_done[0],
            run.eof_at_done[1]);
  cr_assert_eq(run.done_r.exit_code, 0);
  cr_assert_eq(run.done_r.output_cut, 0);
  cr_assert_eq(run.bytes[0], out_n, "stdout: %llu bytes",
               (unsigned long long)run.bytes[0]);
  cr_assert_eq(run.bytes[1], err_n, "stderr: %llu bytes",
               (unsigned long long)run.bytes[1]);
  cr_assert_eq(run.hash[0], te_pattern_hash(seed, 0, out_n), "stdout differs");
  cr_assert_eq(run.hash[1], te_pattern_hash(seed, 1, err_n), "stderr differs");
  as_bufpool_stats_t st;
  as_bufpool_stats(as_loop_pool(loop), &st);
  cr_assert_eq(st.in_use, 0);
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* 20,000 one-byte writers, 200 at a time: each one's byte arrives (the
 * exit is never taken for the end of output), every session completes.
 * Under ASan a quarter of them, still 25 rounds of 200 at once: there
 * each spawn and exit costs several times more (78 s for the 20,000 on
 * the 2-core CI machine, all of it under the serial lock), and every
 * run takes the same path; the -Werror pass runs the whole volume for
 * the race of the byte with the exit. */
#if TE_ASAN
enum { ONEBYTE_RUNS = 5000, ONEBYTE_PAR = 200 };
#else
enum { ONEBYTE_RUNS = 20000, ONEBYTE_PAR = 200 };
#endif

typedef struct onebyte_s {
  as_loop_t *loop;
  te_run_t slots[ONEBYTE_PAR];
  char seed_arg[ONEBYTE_PAR][24];
  char *argv[ONEBYTE_PAR][5];
  uint64_t seed[ONEBYTE_PAR];
  int started, finished, empty, bad;
} onebyte_t;

static void onebyte_next(te_run_t *run);

static void onebyte_start(onebyte_t *ob, int slot) {
  te_run_t *run = &ob->slots[slot];
  uint64_t seed = (uint64_t)ob->started++ * 7919 + 1;
  ob->seed[slot] = seed;
  snprintf(ob->seed_arg[slot], sizeof(ob->seed_arg[slot]), "%llu",
           (unsigned long long)seed);
  char **argv = ob->argv[slot];
  argv[0] = "gen";
  argv[1] = "1";
  argv[2] = "0";
  argv[3] = ob->seed_arg[slot];
  argv[4] = NULL;
  as_spawn_opts_t o = te_opts(HELPER("gen"), argv);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_init(run);
  run->next = onebyte_next;
  run->user = ob;
  int err = te_spawn(&ob->loop, &o, run);
  cr_assert_eq(err, 0, "spawn %d: %s", ob->started, strerror(-err));
}

static void onebyte_next(te_run_t *run) {
  onebyte_t *ob = run->user;
  int slot = (int)(run - ob->slots);
  ob->finished++;
  cr_assert(run->eof_at_done[0] && run->exited_at_done);
  cr_assert_eq(run->done_r.exit_code, 0, "run %d: exit %d", ob->finished,
               run->done_r.exit_code);
  cr_assert_eq(run->done_r.output_cut, 0);
  if (run->bytes[0] == 0) {
    ob->empty++;
  } else {
    te_pattern_t p = te_pattern(ob->seed[slot], 0);
    unsigned char want;
    te_pattern_fill(&p, &want, 1);
    if (run->bytes[0] != 1 || (unsigned char)run->out[0][0] != want) {
      ob->bad++;
    }
  }
  if (ob->started < ONEBYTE_RUNS) {
    onebyte_start(ob, slot);
  }
}

Test(engine_output, twenty_thousand_one_byte_writers) {
  te_raise_nofile(4096);
  int fds0 = te_fd_baseline();
  onebyte_t *ob = calloc(1, sizeof(*ob));
  cr_assert_not_null(ob);
  cr_assert_eq(as_loop_new(&ob->loop, NULL), 0);
  for (int i = 0; i < ONEBYTE_PAR; i++) {
    onebyte_start(ob, i);
  }
  te_watchdog_t wd;
  te_watchdog_start(ob->loop, &wd, 300000, "the one-byte writers");
  as_loop_run(ob->loop, 0);
  te_watchdog_stop(&wd);
  cr_assert_eq(ob->started, ONEBYTE_RUNS);
  cr_assert_eq(ob->finished, ONEBYTE_RUNS, "%d of %d done", ob->finished,
               ONEBYTE_RUNS);
  cr_assert_eq(ob->empty, 0, "%d runs gave no output", ob->empty);
  cr_assert_eq(ob->bad, 0, "%d runs gave a wrong byte", ob->bad);
  cr_assert_eq(as_loop_sessions(ob->loop), 0);
  as_loop_free(ob->loop);
  free(ob);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

static int pidfd_open(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* A grandchild keeps stdout open after the child exits: the exit is
 * reported at once, the session completes drain_ms later with output_cut,
 * and the engine lets go of the pipe. */
Test(engine_output, grandchild_holds_stdout) {
  const uint32_t drain_ms = 200;
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {"forker", NULL};
  as_spawn_opts_t o = te_opts(HELPER("forker"), argv);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.drain_ms = drain_ms;
  te_run_t run;
  te_run_init(&run);
  uv_update_time(as_loop_uv(loop));
  uint64_t t0 = as_loop_now(loop);
  cr_assert_eq(te_spawn(&loop, &o, &run), 0);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 20000, "forker");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  cr_assert(run.exited && run.done);
  cr_assert_eq(run.done_r.exit_code, 0);
  cr_assert_eq(run.done_r.output_cut, 1, "output_cut not set");
  cr_assert(!run.eof_at_done[0], "stdout at EOF: the grandchild held it");
  cr_assert_lt(run.exit_at - t0, 2000, "exit_cb took %llu ms",
               (unsigned long long)(run.exit_at - t0));
  cr_assert_geq(run.done_at - run.exit_at, drain_ms,
                "done %llu ms after exit, drain is %u ms",
                (unsigned long long)(run.done_at - run.exit_at), drain_ms);
  cr_assert_lt(run.done_at - run.exit_at, drain_ms + 2000,
               "done %llu ms after exit",
               (unsigned long long)(run.done_at - run.exit_at));
  pid_t gc = (pid_t)atoi(run.out[0]);
  cr_assert_gt(gc, 1, "no grandchild pid in \"%s\"", run.out[0]);
  cr_assert_eq(as_loop_sessions(loop), 0);
  as_loop_free(loop);
  /* Every fd of the session is gone although the grandchild still holds
   * its end of the pipe. */
  cr_assert_eq(te_fd_count(), fds0);

  /* The grandchild was reparented (not ours, unless this process is a
   * subreaper): kill it through a pidfd and wait for it to die. */
  int pfd = pidfd_open(gc);
  cr_assert_geq(pfd, 0, "grandchild %d already gone: %s", (int)gc,
                strerror(errno));
  cr_assert_eq(syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0), 0);
  struct pollfd pf = {.fd = pfd, .events = POLLIN};
  cr_assert_eq(poll(&pf, 1, 10000), 1, "grandchild did not die");
  int subreaper = 0;
  (void)prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
  if (subreaper) {
    siginfo_t si;
    cr_assert_eq(waitid(P_PIDFD, (id_t)pfd, &si, WEXITED), 0);
  }
  close(pfd);
  te_assert_no_child();
}

/* An exit_cb that holds the loop past the drain, as a loaded machine or a
 * burst of work in one loop iteration does. */
static void slow_exit(as_session_t *s, const as_result_t *r, void *data) {
  te_on_exit(s, r, data);
  usleep(400 * 1000);
}

/* The drain timer can be due before the loop polls again: libuv runs
 * timers first in an iteration. Here a grandchild holds stdout 50 ms past
 * the exit and the exit_cb holds the loop 400 ms, so when the 100 ms drain
 * fires, the EOF is waiting unread; the session must take it and complete
 * whole, not cut. */
Test(engine_output, an_eof_waiting_when_the_drain_ends_is_taken) {
  int fds0 = te_fd_baseline();
  /* On an embedder's uv loop, whose uv_run polls the engine's set after
   * the timers (on a loop of its own the engine polls first, and only a
   * batch of more ready fds than it takes at once leaves one behind). */
  uv_loop_t uv;
  cr_assert_eq(uv_loop_init(&uv), 0);
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, &uv), 0);
  char *argv[] = {"sh", "-c", "(sleep 0.05) & echo hi", NULL};
  as_spawn_opts_t o = te_opts("/bin/sh", argv);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.drain_ms = 100;
  te_run_t run;
  te_run_init(&run);
  run.loopp = &loop;
  o.cbs.data_cb = te_on_data;
  o.cbs.exit_cb = slow_exit;
  o.cbs.done_cb = te_on_done;
  o.data = &run;
  cr_assert_eq(as_session_spawn(loop, &o, &run.s), 0);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 20000, "drain");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  cr_assert(run.exited && run.done);
  cr_assert_eq(run.done_r.exit_code, 0);
  cr_assert_eq(run.done_r.output_cut, 0, "cut with its EOF waiting");
  cr_assert(run.eof_at_done[0], "done before stdout's EOF");
  cr_assert_str_eq(run.out[0], "hi\n");
  cr_assert_eq(as_loop_sessions(loop), 0);
  as_loop_free(loop);
  cr_assert_eq(uv_loop_close(&uv), 0);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* Opens fds without close-on-exec, as careless host code would. */
static void open_leaky_fds(int fds[6]) {
  for (int i = 0; i < 3; i++) {
    fds[i] = open("/dev/null", O_RDONLY);
    cr_assert_geq(fds[i], 0);
  }
  int p[2];
  cr_assert_eq(pipe(p), 0);
  fds[3] = p[0];
  fds[4] = p[1];
  fds[5] = dup2(fds[0], 200);
  cr_assert_eq(fds[5], 200);
  for (int i = 0; i < 6; i++) {
    cr_assert_eq(fcntl(fds[i], F_GETFD) & FD_CLOEXEC, 0);
  }
}

static void close_fds(int *fds, int n) {
  for (int i = 0; i < n; i++) {
    close(fds[i]);
  }
}

/* The child sees 0, 1, 2 and nothing else, while the host has fds open
 * without close-on-exec (close_range in the child); with pipes, with a
 * console, and with a caller's fd placed as stdout. */
Test(engine_output, child_sees_only_stdio) {
  int fds0 = te_fd_baseline();
  int leaky[6];
  open_leaky_fds(leaky);
  int mine[2];
  cr_assert_eq(pipe(mine), 0); /* no close-on-exec either */
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {"fdlist", NULL};
  te_run_t runs[3];
  as_spawn_opts_t o = te_opts(HELPER("fdlist"), argv);
  o.stdio[AS_STDIN] = AS_STDIO_PIPE;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.stdio[AS_STDERR] = AS_STDIO_PIPE;
  te_run_init(&runs[0]);
  cr_assert_eq(te_spawn(&loop, &o, &runs[0]), 0);
  o = te_opts(HELPER("fdlist"), argv);
  o.flags = AS_PTY;
  te_run_init(&runs[1]);
  cr_assert_eq(te_spawn(&loop, &o, &runs[1]), 0);
  o = te_opts(HELPER("fdlist"), argv);
  o.stdio[AS_STDOUT] = AS_STDIO_FD;
  o.stdio_fd[AS_STDOUT] = mine[1];
  te_run_init(&runs[2]);
  cr_assert_eq(te_spawn(&loop, &o, &runs[2]), 0);
  close(mine[1]);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 20000, "fdlist");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  for (int i = 0; i < 3; i++) {
    cr_assert(runs[i].done);
    cr_assert_eq(runs[i].done_r.exit_code, 0, "fdlist %d: exit %d", i,
                 runs[i].done_r.exit_code);
  }
  cr_assert_str_eq(runs[0].out[0], "0\n1\n2\n");
  cr_assert_eq(runs[0].bytes[1], 0);
  /* A console turns "\n" into "\r\n". */
  cr_assert_str_eq(runs[1].out[0], "0\r\n1\r\n2\r\n");
  char buf[256] = {0};
  ssize_t n = read(mine[0], buf, sizeof(buf) - 1);
  cr_assert_gt(n, 0);
  cr_assert_str_eq(buf, "0\n1\n2\n");
  as_loop_free(loop);
  close(mine[0]);
  close_fds(leaky, 6);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}
