/* SPDX-License-Identifier: MIT */
/* The libuv contender: uv_spawn with uv_pipe_t stdio, uv_read_start on the
 * outputs and the exit callback, on a uv loop of its own, written the way
 * a careful libuv program is: one shared read buffer (no allocation per
 * read), one write request per session, handles reused after their close
 * callbacks. A session is done when it exited and its outputs hit EOF.
 *
 * Consoles: libuv has no pty API, so the program gets the slave of an
 * openpty() pair as stdio (UV_INHERIT_FD, UV_PROCESS_DETACHED for its own
 * session; libuv cannot make it the controlling terminal), and resizes are
 * TIOCSWINSZ on the master. The master is read with uv_poll_t and read()
 * until EIO, not with uv_read_start: libuv 1.44's stream code takes
 * POLLHUP after a short read as EOF (uv__stream_io), and a pty master
 * polls POLLHUP as soon as the slave closes while the kernel still holds
 * output for it, so uv_read_start loses the last bytes of most sessions.
 *
 * libuv pipe (bulk only) is the same with stdout on a pipe: libuv 1.44's
 * UV_CREATE_PIPE makes a socketpair (src/unix/process.c), while hcs's
 * default stdout is a pipe, whose path through the kernel costs more per
 * byte (a page allocated and charged per 4 KiB). The child gets the write
 * end of a uv_pipe() pair as UV_INHERIT_FD; the parent reads the other end
 * through a uv_pipe_t as it reads the socketpair. The pipe keeps the size
 * a libuv program gets, the kernel's default (64 KiB). */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

enum { RBUF = 64 * 1024 };

typedef struct uctx_s uctx_t;

typedef struct urec_s {
  sess_t s;
  uv_process_t proc;
  uv_pipe_t pipe[3]; /* stdin, stdout, stderr */
  int master;        /* the console master, -1 without one */
  uctx_t *ctx;
  /* Bit per open handle: 1 << stream, PROC_BIT for the process; the same
   * bit << 8 while its close is under way. */
  unsigned open;
  int eof_pending; /* output streams not yet at EOF */
  int exited, done, exit_code;
  int writing, send_queued;
  struct urec_s *next_free;
  /* What only some scenarios need, allocated only for them, so that an
   * idle session costs what a libuv program must allocate for it. */
  union {
    uv_write_t wreq; /* echo */
    uv_poll_t poll;  /* console */
  } u[];
} urec_t;

enum { PROC_BIT = 1u << 3, POLL_BIT = 1u << 4 };

struct uctx_s {
  uv_loop_t loop;
  run_t *run;
  char *recs; /* c slots of rec_size, touched only once used */
  size_t rec_size;
  uint64_t unused;   /* slots never used yet start here */
  urec_t *free_list; /* slots used and free again */
  int stop;
  char rbuf[RBUF];
};

static void start_one(uctx_t *x);

static urec_t *rec_at(uctx_t *x, uint64_t i) {
  return (urec_t *)(void *)(x->recs + i * x->rec_size);
}

static uv_handle_t *handle_of(urec_t *rec, unsigned bit) {
  if (bit == PROC_BIT) {
    return (uv_handle_t *)&rec->proc;
  }
  if (bit == POLL_BIT) {
    return (uv_handle_t *)&rec->u[0].poll;
  }
  return (uv_handle_t *)&rec->pipe[bit >> 1];
}

static void handle_closed(uv_handle_t *h) {
  urec_t *rec = h->data;
  uctx_t *x = rec->ctx;
  unsigned bit = PROC_BIT;
  if (h == (uv_handle_t *)&rec->u[0].poll) {
    bit = POLL_BIT;
    close(rec->master); /* a poll handle does not own its fd */
    rec->master = -1;
  } else if (h != (uv_handle_t *)&rec->proc) {
    bit = 1u << (unsigned)((uv_pipe_t *)h - rec->pipe);
  }
  rec->open &= ~(bit | bit << 8);
  if (rec->open == 0 && rec->done) {
    rec->next_free = x->free_list;
    x->free_list = rec;
    start_one(x);
  }
}

static void close_handle(urec_t *rec, unsigned bit) {
  if (!(rec->open & bit) || (rec->open & (bit << 8))) {
    return;
  }
  rec->open |= bit << 8; /* closing */
  uv_close(handle_of(rec, bit), handle_closed);
}

static void close_all(urec_t *rec) {
  close_handle(rec, PROC_BIT);
  close_handle(rec, POLL_BIT);
  for (unsigned i = 0; i < 3; i++) {
    close_handle(rec, 1u << i);
  }
}

static void check_done(urec_t *rec) {
  if (!rec->exited || rec->eof_pending > 0 || rec->done) {
    return;
  }
  rec->done = 1;
  work_end(rec->ctx->run, &rec->s, rec->exit_code);
  close_all(rec);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  urec_t *rec = p->data;
  rec->exited = 1;
  rec->exit_code = sig != 0 ? 128 + sig : (int)status;
  check_done(rec);
}

