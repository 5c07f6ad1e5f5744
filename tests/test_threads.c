/* SPDX-License-Identifier: MIT */
/* The synchronous calls from many threads at once, on one service: each
 * worker thread creates, starts, shuts down and deletes a system of its
 * own while it runs processes there and in a system all workers share,
 * reads their output, waits with timeouts and terminates them. Run under
 * ThreadSanitizer by `make test-tsan`: the hand-off between the callers
 * and the engine thread is what it watches.
 *
 * The workers cannot use cr_assert (it unwinds the test's own thread):
 * each records its first failure, and the test's thread asserts on it. */
#include "test_hcs_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>

TestSuite(threads, .timeout = 300);

typedef struct worker_s {
  hcs_t *h;
  int index;
  const char *shared; /* the system every worker uses */
  const char *config; /* for the worker's own system */
  bool in_container;  /* programs are busybox's, not the host helpers */
  int rounds;
  bool ok;
  char why[512];
} worker_t;

static bool fail(worker_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool fail(worker_t *w, const char *fmt, ...) {
  char what[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  snprintf(w->why, sizeof(w->why), "worker %d: %s", w->index, what);
  return false;
}

/* A call that must answer want; *errp is freed and set to NULL. errp is
 * passed by address: the order in which a call's arguments are evaluated
 * is unspecified, so a plain err argument could be read before the call
 * beside it has set it. */
static bool expect(worker_t *w, const char *what, hcs_result_t r,
                   hcs_error_t **errp, hcs_result_t want) {
  hcs_error_t *err = *errp;
  *errp = NULL;
  if (r == want) {
    hcs_error_free(err);
    return true;
  }
  bool res = fail(w, "%s: got %u, want %u: %s", what, (unsigned)r,
                  (unsigned)want, err != NULL ? hcs_error_message(err) : "");
  hcs_error_free(err);
  return res;
}

/* Reads fd to EOF into buf (NUL-terminated, cut at size) and closes it. */
static void read_to_eof(int fd, char *buf, size_t size) {
  size_t got = 0;
  for (;;) {
    char tmp[512];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    size_t take = (size_t)n < size - 1 - got ? (size_t)n : size - 1 - got;
    memcpy(buf + got, tmp, take);
    got += take;
  }
  buf[got] = '\0';
  close(fd);
}

/* Runs a program that writes out to stdout and err to stderr and exits
 * with code, in system id; checks all three. */
static bool run_one(worker_t *w, const char *id, int round) {
  char code[16], out[64], errtext[64], script[256];
  int want = (w->index * 31 + round) % 200;
  snprintf(code, sizeof(code), "%d", want);
  snprintf(out, sizeof(out), "out %d.%d in %s", w->index, round, id);
  snprintf(errtext, sizeof(errtext), "err %d.%d in %s", w->index, round, id);
  snprintf(script, sizeof(script), "printf '%s'; printf '%s' >&2; exit %d", out,
           errtext, want);
  const char *host_args[] = {TH_HELPER("cli_exit"), code, out, errtext, NULL};
  const char *ct_args[] = {"sh", "-c", script, NULL};
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = w->in_container ? ct_args : host_args;
  uint32_t pid = 0;
  int ofd = -1, efd = -1;
  hcs_error_t *err = NULL;
  if (!expect(w, "create",
              hcs_CreateProcessInComputeSystem(w->h, id, false, true, true, &p,
                                               &pid, NULL, &ofd, &efd, &err),
              &err, HCS_OK)) {
    return false;
  }
  /* A few hundred bytes: stderr cannot fill its pipe while stdout is
   * read first. */
  char got_out[128], got_err[128];
  read_to_eof(ofd, got_out, sizeof(got_out));
  read_to_eof(efd, got_err, sizeof(got_err));
  int32_t exit_code = -1;
  err = NULL;
  if (!expect(w, "wait",
              hcs_WaitForProcessInComputeSystem(w->h, id, pid, 60000,
                                                &exit_code, &err),
              &err, HCS_OK)) {
    return false;
  }
  if (exit_code != want || strcmp(got_out, out) != 0 ||
      strcmp(got_err, errtext) != 0) {
    return fail(w, "%s pid %u: exit %d (want %d), out \"%s\", err \"%s\"", id,
                (unsigned)pid, exit_code, want, got_out, got_err);
  }
  /* The record went with the wait. */
  err = NULL;
  return expect(w, "second wait",
                hcs_WaitForProcessInComputeSystem(w->h, id, pid, 0, NULL, &err),
                &err, HCS_ERROR_NOT_FOUND);
}

/* Starts a process that waits for a signal, sees a wait time out, then
 * terminates it (twice: idempotent) and collects its SIGKILL. */
static bool run_killed(worker_t *w, const char *id) {
  const char *host_args[] = {TH_HELPER("cli_sleeper"), NULL};
  const char *ct_args[] = {"sh", "-c", "echo ready; exec sleep 600", NULL};
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = w->in_container ? ct_args : host_args;
  uint32_t pid = 0;
  int ofd = -1;
  hcs_error_t *err = NULL;
  if (!expect(w, "create sleeper",
              hcs_CreateProcessInComputeSystem(w->h, id, false, true, false, &p,
                                               &pid, NULL, &ofd, NULL, &err),
              &err, HCS_OK)) {
    return false;
  }
  char ready[8];
  ssize_t n;
  do {
    n = read(ofd, ready, 6);
  } while (n < 0 && errno == EINTR);
  if (n != 6 || memcmp(ready, "ready\n", 6) != 0) {
    close(ofd);
    return fail(w, "%s: the sleeper said %zd bytes, not ready", id, n);
  }
  int32_t exit_code = -1;
  err = NULL;
  bool ok = expect(
      w, "wait for the sleeper",
      hcs_WaitForProcessInComputeSystem(w->h, id, pid, 5, &exit_code, &err),
      &err, HCS_WAIT_TIMEOUT);
  for (int i = 0; ok && i < 2; i++) {
    err = NULL;
    ok = expect(w, "terminate",
                hcs_TerminateProcessInComputeSystem(w->h, id, pid, &err), &err,
                HCS_OK);
  }
  err = NULL;
  ok = ok && expect(w, "wait for the killed sleeper",
                    hcs_WaitForProcessInComputeSystem(w->h, id, pid, 60000,
                                                      &exit_code, &err),
                    &err, HCS_OK);
  char rest[64];
  read_to_eof(ofd, rest, sizeof(rest));
  if (ok && exit_code != 128 + SIGKILL) {
    return fail(w, "%s: the killed sleeper exited %d", id, exit_code);
  }
  return ok;
}

static bool work(worker_t *w) {
  char own[32];
  snprintf(own, sizeof(own), "thr-own-%d", w->index);
  hcs_error_t *err = NULL;
  if (!expect(w, "create own",
              hcs_CreateComputeSystem(w->h, own, w->config, &err), &err,
              HCS_OK)) {
    return false;
  }
  err = NULL;
  if (!expect(w, "start own", hcs_StartComputeSystem(w->h, own, &err), &err,
              HCS_OK)) {
    return false;
  }
  for (int k = 0; k < w->rounds; k++) {
    const char *id = k % 2 == 0 ? w->shared : own;
    if (!run_one(w, id, k)) {
      return false;
    }
    if (k % 4 == w->index % 4 && !run_killed(w, id)) {
      return false;
    }
  }
  /* A sleeper left running in the own system: the shutdown stops it. */
  const char *host_args[] = {TH_HELPER("cli_sleeper"), NULL};
  const char *ct_args[] = {"sleep", "600", NULL};
  hcs_process_params_t p;
  memset(&p, 0, sizeof(p));
  p.args = w->in_container ? ct_args : host_args;
  uint32_t pid = 0;
  err = NULL;
  if (!expect(w, "create last sleeper",
              hcs_CreateProcessInComputeSystem(w->h, own, false, false, false,
                                               &p, &pid, NULL, NULL, NULL,
                                               &err),
              &err, HCS_OK)) {
    return false;
  }
  err = NULL;
  if (!expect(w, "terminate own",
              hcs_TerminateComputeSystem(w->h, own, 30000, NULL, &err), &err,
              HCS_OK)) {
    return false;
  }
  err = NULL;
  return expect(w, "delete own", hcs_DeleteComputeSystem(w->h, own, &err), &err,
                HCS_OK);
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  w->ok = work(w);
  return NULL;
}

static void run_workers(hcs_t *h, const char *config, bool in_container,
                        int nworkers, int rounds) {
  enum { MAX_WORKERS = 8 };
  cr_assert_leq(nworkers, MAX_WORKERS);
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_CreateComputeSystem(h, "thr-shared", config, &err), err);
  th_expect_ok(hcs_StartComputeSystem(h, "thr-shared", &err), err);
  pthread_t t[MAX_WORKERS];
  worker_t w[MAX_WORKERS];
  for (int i = 0; i < nworkers; i++) {
    w[i] = (worker_t){.h = h,
                      .index = i,
                      .shared = "thr-shared",
                      .config = config,
                      .in_container = in_container,
                      .rounds = rounds};
    cr_assert_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
  }
  for (int i = 0; i < nworkers; i++) {
    cr_assert_eq(pthread_join(t[i], NULL), 0);
  }
  for (int i = 0; i < nworkers; i++) {
    cr_assert(w[i].ok, "%s", w[i].why);
  }
  char *json = NULL;
  th_expect_ok(hcs_ListComputeSystems(h, &json, &err), err);
  cr_assert_null(strstr(json, "thr-own-"), "a worker's system is left: %s",
                 json);
  hcs_free(json);
  th_expect_ok(hcs_TerminateComputeSystem(h, "thr-shared", 30000, NULL, &err),
               err);
  th_expect_ok(hcs_DeleteComputeSystem(h, "thr-shared", &err), err);
}

/* A service of its own for the workers; nothing is left of it after. */
static void run_service(const char *config, bool in_container, int nworkers,
                        int rounds) {
  int fds0 = th_fd_baseline();
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  th_expect_ok(hcs_open(&h, NULL, &err), err);
  run_workers(h, config, in_container, nworkers, rounds);
  hcs_close(h);
  th_assert_no_child();
  cr_assert_eq(th_fd_count(), fds0, "fds leaked");
}

Test(threads, host_systems_and_processes) {
  run_service(TH_DUMMY, false, 8, 24);
}

/* Containers on the built-in busybox image, read-only and shared by every
 * system on it. */
Test(threads, containers_and_their_processes) {
  if (geteuid() != 0) {
    cr_skip_test("containers need root (namespaces, mounts, cgroups)");
  }
  char config[1024];
  snprintf(config, sizeof(config),
           "{\"SystemType\":\"Container\",\"Layers\":[{\"ID\":"
           "\"9f1c2a3b-0000-4000-8000-0000000000a1\",\"Path\":\"%s/%s\"}]}",
           hcs_default_image_home(), HCS_DEFAULT_IMAGE);
  run_service(config, true, 4, 8);
}
