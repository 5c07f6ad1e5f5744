/* SPDX-License-Identifier: MIT */
/* The image store's changes besides a load: docker tag, docker rmi,
 * docker image prune, and the reads that go with them (docker history,
 * the images part of docker system df), as dockerd's image service does
 * them (daemon/images/image_delete.go, image_prune.go, image_history.go).
 * images.h says what each call answers. */
#include "hcsd/model/filters.h"
#include "hcsd/model/imgint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(char **msg, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char **msg, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(msg, fmt, ap) < 0) {
    *msg = NULL;
  }
  va_end(ap);
  return status;
}

int hcsd__img_no_such(char **msg, const char *ref) {
  char *norm = hcsd__img_normalise(ref);
  char *fam = norm != NULL ? hcsd__img_familiar(norm) : NULL;
  int st = fail(msg, 404, "No such image: %s", fam != NULL ? fam : ref);
  free(norm);
  free(fam);
  return st;
}

static bool untag_one(json_t *rec, const char *tag) {
  json_t *tags = json_object_get(rec, "RepoTags");
  for (size_t i = json_array_size(tags); i-- > 0;) {
    if (strcmp(json_string_value(json_array_get(tags, i)), tag) == 0) {
      json_array_remove(tags, i);
      return true;
    }
  }
  return false;
}

/* ---- tag ---- */

int hcsd_images_tag(hcsd_images_t *im, const char *src, const char *repo,
                    const char *tag, char **msg) {
  *msg = NULL;
  size_t rn = repo != NULL ? strlen(repo) : 0;
  if (rn == 64 && strspn(repo, "0123456789abcdef") == 64) {
    return fail(msg, 400,
                "invalid repository name (%s), cannot specify 64-byte "
                "hexadecimal strings",
                repo);
  }
  /* moby's RepoTagReference: repo's own tag gives way to tag. */
  const char *slash = repo != NULL ? strrchr(repo, '/') : NULL;
  const char *colon =
      repo != NULL ? strrchr(slash != NULL ? slash : repo, ':') : NULL;
  bool has_tag = tag != NULL && tag[0] != '\0';
  size_t keep = colon != NULL && has_tag ? (size_t)(colon - repo) : rn;
  char *want = NULL;
  if (rn == 0 || asprintf(&want, "%.*s%s%s", (int)keep, repo,
                          has_tag ? ":" : "", has_tag ? tag : "") < 0) {
    return fail(msg, 400, "invalid reference format");
  }
  char *norm = hcsd__img_normalise(want);
  bool upper = false; /* in the name: docker's own message for that */
  for (size_t i = 0; i < keep && repo[i] != ':'; i++) {
    upper |= repo[i] >= 'A' && repo[i] <= 'Z';
  }
  free(want);
  if (norm == NULL) {
    return fail(msg, 400, "invalid reference format%s",
                upper ? ": repository name must be lowercase" : "");
  }
  pthread_mutex_lock(&im->mu);
  json_t *rec = hcsd__img_resolve(im, src, NULL);
  int st = 201;
  if (rec == NULL) {
    st = hcsd__img_no_such(msg, src);
  } else {
    size_t i;
    json_t *other;
    json_array_foreach(im->images, i, other) { untag_one(other, norm); }
    json_array_append_new(json_object_get(rec, "RepoTags"), json_string(norm));
    char now[40];
    hcsd__img_now(now);
    json_object_set_new(rec, "LastTagTime", json_string(now));
    int err = hcsd__img_save(im);
    if (err != 0) {
      st = fail(msg, 500, "saving the image list: %s", strerror(-err));
    }
  }
  pthread_mutex_unlock(&im->mu);
  free(norm);
  return st;
}

/* ---- delete ---- */

static const hcsd_img_user_t *first_user(const hcsd_img_users_t *u,
                                         const char *id, int running) {
  for (size_t i = 0; u != NULL && i < u->n; i++) {
    if (strcmp(u->v[i].image_id, id) == 0 &&
        (running < 0 || u->v[i].running == (running == 1))) {
      return &u->v[i];
    }
  }
  return NULL;
}

/* Whether a container's root stands on the layer folder. */
static bool layer_in_use(const hcsd_img_users_t *u, const char *folder) {
  for (size_t i = 0; u != NULL && i < u->n; i++) {
    for (char **l = u->v[i].layers; l != NULL && *l != NULL; l++) {
      if (strcmp(*l, folder) == 0) {
        return true;
      }
    }
  }
  return false;
}

