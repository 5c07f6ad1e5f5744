/* SPDX-License-Identifier: MIT */
/* The engine's own epoll set: nested in the libuv loop as a single polled
 * fd, or, while the engine runs a libuv loop of its own, the set the
 * thread blocks in, libuv's backend fd one of its members (loop.c). Each
 * pipe, pty and pidfd is one epoll registration whose data is the
 * watch itself: no libuv handle per fd (uv_poll_init costs three system
 * calls and a hundred bytes per fd; a registration here costs one call and
 * sixteen bytes); a close deletes the registration first (see
 * as__watch_close). */
#include "async/internal.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

enum { BATCH = 256 };

int as__watch_set_init(int *epfd) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  *epfd = fd;
  return 0;
}

int as__watch_add(int epfd, as__watch_t *w, int fd, uint32_t events,
                  as__watch_cb cb) {
  struct epoll_event ev = {.events = events, .data.ptr = w};
  w->fd = fd;
  w->events = events;
  w->cb = cb;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    w->fd = -1;
    return -errno;
  }
  return 0;
}

int as__watch_mod(int epfd, as__watch_t *w, uint32_t events) {
  if (w->fd < 0 || w->events == events) {
    return 0;
  }
  struct epoll_event ev = {.events = events, .data.ptr = w};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0) {
    return -errno;
  }
  w->events = events;
  return 0;
}

void as__watch_close(int epfd, as__watch_t *w) {
  if (w->fd < 0) {
    return;
  }
  /* A registration lives as long as its open file description, and any
   * fd may have a copy elsewhere for a while: a pty master's dup, or the
   * fd table of a child another thread (another engine loop, a spawner,
   * the embedder) has cloned and that has not reached its exec yet. A
   * registration left behind would report events for freed memory, so
   * every fd leaves the set explicitly. */
  (void)epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
  close(w->fd);
  w->fd = -1;
  w->events = 0;
}

void as__watch_del(int epfd, as__watch_t *w) {
  if (w->fd < 0) {
    return;
  }
  (void)epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
  w->fd = -1;
  w->events = 0;
}

/* Events for watches closed earlier in the same batch are skipped: their
 * memory lives until a later loop iteration (sessions are freed from a
 * libuv close callback), and their fd is -1. */
int as__watch_dispatch(int epfd, int timeout_ms, void (*woke)(void *arg),
                       void *arg) {
  struct epoll_event ev[BATCH];
  int n = epoll_wait(epfd, ev, BATCH, timeout_ms);
  if (n < 0) {
    /* EINTR (a signal handler ran): an empty wake; the caller's loop
     * computes its timeout again. Other errors cannot happen on an epoll
     * fd of our own with a valid buffer. */
    n = 0;
  }
  if (woke != NULL) {
    woke(arg);
  }
  for (int i = 0; i < n; i++) {
    as__watch_t *w = ev[i].data.ptr;
    if (w->fd >= 0) {
      w->cb(w, ev[i].events);
    }
  }
  return n;
}
