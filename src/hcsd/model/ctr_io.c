/* SPDX-License-Identifier: MIT */
/* A container's output and input: the main process's output to its log,
 * its attached clients and its log followers (each a listener: ops and
 * data), the stored log read back (logs, attach?logs=1), and the attached
 * clients' stdin, kept while the process does not exist yet.
 *
 * Each listener is bounded by its own rule (http/http.h, HCSD_OUT_MAX):
 * the attached share the session's buffer through a hold, which keeps the
 * process until the slowest has taken it; a follower writes what it is
 * given and is dropped by its adapter once it is too far behind, since
 * holding the process for it would stall the container, its log and every
 * other client. */
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STDIN_CAP (1u << 20)

/* ---- holds over session buffers ---- */

struct hcsd_hold_s {
  hcs_session_t *s;
  int stream;
  char *buf;
  int refs;
  bool held; /* hcs_session_hold was called */
};

hcsd_hold_t *hcsd__hold_begin(hcs_session_t *s, int stream, char *buf) {
  hcsd_hold_t *h = malloc(sizeof(*h));
  if (h != NULL) {
    *h = (hcsd_hold_t){.s = s, .stream = stream, .buf = buf, .refs = 1};
  }
  return h;
}

void hcsd_hold_ref(hcsd_hold_t *h) { h->refs++; }

void hcsd_hold_unref(hcsd_hold_t *h) {
  if (--h->refs > 0) {
    return;
  }
  if (h->held) {
    hcs_session_release(h->s, h->stream, h->buf);
    hcs_session_unref(h->s);
  }
  free(h);
}

/* Still inside the session's data callback, where the buffer may be
 * held: listeners that kept it hold it past the callback. */
void hcsd__hold_end(hcsd_hold_t *h) {
  if (h == NULL) {
    return;
  }
  if (h->refs > 1) {
    hcs_session_hold(h->s, h->stream, h->buf);
    hcs_session_ref(h->s);
    h->held = true;
  }
  hcsd_hold_unref(h);
}

/* ---- output ---- */

enum { STAMP_LEN = 31 }; /* "2006-01-02T15:04:05.000000000Z " */

/* buf with the time t before each line that starts in it (*mid: the
 * previous byte of the stream was not a newline, so buf's first line
 * goes on), as moby writes log lines with --timestamps. malloc'ed. */
static char *stamped(const char *buf, size_t len, int64_t t, bool *mid,
                     size_t *out_len) {
  size_t lines = 0;
  for (size_t i = 0; i < len; i++) {
    lines += buf[i] == '\n';
  }
  char *out = malloc(len + (lines + 1) * STAMP_LEN + 1);
  if (out == NULL) {
    return NULL;
  }
  char ts[40];
  hcsd_time_rfc3339(t, ts);
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (!*mid) {
      o += (size_t)snprintf(out + o, STAMP_LEN + 1, "%s ", ts);
    }
    out[o++] = buf[i];
    *mid = buf[i] != '\n';
  }
  *out_len = o;
  return out;
}

static bool wants(const hcsd_attach_t *a, int stream) {
  return stream == HCS_STDOUT ? a->o.out : a->o.err;
}

void hcsd__ctr_output(hcsd_ctr_t *c, hcs_session_t *s, int stream, char *buf,
                      size_t len) {
  hcsd__log_append(c, stream, buf, len);
  hcsd_hold_t *h = NULL;
  if (c->attached != NULL) {
    h = hcsd__hold_begin(s, stream, buf);
  }
  for (hcsd_attach_t *a = c->attached, *next; a != NULL; a = next) {
    next = a->next; /* a listener may leave inside its call */
    if (wants(a, stream)) {
      a->ops.on_data(stream, buf, len, h, a->data);
    }
  }
  hcsd__hold_end(h);
  int64_t now = 0;
  for (hcsd_follow_t *f = c->followers, *next; f != NULL; f = next) {
    next = f->next;
    if ((f->streams & stream) == 0) {
      continue;
    }
    if (!f->timestamps) {
      f->ops.on_data(stream, buf, len, NULL, f->data);
      continue;
    }
    now = now != 0 ? now : hcsd_now_ns();
    size_t n = 0;
    char *st = stamped(buf, len, now, &f->mid[stream], &n);
    if (st != NULL) {
      f->ops.on_data(stream, st, n, NULL, f->data);
      free(st);
    }
  }
}

