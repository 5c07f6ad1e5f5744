/* SPDX-License-Identifier: MIT */
/* The service: an engine loop, usually on a thread of its own, and the
 * subsystems that hang from it (systems, networks). Synchronous calls
 * reach its thread through api/call.c. */
#include "hcs/api/call.h"
#include "hcs/api/error.h"
#include "hcs/api/opts.h"
#include "hcs/hns/hns_store.h"
#include "hcs/system/system.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void *engine_main(void *arg) {
  hcs_t *hcs = arg;
  as_loop_run(hcs->loop, 0);
  return NULL;
}

static void *worker_main(void *arg) {
  as_loop_run(arg, 0);
  return NULL;
}

/* hcs_options_t.threads as the service runs it. */
static uint32_t loops_wanted(uint32_t threads) {
  if (threads != 0) {
    return threads;
  }
  cpu_set_t set;
  int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
  return n < 1 ? 1 : n > HCS__LOOPS_MAX ? HCS__LOOPS_MAX : (uint32_t)n;
}

static void worker_end(as_loop_t *loop, void *data) {
  (void)data;
  as_loop_kill_all(loop, SIGKILL);
  as_loop_keepalive(loop, 0);
}

static void worker_kill(as_loop_t *loop, void *data) {
  (void)data;
  as_loop_kill_all(loop, SIGKILL);
}

void hcs__remote_gone(hcs_t *hcs) {
  if (--hcs->nremote == 0 && hcs->closing) {
    as_loop_keepalive(hcs->loop, 0);
  }
}

/* On loop 0 at close: every process goes, on every loop. Loop 0 keeps
 * running until the ends of its processes on worker loops are back. */
static void kill_everything(hcs_t *hcs) {
  hcs->closing = 1;
  hcs__systems_terminate_all(hcs);
  as_loop_kill_all(hcs->loop, SIGKILL);
  for (uint32_t i = 1; i < hcs->nloops; i++) {
    if (as_loop_post(hcs->loops[i], worker_kill, NULL) != 0) {
      abort(); /* worker loops end after loop 0 (hcs_close) */
    }
  }
  as_loop_keepalive(hcs->loop, hcs->nremote > 0);
}

/* Stops the worker loops from first on: each kills its sessions' processes
 * and its thread returns once they are complete. */
static void workers_stop(hcs_t *hcs, uint32_t first) {
  for (uint32_t i = first; i < hcs->nloops; i++) {
    if (hcs->loops[i] != NULL &&
        as_loop_post(hcs->loops[i], worker_end, NULL) != 0) {
      /* Not reachable: a loop refuses posts only once it is being freed. */
      abort();
    }
  }
  for (uint32_t i = first; i < hcs->nloops; i++) {
    if (hcs->loops[i] != NULL) {
      pthread_join(hcs->workers[i], NULL);
      as_loop_free(hcs->loops[i]);
      hcs->loops[i] = NULL;
    }
  }
}

static void loops_free(hcs_t *hcs) {
  as_free(hcs->loops);
  as_free(hcs->workers);
}

/* Loops 1..n-1, each running on a thread of its own. */
static hcs_result_t workers_start(hcs_t *hcs, uint32_t n, hcs_error_t **err) {
  static const char op[] = "hcs::Open";
  hcs->loops = as_calloc(n, sizeof(*hcs->loops));
  hcs->workers = as_calloc(n, sizeof(*hcs->workers));
  if (hcs->loops == NULL || hcs->workers == NULL) {
    loops_free(hcs);
    return hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, NULL, ENOMEM,
                     "allocating %u engine loops", n);
  }
  hcs->loops[0] = hcs->loop;
  hcs->nloops = 1;
  for (uint32_t i = 1; i < n; i++) {
    int r = as_loop_new(&hcs->loops[i], NULL);
    if (r == 0) {
      as_loop_keepalive(hcs->loops[i], 1);
      r = -pthread_create(&hcs->workers[i], NULL, worker_main, hcs->loops[i]);
      if (r != 0) {
        as_loop_free(hcs->loops[i]);
        hcs->loops[i] = NULL;
      }
    }
    if (r != 0) {
      workers_stop(hcs, 1);
      loops_free(hcs);
      return hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, NULL, -r,
                       "starting engine loop %u of %u: %s", i, n, strerror(-r));
    }
    hcs->nloops = i + 1;
  }
  return HCS_OK;
}

