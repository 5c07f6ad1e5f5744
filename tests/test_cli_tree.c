/* SPDX-License-Identifier: MIT */
/* `hcs run` and a process tree: --timeout kills the whole tree (the
 * process's group), not only the process, and hcs ends within the drain
 * bound after the process exits even while a grandchild keeps the output
 * pipe open. The grandchildren come from the tree helper; this program is
 * their subreaper, so it sees them die and reaps them. */
#include "test_ct_util.h"
#include "test_hcs_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum { N_GRAND = 2 };

typedef struct run_s {
  pid_t pid;
  int out, err; /* our ends of hcs's stdout and stderr */
  th_buf_t obuf, ebuf;
  pid_t grand[N_GRAND];
  int grand_fd[N_GRAND]; /* pidfds */
} run_t;

static void start(run_t *r, const char *const *argv) {
  memset(r, 0, sizeof(*r));
  int pout[2], perr[2];
  cr_assert_eq(pipe2(pout, O_CLOEXEC), 0);
  cr_assert_eq(pipe2(perr, O_CLOEXEC), 0);
  const char *path = th_hcs_path();
  r->pid = fork();
  cr_assert_geq(r->pid, 0, "fork: %s", strerror(errno));
  if (r->pid == 0) {
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(pout[1], 1) < 0 ||
        dup2(perr[1], 2) < 0) {
      _exit(120);
    }
    execv(path, (char *const *)argv);
    _exit(122);
  }
  close(pout[1]);
  close(perr[1]);
  r->out = pout[0];
  r->err = perr[0];
}

/* The grandchildren's pids, as the helper prints them, and their pidfds. */
static void read_grandchildren(run_t *r) {
  for (int i = 0; i < N_GRAND; i++) {
    /* Line i is complete once line i + 1 begins or ends. */
    int lines = 0;
    while (lines <= i) {
      th_read_until(r->out, &r->obuf, "\n", 30000);
      lines = 0;
      for (const char *p = r->obuf.p; (p = strchr(p, '\n')) != NULL; p++) {
        lines++;
      }
    }
  }
  const char *p = r->obuf.p;
  for (int i = 0; i < N_GRAND; i++) {
    r->grand[i] = (pid_t)strtol(p, (char **)&p, 10);
    cr_assert_gt(r->grand[i], 0, "helper output: %s", r->obuf.p);
    r->grand_fd[i] = (int)syscall(SYS_pidfd_open, r->grand[i], 0);
    cr_assert_geq(r->grand_fd[i], 0, "pidfd_open %d: %s", (int)r->grand[i],
                  strerror(errno));
  }
}

