/* SPDX-License-Identifier: MIT */
/* Pause, unpause and rename: a running container's compute system frozen
 * and thawed (hcs_PauseComputeSystem), and its name changed, in moby's
 * words and status codes. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool hcsd__ctr_paused(const hcsd_ctr_t *c) {
  return c->paused && c->state == CS_RUNNING && c->paused_run == c->exits;
}

void hcsd__ctr_thaw(hcsd_ctr_t *c) {
  if (hcsd__ctr_paused(c)) {
    (void)hcs_ResumeComputeSystem(c->d->hcs, c->id, NULL);
    c->paused = false;
  }
}

/* Pause (on) or unpause c: 0, or -1 with e. */
static int set_paused(hcsd_t *d, const char *ref, bool on, hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  bool paused = hcsd__ctr_paused(c);
  if (on && (c->state != CS_RUNNING || c->main == NULL)) {
    hcsd_err_set(e, 409, "Container %s is not running", c->id);
    return -1;
  }
  if (on && paused) {
    hcsd_err_set(e, 409, "Container %s is already paused", c->id);
    return -1;
  }
  if (!on && !paused) {
    hcsd_err_set(e, 500, "Container %s is not paused", c->id);
    return -1;
  }
  hcs_error_t *he = NULL;
  hcs_result_t hr = on ? hcs_PauseComputeSystem(d->hcs, c->id, &he)
                       : hcs_ResumeComputeSystem(d->hcs, c->id, &he);
  if (hr != HCS_OK) {
    hcsd_err_set(e, 500, "Cannot %s container %s: %s", on ? "pause" : "unpause",
                 c->id, hcs_error_message(he));
    hcs_error_free(he);
    return -1;
  }
  c->paused = on;
  c->paused_run = c->exits;
  hcsd_event_ctr(c, on ? "pause" : "unpause", NULL);
  return 0;
}

int hcsd_ctr_pause(hcsd_t *d, const char *ref, hcsd_err_t *e) {
  return set_paused(d, ref, true, e);
}

int hcsd_ctr_unpause(hcsd_t *d, const char *ref, hcsd_err_t *e) {
  return set_paused(d, ref, false, e);
}

int hcsd_ctr_rename(hcsd_t *d, const char *ref, const char *name,
                    hcsd_err_t *e) {
  const char *n = name != NULL && name[0] == '/' ? name + 1 : name;
  if (n == NULL || n[0] == '\0' || ref == NULL || ref[0] == '\0') {
    hcsd_err_set(e, 400, "Neither old nor new names may be empty");
    return -1;
  }
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  if (c->name != NULL && strcmp(c->name, n) == 0) {
    hcsd_err_set(e, 400,
                 "Renaming a container with the same name as its current "
                 "name");
    return -1;
  }
  char *copy = strdup(n);
  hcsd_err_t ce;
  if (hcsd__ctr_name_check(d, n, &ce) != 0 || copy == NULL) {
    free(copy);
    if (copy == NULL) {
      hcsd_err_set(e, 500, "out of memory");
    } else if (ce.status == 400) {
      /* moby names it with its '/' here. */
      hcsd_err_set(e, 400,
                   "Error when allocating new name: Invalid container name "
                   "(/%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                   n);
    } else {
      hcsd_err_set(e, ce.status, "Error when allocating new name: %s", ce.msg);
    }
    return -1;
  }
  json_t *old = json_pack("{s:s+}", "oldName", "/", c->name);
  free(c->name);
  c->name = copy;
  hcsd__store_save(c);
  hcsd_event_ctr(c, "rename", old);
  return 0;
}
