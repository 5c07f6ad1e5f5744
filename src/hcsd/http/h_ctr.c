/* SPDX-License-Identifier: MIT */
/* /containers/...: each handler decodes its request, calls the model and
 * encodes the answer in Docker's words. */
#include "hcsd/http/http.h"
#include "hcsd/model/volumes.h"
#include "hcsd/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pending call's end: 204, or the error. */
static void reply_done(const hcsd_err_t *e, void *data) {
  hcsd_req_t *r = data;
  if (e != NULL) {
    hcsd_reply_err(r, e);
  } else {
    hcsd_reply_empty(r, 204);
  }
  hcsd_req_unref(r);
}

/* After a call given reply_done and r (referenced before the call): rc
 * HCSD_PENDING leaves the answer to reply_done; otherwise it is now. */
static void reply_now(hcsd_req_t *r, int rc, const hcsd_err_t *e) {
  if (rc == HCSD_PENDING) {
    return;
  }
  reply_done(rc < 0 ? e : NULL, r);
}

static void created(const char *id, const hcsd_err_t *e, void *data) {
  hcsd_req_t *r = data;
  if (e != NULL) {
    hcsd_reply_err(r, e);
  } else {
    hcsd_reply_json(r, 201, json_pack("{s:s,s:[]}", "Id", id, "Warnings"));
  }
  hcsd_req_unref(r);
}

void hcsd_h_ctr_create(hcsd_t *d, hcsd_req_t *r) {
  hcsd_ctr_spec_t spec;
  hcsd_err_t e;
  char *platform = hcsd_query(r, "platform");
  int bad = hcsd_platform_check(platform, &e);
  free(platform);
  if (bad != 0 || hcsd_ctr_spec_decode(r->body, r->body_len, &spec, &e) != 0) {
    hcsd_reply_err(r, &e);
    return;
  }
  char *name = hcsd_query(r, "name");
  const char *n = name != NULL && name[0] == '/' ? name + 1 : name;
  hcsd_req_ref(r);
  if (hcsd_ctr_create(d, &spec, n, created, r, &e) < 0) {
    hcsd_reply_err(r, &e);
    hcsd_req_unref(r);
  }
  free(name);
  hcsd_ctr_spec_clear(&spec);
}

static void listed(json_t *list, void *data) {
  hcsd_req_t *r = data;
  hcsd_reply_json(r, 200, list);
  hcsd_req_unref(r);
}

/* GET /containers/json?all&limit&filters&size. */
void hcsd_h_ctr_list(hcsd_t *d, hcsd_req_t *r) {
  hcsd_err_t e;
  char *limit = hcsd_query(r, "limit");
  char *filters = hcsd_query(r, "filters");
  hcsd_ctr_list_opts_t o = {.all = hcsd_query_bool(r, "all"),
                            .limit = limit != NULL ? atol(limit) : 0,
                            .filters = filters};
  json_t *a = hcsd_ctr_list(d, &o, &e);
  free(limit);
  free(filters);
  if (a == NULL) {
    hcsd_reply_err(r, &e);
  } else if (!hcsd_query_bool(r, "size")) {
    hcsd_reply_json(r, 200, a);
  } else {
    hcsd_req_ref(r);
    if (hcsd_ctr_list_sizes(d, a, listed, r, &e) < 0) {
      json_decref(a);
      hcsd_reply_err(r, &e);
      hcsd_req_unref(r);
    }
  }
}

void hcsd_h_ctr_inspect(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  json_t *o = hcsd_ctr_inspect(d, ref, &e);
  if (o == NULL) {
    hcsd_reply_err(r, &e);
    return;
  }
  hcsd_reply_json(r, 200, o);
}

/* A query parameter that is present (and not empty). */
static bool query_given(hcsd_req_t *r, const char *name) {
  char *v = hcsd_query(r, name);
  bool given = v != NULL && v[0] != '\0';
  free(v);
  return given;
}

void hcsd_h_ctr_start(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  if (query_given(r, "checkpoint") || query_given(r, "checkpoint-dir")) {
    hcsd_reply_error(r, 400, "hcsd does not support checkpoints");
    return;
  }
  hcsd_req_ref(r);
  reply_now(r, hcsd_ctr_start(d, ref, reply_done, r, &e), &e);
}