typedef struct del_s {
  hcsd_images_t *im;
  const hcsd_img_users_t *users;
  json_t *out;        /* [{"Untagged"} / {"Deleted"}] */
  uint64_t reclaimed; /* bytes of the layers removed */
  char **msg;
  /* No load runs (its lock is held): a load checks which layers the
   * store has before it adds its image, so a layer goes only while none
   * runs; meanwhile it is kept, and goes at a later rmi or prune. */
  bool excl;
} del_t;

static void add_item(del_t *D, const char *key, const char *value) {
  json_array_append_new(D->out, json_pack("{s:s}", key, value));
}

/* moby's checkImageDeleteConflict: hard ones (a running container) and,
 * unless force, soft ones (other tags, a stopped container). 0, or 409
 * with *msg. */
static int conflict(del_t *D, const json_t *rec, bool force, bool tags) {
  const char *id = hcsd__img_rec_str(rec, "Id");
  const hcsd_img_user_t *u = first_user(D->users, id, 1);
  const char *why = NULL;
  char buf[128];
  bool hard = false;
  if (u != NULL) {
    snprintf(buf, sizeof(buf), "image is being used by running container %.12s",
             u->ctr_id);
    why = buf;
    hard = true;
  } else if (!force && tags &&
             json_array_size(json_object_get(rec, "RepoTags")) > 0) {
    why = "image is referenced in multiple repositories";
  } else if (!force && (u = first_user(D->users, id, 0)) != NULL) {
    snprintf(buf, sizeof(buf), "image is being used by stopped container %.12s",
             u->ctr_id);
    why = buf;
  }
  if (why == NULL) {
    return 0;
  }
  return fail(D->msg, 409, "conflict: unable to delete %.12s (%s) - %s", id + 7,
              hard ? "cannot be forced" : "must be forced", why);
}

/* Layer i of layers (a record's, base first) outlives its image, for a
 * container or a load under way: kept with the ones under it. */
static void keep_for_container(hcsd_images_t *im, json_t *layers, size_t i) {
  json_t *below = json_array();
  for (size_t k = 0; k < i; k++) {
    json_array_append(below,
                      json_object_get(json_array_get(layers, k), "Chain"));
  }
  json_t *l = json_array_get(layers, i);
  json_array_append_new(
      im->kept, json_pack("{s:O,s:O,s:o}", "Chain", json_object_get(l, "Chain"),
                          "Size", json_object_get(l, "Size"), "Below", below));
}

/* The kept layers no container uses any more go, each with those under
 * it that nothing else holds; with the load lock held. */
static void release_kept(hcsd_images_t *im, const hcsd_img_users_t *users) {
  for (size_t i = json_array_size(im->kept); i-- > 0;) {
    json_t *k = json_incref(json_array_get(im->kept, i));
    char *folder =
        hcsd__img_path_join(im->layers_dir, hcsd__img_rec_str(k, "Chain"));
    if (folder == NULL || layer_in_use(users, folder)) {
      free(folder);
      json_decref(k);
      continue;
    }
    free(folder);
    json_array_remove(im->kept, i);
    json_t *below = json_object_get(k, "Below");
    for (size_t j = json_array_size(below) + 1; j-- > 0;) {
      const char *chain = j == json_array_size(below)
                              ? hcsd__img_rec_str(k, "Chain")
                              : json_string_value(json_array_get(below, j));
      hcs_error_t *err = NULL;
      if (hcsd__img_layer_used(im, chain) ||
          hcs_DestroyLayer(&im->info, chain, &err) != HCS_OK) {
        hcs_error_free(err);
        break;
      }
    }
    json_decref(k);
  }
}

/* Removes rec (its tags listed as untagged) and the layers no other
 * image nor container holds, top first, each listed as deleted. */
static void remove_record(del_t *D, json_t *rec) {
  json_t *tags = json_object_get(rec, "RepoTags");
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    char *f = hcsd__img_familiar(json_string_value(t));
    add_item(D, "Untagged", f != NULL ? f : json_string_value(t));
    free(f);
  }
  add_item(D, "Deleted", hcsd__img_rec_str(rec, "Id"));
  json_incref(rec);
  json_array_foreach(D->im->images, i, t) {
    if (t == rec) {
      json_array_remove(D->im->images, i);
      break;
    }
  }
  if (json_is_true(json_object_get(rec, "Builtin"))) {
    D->im->builtin_removed = true;
  }
  json_t *layers = json_object_get(rec, "Layers");
  for (i = json_array_size(layers); i-- > 0;) {
    json_t *l = json_array_get(layers, i);
    const char *chain = hcsd__img_rec_str(l, "Chain");
    char *folder = hcsd__img_path_join(D->im->layers_dir, chain);
    bool used = folder == NULL || hcsd__img_layer_used(D->im, chain);
    bool keep = used || !D->excl || layer_in_use(D->users, folder);
    free(folder);
    if (!used && keep) {
      keep_for_container(D->im, layers, i);
    }
    hcs_error_t *err = NULL;
    if (keep || hcs_DestroyLayer(&D->im->info, chain, &err) != HCS_OK) {
      hcs_error_free(err);
      break; /* its parents stay with it */
    }
    char deleted[72];
    snprintf(deleted, sizeof(deleted), "sha256:%s", chain);
    add_item(D, "Deleted", deleted);
    D->reclaimed += (uint64_t)json_integer_value(json_object_get(l, "Size"));
  }
  json_decref(rec);
}

