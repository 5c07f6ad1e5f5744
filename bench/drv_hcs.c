/* SPDX-License-Identifier: MIT */
/* The hcs contender: the public asynchronous session API on a service
 * without a thread of its own (no_thread), so the loop runs here and every
 * callback is a plain call on this thread, as an embedder would run it.
 * hcs sock (bulk only) is the same with stdout on a socketpair
 * (HCS_STDIO_SOCKET), the transport libuv's children get. */
#include "bench.h"

#include <hcs-async.h>
#include <hcs.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct hctx_s hctx_t;

typedef struct hrec_s {
  sess_t s;
  hcs_session_t *h;
  hctx_t *ctx;
  struct hrec_s *next_free;
} hrec_t;

struct hctx_s {
  hcs_t *hcs;
  run_t *run;
  hcs_session_options_t opts;
  hrec_t *recs;      /* c slots, touched only once used (idle RSS) */
  uint64_t unused;   /* slots never used yet start here */
  hrec_t *free_list; /* slots used and free again */
  int stop;          /* a start failed: start no more */
};

static void start_one(hctx_t *x);

static void send_msg(hrec_t *rec) {
  const work_t *w = rec->ctx->run->w;
  work_sent(rec->ctx->run, &rec->s);
  int err = hcs_session_write(rec->h, work_msg(w), w->msg_len, NULL, NULL);
  if (err != 0) {
    run_fail(rec->ctx->run, err, "hcs_session_write");
    (void)hcs_session_close_stdin(rec->h);
  }
}

static void on_data(hcs_session_t *s, int stream, char *buf, size_t len,
                    void *data) {
  hrec_t *rec = data;
  uint16_t rows = 0, cols = 0;
  (void)stream;
  (void)buf;
  if (len == 0) {
    return;
  }
  unsigned act = work_data(rec->ctx->run, &rec->s, len, &rows, &cols);
  if (act & ACT_SEND) {
    send_msg(rec);
  }
  if (act & ACT_CLOSE_STDIN) {
    (void)hcs_session_close_stdin(s);
  }
  if (act & ACT_RESIZE) {
    int err = hcs_session_resize(s, rows, cols);
    if (err != 0) {
      run_fail(rec->ctx->run, err, "hcs_session_resize");
    }
  }
}

static void on_done(hcs_session_t *s, const hcs_process_result_t *r,
                    void *data) {
  hrec_t *rec = data;
  hctx_t *x = rec->ctx;
  work_end(x->run, &rec->s, r->output_cut ? -1 : r->exit_code);
  hcs_session_unref(s);
  rec->h = NULL;
  rec->next_free = x->free_list;
  x->free_list = rec;
  start_one(x);
}

static void start_one(hctx_t *x) {
  run_t *r = x->run;
  if (x->stop || r->started >= r->w->n) {
    return;
  }
  hrec_t *rec = x->free_list;
  if (rec != NULL) {
    x->free_list = rec->next_free;
  } else if (x->unused < r->w->c) {
    rec = &x->recs[x->unused++];
    rec->ctx = x;
  } else {
    return;
  }
  work_begin(r, &rec->s);
  x->opts.data = rec;
  int err = hcs_session_start(x->hcs, &x->opts, &rec->h);
  if (err != 0) {
    run_fail(r, err, "hcs_session_start");
    r->started--;
    rec->next_free = x->free_list;
    x->free_list = rec;
    x->stop = 1;
  }
}

static void set_opts(hctx_t *x, const work_t *w) {
  hcs_session_options_t *o = &x->opts;
  memset(o, 0, sizeof(*o));
  /* The layout this file compiled: with 0 the library reads the first
   * one, which ends before stdio_transport, and hcs sock ran on pipes. */
  o->size = sizeof(*o);
  o->argv = w->argv;
  o->use_stdin = w->use_stdin;
  o->use_stdout = true;
  o->use_stderr = w->use_stderr;
  o->console = w->pty;
  if (w->pty) {
    o->rows = 24;
    o->cols = 80;
  }
  o->cb.data = on_data;
  o->cb.done = on_done;
}

/* idle: every session up at once, measured, then released together. */
static void run_idle(hctx_t *x) {
  run_t *r = x->run;
  while (!x->stop && r->started < r->w->n) {
    start_one(x);
  }
  hcs_stats_t st;
  hcs_stats(x->hcs, &st);
  work_idle_up(r, st.buf_in_use + st.buf_cached);
  for (uint64_t i = 0; i < x->unused; i++) {
    if (x->recs[i].h != NULL) {
      (void)hcs_session_close_stdin(x->recs[i].h);
    }
  }
}

int drv_hcs_run(run_t *r) {
  const work_t *w = r->w;
  hctx_t x;
  memset(&x, 0, sizeof(x));
  x.run = r;
  set_opts(&x, w);
  if (r->res->ct == CT_HCS_SOCK) {
    x.opts.stdio_transport = HCS_STDIO_SOCKET;
  }
  x.recs = bench_slab_alloc(w->c * sizeof(*x.recs));
  if (x.recs == NULL) {
    return -ENOMEM;
  }
  hcs_options_t ho = {.no_thread = true};
  hcs_error_t *herr = NULL;
  if (hcs_open(&x.hcs, &ho, &herr) != HCS_OK) {
    run_fail(r, -(hcs_error_errno(herr) ? hcs_error_errno(herr) : EIO),
             "hcs_open");
    hcs_error_free(herr);
    bench_slab_free(x.recs, w->c * sizeof(*x.recs));
    return r->res->err;
  }
  if (w->sc == SC_IDLE) {
    work_idle_base(r);
    run_idle(&x);
  } else {
    for (uint64_t i = 0; i < w->c; i++) {
      start_one(&x);
    }
    for (uint64_t i = 0; i < x.unused && work_kick(r); i++) {
      if (x.recs[i].h != NULL) {
        send_msg(&x.recs[i]);
      }
    }
  }
  (void)as_loop_run(hcs_engine_loop(x.hcs), 0);
  hcs_close(x.hcs);
  bench_slab_free(x.recs, w->c * sizeof(*x.recs));
  return 0;
}
