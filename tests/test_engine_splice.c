/* SPDX-License-Identifier: MIT */
/* Raw output (as_session_raw) and pipe bytes on a connection
 * (as_conn_write_pipe): a forwarder that frames each offer with Docker's
 * 8-byte header and splices the pipe into a unix socket, as hcsd does.
 * Every byte arrives in order, completion waits until the pipes are
 * drained, leaving raw mode mid-stream keeps the order, a console keeps
 * the copying path, and where splice is refused the connection copies.
 * The server side runs on the test's main thread (its callbacks may
 * assert); the client is a plain blocking socket on a thread of its own
 * that checks the frames and hashes each stream. */
#include "test_engine_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { MiB = 1024 * 1024, WATCHDOG_MS = 60000, PIPE_MAX = MiB };

/* The client: connects, reads frames to EOF. */
typedef struct client_s {
  pthread_t t;
  char path[96];
  int fd;
  int framed;
  int err;           /* a bad frame, or a failed read: its errno */
  uint64_t bytes[2]; /* payload per stream */
  uint64_t hash[2];  /* FNV-1a of each stream */
  uint64_t frames;   /* frames seen */
} client_t;

static int read_full(int fd, void *buf, size_t n) {
  char *p = buf;
  size_t got = 0;
  while (got < n) {
    ssize_t k = recv(fd, p + got, n - got, 0);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k < 0) {
      return -errno;
    }
    if (k == 0) {
      return got == 0 ? 0 : -EPROTO; /* EOF inside a frame */
    }
    got += (size_t)k;
  }
  return 1;
}

static void *client_main(void *arg) {
  client_t *cl = arg;
  static char buf[256 * 1024];
  for (;;) {
    size_t len = sizeof(buf);
    int stream = 1;
    if (cl->framed) {
      unsigned char h[8];
      int r = read_full(cl->fd, h, sizeof(h));
      if (r <= 0) {
        cl->err = -r;
        break;
      }
      if ((h[0] != 1 && h[0] != 2) || h[1] != 0 || h[2] != 0 || h[3] != 0) {
        cl->err = EPROTO;
        break;
      }
      stream = h[0];
      len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
      cl->frames++;
    }
    while (len > 0) {
      size_t want = len < sizeof(buf) ? len : sizeof(buf);
      ssize_t k = recv(cl->fd, buf, want, 0);
      if (k < 0 && errno == EINTR) {
        continue;
      }
      if (k <= 0) {
        cl->err = k == 0 ? (cl->framed ? EPROTO : 0) : errno;
        goto out;
      }
      cl->bytes[stream - 1] += (uint64_t)k;
      cl->hash[stream - 1] = te_fnv1a(cl->hash[stream - 1], buf, (size_t)k);
      if (cl->framed) {
        len -= (size_t)k;
      }
    }
  }
out:
  /* The server's connection ends when the client has gone. */
  close(cl->fd);
  return NULL;
}

