/* SPDX-License-Identifier: MIT */
/* The image store's queries: resolve (docker's order of lookups), the
 * image a container is made from, and the JSON of docker images and
 * docker image inspect. */
#include "hcsd/model/imgint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds since the epoch of an RFC 3339 time ("2025-01-01T00:00:00Z",
 * fractions and offsets allowed); 0 when s is none. */
static int64_t parse_time(const char *s) {
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

/* Docker's order of lookups: a full id, a reference, an id prefix
 * (unique). */
static json_t *resolve_locked(hcsd_images_t *im, const char *ref, char **name) {
  *name = NULL;
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
    if (rec != NULL) {
      *name = norm;
      return rec;
    }
    free(norm);
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
  json_t *rec = resolve_locked(im, ref, &name);
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
  free(img);
}

/* RepoTags as docker shows them. */
static json_t *familiar_tags(const json_t *rec) {
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

char *hcsd_images_list_json(hcsd_images_t *im) {
  pthread_mutex_lock(&im->mu);
  size_t n = json_array_size(im->images);
  json_t **items = calloc(n + 1, sizeof(*items));
  size_t i;
  json_t *rec;
  json_array_foreach(im->images, i, rec) {
    if (items == NULL) {
      break;
    }
    json_t *config = json_object_get(rec, "Config");
    json_t *labels =
        json_object_get(json_object_get(config, "config"), "Labels");
    items[i] = json_pack(
        "{s:s,s:s,s:o,s:[],s:I,s:O,s:i,s:o,s:i}", "Id",
        hcsd__img_rec_str(rec, "Id"), "ParentId", "", "RepoTags",
        familiar_tags(rec), "RepoDigests", "Created",
        (json_int_t)parse_time(hcsd__img_rec_str(config, "created")), "Size",
        json_object_get(rec, "Size"), "SharedSize", -1, "Labels",
        json_is_object(labels) ? json_deep_copy(labels) : json_object(),
        "Containers", -1);
  }
  pthread_mutex_unlock(&im->mu);
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
  return text;
}

static json_t *config_str(const json_t *config, const char *key) {
  const char *s = hcsd__img_rec_str(config, key);
  return json_string(s != NULL ? s : "");
}

char *hcsd_images_inspect_json(hcsd_images_t *im, const char *ref) {
  pthread_mutex_lock(&im->mu);
  char *name = NULL;
  json_t *rec = resolve_locked(im, ref, &name);
  free(name);
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
        "Id", hcsd__img_rec_str(rec, "Id"), "RepoTags", familiar_tags(rec),
        "RepoDigests", "Parent", "", "Comment", config_str(config, "comment"),
        "Created", created != NULL ? created : HCSD_IMG_NO_TIME,
        "DockerVersion", config_str(config, "docker_version"), "Author",
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
