/* SPDX-License-Identifier: MIT */
/* Hijacked connections as process streams: output written straight from
 * the engine's session buffers (a hold of the model's, kept until the
 * socket took them, so a client that stops reading stalls the process,
 * never the daemon), with
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
#include "hcsd/util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define FINISH_GRACE_MS 5000
#define FRAME_MAX (32u << 10) /* frames the client reads without growing */

struct hcsd_stream_s {
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

typedef struct out_s {
  as_conn_wreq_t req; /* lent to the engine until out_done */
  hcsd_stream_t *st;
  hcsd_hold_t *hold;
  uint8_t hdr[OUT_FRAMES][8];
} out_t;

static void maybe_free(hcsd_stream_t *st) {
  if (st->finished && st->k == NULL && st->writes == 0 && st->pin == 0) {
    as_timer_free(st->grace);
    free(st);
  }
}

static void stream_input(void *data, char *buf, size_t len, bool gone) {
  hcsd_stream_t *st = data;
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

static void stream_closed(void *data) {
  hcsd_stream_t *st = data;
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

hcsd_stream_t *hcsd_hijack(hcsd_t *d, hcsd_req_t *r, bool framed,
                           const hcsd_stream_ops_t *ops, void *data) {
  (void)d;
  static const hcsd__sink_t sink = {stream_input, stream_closed};
  hcsd_stream_t *st = calloc(1, sizeof(*st));
  if (st == NULL || as_timer_new(hcsd__conn_loop(r->conn), &st->grace) != 0) {
    free(st);
    hcsd_reply_error(r, 500, "out of memory");
    return NULL;
  }
  st->framed = framed;
  st->ops = *ops;
  st->data = data;
  hcsd__conn_hijack(r,
                    framed ? "application/vnd.docker.multiplexed-stream"
                           : "application/vnd.docker.raw-stream",
                    &sink, st, &st->k, &st->c);
  return st;
}

int hcsd_stream_alive(const hcsd_stream_t *st) {
  return st != NULL && st->k != NULL && !st->gone_told;
}

static void out_done(as_conn_wreq_t *req, int status) {
  out_t *o = (out_t *)((char *)req - offsetof(out_t, req));
  (void)status;
  hcsd_stream_t *st = o->st;
  hcsd_hold_unref(o->hold);
  free(o);
  st->writes--;
  maybe_free(st);
}

static void out_copy(hcsd_stream_t *st, int stream, const void *buf,
                     size_t len);

/* Bytes left in a process's pipe, spliced after their frame header. */
typedef struct pipe_out_s {
  as_conn_wreq_t req; /* lent to the engine until pipe_done */
  hcsd_stream_t *st;
  as_session_t *s;
  int stream;
  uint8_t hdr[8];
} pipe_out_t;

static void pipe_done(as_conn_wreq_t *req, int status) {
  pipe_out_t *p = (pipe_out_t *)((char *)req - offsetof(pipe_out_t, req));
  (void)status;
  hcsd_stream_t *st = p->st;
  as_session_raw_next(p->s, p->stream);
  free(p);
  st->writes--;
  maybe_free(st);
}

int hcsd_stream_pipe(hcsd_stream_t *st, int stream, int fd, size_t len,
                     as_session_t *s) {
  if (st == NULL || st->k == NULL || st->gone_told || len > UINT32_MAX) {
    return -1;
  }
  pipe_out_t *p = malloc(sizeof(*p));
  if (p == NULL) {
    return -1;
  }
  p->st = st;
  p->s = s;
  p->stream = stream;
  /* One frame for the whole offer (a pipe holds 1 MiB at most): the
   * docker CLI's reader grows its buffer to the frame. */
  hcsd_frame_header(p->hdr, stream, len);
  as_iov_t hdr = {p->hdr, sizeof(p->hdr)};
  if (as_conn_write_pipe(st->c, &p->req, &hdr, st->framed ? 1 : 0, fd, len,
                         pipe_done) != 0) {
    free(p);
    return -1;
  }
  st->writes++;
  return 0;
}

void hcsd_stream_out(hcsd_stream_t *st, int stream, const char *buf, size_t len,
                     hcsd_hold_t *hold) {
  if (st == NULL || st->k == NULL || st->gone_told || len == 0) {
    return;
  }
  if (hold == NULL || (st->framed && len > (size_t)OUT_FRAMES * FRAME_MAX)) {
    out_copy(st, stream, buf, len); /* not a pool read */
    return;
  }
  out_t *o = malloc(sizeof(*o));
  if (o == NULL) {
    return;
  }
  o->st = st;
  o->hold = hold;
  /* Frames the client reads without growing its buffer (<= 32 KiB),
   * each from the held buffer itself. */
  as_iov_t iov[AS_CONN_IOV_MAX];
  int n = 0;
  for (size_t off = 0, k = 0; off < len; k++) {
    size_t rest = len - off;
    size_t part = !st->framed || rest <= FRAME_MAX ? rest : FRAME_MAX;
    if (st->framed) {
      hcsd_frame_header(o->hdr[k], stream, part);
      iov[n++] = (as_iov_t){o->hdr[k], 8};
    }
    iov[n++] = (as_iov_t){buf + off, part};
    off += part;
  }
  if (as_conn_write(st->c, &o->req, iov, n, out_done) != 0) {
    free(o);
    return;
  }
  st->writes++;
  hcsd_hold_ref(hold);
}

static void out_copy(hcsd_stream_t *st, int stream, const void *buf,
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
      hcsd_frame_header(hdr, stream, n);
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
