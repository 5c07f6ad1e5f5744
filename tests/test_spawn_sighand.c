/* SPDX-License-Identifier: MIT */
/* A child starts with the signal state a program expects, on every spawn
 * path, from an engine process that handles some signals, ignores others
 * and blocks some: no signal blocked, no handler (the engine's would run
 * in its memory), SIGPIPE at its default (the engine ignores it, the
 * program does not), and the signals the engine's process ignores still
 * ignored on the host (as across execve: `nohup hcs run`) but at their
 * default in a container. The paths: clone3 with CLONE_CLEAR_SIGHAND (the
 * kernel resets the handlers), clone3 without it and the clone fallback
 * (the child resets them one by one), a container joined from the engine
 * thread, and one joined through a spawner thread. */
#include "async/internal.h"
#include "test_engine_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Set by the engine's SIGUSR1 handler, wherever it runs. */
static volatile sig_atomic_t handler_ran;

static void on_usr1(int sig) {
  (void)sig;
  handler_ran = 1;
}

/* The engine's process as an embedding server has it: a handler for
 * SIGUSR1, SIGUSR2 and SIGHUP ignored (SIGPIPE too, as as_loop_new
 * leaves it), SIGTERM and SIGUSR1 blocked on the engine thread. */
static void engine_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
  signal(SIGUSR2, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGUSR1);
  cr_assert_eq(pthread_sigmask(SIG_BLOCK, &block, NULL), 0);
}

/* What a spawn reports: it has run the program, which exited 0. */
static void expect_ran(const te_run_t *run) {
  cr_assert(run->done);
  cr_assert_eq(run->done_r.exit_code, 0, "sigstate exited %d (exec errno %d)",
               run->done_r.exit_code, run->done_r.exec_errno);
}

/* The signals this process ignores but SIGPIPE, as /proc prints them.
 * Read from /proc, not with sigaction(): glibc refuses sigaction() on the
 * signals it reserves (32, 33), yet the kernel keeps them ignored when
 * whoever started the tests did (a job control shell, nohup, a CI
 * runner), and the child inherits that. */
static unsigned long long ignored_but_sigpipe(void) {
  FILE *f = fopen("/proc/self/status", "r");
  cr_assert_not_null(f, "/proc/self/status: %s", strerror(errno));
  char line[256];
  unsigned long long set = 0;
  bool found = false;
  while (!found && fgets(line, sizeof(line), f) != NULL) {
    found = sscanf(line, "SigIgn: %llx", &set) == 1;
  }
  fclose(f);
  cr_assert(found, "no SigIgn line in /proc/self/status");
  return set & ~(1ULL << (SIGPIPE - 1));
}

/* Set: the loop's children find no /proc to read their signal sets from
 * and ask sigaction signal by signal (spawn.c, child_sigsets). */
static bool no_proc;

/* Runs tests/helpers/sigstate with o and records it in *run. */
static void run_sigstate(as_spawn_opts_t o, te_run_t *run) {
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  as__spawn_stack_t *st = as__loop_stack(loop);
  if (no_proc && st->proc_fd >= 0) {
    close(st->proc_fd);
    st->proc_fd = -1;
  }
  char *argv[] = {"sigstate", NULL};
  o.file = HELPER("sigstate");
  o.argv = argv;
  o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  te_run_init(run);
  cr_assert_eq(te_spawn(&loop, &o, run), 0);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, 30000, "sigstate");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  as_loop_free(loop);
  cr_assert(run->done);
}

static void expect_state(const te_run_t *run, unsigned long long ignored) {
  char want[128];
  snprintf(want, sizeof(want),
           "SigBlk:\t0000000000000000\nSigIgn:\t%016llx\n"
           "SigCgt:\t0000000000000000\n",
           ignored);
  cr_assert_str_eq(run->out[0], want);
}

static as_spawn_opts_t no_opts(void) {
  as_spawn_opts_t o;
  memset(&o, 0, sizeof(o));
  return o;
}

static void expect_host(void) {
  engine_signals();
  unsigned long long ignored = ignored_but_sigpipe();
  cr_assert(ignored & (1ULL << (SIGUSR2 - 1)));
  te_run_t run;
  run_sigstate(no_opts(), &run);
  expect_ran(&run);
  expect_state(&run, ignored);
}

Test(spawn_sighand, host_clone3_kernel_clears_handlers) {
  as__spawn_use_clone3(1);
  as__spawn_use_clear_sighand(1);
  if (!as__spawn_clear_sighand_used()) {
    cr_skip_test("clone3 stub not built for this architecture");
  }
  expect_host();
  if (!as__spawn_clear_sighand_used()) {
    cr_skip_test("clone3 or CLONE_CLEAR_SIGHAND was refused here (a kernel "
                 "before 5.5, seccomp or valgrind): the reset loop ran");
  }
}

Test(spawn_sighand, host_clone3_child_resets_handlers) {
  as__spawn_use_clone3(1);
  as__spawn_use_clear_sighand(0);
  cr_assert(!as__spawn_clear_sighand_used());
  expect_host();
}

Test(spawn_sighand, host_clone_fallback) {
  as__spawn_use_clone3(0);
  cr_assert(!as__spawn_clear_sighand_used());
  expect_host();
}

