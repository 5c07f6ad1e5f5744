/* SPDX-License-Identifier: MIT */
/* Pumps: output readers with a cap, and the stdin writer queue.
 *
 * Readers read straight into pool buffers and lend them to the data_cb; a
 * consumer that cannot finish with the bytes in the call holds the buffer,
 * and once the held bytes of a stream reach its cap the engine stops
 * reading it, so the child blocks in write() until buffers come back.
 * Each wake-up reads and writes a bounded amount, so one busy stream cannot
 * starve the others on the loop. */
#include "async/session_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

enum {
  READ_BYTES_PER_WAKE = 1024 * 1024, /* from one stream, then the others */
  READS_PER_WAKE = 16,
  BULK_PIPE_BYTES = 1024 * 1024, /* a stream that fills reads gets this */
  READ_GROWTH = 4, /* the pool's classes from AS_BUF_READ up: 64K, 256K, 1M */
  WRITE_BYTES_PER_WAKE = 1024 * 1024,
};

/* VEOF (^D), the end-of-file character of every console's line discipline:
 * what closing stdin means on a console, whose master cannot be closed
 * without hanging the session up. */
static const char console_eof = 4;

#define CONTAINER(ptr, type, member)                                           \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

int as__out_open(const as_session_t *s) {
  return s->out[0].w.fd >= 0 || s->out[1].w.fd >= 0;
}

static void out_deliver(as_session_t *s, as__out_t *o, char *buf, size_t n) {
  s->cb_buf = buf;
  s->cb_held = 0;
  if (s->cbs.data_cb != NULL) {
    s->cbs.data_cb(s, o->stream, buf, n, s->data);
  }
  s->cb_buf = NULL;
  if (!s->cb_held) {
    as_bufpool_put(as_loop_pool(s->loop), buf);
    return;
  }
  o->held += as_bufpool_cap(buf);
  if (o->held >= s->cap && o->w.fd >= 0 && !o->paused) {
    o->paused = 1;
    (void)as__watch_mod(as__loop_epfd(s->loop), &o->w, 0);
  }
}

void as__out_eof(as_session_t *s, as__out_t *o) {
  as__watch_close(as__loop_epfd(s->loop), &o->w);
  if (s->cbs.data_cb != NULL) {
    s->cbs.data_cb(s, o->stream, NULL, 0, s->data);
  }
}

/* The size of the next read: the stream's read size, cut to what the cap
 * leaves room for, so that held bytes pass the cap by less than one
 * AS_BUF_READ, as they did when every read was that size. */
static size_t read_size(const as_session_t *s, const as__out_t *o) {
  size_t room = s->cap > o->held ? s->cap - o->held : 0;
  size_t size = o->rd_size;
  while (size > AS_BUF_READ && size > room) {
    size /= READ_GROWTH;
  }
  return size;
}

/* A read that filled its buffer says the writer is ahead of us: the next
 * one may take more, up to the stream's rd_max (fewer system calls
 * and wake-ups per byte). A read
 * smaller than AS_BUF_READ says it is not: back to small reads, and that
 * read goes out in a buffer of its own size, so that a consumer holding
 * it does not pin a large one. Returns the buffer to hand out. */
static char *read_adapt(as_session_t *s, as__out_t *o, char *buf, size_t size,
                        size_t n) {
  as_bufpool_t *pool = as_loop_pool(s->loop);
  if (n == size) {
    if (!o->grown && !o->sock) {
      /* A bigger pipe lets the writer run ahead between our wake-ups.
       * Only streams that prove bulky pay for it (idle ones keep
       * 64 KiB); a console or a full quota just says no. */
      o->grown = 1;
      (void)fcntl(o->w.fd, F_SETPIPE_SZ, BULK_PIPE_BYTES);
    }
    if (o->rd_size < o->rd_max && size == o->rd_size) {
      o->rd_size *= READ_GROWTH;
    }
    return buf;
  }
  if (n >= AS_BUF_READ) {
    return buf;
  }
  o->rd_size = AS_BUF_READ;
  if (as_bufpool_cap(buf) <= AS_BUF_READ) {
    return buf;
  }
  char *small = as_bufpool_get(pool, n);
  if (small == NULL) {
    return buf; /* the large one will do */
  }
  memcpy(small, buf, n);
  as_bufpool_put(pool, buf);
  return small;
}

