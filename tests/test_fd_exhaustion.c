/* SPDX-License-Identifier: MIT */
/* Out of fds is an error, never an abort: `hcs run` under every small
 * RLIMIT_NOFILE either runs the program or says why it cannot (exit 125),
 * and hcs_open() with a nearly full fd table answers an error. libuv
 * abort()s when the pipe of its first loop cannot be made
 * (uv__signal_global_once_init), so each case runs in a fresh process. */
#include "test_hcs_util.h"

#include <fcntl.h>
#include <sys/resource.h>

/* Runs `hcs run -- exiter 0` with RLIMIT_NOFILE soft limit n; its exit
 * status, and its stderr in err. */
static int run_with_limit(rlim_t n, th_buf_t *err) {
  int perr[2];
  cr_assert_eq(pipe2(perr, O_CLOEXEC), 0);
  const char *path = th_hcs_path();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int in = open("/dev/null", O_RDWR | O_CLOEXEC);
    struct rlimit rl;
    if (in < 0 || dup2(in, 0) < 0 || dup2(in, 1) < 0 || dup2(perr[1], 2) < 0 ||
        getrlimit(RLIMIT_NOFILE, &rl) != 0) {
      _exit(120);
    }
    rl.rlim_cur = n;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      _exit(121);
    }
    execl(path, "hcs", "run", "--", TH_HELPER("exiter"), "0", (char *)NULL);
    _exit(122);
  }
  close(perr[1]);
  int fds[1] = {perr[0]};
  th_read_all(fds, err, 1, 60000);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  if (err->p == NULL) {
    th_buf_add(err, "", 0);
  }
  return status;
}

Test(fd_exhaustion, hcs_run_under_small_fd_limits) {
  /* Below 4 the dynamic loader itself cannot open libuv. */
  for (rlim_t n = 4; n <= 40; n++) {
    th_buf_t err = {0};
    int st = run_with_limit(n, &err);
    cr_assert(WIFEXITED(st), "RLIMIT_NOFILE %d: hcs killed by signal %d: %s",
              (int)n, WTERMSIG(st), err.p);
    int code = WEXITSTATUS(st);
    cr_assert(code == 0 || code == 125, "RLIMIT_NOFILE %d: exit %d (%s)",
              (int)n, code, err.p);
    if (code == 125) {
      cr_assert(strstr(err.p, "Too many open files") != NULL,
                "RLIMIT_NOFILE %d: no reason given: \"%s\"", (int)n, err.p);
    }
    th_buf_free(&err);
  }
}

/* In a fresh process (libuv's first loop not made yet): fills the fd table
 * but for `spare` fds and opens a service. Exits 0 when hcs_open worked,
 * 1 when it failed with EMFILE and a message, 2 otherwise. */
static void open_with_spare_fds(int spare) {
  struct rlimit rl = {64, 64};
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    _exit(3);
  }
  int fds[64], n = 0;
  while (n < 64 && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) {
    n++;
  }
  for (int i = 0; i < spare && n > 0; i++) {
    close(fds[--n]);
  }
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_open(&h, NULL, &err);
  if (r == HCS_OK) {
    hcs_close(h);
    _exit(0);
  }
  int ok = err != NULL && hcs_error_errno(err) == EMFILE &&
           strstr(hcs_error_message(err), "Too many open files") != NULL;
  hcs_error_free(err);
  _exit(ok ? 1 : 2);
}

Test(fd_exhaustion, hcs_open_with_a_full_fd_table) {
  int opened = 0;
  for (int spare = 0; spare <= 24; spare++) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
      open_with_spare_fds(spare);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "%d spare fds: hcs_open killed by signal %d",
              spare, WTERMSIG(st));
    cr_assert(WEXITSTATUS(st) <= 1, "%d spare fds: exit %d", spare,
              WEXITSTATUS(st));
    opened |= WEXITSTATUS(st) == 0;
  }
  cr_assert(opened, "hcs_open never worked, even with 24 spare fds");
}
