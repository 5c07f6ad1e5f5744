/* SPDX-License-Identifier: MIT */
/* The image store's changes and reads that depend on the containers
 * (images.h: tag, rm, prune, history, save) as calls of the model:
 * the containers' use of images is taken on the engine thread, the store
 * call runs on the pool, done answers on the engine thread. */
#ifndef HCSD_MODEL_IMGJOB_H
#define HCSD_MODEL_IMGJOB_H

#include "hcsd/model/model.h"

typedef enum {
  HCSD_IMGOP_TAG,     /* ref, repo, tag */
  HCSD_IMGOP_DELETE,  /* ref, force */
  HCSD_IMGOP_PRUNE,   /* filters */
  HCSD_IMGOP_HISTORY, /* ref */
  HCSD_IMGOP_SAVE,    /* refs, nrefs */
} hcsd_imgop_t;

typedef struct hcsd_imgop_args_s {
  const char *ref, *repo, *tag, *filters;
  bool force;
  const char *const *refs;
  size_t nrefs;
} hcsd_imgop_args_t;

/* status as images.h answers; body[0..len) the JSON text or, on
 * failure, the message, lent for the call; a save's archive is the file fd (the
 * receiver's to close), -1 for the others. */
typedef void (*hcsd_imgop_cb)(hcsd_t *d, int status, const char *body,
                              size_t len, int fd, void *data);

/* HCSD_PENDING, then done; or -1 with e (500). */
int hcsd_imgop(hcsd_t *d, hcsd_imgop_t op, const hcsd_imgop_args_t *a,
               hcsd_imgop_cb done, void *data, hcsd_err_t *e);

/* The containers' use of images now (engine thread); free with
 * hcsd_img_users_free. false when out of memory. */
struct hcsd_img_users_s;
bool hcsd_img_users_take(hcsd_t *d, struct hcsd_img_users_s *u);
void hcsd_img_users_free(struct hcsd_img_users_s *u);

#endif
