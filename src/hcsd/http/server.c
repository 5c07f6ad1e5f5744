/* SPDX-License-Identifier: MIT */
/* hcsd's connections: HTTP/1.1 requests parsed by http-parser, one at a
 * time per connection (keep-alive; pipelined bytes wait their turn),
 * replies whole or chunked, and the hijack of attach / exec start, after
 * which the connection carries raw stream bytes.
 *
 * A connection reads only while it waits for a request; while a request
 * is being answered it is paused, so a client cannot queue unbounded work,
 * and it stays paused after the reply while more than OUT_LOW of its
 * replies wait to be written, so a client that sends requests and reads
 * no reply cannot queue unbounded replies either. A streamed reply is
 * bounded by HCSD_OUT_MAX on top of its head (hcsd.h). A request that
 * makes no progress for client_timeout_ms, or an idle keep-alive
 * connection, is closed.
 *
 * A client that goes away releases what it holds at once: its queued
 * writes are cancelled, its request's body and buffers go with the last
 * reference, and the holder of a parked request is told to let go
 * (hcsd_req_on_gone). The engine reports a peer's close while the
 * connection is paused (a hang-up is reported whatever the mask). */
#include "hcsd/http/http.h"
#include "hcsd/http/parse.h"
#include "hcsd/http/stream_int.h"
#include "hcsd/log.h"
#include "hcsd/util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* What one queued write costs besides its bytes (the engine's request,
 * with its 16 iovecs, is about 320 bytes; our block's header): many tiny
 * chunks are bounded as surely as a few big ones. */
#define WRITE_COST 384
/* The next request is read once the replies waiting for the client cost
 * no more than this; pipelined requests wait in the client's socket. */
#define OUT_LOW (64u << 10)

/* C_DRAIN: a reply is answered but waits in the queue; the next request
 * is read once it is (or, when the client has sent its EOF, the
 * connection closes). */
/* C_BODY: docker load's request is being answered while its body still
 * arrives (its reader consumes it as it comes). */
enum { C_READ, C_BUSY, C_DRAIN, C_STREAM, C_CLOSING, C_BODY };

struct hcsd_conn_s {
  hcsd_conn_t *next, *prev;
  hcsd_t *d;
  hcsd_worker_t *w; /* a worker's (hcsd_req_move), or NULL: loop 0's */
  as_loop_t *loop;  /* the loop it is on */
  as_conn_t *c;
  hcsd_parse_t ps;
  int state;
  int refs;
  bool gone;   /* the client went away */
  bool closed; /* as_conn_close done */
  as_timer_t *timer;
  hcsd_req_t req;
  char *pending; /* bytes received after a complete request */
  size_t pending_len;
  char *rbuf;               /* the engine's buffer being fed, or NULL */
  bool early;               /* serve the request once its head is fed */
  const hcsd__sink_t *sink; /* a hijacked connection's reader */
  void *sink_data;
  size_t out;          /* what the writes queued by hcsd cost until written */
  size_t out_cap;      /* a streamed reply's bound on out */
  size_t armed_queued; /* the engine's queued bytes when the timer was armed */
  /* hcsd_chunked_on_drain's: run once out falls to OUT_LOW. */
  void (*drain)(hcsd_req_t *r, void *data);
  void *drain_data;
  /* The request log's: when the request was whole, and its answer. */
  uint64_t req_t0_ns;
  int req_status;
  size_t req_bytes; /* the reply's body, without head or chunk framing */
};

/* A write of ours: a copy of the pieces, freed when written. */
typedef struct wblock_s {
  as_conn_wreq_t req; /* lent to the engine until sent */
  hcsd_conn_t *k;
  size_t cost;
  char data[];
} wblock_t;

static const char *reason(int status) {
  switch (status) {
  case 101:
    return "UPGRADED";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 204:
    return "No Content";
  case 304:
    return "Not Modified";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 413:
    return "Request Entity Too Large";
  case 414:
    return "Request-URI Too Long";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  default:
    return "Status";
  }
}

