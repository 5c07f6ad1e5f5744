/* SPDX-License-Identifier: MIT */
/* Exit reporting (docs/DESIGN.md, process sessions, point 2): every exit code
 * 0-255 as the program exited, 128+n and the signal for a death by signal
 * n, AS_EXIT_EXEC_FAILED with the errno when the program cannot run, and
 * the PATH search of a program given by name. */
#include "test_engine_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_BATCH = 256 };

typedef struct batch_s {
  as_loop_t *loop;
  te_run_t runs[MAX_BATCH];
  char arg[MAX_BATCH][16];
  char *argv[MAX_BATCH][3];
  int n;
  int fds0;
} batch_t;

static batch_t *batch_new(void) {
  batch_t *b = calloc(1, sizeof(*b));
  cr_assert_not_null(b);
  b->fds0 = te_fd_baseline();
  cr_assert_eq(as_loop_new(&b->loop, NULL), 0);
  return b;
}

/* Starts exiter ARG with nothing piped but stdout. */
static te_run_t *batch_exiter(batch_t *b, const char *arg) {
  cr_assert_lt(b->n, MAX_BATCH);
  int i = b->n++;
  snprintf(b->arg[i], sizeof(b->arg[i]), "%s", arg);
  b->argv[i][0] = "exiter";
  b->argv[i][1] = b->arg[i];
  b->argv[i][2] = NULL;
  as_spawn_opts_t o = te_opts(HELPER("exiter"), b->argv[i]);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_t *run = &b->runs[i];
  te_run_init(run);
  int err = te_spawn(&b->loop, &o, run);
  cr_assert_eq(err, 0, "spawn exiter %s: %s", arg, strerror(-err));
  return run;
}

static te_run_t *batch_spawn(batch_t *b, as_spawn_opts_t *o) {
  cr_assert_lt(b->n, MAX_BATCH);
  te_run_t *run = &b->runs[b->n++];
  te_run_init(run);
  int err = te_spawn(&b->loop, o, run);
  cr_assert_eq(err, 0, "spawn %s: %s", o->file, strerror(-err));
  return run;
}

/* Runs every session to completion and checks the invariants all of them
 * share: exit before done, the same result in both, stdout at EOF. */
static void batch_run(batch_t *b) {
  te_watchdog_t wd;
  te_watchdog_start(b->loop, &wd, 30000, "exit batch");
  as_loop_run(b->loop, 0);
  te_watchdog_stop(&wd);
  for (int i = 0; i < b->n; i++) {
    te_run_t *run = &b->runs[i];
    cr_assert(run->done, "session %d not done", i);
    cr_assert(run->exited_at_done, "session %d: done before exit", i);
    cr_assert(run->eof_at_done[0], "session %d: done before EOF", i);
    cr_assert_eq(run->exit_r.exit_code, run->done_r.exit_code);
    cr_assert_eq(run->exit_r.signal, run->done_r.signal);
    cr_assert_eq(run->exit_r.exec_errno, run->done_r.exec_errno);
    cr_assert_eq(run->done_r.output_cut, 0, "session %d: output cut", i);
  }
  cr_assert_eq(as_loop_sessions(b->loop), 0);
}

static void batch_free(batch_t *b) {
  as_loop_free(b->loop);
  cr_assert_eq(te_fd_count(), b->fds0, "fds leaked");
  te_assert_no_child();
  free(b);
}

Test(engine_exit, every_code_0_to_255) {
  batch_t *b = batch_new();
  for (int code = 0; code < 256; code++) {
    char arg[8];
    snprintf(arg, sizeof(arg), "%d", code);
    batch_exiter(b, arg);
  }
  batch_run(b);
  for (int code = 0; code < 256; code++) {
    const as_result_t *r = &b->runs[code].done_r;
    cr_assert_eq(r->exit_code, code, "exiter %d gave %d", code, r->exit_code);
    cr_assert_eq(r->signal, 0);
    cr_assert_eq(r->exec_errno, 0);
  }
  batch_free(b);
}

