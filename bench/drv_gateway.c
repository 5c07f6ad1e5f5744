/* SPDX-License-Identifier: MIT */
/* The gateway contenders: execs into the one container of gw_env.c.
 * - hcsd: the Docker API flow the docker CLI makes for `docker exec`,
 *   from a raw non-blocking HTTP client on one epoll set with r->w->c
 *   sessions in flight. A session is POST /containers/{id}/exec on its
 *   slot's keep-alive connection; POST /exec/{eid}/start with Upgrade on
 *   a fresh connection, whose write side is shut once the request is out
 *   (as the CLI does), the 101 head, then the 8-byte framed stream read
 *   to EOF; GET /exec/{eid}/json on the keep-alive connection. It counts
 *   as done when that answer says the exec is not running and gives its
 *   exit code; its latency runs from the create request to that answer.
 * - dockerd: the same client, code and checks against the dockerd of
 *   gw_dockerd.c (its socket, its container, API /v1.41).
 * - hcs (direct): the same exec through the hcs calls in this process,
 *   on a service opened on hcsd's hcs state directory: the same running
 *   container, r->w->c threads, each hcs_CreateProcessInComputeSystem
 *   with stdout and stderr piped, both read to EOF, then
 *   hcs_WaitForProcessResult.
 * The programs are busybox applets of the image: `echo x` (the gateway
 * cells: 2 bytes each) and `dd if=/dev/zero bs=64K count=S/64K
 * status=none` (gateway-stream; busybox's head writes 4 KiB at a time and
 * would be the bottleneck itself). Only payload bytes count, never the
 * frame headers. */
#include "gateway.h"

#include <hcs.h>

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
  RBUF = 256 * 1024, /* one read per wake-up, at most this much */
  IN_MAX = 8192,     /* a control answer, or the 101 head */
  OUT_MAX = 1024,    /* a request */
  MAX_EVENTS = 256,
  STALL_MS = 60000, /* no event for this long: hcsd is stuck */
};

typedef enum gstate {
  ST_IDLE,
  ST_CREATE,  /* exec create sent on the keep-alive connection */
  ST_START,   /* start sent on the hijack connection, 101 awaited */
  ST_STREAM,  /* the framed stream, to EOF */
  ST_INSPECT, /* exec json sent on the keep-alive connection */
} gstate_t;

struct gslot_s;
typedef struct gconn_s {
  int fd;
  bool hijack;
  bool used; /* a keep-alive connection that has answered before */
  struct gslot_s *slot;
  char out[OUT_MAX];
  size_t out_len, out_off;
} gconn_t;

typedef struct gslot_s {
  sess_t s;
  gstate_t st;
  gconn_t ctl, hj;
  char in[IN_MAX];
  size_t in_len;
  char eid[80];
  uint8_t fh[8]; /* the frame header being read */
  unsigned fh_got;
  uint32_t left; /* payload bytes of the current frame still to come */
} gslot_t;

typedef struct gw_s {
  run_t *r;
  gw_target_t t; /* hcsd's or dockerd's socket, container and API */
  int ep;
  uint64_t active;
  bool stop;
  char create_body[256];
  char why[160]; /* a failure's note, being made */
  char *rbuf;
} gw_t;

static void fail(gw_t *x, int err, const char *what) {
  run_t *r = x->r;
  if (r->res->err == 0) {
    r->res->err = err;
    snprintf(r->res->note, sizeof(r->res->note), "%s", what);
  }
  x->stop = true;
}

static void conn_close(gw_t *x, gconn_t *c) {
  if (c->fd >= 0) {
    (void)epoll_ctl(x->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
  }
  c->used = false;
  c->out_len = c->out_off = 0;
}

static int conn_arm(gw_t *x, gconn_t *c, int op) {
  struct epoll_event ev = {
      .events = c->out_off < c->out_len ? EPOLLOUT : EPOLLIN, .data.ptr = c};
  return epoll_ctl(x->ep, op, c->fd, &ev) == 0 ? 0 : -errno;
}

/* Writes what is queued; once it is all out, waits for the answer (and a
 * hijack connection shuts its write side: no stdin follows). */
static int conn_flush(gw_t *x, gconn_t *c) {
  while (c->out_off < c->out_len) {
    ssize_t k = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k < 0 && errno == EAGAIN) {
      return conn_arm(x, c, EPOLL_CTL_MOD);
    }
    if (k < 0) {
      return -errno;
    }
    c->out_off += (size_t)k;
  }
  if (c->hijack && shutdown(c->fd, SHUT_WR) != 0) {
    return -errno;
  }
  return conn_arm(x, c, EPOLL_CTL_MOD);
}