static void conn_feed(hcsd_conn_t *k, char *buf, size_t len);
static void conn_close(hcsd_conn_t *k);
static void conn_next(hcsd_conn_t *k);

static void conn_unref(hcsd_conn_t *k) {
  if (--k->refs > 0) {
    return;
  }
  hcsd_req_clear(&k->req);
  free(k->pending);
  free(k);
}

static void arm_timer(hcsd_conn_t *k);

/* A client that sent nothing for client_timeout_ms, and read nothing of
 * the replies queued for it for as long, is closed; one that trickles a
 * request's head is closed however much it reads. */
static void conn_timeout(as_timer_t *t, void *data) {
  hcsd_conn_t *k = data;
  (void)t;
  if (k->state == C_BODY) {
    if (hcsd_body_waiting(k->req.live)) {
      arm_timer(k); /* its reader is behind, not the client */
    } else {
      conn_close(k); /* the reader sees the body cut short */
    }
    return;
  }
  if (k->state == C_READ || k->state == C_DRAIN) {
    if (!k->ps.started && as_conn_queued(k->c) < k->armed_queued) {
      arm_timer(k); /* still reading its last reply (docker logs | less) */
      return;
    }
    if (k->state == C_READ && k->ps.started) {
      static const char msg[] =
          "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
          "Content-Length: 39\r\nConnection: close\r\n\r\n"
          "{\"message\":\"request timed out (hcsd)\"}";
      as_iov_t iov = {msg, sizeof(msg) - 1};
      (void)hcsd__conn_send(k, &iov, 1);
      as_conn_shutdown(k->c);
    }
    conn_close(k);
  }
}

static void arm_timer(hcsd_conn_t *k) {
  if (k->timer != NULL && k->d->opt.client_timeout_ms != 0) {
    k->armed_queued = as_conn_queued(k->c);
    as_timer_arm(k->timer, k->d->opt.client_timeout_ms, conn_timeout, k);
  }
}

/* Closes the connection for good; the memory goes with the last ref. */
static void conn_close(hcsd_conn_t *k) {
  if (k->closed) {
    return;
  }
  k->closed = true;
  k->state = C_CLOSING;
  if (k->req.live != NULL) {
    hcsd_body_end(k->req.live, -EPIPE); /* no-op once it is whole */
  }
  as_timer_free(k->timer);
  k->timer = NULL;
  as_conn_close(k->c); /* cancelled writes release their buffers here */
  k->c = NULL;
  if (k->sink != NULL) {
    const hcsd__sink_t *sink = k->sink;
    k->sink = NULL;
    sink->closed(k->sink_data);
  }
  if (k->prev != NULL) {
    k->prev->next = k->next;
  } else if (k->w != NULL) {
    k->w->conns = k->next;
  } else {
    k->d->conns = k->next;
  }
  if (k->next != NULL) {
    k->next->prev = k->prev;
  }
  if (k->w == NULL) {
    k->d->nconns--;
  }
  if (k->req.gone != NULL) {
    void (*gone)(hcsd_req_t *, void *) = k->req.gone;
    k->req.gone = NULL;
    gone(&k->req, k->req.gone_data); /* drops the holder's reference */
  }
  hcsd_t *d = k->d;
  bool remote = k->w != NULL;
  conn_unref(k);
  if (remote) {
    atomic_fetch_sub(&d->remote, 1);
  }
}

/* ---- replies ---- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The request log, a line at info: method, path, status, body bytes and
 * the time from the whole request to its reply's end (a hijack's upgrade).
 * Written before that end is sent, so that a client that has the reply
 * finds the line in the log. The path is the URL as received up to its query:
 * http-parser lets no space or control byte through there, and the
 * decoded path could hold a newline. */
static void log_request(const hcsd_conn_t *k, const hcsd_req_t *r) {
  if (!hcsd_log_on(HCSD_LOG_INFO)) {
    return;
  }
  const char *url = r->url != NULL ? r->url : "?";
  double ms = (double)(now_ns() - k->req_t0_ns) / 1e6;
  hcsd_logl(HCSD_LOG_INFO, "%s %.*s %d %zuB %.3fms",
            http_method_str((enum http_method)r->method),
            (int)strcspn(url, "?"), url, k->req_status, k->req_bytes, ms);
}

