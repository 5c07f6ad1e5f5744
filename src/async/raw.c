/* SPDX-License-Identifier: MIT */
/* Raw output (as_session_raw): the consumer moves a stream's bytes out of
 * its pipe itself, with splice(2) into a socket, so that a forwarder
 * (hcsd) never copies them. The engine only says how many wait: it asks
 * FIONREAD, hands the count and the fd out, and takes the pipe off the
 * epoll set until the consumer answers (as_session_raw_next). Nobody
 * reads the pipe meanwhile, so the counted bytes stay at its head; the
 * process may fill it and block in write(), which is the flow control.
 *
 * Off the set means deleted from it, not a mask of 0: a pipe whose writer
 * is gone reports EPOLLHUP whatever the mask, and would wake the loop on
 * every round while the consumer works. While the pipe keeps bytes, each
 * answer is followed by the next offer without an epoll call; only an
 * empty pipe goes back on the set, where EPOLLHUP then tells its EOF. */
#include "async/session_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum {
  BULK_PIPE_BYTES = 1024 * 1024, /* as pump.c: a pipe that fills gets this */
};

#define CONTAINER(ptr, type, member)                                           \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static void mute(as_session_t *s, as__out_t *o) {
  if (!o->muted) {
    /* EPOLL_CTL_DEL of a registered fd cannot fail. */
    (void)epoll_ctl(as__loop_epfd(s->loop), EPOLL_CTL_DEL, o->w.fd, NULL);
    o->muted = 1;
    o->w.events = 0;
  }
}

static void unmute(as_session_t *s, as__out_t *o) {
  if (o->muted && o->w.fd >= 0) {
    uint32_t ev = o->paused ? 0 : EPOLLIN;
    struct epoll_event e = {.events = ev, .data.ptr = &o->w};
    /* ENOMEM or ENOSPC (the user's epoll quota): the stream would never
     * be read again, so its EOF is all that can be told. */
    if (epoll_ctl(as__loop_epfd(s->loop), EPOLL_CTL_ADD, o->w.fd, &e) != 0) {
      as__out_eof(s, o);
      return;
    }
    o->muted = 0;
    o->w.events = ev;
  }
}

/* Offers what waits in the pipe; an empty pipe waits on the set, or with
 * hup (its writers gone) is at EOF. */
static void offer(as_session_t *s, as__out_t *o, int hup) {
  int avail = 0;
  if (ioctl(o->w.fd, FIONREAD, &avail) != 0 || avail <= 0) {
    if (hup) {
      as__out_eof(s, o);
    } else {
      unmute(s, o);
    }
    return;
  }
  if ((size_t)avail >= AS_BUF_READ && !o->grown) {
    /* As pump.c: a bulk writer gets a bigger pipe, and each offer (one
     * splice) then moves more. */
    o->grown = 1;
    (void)fcntl(o->w.fd, F_SETPIPE_SZ, BULK_PIPE_BYTES);
  }
  mute(s, o);
  o->raw_busy = 1;
  as__sref(s);
  o->raw_cb(s, o->stream, o->w.fd, (size_t)avail, o->raw_data);
}

void as__raw_ready(as_session_t *s, as__out_t *o, uint32_t events) {
  if (o->raw_busy || o->paused || o->w.fd < 0) {
    return;
  }
  offer(s, o, (events & (EPOLLHUP | EPOLLERR)) != 0);
}

void as__out_close(as_session_t *s, as__out_t *o) {
  if (o->raw_busy && o->w.fd >= 0) {
    o->close_due = 1;
    return;
  }
  /* A muted fd is off the set: closing it is all there is to do. */
  as__watch_close(as__loop_epfd(s->loop), &o->w);
}

/* After an answer: the next offer, or the pipe back on the set (in copy
 * mode too, once the consumer left raw mode). */
static void after_answer(as__defer_t *d) {
  as__out_t *o = CONTAINER(d, as__out_t, raw_defer);
  as_session_t *s = o->s;
  if (o->w.fd >= 0 && !o->raw_busy) {
    if (o->raw_cb != NULL && !o->paused) {
      offer(s, o, 0);
    } else {
      unmute(s, o);
    }
  }
  as__session_maybe_done(s);
  as__sunref(s); /* the answered offer's */
}

void as_session_raw_next(as_session_t *s, int stream) {
  assert(stream == AS_STDOUT || stream == AS_STDERR);
  as__out_t *o = &s->out[stream - AS_STDOUT];
  assert(o->raw_busy);
  o->raw_busy = 0;
  if (o->close_due) {
    o->close_due = 0;
    as__out_close(s, o);
    as__sunref(s);
    return;
  }
  /* From a later phase: the next raw_cb never runs inside this call. */
  o->raw_defer.fn = after_answer;
  as__loop_defer(s->loop, &o->raw_defer);
}

int as_session_raw(as_session_t *s, int stream, as_raw_cb cb, void *data) {
  if (stream != AS_STDOUT && stream != AS_STDERR) {
    return -EINVAL;
  }
  if (s->flags & AS_PTY) {
    return -ENOTTY;
  }
  as__out_t *o = &s->out[stream - AS_STDOUT];
  if (cb != NULL && o->sock) {
    return -ENOTSUP;
  }
  if (cb != NULL && o->w.fd < 0) {
    return -EBADF;
  }
  /* Leaving raw mode while an offer is out: its answer puts the pipe back
   * on the set for the copying reader. */
  o->raw_cb = cb;
  o->raw_data = data;
  return 0;
}
