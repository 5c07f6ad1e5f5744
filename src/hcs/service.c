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
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void *engine_main(void *arg) {
  hcs_t *hcs = arg;
  as_loop_run(hcs->loop, 0);
  return NULL;
}

hcs_result_t hcs_open(hcs_t **out, const hcs_options_t *opts,
                      hcs_error_t **err) {
  static const char op[] = "hcs::Open";
  if (out == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL, "out is NULL");
  }
  hcs_options_t o;
  hcs_result_t r0 =
      hcs__opts_in(&o, sizeof(o), opts, "hcs_options_t", op, NULL, err);
  if (r0 != HCS_OK) {
    return r0;
  }
  opts = &o;
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
  if (!opts->no_thread && opts->uv_loop == NULL) {
    as_loop_keepalive(hcs->loop, 1);
    r = pthread_create(&hcs->thread, NULL, engine_main, hcs);
    if (r != 0) {
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

static void kill_all(hcs_t *hcs, hcs__call_t *call) {
  hcs__systems_terminate_all(hcs);
  as_loop_kill_all(hcs->loop, SIGKILL);
  as_loop_keepalive(hcs->loop, 0);
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
    hcs__systems_terminate_all(hcs);
    as_loop_kill_all(hcs->loop, SIGKILL);
  }
  /* The engine thread is gone: this thread runs the loop from here on,
   * until every killed process is reaped and its session complete. */
  as_loop_run(hcs->loop, 0);
  hcs__systems_free(hcs);
  as_loop_free(hcs->loop);
  hcs__hns_close(hcs);
  as_free(hcs->state_dir);
  as_free(hcs);
}

void hcs_stats(hcs_t *hcs, hcs_stats_t *st) {
  as_bufpool_stats_t ps;
  as_bufpool_stats(as_loop_pool(hcs->loop), &ps);
  st->sessions = as_loop_sessions(hcs->loop);
  st->buf_in_use = ps.in_use;
  st->buf_high_water = ps.high_water;
  st->buf_cached = ps.cached;
}