Test(engine_exit, death_by_signal) {
  static const int sigs[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGABRT,
                             SIGKILL, SIGSEGV, SIGPIPE, SIGALRM,
                             SIGTERM, SIGUSR1, SIGUSR2, SIGBUS};
  enum { NSIGS = sizeof(sigs) / sizeof(sigs[0]) };
  /* No core files from the dumping signals (children inherit the limit). */
  struct rlimit no_core = {0, 0};
  cr_assert_eq(setrlimit(RLIMIT_CORE, &no_core), 0);
  /* Ignored signals stay ignored across execve on the host: start from
   * the defaults, whatever this test was started with (a background job
   * ignores SIGINT and SIGQUIT, nohup SIGHUP). */
  for (int i = 0; i < NSIGS; i++) {
    if (sigs[i] != SIGKILL && sigs[i] != SIGPIPE) {
      signal(sigs[i], SIG_DFL);
    }
  }
  batch_t *b = batch_new();
  for (int i = 0; i < NSIGS; i++) {
    char arg[8];
    snprintf(arg, sizeof(arg), "-%d", sigs[i]);
    batch_exiter(b, arg);
  }
  /* A real fault, not a raise(). */
  batch_exiter(b, "segv");
  batch_run(b);
  for (int i = 0; i < NSIGS; i++) {
    const as_result_t *r = &b->runs[i].done_r;
    cr_assert_eq(r->exit_code, 128 + sigs[i], "signal %d (%s): exit code %d",
                 sigs[i], strsignal(sigs[i]), r->exit_code);
    cr_assert_eq(r->signal, sigs[i], "signal %d: reported %d", sigs[i],
                 r->signal);
    cr_assert_eq(r->exec_errno, 0);
  }
  const as_result_t *segv = &b->runs[NSIGS].done_r;
  cr_assert_eq(segv->exit_code, 128 + SIGSEGV);
  cr_assert_eq(segv->signal, SIGSEGV);
  batch_free(b);
}

/* The child gets SIGPIPE at its default even though the engine ignores it
 * in this process: a write to a closed pipe kills it. The helper raise()s
 * in death_by_signal; here the kernel sends it. */
Test(engine_exit, sigpipe_default_in_child) {
  batch_t *b = batch_new();
  /* as_loop_new ignored SIGPIPE here (it was at its default). */
  struct sigaction sa;
  cr_assert_eq(sigaction(SIGPIPE, NULL, &sa), 0);
  cr_assert(sa.sa_handler == SIG_IGN, "the engine did not ignore SIGPIPE");
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  close(p[0]);
  char *argv[] = {"gen", "1048576", "0", "1", NULL};
  as_spawn_opts_t o = te_opts(HELPER("gen"), argv);
  o.stdio[AS_STDOUT] = AS_STDIO_FD;
  o.stdio_fd[AS_STDOUT] = p[1];
  te_run_t *run = batch_spawn(b, &o);
  close(p[1]);
  te_watchdog_t wd;
  te_watchdog_start(b->loop, &wd, 30000, "gen into a closed pipe");
  as_loop_run(b->loop, 0);
  te_watchdog_stop(&wd);
  cr_assert(run->done);
  cr_assert_eq(run->done_r.signal, SIGPIPE, "gen ended with %d/%d",
               run->done_r.exit_code, run->done_r.signal);
  cr_assert_eq(run->done_r.exit_code, 128 + SIGPIPE);
  batch_free(b);
}

static char tmpdir[64];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/hcs-exit-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
}

/* Writes a shell script with the given mode (no execute bit: exec fails
 * with EACCES, even for root). */
static void make_file(const char *dir, const char *name, mode_t mode) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  static const char text[] = "#!/bin/sh\nexit 9\n";
  cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
  close(fd);
  cr_assert_eq(chmod(path, mode), 0);
}

/* A fini fixture: it runs after a failed assertion too, so no directory
 * is left behind. */
static void remove_tmpdir(void) {
  if (tmpdir[0] == '\0') {
    return;
  }
  DIR *d = opendir(tmpdir);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] != '.') {
        (void)unlinkat(dirfd(d), e->d_name, 0);
      }
    }
    closedir(d);
  }
  (void)rmdir(tmpdir);
  tmpdir[0] = '\0';
}