void hcsd_h_ctr_kill(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  char *sig = hcsd_query(r, "signal");
  hcsd_req_ref(r);
  int rc = hcsd_ctr_kill(d, ref, sig, reply_done, r, &e);
  free(sig);
  reply_now(r, rc, &e);
}

/* ?t=N: seconds before SIGKILL (default: the container's). */
static int stop_secs(hcsd_req_t *r) {
  char *t = hcsd_query(r, "t");
  int secs = t != NULL ? atoi(t) : HCSD_STOP_DEFAULT;
  free(t);
  return secs;
}

void hcsd_h_ctr_stop(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  char *sig = hcsd_query(r, "signal");
  hcsd_req_ref(r);
  int rc = hcsd_ctr_stop(d, ref, sig, stop_secs(r), reply_done, r, &e);
  free(sig);
  reply_now(r, rc, &e);
}

/* POST /containers/{id}/restart[?t=N&signal=S]: stop as stop does, then
 * start; 204 once started. */
void hcsd_h_ctr_restart(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  char *sig = hcsd_query(r, "signal");
  hcsd_req_ref(r);
  int rc = hcsd_ctr_restart(d, ref, sig, stop_secs(r), reply_done, r, &e);
  free(sig);
  reply_now(r, rc, &e);
}

/* DELETE /containers/{id}?force&v&link: v is honoured as there is
 * nothing to remove (hcsd makes no anonymous volumes); link removes a
 * legacy link, and hcsd has none: a container's own name is moby's 409,
 * a parent/child name a 404. */
void hcsd_h_ctr_delete(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  if (hcsd_query_bool(r, "link")) {
    if (strchr(ref[0] == '/' ? ref + 1 : ref, '/') == NULL) {
      hcsd_reply_error(r, 409,
                       "Conflict, cannot remove the default link "
                       "name of the container");
    } else {
      hcsd_reply_error(r, 404, "hcsd does not support links: no link %s", ref);
    }
    return;
  }
  bool force = hcsd_query_bool(r, "force");
  hcsd_volumes_rm_with(d, ref, hcsd_query_bool(r, "v"));
  hcsd_req_ref(r);
  reply_now(r, hcsd_ctr_remove(d, ref, force, reply_done, r, &e), &e);
}

void hcsd_h_ctr_resize(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  int rows, cols;
  hcsd_req_size(r, &rows, &cols);
  if (hcsd_ctr_resize(d, ref, rows, cols, &e) != 0) {
    hcsd_reply_err(r, &e);
    return;
  }
  hcsd_reply(r, 200, "text/plain; charset=utf-8", NULL, 0);
}

/* ---- wait ---- */

typedef struct wait_req_s {
  hcsd_req_t *r;
  hcsd_wait_t *w;
} wait_req_t;

static void wait_answer(hcsd_req_t *r, int code) {
  char body[96];
  int n = snprintf(body, sizeof(body), "{\"StatusCode\":%d}\n", code);
  hcsd_chunked_write(r, body, (size_t)n);
  hcsd_chunked_end(r);
}

static void waited(int code, void *data) {
  wait_req_t *wr = data;
  hcsd_req_t *r = wr->r;
  free(wr);
  (void)hcsd_req_on_gone(r, NULL, NULL); /* r is answered now */
  wait_answer(r, code);
  hcsd_req_unref(r);
}

static void wait_gone(hcsd_req_t *r, void *data) {
  wait_req_t *wr = data;
  hcsd_wait_cancel(wr->w);
  free(wr);
  hcsd_req_unref(r);
}

