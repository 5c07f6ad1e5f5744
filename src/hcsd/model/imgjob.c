/* SPDX-License-Identifier: MIT */
/* imgjob.h: the image store's calls that depend on the containers, run on
 * the pool with what the containers use taken on the engine thread. */
#include "hcsd/model/imgjob.h"
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"
#include "hcsd/model/images.h"
#include "hcsd/model/imgint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct imgop_job_s {
  hcsd_t *d;
  hcsd_imgop_t op;
  char *ref, *repo, *tag, *filters;
  bool force;
  char **refs;
  size_t nrefs;
  hcsd_img_users_t users;
  int status;
  char *body;
  size_t len;
  int fd; /* a save's archive, or -1 */
  hcsd_imgop_cb done;
  void *data;
  char *ev_id; /* the image tagged or deleted, for its events */
} imgop_job_t;

static void free_strv(char **v) {
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    free(v[i]);
  }
  free(v);
}

static char **dup_strv(char *const *v, size_t n) {
  char **out = calloc(n + 1, sizeof(*out));
  for (size_t i = 0; out != NULL && i < n; i++) {
    if ((out[i] = strdup(v[i])) == NULL) {
      free_strv(out);
      return NULL;
    }
  }
  return out;
}

static size_t strv_len(char *const *v) {
  size_t n = 0;
  while (v != NULL && v[n] != NULL) {
    n++;
  }
  return n;
}

void hcsd_img_users_free(hcsd_img_users_t *u) {
  for (size_t i = 0; u->v != NULL && i < u->n; i++) {
    free(u->v[i].image_id);
    free_strv(u->v[i].layers);
  }
  free(u->v);
  u->v = NULL;
  u->n = 0;
}

bool hcsd_img_users_take(hcsd_t *d, hcsd_img_users_t *u) {
  u->n = 0;
  u->v = calloc(d->nctrs + 1, sizeof(*u->v));
  if (u->v == NULL) {
    return false;
  }
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if (c->image_id == NULL) {
      continue;
    }
    hcsd_img_user_t *x = &u->v[u->n++];
    snprintf(x->ctr_id, sizeof(x->ctr_id), "%s", c->id);
    x->running = c->state == CS_RUNNING;
    x->image_id = strdup(c->image_id);
    x->layers =
        c->layers != NULL ? dup_strv(c->layers, strv_len(c->layers)) : NULL;
    if (x->image_id == NULL || (c->layers != NULL && x->layers == NULL)) {
      hcsd_img_users_free(u);
      return false;
    }
  }
  return true;
}

static void set_msg(imgop_job_t *j, int status, char *msg) {
  j->status = status;
  j->body = msg;
  j->len = msg != NULL ? strlen(msg) : 0;
}

/* The archive into an unlinked file of the daemon's temporary folder,
 * which the reply then sends as the client takes it. */
static void save_work(imgop_job_t *j) {
  char *msg = NULL;
  int fd = open(j->d->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (asprintf(&msg, "a temporary file in %s: %s", j->d->tmp_dir,
                 strerror(errno)) < 0) {
      msg = NULL;
    }
    set_msg(j, 500, msg);
    return;
  }
  int st = hcsd_images_save(j->d->images, (const char *const *)j->refs,
                            j->nrefs, fd, &msg);
  if (st != 200) {
    close(fd);
    set_msg(j, st, msg);
    return;
  }
  j->status = 200;
  j->fd = fd;
}

static void imgop_work(void *data) {
  imgop_job_t *j = data;
  hcsd_images_t *im = j->d->images;
  char *out = NULL, *msg = NULL;
  if (j->op == HCSD_IMGOP_TAG || j->op == HCSD_IMGOP_DELETE) {
    j->ev_id = hcsd_event_img_id(im, j->ref);
  }
  switch (j->op) {
  case HCSD_IMGOP_TAG:
    j->status = hcsd_images_tag(im, j->ref, j->repo, j->tag, &msg);
    break;
  case HCSD_IMGOP_DELETE:
    j->status = hcsd_images_delete(im, j->ref, j->force, &j->users, &out, &msg);
    break;
  case HCSD_IMGOP_PRUNE:
    j->status = hcsd_images_prune(im, j->filters, &j->users, &out, &msg);
    break;
  case HCSD_IMGOP_HISTORY:
    out = hcsd_images_history_json(im, j->ref);
    j->status = out != NULL ? 200 : hcsd__img_no_such(&msg, j->ref);
    break;
  case HCSD_IMGOP_SAVE:
    save_work(j);
    return;
  }
  if (out != NULL) {
    free(msg);
    set_msg(j, j->status, out);
  } else {
    int st = j->status;
    set_msg(j, st, msg);
  }
}

static void imgop_free(imgop_job_t *j) {
  if (j->fd >= 0) {
    close(j->fd);
  }
  free(j->ev_id);
  free(j->ref);
  free(j->repo);
  free(j->tag);
  free(j->filters);
  free_strv(j->refs);
  hcsd_img_users_free(&j->users);
  free(j->body);
  free(j);
}

static void imgop_done(void *data) {
  imgop_job_t *j = data;
  const char *body = j->body != NULL ? j->body : "out of memory";
  if (j->op == HCSD_IMGOP_TAG && j->status == 201) {
    hcsd_event_img_tag(j->d, j->ev_id, j->repo, j->tag);
  } else if (j->op == HCSD_IMGOP_DELETE && j->status == 200) {
    hcsd_event_img_deleted(j->d, j->ev_id, body);
  }
  j->done(j->d, j->status, body, j->body != NULL ? j->len : strlen(body), j->fd,
          j->data);
  j->fd = -1;
  imgop_free(j);
}

static bool dup_opt(char **out, const char *s) {
  *out = s != NULL ? strdup(s) : NULL;
  return s == NULL || *out != NULL;
}

int hcsd_imgop(hcsd_t *d, hcsd_imgop_t op, const hcsd_imgop_args_t *a,
               hcsd_imgop_cb done, void *data, hcsd_err_t *e) {
  if (d->images == NULL) {
    hcsd_err_set(e, 500, "images are not available on this host");
    return -1;
  }
  imgop_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  *j = (imgop_job_t){.d = d,
                     .op = op,
                     .force = a->force,
                     .fd = -1,
                     .done = done,
                     .data = data};
  bool ok = dup_opt(&j->ref, a->ref) && dup_opt(&j->repo, a->repo) &&
            dup_opt(&j->tag, a->tag) && dup_opt(&j->filters, a->filters) &&
            hcsd_img_users_take(d, &j->users);
  if (ok && a->refs != NULL) {
    j->nrefs = a->nrefs;
    ok = (j->refs = dup_strv((char *const *)a->refs, a->nrefs)) != NULL;
  }
  if (!ok || hcsd_work(d, imgop_work, imgop_done, j) != 0) {
    imgop_free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}
