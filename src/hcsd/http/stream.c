/* Hijacked connections as process streams: output written straight from
 * the engine's session buffers (held until the socket took them, so a
 * client that stops reading stalls the process, never the daemon), with
 * Docker's 8-byte frame header when the stream is not a tty; client bytes
 * handed to the owner as stdin; half-close and full close told apart.
 *
 * A buffer going to several streams (a container's attached clients) is
 * held once and shared, until the last of them has written it: the
 * process goes at the pace of its slowest attached client, as with
 * dockerd, and no client gets copies that pile up behind it.
 *
 * The stream struct lives until both its owner finished it and the
 * connection is closed. */
#include "hcsd/http/stream_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define FINISH_GRACE_MS 5000
#define FRAME_MAX (32u << 10) /* frames the client reads without growing */

struct hcsd_stream_s {
  hcsd_t *d;
  hcsd_conn_t *k; /* NULL once the connection is closed */
  as_conn_t *c;
  bool framed;
  bool finished; /* the owner is done */
  bool gone_told;
  hcsd_stream_ops_t ops;
  void *data;
  as_timer_t *grace;
  int writes; /* writes in flight that hold session buffers */
  int pin;    /* inside a callback of the owner: not freed */
  size_t last_queued;
};

/* Frames of one read: a pool buffer (64 KiB at most) is at most
 * OUT_FRAMES frames, all sent by one write with their headers. */
#define OUT_FRAMES (AS_CONN_IOV_MAX / 2)

struct hcsd_fan_s {
  hcs_session_t *s;
  int stream;
  char *buf;
  size_t len;
  int refs; /* writes queued with buf */
};

typedef struct out_s {
  as_conn_wreq_t req; /* lent to the engine until out_done */
  hcsd_stream_t *st;
  hcsd_fan_t *f;
  uint8_t hdr[OUT_FRAMES][8];
} out_t;

static void maybe_free(hcsd_stream_t *st) {
  if (st->finished && st->k == NULL && st->writes == 0 && st->pin == 0) {
    as_timer_free(st->grace);
    free(st);
  }
}

hcsd_stream_t *hcsd__stream_new(hcsd_t *d, hcsd_conn_t *k, as_conn_t *c,
                                bool framed, const hcsd_stream_ops_t *ops,
                                void *data) {
  hcsd_stream_t *st = calloc(1, sizeof(*st));
  if (st == NULL) {
    return NULL;
  }
  if (as_timer_new(d->loop, &st->grace) != 0) {
    free(st);
    return NULL;
  }
  st->d = d;
  st->k = k;
  st->c = c;
  st->framed = framed;
  st->ops = *ops;
  st->data = data;
  return st;
}

void hcsd__stream_input(hcsd_stream_t *st, char *buf, size_t len, bool gone) {
  st->pin++;
  if (gone) {
    if (!st->gone_told) {
      st->gone_told = true;
      if (!st->finished && st->ops.gone != NULL) {
        st->ops.gone(st, st->data);
      }
    }
    if (st->k != NULL) {
      hcsd__conn_stream_done(st->k);
    }
  } else if (!st->finished && st->ops.input != NULL) {
    st->ops.input(st, buf, len, st->data);
  }
  st->pin--;
  maybe_free(st);
}

void hcsd__stream_conn_closed(hcsd_stream_t *st) {
  st->k = NULL;
  st->c = NULL;
  st->pin++;
  if (!st->gone_told) {
    st->gone_told = true;
    if (!st->finished && st->ops.gone != NULL) {
      st->ops.gone(st, st->data);
    }
  }
  st->pin--;
  maybe_free(st);
}

int hcsd_stream_alive(const hcsd_stream_t *st) {
  return st != NULL && st->k != NULL && !st->gone_told;
}

static void frame_header(uint8_t h[8], int stream, size_t len) {
  h[0] = (uint8_t)stream;
  h[1] = h[2] = h[3] = 0;
  h[4] = (uint8_t)(len >> 24);
  h[5] = (uint8_t)(len >> 16);
  h[6] = (uint8_t)(len >> 8);
  h[7] = (uint8_t)len;
}

static void fan_unref(hcsd_fan_t *f) {
  if (--f->refs == 0) {
    hcs_session_release(f->s, f->stream, f->buf);
    hcs_session_unref(f->s);
    free(f);
  }
}

static void out_done(as_conn_wreq_t *req, int status) {
  out_t *o = (out_t *)((char *)req - offsetof(out_t, req));
  (void)status;
  hcsd_stream_t *st = o->st;
  fan_unref(o->f);
  free(o);
  st->writes--;
  maybe_free(st);
}

