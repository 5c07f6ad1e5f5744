/* SPDX-License-Identifier: MIT */
/* h_system.h: the handlers of docker diff, docker export, docker system df
 * and the prunes of docker system prune not served elsewhere. */
#include "hcsd/http/h_system.h"
#include "hcsd/http/parse.h"
#include "hcsd/model/ctr_diff.h"
#include "hcsd/model/sysdf.h"

#include <stdlib.h>
#include <string.h>

static void bytes_done(hcsd_t *d, int status, const char *body, size_t len,
                       int fd, void *data) {
  hcsd_req_t *r = data;
  (void)len;
  if (fd >= 0) {
    hcsd_reply_file(d, r, fd, "application/x-tar");
    return; /* it lets r go */
  }
  if (status != 200) {
    hcsd_reply_error(r, status, "%s", body);
  } else {
    hcsd_reply_text_json(r, 200, body);
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

/* ---- system df, network and build prunes ---- */

static void sys_done(int status, const char *body, void *data) {
  hcsd_req_t *r = data;
  if (status == 200) {
    hcsd_reply_text_json(r, 200, body);
  } else {
    hcsd_reply_error(r, status, "%s", body);
  }
  hcsd_req_unref(r);
}

size_t hcsd_query_all(const hcsd_req_t *r, const char *name, char **out,
                      size_t max) {
  size_t n = 0;
  for (const char *q = r->query; q != NULL && n < max;) {
    size_t len = strcspn(q, "&");
    char *seg = strndup(q, len);
    char *v = seg != NULL ? hcsd_query_value(seg, name) : NULL;
    free(seg);
    if (v != NULL) {
      out[n++] = v;
    }
    q = q[len] == '&' ? q + len + 1 : NULL;
  }
  return n;
}

void hcsd_h_system_df(hcsd_t *d, hcsd_req_t *r) {
  char *types[8];
  size_t n = hcsd_query_all(r, "type", types, 8);
  hcsd_err_t e;
  hcsd_req_ref(r);
  if (hcsd_system_df(d, (const char *const *)types, n, sys_done, r, &e) < 0) {
    hcsd_reply_err(r, &e);
    hcsd_req_unref(r);
  }
  for (size_t i = 0; i < n; i++) {
    free(types[i]);
  }
}

/* A prune of the model by the request's filters. */
static void prune(hcsd_t *d, hcsd_req_t *r,
                  int (*fn)(hcsd_t *, const char *, hcsd_sys_cb, void *,
                            hcsd_err_t *)) {
  char *filters = hcsd_query(r, "filters");
  hcsd_err_t e;
  hcsd_req_ref(r);
  if (fn(d, filters, sys_done, r, &e) < 0) {
    hcsd_reply_err(r, &e);
    hcsd_req_unref(r);
  }
  free(filters);
}

void hcsd_h_networks_prune(hcsd_t *d, hcsd_req_t *r) {
  prune(d, r, hcsd_networks_prune);
}

/* POST /containers/prune (http.h) */
void hcsd_h_ctr_prune(hcsd_t *d, hcsd_req_t *r) {
  prune(d, r, hcsd_containers_prune);
}

void hcsd_h_build_prune(hcsd_t *d, hcsd_req_t *r) {
  (void)d;
  /* hcsd builds nothing: no cache, whatever the filters keep. */
  hcsd_reply_text_json(r, 200, "{\"CachesDeleted\":null,\"SpaceReclaimed\":0}");
}
