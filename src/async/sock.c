/* SPDX-License-Identifier: MIT */
/* Unix stream sockets on the engine's epoll set: a listener and its
 * connections, one registration each, as pump.c does for pipes.
 *
 * Reading follows pump.c: pool buffers lent to the data callback, a
 * bounded number of reads per wake-up, and no reading while the owner
 * pauses or holds more than AS_CONN_HOLD_MAX, so a fast peer is throttled
 * by the kernel. Writing goes from the owner's memory: a write is tried at
 * once when nothing is queued, the rest waits for EPOLLOUT, and requests
 * complete in order, from the loop. A request may end with bytes of a
 * pipe (as_conn_write_pipe), moved by splice(2): the pipe's pages go into
 * the socket without a copy. Where splice is refused (EINVAL) they go
 * through a pool buffer, one at a time.
 *
 * A peer's shutdown(SHUT_WR) reads as EOF without EPOLLHUP: the
 * connection lives on for writing. EPOLLHUP (the peer closed, or both
 * sides shut down) or a failed read or write makes it gone: the fd is
 * closed at once, since a level-triggered EPOLLHUP cannot be masked and
 * would otherwise be reported on every wake-up.
 *
 * A closed connection or listener is freed from a deferred call: an event
 * for it may still wait in the batch that as__watch_dispatch is going
 * through. */
#include "async/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum {
  READS_PER_WAKE = 16, /* 1 MiB at most from one connection a wake */
  ACCEPTS_PER_WAKE = 64,
  WRITE_BYTES_PER_WAKE = 1024 * 1024,
  IOV_BATCH = 64, /* iovecs gathered over the queue for one sendmsg */
  BACKLOG = 4096,
  ACCEPT_BACKOFF_MS = 100, /* out of fds: accepting pauses this long */
};

#define CONTAINER(ptr, type, member)                                           \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct as_listener_s {
  as__watch_t w;
  as_loop_t *loop;
  as__defer_t free_d;
  char *path;
  dev_t dev; /* of the socket file we made, so close removes only ours */
  ino_t ino;
  size_t conn_extra;
  as_accept_cb cb;
  void *data;
  as_timer_t *backoff; /* out of fds: accepting pauses, then resumes */
};

struct as_conn_s {
  as__watch_t w; /* w.fd is -1 once gone or closed */
  as_loop_t *loop;
  as__defer_t defer; /* completions of writes, a late gone, the free */
  unsigned refs;     /* the owner's, held buffers', a queued defer's */
  unsigned started : 1, paused : 1, eof : 1, gone : 1, gone_due : 1, closed : 1,
      shut_asked : 1, defer_queued : 1, cb_held : 1, no_splice : 1;
  int gone_status;
  int write_err; /* a failed write in as_conn_write, for the defer */
  size_t held;   /* bytes of buffers the owner holds */
  size_t queued; /* bytes queued and not yet written */
  as_conn_wreq_t *wq_head, *wq_tail;     /* waiting to be written */
  as_conn_wreq_t *done_head, *done_tail; /* written, cb not yet run */
  char *cb_buf;                          /* lent to the data_cb under way */
  char *bounce; /* without splice: pipe bytes read and not yet sent */
  size_t bounce_len, bounce_off;
  as_conn_cbs_t cbs;
  void *data;
  max_align_t extra[]; /* the owner's conn_extra bytes */
};

/* Connections. */

static void conn_unref(as_conn_t *c) {
  if (--c->refs == 0) {
    if (c->bounce != NULL) {
      as_bufpool_put(as_loop_pool(c->loop), c->bounce);
    }
    as_free(c);
  }
}

static void conn_defer_fn(as__defer_t *d);

static void conn_defer(as_conn_t *c) {
  if (!c->defer_queued) {
    c->defer_queued = 1;
    c->refs++;
    c->defer.fn = conn_defer_fn;
    as__loop_defer(c->loop, &c->defer);
  }
}

static int can_read(const as_conn_t *c) {
  return c->w.fd >= 0 && c->started && !c->paused && !c->eof &&
         c->held <= AS_CONN_HOLD_MAX;
}

/* Asks epoll for what the connection can use now. */
static void conn_update(as_conn_t *c) {
  if (c->w.fd < 0) {
    return;
  }
  uint32_t ev = can_read(c) ? EPOLLIN | EPOLLRDHUP : 0;
  if (c->wq_head != NULL) {
    ev |= EPOLLOUT;
  }
  /* EPOLL_CTL_MOD on a registered fd fails only with ENOMEM; the old mask
   * then stays, which costs at most wake-ups with nothing to do. */
  (void)as__watch_mod(as__loop_epfd(c->loop), &c->w, ev);
}