static void send_msg(urec_t *rec);

static void on_write(uv_write_t *req, int status) {
  urec_t *rec = req->data;
  rec->writing = 0;
  if (status != 0 && status != UV_ECANCELED) {
    run_fail(rec->ctx->run, status, "uv_write");
  }
  if (rec->send_queued && status == 0) {
    rec->send_queued = 0;
    send_msg(rec);
  }
}

static void send_msg(urec_t *rec) {
  const work_t *w = rec->ctx->run->w;
  if (rec->writing) {
    rec->send_queued = 1;
    return;
  }
  work_sent(rec->ctx->run, &rec->s);
  uv_buf_t b = uv_buf_init((char *)work_msg(w), w->msg_len);
  rec->u[0].wreq.data = rec;
  int err =
      uv_write(&rec->u[0].wreq, (uv_stream_t *)&rec->pipe[0], &b, 1, on_write);
  if (err != 0) {
    run_fail(rec->ctx->run, err, "uv_write");
    close_handle(rec, 1u << 0);
    return;
  }
  rec->writing = 1;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  urec_t *rec = h->data;
  (void)hint;
  *buf = uv_buf_init(rec->ctx->rbuf, RBUF);
}

static void on_output(urec_t *rec, ssize_t nread) {
  uint16_t rows = 0, cols = 0;
  unsigned act = work_data(rec->ctx->run, &rec->s, (size_t)nread, &rows, &cols);
  if (act & ACT_SEND) {
    send_msg(rec);
  }
  if (act & ACT_CLOSE_STDIN) {
    close_handle(rec, 1u << 0);
  }
  if (act & ACT_RESIZE) {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (ioctl(rec->master, TIOCSWINSZ, &ws) != 0) {
      run_fail(rec->ctx->run, -errno, "TIOCSWINSZ");
    }
  }
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  urec_t *rec = st->data;
  (void)buf;
  if (nread > 0) {
    on_output(rec, nread);
  } else if (nread < 0) {
    uv_read_stop(st);
    rec->eof_pending--;
    check_done(rec);
  }
}

/* The console master: one read per wake-up (libuv polls level-triggered),
 * to EIO, which the kernel answers only once the output is drained. */
static void on_poll(uv_poll_t *p, int status, int events) {
  urec_t *rec = p->data;
  (void)events;
  ssize_t n = status == 0 ? read(rec->master, rec->ctx->rbuf, RBUF) : -1;
  if (n > 0) {
    on_output(rec, n);
    return;
  }
  if (n < 0 && status == 0 && (errno == EAGAIN || errno == EINTR)) {
    return;
  }
  uv_poll_stop(p);
  rec->eof_pending--;
  check_done(rec);
}

/* libuv pipe's stdout: the read end in rec->pipe[1], the write end for
 * the child in *wfd, which the caller closes once the child has it. */
static int open_stdout_pipe(urec_t *rec, uv_stdio_container_t *io, int *wfd) {
  uv_file fds[2];
  int err = uv_pipe(fds, 0, 0); /* both close-on-exec */
  if (err != 0) {
    return err;
  }
  uv_pipe_init(&rec->ctx->loop, &rec->pipe[1], 0);
  rec->open |= 1u << 1;
  err = uv_pipe_open(&rec->pipe[1], fds[0]);
  if (err != 0) {
    close(fds[0]);
    close(fds[1]);
    return err;
  }
  io->flags = UV_INHERIT_FD;
  io->data.fd = fds[1];
  *wfd = fds[1];
  return 0;
}

/* The stdio of one session: pipes libuv creates, or a console pair. The
 * descriptor the child inherits (the console's slave, libuv pipe's write
 * end) comes back in *lent, for the caller to close after the spawn. */
static int setup_stdio(urec_t *rec, uv_stdio_container_t io[3], int *lent) {
  uctx_t *x = rec->ctx;
  const work_t *w = x->run->w;
  *lent = -1;
  if (w->pty) {
    int err = bench_pty_open(&rec->master, lent, 24, 80);
    if (err != 0) {
      return err;
    }
    err = uv_poll_init(&x->loop, &rec->u[0].poll, rec->master);
    if (err != 0) {
      close(rec->master);
      return err;
    }
    rec->open |= POLL_BIT;
    for (int i = 0; i < 3; i++) {
      io[i].flags = UV_INHERIT_FD;
      io[i].data.fd = *lent;
    }
    return 0;
  }
  static const int want[3] = {UV_CREATE_PIPE | UV_READABLE_PIPE,
                              UV_CREATE_PIPE | UV_WRITABLE_PIPE,
                              UV_CREATE_PIPE | UV_WRITABLE_PIPE};
  bool use[3] = {w->use_stdin, true, w->use_stderr};
  for (int i = 0; i < 3; i++) {
    if (!use[i]) {
      io[i].flags = UV_IGNORE;
      continue;
    }
    if (i == 1 && x->run->res->ct == CT_UV_PIPE) {
      int err = open_stdout_pipe(rec, &io[1], lent);
      if (err != 0) {
        return err;
      }
      continue;
    }
    uv_pipe_init(&x->loop, &rec->pipe[i], 0);
    rec->open |= 1u << i;
    io[i].flags = (uv_stdio_flags)want[i];
    io[i].data.stream = (uv_stream_t *)&rec->pipe[i];
  }
  return 0;
}

