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

void hcsd_h_exec_start(hcsd_t *d, hcsd_req_t *r, const char *id) {
  hcsd_exec_start_opts_t o;
  hcsd_exec_start_decode(r->body, r->body_len, &o);
  hcsd_err_t e;
  exec_req_t *er = calloc(1, sizeof(*er));
  bool attached = false, tty = false;
  if (er == NULL) {
    hcsd_reply_error(r, 500, "out of memory");
    return;
  }
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
  static const hcsd_stream_ops_t sops = {exec_input, exec_gone};
  static const hcsd_out_ops_t ops = {exec_out, exec_end, exec_pause};
  er->setup = true;
  er->st = hcsd_hijack(d, r, !tty, &sops, er);
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