/* Queues a request on c, connecting it first when it is not open. */
static int conn_send(gw_t *x, gconn_t *c, const char *method, const char *path,
                     const char *extra, const char *body) {
  if (c->fd < 0) {
    int fd = httpc_connect(x->t.sock, true);
    if (fd < 0) {
      return fd;
    }
    c->fd = fd;
    c->used = false;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(x->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
      int err = -errno;
      conn_close(x, c);
      return err;
    }
  }
  size_t blen = body != NULL ? strlen(body) : 0;
  int n = snprintf(c->out, sizeof(c->out),
                   "%s %s HTTP/1.1\r\nHost: api.moby.localhost\r\n"
                   "User-Agent: hcs-bench\r\n%sContent-Length: %zu\r\n\r\n%s",
                   method, path, extra, blen, body != NULL ? body : "");
  if (n < 0 || (size_t)n >= sizeof(c->out)) {
    return -EOVERFLOW;
  }
  c->out_len = (size_t)n;
  c->out_off = 0;
  return conn_flush(x, c);
}

static int send_create(gw_t *x, gslot_t *sl) {
  char path[160];
  snprintf(path, sizeof(path), "%s/containers/%s/exec", x->t.api, x->t.ctr);
  sl->st = ST_CREATE;
  return conn_send(x, &sl->ctl, "POST", path,
                   "Content-Type: application/json\r\n", x->create_body);
}

static int send_start(gw_t *x, gslot_t *sl) {
  char path[160];
  snprintf(path, sizeof(path), "%s/exec/%s/start", x->t.api, sl->eid);
  sl->st = ST_START;
  sl->in_len = 0;
  sl->fh_got = 0;
  sl->left = 0;
  return conn_send(x, &sl->hj, "POST", path,
                   "Connection: Upgrade\r\nUpgrade: tcp\r\n"
                   "Content-Type: application/json\r\n",
                   "{\"Detach\":false,\"Tty\":false}");
}

static int send_inspect(gw_t *x, gslot_t *sl) {
  char path[160];
  snprintf(path, sizeof(path), "%s/exec/%s/json", x->t.api, sl->eid);
  sl->st = ST_INSPECT;
  sl->in_len = 0;
  return conn_send(x, &sl->ctl, "GET", path, "", NULL);
}

static void slot_begin(gw_t *x, gslot_t *sl) {
  run_t *r = x->r;
  if (x->stop || gw_env_interrupted() != 0 || r->started >= r->w->n) {
    sl->st = ST_IDLE;
    return;
  }
  work_begin(r, &sl->s);
  sl->in_len = 0;
  x->active++;
  int err = send_create(x, sl);
  if (err != 0) {
    snprintf(x->why, sizeof(x->why), "exec create: %s", strerror(-err));
    fail(x, err, x->why);
    x->active--;
    sl->st = ST_IDLE;
  }
}

/* The session ends: booked, and the slot starts the next one. */
static void slot_end(gw_t *x, gslot_t *sl, int exit_code) {
  work_end(x->r, &sl->s, exit_code);
  x->active--;
  sl->st = ST_IDLE;
  slot_begin(x, sl);
}

/* A session that cannot go on: its connections are closed and it counts
 * as failed; no more sessions start. */
static void slot_abort(gw_t *x, gslot_t *sl, int err, const char *what) {
  fail(x, err, what);
  conn_close(x, &sl->hj);
  conn_close(x, &sl->ctl);
  work_end(x->r, &sl->s, -1);
  x->active--;
  sl->st = ST_IDLE;
}

/* The payload bytes in the framed stream (docker-api.md section 6). */
static int deframe(gw_t *x, gslot_t *sl, const uint8_t *p, size_t n) {
  uint64_t payload = 0;
  while (n > 0) {
    if (sl->left == 0) {
      size_t k = 8 - sl->fh_got < n ? 8 - sl->fh_got : n;
      memcpy(sl->fh + sl->fh_got, p, k);
      sl->fh_got += (unsigned)k;
      p += k;
      n -= k;
      if (sl->fh_got < 8) {
        break;
      }
      if (sl->fh[0] != 1 && sl->fh[0] != 2) {
        return -EPROTO;
      }
      sl->fh_got = 0;
      sl->left = (uint32_t)sl->fh[4] << 24 | (uint32_t)sl->fh[5] << 16 |
                 (uint32_t)sl->fh[6] << 8 | sl->fh[7];
      continue;
    }
    size_t k = sl->left < n ? sl->left : n;
    payload += k;
    sl->left -= (uint32_t)k;
    p += k;
    n -= k;
  }
  if (payload > 0) {
    uint16_t rows, cols;
    (void)work_data(x->r, &sl->s, (size_t)payload, &rows, &cols);
  }
  return 0;
}

