/* SPDX-License-Identifier: MIT */
/* The image and network stores' blocking calls as calls of the model:
 * each runs on the pool and answers on the engine thread; a load's
 * messages are posted to the engine thread as they come, in order, its
 * end after the last. */
#include "hcsd/model/events.h"
#include "hcsd/model/images.h"
#include "hcsd/model/model.h"
#include "hcsd/model/nets.h"
#include "hcsd/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct img_job_s {
  hcsd_t *d;
  char *ref;     /* inspect's */
  char *filters; /* list's */
  int status;    /* list's failure */
  char *msg;
  char *out; /* the JSON text */
  hcsd_json_cb done;
  hcsd_body_t *body; /* load's */
  bool quiet;
  void (*line)(const char *text, void *data);
  void (*loaded)(void *data);
  void *data;
  struct img_job_s *next; /* load's, in d->loads */
} img_job_t;

static int img_queue(hcsd_t *d, img_job_t *j, void (*work)(void *),
                     void (*done)(void *), hcsd_err_t *e) {
  if (hcsd_work(d, work, done, j) != 0) {
    free(j->ref);
    free(j->filters);
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}

static img_job_t *img_job(hcsd_t *d, void *data, hcsd_err_t *e) {
  img_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return NULL;
  }
  j->d = d;
  j->data = data;
  return j;
}

static void img_list_work(void *data) {
  img_job_t *j = data;
  j->out =
      hcsd_images_query_json(j->d->images, j->filters, &j->status, &j->msg);
}

static void img_inspect_work(void *data) {
  img_job_t *j = data;
  j->out = hcsd_images_inspect_json(j->d->images, j->ref);
}

static void img_json_done(void *data) {
  img_job_t *j = data;
  hcsd_err_t e = {0};
  if (j->out == NULL && j->ref != NULL) {
    hcsd_err_set(&e, 404, "No such image: %s", j->ref);
  } else if (j->out == NULL) {
    hcsd_err_set(&e, j->status, "%s",
                 j->msg != NULL ? j->msg : "listing images failed");
  }
  j->done(j->out, j->out != NULL ? NULL : &e, j->data);
  free(j->ref);
  free(j->filters);
  free(j->msg);
  free(j->out);
  free(j);
}

size_t hcsd_imgs_count(hcsd_t *d) {
  return d->images != NULL ? hcsd_images_count(d->images) : 0;
}