static void sent(as_conn_wreq_t *req, int status) {
  wblock_t *b = (wblock_t *)((char *)req - offsetof(wblock_t, req));
  hcsd_conn_t *k = b->k;
  k->out -= b->cost;
  free(b);
  if (k->drain != NULL && status == 0 && !k->closed && !k->gone &&
      k->out <= OUT_LOW) {
    void (*drain)(hcsd_req_t *, void *) = k->drain;
    k->drain = NULL;
    drain(&k->req, k->drain_data); /* writes more, or ends the reply */
    return;
  }
  /* Cancelled or failed writes come from the connection's close or its
   * gone, which are handled there. */
  if (status != 0 || k->closed || k->state != C_DRAIN || k->out > OUT_LOW) {
    return;
  }
  if (k->gone) {
    if (k->out == 0) {
      conn_close(k); /* flushed after the client's EOF */
    }
    return;
  }
  conn_next(k);
}

int hcsd__conn_send(hcsd_conn_t *k, const as_iov_t *iov, int n) {
  if (k->closed || k->gone) {
    return -1;
  }
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    total += iov[i].len;
  }
  wblock_t *b = malloc(sizeof(*b) + total);
  if (b == NULL) {
    return -1;
  }
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    if (iov[i].len > 0) {
      memcpy(b->data + off, iov[i].base, iov[i].len);
      off += iov[i].len;
    }
  }
  b->k = k;
  b->cost = total + WRITE_COST;
  as_iov_t one = {b->data, total};
  if (as_conn_write(k->c, &b->req, &one, 1, sent) != 0) {
    free(b);
    return -1;
  }
  k->out += b->cost;
  return 0;
}

static void conn_write(hcsd_conn_t *k, const void *a, size_t alen,
                       const void *b, size_t blen) {
  as_iov_t iov[2] = {{a, alen}, {b, blen}};
  (void)hcsd__conn_send(k, iov, blen > 0 ? 2 : 1);
}

static int head_common(char *h, size_t n, int status) {
  return snprintf(h, n,
                  "HTTP/1.1 %d %s\r\nApi-Version: " HCSD_API_VERSION
                  "\r\nDocker-Experimental: false\r\nOstype: linux\r\n"
                  "Server: Docker/" HCSD_VERSION " (linux)\r\n",
                  status, reason(status));
}

/* The request is answered: read the next one once the reply is (mostly)
 * written, or close. */
static void req_finish(hcsd_req_t *r) {
  hcsd_conn_t *k = r->conn;
  /* Answered before its body was all read: the rest cannot be told from
   * a next request. */
  bool keep = r->keep_alive && k->state != C_BODY;
  hcsd_parse_next(&k->ps);
  if (k->closed) {
    return;
  }
  if (!keep || k->gone) {
    as_conn_shutdown(k->c);
    conn_close(k);
    return;
  }
  arm_timer(k);
  if (k->out > OUT_LOW) {
    k->state = C_DRAIN; /* still paused; sent() goes on */
    return;
  }
  conn_next(k);
}

/* Reads the next request: the bytes already received first. */
static void conn_next(hcsd_conn_t *k) {
  k->state = C_READ;
  http_parser_pause(&k->ps.parser, 0);
  if (k->pending != NULL) {
    char *p = k->pending;
    size_t n = k->pending_len;
    k->pending = NULL;
    k->pending_len = 0;
    k->refs++;
    conn_feed(k, p, n);
    free(p);
    int gone = k->closed;
    conn_unref(k);
    if (gone) {
      return;
    }
  }
  if (k->state == C_READ) {
    as_conn_pause(k->c, false);
  }
}

/* A whole reply: head, body and a tail of the body (JSON's newline) in
 * one write. */
