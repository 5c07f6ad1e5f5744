/* SPDX-License-Identifier: MIT */
/* Work on libuv's thread pool: a blocking job (a layer import, say) runs
 * off the loop, and its completion comes back on the loop thread. */
#include "hcs-async.h"

#include <errno.h>
#include <uv.h>

typedef struct work_s {
  uv_work_t req; /* first: the request is the work */
  as_loop_t *loop;
  as_work_fn work;
  as_work_done_cb done;
  void *data;
} work_t;

static void work_run(uv_work_t *req) {
  work_t *w = (work_t *)req;
  w->work(w->data);
}

static void work_after(uv_work_t *req, int status) {
  work_t *w = (work_t *)req;
  w->done(w->loop, status == UV_ECANCELED ? -ECANCELED : 0, w->data);
  as_free(w);
}

int as_loop_work(as_loop_t *loop, as_work_fn work, as_work_done_cb done,
                 void *data) {
  work_t *w = as_malloc(sizeof(*w));
  if (w == NULL) {
    return -ENOMEM;
  }
  w->loop = loop;
  w->work = work;
  w->done = done;
  w->data = data;
  int err = uv_queue_work(as_loop_uv(loop), &w->req, work_run, work_after);
  if (err != 0) {
    as_free(w);
  }
  return err;
}
