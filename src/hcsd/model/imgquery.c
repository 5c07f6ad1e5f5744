/* SPDX-License-Identifier: MIT */
/* The image store's queries: resolve (docker's order of lookups), the
 * image a container is made from, and the JSON of docker images and
 * docker image inspect. */
#include "hcsd/model/filters.h"
#include "hcsd/model/imgint.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t hcsd__img_time(const char *s) {
  struct tm tm = {0};
  int used = 0;
  if (s == NULL ||
      sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t t = (int64_t)timegm(&tm);
  const char *p = s + used;
  if (*p == '.') {
    p += 1 + strspn(p + 1, "0123456789");
  }
  int oh = 0, om = 0;
  if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) {
    int64_t off = (int64_t)oh * 3600 + om * 60;
    t += *p == '+' ? -off : off;
  }
  return t;
}

json_t *hcsd__img_resolve(hcsd_images_t *im, const char *ref, char **name) {
  if (name != NULL) {
    *name = NULL;
  }
  const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
  size_t n = strlen(hex);
  bool is_hex = n > 0 && n <= 64 && strspn(hex, "0123456789abcdef") == n;
  if (is_hex && n == 64) {
    char id[72];
    snprintf(id, sizeof(id), "sha256:%s", hex);
    return hcsd__img_find_by_id(im, id);
  }
  if (hex == ref) {
    char *norm = hcsd__img_normalise(ref);
    json_t *rec = norm != NULL ? hcsd__img_find_by_tag(im, norm) : NULL;
    if (rec != NULL && name != NULL) {
      *name = norm;
      return rec;
    }
    free(norm);
    if (rec != NULL) {
      return rec;
    }
  }
  json_t *found = NULL;
  size_t i;
  json_t *rec;
  json_array_foreach(im->images, i, rec) {
    if (is_hex && strncmp(hcsd__img_rec_str(rec, "Id") + 7, hex, n) == 0) {
      if (found != NULL) {
        return NULL; /* ambiguous */
      }
      found = rec;
    }
  }
  return found;
}

static char **str_array(const json_t *a) {
  if (!json_is_array(a)) {
    return NULL;
  }
  size_t n = json_array_size(a);
  char **out = calloc(n + 1, sizeof(*out));
  for (size_t i = 0; out != NULL && i < n; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if ((out[i] = strdup(s != NULL ? s : "")) == NULL) {
      for (size_t j = 0; j < i; j++) {
        free(out[j]);
      }
      free(out);
      out = NULL;
    }
  }
  return out;
}

static char *opt_strdup(const json_t *o, const char *key, bool *nomem) {
  const char *s = json_string_value(json_object_get(o, key));
  char *d = s != NULL ? strdup(s) : NULL;
  *nomem |= s != NULL && d == NULL;
  return d;
}

static hcsd_image_t *image_of(hcsd_images_t *im, const json_t *rec,
                              char *name) {
  hcsd_image_t *img = calloc(1, sizeof(*img));
  if (img == NULL) {
    free(name);
    return NULL;
  }
  img->name = name;
  bool nomem = (img->id = strdup(hcsd__img_rec_str(rec, "Id"))) == NULL;
  json_t *folders = json_object_get(rec, "Folders");
  if (folders != NULL) {
    img->layers = str_array(folders);
  } else {
    json_t *layers = json_object_get(rec, "Layers");
    size_t n = json_array_size(layers);
    img->layers = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; img->layers != NULL && i < n; i++) {
      json_t *l = json_array_get(layers, n - 1 - i);
      nomem |= (img->layers[i] = hcsd__img_path_join(
                    im->layers_dir, hcsd__img_rec_str(l, "Chain"))) == NULL;
    }
  }
  nomem |= img->layers == NULL;
  const json_t *c = json_object_get(json_object_get(rec, "Config"), "config");
  static const char *const keys[] = {"Cmd", "Entrypoint", "Env"};
  char ***arrays[] = {&img->cmd, &img->entrypoint, &img->env};
  for (int i = 0; i < 3; i++) {
    json_t *a = json_object_get(c, keys[i]);
    *arrays[i] = str_array(a);
    nomem |= json_is_array(a) && *arrays[i] == NULL;
  }
  img->working_dir = opt_strdup(c, "WorkingDir", &nomem);
  img->user = opt_strdup(c, "User", &nomem);
  img->stop_signal = opt_strdup(c, "StopSignal", &nomem);
  json_t *vols = json_object_get(c, "Volumes");
  img->volumes = json_is_object(vols) ? json_deep_copy(vols) : NULL;
  if (nomem) {
    hcsd_image_free(img);
    return NULL;
  }
  return img;
}

int hcsd_images_resolve(hcsd_images_t *im, const char *ref,
                        hcsd_image_t **out) {
  *out = NULL;
  pthread_mutex_lock(&im->mu);
  char *name = NULL;
  json_t *rec = hcsd__img_resolve(im, ref, &name);
  hcsd_image_t *img = rec != NULL ? image_of(im, rec, name) : NULL;
  pthread_mutex_unlock(&im->mu);
  if (rec == NULL) {
    return -ENOENT;
  }
  *out = img;
  return img != NULL ? 0 : -ENOMEM;
}

