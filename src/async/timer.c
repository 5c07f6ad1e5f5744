/* SPDX-License-Identifier: MIT */
/* Timers: a libuv timer each, one-shot and re-armable. They are unref'd:
 * an armed timer (an idle timeout, say) must not keep a loop that has
 * nothing else to do from returning, nor hold up the service's close. */
#include "hcs-async.h"

#include <errno.h>
#include <uv.h>

struct as_timer_s {
  uv_timer_t t; /* first: the handle is the timer */
  as_timer_cb cb;
  void *data;
};

static void timer_fire(uv_timer_t *h) {
  as_timer_t *t = (as_timer_t *)h;
  /* Nothing of t is touched after cb: it may free t. */
  t->cb(t, t->data);
}

static void timer_closed(uv_handle_t *h) { as_free(h); }

int as_timer_new(as_loop_t *loop, as_timer_t **out) {
  as_timer_t *t = as_calloc(1, sizeof(*t));
  if (t == NULL) {
    return -ENOMEM;
  }
  int err = uv_timer_init(as_loop_uv(loop), &t->t);
  if (err != 0) {
    as_free(t);
    return err;
  }
  uv_unref((uv_handle_t *)&t->t);
  *out = t;
  return 0;
}

void as_timer_arm(as_timer_t *t, uint64_t ms, as_timer_cb cb, void *data) {
  t->cb = cb;
  t->data = data;
  /* Cannot fail: the handle is initialised, not closing, and cb is set. */
  (void)uv_timer_start(&t->t, timer_fire, ms, 0);
}

void as_timer_disarm(as_timer_t *t) { (void)uv_timer_stop(&t->t); }

void as_timer_free(as_timer_t *t) {
  if (t == NULL) {
    return;
  }
  (void)uv_timer_stop(&t->t);
  uv_close((uv_handle_t *)&t->t, timer_closed);
}
