/* SPDX-License-Identifier: MIT */
/* /containers/{id}/top, pause, unpause, rename and update: decode, call
 * the model, encode. */
#include "hcsd/http/http.h"

#include <stdlib.h>

void hcsd_h_ctr_top(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  char *ps_args = hcsd_query(r, "ps_args");
  json_t *o = hcsd_ctr_top(d, ref, ps_args, &e);
  free(ps_args);
  if (o == NULL) {
    hcsd_reply_err(r, &e);
    return;
  }
  hcsd_reply_json(r, 200, o);
}

static void reply_rc(hcsd_req_t *r, int rc, const hcsd_err_t *e) {
  if (rc != 0) {
    hcsd_reply_err(r, e);
  } else {
    hcsd_reply_empty(r, 204);
  }
}

void hcsd_h_ctr_pause(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  reply_rc(r, hcsd_ctr_pause(d, ref, &e), &e);
}

void hcsd_h_ctr_unpause(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  reply_rc(r, hcsd_ctr_unpause(d, ref, &e), &e);
}

void hcsd_h_ctr_update(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  json_t *o = hcsd_ctr_update(d, ref, r->body, r->body_len, &e);
  if (o == NULL) {
    hcsd_reply_err(r, &e);
    return;
  }
  hcsd_reply_json(r, 200, o);
}

void hcsd_h_ctr_rename(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  char *name = hcsd_query(r, "name");
  int rc = hcsd_ctr_rename(d, ref, name, &e);
  free(name);
  reply_rc(r, rc, &e);
}
