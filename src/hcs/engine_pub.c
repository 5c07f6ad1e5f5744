/* The engine's work, timers and unix sockets in the public shape
 * (include/hcs.h): thin wrappers over the as_ calls of work.c, timer.c and
 * sock.c that carry the public callbacks and their data. */
#include "hcs/internal.h"

#include <errno.h>
#include <string.h>

/* Work. */

typedef struct pub_work_s {
  hcs_t *hcs;
  void (*work)(void *data);
  void (*done)(hcs_t *hcs, int status, void *data);
  void *data;
} pub_work_t;

static void pub_work_run(void *data) {
  pub_work_t *w = data;
  w->work(w->data);
}

static void pub_work_done(as_loop_t *loop, int status, void *data) {
  pub_work_t w = *(pub_work_t *)data;
  (void)loop;
  as_free(data);
  w.done(w.hcs, status, w.data);
}

int hcs_work(hcs_t *hcs, void (*work)(void *data),
             void (*done)(hcs_t *hcs, int status, void *data), void *data) {
  if (work == NULL || done == NULL) {
    return -EINVAL;
  }
  pub_work_t *w = as_malloc(sizeof(*w));
  if (w == NULL) {
    return -ENOMEM;
  }
  *w = (pub_work_t){.hcs = hcs, .work = work, .done = done, .data = data};
  int err = as_loop_work(hcs__loop(hcs), pub_work_run, pub_work_done, w);
  if (err != 0) {
    as_free(w);
  }
  return err;
}

/* Timers. */

struct hcs_timer_s {
  as_timer_t *t;
  void (*cb)(hcs_timer_t *t, void *data);
  void *data;
};

static void pub_timer_fire(as_timer_t *at, void *data) {
  hcs_timer_t *t = data;
  (void)at;
  /* t may be freed by its callback: nothing of it is read after. */
  t->cb(t, t->data);
}

int hcs_timer_new(hcs_t *hcs, hcs_timer_t **out) {
  hcs_timer_t *t = as_calloc(1, sizeof(*t));
  if (t == NULL) {
    return -ENOMEM;
  }
  int err = as_timer_new(hcs__loop(hcs), &t->t);
  if (err != 0) {
    as_free(t);
    return err;
  }
  *out = t;
  return 0;
}

void hcs_timer_arm(hcs_timer_t *t, uint64_t ms,
                   void (*cb)(hcs_timer_t *t, void *data), void *data) {
  t->cb = cb;
  t->data = data;
  as_timer_arm(t->t, ms, pub_timer_fire, t);
}

void hcs_timer_disarm(hcs_timer_t *t) { as_timer_disarm(t->t); }

void hcs_timer_free(hcs_timer_t *t) {
  if (t == NULL) {
    return;
  }
  as_timer_free(t->t);
  as_free(t);
}

/* Sockets. A connection's public face lives in the extra bytes of the
 * engine's connection, so it goes with it (after the last held buffer). */

struct hcs_listener_s {
  as_listener_t *l;
  void (*accept)(hcs_listener_t *l, hcs_conn_t *c, void *data);
  void *data;
};

struct hcs_conn_s {
  as_conn_t *c;
  hcs_conn_callbacks_t cb;
  void *data;
};

/* A write: the engine's request, the caller's callback, and with no
 * callback a copy of the bytes. */
typedef struct pub_wreq_s {
  as_conn_wreq_t req; /* first: the engine's request is the write */
  hcs_conn_t *c;
  void (*cb)(hcs_conn_t *c, int status, void *data);
  void *data;
  char copy[];
} pub_wreq_t;

static void pub_accept(as_listener_t *al, as_conn_t *ac, void *data) {
  hcs_listener_t *l = data;
  hcs_conn_t *c = as_conn_extra(ac);
  (void)al;
  c->c = ac;
  l->accept(l, c, l->data);
}

int hcs_listen_unix(hcs_t *hcs, const char *path, unsigned mode, int gid,
                    void (*accept)(hcs_listener_t *l, hcs_conn_t *c,
                                   void *data),
                    void *data, hcs_listener_t **out) {
  if (accept == NULL || out == NULL) {
    return -EINVAL;
  }
  hcs_listener_t *l = as_calloc(1, sizeof(*l));
  if (l == NULL) {
    return -ENOMEM;
  }
  l->accept = accept;
  l->data = data;
  int err = as_listen_unix(hcs__loop(hcs), path, mode, gid, sizeof(hcs_conn_t),
                           pub_accept, l, &l->l);
  if (err != 0) {
    as_free(l);
    return err;
  }
  *out = l;
  return 0;
}