static void done_append(as_conn_t *c, as_conn_wreq_t *r) {
  r->next = NULL;
  if (c->done_tail != NULL) {
    c->done_tail->next = r;
  } else {
    c->done_head = r;
  }
  c->done_tail = r;
}

/* Runs the callbacks of written requests, oldest first. A callback may
 * close the connection, which completes the rest itself. */
static void complete_written(as_conn_t *c) {
  as_conn_wreq_t *r;
  while (!c->closed && (r = c->done_head) != NULL) {
    c->done_head = r->next;
    if (c->done_head == NULL) {
      c->done_tail = NULL;
    }
    if (r->cb != NULL) {
      r->cb(r, 0);
    }
  }
}

/* Written requests complete with 0, then the queued ones with status. */
static void complete_all(as_conn_t *c, int status) {
  as_conn_wreq_t *r;
  while ((r = c->done_head) != NULL) {
    c->done_head = r->next;
    if (r->cb != NULL) {
      r->cb(r, 0);
    }
  }
  c->done_tail = NULL;
  while ((r = c->wq_head) != NULL) {
    c->wq_head = r->next;
    c->queued -= r->left;
    if (r->cb != NULL) {
      r->cb(r, status);
    }
  }
  c->wq_tail = NULL;
}

static void conn_gone(as_conn_t *c, int status) {
  if (c->gone || c->closed) {
    return;
  }
  c->gone = 1;
  c->gone_status = status;
  as__watch_close(as__loop_epfd(c->loop), &c->w);
  complete_all(c, status);
  if (c->closed) {
    return; /* a write callback closed it */
  }
  if (c->started) {
    if (c->cbs.gone_cb != NULL) {
      c->cbs.gone_cb(c, status, c->data);
    }
  } else {
    c->gone_due = 1; /* as_conn_start delivers it */
  }
}

static void conn_defer_fn(as__defer_t *d) {
  as_conn_t *c = CONTAINER(d, as_conn_t, defer);
  c->defer_queued = 0;
  if (!c->closed) {
    if (c->write_err != 0) {
      conn_gone(c, c->write_err);
    } else {
      complete_written(c);
    }
  }
  if (!c->closed && c->gone_due && c->started) {
    c->gone_due = 0;
    if (c->cbs.gone_cb != NULL) {
      c->cbs.gone_cb(c, c->gone_status, c->data);
    }
  }
  conn_unref(c);
}

/* Moves n written bytes off the queue; requests finished (zero-length
 * ones too) go to the written list. */
static void wq_advance(as_conn_t *c, size_t n) {
  c->queued -= n;
  while (c->wq_head != NULL) {
    as_conn_wreq_t *r = c->wq_head;
    while (r->i < r->n) {
      size_t rest = r->iov[r->i].len - r->off;
      if (n < rest) {
        r->off += n;
        r->left -= n;
        return;
      }
      n -= rest;
      r->left -= rest;
      r->i++;
      r->off = 0;
    }
    if (r->pipe_left > 0) {
      size_t k = n < r->pipe_left ? n : r->pipe_left;
      r->pipe_left -= k;
      r->left -= k;
      n -= k;
      if (r->pipe_left > 0) {
        return;
      }
    }
    c->wq_head = r->next;
    if (c->wq_head == NULL) {
      c->wq_tail = NULL;
    }
    done_append(c, r);
  }
}

/* The pieces to send, up to the first pipe: its bytes go by themselves. */
static int wq_gather(const as_conn_t *c, struct iovec *v) {
  int nv = 0;
  for (const as_conn_wreq_t *r = c->wq_head; r != NULL && nv < IOV_BATCH;
       r = r->next) {
    for (int i = r->i; i < r->n && nv < IOV_BATCH; i++) {
      size_t off = i == r->i ? r->off : 0;
      if (r->iov[i].len > off) {
        v[nv].iov_base = (char *)(uintptr_t)r->iov[i].base + off;
        v[nv].iov_len = r->iov[i].len - off;
        nv++;
      }
    }
    if (r->pipe_left > 0) {
      break;
    }
  }
  return nv;
}