static int spawn_rec(uctx_t *x, urec_t *rec) {
  const work_t *w = x->run->w;
  uv_stdio_container_t io[3];
  memset(io, 0, sizeof(io));
  rec->ctx = x;
  rec->master = -1;
  rec->proc.data = rec;
  if (w->pty) {
    rec->u[0].poll.data = rec;
  }
  for (int i = 0; i < 3; i++) {
    rec->pipe[i].data = rec;
  }
  int lent;
  int err = setup_stdio(rec, io, &lent);
  if (err == 0) {
    uv_process_options_t po;
    memset(&po, 0, sizeof(po));
    po.file = w->argv[0];
    po.args = (char **)w->argv;
    po.exit_cb = on_exit_cb;
    po.stdio = io;
    po.stdio_count = 3;
    po.flags = w->pty ? UV_PROCESS_DETACHED : 0;
    err = uv_spawn(&x->loop, &rec->proc, &po);
    /* uv_spawn initialized the handle, spawned or not. */
    rec->open |= PROC_BIT;
  }
  if (lent >= 0) {
    close(lent);
  }
  if (err != 0) {
    return err;
  }
  for (int i = 1; i < 3; i++) {
    if (rec->open & (1u << i)) {
      rec->eof_pending++;
      uv_read_start((uv_stream_t *)&rec->pipe[i], on_alloc, on_read);
    }
  }
  if (rec->open & POLL_BIT) {
    rec->eof_pending++;
    uv_poll_start(&rec->u[0].poll, UV_READABLE, on_poll);
  }
  return 0;
}

static void start_one(uctx_t *x) {
  run_t *r = x->run;
  if (x->stop || r->started >= r->w->n) {
    return;
  }
  urec_t *rec = x->free_list;
  if (rec != NULL) {
    x->free_list = rec->next_free;
  } else if (x->unused < r->w->c) {
    rec = rec_at(x, x->unused++);
  } else {
    return;
  }
  memset(rec, 0, x->rec_size);
  work_begin(r, &rec->s);
  int err = spawn_rec(x, rec);
  if (err != 0) {
    run_fail(r, err, "uv_spawn");
    r->started--;
    x->stop = 1;
    /* Its handles go back through their close callbacks. */
    rec->done = 1;
    rec->exited = 1;
    close_all(rec);
  }
}

static void run_idle(uctx_t *x) {
  run_t *r = x->run;
  while (!x->stop && r->started < r->w->n) {
    start_one(x);
  }
  work_idle_up(r, 0);
  for (uint64_t i = 0; i < x->unused; i++) {
    urec_t *rec = rec_at(x, i);
    if (!rec->done) {
      close_handle(rec, 1u << 0);
    }
  }
}

int drv_uv_run(run_t *r) {
  const work_t *w = r->w;
  uctx_t *x = calloc(1, sizeof(*x));
  if (x == NULL) {
    return -ENOMEM;
  }
  x->run = r;
  x->rec_size = sizeof(urec_t);
  if (w->sc == SC_ECHO || w->pty) {
    x->rec_size += sizeof(x->free_list->u[0]);
  }
  x->recs = bench_slab_alloc(w->c * x->rec_size);
  int err = x->recs == NULL ? -ENOMEM : uv_loop_init(&x->loop);
  if (err != 0) {
    run_fail(r, err, "uv_loop_init");
    bench_slab_free(x->recs, w->c * x->rec_size);
    free(x);
    return err;
  }
  if (w->sc == SC_IDLE) {
    work_idle_base(r);
    run_idle(x);
  } else {
    for (uint64_t i = 0; i < w->c; i++) {
      start_one(x);
    }
    for (uint64_t i = 0; i < x->unused && work_kick(r); i++) {
      urec_t *rec = rec_at(x, i);
      if (!rec->done && (rec->open & 1u)) {
        send_msg(rec);
      }
    }
  }
  (void)uv_run(&x->loop, UV_RUN_DEFAULT);
  err = uv_loop_close(&x->loop);
  if (err != 0) {
    run_fail(r, err, "uv_loop_close");
  }
  bench_slab_free(x->recs, w->c * x->rec_size);
  free(x);
  return 0;
}
