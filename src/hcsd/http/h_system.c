/* SPDX-License-Identifier: MIT */
/* h_system.h: the handlers of docker diff, docker export, docker system df
 * and the prunes of docker system prune not served elsewhere. */
#include "hcsd/http/h_system.h"
#include "hcsd/model/ctr_diff.h"

#include <stdlib.h>
#include <string.h>

static void bytes_done(int status, const char *body, size_t len, void *data) {
  hcsd_req_t *r = data;
  if (status != 200) {
    hcsd_reply_error(r, status, "%s", body);
  } else if (body[0] == '[' || strcmp(body, "null") == 0) {
    hcsd_reply_text_json(r, 200, body);
  } else {
    hcsd_reply(r, 200, "application/x-tar", body, len);
  }
  hcsd_req_unref(r);
}

static void start(hcsd_t *d, hcsd_req_t *r, const char *ref,
                  int (*fn)(hcsd_t *, const char *, hcsd_ctr_bytes_cb, void *,
                            hcsd_err_t *)) {
  hcsd_err_t e;
  hcsd_req_ref(r);
  if (fn(d, ref, bytes_done, r, &e) < 0) {
    hcsd_reply_err(r, &e);
    hcsd_req_unref(r);
  }
}

void hcsd_h_ctr_changes(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  start(d, r, ref, hcsd_ctr_changes);
}

void hcsd_h_ctr_export(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  start(d, r, ref, hcsd_ctr_export);
}
