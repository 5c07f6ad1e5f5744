/* SPDX-License-Identifier: MIT */
/* /containers/{id}/exec and /exec/...: decode, call the model, encode; an
 * attached exec's streams go over the hijacked connection. */
#include "hcsd/http/http.h"

#include <stdlib.h>

void hcsd_h_exec_create(hcsd_t *d, hcsd_req_t *r, const char *ref) {
  hcsd_exec_spec_t spec;
  hcsd_err_t e;
  char id[65];
  if (hcsd_exec_spec_decode(r->body, r->body_len, &spec, &e) != 0) {
    hcsd_reply_err(r, &e);
    return;
  }
  int rc = hcsd_exec_create(d, ref, &spec, id, &e);
  hcsd_exec_spec_clear(&spec);
  if (rc != 0) {
    hcsd_reply_err(r, &e);
    return;
  }
  hcsd_reply_json(r, 201, json_pack("{s:s}", "Id", id));
}

/* An attached exec: the model's exec and the hijacked stream. Until the
 * stream is set up, a client that goes is only noted. */
typedef struct exec_req_s {
  hcsd_t *d;
  hcsd_exec_t *x;
  hcsd_stream_t *st;
  bool setup, gone;
} exec_req_t;

static void exec_out(int stream, const char *buf, size_t len, hcsd_hold_t *hold,
                     void *data) {
  exec_req_t *er = data;
  hcsd_stream_out(er->st, stream, buf, len, hold);
}

static int exec_pipe(int stream, int fd, size_t n, as_session_t *s,
                     void *data) {
  exec_req_t *er = data;
  return hcsd_stream_pipe(er->st, stream, fd, n, s);
}

static void exec_end(void *data) {
  exec_req_t *er = data;
  hcsd_stream_finish(er->st);
  free(er);
}

static void exec_pause(bool paused, void *data) {
  exec_req_t *er = data;
  hcsd_stream_pause_input(er->st, paused);
}

static void exec_input(hcsd_stream_t *st, char *buf, size_t len, void *data) {
  exec_req_t *er = data;
  (void)st;
  hcsd_exec_input(er->x, buf, len);
}

/* The client left (or detached): the process runs on, its output is
 * dropped from now on. */
static void exec_gone(hcsd_stream_t *st, void *data) {
  exec_req_t *er = data;
  if (er->setup) {
    er->gone = true;
    return;
  }
  hcsd_exec_close(er->x);
  free(er);
  hcsd_stream_finish(st);
}

/* The started exec's streams over r's connection (er goes with them). */
static void exec_attach(hcsd_req_t *r, exec_req_t *er, bool tty) {
  static const hcsd_stream_ops_t sops = {exec_input, exec_gone};
  static const hcsd_out_ops_t ops = {exec_out, exec_end, exec_pause};
  er->setup = true;
  er->st = hcsd_hijack(er->d, r, !tty, &sops, er);
  er->setup = false;
  if (er->st == NULL || er->gone) {
    hcsd_stream_finish(er->st);
    free(er);
    return;
  }
  /* An exec that could not start ends inside listen (er goes). */
  hcsd_exec_t *x = er->x;
  hcsd_exec_listen(x, &ops, er);
  hcsd_exec_splice(x, exec_pipe);
}

/* On the worker's thread (hcsd_req_move): the exec runs there, and its
 * spawn's failure is answered there. */
static void exec_moved(hcsd_req_t *r, void *data) {
  exec_req_t *er = data;
  hcsd_err_t e;
  bool tty = false;
  if (r == NULL) {
    hcsd_exec_abandon(er->x);
    free(er);
    return;
  }
  if (hcsd_exec_run(er->x, &tty, &e) != 0) {
    free(er);
    hcsd_reply_err(r, &e);
    return;
  }
  exec_attach(r, er, tty);
}

/* hcsd --threads: an attached start goes to the next worker loop, with
 * its connection; 1 when it stays here (one loop, a detached start, a
 * connection that cannot move). */
static int exec_start_moved(hcsd_t *d, hcsd_req_t *r, const char *id,
                            const hcsd_exec_start_opts_t *o) {
  hcsd_worker_t *w = hcsd_worker_next(d);
  if (w == NULL || o->detach) {
    return 1;
  }
  exec_req_t *er = calloc(1, sizeof(*er));
  hcsd_err_t e;
  if (er == NULL) {
    return 1;
  }
  er->d = d;
  int rc = hcsd_exec_start_on(d, id, o, w->loop, &er->x, &e);
  if (rc != 0) {
    free(er);
    if (rc < 0) {
      hcsd_reply_err(r, &e);
    }
    return rc < 0 ? 0 : 1;
  }
  if (hcsd_req_move(r, w, exec_moved, er) != 0) {
    /* It runs here after all. */
    hcsd_exec_unstart(er->x);
    free(er);
    return 1;
  }
  return 0;
}

void hcsd_h_exec_start(hcsd_t *d, hcsd_req_t *r, const char *id) {
  hcsd_exec_start_opts_t o;
  hcsd_exec_start_decode(r->body, r->body_len, &o);
  if (exec_start_moved(d, r, id, &o) == 0) {
    return;
  }
  hcsd_err_t e;
  exec_req_t *er = calloc(1, sizeof(*er));
  bool attached = false, tty = false;
  if (er == NULL) {
    hcsd_reply_error(r, 500, "out of memory");
    return;
  }
  er->d = d;
  if (hcsd_exec_start(d, id, &o, &er->x, &attached, &tty, &e) != 0) {
    free(er);
    hcsd_reply_err(r, &e);
    return;
  }
  if (!attached) {
    free(er);
    hcsd_reply(r, 200, NULL, NULL, 0);
    return;
  }
  exec_attach(r, er, tty);
}

void hcsd_h_exec_resize(hcsd_t *d, hcsd_req_t *r, const char *id) {
  hcsd_err_t e;
  int rows, cols;
  hcsd_req_size(r, &rows, &cols);
  if (hcsd_exec_resize(d, id, rows, cols, &e) != 0) {
    hcsd_reply_err(r, &e);
    return;
  }
  hcsd_reply(r, 200, "text/plain; charset=utf-8", NULL, 0);
}

void hcsd_h_exec_inspect(hcsd_t *d, hcsd_req_t *r, const char *id) {
  hcsd_err_t e;
  json_t *o = hcsd_exec_inspect(d, id, &e);
  if (o == NULL) {
    hcsd_reply_err(r, &e);
    return;
  }
  hcsd_reply_json(r, 200, o);
}