void hcs_listener_close(hcs_listener_t *l) {
  if (l == NULL) {
    return;
  }
  as_listener_close(l->l);
  as_free(l);
}

static void pub_data(as_conn_t *ac, char *buf, size_t len, void *data) {
  hcs_conn_t *c = data;
  (void)ac;
  if (c->cb.data != NULL) {
    c->cb.data(c, buf, len, c->data);
  }
}

static void pub_gone(as_conn_t *ac, int status, void *data) {
  hcs_conn_t *c = data;
  (void)ac;
  if (c->cb.gone != NULL) {
    c->cb.gone(c, status, c->data);
  }
}

void hcs_conn_start(hcs_conn_t *c, const hcs_conn_callbacks_t *cb, void *data) {
  static const as_conn_cbs_t cbs = {.data_cb = pub_data, .gone_cb = pub_gone};
  c->cb = *cb;
  c->data = data;
  as_conn_start(c->c, &cbs, c);
}

void hcs_conn_pause(hcs_conn_t *c, bool paused) { as_conn_pause(c->c, paused); }

void hcs_conn_hold(hcs_conn_t *c, char *buf) { as_conn_hold(c->c, buf); }

void hcs_conn_release(hcs_conn_t *c, char *buf) { as_conn_release(c->c, buf); }

static void pub_written(as_conn_wreq_t *req, int status) {
  pub_wreq_t *w = (pub_wreq_t *)req;
  hcs_conn_t *c = w->c;
  void (*cb)(hcs_conn_t * c, int status, void *data) = w->cb;
  void *data = w->data;
  as_free(w);
  if (cb != NULL) {
    cb(c, status, data);
  }
}

int hcs_conn_write(hcs_conn_t *c, const hcs_iov_t *iov, int n,
                   void (*cb)(hcs_conn_t *c, int status, void *data),
                   void *data) {
  if (iov == NULL || n < 1 || n > HCS_CONN_IOV_MAX) {
    return -EINVAL;
  }
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    if (iov[i].base == NULL && iov[i].len != 0) {
      return -EINVAL;
    }
    total += iov[i].len;
  }
  pub_wreq_t *w = as_malloc(sizeof(*w) + (cb == NULL ? total : 0));
  if (w == NULL) {
    return -ENOMEM;
  }
  w->c = c;
  w->cb = cb;
  w->data = data;
  as_iov_t v[HCS_CONN_IOV_MAX];
  if (cb == NULL) {
    size_t off = 0;
    for (int i = 0; i < n; i++) {
      if (iov[i].len != 0) {
        memcpy(w->copy + off, iov[i].base, iov[i].len);
      }
      off += iov[i].len;
    }
    v[0] = (as_iov_t){.base = w->copy, .len = total};
    n = 1;
  } else {
    for (int i = 0; i < n; i++) {
      v[i] = (as_iov_t){.base = iov[i].base, .len = iov[i].len};
    }
  }
  int err = as_conn_write(c->c, &w->req, v, n, pub_written);
  if (err != 0) {
    as_free(w);
  }
  return err;
}

size_t hcs_conn_queued(const hcs_conn_t *c) { return as_conn_queued(c->c); }

void hcs_conn_shutdown(hcs_conn_t *c) { as_conn_shutdown(c->c); }

int hcs_conn_peer(const hcs_conn_t *c, int *pid, unsigned *uid, unsigned *gid) {
  pid_t p;
  uid_t u;
  gid_t g;
  int err = as_conn_peer(c->c, &p, &u, &g);
  if (err != 0) {
    return err;
  }
  if (pid != NULL) {
    *pid = (int)p;
  }
  if (uid != NULL) {
    *uid = (unsigned)u;
  }
  if (gid != NULL) {
    *gid = (unsigned)g;
  }
  return 0;
}

void hcs_conn_close(hcs_conn_t *c) {
  if (c != NULL) {
    as_conn_close(c->c);
  }
}
