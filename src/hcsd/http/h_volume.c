/* SPDX-License-Identifier: MIT */
/* /volumes...: create, list, inspect, remove and prune through the
 * volume store (model/volumes.h). */
#include "hcsd/http/http.h"
#include "hcsd/model/volumes.h"

#include <http_parser.h>
#include <stdlib.h>
#include <string.h>

static void pruned(json_t *report, void *data) {
  hcsd_req_t *r = data;
  hcsd_reply_json(r, 200, report);
  hcsd_req_unref(r);
}

static void prune(hcsd_t *d, hcsd_req_t *r) {
  char *filters = hcsd_query(r, "filters");
  hcsd_err_t e;
  hcsd_req_ref(r);
  if (hcsd_vol_prune(d, filters, pruned, r, &e) < 0) {
    hcsd_reply_err(r, &e);
    hcsd_req_unref(r);
  }
  free(filters);
}

void hcsd_h_volumes(hcsd_t *d, hcsd_req_t *r, const char *rest) {
  hcsd_err_t e;
  json_t *o = NULL;
  int status = 200;
  int m = r->method;
  if (rest == NULL && m == HTTP_GET) {
    char *filters = hcsd_query(r, "filters");
    o = hcsd_vol_list(d, filters, &e);
    free(filters);
  } else if (rest != NULL && strcmp(rest, "create") == 0 && m == HTTP_POST) {
    o = hcsd_vol_create(d, r->body, &e);
    status = 201;
  } else if (rest != NULL && strcmp(rest, "prune") == 0 && m == HTTP_POST) {
    prune(d, r);
    return;
  } else if (rest != NULL && strchr(rest, '/') == NULL && m == HTTP_GET) {
    o = hcsd_vol_inspect(d, rest, &e);
  } else if (rest != NULL && strchr(rest, '/') == NULL && m == HTTP_DELETE) {
    if (hcsd_vol_remove(d, rest, hcsd_query_bool(r, "force"), &e) != 0) {
      hcsd_reply_err(r, &e);
    } else {
      hcsd_reply_empty(r, 204);
    }
    return;
  } else {
    hcsd_reply_error(r, 404, "page not found");
    return;
  }
  if (o == NULL) {
    hcsd_reply_err(r, &e);
  } else {
    hcsd_reply_json(r, status, o);
  }
}
