/* SPDX-License-Identifier: MIT */
/* Restart policies (restart.h), as moby's restart manager decides them:
 * at an exit the policy, the user's stop and the retry count say whether
 * the container runs again, after a backoff that starts at 100 ms and
 * doubles to a minute, back to 100 ms once a run lasted 10 s. The wait
 * uses the container's stop timer, idle while nothing runs. */
#include "hcsd/model/restart.h"
#include "hcsd/model/ctr_int.h"
#include "hcsd/util.h"

#include <string.h>

#define BACKOFF_FIRST_MS 100u
#define BACKOFF_MAX_MS 60000u
#define BACKOFF_RESET_NS (10 * 1000000000LL)

enum { RP_NO, RP_ON_FAILURE, RP_ALWAYS, RP_UNLESS_STOPPED };

static int policy_of(json_t *hc, long *max) {
  json_t *rp = json_object_get(hc, "RestartPolicy");
  const char *name = json_string_value(json_object_get(rp, "Name"));
  *max = (long)json_integer_value(json_object_get(rp, "MaximumRetryCount"));
  if (name == NULL) {
    return RP_NO;
  }
  if (strcmp(name, "on-failure") == 0) {
    return RP_ON_FAILURE;
  }
  if (strcmp(name, "always") == 0) {
    return RP_ALWAYS;
  }
  if (strcmp(name, "unless-stopped") == 0) {
    return RP_UNLESS_STOPPED;
  }
  return RP_NO;
}

int hcsd_restart_policy_check(json_t *hc, hcsd_err_t *e) {
  json_t *rp = json_object_get(hc, "RestartPolicy");
  if (rp == NULL || json_is_null(rp)) {
    return 0;
  }
  json_t *jn = json_object_get(rp, "Name");
  json_t *jm = json_object_get(rp, "MaximumRetryCount");
  if (!json_is_object(rp) || (jn != NULL && !json_is_string(jn)) ||
      (jm != NULL && !json_is_integer(jm))) {
    hcsd_err_set(e, 400,
                 "json: cannot unmarshal the value of "
                 "HostConfig.RestartPolicy");
    return -1;
  }
  const char *name = jn != NULL ? json_string_value(jn) : "";
  json_int_t max = json_integer_value(jm);
  if (strcmp(name, "on-failure") == 0) {
    if (max < 0) {
      hcsd_err_set(e, 400,
                   "invalid restart policy: maximum retry count "
                   "cannot be negative");
      return -1;
    }
  } else if (strcmp(name, "always") == 0 ||
             strcmp(name, "unless-stopped") == 0 || strcmp(name, "no") == 0) {
    if (max != 0) {
      hcsd_err_set(e, 400,
                   "invalid restart policy: maximum retry count can only be "
                   "used with 'on-failure'%s",
                   max < 0 ? " and cannot be negative" : "");
      return -1;
    }
  } else if (name[0] != '\0') {
    hcsd_err_set(e, 400,
                 "invalid restart policy: unknown policy '%s'; use one of "
                 "'no', 'always', 'on-failure', or 'unless-stopped'",
                 name);
    return -1;
  }
  long m;
  if (policy_of(hc, &m) != RP_NO &&
      json_is_true(json_object_get(hc, "AutoRemove"))) {
    hcsd_err_set(e, 400,
                 "can't create 'AutoRemove' container with restart policy");
    return -1;
  }
  return 0;
}

/* Whether c runs again after its exit (boot: hcsd's start, where always
 * holds even after the user's stop). */
static bool should_restart(const hcsd_ctr_t *c, bool boot) {
  long max;
  switch (policy_of(c->host_config, &max)) {
  case RP_ALWAYS:
    return boot || !c->manual_stop;
  case RP_UNLESS_STOPPED:
    return !c->manual_stop;
  case RP_ON_FAILURE:
    return !c->manual_stop && c->exit_code != 0 &&
           (max == 0 || c->restart_count < max);
  default:
    return false;
  }
}

static void restarted(const hcsd_err_t *e, void *data) {
  hcsd_ctr_t *c = data;
  c->restarting = false;
  if (e != NULL) {
    hcsd_log("restarting %.12s: %s", c->id, e->msg);
  }
  hcsd__ctr_unref(c);
}

/* Starts c if it is still to be: not removed, not started meanwhile, hcsd
 * not stopping. */
static int restart_now(hcsd_ctr_t *c, void *data) {
  (void)data;
  if (c->busy) {
    hcsd__ctr_add_settle(c, restart_now, NULL);
    return 0;
  }
  if (c->state == CS_REMOVING || c->state == CS_RUNNING || c->d->stopping) {
    c->restarting = false;
    return 0;
  }
  hcsd__ctr_ref(c);
  if (hcsd__ctr_start(c, restarted, c) != 0) {
    c->restarting = false;
    hcsd__ctr_unref(c);
  }
  return 0;
}

static void backoff_over(as_timer_t *t, void *data) {
  (void)t;
  hcsd_ctr_t *c = data;
  if (c->restarting) {
    restart_now(c, NULL);
  }
}

bool hcsd__restart_exit(hcsd_ctr_t *c) {
  /* A start that failed (its error kept) is not retried, as dockerd's
   * restart manager only sees exits; nor is anything while hcsd stops. */
  if (c->d->stopping || c->error != NULL || !should_restart(c, false)) {
    return false;
  }
  if (c->finished_ns - c->started_ns >= BACKOFF_RESET_NS) {
    c->restart_ms = 0;
  }
  c->restart_ms = c->restart_ms == 0 ? BACKOFF_FIRST_MS : c->restart_ms * 2;
  if (c->restart_ms > BACKOFF_MAX_MS) {
    c->restart_ms = BACKOFF_MAX_MS;
  }
  c->restart_count++;
  c->restarting = true;
  as_timer_arm(c->stop_timer, c->restart_ms, backoff_over, c);
  return true;
}

void hcsd__restart_user_stop(hcsd_ctr_t *c) {
  c->manual_stop = true;
  (void)hcsd__restart_cancel(c);
}

void hcsd__restart_user_start(hcsd_ctr_t *c) {
  c->manual_stop = false;
  c->restart_count = 0;
  c->restart_ms = 0;
  (void)hcsd__restart_cancel(c);
}

bool hcsd__restart_cancel(hcsd_ctr_t *c) {
  if (!c->restarting) {
    return false;
  }
  c->restarting = false;
  as_timer_disarm(c->stop_timer);
  hcsd__store_save(c);
  return true;
}

void hcsd__restart_boot(hcsd_t *d) {
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if (c->state != CS_EXITED || !should_restart(c, true)) {
      continue;
    }
    c->restarting = true;
    if (c->busy) {
      hcsd__ctr_add_settle(c, restart_now, NULL); /* after its recovery */
    } else {
      restart_now(c, NULL);
    }
  }
}