/* A pidfd on this process, whose own uts namespace is the container:
 * enough to take the joining paths (setns needs root). */
static int self_pidfd(void) {
  if (geteuid() != 0) {
    cr_skip_test("joining a namespace needs root");
  }
  int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  cr_assert_geq(pidfd, 0, "pidfd_open: %s", strerror(errno));
  return pidfd;
}

static void expect_container(int clear_sighand) {
  as_spawn_opts_t o = no_opts();
  o.ns_pidfd = self_pidfd();
  o.ns_flags = CLONE_NEWUTS;
  as__spawn_use_clone3(1);
  as__spawn_use_clear_sighand(clear_sighand);
  engine_signals();
  te_run_t run;
  run_sigstate(o, &run);
  expect_ran(&run);
  expect_state(&run, 0);
  close(o.ns_pidfd);
}

Test(spawn_sighand, container_every_signal_default) { expect_container(1); }

Test(spawn_sighand, container_every_signal_default_without_clear_sighand) {
  expect_container(0);
}

Test(spawn_sighand, container_without_proc_asks_sigaction) {
  no_proc = true;
  expect_container(1);
}

Test(spawn_sighand, host_without_proc_asks_sigaction) {
  no_proc = true;
  as__spawn_use_clone3(1);
  as__spawn_use_clear_sighand(0);
  expect_host();
}

Test(spawn_sighand, container_through_spawner) {
  as_spawner_opts_t so;
  memset(&so, 0, sizeof(so));
  so.ns_pidfd = self_pidfd();
  so.ns_flags = CLONE_NEWUTS;
  as_spawner_t *sp;
  cr_assert_eq(as_spawner_new(&so, &sp), 0);
  engine_signals();
  as_spawn_opts_t o = no_opts();
  o.spawner = sp;
  te_run_t run;
  run_sigstate(o, &run);
  expect_ran(&run);
  expect_state(&run, 0);
  as_spawner_free(sp);
  close(so.ns_pidfd);
}

/* The SigCgt lines above cannot tell: execve resets every handler anyway.
 * What can is a signal that reaches the child between clone and execve:
 * it must find the default action, for the engine's handler would run in
 * the engine's memory. The child is held in its setup by a full pipe
 * that stands in for a cgroup.procs file (the child writes "0" to it),
 * signalled from another thread, and let go: it must die of the signal
 * when its mask opens, and the handler must not have run. */
typedef struct holder_s {
  int rd;     /* the read end of the full pipe */
  pid_t tid;  /* the engine thread, whose child to catch */
  int sent;   /* 0, or the errno of the failed kill */
  int caught; /* the child was found */
} holder_t;

static pid_t first_child(pid_t tid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)tid);
  FILE *f = fopen(path, "r");
  int pid = 0;
  if (f != NULL) {
    if (fscanf(f, "%d", &pid) != 1) {
      pid = 0;
    }
    fclose(f);
  }
  return (pid_t)pid;
}

static void *holder_main(void *arg) {
  holder_t *h = arg;
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t child = 0;
  do {
    child = first_child(h->tid);
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while (child == 0 && t.tv_sec - t0.tv_sec < 10 && sched_yield() == 0);
  if (child != 0) {
    h->caught = 1;
    h->sent = kill(child, SIGUSR1) == 0 ? 0 : errno;
  }
  /* Let the child go, found or not. */
  char buf[65536];
  (void)read(h->rd, buf, sizeof(buf));
  return NULL;
}

static void expect_no_handler_in_child(void) {
  if (access("/proc/thread-self/children", R_OK) != 0) {
    cr_skip_test("no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN)");
  }
  engine_signals();
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  char fill[4096];
  memset(fill, 'x', sizeof(fill));
  while (write(p[1], fill, sizeof(fill)) > 0) {
  }
  cr_assert_eq(errno, EAGAIN);
  cr_assert_eq(fcntl(p[1], F_SETFL, 0), 0); /* the child's write blocks */
  holder_t h = {.rd = p[0], .tid = (pid_t)syscall(SYS_gettid)};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, holder_main, &h), 0);
  as_spawn_opts_t o = no_opts();
  o.cgroup_fds = &p[1];
  o.n_cgroup_fds = 1;
  te_run_t run;
  run_sigstate(o, &run);
  cr_assert_eq(pthread_join(t, NULL), 0);
  close(p[0]);
  close(p[1]);
  cr_assert(h.caught, "the child was not found in its setup");
  cr_assert_eq(h.sent, 0, "kill: %s", strerror(h.sent));
  cr_assert(!handler_ran, "the engine's handler ran in the child");
  cr_assert_eq(run.done_r.signal, SIGUSR1, "the child ended with %d/%d",
               run.done_r.exit_code, run.done_r.signal);
}

Test(spawn_sighand, no_handler_before_exec_clone3_kernel_clears) {
  as__spawn_use_clone3(1);
  as__spawn_use_clear_sighand(1);
  expect_no_handler_in_child();
}

Test(spawn_sighand, no_handler_before_exec_clone3_child_resets) {
  as__spawn_use_clone3(1);
  as__spawn_use_clear_sighand(0);
  expect_no_handler_in_child();
}

Test(spawn_sighand, no_handler_before_exec_clone_fallback) {
  as__spawn_use_clone3(0);
  expect_no_handler_in_child();
}
