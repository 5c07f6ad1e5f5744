/* SPDX-License-Identifier: MIT */
/* docker ps -s: the size of each listed container's writable layer
 * (SizeRw) and of that and its image (SizeRootFs), measured on the pool
 * as moby measures a directory: the sizes of everything but directories,
 * a file with several hard links once. */
#include "hcsd/model/ctr_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct size_one_s {
  char *upper;    /* <sandbox>/upper, or NULL */
  char *image_id; /* or NULL */
  int64_t rw, image;
} size_one_t;

typedef struct size_job_s {
  hcsd_t *d;
  json_t *list;
  size_one_t *v; /* one per list entry */
  size_t n;
  hcsd_list_cb done;
  void *data;
} size_job_t;

/* Inodes with more than one link, counted once. */
typedef struct links_s {
  struct {
    dev_t dev;
    ino_t ino;
  } * v;
  size_t n, cap;
} links_t;

static bool link_seen(links_t *l, const struct stat *st) {
  for (size_t i = 0; i < l->n; i++) {
    if (l->v[i].dev == st->st_dev && l->v[i].ino == st->st_ino) {
      return true;
    }
  }
  if (l->n == l->cap) {
    size_t cap = l->cap != 0 ? l->cap * 2 : 64;
    void *v = realloc(l->v, cap * sizeof(*l->v));
    if (v == NULL) {
      return false; /* counted again: a size, not an invariant */
    }
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n].dev = st->st_dev;
  l->v[l->n].ino = st->st_ino;
  l->n++;
  return false;
}

/* The size of what is under the directory fd (taken and closed). */
static int64_t dir_size(int fd, links_t *links, int depth) {
  DIR *dir = fdopendir(fd);
  if (dir == NULL) {
    close(fd);
    return 0;
  }
  int64_t total = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    struct stat st;
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      int sub = depth < 128
                    ? openat(dirfd(dir), e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    : -1;
      total += sub >= 0 ? dir_size(sub, links, depth + 1) : 0;
    } else if (st.st_nlink < 2 || !link_seen(links, &st)) {
      total += st.st_size;
    }
  }
  closedir(dir);
  return total;
}

int64_t hcsd__dir_bytes(int fd) {
  links_t links = {0};
  int64_t n = dir_size(fd, &links, 0);
  free(links.v);
  return n;
}

/* The image's Size from its inspect JSON, 0 when gone. */
static int64_t image_size(hcsd_t *d, const char *id) {
  char *text =
      d->images != NULL ? hcsd_images_inspect_json(d->images, id) : NULL;
  json_t *o = text != NULL ? json_loads(text, 0, NULL) : NULL;
  int64_t n = (int64_t)json_integer_value(json_object_get(o, "Size"));
  json_decref(o);
  free(text);
  return n;
}

static void size_work(void *data) {
  size_job_t *j = data;
  for (size_t i = 0; i < j->n; i++) {
    size_one_t *s = &j->v[i];
    int fd = s->upper != NULL
                 ? open(s->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                 : -1;
    s->rw = fd >= 0 ? hcsd__dir_bytes(fd) : 0;
    s->image = s->image_id != NULL ? image_size(j->d, s->image_id) : 0;
  }
}

static void size_done(void *data) {
  size_job_t *j = data;
  for (size_t i = 0; i < j->n; i++) {
    json_t *o = json_array_get(j->list, i);
    json_object_set_new(o, "SizeRw", json_integer(j->v[i].rw));
    json_object_set_new(o, "SizeRootFs",
                        json_integer(j->v[i].rw + j->v[i].image));
    free(j->v[i].upper);
    free(j->v[i].image_id);
  }
  j->done(j->list, j->data);
  free(j->v);
  free(j);
}

int hcsd_ctr_list_sizes(hcsd_t *d, json_t *list, hcsd_list_cb done, void *data,
                        hcsd_err_t *e) {
  size_job_t *j = calloc(1, sizeof(*j));
  size_t n = json_array_size(list);
  if (j == NULL || (j->v = calloc(n + 1, sizeof(*j->v))) == NULL) {
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  *j = (size_job_t){d, list, j->v, n, done, data};
  for (size_t i = 0; i < n; i++) {
    const char *id =
        json_string_value(json_object_get(json_array_get(list, i), "Id"));
    hcsd_ctr_t *c = id != NULL ? hcsd_ctr_find(d, id) : NULL;
    if (c != NULL && c->sandbox != NULL &&
        asprintf(&j->v[i].upper, "%s/upper", c->sandbox) < 0) {
      j->v[i].upper = NULL;
    }
    if (c != NULL && c->image_id != NULL) {
      j->v[i].image_id = strdup(c->image_id);
    }
  }
  if (hcsd_work(d, size_work, size_done, j) != 0) {
    for (size_t i = 0; i < n; i++) {
      free(j->v[i].upper);
      free(j->v[i].image_id);
    }
    free(j->v);
    free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}
