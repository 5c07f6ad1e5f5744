/* SPDX-License-Identifier: MIT */
/* The socket transport (AS_STDIO_SOCKET, include/hcs-async.h): a child's
 * stdout and stderr on unix socketpair ends instead of pipes, with the
 * session contract unchanged (every byte in order, EOF, exit, done after
 * both); what the child sees (a socket, which /dev/stdout cannot be
 * opened on); and what is refused (stdin, raw output). */
#include "test_engine_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#if TE_ASAN
#define OUT_N (8ull << 20)
#else
#define OUT_N (64ull << 20)
#endif
#define ERR_N (4ull << 20)

static as_spawn_opts_t gen_opts(char *argv[5], char bufs[3][32], uint64_t out,
                                uint64_t err, uint64_t seed) {
  snprintf(bufs[0], 32, "%llu", (unsigned long long)out);
  snprintf(bufs[1], 32, "%llu", (unsigned long long)err);
  snprintf(bufs[2], 32, "%llu", (unsigned long long)seed);
  argv[0] = HELPER("gen");
  argv[1] = bufs[0];
  argv[2] = bufs[1];
  argv[3] = bufs[2];
  argv[4] = NULL;
  as_spawn_opts_t o = te_opts(argv[0], argv);
  o.stdio[AS_STDOUT] = AS_STDIO_SOCKET;
  o.stdio[AS_STDERR] = AS_STDIO_SOCKET;
  return o;
}

static void run_to_done(as_loop_t *loop, const char *what) {
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 120000, what);
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
}

/* Nothing left: no fd, no child. */
static void finish(as_loop_t *loop, int fds0) {
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

static void assert_complete(const te_run_t *run, uint64_t seed, uint64_t out,
                            uint64_t err) {
  cr_assert(run->done);
  cr_assert(run->exited_at_done, "done before exit");
  cr_assert(run->eof_at_done[0] && run->eof_at_done[1],
            "done before EOF: stdout %d stderr %d", run->eof_at_done[0],
            run->eof_at_done[1]);
  cr_assert_eq(run->done_r.exit_code, 0);
  cr_assert_eq(run->done_r.output_cut, 0);
  cr_assert_eq(run->data_after_done, 0);
  cr_assert_eq(run->bytes[0], out, "stdout: %llu bytes",
               (unsigned long long)run->bytes[0]);
  cr_assert_eq(run->bytes[1], err, "stderr: %llu bytes",
               (unsigned long long)run->bytes[1]);
  cr_assert_eq(run->hash[0], te_pattern_hash(seed, 0, out), "stdout differs");
  cr_assert_eq(run->hash[1], te_pattern_hash(seed, 1, err), "stderr differs");
}

Test(engine_sockio, stdout_and_stderr_over_sockets) {
  const uint64_t seed = 0x50c;
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[5], bufs[3][32];
  as_spawn_opts_t o = gen_opts(argv, bufs, OUT_N, ERR_N, seed);
  te_run_t run;
  te_run_init(&run);
  cr_assert_eq(te_spawn(&loop, &o, &run), 0);
  run_to_done(loop, "gen over sockets");
  assert_complete(&run, seed, OUT_N, ERR_N);
  as_bufpool_stats_t st;
  as_bufpool_stats(as_loop_pool(loop), &st);
  cr_assert_eq(st.in_use, 0);
  finish(loop, fds0);
}

/* The child's fd 1 is a socket and fd 0 a pipe; /proc/PID/fd/1 (what
 * /dev/stdout is in the child) cannot be opened: the documented cost of
 * the transport. */
Test(engine_sockio, the_child_sees_a_socket) {
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {HELPER("bulkecho"), "0", NULL};
  as_spawn_opts_t o = te_opts(argv[0], argv);
  o.stdio[AS_STDIN] = AS_STDIO_PIPE;
  o.stdio[AS_STDOUT] = AS_STDIO_SOCKET;
  te_run_t run;
  te_run_init(&run);
  cr_assert_eq(te_spawn(&loop, &o, &run), 0);
  /* bulkecho waits on its stdin until it is closed below. */
  char path[64], link[64];
  pid_t pid = as_session_pid(run.s);
  snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)pid);
  ssize_t n = readlink(path, link, sizeof(link) - 1);
  cr_assert_gt(n, 0);
  link[n] = '\0';
  cr_assert_eq(strncmp(link, "socket:[", 8), 0, "fd 1 is %s", link);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  cr_assert_lt(fd, 0, "a socket opened through /proc");
  cr_assert_eq(errno, ENXIO);
  snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)pid);
  n = readlink(path, link, sizeof(link) - 1);
  cr_assert_gt(n, 0);
  link[n] = '\0';
  cr_assert_eq(strncmp(link, "pipe:[", 6), 0, "fd 0 is %s", link);
  cr_assert_eq(as_session_write(run.s, "ping\n", 5, NULL, NULL), 0);
  cr_assert_eq(as_session_close_stdin(run.s), 0);
  run_to_done(loop, "bulkecho over a socket");
  cr_assert(run.done && run.eof[0]);
  cr_assert_eq(run.done_r.exit_code, 0);
  cr_assert_str_eq(run.out[0], "ping\n");
  finish(loop, fds0);
}

