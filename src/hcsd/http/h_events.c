/* SPDX-License-Identifier: MIT */
/* GET /events?since=&until=&filters=: the bus's events as a chunked JSON
 * stream, one object a line: the kept events asked for first (at most
 * HCSD_EVENTS_KEEP, what the endpoint has at hand), then each new one
 * until `until` or the client leaves. A client HCSD_OUT_MAX behind is
 * dropped (http.h), so a slow or vanished one holds nothing more. */
#include "hcsd/http/http.h"
#include "hcsd/model/events.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct events_req_s {
  hcsd_req_t *r;
  hcsd_events_sub_t *s;
} events_req_t;

static void events_gone(hcsd_req_t *r, void *data) {
  events_req_t *q = data;
  hcsd_events_unsubscribe(q->s);
  hcsd_req_unref(r);
  free(q);
}

static void on_event(const char *text, size_t len, void *data) {
  events_req_t *q = data;
  /* A client HCSD_OUT_MAX behind is dropped here: events_gone ran. */
  (void)hcsd_chunked_write(q->r, text, len);
}

static void on_end(void *data) {
  events_req_t *q = data;
  hcsd_req_t *r = q->r;
  free(q);
  (void)hcsd_req_on_gone(r, NULL, NULL); /* r is answered now */
  hcsd_chunked_end(r);
  hcsd_req_unref(r);
}

/* A timestamp as the CLI sends it, "SECONDS[.NANOSECONDS]", into *ns (0
 * when absent): 0, or -1 when it is not one. */
static int query_time(hcsd_req_t *r, const char *name, int64_t *ns) {
  char *v = hcsd_query(r, name);
  *ns = 0;
  if (v == NULL || v[0] == '\0') {
    free(v);
    return 0;
  }
  char *end;
  long long sec = strtoll(v, &end, 10);
  long long frac = 0;
  int digits = 0;
  bool ok = end != v;
  if (ok && *end == '.') {
    for (end++; isdigit((unsigned char)*end) && digits < 9; end++, digits++) {
      frac = frac * 10 + (*end - '0');
    }
    ok = digits > 0;
  }
  ok = ok && *end == '\0' && sec >= 0;
  for (; digits < 9; digits++) {
    frac *= 10;
  }
  free(v);
  *ns = (int64_t)sec * 1000000000 + frac;
  return ok ? 0 : -1;
}

void hcsd_h_events(hcsd_t *d, hcsd_req_t *r) {
  hcsd_events_opts_t o = {0};
  if (query_time(r, "since", &o.since) != 0 ||
      query_time(r, "until", &o.until) != 0) {
    hcsd_reply_error(r, 400,
                     "invalid since or until: a timestamp is "
                     "SECONDS[.NANOSECONDS]");
    return;
  }
  if (o.until != 0 && o.until < o.since) {
    char *since = hcsd_query(r, "since"), *until = hcsd_query(r, "until");
    hcsd_reply_error(r, 400,
                     "`since` time (%s) cannot be after `until` time (%s)",
                     since, until);
    free(since);
    free(until);
    return;
  }
  events_req_t *q = calloc(1, sizeof(*q));
  char *filters = hcsd_query(r, "filters");
  o.filters = filters;
  static const hcsd_events_ops_t ops = {on_event, on_end};
  char *replay = NULL;
  size_t n = 0;
  hcsd_err_t e;
  int rc = q != NULL
               ? hcsd_events_subscribe(d, &o, &ops, q, &replay, &n, &q->s, &e)
               : (hcsd_err_set(&e, 500, "out of memory"), -1);
  free(filters);
  if (rc != 0) {
    free(q);
    hcsd_reply_err(r, &e);
    return;
  }
  q->r = r;
  hcsd_req_ref(r);
  hcsd_chunked_begin(r, 200, "application/json", replay, n);
  free(replay);
  if (q->s == NULL) {
    on_end(q); /* only past events */
  } else if (hcsd_req_on_gone(r, events_gone, q) != 0) {
    hcsd_events_unsubscribe(q->s);
    free(q);
    hcsd_chunked_end(r);
    hcsd_req_unref(r);
  }
}