static void reply3(hcsd_req_t *r, int status, const char *content_type,
                   const char *body, size_t len, const char *tail) {
  hcsd_conn_t *k = r->conn;
  size_t tlen = tail != NULL ? strlen(tail) : 0;
  char h[512 + 8192];
  int n = head_common(h, sizeof(h), status);
  if (r->extra_head != NULL) {
    n += snprintf(h + n, sizeof(h) - (size_t)n, "%s", r->extra_head);
    r->extra_head = NULL;
  }
  if (content_type != NULL) {
    n += snprintf(h + n, sizeof(h) - (size_t)n, "Content-Type: %s\r\n",
                  content_type);
  }
  if (status != 204 && status != 304) {
    n += snprintf(h + n, sizeof(h) - (size_t)n, "Content-Length: %zu\r\n",
                  len + tlen);
  }
  if (!r->keep_alive) {
    n += snprintf(h + n, sizeof(h) - (size_t)n, "Connection: close\r\n");
  }
  n += snprintf(h + n, sizeof(h) - (size_t)n, "\r\n");
  as_iov_t iov[3] = {{h, (size_t)n}, {body, len}, {tail, tlen}};
  int pieces = r->head || body == NULL ? 1 : tlen > 0 ? 3 : 2;
  k->req_status = status;
  k->req_bytes = pieces > 1 ? len + tlen : 0;
  log_request(k, r);
  (void)hcsd__conn_send(k, iov, pieces);
  req_finish(r);
}

void hcsd_reply(hcsd_req_t *r, int status, const char *content_type,
                const char *body, size_t len) {
  reply3(r, status, content_type, body, len, NULL);
}

void hcsd_reply_json(hcsd_req_t *r, int status, json_t *j) {
  char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (s == NULL) {
    hcsd_reply_error(r, 500, "out of memory");
    return;
  }
  hcsd_reply_text_json(r, status, s);
  free(s);
}

void hcsd_reply_text_json(hcsd_req_t *r, int status, const char *json) {
  reply3(r, status, "application/json", json, strlen(json), "\n");
}

void hcsd_reply_error(hcsd_req_t *r, int status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  char *j = hcsd_message_json(msg);
  hcsd_reply_text_json(r, status, j != NULL ? j : "{}");
  free(j);
}

void hcsd_reply_empty(hcsd_req_t *r, int status) {
  hcsd_reply(r, status, NULL, NULL, 0);
}

void hcsd_reply_err(hcsd_req_t *r, const hcsd_err_t *e) {
  if (e->status == 304) {
    hcsd_reply_empty(r, 304);
  } else {
    hcsd_reply_error(r, e->status, "%s", e->msg);
  }
}

void hcsd_chunked_begin(hcsd_req_t *r, int status, const char *content_type,
                        const void *first, size_t len) {
  hcsd_conn_t *k = r->conn;
  char h[512];
  int n = head_common(h, sizeof(h), status);
  n += snprintf(h + n, sizeof(h) - (size_t)n,
                "Content-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
                content_type);
  char sz[24];
  int zn = snprintf(sz, sizeof(sz), "%zx\r\n", len);
  as_iov_t iov[4] = {
      {h, (size_t)n}, {sz, (size_t)zn}, {first, len}, {"\r\n", 2}};
  (void)hcsd__conn_send(k, iov, len > 0 ? 4 : 1);
  k->out_cap = k->out + HCSD_OUT_MAX;
  k->req_status = status;
  k->req_bytes = len;
}

int hcsd_chunked_writev(hcsd_req_t *r, const as_iov_t *iov, int n) {
  hcsd_conn_t *k = r->conn;
  assert(n >= 1 && n <= 6);
  if (k->closed || k->gone) {
    return -1;
  }
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    len += iov[i].len;
  }
  if (len == 0) {
    return 0;
  }
  if (k->out + len + WRITE_COST > k->out_cap) {
    /* Pausing the source would stall the others it feeds: the client
     * goes, and its holder with it (the gone callback). */
    hcsd_log("%s: the client fell %zu bytes behind; dropped", r->path, k->out);
    conn_close(k);
    return -1;
  }
  char h[24];
  as_iov_t v[8];
  v[0] = (as_iov_t){h, (size_t)snprintf(h, sizeof(h), "%zx\r\n", len)};
  memcpy(v + 1, iov, (size_t)n * sizeof(*iov));
  v[n + 1] = (as_iov_t){"\r\n", 2};
  k->req_bytes += len;
  return hcsd__conn_send(k, v, n + 2);
}