void hcsd__ctr_output_end(hcsd_ctr_t *c) {
  while (c->attached != NULL) {
    hcsd_attach_t *a = c->attached;
    c->attached = a->next;
    a->ops.on_end(a->data);
    free(a);
  }
  while (c->followers != NULL) {
    hcsd_follow_t *f = c->followers;
    c->followers = f->next;
    f->ops.on_end(f->data);
    free(f);
  }
}

/* ---- the stored log ---- */

/* Calls fn for each record of log[0..n) (ctr_int.h: timed or not; an
 * untimed record's time is 0). */
static void log_each(const char *log, size_t n,
                     void (*fn)(int stream, const char *p, size_t len,
                                int64_t t, void *data),
                     void *data) {
  for (size_t i = 0; log != NULL && i + 8 <= n;) {
    const uint8_t *h = (const uint8_t *)log + i;
    size_t len = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) |
                 ((size_t)h[6] << 8) | h[7];
    size_t hl = h[1] == HCSD_LOG_TIMED ? 16 : 8;
    if (i + hl + len > n) {
      break;
    }
    uint64_t t = 0;
    for (size_t k = 8; k < hl; k++) {
      t = t << 8 | h[k];
    }
    fn(h[0], log + i + hl, len, (int64_t)t, data);
    i += hl + len;
  }
}

/* The records of the streams and times asked for: offsets into the log
 * and their times (moby: since <= t <= until; an untimed record is older
 * than any since, and within any until). */
typedef struct recs_s {
  size_t (*rec)[3]; /* off, len, stream */
  int64_t *t;
  size_t n;
  const char *log;
  int streams;
  int64_t since, until;
} recs_t;

static void rec_add(int stream, const char *p, size_t len, int64_t t,
                    void *data) {
  recs_t *r = data;
  if (r->rec != NULL && r->t != NULL && (stream & r->streams) != 0 &&
      (r->since == 0 || t >= r->since) && (r->until == 0 || t <= r->until)) {
    r->rec[r->n][0] = (size_t)(p - r->log);
    r->rec[r->n][1] = len;
    r->rec[r->n][2] = (size_t)stream;
    r->t[r->n] = t;
    r->n++;
  }
}

/* --tail N: from just after the newline that ends the N+1-th line from
 * the end (a last line without its newline counts): the first record
 * and the bytes of it to skip. */
static void tail_start(const recs_t *r, long tail, size_t *first,
                       size_t *skip) {
  *first = tail == 0 ? r->n : 0;
  *skip = 0;
  for (size_t i = r->n, lines = 0; tail > 0 && i-- > 0 && *first == 0;) {
    for (size_t j = r->rec[i][1]; j-- > 0;) {
      int last = i == r->n - 1 && j == r->rec[i][1] - 1;
      if (r->log[r->rec[i][0] + j] == '\n' && !last &&
          ++lines == (size_t)tail) {
        *first = i;
        *skip = j + 1;
        break;
      }
    }
  }
}

/* The records from first (less skip bytes) on, framed unless tty, each
 * line led by its record's time with timestamps. */