hcs_result_t hcs_open(hcs_t **out, const hcs_options_t *opts,
                      hcs_error_t **err) {
  static const char op[] = "hcs::Open";
  if (out == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL, "out is NULL");
  }
  hcs_options_t o;
  hcs_result_t r0 = hcs__opts_in_first(&o, sizeof(o), HCS__OPTIONS_FIRST, opts,
                                       "hcs_options_t", op, NULL, err);
  if (r0 != HCS_OK) {
    return r0;
  }
  opts = &o;
  if (o.threads > HCS__LOOPS_MAX) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL,
                     "threads: %u engine loops asked, at most %d", o.threads,
                     HCS__LOOPS_MAX);
  }
  hcs_t *hcs;
  as_alloc_init();
  hcs = as_calloc(1, sizeof(*hcs));
  if (hcs == NULL) {
    return hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, NULL, ENOMEM,
                     "allocating the service");
  }
  int r = as_loop_new(&hcs->loop, opts->uv_loop);
  if (r != 0) {
    as_free(hcs);
    return hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, NULL, -r,
                     "creating the engine loop: %s", strerror(-r));
  }
  if (opts->state_dir != NULL) {
    /* Before the engine thread exists: this thread is the loop's for now. */
    hcs->state_dir = as_strdup(opts->state_dir);
    hcs->state_per_boot = opts->state_per_boot;
    hcs_result_t lr = hcs->state_dir == NULL
                          ? hcs__fail(err, HCS_ERROR_OUTOFMEMORY, op, NULL,
                                      ENOMEM, "state_dir")
                          : hcs__state_load(hcs, err);
    if (lr != HCS_OK) {
      hcs__systems_free(hcs);
      as_loop_free(hcs->loop);
      as_free(hcs->state_dir);
      as_free(hcs);
      return lr;
    }
    hcs__systems_recover(hcs);
  }
  hcs_result_t hr = hcs__hns_open(hcs, err);
  if (hr != HCS_OK) {
    hcs__systems_free(hcs);
    as_loop_free(hcs->loop);
    as_free(hcs->state_dir);
    as_free(hcs);
    return hr;
  }
  hr = workers_start(hcs, loops_wanted(opts->threads), err);
  if (hr != HCS_OK) {
    hcs__systems_free(hcs);
    as_loop_free(hcs->loop);
    hcs__hns_close(hcs);
    as_free(hcs->state_dir);
    as_free(hcs);
    return hr;
  }
  if (!opts->no_thread && opts->uv_loop == NULL) {
    as_loop_keepalive(hcs->loop, 1);
    r = pthread_create(&hcs->thread, NULL, engine_main, hcs);
    if (r != 0) {
      workers_stop(hcs, 1);
      loops_free(hcs);
      as_loop_free(hcs->loop);
      hcs__systems_free(hcs);
      hcs__hns_close(hcs);
      as_free(hcs->state_dir);
      as_free(hcs);
      return hcs__fail(err, HCS_ERROR_GEN_FAILURE, op, NULL, r,
                       "starting the engine thread: %s", strerror(r));
    }
    hcs->threaded = 1;
  }
  *out = hcs;
  return hcs__ok(err);
}

as_loop_t *hcs_engine_loop(hcs_t *hcs) { return hcs->loop; }

uint32_t hcs_engine_loops(hcs_t *hcs) { return hcs->nloops; }

as_loop_t *hcs_engine_loop_at(hcs_t *hcs, uint32_t i) {
  return i < hcs->nloops ? hcs->loops[i] : NULL;
}

static void kill_all(hcs_t *hcs, hcs__call_t *call) {
  kill_everything(hcs);
  as_loop_stop(hcs->loop);
  hcs__call_done(call, HCS_OK, NULL);
}

void hcs_close(hcs_t *hcs) {
  if (hcs == NULL) {
    return;
  }
  if (hcs->threaded) {
    (void)hcs__call(hcs, kill_all, NULL, NULL);
    pthread_join(hcs->thread, NULL);
  } else {
    kill_everything(hcs);
  }
  /* The engine thread is gone: this thread runs the loop from here on,
   * until every killed process is reaped and its session complete. */
  as_loop_run(hcs->loop, 0);
  hcs__systems_free(hcs);
  /* Last, the worker loops: they release what loop 0 let go above. */
  workers_stop(hcs, 1);
  as_loop_free(hcs->loop);
  hcs__hns_close(hcs);
  loops_free(hcs);
  as_free(hcs->state_dir);
  as_free(hcs);
}

void hcs_stats(hcs_t *hcs, hcs_stats_t *st) {
  as_bufpool_stats_t ps;
  as_loop_t *loop = hcs__caller_loop(hcs);
  as_bufpool_stats(as_loop_pool(loop), &ps);
  st->sessions = as_loop_sessions(loop);
  st->buf_in_use = ps.in_use;
  st->buf_high_water = ps.high_water;
  st->buf_cached = ps.cached;
}