/* A complete control answer in sl->in; hl is its head's length. */
static void on_answer(gw_t *x, gslot_t *sl, const httpc_head_t *h, int hl) {
  json_t *o = json_loadb(sl->in + hl, (size_t)h->content_length, 0, NULL);
  if (h->close) {
    conn_close(x, &sl->ctl);
  } else {
    sl->ctl.used = true;
  }
  if (sl->st == ST_CREATE) {
    const char *id = json_string_value(json_object_get(o, "Id"));
    if (h->status != 201 || id == NULL || strlen(id) >= sizeof(sl->eid)) {
      snprintf(x->why, sizeof(x->why), "exec create: %d %.*s", h->status,
               (int)h->content_length, sl->in + hl);
      json_decref(o);
      slot_abort(x, sl, -EPROTO, x->why);
      return;
    }
    snprintf(sl->eid, sizeof(sl->eid), "%s", id);
    json_decref(o);
    int err = send_start(x, sl);
    if (err != 0) {
      slot_abort(x, sl, err, "exec start: cannot send");
    }
    return;
  }
  json_t *code = json_object_get(o, "ExitCode");
  bool running = json_is_true(json_object_get(o, "Running"));
  if (h->status != 200 || !json_is_integer(code) || running) {
    snprintf(x->why, sizeof(x->why),
             "exec json after the stream's EOF: %d %.*s", h->status,
             (int)(h->content_length < 100 ? h->content_length : 100),
             sl->in + hl);
    json_decref(o);
    slot_abort(x, sl, -EPROTO, x->why);
    return;
  }
  int exit_code = (int)json_integer_value(code);
  json_decref(o);
  slot_end(x, sl, exit_code);
}

static void on_ctl_readable(gw_t *x, gslot_t *sl) {
  ssize_t k =
      read(sl->ctl.fd, sl->in + sl->in_len, sizeof(sl->in) - sl->in_len);
  if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
    return;
  }
  if (k <= 0) {
    /* hcsd may close an idle keep-alive connection: a request that found
     * it closed before any answer goes again on a new one. */
    bool retry = k == 0 && sl->in_len == 0 && sl->ctl.used;
    conn_close(x, &sl->ctl);
    int err = !retry                ? (k == 0 ? -EPIPE : -errno)
              : sl->st == ST_CREATE ? send_create(x, sl)
                                    : send_inspect(x, sl);
    if (err != 0) {
      slot_abort(x, sl, err, "the keep-alive connection closed mid-answer");
    }
    return;
  }
  sl->in_len += (size_t)k;
  httpc_head_t h;
  int hl = httpc_parse_head(sl->in, sl->in_len, &h);
  if (hl < 0 ||
      (hl > 0 && (h.chunked || h.content_length < 0 ||
                  (size_t)hl + (size_t)h.content_length > sizeof(sl->in)))) {
    slot_abort(x, sl, -EPROTO, "an answer without a usable Content-Length");
    return;
  }
  if (hl > 0 && sl->in_len >= (size_t)hl + (size_t)h.content_length) {
    on_answer(x, sl, &h, hl);
  }
}

/* The 101 head, then the stream to EOF. */
static void on_hijack_readable(gw_t *x, gslot_t *sl) {
  ssize_t k = read(sl->hj.fd, x->rbuf, RBUF);
  if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
    return;
  }
  if (k < 0) {
    slot_abort(x, sl, -errno, "reading the exec stream");
    return;
  }
  if (k == 0) {
    conn_close(x, &sl->hj);
    if (sl->st != ST_STREAM || sl->fh_got != 0 || sl->left != 0) {
      slot_abort(x, sl, -EPROTO,
                 sl->st != ST_STREAM ? "exec start: closed before the 101"
                                     : "the exec stream ended mid-frame");
      return;
    }
    int err = send_inspect(x, sl);
    if (err != 0) {
      slot_abort(x, sl, err, "exec json: cannot send");
    }
    return;
  }
  const char *p = x->rbuf;
  size_t n = (size_t)k;
  if (sl->st == ST_START) {
    size_t room = sizeof(sl->in) - sl->in_len;
    size_t take = n < room ? n : room;
    memcpy(sl->in + sl->in_len, p, take);
    sl->in_len += take;
    httpc_head_t h;
    int hl = httpc_parse_head(sl->in, sl->in_len, &h);
    if (hl == 0) {
      return;
    }
    if (hl < 0 || h.status != 101) {
      snprintf(x->why, sizeof(x->why), "exec start: not 101: %.80s", sl->in);
      slot_abort(x, sl, -EPROTO, x->why);
      return;
    }
    /* What came after the head in this read is stream. */
    size_t before = sl->in_len - take;
    p += (size_t)hl - before;
    n -= (size_t)hl - before;
    sl->st = ST_STREAM;
  }
  if (deframe(x, sl, (const uint8_t *)p, n) != 0) {
    slot_abort(x, sl, -EPROTO, "the exec stream: a frame not stdout/stderr");
  }
}