void hcsd_h_ctr_wait(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_err_t e;
  wait_req_t *wr = calloc(1, sizeof(*wr));
  char *cond = hcsd_query(r, "condition");
  int code = 0;
  int rc = wr != NULL
               ? hcsd_ctr_wait(d, ref, cond, waited, wr, &wr->w, &code, &e)
               : (hcsd_err_set(&e, 500, "out of memory"), -1);
  free(cond);
  if (rc != HCSD_PENDING) {
    free(wr);
  }
  if (rc < 0) {
    hcsd_reply_err(r, &e);
    return;
  }
  /* Headers now: the CLI starts the container only once it has them. */
  hcsd_chunked_begin(r, 200, "application/json", NULL, 0);
  if (rc == 0) {
    wait_answer(r, code);
  } else if (hcsd_req_on_gone(r, wait_gone, wr) != 0) {
    hcsd_wait_cancel(wr->w);
    free(wr);
    hcsd_chunked_end(r);
  } else {
    hcsd_req_ref(r);
    wr->r = r;
  }
}

/* ---- logs ---- */

/* A logs -f client: the model's follower and the parked request. */
typedef struct follow_req_s {
  hcsd_req_t *r;
  hcsd_follow_t *f;
  bool tty;
} follow_req_t;

static void follow_data(int stream, const char *buf, size_t len,
                        hcsd_hold_t *hold, void *data) {
  follow_req_t *fr = data;
  (void)hold;
  uint8_t h[8];
  hcsd_frame_header(h, stream, len);
  as_iov_t iov[2] = {{h, 8}, {buf, len}};
  /* A client HCSD_OUT_MAX behind is dropped here: follow_gone ran. */
  (void)hcsd_chunked_writev(fr->r, fr->tty ? iov + 1 : iov, fr->tty ? 1 : 2);
}

static void follow_end(void *data) {
  follow_req_t *fr = data;
  hcsd_chunked_end(fr->r);
  hcsd_req_unref(fr->r);
  free(fr);
}

static void follow_gone(hcsd_req_t *r, void *data) {
  follow_req_t *fr = data;
  hcsd_follow_cancel(fr->f);
  free(fr);
  hcsd_req_unref(r);
}

static const hcsd_out_ops_t follow_ops = {follow_data, follow_end, NULL};

/* tail=N: a count, anything else (as moby) is all. */
static long logs_tail(hcsd_req_t *r) {
  char *t = hcsd_query(r, "tail");
  char *end = NULL;
  long tail = t != NULL && t[0] != '\0' && strcmp(t, "all") != 0
                  ? strtol(t, &end, 10)
                  : -1;
  if (end != NULL && (*end != '\0' || tail < 0)) {
    tail = -1;
  }
  free(t);
  return tail;
}

/* since= / until=: what the CLI sends (seconds since the epoch, with up to
 * nine digits of fraction, from a date or a duration it converted), in
 * ns; 0 when absent or "0". -1 (and a 400) for anything else, in moby's
 * words. */
static int logs_time(hcsd_req_t *r, const char *name, int64_t *ns) {
  char *v = hcsd_query(r, name);
  *ns = 0;
  if (v == NULL || v[0] == '\0') {
    free(v);
    return 0;
  }
  const char *p = v;
  int64_t s = 0, frac = 0;
  int digits = 0, fd = 0;
  for (; *p >= '0' && *p <= '9' && digits < 12; p++, digits++) {
    s = s * 10 + (*p - '0');
  }
  if (*p == '.') {
    for (p++; *p >= '0' && *p <= '9' && fd < 9; p++, fd++) {
      frac = frac * 10 + (*p - '0');
    }
  }
  bool ok = digits > 0 && *p == '\0';
  for (; ok && fd < 9; fd++) {
    frac *= 10;
  }
  if (!ok) {
    char msg[200];
    snprintf(msg, sizeof(msg), "invalid value for \"%s\": %.64s", name, v);
    free(v);
    hcsd_reply_error(r, 400, "%s", msg);
    return -1;
  }
  free(v);
  *ns = s * 1000000000 + frac;
  return 0;
}

/* Parks r as a follower, the stored log its first chunk. */
static void logs_follow(hcsd_req_t *r, follow_req_t *fr, hcsd_logs_t *out,
                        const char *ct) {
  fr->r = r;
  fr->f = out->follow;
  fr->tty = out->tty;
  hcsd_chunked_begin(r, 200, ct, out->buf, out->len);
  if (hcsd_req_on_gone(r, follow_gone, fr) != 0) {
    hcsd_follow_cancel(fr->f);
    free(fr);
    hcsd_chunked_end(r);
    return;
  }
  hcsd_req_ref(r);
}