static void client_start(client_t *cl, const char *path, int framed) {
  memset(cl, 0, sizeof(*cl));
  cl->framed = framed;
  cl->hash[0] = cl->hash[1] = TE_FNV_BASIS;
  cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(cl->fd, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  /* The listener's backlog takes it before the loop accepts. */
  cr_assert_eq(connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
               "connect: %s", strerror(errno));
  cr_assert_eq(pthread_create(&cl->t, NULL, client_main, cl), 0);
}

static void client_join(client_t *cl) { pthread_join(cl->t, NULL); }

/* The forwarder: one connection, one session. */
typedef struct fwd_s {
  as_loop_t *loop;
  as_listener_t *l;
  as_conn_t *c;
  as_session_t *s;
  as_spawn_opts_t o;
  int framed;
  int raw_err[2];      /* as_session_raw's answer per stream */
  int leave_after;     /* leave raw mode at this offer (0: never) */
  int answer_later_ms; /* answer offers from a timer */
  int drop_at_offer;   /* drop the session's reference at this offer */
  uint64_t offers;     /* raw_cb calls */
  uint64_t offered[2]; /* bytes offered */
  uint64_t copied[2];  /* bytes through data_cb */
  int busy[2];         /* an offer not answered yet */
  int eof[2], exited, done;
  int exited_at_done, eof_at_done[2];
  int raw_after_done; /* must stay 0 */
  as_result_t r;
  as_timer_t *later[2]; /* answer_later_ms */
  as_session_t *later_s[2];
  int gone_status;
  int gone;
} fwd_t;

typedef struct preq_s {
  as_conn_wreq_t req; /* first: the engine hands it back */
  fwd_t *f;
  as_session_t *s;
  int stream;
  uint8_t hdr[8];
} preq_t;

static void frame_header(uint8_t h[8], int stream, size_t len) {
  h[0] = (uint8_t)stream;
  h[1] = h[2] = h[3] = 0;
  h[4] = (uint8_t)(len >> 24);
  h[5] = (uint8_t)(len >> 16);
  h[6] = (uint8_t)(len >> 8);
  h[7] = (uint8_t)len;
}

static void answer(fwd_t *f, as_session_t *s, int stream) {
  f->busy[stream - 1] = 0;
  as_session_raw_next(s, stream);
}

static void answer_out(as_timer_t *t, void *data) {
  fwd_t *f = data;
  (void)t;
  answer(f, f->later_s[0], AS_STDOUT);
}

static void answer_err(as_timer_t *t, void *data) {
  fwd_t *f = data;
  (void)t;
  answer(f, f->later_s[1], AS_STDERR);
}

static void preq_done(as_conn_wreq_t *req, int status) {
  preq_t *p = (preq_t *)req;
  fwd_t *f = p->f;
  cr_assert_eq(status, 0, "pipe write: %s", strerror(-status));
  if (f->answer_later_ms > 0) {
    int i = p->stream - 1;
    f->later_s[i] = p->s;
    as_timer_arm(f->later[i], (uint64_t)f->answer_later_ms,
                 i == 0 ? answer_out : answer_err, f);
  } else {
    answer(f, p->s, p->stream);
  }
  free(p);
}

static void fwd_raw(as_session_t *s, int stream, int fd, size_t avail,
                    void *data) {
  fwd_t *f = data;
  cr_assert(stream == AS_STDOUT || stream == AS_STDERR);
  cr_assert_gt(avail, 0);
  cr_assert_leq(avail, PIPE_MAX, "an offer beyond a pipe: %zu", avail);
  cr_assert(!f->busy[stream - 1], "an offer while another is out");
  if (f->done) {
    f->raw_after_done = 1;
  }
  f->offers++;
  f->offered[stream - 1] += avail;
  preq_t *p = calloc(1, sizeof(*p));
  cr_assert_not_null(p);
  p->f = f;
  p->s = s;
  p->stream = stream;
  frame_header(p->hdr, stream, avail);
  as_iov_t v = {p->hdr, 8};
  f->busy[stream - 1] = 1;
  cr_assert_eq(as_conn_write_pipe(f->c, &p->req, &v, f->framed ? 1 : 0, fd,
                                  avail, preq_done),
               0);
  if (f->leave_after != 0 && f->offers == (uint64_t)f->leave_after) {
    cr_assert_eq(as_session_raw(s, AS_STDOUT, NULL, NULL), 0);
    cr_assert_eq(as_session_raw(s, AS_STDERR, NULL, NULL), 0);
  }
  if (f->drop_at_offer != 0 && f->offers == (uint64_t)f->drop_at_offer) {
    as_session_unref(f->s);
    f->s = NULL;
  }
}

typedef struct creq_s {
  as_conn_wreq_t req;
  uint8_t hdr[8];
  char data[];
} creq_t;

static void creq_done(as_conn_wreq_t *req, int status) {
  cr_assert_eq(status, 0);
  free(req);
}

static void fwd_data(as_session_t *s, int stream, char *buf, size_t len,
                     void *data) {
  fwd_t *f = data;
  (void)s;
  if (len == 0) {
    cr_assert(!f->eof[stream - 1], "second EOF");
    f->eof[stream - 1] = 1;
    return;
  }
  f->copied[stream - 1] += len;
  creq_t *w = malloc(sizeof(*w) + len);
  cr_assert_not_null(w);
  memcpy(w->data, buf, len);
  frame_header(w->hdr, stream, len);
  as_iov_t v[2] = {{w->hdr, 8}, {w->data, len}};
  int n = f->framed ? 2 : 1;
  cr_assert_eq(
      as_conn_write(f->c, &w->req, f->framed ? v : v + 1, n, creq_done), 0);
}

static void fwd_exit(as_session_t *s, const as_result_t *r, void *data) {
  fwd_t *f = data;
  (void)s;
  (void)r;
  f->exited = 1;
}

static void fwd_done(as_session_t *s, const as_result_t *r, void *data) {
  fwd_t *f = data;
  f->done = 1;
  f->r = *r;
  f->exited_at_done = f->exited;
  f->eof_at_done[0] = f->eof[0];
  f->eof_at_done[1] = f->eof[1];
  cr_assert_eq(s, f->s);
  as_session_unref(s);
  f->s = NULL;
  /* Flush, then EOF for the client. */
  as_conn_shutdown(f->c);
}

static void conn_data(as_conn_t *c, char *buf, size_t len, void *data) {
  (void)c;
  (void)buf;
  (void)len;
  (void)data;
}

static void conn_gone(as_conn_t *c, int status, void *data) {
  fwd_t *f = data;
  f->gone = 1;
  f->gone_status = status;
  as_conn_close(c);
  f->c = NULL;
  if (f->s != NULL) {
    as_session_unref(f->s);
    f->s = NULL;
  }
}

static void fwd_accept(as_listener_t *l, as_conn_t *c, void *data) {
  fwd_t *f = data;
  static const as_conn_cbs_t cbs = {conn_data, conn_gone};
  f->c = c;
  as_conn_start(c, &cbs, f);
  as_listener_close(l);
  f->l = NULL;
  if (f->o.file == NULL) {
    return; /* a case that drives the connection alone */
  }
  f->o.cbs.data_cb = fwd_data;
  f->o.cbs.exit_cb = fwd_exit;
  f->o.cbs.done_cb = fwd_done;
  f->o.data = f;
  cr_assert_eq(as_session_spawn(f->loop, &f->o, &f->s), 0);
  f->raw_err[0] = as_session_raw(f->s, AS_STDOUT, fwd_raw, f);
  f->raw_err[1] = as_session_raw(f->s, AS_STDERR, fwd_raw, f);
}

typedef struct env_s {
  int fds0;
  char dir[32];
  char path[96];
  te_watchdog_t wd;
} env_t;

static void env_open(env_t *e, fwd_t *f, const char *what, as_accept_cb cb,
                     void *data) {
  memset(e, 0, sizeof(*e));
  e->fds0 = te_fd_baseline();
  snprintf(e->dir, sizeof(e->dir), "/tmp/hcs-splice-XXXXXX");
  cr_assert_not_null(mkdtemp(e->dir), "mkdtemp: %s", strerror(errno));
  snprintf(e->path, sizeof(e->path), "%s/s.sock", e->dir);
  cr_assert_eq(as_loop_new(&f->loop, NULL), 0);
  cr_assert_eq(as_timer_new(f->loop, &f->later[0]), 0);
  cr_assert_eq(as_timer_new(f->loop, &f->later[1]), 0);
  cr_assert_eq(as_listen_unix(f->loop, e->path, 0600, -1, 0, cb, data, &f->l),
               0);
  te_watchdog_start(f->loop, &e->wd, WATCHDOG_MS, what);
}

/* Runs the loop to its end, frees it, then joins the client (whose
 * socket is one of the process's fds until then) and checks that nothing
 * is left. */
static void env_run_close(env_t *e, fwd_t *f, client_t *cl) {
  as_loop_run(f->loop, 0);
  te_watchdog_stop(&e->wd);
  as_timer_free(f->later[0]);
  as_timer_free(f->later[1]);
  as_loop_free(f->loop);
  client_join(cl);
  cr_assert_eq(rmdir(e->dir), 0, "rmdir %s: %s", e->dir, strerror(errno));
  cr_assert_eq(te_fd_count(), e->fds0, "fds leaked");
  te_assert_no_child();
}

static char *gen_argv[5];
static char gen_args[3][32];

/* gen OUT ERR SEED, with every output stream piped. */
static void gen_opts(fwd_t *f, uint64_t out, uint64_t err, uint64_t seed) {
  snprintf(gen_args[0], sizeof(gen_args[0]), "%llu", (unsigned long long)out);
  snprintf(gen_args[1], sizeof(gen_args[1]), "%llu", (unsigned long long)err);
  snprintf(gen_args[2], sizeof(gen_args[2]), "%llu", (unsigned long long)seed);
  gen_argv[0] = "gen";
  gen_argv[1] = gen_args[0];
  gen_argv[2] = gen_args[1];
  gen_argv[3] = gen_args[2];
  gen_argv[4] = NULL;
  f->o = te_opts(HELPER("gen"), gen_argv);
  f->o.stdio[AS_STDOUT] = AS_STDIO_PIPE;
  f->o.stdio[AS_STDERR] = err > 0 ? AS_STDIO_PIPE : AS_STDIO_NULL;
}

/* gen OUT ERR SEED through the forwarder f, to a client. */
static void run_gen(fwd_t *f, client_t *cl, uint64_t out, uint64_t err,
                    uint64_t seed, const char *what) {
  env_t e;
  env_open(&e, f, what, fwd_accept, f);
  gen_opts(f, out, err, seed);
  client_start(cl, e.path, f->framed);
  env_run_close(&e, f, cl);
}

/* Runs gen through the forwarder and checks what the client got. */
static void check_streams(const client_t *cl, uint64_t out, uint64_t err,
                          uint64_t seed) {
  cr_assert_eq(cl->err, 0, "client: %s", strerror(cl->err));
  cr_assert_eq(cl->bytes[0], out, "stdout: %llu of %llu bytes",
               (unsigned long long)cl->bytes[0], (unsigned long long)out);
  cr_assert_eq(cl->bytes[1], err, "stderr: %llu of %llu bytes",
               (unsigned long long)cl->bytes[1], (unsigned long long)err);
  cr_assert_eq(cl->hash[0], te_pattern_hash(seed, 0, out), "stdout differs");
  cr_assert_eq(cl->hash[1], te_pattern_hash(seed, 1, err), "stderr differs");
}

static void check_done(const fwd_t *f) {
  cr_assert(f->done, "the session did not complete");
  cr_assert_eq(f->r.exit_code, 0, "exit %d", f->r.exit_code);
  cr_assert_eq(f->r.output_cut, 0);
  cr_assert(f->exited_at_done, "done before exit");
  cr_assert(f->eof_at_done[0] && f->eof_at_done[1], "done before EOF");
  cr_assert(!f->raw_after_done, "an offer after done");
  cr_assert(!f->busy[0] && !f->busy[1], "an offer left unanswered");
}

Test(engine_splice, every_byte_in_order_spliced) {
  fwd_t f = {.framed = 1};
  const uint64_t out = 48 * MiB, err = 5 * MiB, seed = 7;
  client_t cl;
  run_gen(&f, &cl, out, err, seed, "splice 53 MiB");
  cr_assert_eq(f.raw_err[0], 0, "raw stdout: %s", strerror(-f.raw_err[0]));
  cr_assert_eq(f.raw_err[1], 0, "raw stderr: %s", strerror(-f.raw_err[1]));
  check_done(&f);
  check_streams(&cl, out, err, seed);
  /* Nothing was copied: every byte was offered and spliced. */
  cr_assert_eq(f.copied[0] + f.copied[1], 0, "%llu bytes copied",
               (unsigned long long)(f.copied[0] + f.copied[1]));
  cr_assert_eq(f.offered[0], out);
  cr_assert_eq(f.offered[1], err);
  cr_assert_eq(cl.frames, f.offers);
}

Test(engine_splice, exit_waits_for_a_slow_consumer) {
  fwd_t f = {.framed = 1, .answer_later_ms = 20};
  /* More than the pipe holds: gen exits only after offers were taken,
   * and each answer comes 20 ms late, so the last bytes wait in the pipe
   * after the exit. */
  const uint64_t out = 3 * MiB, err = 64 * 1024, seed = 11;
  client_t cl;
  run_gen(&f, &cl, out, err, seed, "slow consumer");
  check_done(&f);
  check_streams(&cl, out, err, seed);
  cr_assert_eq(f.copied[0] + f.copied[1], 0);
}

Test(engine_splice, leaving_raw_mode_keeps_the_order) {
  fwd_t f = {.framed = 1, .leave_after = 3};
  const uint64_t out = 8 * MiB, err = 2 * MiB, seed = 23;
  client_t cl;
  run_gen(&f, &cl, out, err, seed, "leave raw mode");
  check_done(&f);
  check_streams(&cl, out, err, seed);
  cr_assert_eq(f.offers, 3);
  cr_assert_gt(f.copied[0] + f.copied[1], 0, "nothing came through data_cb");
  cr_assert_eq(f.offered[0] + f.copied[0], out);
  cr_assert_eq(f.offered[1] + f.copied[1], err);
}

Test(engine_splice, unframed_stdout_only) {
  fwd_t f = {.framed = 0};
  const uint64_t out = 16 * MiB, seed = 5;
  client_t cl;
  run_gen(&f, &cl, out, 0, seed, "unframed");
  cr_assert_eq(f.raw_err[0], 0);
  cr_assert_eq(f.raw_err[1], -EBADF, "raw on /dev/null: %d", f.raw_err[1]);
  cr_assert(f.done && f.r.exit_code == 0);
  check_streams(&cl, out, 0, seed);
  cr_assert_eq(f.copied[0], 0);
}

Test(engine_splice, detached_raw_session_is_drained) {
  env_t e;
  fwd_t f = {.framed = 1, .drop_at_offer = 1};
  env_open(&e, &f, "detached", fwd_accept, &f);
  gen_opts(&f, 4 * MiB, MiB, 3);
  client_t cl;
  client_start(&cl, e.path, 1);
  /* The forwarder drops its reference at the first offer: the engine
   * then reads and discards the rest, reaps the child and calls nobody;
   * the connection stays open, so the loop ends when the client goes. */
  as_loop_run(f.loop, 1);
  while (f.c == NULL || f.offers == 0 || f.busy[0] || f.busy[1]) {
    as_loop_run(f.loop, 1);
  }
  cr_assert_eq(f.offers, 1);
  while (as_loop_sessions(f.loop) > 0) {
    as_loop_run(f.loop, 1);
  }
  cr_assert_eq(f.offers, 1, "an offer after the session was dropped");
  cr_assert(!f.done, "a callback of a detached session");
  as_conn_shutdown(f.c);
  env_run_close(&e, &f, &cl);
  cr_assert_eq(cl.err, 0);
  cr_assert_eq(cl.frames, 1);
}

Test(engine_splice, console_and_bad_streams_are_refused) {
  int fds0 = te_fd_baseline();
  as_loop_t *loop;
  cr_assert_eq(as_loop_new(&loop, NULL), 0);
  char *argv[] = {"gen", "100000", "0", "9", NULL};
  as_spawn_opts_t o = te_opts(HELPER("gen"), argv);
  o.flags = AS_PTY;
  te_run_t run;
  te_run_init(&run);
  cr_assert_eq(te_spawn(&loop, &o, &run), 0);
  /* A console is no pipe: the copying path stays, and the bytes come. */
  cr_assert_eq(as_session_raw(run.s, AS_STDOUT, fwd_raw, NULL), -ENOTTY);
  cr_assert_eq(as_session_raw(run.s, AS_STDIN, fwd_raw, NULL), -EINVAL);
  cr_assert_eq(as_session_raw(run.s, 3, fwd_raw, NULL), -EINVAL);
  te_watchdog_t wd;
  te_watchdog_start(loop, &wd, WATCHDOG_MS, "console");
  as_loop_run(loop, 0);
  te_watchdog_stop(&wd);
  cr_assert(run.done);
  cr_assert_eq(run.done_r.exit_code, 0);
  /* The line discipline turns \n into \r\n: at least what gen wrote. */
  cr_assert_geq(run.bytes[0], 100000);
  as_loop_free(loop);
  cr_assert_eq(te_fd_count(), fds0);
  te_assert_no_child();
}

/* as_conn_write_pipe alone: bytes of a pipe, or of a socket (splice needs
 * a pipe on one side: socket to socket is EINVAL, and the connection
 * copies them through its buffer), after a header. */
typedef struct pipe_case_s {
  fwd_t f;
  int src[2];
  size_t len, promised;
  uint8_t hdr[8];
  as_conn_wreq_t req;
  int status;
  int written;
} pipe_case_t;

static void case_written(as_conn_wreq_t *req, int status) {
  pipe_case_t *pc = (pipe_case_t *)((char *)req - offsetof(pipe_case_t, req));
  pc->written = 1;
  pc->status = status;
  close(pc->src[0]); /* lent until now */
  if (status == 0) {
    as_conn_shutdown(pc->f.c);
  }
}

static void case_accept(as_listener_t *l, as_conn_t *c, void *data) {
  pipe_case_t *pc = data;
  fwd_accept(l, c, &pc->f);
  frame_header(pc->hdr, 1, pc->promised);
  as_iov_t v = {pc->hdr, 8};
  cr_assert_eq(as_conn_write_pipe(c, &pc->req, &v, 1, pc->src[0], pc->promised,
                                  case_written),
               0);
}

static void run_pipe_case(pipe_case_t *pc, int sock, size_t len,
                          size_t promised, client_t *cl) {
  env_t e;
  memset(pc, 0, sizeof(*pc));
  pc->f.framed = 1;
  pc->len = len;
  pc->promised = promised;
  env_open(&e, &pc->f, "pipe case", case_accept, pc);
  if (sock) {
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pc->src),
                 0);
  } else {
    cr_assert_eq(pipe2(pc->src, O_CLOEXEC), 0);
  }
  unsigned char *b = malloc(len);
  cr_assert_not_null(b);
  te_pattern_t p = te_pattern(31, 0);
  te_pattern_fill(&p, b, len);
  /* Both hold len (< 64 KiB for a pipe, a socket's buffer is larger). */
  cr_assert_eq(write(pc->src[1], b, len), (ssize_t)len);
  free(b);
  close(pc->src[1]);
  client_start(cl, e.path, 1);
  env_run_close(&e, &pc->f, cl);
}