/* Reads hcs's output to EOF and reaps it, within ms; its exit code. */
static int finish(run_t *r, int64_t ms) {
  int fds[2] = {r->out, r->err};
  th_buf_t bufs[2] = {{0}, {0}};
  th_read_all(fds, bufs, 2, ms);
  th_buf_add(&r->obuf, bufs[0].p != NULL ? bufs[0].p : "", bufs[0].len);
  th_buf_add(&r->ebuf, bufs[1].p != NULL ? bufs[1].p : "", bufs[1].len);
  th_buf_free(&bufs[0]);
  th_buf_free(&bufs[1]);
  int status;
  cr_assert_eq(waitpid(r->pid, &status, 0), r->pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/* Whether grandchild i has ended, waiting up to ms. */
static int grand_ended(run_t *r, int i, int ms) {
  struct pollfd p = {.fd = r->grand_fd[i], .events = POLLIN};
  int n;
  do {
    n = poll(&p, 1, ms);
  } while (n < 0 && errno == EINTR);
  return n == 1;
}

/* Kills what is left of the grandchildren and reaps them: those their
 * parent did not reap before it died are ours, as subreaper, now that
 * hcs and so the helper are gone. */
static void reap_grandchildren(run_t *r) {
  for (int i = 0; i < N_GRAND; i++) {
    (void)syscall(SYS_pidfd_send_signal, r->grand_fd[i], SIGKILL, NULL, 0);
    siginfo_t si;
    int w;
    do {
      w = waitid((idtype_t)P_PIDFD, (id_t)r->grand_fd[i], &si, WEXITED);
    } while (w < 0 && errno == EINTR);
    cr_assert(w == 0 || errno == ECHILD, "waitid %d: %s", (int)r->grand[i],
              strerror(errno));
    close(r->grand_fd[i]);
  }
  th_buf_free(&r->obuf);
  th_buf_free(&r->ebuf);
}

#define ARGV(...) ((const char *const[]){"hcs", __VA_ARGS__, NULL})

Test(cli_tree, timeout_kills_the_whole_tree) {
  int fds0 = th_fd_count();
  cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  run_t r;
  int64_t t0 = th_now_ms();
  start(&r,
        ARGV("run", "--timeout", "1000", "--", TH_HELPER("tree"), "wait", "2"));
  read_grandchildren(&r);
  /* Before: only the helper was killed, and hcs waited for the
   * grandchildren, which kept its pipe open (60 s here, for ever in
   * general). */
  int code = finish(&r, 20000);
  int64_t took = th_now_ms() - t0;
  cr_assert_eq(code, 137, "stderr: %s", r.ebuf.p);
  cr_assert(took >= 1000 && took < 10000, "took %lld ms", (long long)took);
  for (int i = 0; i < N_GRAND; i++) {
    cr_assert(grand_ended(&r, i, 5000),
              "grandchild %d still runs after the timeout", (int)r.grand[i]);
  }
  reap_grandchildren(&r);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

Test(cli_tree, run_ends_within_the_drain_bound_after_the_exit) {
  int fds0 = th_fd_count();
  cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  run_t r;
  start(&r, ARGV("run", "--", TH_HELPER("tree"), "exit", "2"));
  read_grandchildren(&r);
  int64_t t0 = th_now_ms();
  /* The drain bound is 2 s; before, hcs waited for the grandchildren. */
  int code = finish(&r, 20000);
  int64_t took = th_now_ms() - t0;
  cr_assert_eq(code, 0, "stderr: %s", r.ebuf.p);
  cr_assert(took < 2000 + 5000, "took %lld ms", (long long)took);
  /* Without a timeout nothing kills them: they outlive hcs. */
  for (int i = 0; i < N_GRAND; i++) {
    cr_assert(!grand_ended(&r, i, 0), "grandchild %d was killed",
              (int)r.grand[i]);
  }
  reap_grandchildren(&r);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

/* In a container: `hcs exec --timeout` kills the tree there too, even the
 * processes that left for sessions of their own (found in the system's
 * frozen cgroup). The drain bound is a minute, so hcs ends soon after the
 * timeout only if every holder of the output pipe is gone. */
static void exec_timeout_in_a_container(const char *mode) {
  char state[512], params[512], bin[512];
  snprintf(state, sizeof(state), "%s/state", base);
  snprintf(params, sizeof(params), "%s/params.json", base);
  snprintf(bin, sizeof(bin), "%s/root/bin/tree", base);
  copy_file(TH_HELPER("tree"), bin, 0755);
  char text[256];
  snprintf(text, sizeof(text),
           "{\"Args\":[\"/bin/tree\",\"%s\",\"2\"],\"DrainTimeoutMs\":60000}",
           mode);
  put(params, text);
  hcs_t *h = open_hcs(state);
  start_system(h, "tree", "");
  run_t r;
  int64_t t0 = th_now_ms();
  start(&r, ARGV("--state-dir", state, "exec", "--timeout", "1000", "--params",
                 params, "tree"));
  int code = finish(&r, 20000);
  int64_t took = th_now_ms() - t0;
  cr_assert_eq(code, 137, "stderr: %s", r.ebuf.p);
  cr_assert(took >= 1000 && took < 15000, "took %lld ms", (long long)took);
  th_buf_free(&r.obuf);
  th_buf_free(&r.ebuf);
  stop_system(h, "tree");
  hcs_close(h);
}

Test(cli_tree, exec_timeout_kills_the_tree_in_a_container, .init = ct_setup,
     .fini = ct_teardown) {
  exec_timeout_in_a_container("wait");
}

Test(cli_tree, exec_timeout_kills_what_left_the_group, .init = ct_setup,
     .fini = ct_teardown) {
  exec_timeout_in_a_container("setsid-wait");
}