/* stdin has no socket transport, and no child starts. */
Test(engine_sockio, stdin_socket_is_refused) {
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {HELPER("bulkecho"), "0", NULL};
  as_spawn_opts_t o = te_opts(argv[0], argv);
  o.stdio[AS_STDIN] = AS_STDIO_SOCKET;
  o.stdio[AS_STDOUT] = AS_STDIO_SOCKET;
  as_session_t *s = NULL;
  cr_assert_eq(as_session_spawn(loop, &o, &s), -EINVAL);
  cr_assert_eq(as_loop_sessions(loop), 0);
  finish(loop, fds0);
}

static void never_raw(as_session_t *s, int stream, int fd, size_t avail,
                      void *data) {
  (void)s;
  (void)stream;
  (void)fd;
  (void)avail;
  (void)data;
  cr_assert_fail("a raw offer on a socket stream");
}

/* Raw output needs a pipe (splice): refused, and the bytes keep coming
 * through the data_cb. */
Test(engine_sockio, raw_output_is_refused) {
  const uint64_t seed = 0x7a3;
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[5], bufs[3][32];
  as_spawn_opts_t o = gen_opts(argv, bufs, 4u << 20, 1u << 20, seed);
  te_run_t run;
  te_run_init(&run);
  cr_assert_eq(te_spawn(&loop, &o, &run), 0);
  cr_assert_eq(as_session_raw(run.s, AS_STDOUT, never_raw, NULL), -ENOTSUP);
  cr_assert_eq(as_session_raw(run.s, AS_STDERR, never_raw, NULL), -ENOTSUP);
  run_to_done(loop, "gen over sockets, raw refused");
  assert_complete(&run, seed, 4u << 20, 1u << 20);
  finish(loop, fds0);
}

/* With AS_FDS the caller gets its socket end, blocking, and reads it to
 * EOF as it would a pipe. */
Test(engine_sockio, handed_out_socket) {
  const uint64_t seed = 0x3d;
  const uint64_t out = 2u << 20;
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[5], bufs[3][32];
  as_spawn_opts_t o = gen_opts(argv, bufs, out, 0, seed);
  o.stdio[AS_STDERR] = AS_STDIO_NULL;
  o.flags = AS_FDS;
  te_run_t run;
  te_run_init(&run);
  cr_assert_eq(te_spawn(&loop, &o, &run), 0);
  int fd = as_session_take_fd(run.s, AS_STDOUT);
  cr_assert_geq(fd, 0);
  struct stat sb;
  cr_assert_eq(fstat(fd, &sb), 0);
  cr_assert(S_ISSOCK(sb.st_mode), "the handed-out end is no socket");
  cr_assert_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  static char buf[65536];
  uint64_t got = 0, h = TE_FNV_BASIS;
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    h = te_fnv1a(h, buf, (size_t)n);
    got += (uint64_t)n;
  }
  cr_assert_eq(n, 0, "read: %s", strerror(errno));
  close(fd);
  cr_assert_eq(got, out);
  cr_assert_eq(h, te_pattern_hash(seed, 0, out));
  run_to_done(loop, "gen, socket handed out");
  cr_assert(run.done);
  cr_assert_eq(run.done_r.exit_code, 0);
  finish(loop, fds0);
}
