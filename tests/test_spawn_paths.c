/* SPDX-License-Identifier: MIT */
/* Both spawn paths give the same session: clone3 with CLONE_PIDFD, and the
 * fallback (clone, then pidfd_open) that kernels or seccomp filters refusing
 * clone3 get. */
#include "async/internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_s {
  int done;
  as_result_t r;
  char out[64];
  size_t n;
} run_t;

static void on_data(as_session_t *s, int stream, char *buf, size_t len,
                    void *data) {
  run_t *run = data;
  (void)s;
  (void)stream;
  if (len > 0 && run->n + len < sizeof(run->out)) {
    memcpy(run->out + run->n, buf, len);
    run->n += len;
  }
}

static void on_done(as_session_t *s, const as_result_t *r, void *data) {
  run_t *run = data;
  run->done = 1;
  run->r = *r;
  as_session_unref(s);
}

static run_t run_opts(as_spawn_opts_t o) {
  as_loop_t *loop;
  run_t run;
  memset(&run, 0, sizeof(run));
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  o.cbs.data_cb = on_data;
  o.cbs.done_cb = on_done;
  o.data = &run;
  as_session_t *s;
  cr_assert_eq(as_session_spawn(loop, &o, &s), 0);
  as_loop_run(loop, 0);
  as_loop_free(loop);
  return run;
}

static run_t run_one(const char *file, char *const *argv) {
  as_spawn_opts_t o;
  memset(&o, 0, sizeof(o));
  o.file = file;
  o.argv = argv;
  return run_opts(o);
}

static void check_paths(void) {
  char *echo_argv[] = {"echo", "path", NULL};
  run_t a = run_one("echo", echo_argv);
  cr_assert(a.done);
  cr_assert_eq(a.r.exit_code, 0);
  cr_assert_str_eq(a.out, "path\n");
  char *missing_argv[] = {"hcs-no-such-program", NULL};
  run_t b = run_one("hcs-no-such-program", missing_argv);
  cr_assert_eq(b.r.exit_code, AS_EXIT_EXEC_FAILED);
  cr_assert_eq(b.r.exec_errno, ENOENT);
  char *kill_argv[] = {"sh", "-c", "kill -9 $$", NULL};
  run_t c = run_one("sh", kill_argv);
  cr_assert_eq(c.r.exit_code, 137);
  cr_assert_eq(c.r.signal, 9);
  siginfo_t si;
  cr_assert_eq(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL), -1);
  cr_assert_eq(errno, ECHILD);
}

Test(spawn_paths, clone3) {
  as__spawn_use_clone3(1);
  if (!as__spawn_clone3_used()) {
    cr_skip_test("clone3 stub not built for this architecture");
  }
  check_paths();
  if (!as__spawn_clone3_used()) {
    cr_skip_test("clone3 was refused here (old kernel, seccomp or valgrind): "
                 "the fallback ran instead");
  }
}

Test(spawn_paths, fallback_clone_then_pidfd_open_or_sigchld) {
  as__spawn_use_clone3(0);
  cr_assert(!as__spawn_clone3_used());
  check_paths();
}

/* The bounding set is cut to the kept capabilities, with no_new_privs or
 * without, and the inheritable set is empty (CVE-2022-29162 class). */
Test(spawn_paths, bounding_set_cut_and_inheritable_empty) {
  if (geteuid() != 0) {
    cr_skip_test("changing capabilities needs root");
  }
  char *argv[] = {"grep", "-E", "^Cap(Inh|Bnd)", "/proc/self/status", NULL};
  as_spawn_opts_t o;
  memset(&o, 0, sizeof(o));
  o.file = "grep";
  o.argv = argv;
  o.set_caps = 1;
  o.caps = (1u << CAP_KILL) | (1u << CAP_SETPCAP);
  run_t a = run_opts(o);
  cr_assert_eq(a.r.exit_code, 0);
  cr_assert_str_eq(a.out,
                   "CapInh:\t0000000000000000\nCapBnd:\t0000000000000120\n");
  o.no_new_privs = 1;
  run_t b = run_opts(o);
  cr_assert_eq(b.r.exit_code, 0);
  cr_assert_str_eq(b.out, a.out);
}