void hcsd_chunked_on_drain(hcsd_req_t *r, void (*fn)(hcsd_req_t *r, void *data),
                           void *data) {
  hcsd_conn_t *k = r->conn;
  k->drain = fn;
  k->drain_data = data;
}

int hcsd_chunked_write(hcsd_req_t *r, const void *buf, size_t len) {
  as_iov_t iov = {buf, len};
  return hcsd_chunked_writev(r, &iov, 1);
}

void hcsd_chunked_end(hcsd_req_t *r) {
  log_request(r->conn, r);
  conn_write(r->conn, "0\r\n\r\n", 5, NULL, 0);
  req_finish(r);
}

int hcsd_req_alive(const hcsd_req_t *r) {
  return !r->conn->closed && !r->conn->gone;
}

void hcsd_req_ref(hcsd_req_t *r) { r->conn->refs++; }

void hcsd_req_unref(hcsd_req_t *r) { conn_unref(r->conn); }

int hcsd_req_on_gone(hcsd_req_t *r, void (*gone)(hcsd_req_t *r, void *data),
                     void *data) {
  if (r->conn->closed || r->conn->gone) {
    return -1;
  }
  r->gone = gone;
  r->gone_data = data;
  return 0;
}

char *hcsd_query(const hcsd_req_t *r, const char *name) {
  return hcsd_query_value(r->query, name);
}

int hcsd_query_bool(const hcsd_req_t *r, const char *name) {
  return hcsd_query_flag(r->query, name);
}

void hcsd_req_size(const hcsd_req_t *r, int *rows, int *cols) {
  uint16_t h, w;
  if (hcsd_query_hw(r->query, &h, &w) != 0) {
    *rows = *cols = -1;
    return;
  }
  *rows = h;
  *cols = w;
}

/* ---- hijack ---- */

void hcsd__conn_hijack(hcsd_req_t *r, const char *content_type,
                       const hcsd__sink_t *sink, void *data, hcsd_conn_t **kp,
                       as_conn_t **cp) {
  hcsd_conn_t *k = r->conn;
  char h[512];
  int n = snprintf(h, sizeof(h),
                   "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\n"
                   "Connection: Upgrade\r\nUpgrade: tcp\r\n"
                   "Api-Version: " HCSD_API_VERSION "\r\n\r\n",
                   content_type);
  k->req_status = 101;
  k->req_bytes = 0;
  log_request(k, r);
  conn_write(k, h, (size_t)n, NULL, 0);
  if (k->timer != NULL) {
    as_timer_disarm(k->timer);
  }
  k->state = C_STREAM;
  k->sink = sink;
  k->sink_data = data;
  *kp = k;
  *cp = k->c;
  char *left = r->leftover;
  size_t left_len = r->leftover_len;
  r->leftover = NULL;
  /* Bytes pipelined after the request are stdin too. */
  char *more = k->pending;
  size_t more_len = k->pending_len;
  k->pending = NULL;
  k->pending_len = 0;
  hcsd_req_clear(r);
  if (k->gone) {
    sink->input(data, NULL, 0, true);
  } else {
    if (left_len > 0) {
      sink->input(data, left, left_len, false);
    }
    if (more_len > 0) {
      sink->input(data, more, more_len, false);
    }
    as_conn_pause(k->c, false);
  }
  free(left);
  free(more);
}

/* ---- connections ---- */

static void bad_request(hcsd_conn_t *k, int status, const char *msg) {
  char body[256];
  int bl = snprintf(body, sizeof(body), "{\"message\":\"%s\"}\n", msg);
  char h[512];
  int n = snprintf(h, sizeof(h),
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\nConnection: close\r\n\r\n",
                   status, reason(status), bl);
  conn_write(k, h, (size_t)n, body, (size_t)bl);
  as_conn_shutdown(k->c);
  conn_close(k);
}