static void read_cb(as__watch_t *w, uint32_t events) {
  as__out_t *o = CONTAINER(w, as__out_t, w);
  as_session_t *s = o->s;
  as_bufpool_t *pool = as_loop_pool(s->loop);
  as__sref(s);
  if (o->raw_cb != NULL) {
    as__raw_ready(s, o, events);
    as__session_maybe_done(s);
    as__sunref(s);
    return;
  }
  size_t got = 0;
  for (int i = 0; i < READS_PER_WAKE && got < READ_BYTES_PER_WAKE &&
                  o->w.fd >= 0 && !o->paused;
       i++) {
    char *buf;
    size_t size = read_size(s, o);
    ssize_t n = as__read_pooled_n(pool, o->w.fd, size, &buf);
    if (n > 0) {
      got += (size_t)n;
      buf = read_adapt(s, o, buf, size, (size_t)n);
      out_deliver(s, o, buf, (size_t)n);
      if ((size_t)n < size) {
        break;
      }
      continue;
    }
    if (n == -EAGAIN || n == -ENOMEM) {
      break; /* ENOMEM: the fd stays readable, so the next wake retries */
    }
    /* 0 is EOF; EIO is how a console master says the last slave closed;
     * any other error ends the stream too. */
    as__out_eof(s, o);
  }
  as__session_maybe_done(s);
  as__sunref(s);
}

/* libuv runs due timers before it polls: when one loop iteration took
 * longer than the drain (a loaded machine, a burst of spawns), the drain
 * timer fires ahead of an EOF that is already waiting in the epoll set.
 * One read pass here takes it; a stream that is still open after it (a
 * grandchild holds the pipe) is cut as before. */
void as__out_drain_last(as_session_t *s) {
  for (int i = 0; i < 2 && !s->done; i++) {
    as__out_t *o = &s->out[i];
    if (o->w.fd >= 0 && !o->paused && o->raw_cb == NULL) {
      read_cb(&o->w, EPOLLIN);
    }
  }
}

static void wreq_done(as_session_t *s, as__wreq_t *r, int status) {
  if (r->cb != NULL) {
    r->cb(s, status, r->data);
  }
  as_free(r);
}

static void in_close(as_session_t *s, int status) {
  as__in_t *in = &s->in;
  as__watch_close(as__loop_epfd(s->loop), &in->w);
  while (in->head != NULL) {
    as__wreq_t *r = in->head;
    in->head = r->next;
    wreq_done(s, r, status);
  }
  in->tail = NULL;
}

static void write_cb(as__watch_t *w, uint32_t events) {
  as__in_t *in = CONTAINER(w, as__in_t, w);
  as_session_t *s = in->s;
  size_t budget = WRITE_BYTES_PER_WAKE;
  (void)events;
  as__sref(s);
  while (in->head != NULL && budget > 0) {
    as__wreq_t *r = in->head;
    size_t want = r->len - r->off;
    ssize_t n = write(in->w.fd, r->buf + r->off, want < budget ? want : budget);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      break;
    }
    if (n < 0) {
      in_close(s, -errno);
      break;
    }
    r->off += (size_t)n;
    budget -= (size_t)n;
    if (r->off == r->len) {
      in->head = r->next;
      if (in->head == NULL) {
        in->tail = NULL;
      }
      wreq_done(s, r, 0);
    }
  }
  if (in->w.fd >= 0 && in->head == NULL) {
    if (in->close_asked) {
      in_close(s, 0);
    } else {
      (void)as__watch_mod(as__loop_epfd(s->loop), &in->w, 0);
    }
  }
  as__sunref(s);
}