/* moby's ImageDelete for ref; locked. */
static int delete_locked(del_t *D, const char *ref, bool force) {
  char *name = NULL;
  json_t *rec = hcsd__img_resolve(D->im, ref, &name);
  if (rec == NULL) {
    return hcsd__img_no_such(D->msg, ref);
  }
  const char *id = hcsd__img_rec_str(rec, "Id");
  size_t ntags = json_array_size(json_object_get(rec, "RepoTags"));
  if (name != NULL) {
    /* A reference: untag it; the image goes with its last tag unless a
     * container uses it (then only with force, and never a running
     * one's). */
    const hcsd_img_user_t *u = first_user(D->users, id, -1);
    if (!force && ntags <= 1 && u != NULL) {
      free(name);
      return fail(D->msg, 409,
                  "conflict: unable to remove repository reference \"%s\" "
                  "(must force) - container %.12s is using its "
                  "referenced image %.12s",
                  ref, u->ctr_id, id + 7);
    }
    untag_one(rec, name);
    char *fam = hcsd__img_familiar(name);
    add_item(D, "Untagged", fam != NULL ? fam : name);
    free(fam);
    free(name);
    /* Its last tag gone, it goes too, but for a running container's
     * (moby: a conflict ignored after an untag). */
    if (ntags <= 1 && first_user(D->users, id, 1) == NULL) {
      remove_record(D, rec);
    }
    return 200;
  }
  int st = conflict(D, rec, force, ntags > 1);
  if (st != 0) {
    return st;
  }
  remove_record(D, rec);
  return 200;
}

static char *dump_out(json_t *out) {
  char *text = json_dumps(out, JSON_COMPACT);
  json_decref(out);
  return text;
}

int hcsd_images_delete(hcsd_images_t *im, const char *ref, bool force,
                       const hcsd_img_users_t *users, char **out, char **msg) {
  *out = NULL;
  *msg = NULL;
  del_t D = {.im = im, .users = users, .out = json_array(), .msg = msg};
  D.excl = pthread_mutex_trylock(&im->load_mu) == 0;
  pthread_mutex_lock(&im->mu);
  if (D.excl) {
    release_kept(im, users);
  }
  int st = delete_locked(&D, ref, force);
  int err = hcsd__img_save(im); /* release_kept may have changed it */
  pthread_mutex_unlock(&im->mu);
  if (D.excl) {
    pthread_mutex_unlock(&im->load_mu);
  }
  if (err != 0) {
    json_decref(D.out);
    return fail(msg, 500, "saving the image list: %s", strerror(-err));
  }
  if (st != 200) {
    json_decref(D.out);
    return st;
  }
  *out = dump_out(D.out);
  return *out != NULL ? 200 : fail(msg, 500, "out of memory");
}

/* ---- prune ---- */

static const char *const prune_keys[] = {"dangling", "label", "label!",
                                         "until"};

bool hcsd__img_until(const char *v, int64_t now, int64_t *out) {
  char *end;
  if (v[0] == '\0') {
    return false;
  }
  if (strspn(v, "0123456789.") == strlen(v)) {
    *out = (int64_t)strtod(v, &end);
    return *end == '\0';
  }
  if (strlen(v) >= 10 && v[4] == '-' && v[7] == '-') {
    char buf[64];
    snprintf(buf, sizeof(buf), "%s%s", v, strlen(v) == 10 ? "T00:00:00Z" : "");
    *out = hcsd__img_time(buf);
    return *out != 0;
  }
  double total = 0;
  const char *p = v;
  while (*p != '\0') {
    double x = strtod(p, &end);
    if (end == p) {
      return false;
    }
    p = end;
    double unit = *p == 'h'                  ? 3600
                  : *p == 'm' && p[1] != 's' ? 60
                  : *p == 's'                ? 1
                                             : 0;
    if (strncmp(p, "ms", 2) == 0) {
      unit = 0.001;
      p++;
    }
    if (unit == 0) {
      return false;
    }
    total += x * unit;
    p++;
  }
  *out = now - (int64_t)total;
  return true;
}