static void conn_serve(hcsd_conn_t *k) {
  k->req_t0_ns = now_ns();
  k->req_status = 0;
  k->req_bytes = 0;
  k->d->serve(k->d, &k->req);
}

/* docker load's body: its reader when its head is complete (at NULL),
 * then each piece, left in the engine's buffer when it is in one. */
static int conn_body(void *data, const char *at, size_t len) {
  hcsd_conn_t *k = data;
  hcsd_req_t *r = &k->req;
  if (at == NULL) {
    r->live = hcsd_body_new(k->d->loop, k->c);
    k->early = r->live != NULL;
    return r->live != NULL ? 0 : -1;
  }
  /* -EPIPE: its reader has stopped (and answered); the rest goes. */
  return hcsd_body_put(r->live, k->rbuf, at, len) == -ENOMEM ? -1 : 0;
}

static void conn_feed(hcsd_conn_t *k, char *buf, size_t len) {
  size_t n = 0;
  char msg[128];
  int st = hcsd_parse_feed(&k->ps, buf, len, &n, msg, sizeof(msg));
  if (st == HCSD_PARSE_MORE) {
    if (k->ps.in_body) {
      arm_timer(k); /* progress on the body */
    }
    if (k->early) {
      k->early = false;
      k->state = C_BODY;
      conn_serve(k);
    }
    return;
  }
  if (st != HCSD_PARSE_DONE) {
    bad_request(k, st, msg);
    return;
  }
  /* A whole request: the rest waits (or is stream data after a hijack). */
  if (n < len) {
    size_t rest = len - n;
    char *p = realloc(k->pending, k->pending_len + rest);
    if (p == NULL) {
      bad_request(k, 500, "out of memory");
      return;
    }
    memcpy(p + k->pending_len, buf + n, rest);
    k->pending = p;
    k->pending_len += rest;
  }
  hcsd_req_t *r = &k->req;
  bool served = k->state == C_BODY;
  if (r->live != NULL) {
    hcsd_body_end(r->live, 0);
  }
  k->early = false;
  k->state = C_BUSY;
  as_conn_pause(k->c, true);
  if (k->timer != NULL) {
    as_timer_disarm(k->timer);
  }
  if (!served) {
    conn_serve(k);
  }
}

static void on_data(as_conn_t *c, char *buf, size_t len, void *data) {
  hcsd_conn_t *k = data;
  (void)c;
  if (k->state == C_STREAM) {
    if (k->sink != NULL) {
      k->sink->input(k->sink_data, buf, len, false);
    }
    return;
  }
  if (k->state == C_BODY && len == 0) {
    /* The client stopped sending in the middle of the body. */
    hcsd_body_end(k->req.live, -EPIPE);
    k->req.keep_alive = false;
    k->state = C_BUSY;
    return;
  }
  if (len == 0) {
    /* The client will send no more requests. A request being answered
     * finishes first; otherwise what is queued for the client is
     * written, then the connection closes. */
    if (k->state == C_BUSY) {
      k->req.keep_alive = false;
      return;
    }
    k->gone = true;
    if (k->out == 0) {
      conn_close(k);
      return;
    }
    as_conn_shutdown(k->c);
    k->state = C_DRAIN;
    return;
  }
  if (k->state != C_READ && k->state != C_BODY) {
    /* Paused, but a read was under way: keep the bytes for later. */
    char *p = realloc(k->pending, k->pending_len + len);
    if (p != NULL) {
      memcpy(p + k->pending_len, buf, len);
      k->pending = p;
      k->pending_len += len;
    }
    return;
  }
  k->refs++;
  k->rbuf = buf;
  conn_feed(k, buf, len);
  k->rbuf = NULL;
  conn_unref(k);
}

static void on_gone(as_conn_t *c, int status, void *data) {
  hcsd_conn_t *k = data;
  (void)c;
  (void)status;
  k->gone = true;
  if (k->state == C_STREAM && k->sink != NULL) {
    k->sink->input(k->sink_data, NULL, 0, true);
    return;
  }
  /* Closed now, also under a request being answered (a `docker wait`
   * whose client was interrupted must not hold its fd until the container
   * exits): the handler's reference keeps the request's memory, and its
   * reply finds the connection closed. */
  conn_close(k);
}