Test(engine_splice, write_pipe_copies_where_splice_is_refused) {
  pipe_case_t pc;
  client_t cl;
  const size_t len = 60000;
  run_pipe_case(&pc, 1, len, len, &cl);
  cr_assert(pc.written);
  cr_assert_eq(pc.status, 0, "write: %s", strerror(-pc.status));
  check_streams(&cl, len, 0, 31);
  cr_assert_eq(cl.frames, 1);
}

Test(engine_splice, write_pipe_spliced) {
  pipe_case_t pc;
  client_t cl;
  const size_t len = 60000;
  run_pipe_case(&pc, 0, len, len, &cl);
  cr_assert_eq(pc.status, 0, "write: %s", strerror(-pc.status));
  check_streams(&cl, len, 0, 31);
}

Test(engine_splice, write_pipe_short_pipe_fails_the_connection) {
  pipe_case_t pc;
  client_t cl;
  run_pipe_case(&pc, 0, 20000, 30000, &cl);
  cr_assert(pc.written);
  cr_assert_eq(pc.status, -EIO, "status %d", pc.status);
  cr_assert(pc.f.gone);
  cr_assert_eq(pc.f.gone_status, -EIO);
  /* The client saw the header and 20000 bytes, then the end. */
  cr_assert_eq(cl.err, EPROTO);
  cr_assert_eq(cl.bytes[0], 20000);
}