Test(engine_exit, exec_failures, .fini = remove_tmpdir) {
  make_tmpdir();
  make_file(tmpdir, "plain", 0644);
  char plain[256], missing[256];
  snprintf(plain, sizeof(plain), "%s/plain", tmpdir);
  snprintf(missing, sizeof(missing), "%s/no-such-program", tmpdir);
  batch_t *b = batch_new();
  char *argv_missing[] = {"no-such-program", NULL};
  as_spawn_opts_t o = te_opts(missing, argv_missing);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_t *r_missing = batch_spawn(b, &o);
  char *argv_plain[] = {"plain", NULL};
  o = te_opts(plain, argv_plain);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_t *r_plain = batch_spawn(b, &o);
  /* A directory cannot be executed either. */
  char *argv_dir[] = {"dir", NULL};
  o = te_opts(tmpdir, argv_dir);
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_t *r_dir = batch_spawn(b, &o);
  batch_run(b);
  cr_assert_eq(r_missing->done_r.exit_code, AS_EXIT_EXEC_FAILED);
  cr_assert_eq(r_missing->done_r.exec_errno, ENOENT, "missing: errno %d",
               r_missing->done_r.exec_errno);
  cr_assert_eq(r_missing->done_r.signal, 0);
  cr_assert_eq(r_plain->done_r.exit_code, AS_EXIT_EXEC_FAILED);
  cr_assert_eq(r_plain->done_r.exec_errno, EACCES, "plain: errno %d",
               r_plain->done_r.exec_errno);
  cr_assert_eq(r_dir->done_r.exit_code, AS_EXIT_EXEC_FAILED);
  cr_assert_eq(r_dir->done_r.exec_errno, EACCES, "dir: errno %d",
               r_dir->done_r.exec_errno);
  /* Nothing ran, so nothing was written. */
  cr_assert_eq(r_missing->bytes[0] + r_plain->bytes[0] + r_dir->bytes[0], 0);
  batch_free(b);
}

Test(engine_exit, path_search, .fini = remove_tmpdir) {
  make_tmpdir();
  /* First on PATH: an "exiter" that is not executable. execvp semantics:
   * the search goes on and finds the real one. "lonely" exists only as a
   * non-executable file, so its search ends in EACCES. */
  make_file(tmpdir, "exiter", 0644);
  make_file(tmpdir, "lonely", 0644);
  char path_env[512];
  snprintf(path_env, sizeof(path_env), "PATH=/nonexistent-hcs:%s:%s", tmpdir,
           HCS_TEST_HELPERS_DIR);
  char *envp[] = {path_env, NULL};
  batch_t *b = batch_new();
  char *argv_found[] = {"exiter", "42", NULL};
  as_spawn_opts_t o = te_opts("exiter", argv_found);
  o.envp = envp;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_t *r_found = batch_spawn(b, &o);
  char *argv_none[] = {"hcs-no-such-program", NULL};
  o = te_opts("hcs-no-such-program", argv_none);
  o.envp = envp;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_t *r_none = batch_spawn(b, &o);
  char *argv_lonely[] = {"lonely", NULL};
  o = te_opts("lonely", argv_lonely);
  o.envp = envp;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_t *r_lonely = batch_spawn(b, &o);
  /* With no PATH in the child's environment the default one is searched:
   * /bin/true exists on every Debian. */
  char *no_path_env[] = {"HCS_TEST=1", NULL};
  char *argv_true[] = {"true", NULL};
  o = te_opts("true", argv_true);
  o.envp = no_path_env;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_t *r_true = batch_spawn(b, &o);
  batch_run(b);
  cr_assert_eq(r_found->done_r.exit_code, 42, "exiter by name: %d (errno %d)",
               r_found->done_r.exit_code, r_found->done_r.exec_errno);
  cr_assert_eq(r_none->done_r.exit_code, AS_EXIT_EXEC_FAILED);
  cr_assert_eq(r_none->done_r.exec_errno, ENOENT);
  cr_assert_eq(r_lonely->done_r.exit_code, AS_EXIT_EXEC_FAILED);
  cr_assert_eq(r_lonely->done_r.exec_errno, EACCES);
  cr_assert_eq(r_true->done_r.exit_code, 0, "true: %d (errno %d)",
               r_true->done_r.exit_code, r_true->done_r.exec_errno);
  batch_free(b);
}