static char *logs_body(const recs_t *r, size_t first, size_t skip, bool tty,
                       bool timestamps, size_t *len) {
  size_t cap = 1;
  for (size_t i = first; i < r->n; i++) {
    size_t lines = 1;
    for (size_t j = 0; timestamps && j < r->rec[i][1]; j++) {
      lines += r->log[r->rec[i][0] + j] == '\n';
    }
    cap += 8 + r->rec[i][1] + (timestamps ? lines * STAMP_LEN : 0);
  }
  char *out = malloc(cap);
  size_t o = 0;
  bool mid[3] = {false, false, false};
  for (size_t i = first; out != NULL && i < r->n; i++) {
    size_t cut = i == first ? skip : 0;
    size_t n = r->rec[i][1] - cut;
    const char *p = r->log + r->rec[i][0] + cut;
    if (n == 0) {
      continue;
    }
    char *st = NULL;
    if (timestamps) {
      st = stamped(p, n, r->t[i], &mid[r->rec[i][2] & 3], &n);
      if (st == NULL) {
        free(out);
        return NULL;
      }
      p = st;
    }
    if (!tty) {
      hcsd_frame_header((uint8_t *)out + o, (int)r->rec[i][2], n);
      o += 8;
    }
    memcpy(out + o, p, n);
    o += n;
    free(st);
  }
  *len = o;
  return out;
}

static int follow(hcsd_ctr_t *c, int streams, bool timestamps,
                  const hcsd_out_ops_t *ops, void *data, hcsd_follow_t **out) {
  hcsd_follow_t *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    return -1;
  }
  *f = (hcsd_follow_t){.c = c,
                       .streams = streams,
                       .timestamps = timestamps,
                       .ops = *ops,
                       .data = data};
  f->next = c->followers;
  c->followers = f;
  *out = f;
  return 0;
}

int hcsd_ctr_logs(hcsd_t *d, const char *ref, const hcsd_logs_opts_t *o,
                  const hcsd_out_ops_t *ops, void *data, hcsd_logs_t *out,
                  hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  if ((o->streams & 3) == 0) {
    hcsd_err_set(e, 400,
                 "You must choose at least one stream (stdout or stderr)");
    return -1;
  }
  if (o->follow && o->until != 0 && o->until > hcsd_now_ns()) {
    hcsd_err_set(e, 400,
                 "hcsd does not support --until a time to come with "
                 "--follow");
    return -1;
  }
  size_t n = 0;
  char *log = hcsd__log_read(c, &n);
  recs_t r = {.rec = malloc((n / 8 + 1) * sizeof(*r.rec)),
              .t = malloc((n / 8 + 1) * sizeof(*r.t)),
              .log = log,
              .streams = o->streams,
              .since = o->since,
              .until = o->until};
  log_each(log, n, rec_add, &r);
  size_t first = 0, skip = 0;
  tail_start(&r, o->tail, &first, &skip);
  *out = (hcsd_logs_t){.tty = c->tty};
  out->buf = logs_body(&r, first, skip, c->tty, o->timestamps, &out->len);
  free(r.rec);
  free(r.t);
  free(log);
  if (o->follow && o->until == 0 && (c->state == CS_RUNNING || c->busy)) {
    (void)follow(c, o->streams & 3, o->timestamps, ops, data, &out->follow);
  }
  return 0;
}

void hcsd_follow_cancel(hcsd_follow_t *f) {
  for (hcsd_follow_t **pp = &f->c->followers; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == f) {
      *pp = f->next;
      break;
    }
  }
  free(f);
}

/* ---- attach ---- */

int hcsd_ctr_attach(hcsd_t *d, const char *ref, const hcsd_attach_opts_t *o,
                    hcsd_attach_t **out, bool *tty, hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  hcsd_attach_t *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  a->c = c;
  a->o = *o;
  *out = a;
  *tty = c->tty;
  hcsd_event_ctr(c, "attach", NULL);
  return 0;
}

static void replay(int stream, const char *p, size_t len, int64_t t,
                   void *data) {
  hcsd_attach_t *a = data;
  (void)t;
  if (wants(a, stream)) {
    a->ops.on_data(stream, p, len, NULL, a->data);
  }
}

/* stream=1 follows the container's output until its next exit, also when
 * it is not running yet (docker start -a attaches first); without it,
 * only the stored log is sent. */
void hcsd_attach_listen(hcsd_attach_t *a, const hcsd_out_ops_t *ops,
                        void *data) {
  hcsd_ctr_t *c = a->c;
  a->ops = *ops;
  a->data = data;
  if (a->o.logs) {
    size_t n = 0;
    char *log = hcsd__log_read(c, &n);
    log_each(log, n, replay, a);
    free(log);
  }
  if (!a->o.stream) {
    a->ops.on_end(a->data);
    free(a);
    return;
  }
  a->next = c->attached;
  c->attached = a;
}

