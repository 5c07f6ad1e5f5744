/* SPDX-License-Identifier: MIT */
/* An embedder that reaps with waitpid(-1, WNOHANG) takes exits of the
 * processes hcs tracks (execve makes every program signal SIGCHLD, so it
 * cannot be prevented), and hcs must still report the real exit code:
 * 300 processes through the sync face on a host system, 300 through the
 * async session face and 100 execs into a container, each ending with its
 * own code, while a thread of this program loops on waitpid(-1, &st,
 * WNOHANG). On a kernel that keeps a reaped child's status for its pidfd
 * (Linux 6.15) every code is the real one; before, a stolen exit may only
 * say HCS_WAIT_ERR_EXIT_LOST, never a code the process did not give. */
#include "test_ct_util.h"
#include "test_hcs_util.h"

#include <hcs-async.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

enum { N_PROCS = 300 };

typedef struct stealer_s {
  pthread_t t;
  atomic_int stop;
  atomic_int stolen; /* children the embedder's loop reaped */
  pid_t last;
} stealer_t;

static void *stealer_main(void *arg) {
  stealer_t *st = arg;
  while (!atomic_load(&st->stop)) {
    int status;
    pid_t p = waitpid(-1, &status, WNOHANG);
    if (p > 0) {
      st->last = p;
      atomic_fetch_add(&st->stolen, 1);
    }
  }
  return NULL;
}

static void stealer_start(stealer_t *st) {
  memset(st, 0, sizeof(*st));
  cr_assert_eq(pthread_create(&st->t, NULL, stealer_main, st), 0);
}

static int stealer_stop(stealer_t *st) {
  atomic_store(&st->stop, 1);
  cr_assert_eq(pthread_join(st->t, NULL), 0);
  return atomic_load(&st->stolen);
}

/* The code process i ends with: 1-200, never 137. */
static int code_of(int i) { return 1 + i % 200; }

/* 1 when the kernel keeps a reaped child's status for its pidfd
 * (PIDFD_GET_INFO with PIDFD_INFO_EXIT, Linux 6.15). */
static int kernel_keeps_status(void) {
  struct {
    uint64_t mask, cgroupid;
    uint32_t ids[11];
    int32_t exit_code;
  } info;
  pid_t p = fork();
  cr_assert_geq(p, 0);
  if (p == 0) {
    _exit(42);
  }
  int fd = (int)syscall(SYS_pidfd_open, p, 0);
  cr_assert_geq(fd, 0, "pidfd_open: %s", strerror(errno));
  int st;
  cr_assert_eq(waitpid(p, &st, 0), p);
  memset(&info, 0, sizeof(info));
  info.mask = 0x8;
  int keeps = ioctl(fd, _IOWR(0xFF, 11, info), &info) == 0 &&
              (info.mask & 0x8) && info.exit_code == st;
  close(fd);
  return keeps;
}

/* Whether got may stand for process i's exit. */
static int code_ok(int i, int got, int keeps) {
  return got == code_of(i) || (!keeps && got == HCS_WAIT_ERR_EXIT_LOST);
}

