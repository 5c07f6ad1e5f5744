/* SPDX-License-Identifier: MIT */
/* The public asynchronous session API: the engine's sessions under their
 * public names. An hcs_session_t is an as_session_t; a small block holds
 * the caller's callbacks so that results reach them in the public shape. */
#include "hcs/system/session.h"

#include "hcs/api/call.h"
#include "hcs/api/opts.h"

#include <errno.h>
#include <string.h>

typedef struct pub_s {
  hcs_session_callbacks_t cb;
  void *data;
} pub_t;

#define TO_AS(s) ((as_session_t *)(void *)(s))
#define TO_PUB(s) ((hcs_session_t *)(void *)(s))

void hcs__to_result(const as_result_t *r, hcs_process_result_t *out) {
  out->exit_code = r->exit_code;
  out->signal = r->signal;
  out->exec_errno = r->exec_errno;
  out->exec_stage = r->exec_stage;
  out->output_cut = r->output_cut != 0;
  out->oom_killed = false;
}

static void pub_data(as_session_t *s, int stream, char *buf, size_t len,
                     void *data) {
  pub_t *p = as_session_extra(s);
  (void)data;
  if (p->cb.data != NULL) {
    p->cb.data(TO_PUB(s), stream, buf, len, p->data);
  }
}

static void pub_exit(as_session_t *s, const as_result_t *r, void *data) {
  pub_t *p = as_session_extra(s);
  (void)data;
  if (p->cb.exit != NULL) {
    hcs_process_result_t res;
    hcs__to_result(r, &res);
    p->cb.exit(TO_PUB(s), &res, p->data);
  }
}

static void pub_done(as_session_t *s, const as_result_t *r, void *data) {
  pub_t *p = as_session_extra(s);
  (void)data;
  if (p->cb.done != NULL) {
    hcs_process_result_t res;
    hcs__to_result(r, &res);
    p->cb.done(TO_PUB(s), &res, p->data);
  }
}

void hcs__pub_setup(as_spawn_opts_t *so) {
  so->cbs.data_cb = pub_data;
  so->cbs.exit_cb = pub_exit;
  so->extra_size = sizeof(pub_t);
}

void hcs__pub_init(as_session_t *s, const hcs_session_callbacks_t *cb,
                   void *data) {
  pub_t *p = as_session_extra(s);
  p->cb = *cb;
  p->data = data;
}

void hcs__pub_done(as_session_t *s, const hcs_process_result_t *r) {
  pub_t *p = as_session_extra(s);
  if (p->cb.done != NULL) {
    p->cb.done(TO_PUB(s), r, p->data);
  }
}

int hcs__stdio_transport(as_spawn_opts_t *so, int transport) {
  if (transport == HCS_STDIO_PIPE) {
    return 0;
  }
  if (transport != HCS_STDIO_SOCKET || (so->flags & AS_PTY)) {
    return -EINVAL;
  }
  for (int i = AS_STDOUT; i <= AS_STDERR; i++) {
    if (so->stdio[i] == AS_STDIO_PIPE) {
      so->stdio[i] = AS_STDIO_SOCKET;
    }
  }
  return 0;
}

int hcs_session_start(hcs_t *hcs, const hcs_session_options_t *o,
                      hcs_session_t **out) {
  hcs_session_options_t in;
  if (hcs == NULL || o == NULL || out == NULL) {
    return -EINVAL;
  }
  int e = hcs__opts_copy(&in, sizeof(in), HCS__SESSION_FIRST, o);
  if (e != 0) {
    return e;
  }
  o = &in;
  if (o->argv == NULL || o->argv[0] == NULL) {
    return -EINVAL;
  }
  as_spawn_opts_t so;
  memset(&so, 0, sizeof(so));
  so.file = o->file != NULL ? o->file : o->argv[0];
  so.argv = (char *const *)o->argv;
  so.envp = (char *const *)o->envp;
  so.cwd = o->cwd;
  so.flags = o->console ? AS_PTY : 0;
  so.stdio[0] = o->use_stdin ? AS_STDIO_PIPE : AS_STDIO_NULL;
  so.stdio[1] = o->use_stdout ? AS_STDIO_PIPE : AS_STDIO_NULL;
  so.stdio[2] = o->use_stderr ? AS_STDIO_PIPE : AS_STDIO_NULL;
  so.rows = o->rows;
  so.cols = o->cols;
  so.stream_cap = o->stream_cap;
  so.drain_ms = o->drain_timeout_ms;
  e = hcs__stdio_transport(&so, o->stdio_transport);
  if (e != 0) {
    return e;
  }
  hcs__pub_setup(&so);
  so.cbs.done_cb = pub_done;
  as_session_t *s;
  int r = as_session_spawn(hcs__caller_loop(hcs), &so, &s);
  if (r != 0) {
    return r;
  }
  hcs__pub_init(s, &o->cb, o->data);
  *out = TO_PUB(s);
  return 0;
}

void hcs_session_ref(hcs_session_t *s) { as_session_ref(TO_AS(s)); }

void hcs_session_unref(hcs_session_t *s) { as_session_unref(TO_AS(s)); }

int hcs_session_pid(const hcs_session_t *s) {
  return (int)as_session_pid((const as_session_t *)(const void *)s);
}

int hcs_session_exec_errno(const hcs_session_t *s) {
  return as_session_exec_errno((const as_session_t *)(const void *)s);
}

int hcs_session_exec_stage(const hcs_session_t *s) {
  return as_session_exec_stage((const as_session_t *)(const void *)s);
}

typedef struct wr_s {
  void (*cb)(hcs_session_t *s, int status, void *data);
  void *data;
} wr_t;

static void wr_done(as_session_t *s, int status, void *data) {
  wr_t w = *(wr_t *)data;
  as_free(data);
  if (w.cb != NULL) {
    w.cb(TO_PUB(s), status, w.data);
  }
}

int hcs_session_write(hcs_session_t *s, const void *buf, size_t len,
                      void (*cb)(hcs_session_t *s, int status, void *data),
                      void *data) {
  wr_t *w = as_malloc(sizeof(*w));
  if (w == NULL) {
    return -ENOMEM;
  }
  w->cb = cb;
  w->data = data;
  int r = as_session_write(TO_AS(s), buf, len, wr_done, w);
  if (r != 0) {
    as_free(w);
  }
  return r;
}

int hcs_session_close_stdin(hcs_session_t *s) {
  return as_session_close_stdin(TO_AS(s));
}

int hcs_session_kill(hcs_session_t *s, int sig) {
  return as_session_kill(TO_AS(s), sig);
}

int hcs_session_resize(hcs_session_t *s, uint16_t rows, uint16_t cols) {
  return as_session_resize(TO_AS(s), rows, cols);
}

void hcs_session_hold(hcs_session_t *s, int stream, char *buf) {
  as_session_hold(TO_AS(s), stream, buf);
}

void hcs_session_release(hcs_session_t *s, int stream, char *buf) {
  as_session_release(TO_AS(s), stream, buf);
}

as_session_t *hcs_session_engine(hcs_session_t *s) { return TO_AS(s); }
