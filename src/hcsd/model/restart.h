/* SPDX-License-Identifier: MIT */
/* HostConfig.RestartPolicy as dockerd applies it (restart.c): no,
 * on-failure[:N], always, unless-stopped; a backoff from 100 ms doubling
 * to a minute (back to 100 ms after a run of 10 s); a stop by the user
 * (docker stop, a kill with the stop signal or KILL) is never undone but
 * by the user, or, for always, by hcsd's next start. Engine thread. */
#ifndef HCSD_RESTART_H
#define HCSD_RESTART_H

#include "hcsd/hcsd.h"
#include "hcsd/model/spec.h"

#include <jansson.h>
#include <stdbool.h>

/* The create body's HostConfig (hc) asks for a policy dockerd takes: 0,
 * or -1 with e 400 in moby's words. */
int hcsd_restart_policy_check(json_t *hc, hcsd_err_t *e);

/* c's exit was cleaned up (not yet saved): true when a restart is now
 * scheduled (c shows "restarting" until it runs). */
bool hcsd__restart_exit(hcsd_ctr_t *c);
/* The user stopped c (docker stop; docker kill with its stop signal or
 * KILL): no restart follows, and unless-stopped stays stopped across a
 * restart of hcsd. */
void hcsd__restart_user_stop(hcsd_ctr_t *c);
/* The user started c: the stop is forgotten and the count starts over. */
void hcsd__restart_user_start(hcsd_ctr_t *c);
/* A scheduled restart of c is dropped: true when there was one. */
bool hcsd__restart_cancel(hcsd_ctr_t *c);
/* At hcsd's start: each container whose policy says so is started
 * (always; unless-stopped and on-failure unless the user stopped it),
 * once the recovery of its last run is over. */
void hcsd__restart_boot(hcsd_t *d);

#endif