/* A request's head has client_timeout_ms from its first byte, however
 * slowly it trickles in; its body, from each byte that arrives. */
static void began(void *data) { arm_timer(data); }

static void on_accept(as_listener_t *l, as_conn_t *c, void *data) {
  hcsd_t *d = data;
  (void)l;
  uid_t uid = 0;
  if (as_conn_peer(c, NULL, &uid, NULL) != 0) {
    as_conn_close(c);
    return;
  }
  hcsd_conn_t *k = calloc(1, sizeof(*k));
  if (k == NULL || d->stopping) {
    free(k);
    as_conn_close(c);
    return;
  }
  k->d = d;
  k->loop = d->loop;
  k->c = c;
  k->refs = 1;
  k->req.conn = k;
  k->req.body_fd = -1;
  hcsd_parse_init(&k->ps, &k->req, d->tmp_dir, began, k);
  k->ps.body = conn_body;
  if (as_timer_new(d->loop, &k->timer) != 0) {
    free(k);
    as_conn_close(c);
    return;
  }
  k->next = d->conns;
  if (d->conns != NULL) {
    d->conns->prev = k;
  }
  d->conns = k;
  d->nconns++;
  arm_timer(k);
  static const as_conn_cbs_t cbs = {.data_cb = on_data, .gone_cb = on_gone};
  as_conn_start(c, &cbs, k);
}

int hcsd__http_listen(hcsd_t *d, void (*serve)(hcsd_t *d, hcsd_req_t *r)) {
  d->serve = serve;
  if (d->opt.listen_fd > 0) {
    return as_listen_fd(d->loop, d->opt.listen_fd, 0, on_accept, d,
                        &d->listener);
  }
  return as_listen_unix(d->loop, d->opt.socket_path, 0660, d->opt.gid, 0,
                        on_accept, d, &d->listener);
}

void hcsd__http_stop(hcsd_t *d) {
  as_listener_close(d->listener);
  d->listener = NULL;
  /* A load still reading its body gives up now, so that stopping does
   * not wait for a slow client. */
  for (hcsd_conn_t *k = d->conns; k != NULL; k = k->next) {
    if (k->state == C_BODY && k->req.live != NULL) {
      hcsd_body_end(k->req.live, -ECANCELED);
    }
  }
}

static void worker_close_all(as_loop_t *loop, void *data) {
  hcsd_worker_t *w = data;
  hcsd_t *d = w->d;
  (void)loop;
  w->closing = true;
  while (w->conns != NULL) {
    conn_close(w->conns);
  }
  /* Last: once d->remote is 0, hcsd may free the workers. */
  atomic_fetch_sub(&d->remote, 1);
}

/* Closes every connection, the workers' too (on their threads; each
 * counts in d->remote until it has run). */
void hcsd__http_close_all(hcsd_t *d) {
  for (uint32_t i = 0; i < d->nworkers; i++) {
    atomic_fetch_add(&d->remote, 1);
    if (as_loop_post(d->workers[i].loop, worker_close_all, &d->workers[i]) !=
        0) {
      atomic_fetch_sub(&d->remote, 1);
    }
  }
  while (d->conns != NULL) {
    conn_close(d->conns);
  }
}

void hcsd__conn_stream_done(hcsd_conn_t *k) { conn_close(k); }

as_loop_t *hcsd__conn_loop(const hcsd_conn_t *k) { return k->loop; }

/* ---- a request moved to a worker loop ---- */

typedef struct move_s {
  hcsd_worker_t *w;
  int fd;
  int method;
  char *url;
  char *rest; /* the bytes the client sent after the request */
  size_t rest_len;
  uint64_t t0_ns;
  void (*fn)(hcsd_req_t *r, void *data);
  void *data;
} move_t;

static void move_free(move_t *m) {
  free(m->url);
  free(m->rest);
  free(m);
}