/* Sends what the bounce buffer holds. n > 0 sent, or -errno. */
static ssize_t bounce_send(as_conn_t *c) {
  ssize_t n = send(c->w.fd, c->bounce + c->bounce_off,
                   c->bounce_len - c->bounce_off, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) {
    return -errno;
  }
  c->bounce_off += (size_t)n;
  if (c->bounce_off == c->bounce_len) {
    as_bufpool_put(as_loop_pool(c->loop), c->bounce);
    c->bounce = NULL;
  }
  return n;
}

/* Moves up to want bytes of r's pipe into the socket: spliced, or read
 * into the bounce buffer where splice is refused. n > 0 moved, or -errno
 * (-EAGAIN: the socket is full; -EIO: the pipe had fewer bytes than
 * promised). */
static ssize_t pipe_send(as_conn_t *c, const as_conn_wreq_t *r, size_t want) {
  if (c->bounce == NULL && !c->no_splice) {
    ssize_t n = splice(r->pipe_fd, NULL, c->w.fd, NULL, want,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      return n;
    }
    if (n == 0) {
      return -EIO;
    }
    if (errno != EINVAL) {
      return -errno;
    }
    c->no_splice = 1;
  }
  if (c->bounce == NULL) {
    as_bufpool_t *pool = as_loop_pool(c->loop);
    char *buf = as_bufpool_get(pool, AS_BUF_READ);
    if (buf == NULL) {
      return -ENOMEM;
    }
    ssize_t n;
    do {
      n = read(r->pipe_fd, buf, want < AS_BUF_READ ? want : AS_BUF_READ);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      int err = n == 0 || errno == EAGAIN ? EIO : errno;
      as_bufpool_put(pool, buf);
      return -err;
    }
    c->bounce = buf;
    c->bounce_len = (size_t)n;
    c->bounce_off = 0;
  }
  return bounce_send(c);
}

/* Writes what the socket takes, up to a budget. 0, or -errno of a failed
 * write (EAGAIN is not a failure). */
static int wq_send(as_conn_t *c) {
  size_t budget = WRITE_BYTES_PER_WAKE;
  struct iovec v[IOV_BATCH];
  wq_advance(c, 0);
  while (c->wq_head != NULL && budget > 0) {
    as_conn_wreq_t *h = c->wq_head;
    ssize_t n;
    if (h->i >= h->n && h->pipe_left > 0) {
      n = pipe_send(c, h, h->pipe_left < budget ? h->pipe_left : budget);
      if (n < 0) {
        if (n == -EINTR) {
          continue;
        }
        return n == -EAGAIN ? 0 : (int)n;
      }
      wq_advance(c, (size_t)n);
      budget -= (size_t)n < budget ? (size_t)n : budget;
      continue;
    }
    struct msghdr msg = {.msg_iov = v, .msg_iovlen = (size_t)wq_gather(c, v)};
    /* MSG_NOSIGNAL: an embedder may have a SIGPIPE handler installed. */
    n = sendmsg(c->w.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return errno == EAGAIN ? 0 : -errno;
    }
    wq_advance(c, (size_t)n);
    budget -= (size_t)n < budget ? (size_t)n : budget;
  }
  if (c->wq_head == NULL && c->shut_asked) {
    /* ENOTCONN when the peer is gone already: nothing left to shut. */
    (void)shutdown(c->w.fd, SHUT_WR);
  }
  return 0;
}

static void conn_deliver(as_conn_t *c, char *buf, size_t n) {
  c->cb_buf = buf;
  c->cb_held = 0;
  if (c->cbs.data_cb != NULL) {
    c->cbs.data_cb(c, buf, n, c->data);
  }
  c->cb_buf = NULL;
  if (!c->cb_held) {
    as_bufpool_put(as_loop_pool(c->loop), buf);
  }
}

static int sock_error(int fd) {
  int e = 0;
  socklen_t len = sizeof(e);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0 || e == 0) {
    return -EPIPE;
  }
  return -e;
}

/* With hup, the peer has closed: what it sent before is still read while
 * the owner reads, and its end (read 0) is the gone, not an EOF. */