static void on_event(gw_t *x, gconn_t *c, uint32_t events) {
  gslot_t *sl = c->slot;
  if (c->out_off < c->out_len) {
    int err = conn_flush(x, c);
    if (err != 0) {
      slot_abort(x, sl, err, "writing a request");
    }
    return;
  }
  (void)events;
  if (c->hijack) {
    on_hijack_readable(x, sl);
  } else {
    on_ctl_readable(x, sl);
  }
}

static int run_loop(gw_t *x, gslot_t *slots, uint64_t c) {
  for (uint64_t i = 0; i < c; i++) {
    slot_begin(x, &slots[i]);
  }
  struct epoll_event evs[MAX_EVENTS];
  long idle_ms = 0;
  while (x->active > 0) {
    int n = epoll_wait(x->ep, evs, MAX_EVENTS, 1000);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -errno;
    }
    idle_ms = n == 0 ? idle_ms + 1000 : 0;
    if (idle_ms >= STALL_MS) {
      return -ETIMEDOUT;
    }
    for (int i = 0; i < n; i++) {
      gconn_t *cn = evs[i].data.ptr;
      if (cn->fd >= 0) {
        on_event(x, cn, evs[i].events);
      }
    }
  }
  return 0;
}

static int drv_api(run_t *r, gw_env_t *g, contender_t ct) {
  const work_t *w = r->w;
  gw_t x = {.r = r, .t = gw_env_target(g, ct)};
  if (w->sc == SC_GWSTREAM) {
    snprintf(x.create_body, sizeof(x.create_body),
             "{\"AttachStdout\":true,\"AttachStderr\":true,"
             "\"Cmd\":[\"dd\",\"if=/dev/zero\",\"bs=%u\",\"count=%llu\","
             "\"status=none\"]}",
             GW_BLOCK, (unsigned long long)(w->bytes / GW_BLOCK));
  } else {
    snprintf(x.create_body, sizeof(x.create_body),
             "{\"AttachStdout\":true,\"AttachStderr\":true,"
             "\"Cmd\":[\"echo\",\"x\"]}");
  }
  x.ep = epoll_create1(EPOLL_CLOEXEC);
  x.rbuf = malloc(RBUF);
  gslot_t *slots = calloc(w->c, sizeof(*slots));
  if (x.ep < 0 || x.rbuf == NULL || slots == NULL) {
    run_fail(r, x.ep < 0 ? -errno : -ENOMEM, "setting up the client");
  }
  for (uint64_t i = 0; slots != NULL && i < w->c; i++) {
    slots[i].ctl = (gconn_t){.fd = -1, .slot = &slots[i]};
    slots[i].hj = (gconn_t){.fd = -1, .hijack = true, .slot = &slots[i]};
  }
  if (r->res->err == 0) {
    double cpu0 = gw_env_cpu(x.t.pid);
    int err = run_loop(&x, slots, w->c);
    if (err != 0) {
      run_fail(r, err, "the client's epoll loop");
    }
    r->cpu_other += gw_env_cpu(x.t.pid) - cpu0;
  }
  for (uint64_t i = 0; slots != NULL && i < w->c; i++) {
    conn_close(&x, &slots[i].ctl);
    conn_close(&x, &slots[i].hj);
  }
  free(slots);
  free(x.rbuf);
  if (x.ep >= 0) {
    close(x.ep);
  }
  return r->res->err;
}

/* The direct contender: threads making one exec at a time. */
typedef struct dctx_s {
  run_t *r;
  gw_env_t *g;
  struct hcs_s *hcs; /* g->hcs, or g->hcs1 for CT_HCS1 */
  const char *args[6];
  char bs_arg[24], count_arg[32];
  pthread_mutex_t mu;
  bool stop;
} dctx_t;

/* Reads both pipes to EOF; the payload bytes, or a negative errno. */
static int64_t drain2(int out, int err) {
  struct pollfd p[2] = {{.fd = out, .events = POLLIN},
                        {.fd = err, .events = POLLIN}};
  char buf[65536];
  int64_t total = 0;
  int open = 2;
  while (open > 0) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -errno;
    }
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || p[i].revents == 0) {
        continue;
      }
      ssize_t k = read(p[i].fd, buf, sizeof(buf));
      if (k < 0 && errno == EINTR) {
        continue;
      }
      if (k <= 0) {
        p[i].fd = -1;
        open--;
        continue;
      }
      total += k;
    }
  }
  return total;
}