bool hcsd__img_labels_pass(const json_t *f, const json_t *labels) {
  if (!hcsd__filters_labels(f, labels)) {
    return false;
  }
  const json_t *neg = json_object_get(f, "label!");
  for (size_t i = 0; i < json_array_size(neg); i++) {
    if (hcsd__filters_label(labels,
                            json_string_value(json_array_get(neg, i)))) {
      return false;
    }
  }
  return true;
}

/* Whether the prune filters f let rec go. */
static bool prune_match(const json_t *f, const json_t *rec, bool dangling_only,
                        int64_t until, bool has_until) {
  const json_t *config = json_object_get(rec, "Config");
  const json_t *labels =
      json_object_get(json_object_get(config, "config"), "Labels");
  if (dangling_only && json_array_size(json_object_get(rec, "RepoTags")) > 0) {
    return false;
  }
  if (has_until &&
      hcsd__img_time(hcsd__img_rec_str(config, "created")) >= until) {
    return false;
  }
  return hcsd__img_labels_pass(f, labels);
}

/* The filters read: 0, or 400 with *msg. */
static int prune_filters(const char *text, json_t **f, bool *dangling_only,
                         int64_t *until, bool *has_until, char **msg) {
  char m[300];
  if (hcsd__filters_parse(text, prune_keys,
                          sizeof(prune_keys) / sizeof(prune_keys[0]), f, m,
                          sizeof(m)) != 0) {
    return fail(msg, 400, "%s", m);
  }
  *dangling_only = true;
  json_t *d = json_object_get(*f, "dangling");
  for (size_t i = 0; i < json_array_size(d); i++) {
    const char *v = json_string_value(json_array_get(d, i));
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
      *dangling_only = true;
    } else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
      *dangling_only = false;
    } else {
      return fail(msg, 400, "Invalid filter 'dangling=%s'", v);
    }
  }
  *has_until = false;
  json_t *u = json_object_get(*f, "until");
  if (json_array_size(u) > 1) {
    return fail(msg, 400, "more than one until filter specified");
  }
  if (json_array_size(u) == 1) {
    const char *v = json_string_value(json_array_get(u, 0));
    if (!hcsd__img_until(v, (int64_t)time(NULL), until)) {
      return fail(msg, 400, "failed to parse value as time or duration: \"%s\"",
                  v);
    }
    *has_until = true;
  }
  return 0;
}

int hcsd_images_prune(hcsd_images_t *im, const char *filters,
                      const hcsd_img_users_t *users, char **out, char **msg) {
  *out = NULL;
  *msg = NULL;
  json_t *f = NULL;
  bool dangling_only = true, has_until = false;
  int64_t until = 0;
  int st = prune_filters(filters, &f, &dangling_only, &until, &has_until, msg);
  if (st != 0) {
    json_decref(f);
    return st;
  }
  del_t D = {.im = im, .users = users, .out = json_array(), .msg = msg};
  D.excl = pthread_mutex_trylock(&im->load_mu) == 0;
  pthread_mutex_lock(&im->mu);
  if (D.excl) {
    release_kept(im, users);
  }
  for (size_t i = json_array_size(im->images); i-- > 0;) {
    json_t *rec = json_array_get(im->images, i);
    if (first_user(users, hcsd__img_rec_str(rec, "Id"), -1) == NULL &&
        prune_match(f, rec, dangling_only, until, has_until)) {
      remove_record(&D, rec);
    }
  }
  int err = hcsd__img_save(im);
  pthread_mutex_unlock(&im->mu);
  if (D.excl) {
    pthread_mutex_unlock(&im->load_mu);
  }
  json_decref(f);
  if (err != 0) {
    json_decref(D.out);
    return fail(msg, 500, "saving the image list: %s", strerror(-err));
  }
  json_t *rep = json_pack(
      "{s:o,s:I}", "ImagesDeleted",
      json_array_size(D.out) > 0 ? D.out : (json_decref(D.out), json_null()),
      "SpaceReclaimed", (json_int_t)D.reclaimed);
  *out = rep != NULL ? dump_out(rep) : NULL;
  return *out != NULL ? 200 : fail(msg, 500, "out of memory");
}

/* ---- history ---- */