static void conn_read(as_conn_t *c, int hup) {
  as_bufpool_t *pool = as_loop_pool(c->loop);
  for (int i = 0; i < READS_PER_WAKE && can_read(c); i++) {
    char *buf;
    ssize_t n = as__read_pooled(pool, c->w.fd, &buf);
    if (n > 0) {
      conn_deliver(c, buf, (size_t)n);
      if (n < AS_BUF_READ) {
        return;
      }
      continue;
    }
    if (n == -EAGAIN || n == -ENOMEM) {
      return; /* ENOMEM: the fd stays readable, so the next wake retries */
    }
    int err = (int)-n;
    if (err != 0 || hup) {
      conn_gone(c, err != 0 ? -err : -EPIPE);
      return;
    }
    c->eof = 1;
    if (c->cbs.data_cb != NULL) {
      c->cbs.data_cb(c, NULL, 0, c->data);
    }
    return;
  }
}

static void conn_event(as__watch_t *w, uint32_t events) {
  as_conn_t *c = CONTAINER(w, as_conn_t, w);
  int hup = (events & (EPOLLHUP | EPOLLERR)) != 0;
  if ((events & EPOLLERR) && !(events & EPOLLHUP)) {
    conn_gone(c, sock_error(c->w.fd));
    return;
  }
  if (events & EPOLLOUT) {
    int err = wq_send(c);
    if (err != 0) {
      conn_gone(c, err);
      return;
    }
    complete_written(c);
  }
  if (c->w.fd >= 0 && !c->closed &&
      ((events & (EPOLLIN | EPOLLRDHUP)) != 0 || hup)) {
    conn_read(c, hup);
  }
  /* Not reading (paused, at the cap, at EOF, not started): a hang-up
   * cannot wait for the owner, since it would be reported on every
   * wake-up; what the peer sent last is dropped, as it can read no
   * reply. */
  if (hup && c->w.fd >= 0 && !c->closed && !can_read(c)) {
    conn_gone(c, -EPIPE);
  }
  if (!c->closed) {
    conn_update(c);
  }
}

static as_conn_t *conn_new(as_loop_t *loop, size_t extra, int fd) {
  as_conn_t *c = as_calloc(1, sizeof(*c) + extra);
  if (c == NULL) {
    return NULL;
  }
  c->loop = loop;
  c->refs = 1;
  /* Silent until started or written to; a hang-up is reported anyway. */
  if (as__watch_add(as__loop_epfd(loop), &c->w, fd, 0, conn_event) != 0) {
    as_free(c);
    return NULL;
  }
  as__loop_active(loop, +1);
  return c;
}

int as_conn_fd(const as_conn_t *c) { return c->closed ? -1 : c->w.fd; }

int as_conn_adopt(as_loop_t *loop, int fd, as_conn_t **out) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    return -errno;
  }
  *out = conn_new(loop, 0, fd);
  return *out != NULL ? 0 : -ENOMEM;
}

void *as_conn_extra(as_conn_t *c) { return c->extra; }

void as_conn_start(as_conn_t *c, const as_conn_cbs_t *cbs, void *data) {
  c->cbs = *cbs;
  c->data = data;
  c->started = 1;
  if (c->gone_due) {
    conn_defer(c);
  }
  conn_update(c);
}

void as_conn_pause(as_conn_t *c, int paused) {
  c->paused = paused != 0;
  conn_update(c);
}

void as_conn_hold(as_conn_t *c, char *buf) {
  assert(buf != NULL && buf == c->cb_buf && !c->cb_held);
  c->cb_held = 1;
  c->held += as_bufpool_cap(buf);
  c->refs++;
}

void as_conn_release(as_conn_t *c, char *buf) {
  size_t cap = as_bufpool_cap(buf);
  assert(c->held >= cap);
  c->held -= cap;
  as_bufpool_put(as_loop_pool(c->loop), buf);
  if (!c->closed) {
    conn_update(c);
  }
  conn_unref(c);
}

static int conn_queue(as_conn_t *c, as_conn_wreq_t *req, const as_iov_t *iov,
                      int n, int pipe_fd, size_t pipe_len,
                      as_conn_write_cb cb) {
  if (c->gone || c->closed || c->shut_asked) {
    return -EPIPE;
  }
  req->next = NULL;
  req->cb = cb;
  req->n = n;
  req->i = 0;
  req->off = 0;
  req->pipe_fd = pipe_fd;
  req->pipe_left = pipe_len;
  req->left = pipe_len;
  for (int i = 0; i < n; i++) {
    req->iov[i] = iov[i];
    req->left += iov[i].len;
  }
  int was_empty = c->wq_head == NULL;
  if (c->wq_tail != NULL) {
    c->wq_tail->next = req;
  } else {
    c->wq_head = req;
  }
  c->wq_tail = req;
  c->queued += req->left;
  if (was_empty && c->write_err == 0) {
    /* As uv_write does: the common case (the socket has room) costs one
     * sendmsg and no epoll change; the callback still runs later. */
    int err = wq_send(c);
    if (err != 0) {
      c->write_err = err;
    }
    if (err != 0 || c->done_head != NULL) {
      conn_defer(c);
    }
  }
  conn_update(c);
  return 0;
}

