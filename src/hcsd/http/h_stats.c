/* SPDX-License-Identifier: MIT */
/* GET /containers/{id}/stats?stream=&one-shot=: the model's frames as a
 * chunked JSON stream, one object a line, bounded as every chunked reply
 * (http.h): a client that falls HCSD_OUT_MAX behind is dropped, and its
 * stats with it. */
#include "hcsd/http/http.h"
#include "hcsd/model/stats.h"

#include <stdlib.h>
#include <string.h>

typedef struct stats_req_s {
  hcsd_req_t *r;
  hcsd_stats_t *s;
} stats_req_t;

static void stats_gone(hcsd_req_t *r, void *data) {
  stats_req_t *q = data;
  hcsd_stats_cancel(q->s);
  hcsd_req_unref(r);
  free(q);
}

static void stats_frame(const char *text, size_t len, bool last, void *data) {
  stats_req_t *q = data;
  hcsd_req_t *r = q->r;
  if (len > 0 && hcsd_chunked_write(r, text, len) != 0) {
    return; /* dropped: stats_gone ran */
  }
  if (last) {
    (void)hcsd_req_on_gone(r, NULL, NULL); /* r is answered now */
    hcsd_chunked_end(r);
    hcsd_req_unref(r);
    free(q);
  }
}

/* A boolean query parameter that defaults to dflt when absent. */
static bool query_bool_or(hcsd_req_t *r, const char *name, bool dflt) {
  char *v = hcsd_query(r, name);
  bool b = v == NULL || v[0] == '\0' ? dflt : hcsd_query_bool(r, name) != 0;
  free(v);
  return b;
}

void hcsd_h_ctr_stats(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  bool stream = query_bool_or(r, "stream", true);
  bool one_shot = query_bool_or(r, "one-shot", false);
  if (one_shot && stream) {
    hcsd_reply_error(r, 400, "cannot have stream=true and one-shot=true");
    return;
  }
  stats_req_t *q = calloc(1, sizeof(*q));
  if (q == NULL) {
    hcsd_reply_error(r, 500, "out of memory");
    return;
  }
  q->r = r;
  hcsd_err_t e;
  if (hcsd_ctr_stats(d, ref, stream, one_shot, stats_frame, q, &q->s, &e) !=
      0) {
    free(q);
    hcsd_reply_err(r, &e);
    return;
  }
  hcsd_req_ref(r);
  hcsd_chunked_begin(r, 200, "application/json", NULL, 0);
  if (hcsd_req_on_gone(r, stats_gone, q) != 0) {
    hcsd_stats_cancel(q->s);
    free(q);
    hcsd_chunked_end(r);
    hcsd_req_unref(r);
  }
}