static void direct_one(dctx_t *d, sess_t *s) {
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = d->args;
  uint32_t pid;
  int out = -1, errfd = -1;
  hcs_error_t *herr = NULL;
  hcs_process_result_t res;
  memset(&res, 0, sizeof(res));
  const char *what = "create";
  int64_t got = -EIO;
  if (hcs_CreateProcessInComputeSystem(d->hcs, d->g->ctr, false, true, true,
                                       &pp, &pid, NULL, &out, &errfd,
                                       &herr) == HCS_OK) {
    got = drain2(out, errfd);
    close(out);
    close(errfd);
    what = "wait";
    if (hcs_WaitForProcessResult(d->hcs, d->g->ctr, pid, HCS_TIMEOUT_INFINITE,
                                 &res, &herr) == HCS_OK) {
      herr = NULL;
      what = NULL;
    }
  }
  pthread_mutex_lock(&d->mu);
  if (what != NULL || got < 0) {
    int en = herr != NULL ? hcs_error_errno(herr) : 0;
    if (d->r->res->err == 0) {
      d->r->res->err = got < 0 ? (int)got : -(en != 0 ? en : EIO);
      snprintf(d->r->res->note, sizeof(d->r->res->note), "%s: %s",
               what != NULL ? what : "reading the pipes",
               herr != NULL ? hcs_error_message(herr) : strerror((int)-got));
    }
    d->stop = true;
    work_end(d->r, s, -1);
  } else {
    uint16_t rows, cols;
    (void)work_data(d->r, s, (size_t)got, &rows, &cols);
    work_end(d->r, s, res.exit_code);
  }
  pthread_mutex_unlock(&d->mu);
  hcs_error_free(herr);
}

static void *direct_worker(void *arg) {
  dctx_t *d = arg;
  run_t *r = d->r;
  for (;;) {
    sess_t s;
    pthread_mutex_lock(&d->mu);
    bool go = !d->stop && gw_env_interrupted() == 0 && r->started < r->w->n;
    if (go) {
      work_begin(r, &s);
    }
    pthread_mutex_unlock(&d->mu);
    if (!go) {
      return NULL;
    }
    direct_one(d, &s);
  }
}

static int drv_direct(run_t *r, gw_env_t *g, struct hcs_s *hcs) {
  dctx_t d = {.r = r, .g = g, .hcs = hcs};
  if (r->w->sc == SC_GWSTREAM) {
    snprintf(d.bs_arg, sizeof(d.bs_arg), "bs=%u", GW_BLOCK);
    snprintf(d.count_arg, sizeof(d.count_arg), "count=%llu",
             (unsigned long long)(r->w->bytes / GW_BLOCK));
    d.args[0] = "dd";
    d.args[1] = "if=/dev/zero";
    d.args[2] = d.bs_arg;
    d.args[3] = d.count_arg;
    d.args[4] = "status=none";
  } else {
    d.args[0] = "echo";
    d.args[1] = "x";
  }
  int err = pthread_mutex_init(&d.mu, NULL);
  if (err != 0) {
    run_fail(r, -err, "pthread_mutex_init");
    return -err;
  }
  pthread_t *t = calloc(r->w->c, sizeof(*t));
  uint64_t nt = 0;
  if (t == NULL) {
    run_fail(r, -ENOMEM, "the exec threads");
  }
  while (t != NULL && nt < r->w->c) {
    err = pthread_create(&t[nt], NULL, direct_worker, &d);
    if (err != 0) {
      pthread_mutex_lock(&d.mu);
      run_fail(r, -err, "pthread_create");
      d.stop = true;
      pthread_mutex_unlock(&d.mu);
      break;
    }
    nt++;
  }
  for (uint64_t i = 0; i < nt; i++) {
    pthread_join(t[i], NULL);
  }
  free(t);
  pthread_mutex_destroy(&d.mu);
  return r->res->err;
}

int drv_gateway_run(run_t *r, contender_t ct) {
  gw_env_t *g = r->w->gw;
  if (g == NULL || !g->up[ct]) {
    run_fail(r, -ENODEV, "the gateway is not running");
    return r->res->err;
  }
  return ct == CT_HCS    ? drv_direct(r, g, g->hcs)
         : ct == CT_HCS1 ? drv_direct(r, g, g->hcs1)
                         : drv_api(r, g, ct);
}