void hcsd_attach_close(hcsd_attach_t *a) {
  for (hcsd_attach_t **pp = &a->c->attached; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == a) {
      *pp = a->next;
      break;
    }
  }
  free(a);
}

/* ---- stdin ---- */

typedef struct wr_s {
  hcsd_ctr_t *c;
  size_t len;
  char data[];
} wr_t;

static void stdin_pause_all(hcsd_ctr_t *c, bool paused) {
  for (hcsd_attach_t *a = c->attached; a != NULL; a = a->next) {
    if (a->o.in && a->ops.on_pause != NULL) {
      a->ops.on_pause(paused, a->data);
    }
  }
}

static void stdin_written(hcs_session_t *s, int status, void *data) {
  wr_t *w = data;
  (void)s;
  (void)status;
  hcsd_ctr_t *c = w->c;
  c->stdin_queued -= w->len;
  if (c->stdin_queued < STDIN_CAP / 2) {
    stdin_pause_all(c, false);
  }
  free(w);
  hcsd__ctr_unref(c);
}

static void stdin_send(hcsd_ctr_t *c, const char *buf, size_t len) {
  wr_t *w = malloc(sizeof(*w) + len);
  if (w == NULL) {
    return;
  }
  w->c = c;
  w->len = len;
  memcpy(w->data, buf, len);
  hcsd__ctr_ref(c);
  c->stdin_queued += len;
  if (hcs_session_write(c->main, w->data, len, stdin_written, w) != 0) {
    c->stdin_queued -= len;
    free(w);
    hcsd__ctr_unref(c);
    return;
  }
  if (c->stdin_queued >= STDIN_CAP) {
    stdin_pause_all(c, true);
  }
}

void hcsd__ctr_flush_stdin(hcsd_ctr_t *c) {
  while (c->stdin_head != NULL) {
    pend_t *p = c->stdin_head;
    c->stdin_head = p->next;
    if (c->main != NULL && c->open_stdin) {
      stdin_send(c, p->data, p->len);
    }
    free(p);
  }
  c->stdin_tail = NULL;
  if (c->stdin_pending >= STDIN_CAP && c->stdin_queued < STDIN_CAP) {
    stdin_pause_all(c, false);
  }
  c->stdin_pending = 0;
  if (c->stdin_close_pending && c->main != NULL) {
    (void)hcs_session_close_stdin(c->main);
  }
}

/* Before the process exists, stdin waits here: bounded, the client's
 * socket holds the rest. */
static void stdin_keep(hcsd_ctr_t *c, const char *buf, size_t len) {
  pend_t *p = malloc(sizeof(*p) + len);
  if (p == NULL) {
    return;
  }
  p->next = NULL;
  p->len = len;
  memcpy(p->data, buf, len);
  if (c->stdin_tail != NULL) {
    c->stdin_tail->next = p;
  } else {
    c->stdin_head = p;
  }
  c->stdin_tail = p;
  c->stdin_pending += len;
  if (c->stdin_pending >= STDIN_CAP) {
    stdin_pause_all(c, true);
  }
}

static void stdin_eof(hcsd_ctr_t *c) {
  if (!c->stdin_once) {
    return;
  }
  if (c->main != NULL && c->state == CS_RUNNING && c->stdin_head == NULL) {
    (void)hcs_session_close_stdin(c->main);
  } else {
    c->stdin_close_pending = true;
  }
}

void hcsd_attach_input(hcsd_attach_t *a, const char *buf, size_t len) {
  hcsd_ctr_t *c = a->c;
  if (!a->o.in) {
    return;
  }
  if (len == 0) {
    stdin_eof(c);
  } else if (c->main != NULL && c->state == CS_RUNNING) {
    if (c->open_stdin) {
      stdin_send(c, buf, len);
    }
  } else {
    stdin_keep(c, buf, len);
  }
}