int as_conn_write(as_conn_t *c, as_conn_wreq_t *req, const as_iov_t *iov, int n,
                  as_conn_write_cb cb) {
  if (n < 1 || n > AS_CONN_IOV_MAX || iov == NULL) {
    return -EINVAL;
  }
  return conn_queue(c, req, iov, n, -1, 0, cb);
}

int as_conn_write_pipe(as_conn_t *c, as_conn_wreq_t *req, const as_iov_t *iov,
                       int n, int pipe_fd, size_t len, as_conn_write_cb cb) {
  if (n < 0 || n > AS_CONN_IOV_MAX || (n > 0 && iov == NULL) || pipe_fd < 0) {
    return -EINVAL;
  }
  return conn_queue(c, req, iov, n, pipe_fd, len, cb);
}

size_t as_conn_queued(const as_conn_t *c) { return c->queued; }

void as_conn_shutdown(as_conn_t *c) {
  if (c->shut_asked || c->gone) {
    return;
  }
  c->shut_asked = 1;
  if (c->wq_head == NULL && c->write_err == 0) {
    (void)shutdown(c->w.fd, SHUT_WR);
  }
}

int as_conn_peer(const as_conn_t *c, pid_t *pid, uid_t *uid, gid_t *gid) {
  struct ucred cr;
  socklen_t len = sizeof(cr);
  if (c->w.fd < 0) {
    return -ENOTCONN;
  }
  if (getsockopt(c->w.fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
    return -errno;
  }
  if (pid != NULL) {
    *pid = cr.pid;
  }
  if (uid != NULL) {
    *uid = cr.uid;
  }
  if (gid != NULL) {
    *gid = cr.gid;
  }
  return 0;
}

void as_conn_close(as_conn_t *c) {
  if (c == NULL) {
    return;
  }
  assert(!c->closed);
  c->closed = 1;
  complete_all(c, -ECANCELED);
  as__watch_close(as__loop_epfd(c->loop), &c->w);
  as__loop_active(c->loop, -1);
  conn_defer(c);
  conn_unref(c);
}

/* Listeners. */

static void listener_resume(as_timer_t *t, void *data) {
  as_listener_t *l = data;
  (void)t;
  if (l->w.fd >= 0) {
    (void)as__watch_mod(as__loop_epfd(l->loop), &l->w, EPOLLIN);
  }
}

static void listener_event(as__watch_t *w, uint32_t events) {
  as_listener_t *l = CONTAINER(w, as_listener_t, w);
  (void)events;
  for (int i = 0; i < ACCEPTS_PER_WAKE && l->w.fd >= 0; i++) {
    int fd = accept4(l->w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && l->backoff != NULL) {
        /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays
         * readable, so a level-triggered watch would spin. Stop watching
         * for a while; the backlog keeps the clients waiting. */
        (void)as__watch_mod(as__loop_epfd(l->loop), &l->w, 0);
        as_timer_arm(l->backoff, ACCEPT_BACKOFF_MS, listener_resume, l);
      }
      return;
    }
    as_conn_t *c = conn_new(l->loop, l->conn_extra, fd);
    if (c == NULL) {
      close(fd); /* ENOMEM: the peer sees its connection closed */
      continue;
    }
    l->cb(l, c, l->data);
  }
}

static void listener_free(as__defer_t *d) {
  as_listener_t *l = CONTAINER(d, as_listener_t, free_d);
  as_free(l->path);
  as_free(l);
}

/* Makes room at path: only a socket file may be replaced. */
static int clear_path(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    return errno == ENOENT ? 0 : -errno;
  }
  if (!S_ISSOCK(st.st_mode)) {
    return -EEXIST;
  }
  if (unlink(path) != 0 && errno != ENOENT) {
    return -errno;
  }
  return 0;
}