int as__pump_start(as_session_t *s) {
  int epfd = as__loop_epfd(s->loop);
  for (int i = 0; i < 2; i++) {
    as__out_t *o = &s->out[i];
    if (o->w.fd >= 0) {
      int err = as__watch_add(epfd, &o->w, o->w.fd, EPOLLIN, read_cb);
      if (err != 0) {
        return err;
      }
    }
  }
  if (s->in.w.fd >= 0) {
    /* Registered silent: it asks for EPOLLOUT only while bytes wait. */
    return as__watch_add(epfd, &s->in.w, s->in.w.fd, 0, write_cb);
  }
  return 0;
}

void as__pump_close(as_session_t *s) {
  for (int i = 0; i < 2; i++) {
    as__out_close(s, &s->out[i]);
  }
  in_close(s, -ECANCELED);
}

static void wreq_deferred(as__defer_t *d) {
  as__wreq_t *r = (as__wreq_t *)(void *)d;
  as_session_t *s = r->s;
  wreq_done(s, r, 0);
  as__sunref(s);
}

static int in_queue(as_session_t *s, const void *buf, size_t len,
                    as_write_cb cb, void *data) {
  as__in_t *in = &s->in;
  as__wreq_t *r = as_malloc(sizeof(*r));
  if (r == NULL) {
    return -ENOMEM;
  }
  r->s = s;
  r->next = NULL;
  r->buf = buf;
  r->len = len;
  r->off = 0;
  r->cb = cb;
  r->data = data;
  if (in->head == NULL) {
    /* Nothing queued: try the write now, as libuv's uv_write does; the
     * common case (the pipe has room) then costs one write() and no
     * epoll change. The callback still runs later, from the loop. */
    ssize_t n;
    do {
      n = write(in->w.fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
      r->off = (size_t)n;
    }
    if (r->off == len) {
      as__sref(s);
      r->defer.fn = wreq_deferred;
      as__loop_defer(s->loop, &r->defer);
      return 0;
    }
    /* EAGAIN or a partial write: the rest waits for EPOLLOUT. Other errors
     * (EPIPE) show there too, and complete the request with them. */
  }
  int err = as__watch_mod(as__loop_epfd(s->loop), &in->w, EPOLLOUT);
  if (err != 0) {
    as_free(r);
    return err;
  }
  if (in->tail != NULL) {
    in->tail->next = r;
  } else {
    in->head = r;
  }
  in->tail = r;
  return 0;
}

int as_session_write(as_session_t *s, const void *buf, size_t len,
                     as_write_cb cb, void *data) {
  if (s->in.w.fd < 0) {
    return s->flags & AS_FDS ? -EBADF : -EPIPE;
  }
  if (s->in.close_asked) {
    return -EPIPE;
  }
  if (buf == NULL && len != 0) {
    return -EINVAL;
  }
  return in_queue(s, buf, len, cb, data);
}

int as_session_close_stdin(as_session_t *s) {
  as__in_t *in = &s->in;
  if (in->w.fd < 0 || in->close_asked) {
    return 0;
  }
  if (s->flags & AS_PTY) {
    int err = in_queue(s, &console_eof, 1, NULL, NULL);
    if (err != 0) {
      return err;
    }
  }
  in->close_asked = 1;
  if (in->head == NULL) {
    in_close(s, 0);
  }
  return 0;
}

void as_session_hold(as_session_t *s, int stream, char *buf) {
  (void)stream;
  (void)buf;
  assert(buf != NULL && buf == s->cb_buf && !s->cb_held);
  s->cb_held = 1;
  as__sref(s);
}

void as_session_release(as_session_t *s, int stream, char *buf) {
  assert(stream == AS_STDOUT || stream == AS_STDERR);
  as__out_t *o = &s->out[stream - AS_STDOUT];
  size_t cap = as_bufpool_cap(buf);
  assert(o->held >= cap);
  o->held -= cap;
  as_bufpool_put(as_loop_pool(s->loop), buf);
  if (o->paused && o->held < s->cap) {
    o->paused = 0;
    (void)as__watch_mod(as__loop_epfd(s->loop), &o->w, EPOLLIN);
  }
  as__sunref(s);
}

size_t as_session_held(const as_session_t *s, int stream) {
  if (stream != AS_STDOUT && stream != AS_STDERR) {
    return 0;
  }
  return s->out[stream - AS_STDOUT].held;
}