hcsd_fan_t *hcsd_fan_begin(hcs_session_t *s, int stream, char *buf,
                           size_t len) {
  hcsd_fan_t *f = malloc(sizeof(*f));
  if (f != NULL) {
    *f = (hcsd_fan_t){.s = s, .stream = stream, .buf = buf, .len = len};
  }
  return f;
}

void hcsd_fan_to(hcsd_fan_t *f, hcsd_stream_t *st) {
  if (f == NULL || st == NULL || st->k == NULL || st->gone_told ||
      f->len == 0) {
    return;
  }
  if (st->framed && f->len > (size_t)OUT_FRAMES * FRAME_MAX) {
    hcsd_stream_out_copy(st, f->stream, f->buf, f->len); /* not a pool read */
    return;
  }
  out_t *o = malloc(sizeof(*o));
  if (o == NULL) {
    return;
  }
  o->st = st;
  o->f = f;
  /* Frames the client reads without growing its buffer (<= 32 KiB),
   * each from the held buffer itself. */
  as_iov_t iov[AS_CONN_IOV_MAX];
  int n = 0;
  for (size_t off = 0, k = 0; off < f->len; k++) {
    size_t rest = f->len - off;
    size_t part = !st->framed || rest <= FRAME_MAX ? rest : FRAME_MAX;
    if (st->framed) {
      frame_header(o->hdr[k], f->stream, part);
      iov[n++] = (as_iov_t){o->hdr[k], 8};
    }
    iov[n++] = (as_iov_t){f->buf + off, part};
    off += part;
  }
  if (as_conn_write(st->c, &o->req, iov, n, out_done) != 0) {
    free(o);
    return;
  }
  st->writes++;
  f->refs++;
}

/* Still inside the session's data callback, where the buffer may be
 * held; the writes' callbacks run later, never here. */
void hcsd_fan_end(hcsd_fan_t *f) {
  if (f == NULL) {
    return;
  }
  if (f->refs == 0) {
    free(f);
    return;
  }
  hcs_session_hold(f->s, f->stream, f->buf);
  hcs_session_ref(f->s);
}

void hcsd_stream_out(hcsd_stream_t *st, hcs_session_t *s, int stream, char *buf,
                     size_t len) {
  hcsd_fan_t *f = hcsd_fan_begin(s, stream, buf, len);
  hcsd_fan_to(f, st);
  hcsd_fan_end(f);
}

void hcsd_stream_out_copy(hcsd_stream_t *st, int stream, const void *buf,
                          size_t len) {
  const char *p = buf;
  while (st != NULL && st->k != NULL && !st->gone_told && len > 0) {
    size_t n = len;
    if (st->framed && n > FRAME_MAX) {
      n = FRAME_MAX;
    }
    uint8_t hdr[8];
    as_iov_t iov[2];
    int k = 0;
    if (st->framed) {
      frame_header(hdr, stream, n);
      iov[k++] = (as_iov_t){hdr, 8};
    }
    iov[k++] = (as_iov_t){p, n};
    if (hcsd__conn_send(st->k, iov, k) != 0) {
      return;
    }
    p += n;
    len -= n;
  }
}

void hcsd_stream_pause_input(hcsd_stream_t *st, bool paused) {
  if (st != NULL && st->c != NULL) {
    as_conn_pause(st->c, paused);
  }
}

static void grace_over(as_timer_t *t, void *data) {
  hcsd_stream_t *st = data;
  size_t q = st->c != NULL ? as_conn_queued(st->c) : 0;
  if (q > 0 && q < st->last_queued) {
    /* A slow reader still reading: give it more time. */
    st->last_queued = q;
    as_timer_arm(t, FINISH_GRACE_MS, grace_over, st);
    return;
  }
  if (st->k != NULL) {
    hcsd__conn_stream_done(st->k); /* may free st */
  }
}

void hcsd_stream_finish(hcsd_stream_t *st) {
  if (st == NULL || st->finished) {
    return;
  }
  st->finished = true;
  if (st->k == NULL) {
    maybe_free(st);
    return;
  }
  if (st->gone_told) {
    hcsd__conn_stream_done(st->k);
    return;
  }
  /* Flush, then SHUT_WR; the client closes its side when it has read
   * everything. The grace timer closes a client that never does. */
  as_conn_shutdown(st->c);
  as_conn_pause(st->c, false);
  st->last_queued = as_conn_queued(st->c) + 1;
  as_timer_arm(st->grace, FINISH_GRACE_MS, grace_over, st);
}