/* The worker's thread: the socket becomes a connection of its loop, in
 * the state loop 0's was in (a request being answered, reading paused). */
static void move_in(as_loop_t *loop, void *data) {
  move_t *m = data;
  hcsd_worker_t *w = m->w;
  hcsd_conn_t *k = calloc(1, sizeof(*k));
  as_conn_t *c = NULL;
  if (k == NULL || w->closing || as_conn_adopt(loop, m->fd, &c) != 0) {
    close(m->fd);
    free(k);
    m->fn(NULL, m->data);
    move_free(m);
    atomic_fetch_sub(&w->d->remote, 1);
    return;
  }
  k->d = w->d;
  k->w = w;
  k->loop = loop;
  k->c = c;
  k->refs = 1;
  k->state = C_BUSY;
  k->req.conn = k;
  k->req.body_fd = -1;
  k->req.method = m->method;
  k->req.url = m->url;
  m->url = NULL;
  k->pending = m->rest;
  k->pending_len = m->rest_len;
  m->rest = NULL;
  k->req_t0_ns = m->t0_ns;
  hcsd_parse_init(&k->ps, &k->req, w->d->tmp_dir, began, k);
  k->next = w->conns;
  if (w->conns != NULL) {
    w->conns->prev = k;
  }
  w->conns = k;
  static const as_conn_cbs_t cbs = {.data_cb = on_data, .gone_cb = on_gone};
  as_conn_pause(c, true);
  as_conn_start(c, &cbs, k);
  /* Says which thread serves it, for whoever checks that it is spread. */
  hcsd_logl(HCSD_LOG_DEBUG, "%s moved to worker loop %u (thread %ld)",
            k->req.url != NULL ? k->req.url : "?",
            (unsigned)(w - w->d->workers) + 1, (long)syscall(SYS_gettid));
  m->fn(&k->req, m->data);
  move_free(m);
}

hcsd_worker_t *hcsd_worker_next(hcsd_t *d) {
  if (d->nworkers == 0) {
    return NULL;
  }
  return &d->workers[d->next_worker++ % d->nworkers];
}

int hcsd_req_move(hcsd_req_t *r, hcsd_worker_t *w,
                  void (*fn)(hcsd_req_t *moved, void *data), void *data) {
  hcsd_conn_t *k = r->conn;
  /* Only a request alone on its connection moves: nothing of an earlier
   * reply waits to be written, and no body is still coming. */
  if (k->closed || k->gone || k->d->stopping || k->state != C_BUSY ||
      k->out != 0 || as_conn_queued(k->c) != 0) {
    return -1;
  }
  move_t *m = calloc(1, sizeof(*m));
  if (m == NULL) {
    return -1;
  }
  m->w = w;
  m->method = r->method;
  m->url = r->url != NULL ? strdup(r->url) : NULL;
  m->rest_len = r->leftover_len + k->pending_len;
  m->rest = m->rest_len > 0 ? malloc(m->rest_len) : NULL;
  m->fd = fcntl(as_conn_fd(k->c), F_DUPFD_CLOEXEC, 3);
  if ((r->url != NULL && m->url == NULL) ||
      (m->rest_len > 0 && m->rest == NULL) || m->fd < 0) {
    goto fail;
  }
  if (r->leftover_len > 0) {
    memcpy(m->rest, r->leftover, r->leftover_len);
  }
  if (k->pending_len > 0) {
    memcpy(m->rest + r->leftover_len, k->pending, k->pending_len);
  }
  m->t0_ns = k->req_t0_ns;
  m->fn = fn;
  m->data = data;
  atomic_fetch_add(&k->d->remote, 1);
  if (as_loop_post(w->loop, move_in, m) != 0) {
    atomic_fetch_sub(&k->d->remote, 1);
    goto fail;
  }
  /* The socket is the worker's from here: loop 0 lets go of its copy
   * (it reads nothing more, being paused under the request). */
  conn_close(k);
  return 0;
fail:
  if (m->fd >= 0) {
    close(m->fd);
  }
  move_free(m);
  return -1;
}