static void free_strv(char **v) {
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    free(v[i]);
  }
  free(v);
}

void hcsd_image_free(hcsd_image_t *img) {
  if (img == NULL) {
    return;
  }
  free(img->id);
  free(img->name);
  free_strv(img->layers);
  free_strv(img->cmd);
  free_strv(img->entrypoint);
  free_strv(img->env);
  free(img->working_dir);
  free(img->user);
  free(img->stop_signal);
  json_decref(img->volumes);
  free(img);
}

json_t *hcsd__img_familiar_tags(const json_t *rec) {
  json_t *out = json_array();
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(rec, "RepoTags"), i, t) {
    char *f = hcsd__img_familiar(json_string_value(t));
    if (f != NULL) {
      json_array_append_new(out, json_string(f));
    }
    free(f);
  }
  return out;
}

static int by_created_desc(const void *a, const void *b) {
  const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  json_int_t cx = json_integer_value(json_object_get(x, "Created"));
  json_int_t cy = json_integer_value(json_object_get(y, "Created"));
  if (cx != cy) {
    return cx < cy ? 1 : -1;
  }
  return strcmp(hcsd__img_rec_str(x, "Id"), hcsd__img_rec_str(y, "Id"));
}

/* ---- list filters (moby's docker images --filter) ---- */

static const char *const img_keys[] = {"dangling", "reference", "label",
                                       "before", "since"};

typedef struct img_filter_s {
  json_t *f;
  int dangling;          /* -1: not asked, else 0/1 */
  int64_t before, since; /* created (s), when asked */
  bool has_before, has_since;
} img_filter_t;

/* before=/since=: the image named, its creation time. Locked. */
static int img_bound(hcsd_images_t *im, const json_t *vals, int64_t *t,
                     bool *has, char **msg) {
  size_t i;
  json_t *s;
  json_array_foreach(vals, i, s) {
    const char *ref = json_string_value(s);
    json_t *rec = hcsd__img_resolve(im, ref, NULL);
    if (rec == NULL) {
      if (asprintf(msg, "No such image: %s%s", ref,
                   strchr(ref, ':') != NULL ? "" : ":latest") < 0) {
        *msg = NULL;
      }
      return 404;
    }
    *t = hcsd__img_time(
        hcsd__img_rec_str(json_object_get(rec, "Config"), "created"));
    *has = true;
  }
  return 0;
}

/* The filters read and checked: 0, or the status (400, 404) with *msg.
 * Locked. */
static int img_filter_new(hcsd_images_t *im, const char *text, img_filter_t *f,
                          char **msg) {
  char m[300];
  memset(f, 0, sizeof(*f));
  f->dangling = -1;
  if (hcsd__filters_parse(text, img_keys,
                          sizeof(img_keys) / sizeof(img_keys[0]), &f->f, m,
                          sizeof(m)) != 0) {
    *msg = strdup(m);
    return 400;
  }
  json_t *d = json_object_get(f->f, "dangling");
  for (size_t i = 0; i < json_array_size(d); i++) {
    const char *v = json_string_value(json_array_get(d, i));
    if (strcmp(v, "true") != 0 && strcmp(v, "1") != 0 &&
        strcmp(v, "false") != 0 && strcmp(v, "0") != 0) {
      if (asprintf(msg, "Invalid filter 'dangling=[%s]'", v) < 0) {
        *msg = NULL;
      }
      return 400;
    }
    f->dangling = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
  }
  int st = img_bound(im, json_object_get(f->f, "before"), &f->before,
                     &f->has_before, msg);
  return st != 0 ? st
                 : img_bound(im, json_object_get(f->f, "since"), &f->since,
                             &f->has_since, msg);
}

/* moby's reference match: a path pattern against the familiar name with
 * its tag, and without. */
static bool ref_match(const char *pattern, const char *familiar) {
  if (fnmatch(pattern, familiar, FNM_PATHNAME) == 0) {
    return true;
  }
  char name[512];
  snprintf(name, sizeof(name), "%s", familiar);
  char *colon = strrchr(name, ':');
  if (colon != NULL && strchr(colon, '/') == NULL) {
    *colon = '\0';
  }
  return fnmatch(pattern, name, FNM_PATHNAME) == 0;
}

/* The tags the reference filter lets through (all without one). */
static json_t *tags_matching(const img_filter_t *f, json_t *tags) {
  json_t *refs = json_object_get(f->f, "reference");
  if (refs == NULL) {
    return tags;
  }
  json_t *out = json_array();
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    for (size_t k = 0; k < json_array_size(refs); k++) {
      if (ref_match(json_string_value(json_array_get(refs, k)),
                    json_string_value(t))) {
        json_array_append(out, t);
        break;
      }
    }
  }
  json_decref(tags);
  return out;
}

