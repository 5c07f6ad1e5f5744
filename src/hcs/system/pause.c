/* SPDX-License-Identifier: MIT */
/* Pause and Resume of a compute system: its cgroups frozen and thawed.
 * A paused system is still Running to every other call but process
 * creation (refused) and Shutdown/Terminate (whose signals act once it
 * is thawed, which they do). Inspect says "Paused". */
#include "hcs/system/container.h"
#include "hcs/system/system.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void hcs__system_thaw(hcs__system_t *s) {
  if (s->paused && s->ct != NULL) {
    (void)hcs__cgroup_freeze(&s->ct->cg, 0);
  }
  s->paused = 0;
}

/* The system of id, running, paused (want_paused) or not: HCS_OK, or the
 * failure in err. */
static hcs_result_t pause_check(hcs_t *hcs, const char *op, const char *id,
                                int want_paused, hcs__system_t **out,
                                hcs_error_t **err) {
  hcs__system_t *s;
  hcs_result_t r = hcs__system_get(hcs, op, id, &s, err);
  if (r != HCS_OK) {
    return r;
  }
  char obj[160];
  snprintf(obj, sizeof(obj), "id=%s", s->id);
  if (s->state != HCS__SYS_RUNNING || s->stopping) {
    return hcs__fail(err, HCS_E_INVALID_STATE, op, obj, EINVAL,
                     "the system is %s",
                     s->stopping                    ? "stopping"
                     : s->state == HCS__SYS_STOPPED ? "stopped"
                                                    : "not started");
  }
  if (s->is_dummy || s->ct == NULL) {
    return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, op, obj, ENOTSUP,
                     "a system without isolation has no group of its own "
                     "to freeze");
  }
  if (s->paused != want_paused) {
    return hcs__fail(err, HCS_E_INVALID_STATE, op, obj, EINVAL,
                     want_paused ? "the system is not paused"
                                 : "the system is paused already");
  }
  *out = s;
  return HCS_OK;
}

typedef struct pause_args_s {
  const char *id;
  int pause;
} pause_args_t;

static void pause_fn(hcs_t *hcs, hcs__call_t *call) {
  const pause_args_t *a = call->args;
  const char *op =
      a->pause ? "hcs::PauseComputeSystem" : "hcs::ResumeComputeSystem";
  hcs_error_t *err = NULL;
  hcs__system_t *s = NULL;
  int lock;
  hcs_result_t r = hcs__system_lock(hcs, op, a->id, &lock, &err);
  if (r == HCS_OK) {
    r = pause_check(hcs, op, a->id, !a->pause, &s, &err);
  }
  int e = r == HCS_OK ? hcs__cgroup_freeze(&s->ct->cg, a->pause) : 0;
  if (e != 0) {
    char obj[160];
    snprintf(obj, sizeof(obj), "id=%s", s->id);
    r = hcs__fail(&err, HCS_ERROR_GEN_FAILURE, op, obj, -e,
                  "%s the system's groups: %s",
                  a->pause ? "freezing" : "thawing", strerror(-e));
    if (a->pause) {
      (void)hcs__cgroup_freeze(&s->ct->cg, 0);
    }
  } else if (r == HCS_OK) {
    s->paused = a->pause;
  }
  hcs__state_unlock(hcs, a->id, lock);
  hcs__call_done(call, r, err);
}

static hcs_result_t pause_call(hcs_t *hcs, const char *id, int pause,
                               hcs_error_t **err) {
  if (hcs == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL,
                     pause ? "hcs::PauseComputeSystem"
                           : "hcs::ResumeComputeSystem",
                     NULL, EINVAL, "hcs is NULL");
  }
  pause_args_t a = {.id = id, .pause = pause};
  return hcs__call(hcs, pause_fn, &a, err);
}

hcs_result_t hcs_PauseComputeSystem(hcs_t *hcs, const char *id,
                                    hcs_error_t **err) {
  return pause_call(hcs, id, 1, err);
}

hcs_result_t hcs_ResumeComputeSystem(hcs_t *hcs, const char *id,
                                     hcs_error_t **err) {
  return pause_call(hcs, id, 0, err);
}