char *hcsd_images_history_json(hcsd_images_t *im, const char *ref) {
  pthread_mutex_lock(&im->mu);
  json_t *rec = hcsd__img_resolve(im, ref, NULL);
  json_t *list = NULL;
  if (rec != NULL) {
    list = json_array();
    json_t *config = json_object_get(rec, "Config");
    json_t *layers = json_object_get(rec, "Layers");
    json_t *tags = hcsd__img_familiar_tags(rec);
    size_t i, k = 0;
    json_t *h;
    json_array_foreach(json_object_get(config, "history"), i, h) {
      json_int_t size = 0;
      if (!json_is_true(json_object_get(h, "empty_layer"))) {
        json_t *l = json_array_get(layers, k++);
        size = json_integer_value(json_object_get(l, "Size"));
      }
      const char *by = hcsd__img_rec_str(h, "created_by");
      const char *comment = hcsd__img_rec_str(h, "comment");
      json_array_insert_new(
          list, 0,
          json_pack("{s:s,s:I,s:s,s:n,s:I,s:s}", "Id", "<missing>", "Created",
                    (json_int_t)hcsd__img_time(hcsd__img_rec_str(h, "created")),
                    "CreatedBy", by != NULL ? by : "", "Tags", "Size", size,
                    "Comment", comment != NULL ? comment : ""));
    }
    json_t *top = json_array_get(list, 0);
    if (top != NULL) {
      json_object_set_new(top, "Id", json_string(hcsd__img_rec_str(rec, "Id")));
      json_object_set(top, "Tags",
                      json_array_size(tags) > 0 ? tags : json_null());
    }
    json_decref(tags);
  }
  pthread_mutex_unlock(&im->mu);
  return list != NULL ? dump_out(list) : NULL;
}

/* ---- system df ---- */

/* Locked: each layer's chain -> the number of images holding it, and
 * *total the bytes of the layers counted once each (LayersSize). */
static json_t *layer_counts(hcsd_images_t *im, int64_t *total) {
  json_t *counts = json_object();
  size_t i, j;
  json_t *rec, *l;
  json_array_foreach(im->images, i, rec) {
    json_int_t own = json_integer_value(json_object_get(rec, "Size"));
    if (json_array_size(json_object_get(rec, "Layers")) == 0) {
      *total += own; /* the built-in base: one layer of its own */
    }
    json_array_foreach(json_object_get(rec, "Layers"), j, l) {
      const char *chain = hcsd__img_rec_str(l, "Chain");
      json_int_t k = json_integer_value(json_object_get(counts, chain));
      if (k == 0) {
        *total += json_integer_value(json_object_get(l, "Size"));
      }
      json_object_set_new(counts, chain, json_integer(k + 1));
    }
  }
  return counts;
}

/* Locked: the bytes of rec's layers that other images hold too. */
static json_int_t shared_size(const json_t *rec, const json_t *counts) {
  json_int_t n = 0;
  size_t j;
  json_t *l;
  json_array_foreach(json_object_get(rec, "Layers"), j, l) {
    if (json_integer_value(
            json_object_get(counts, hcsd__img_rec_str(l, "Chain"))) > 1) {
      n += json_integer_value(json_object_get(l, "Size"));
    }
  }
  return n;
}

char *hcsd_images_df_json(hcsd_images_t *im, const hcsd_img_users_t *users,
                          int64_t *total, int64_t *reclaimable) {
  *total = 0;
  *reclaimable = 0;
  char *text = hcsd_images_list_json(im);
  json_t *list = text != NULL ? json_loads(text, 0, NULL) : NULL;
  free(text);
  pthread_mutex_lock(&im->mu);
  json_t *counts = layer_counts(im, total);
  size_t i;
  json_t *o;
  json_array_foreach(list, i, o) {
    const char *id = json_string_value(json_object_get(o, "Id"));
    json_int_t n = 0;
    for (size_t k = 0; users != NULL && k < users->n; k++) {
      n += strcmp(users->v[k].image_id, id) == 0;
    }
    json_t *rec = hcsd__img_find_by_id(im, id);
    json_int_t size = json_integer_value(json_object_get(o, "Size"));
    json_int_t shared = rec != NULL ? shared_size(rec, counts) : 0;
    json_object_set_new(o, "Containers", json_integer(n));
    json_object_set_new(o, "SharedSize", json_integer(shared));
    *reclaimable += n == 0 ? size - shared : 0;
  }
  pthread_mutex_unlock(&im->mu);
  json_decref(counts);
  return list != NULL ? dump_out(list) : NULL;
}