static int bind_unix(int fd, const char *path, unsigned mode, int gid,
                     struct stat *st) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, path, strlen(path) + 1);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    return -errno;
  }
  int err = 0;
  if (chmod(path, mode) != 0 ||
      (gid != -1 && chown(path, (uid_t)-1, (gid_t)gid) != 0) ||
      lstat(path, st) != 0) {
    err = -errno;
    (void)unlink(path);
  }
  return err;
}

/* A listener with no fd yet; path may be NULL (nothing to remove). */
static int listener_new(as_loop_t *loop, const char *path, size_t conn_extra,
                        as_accept_cb cb, void *data, as_listener_t **out) {
  as_listener_t *l = as_calloc(1, sizeof(*l));
  if (l == NULL || (path != NULL && (l->path = as_strdup(path)) == NULL)) {
    as_free(l);
    return -ENOMEM;
  }
  l->loop = loop;
  l->conn_extra = conn_extra;
  l->cb = cb;
  l->data = data;
  if (as_timer_new(loop, &l->backoff) != 0) {
    as_free(l->path);
    as_free(l);
    return -ENOMEM;
  }
  *out = l;
  return 0;
}

static void listener_discard(as_listener_t *l) {
  as_timer_free(l->backoff);
  as_free(l->path);
  as_free(l);
}

static int listener_watch(as_listener_t *l, int fd) {
  int err =
      as__watch_add(as__loop_epfd(l->loop), &l->w, fd, EPOLLIN, listener_event);
  if (err == 0) {
    as__loop_active(l->loop, +1);
  }
  return err;
}

int as_listen_unix(as_loop_t *loop, const char *path, unsigned mode, int gid,
                   size_t conn_extra, as_accept_cb cb, void *data,
                   as_listener_t **out) {
  if (path == NULL || path[0] == '\0' || cb == NULL) {
    return -EINVAL;
  }
  if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
    return -ENAMETOOLONG;
  }
  as_listener_t *l;
  int err = listener_new(loop, path, conn_extra, cb, data, &l);
  if (err != 0) {
    return err;
  }
  err = clear_path(path);
  if (err != 0) {
    goto free_l;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = -errno;
    goto free_l;
  }
  struct stat st;
  err = bind_unix(fd, path, mode, gid, &st);
  if (err != 0) {
    goto close_fd;
  }
  l->dev = st.st_dev;
  l->ino = st.st_ino;
  if (listen(fd, BACKLOG) != 0) {
    err = -errno;
    goto unlink_path;
  }
  err = listener_watch(l, fd);
  if (err != 0) {
    goto unlink_path;
  }
  *out = l;
  return 0;

unlink_path:
  (void)unlink(path);
close_fd:
  close(fd);
free_l:
  listener_discard(l);
  return err;
}

/* A socket handed over by a service manager (sd_listen_fds(3)) comes
 * without O_NONBLOCK or FD_CLOEXEC: a blocking accept4 would stall the
 * loop, and the fd must not reach a child. */
static int check_listening_unix(int fd) {
  int v;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0) {
    return -errno;
  }
  if (v != AF_UNIX) {
    return -EINVAL;
  }
  len = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0) {
    return -errno;
  }
  if (v != SOCK_STREAM) {
    return -EINVAL;
  }
  len = sizeof(v);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0) {
    return -errno;
  }
  if (v == 0) {
    return -EINVAL;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    return -errno;
  }
  return 0;
}

int as_listen_fd(as_loop_t *loop, int fd, size_t conn_extra, as_accept_cb cb,
                 void *data, as_listener_t **out) {
  if (fd < 0 || cb == NULL) {
    return -EINVAL;
  }
  int err = check_listening_unix(fd);
  if (err != 0) {
    return err;
  }
  as_listener_t *l;
  err = listener_new(loop, NULL, conn_extra, cb, data, &l);
  if (err != 0) {
    return err;
  }
  err = listener_watch(l, fd);
  if (err != 0) {
    listener_discard(l);
    return err;
  }
  *out = l;
  return 0;
}

void as_listener_close(as_listener_t *l) {
  if (l == NULL) {
    return;
  }
  struct stat st;
  /* Someone may have put another file there since; that one stays. */
  if (l->path != NULL && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
      st.st_ino == l->ino) {
    (void)unlink(l->path);
  }
  as_timer_free(l->backoff);
  l->backoff = NULL;
  as__watch_close(as__loop_epfd(l->loop), &l->w);
  as__loop_active(l->loop, -1);
  l->free_d.fn = listener_free;
  as__loop_defer(l->loop, &l->free_d);
}