int hcsd_img_list(hcsd_t *d, const char *filters, hcsd_json_cb done, void *data,
                  hcsd_err_t *e) {
  img_job_t *j = img_job(d, data, e);
  if (j == NULL) {
    return -1;
  }
  j->done = done;
  if (filters != NULL && (j->filters = strdup(filters)) == NULL) {
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return img_queue(d, j, img_list_work, img_json_done, e);
}

int hcsd_img_inspect(hcsd_t *d, const char *ref, hcsd_json_cb done, void *data,
                     hcsd_err_t *e) {
  img_job_t *j = img_job(d, data, e);
  if (j == NULL) {
    return -1;
  }
  j->done = done;
  if ((j->ref = strdup(ref)) == NULL) {
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return img_queue(d, j, img_inspect_work, img_json_done, e);
}

/* ---- load ---- */

typedef struct line_s {
  img_job_t *j;
  char *text;
} line_t;

static void line_post(as_loop_t *loop, void *data) {
  line_t *l = data;
  (void)loop;
  hcsd_event_img_loaded(l->j->d, l->text);
  l->j->line(l->text, l->j->data);
  free(l->text);
  free(l);
}

/* On the pool: one message, posted with its newline. */
static void load_emit(const char *text, void *arg) {
  img_job_t *j = arg;
  line_t *l = malloc(sizeof(*l));
  size_t n = strlen(text);
  char *t = l != NULL ? malloc(n + 2) : NULL;
  if (t == NULL) {
    free(l);
    return;
  }
  memcpy(t, text, n);
  t[n] = '\n';
  t[n + 1] = '\0';
  l->j = j;
  l->text = t;
  if (as_loop_post(j->d->loop, line_post, l) != 0) {
    free(t);
    free(l);
  }
}

static ssize_t body_read(void *data, const void **p) {
  return hcsd_body_read(data, p);
}

static void img_load_work(void *data) {
  img_job_t *j = data;
  hcsd_img_src_t src = {body_read, j->body};
  (void)hcsd_images_load_src(j->d->images, &src, j->quiet, load_emit, j);
  hcsd_body_unref(j->body, true);
  j->body = NULL;
}

static void img_load_next(hcsd_t *d);

static void img_load_end(as_loop_t *loop, void *data) {
  /* Runs after every line the work posted (posts are in order). */
  img_job_t *j = data;
  (void)loop;
  if (j->body != NULL) {
    hcsd_body_unref(j->body, true); /* the service closed first */
  }
  hcsd_t *d = j->d;
  j->loaded(j->data);
  free(j);
  d->loading = false;
  img_load_next(d);
}

static void img_load_done(void *data) {
  img_job_t *j = data;
  if (as_loop_post(j->d->loop, img_load_end, j) != 0) {
    img_load_end(j->d->loop, j);
  }
}

int hcsd_img_load(hcsd_t *d, hcsd_body_t *body, bool quiet,
                  void (*line)(const char *text, void *data),
                  void (*done)(void *data), void *data, hcsd_err_t *e) {
  img_job_t *j = img_job(d, data, e);
  if (j == NULL) {
    hcsd_body_unref(body, true);
    return -1;
  }
  j->body = body;
  j->quiet = quiet;
  j->line = line;
  j->loaded = done;
  img_job_t **tail = &d->loads;
  while (*tail != NULL) {
    tail = &(*tail)->next;
  }
  *tail = j;
  img_load_next(d);
  return HCSD_PENDING;
}

/* One load at a time is on the pool (they take turns on the store's
 * load lock anyway): a load waits for its client's bytes as they come,
 * and a pool thread held by each waiting load would starve every other
 * call. The others wait here, their clients held back once a little of
 * their bodies is in (hcsd/body.h). */
static void img_load_next(hcsd_t *d) {
  while (!d->loading && d->loads != NULL) {
    img_job_t *j = d->loads;
    d->loads = j->next;
    /* Stopping waits for the load on the pool (the store goes after),
     * and starts no other. */
    if (!d->stopping && hcsd_work(d, img_load_work, img_load_done, j) == 0) {
      d->loading = true;
      return;
    }
    hcsd_body_unref(j->body, true);
    j->line(d->stopping ? "{\"errorDetail\":{\"message\":\"hcsd is stopping\"},"
                          "\"error\":\"hcsd is stopping\"}\n"
                        : "{\"errorDetail\":{\"message\":\"out of memory\"},"
                          "\"error\":\"out of memory\"}\n",
            j->data);
    j->loaded(j->data);
    free(j);
  }
}

/* ---- networks ---- */

typedef struct net_job_s {
  hcsd_t *d;
  hcsd_net_op_t op;
  char *arg;
  char *reply;
  int status;
  hcsd_net_cb done;
  void *data;
  char *net; /* the network created or removed, as inspect shows it */
} net_job_t;

static void net_work(void *data) {
  net_job_t *j = data;
  hcsd_nets_t *n = j->d->nets;
  switch (j->op) {
  case HCSD_NET_CREATE:
    j->status = hcsd_nets_create(n, j->arg, &j->reply);
    hcsd_event_net_find(n, j->status == 201 ? j->reply : NULL, &j->net);
    break;
  case HCSD_NET_LIST:
    j->status = hcsd_nets_query(n, j->arg, &j->reply);
    break;
  case HCSD_NET_INSPECT:
    j->status = hcsd_nets_inspect(n, j->arg, &j->reply);
    break;
  default:
    (void)hcsd_nets_inspect(n, j->arg, &j->net);
    j->status = hcsd_nets_remove(n, j->arg, &j->reply);
    break;
  }
}

static void net_done(void *data) {
  net_job_t *j = data;
  if (j->net != NULL && j->status >= 200 && j->status < 300) {
    hcsd_event_net(j->d, j->op == HCSD_NET_CREATE ? "create" : "destroy",
                   j->net);
  }
  free(j->net);
  j->done(j->status, j->reply, j->data);
  free(j->reply);
  free(j->arg);
  free(j);
}

int hcsd_net_call(hcsd_t *d, hcsd_net_op_t op, const char *arg,
                  hcsd_net_cb done, void *data, hcsd_err_t *e) {
  if (d->nets == NULL) {
    hcsd_err_set(e, 500, "networks are not available on this host");
    return -1;
  }
  net_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL || (arg != NULL && (j->arg = strdup(arg)) == NULL)) {
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  j->d = d;
  j->op = op;
  j->done = done;
  j->data = data;
  if (hcsd_work(d, net_work, net_done, j) != 0) {
    free(j->arg);
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}