/* The list entry of rec, or NULL when the filters leave it out. */
static json_t *img_entry(const img_filter_t *f, const json_t *rec) {
  json_t *config = json_object_get(rec, "Config");
  json_t *labels = json_object_get(json_object_get(config, "config"), "Labels");
  int64_t created = hcsd__img_time(hcsd__img_rec_str(config, "created"));
  json_t *all_tags = hcsd__img_familiar_tags(rec);
  bool dangling = json_array_size(all_tags) == 0;
  json_t *tags = tags_matching(f, all_tags);
  if ((f->dangling >= 0 && dangling != (f->dangling == 1)) ||
      (f->has_before && created >= f->before) ||
      (f->has_since && created <= f->since) ||
      !hcsd__filters_labels(f->f, labels) ||
      (json_object_get(f->f, "reference") != NULL &&
       json_array_size(tags) == 0)) {
    json_decref(tags);
    return NULL;
  }
  return json_pack("{s:s,s:s,s:o,s:[],s:I,s:O,s:i,s:o,s:i}", "Id",
                   hcsd__img_rec_str(rec, "Id"), "ParentId", "", "RepoTags",
                   tags, "RepoDigests", "Created", (json_int_t)created, "Size",
                   json_object_get(rec, "Size"), "SharedSize", -1, "Labels",
                   json_is_object(labels) ? json_deep_copy(labels)
                                          : json_object(),
                   "Containers", -1);
}

char *hcsd_images_list_json(hcsd_images_t *im) {
  int status;
  char *msg = NULL;
  char *text = hcsd_images_query_json(im, NULL, &status, &msg);
  free(msg);
  return text;
}

char *hcsd_images_query_json(hcsd_images_t *im, const char *filters,
                             int *status, char **msg) {
  *msg = NULL;
  pthread_mutex_lock(&im->mu);
  img_filter_t f;
  *status = img_filter_new(im, filters, &f, msg);
  if (*status != 0) {
    pthread_mutex_unlock(&im->mu);
    json_decref(f.f);
    return NULL;
  }
  size_t n = json_array_size(im->images);
  json_t **items = calloc(n + 1, sizeof(*items));
  size_t i, kept = 0;
  json_t *rec;
  json_array_foreach(im->images, i, rec) {
    if (items == NULL) {
      break;
    }
    json_t *item = img_entry(&f, rec);
    if (item != NULL) {
      items[kept++] = item;
    }
  }
  pthread_mutex_unlock(&im->mu);
  json_decref(f.f);
  n = kept;
  char *text = NULL;
  if (items != NULL) {
    qsort(items, n, sizeof(*items), by_created_desc);
    json_t *list = json_array();
    for (i = 0; i < n; i++) {
      json_array_append_new(list, items[i]);
    }
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
  }
  free(items);
  *status = text != NULL ? 200 : 500;
  if (text == NULL) {
    *msg = strdup("out of memory");
  }
  return text;
}

static json_t *config_str(const json_t *config, const char *key) {
  const char *s = hcsd__img_rec_str(config, key);
  return json_string(s != NULL ? s : "");
}

char *hcsd_images_inspect_json(hcsd_images_t *im, const char *ref) {
  pthread_mutex_lock(&im->mu);
  json_t *rec = hcsd__img_resolve(im, ref, NULL);
  json_t *o = NULL;
  if (rec != NULL) {
    json_t *config = json_object_get(rec, "Config");
    json_t *c = json_object_get(config, "config");
    json_t *diff_ids =
        json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    const char *created = hcsd__img_rec_str(config, "created");
    o = json_pack(
        "{s:s,s:o,s:[],s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:O,s:{s:s,s:n},"
        "s:{s:s,s:o},s:{s:s}}",
        "Id", hcsd__img_rec_str(rec, "Id"), "RepoTags",
        hcsd__img_familiar_tags(rec), "RepoDigests", "Parent", "", "Comment",
        config_str(config, "comment"), "Created",
        created != NULL ? created : HCSD_IMG_NO_TIME, "DockerVersion",
        config_str(config, "docker_version"), "Author",
        config_str(config, "author"), "Config",
        json_is_object(c) ? json_deep_copy(c) : json_object(), "Architecture",
        config_str(config, "architecture"), "Os", config_str(config, "os"),
        "Size", json_object_get(rec, "Size"), "GraphDriver", "Name",
        "windowsfilter", "Data", "RootFS", "Type", "layers", "Layers",
        json_is_array(diff_ids) ? json_deep_copy(diff_ids) : json_array(),
        "Metadata", "LastTagTime", hcsd__img_rec_str(rec, "LastTagTime"));
    const char *variant = hcsd__img_rec_str(config, "variant");
    if (o != NULL && variant != NULL) {
      json_object_set_new(o, "Variant", json_string(variant));
    }
  }
  pthread_mutex_unlock(&im->mu);
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return text;
}

size_t hcsd_images_count(hcsd_images_t *im) {
  pthread_mutex_lock(&im->mu);
  size_t n = json_array_size(im->images);
  pthread_mutex_unlock(&im->mu);
  return n;
}
