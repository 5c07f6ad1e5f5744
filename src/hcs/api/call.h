/* SPDX-License-Identifier: MIT */
/* The service handle, and running work on its engine thread. Every
 * subsystem hangs its state from the handle; each field says whose it is. */
#ifndef HCS_HCS_API_CALL_H
#define HCS_HCS_API_CALL_H

#include "hcs-async.h"
#include "hcs.h"

#include <pthread.h>

enum { HCS__LOOPS_MAX = 64 };

struct hcs_s {
  as_loop_t *loop; /* loop 0, the engine loop: systems, networks, calls */
  pthread_t thread;
  int threaded;
  /* Loops 1..nloops-1 and their threads (service.c): sessions only. */
  uint32_t nloops;
  as_loop_t **loops;  /* nloops entries, loops[0] == loop */
  pthread_t *workers; /* nloops entries, [0] unused */
  /* Loop 0's: the next loop a synchronous call's process goes to, the
   * processes on worker loops whose end has not come back (loop 0 keeps
   * running for them while closing), and closing. */
  uint32_t next_loop;
  size_t nremote;
  int closing;
  struct hcs__system_s *systems; /* system.c; engine thread only */
  char *state_dir;               /* NULL: records in memory only */
  struct hcs__hns_s *hns;        /* networks and endpoints (hns_store.h) */
  /* hcs_options_t's state_per_boot: records never synced (state.c). */
  int state_per_boot;
};

/* A call's function runs on the engine thread and finishes the call by
 * hcs__call_done(); the caller waits for that. */
typedef struct hcs__call_s hcs__call_t;
typedef void (*hcs__call_fn)(hcs_t *hcs, hcs__call_t *call);
struct hcs__call_s {
  hcs__call_fn fn;
  void *args;
  hcs_result_t result;
  hcs_error_t *err;
  /* the waiting side */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int finished;
  int cancel_ran;
};
/* Runs fn on the engine thread and waits; on the engine thread itself, runs
 * it inline and requires that it finish inline. */
hcs_result_t hcs__call(hcs_t *hcs, hcs__call_fn fn, void *args,
                       hcs_error_t **err);
/* The same, giving up after timeout ms (HCS_TIMEOUT_INFINITE: never): then
 * cancel runs on the engine thread and must finish the call (with
 * HCS_ERROR_TIMEOUT) unless it finished already. Returns whichever result
 * finished the call. On the engine thread, fn must finish inline. */
hcs_result_t hcs__call_timed(hcs_t *hcs, hcs__call_fn fn, void *args,
                             uint32_t timeout, hcs__call_fn cancel,
                             hcs_error_t **err);
/* hcs__call for a worker loop's thread, with fn one that finishes on loop 0
 * without waiting for any worker loop (loop 0 never waits for a worker,
 * so this cannot deadlock; the worker's own loop stands still meanwhile). */
hcs_result_t hcs__call_from_worker(hcs_t *hcs, hcs__call_fn fn, void *args,
                                   hcs_error_t **err);
void hcs__call_done(hcs__call_t *call, hcs_result_t result, hcs_error_t *err);
as_loop_t *hcs__loop(hcs_t *hcs);
/* The engine loop the calling thread runs, or loop 0 from any other
 * thread. */
as_loop_t *hcs__caller_loop(hcs_t *hcs);
/* A process on a worker loop has ended for loop 0 (service.c). */
void hcs__remote_gone(hcs_t *hcs);
int hcs__on_engine(hcs_t *hcs);

#endif