void hcsd_h_ctr_logs(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_logs_opts_t o = {
      .streams = (hcsd_query_bool(r, "stdout") ? 1 : 0) |
                 (hcsd_query_bool(r, "stderr") ? 2 : 0),
      .tail = logs_tail(r),
      .follow = hcsd_query_bool(r, "follow"),
      .timestamps = hcsd_query_bool(r, "timestamps"),
  };
  /* details: the log driver's extra attributes, of which hcsd's json-file
   * log has none (--log-opt is refused at create): nothing to add. */
  if (logs_time(r, "since", &o.since) != 0 ||
      logs_time(r, "until", &o.until) != 0) {
    return;
  }
  follow_req_t *fr = o.follow ? calloc(1, sizeof(*fr)) : NULL;
  o.follow = fr != NULL;
  hcsd_logs_t out;
  hcsd_err_t e;
  if (hcsd_ctr_logs(d, ref, &o, &follow_ops, fr, &out, &e) != 0) {
    free(fr);
    hcsd_reply_err(r, &e);
    return;
  }
  const char *ct = out.tty ? "application/vnd.docker.raw-stream"
                           : "application/vnd.docker.multiplexed-stream";
  if (out.follow != NULL) {
    logs_follow(r, fr, &out, ct);
  } else {
    free(fr);
    hcsd_reply(r, 200, ct, out.buf != NULL ? out.buf : "", out.len);
  }
  free(out.buf);
}

/* ---- attach ---- */

/* An attached client: the model's attachment and the hijacked stream.
 * Until the stream is set up, a client that goes is only noted. */
typedef struct attach_req_s {
  hcsd_attach_t *a;
  hcsd_stream_t *st;
  bool setup, gone;
} attach_req_t;

static void attach_data(int stream, const char *buf, size_t len,
                        hcsd_hold_t *hold, void *data) {
  attach_req_t *ar = data;
  hcsd_stream_out(ar->st, stream, buf, len, hold);
}

static void attach_end(void *data) {
  attach_req_t *ar = data;
  hcsd_stream_finish(ar->st);
  free(ar);
}

static void attach_pause(bool paused, void *data) {
  attach_req_t *ar = data;
  hcsd_stream_pause_input(ar->st, paused);
}

static void attach_input(hcsd_stream_t *st, char *buf, size_t len, void *data) {
  attach_req_t *ar = data;
  (void)st;
  hcsd_attach_input(ar->a, buf, len);
}

static void attach_gone(hcsd_stream_t *st, void *data) {
  attach_req_t *ar = data;
  if (ar->setup) {
    ar->gone = true;
    return;
  }
  hcsd_attach_close(ar->a);
  free(ar);
  hcsd_stream_finish(st);
}

void hcsd_h_ctr_attach(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_attach_opts_t o = {.in = hcsd_query_bool(r, "stdin"),
                          .out = hcsd_query_bool(r, "stdout"),
                          .err = hcsd_query_bool(r, "stderr"),
                          .logs = hcsd_query_bool(r, "logs"),
                          .stream = hcsd_query_bool(r, "stream")};
  attach_req_t *ar = calloc(1, sizeof(*ar));
  hcsd_err_t e;
  bool tty = false;
  if (ar == NULL) {
    hcsd_reply_error(r, 500, "out of memory");
    return;
  }
  if (hcsd_ctr_attach(d, ref, &o, &ar->a, &tty, &e) != 0) {
    free(ar);
    hcsd_reply_err(r, &e);
    return;
  }
  static const hcsd_stream_ops_t sops = {attach_input, attach_gone};
  static const hcsd_out_ops_t ops = {attach_data, attach_end, attach_pause};
  ar->setup = true;
  ar->st = hcsd_hijack(d, r, !tty, &sops, ar);
  ar->setup = false;
  if (ar->st == NULL || ar->gone) {
    hcsd_attach_close(ar->a);
    hcsd_stream_finish(ar->st);
    free(ar);
    return;
  }
  hcsd_attach_listen(ar->a, &ops, ar);
}
