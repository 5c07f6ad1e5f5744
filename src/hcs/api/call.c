/* SPDX-License-Identifier: MIT */
/* Calls: work that a thread hands to the engine thread, and waits for. */
#include "hcs/api/call.h"

#include "hcs/api/error.h"

#include <errno.h>
#include <string.h>
#include <time.h>

as_loop_t *hcs__loop(hcs_t *hcs) { return hcs->loop; }

int hcs__on_engine(hcs_t *hcs) { return as_loop_on_thread(hcs->loop); }

as_loop_t *hcs__caller_loop(hcs_t *hcs) {
  for (uint32_t i = 1; i < hcs->nloops; i++) {
    if (as_loop_on_thread(hcs->loops[i])) {
      return hcs->loops[i];
    }
  }
  return hcs->loop;
}

typedef struct call_post_s {
  hcs_t *hcs;
  hcs__call_t *call;
  hcs__call_fn fn;
} call_post_t;

static void call_tramp(as_loop_t *loop, void *data) {
  call_post_t *cp = data;
  (void)loop;
  cp->fn(cp->hcs, cp->call);
}

/* Runs the cancel function, then says so: the waiting caller may not
 * return (its stack holds the post) before this ran. */
static void cancel_tramp(as_loop_t *loop, void *data) {
  call_post_t *cp = data;
  hcs__call_t *call = cp->call;
  (void)loop;
  cp->fn(cp->hcs, call);
  pthread_mutex_lock(&call->lock);
  call->cancel_ran = 1;
  pthread_cond_signal(&call->cond);
  pthread_mutex_unlock(&call->lock);
}

void hcs__call_done(hcs__call_t *call, hcs_result_t result, hcs_error_t *err) {
  pthread_mutex_lock(&call->lock);
  if (call->finished) {
    pthread_mutex_unlock(&call->lock);
    hcs_error_free(err);
    return;
  }
  call->result = result;
  call->err = err;
  call->finished = 1;
  pthread_cond_signal(&call->cond);
  pthread_mutex_unlock(&call->lock);
}

static void deadline_in(struct timespec *ts, uint32_t ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

static hcs_result_t call_run(hcs_t *hcs, hcs__call_fn fn, void *args,
                             uint32_t timeout, hcs__call_fn cancel,
                             int worker_ok, hcs_error_t **err) {
  hcs__call_t call;
  memset(&call, 0, sizeof(call));
  call.fn = fn;
  call.args = args;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&call.lock, NULL);
  pthread_cond_init(&call.cond, &ca);
  pthread_condattr_destroy(&ca);
  if (!worker_ok && hcs__caller_loop(hcs) != hcs->loop) {
    /* A worker loop waiting for loop 0 could be waited for in turn. */
    call.finished = 1;
    call.result =
        hcs__fail(&call.err, HCS_WSAEINVAL, "hcs", NULL, EDEADLK,
                  "a synchronous call from a worker loop's thread (loops 1 "
                  "and up take sessions only)");
  } else if (hcs__on_engine(hcs)) {
    fn(hcs, &call);
    if (!call.finished && cancel != NULL) {
      cancel(hcs, &call);
    }
  } else {
    call_post_t cp = {.hcs = hcs, .call = &call, .fn = fn};
    int r = as_loop_post(hcs->loop, call_tramp, &cp);
    if (r != 0) {
      call.finished = 1;
      /* A closing service is hcsshim's closed handle. */
      call.result = hcs__fail(&call.err,
                              r == -ESHUTDOWN ? HCS_ERROR_INVALID_HANDLE
                                              : HCS_ERROR_GEN_FAILURE,
                              "hcs", NULL, -r, "the service is closing");
    }
    struct timespec deadline;
    deadline_in(&deadline, timeout);
    pthread_mutex_lock(&call.lock);
    int timed_out = 0;
    while (!call.finished && !timed_out) {
      if (timeout == HCS_TIMEOUT_INFINITE || cancel == NULL) {
        pthread_cond_wait(&call.cond, &call.lock);
      } else {
        timed_out = pthread_cond_timedwait(&call.cond, &call.lock, &deadline) ==
                    ETIMEDOUT;
      }
    }
    if (!call.finished) {
      /* The engine may still finish it first; cancel only finishes a call
       * that nothing else finished, and we wait for whichever did. */
      call_post_t cc = {.hcs = hcs, .call = &call, .fn = cancel};
      pthread_mutex_unlock(&call.lock);
      r = as_loop_post(hcs->loop, cancel_tramp, &cc);
      pthread_mutex_lock(&call.lock);
      while (r == 0 && !call.cancel_ran) {
        pthread_cond_wait(&call.cond, &call.lock);
      }
    }
    pthread_mutex_unlock(&call.lock);
  }
  pthread_cond_destroy(&call.cond);
  pthread_mutex_destroy(&call.lock);
  if (err != NULL) {
    *err = call.err;
  } else {
    hcs_error_free(call.err);
  }
  return call.result;
}

hcs_result_t hcs__call_timed(hcs_t *hcs, hcs__call_fn fn, void *args,
                             uint32_t timeout, hcs__call_fn cancel,
                             hcs_error_t **err) {
  return call_run(hcs, fn, args, timeout, cancel, 0, err);
}

hcs_result_t hcs__call(hcs_t *hcs, hcs__call_fn fn, void *args,
                       hcs_error_t **err) {
  return call_run(hcs, fn, args, HCS_TIMEOUT_INFINITE, NULL, 0, err);
}

hcs_result_t hcs__call_from_worker(hcs_t *hcs, hcs__call_fn fn, void *args,
                                   hcs_error_t **err) {
  return call_run(hcs, fn, args, HCS_TIMEOUT_INFINITE, NULL, 1, err);
}