Test(wait_steal, sync_face_on_a_host_system) {
  int keeps = kernel_keeps_status();
  int fds0 = th_fd_baseline();
  hcs_t *h = th_open_with("steal");
  stealer_t st;
  stealer_start(&st);
  uint32_t pids[N_PROCS];
  hcs_error_t *err = NULL;
  for (int i = 0; i < N_PROCS; i++) {
    char code[8];
    snprintf(code, sizeof(code), "%d", code_of(i));
    const char *argv[] = {TH_HELPER("exiter"), code, NULL};
    hcs_process_params_t pp = {.args = argv};
    th_expect_ok(hcs_CreateProcessInComputeSystem(h, "steal", false, false,
                                                  false, &pp, &pids[i], NULL,
                                                  NULL, NULL, &err),
                 err);
  }
  int wrong = 0, first_wrong = -1, first_got = 0;
  for (int i = 0; i < N_PROCS; i++) {
    hcs_process_result_t r;
    th_expect_ok(hcs_WaitForProcessResult(h, "steal", pids[i], 60000, &r, &err),
                 err);
    if (!code_ok(i, r.exit_code, keeps)) {
      if (wrong++ == 0) {
        first_wrong = i;
        first_got = r.exit_code;
      }
    }
  }
  int stolen = stealer_stop(&st);
  cr_assert_eq(wrong, 0,
               "%d of %d exit codes are false (process %d: %d, want %d); "
               "waitpid(-1) reaped %d",
               wrong, N_PROCS, first_wrong, first_got, code_of(first_wrong),
               stolen);
  cr_log_info("waitpid(-1) reaped %d of %d tracked children", stolen, N_PROCS);
  hcs_close(h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

/* The async face on a loop this thread runs. */
typedef struct async_run_s {
  int done, keeps;
  int wrong, first_wrong, first_got;
  int codes[N_PROCS];
} async_run_t;

typedef struct async_one_s {
  async_run_t *run;
  int i;
} async_one_t;

static void one_done(hcs_session_t *s, const hcs_process_result_t *r,
                     void *data) {
  async_one_t *one = data;
  async_run_t *run = one->run;
  run->codes[one->i] = r->exit_code;
  if (!code_ok(one->i, r->exit_code, run->keeps) && run->wrong++ == 0) {
    run->first_wrong = one->i;
    run->first_got = r->exit_code;
  }
  run->done++;
  hcs_session_unref(s);
}

Test(wait_steal, async_session_face) {
  int fds0 = th_fd_baseline();
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, &(hcs_options_t){.no_thread = true}, &err), err);
  static async_run_t run;
  static async_one_t ones[N_PROCS];
  memset(&run, 0, sizeof(run));
  run.keeps = kernel_keeps_status();
  stealer_t st;
  stealer_start(&st);
  for (int i = 0; i < N_PROCS; i++) {
    char code[8];
    snprintf(code, sizeof(code), "%d", code_of(i));
    const char *argv[] = {TH_HELPER("exiter"), code, NULL};
    ones[i] = (async_one_t){.run = &run, .i = i};
    hcs_session_options_t o = {.argv = argv, .data = &ones[i]};
    o.cb.done = one_done;
    hcs_session_t *s;
    cr_assert_eq(hcs_session_start(h, &o, &s), 0);
    /* A round now and then lets exits be seen while others start. */
    if (i % 16 == 15) {
      as_loop_run(hcs_engine_loop(h), 1);
    }
  }
  int64_t deadline = th_now_ms() + 60000;
  while (run.done < N_PROCS) {
    cr_assert(th_now_ms() < deadline, "%d of %d sessions done after 60 s",
              run.done, N_PROCS);
    as_loop_run(hcs_engine_loop(h), 0);
  }
  int stolen = stealer_stop(&st);
  cr_assert_eq(run.wrong, 0,
               "%d of %d exit codes are false (process %d: %d, want %d); "
               "waitpid(-1) reaped %d",
               run.wrong, N_PROCS, run.first_wrong, run.first_got,
               code_of(run.first_wrong), stolen);
  cr_log_info("waitpid(-1) reaped %d of %d tracked children", stolen, N_PROCS);
  hcs_close(h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

/* Execs into a container: the same, with the container's sh giving the
 * codes. */
Test(wait_steal, execs_into_a_container, .init = ct_setup,
     .fini = ct_teardown) {
  int keeps = kernel_keeps_status();
  hcs_t *h = open_hcs(NULL);
  start_system(h, "steal", "");
  stealer_t st;
  stealer_start(&st);
  enum { N_EXECS = 100 };
  uint32_t pids[N_EXECS];
  hcs_error_t *err = NULL;
  for (int i = 0; i < N_EXECS; i++) {
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "exit %d", code_of(i));
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    hcs_process_params_t pp = {.args = argv};
    th_expect_ok(hcs_CreateProcessInComputeSystem(h, "steal", false, false,
                                                  false, &pp, &pids[i], NULL,
                                                  NULL, NULL, &err),
                 err);
  }
  int wrong = 0, first_wrong = -1, first_got = 0;
  for (int i = 0; i < N_EXECS; i++) {
    hcs_process_result_t r;
    th_expect_ok(hcs_WaitForProcessResult(h, "steal", pids[i], 60000, &r, &err),
                 err);
    if (!code_ok(i, r.exit_code, keeps) && wrong++ == 0) {
      first_wrong = i;
      first_got = r.exit_code;
    }
  }
  int stolen = stealer_stop(&st);
  cr_assert_eq(wrong, 0,
               "%d of %d exit codes are false (exec %d: %d, want %d); "
               "waitpid(-1) reaped %d",
               wrong, N_EXECS, first_wrong, first_got, code_of(first_wrong),
               stolen);
  cr_log_info("waitpid(-1) reaped %d of %d execs", stolen, N_EXECS);
  stop_system(h, "steal");
  hcs_close(h);
}
