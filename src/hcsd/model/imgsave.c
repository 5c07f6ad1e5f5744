/* SPDX-License-Identifier: MIT */
/* docker save (images.h, hcsd_images_save): a docker-archive in the layout
 * dockerd 20.10 writes and every docker load reads (docs/docker-api.md
 * section 8): per layer "<v1 id>/VERSION", "<v1 id>/json" and
 * "<v1 id>/layer.tar", the config as "<hex>.json", manifest.json and
 * repositories.
 *
 * Layer tars are exported again from the layer store (hcs_ExportLayer:
 * entries in name order, so the same layer gives the same tar). A tar
 * that differs from the one loaded has another digest, and docker load
 * checks each layer against the config's rootfs.diff_ids: the config
 * then names the digests of the tars written, which gives the image
 * another id. The config's bytes are its JSON as hcsd keeps it, so an
 * image keeps its id only when both come out as they went in. */
#include "hcsd/model/imgint.h"
#include "hcsd/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct save_img_s {
  json_t *rec;  /* the store's while picking, then a copy */
  json_t *tags; /* the normalised tags to write */
} save_img_t;

typedef struct save_s {
  hcsd_images_t *im;
  struct archive *a;
  char tmp[4096];                     /* the export folder, under the store */
  json_t *manifest, *repos, *written; /* written: v1 id -> digest */
  char **msg;
  char buf[HCSD_IMG_BUF];
} save_t;

static int fail(save_t *S, int status, const char *what, const char *detail) {
  if (*S->msg == NULL &&
      asprintf(S->msg, "%s: %s", what, detail != NULL ? detail : "") < 0) {
    *S->msg = NULL;
  }
  return status;
}

static int add_bytes(save_t *S, const char *name, const void *p, size_t n,
                     mode_t mode) {
  struct archive_entry *e = archive_entry_new();
  if (e == NULL) {
    return fail(S, 500, name, "out of memory");
  }
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, mode == 0 ? AE_IFREG : mode);
  archive_entry_set_perm(e, mode == 0 ? 0644 : 0755);
  archive_entry_set_size(e, mode == 0 ? (la_int64_t)n : 0);
  archive_entry_set_mtime(e, 0, 0);
  int r = archive_write_header(S->a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK ||
      (n > 0 && archive_write_data(S->a, p, n) != (la_ssize_t)n)) {
    return fail(S, 500, name, archive_error_string(S->a));
  }
  return 0;
}

/* Copies the file at path into the archive as name. */
static int add_file(save_t *S, const char *name, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int err = errno;
    if (fd >= 0) {
      close(fd);
    }
    return fail(S, 500, path, strerror(err));
  }
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, st.st_size);
  archive_entry_set_mtime(e, 0, 0);
  int st_code = archive_write_header(S->a, e) == ARCHIVE_OK
                    ? 0
                    : fail(S, 500, name, archive_error_string(S->a));
  archive_entry_free(e);
  ssize_t n;
  while (st_code == 0 && (n = read(fd, S->buf, sizeof(S->buf))) > 0) {
    if (archive_write_data(S->a, S->buf, (size_t)n) != n) {
      st_code = fail(S, 500, name, archive_error_string(S->a));
    }
  }
  close(fd);
  return st_code;
}

/* The v1 id docker gives a layer: here the digest of its chain id and
 * its parent's v1 id, stable for a chain. */
static void v1_id(const char *chain, const char *parent, char out[65]) {
  char in[140];
  int n = snprintf(in, sizeof(in), "%s %s", chain, parent);
  (void)hcsd_sha256_hex(in, (size_t)n, out);
}

/* Exports one layer into S->tmp and writes it; *digest its tar's. */
static int save_layer(save_t *S, const hcs_driver_info_t *info, const char *id,
                      const char *v1, const char *parent, char digest[72]) {
  char sub[4200], path[4300], name[128];
  const char *seen = hcsd__img_rec_str(S->written, v1);
  if (seen != NULL) {
    snprintf(digest, 72, "%s", seen);
    return 0;
  }
  snprintf(sub, sizeof(sub), "%s/%s", S->tmp, v1);
  hcs_error_t *err = NULL;
  if (hcs_ExportLayer(info, id, sub, NULL, &err) != HCS_OK) {
    int st = fail(S, 500, "exporting a layer", hcs_error_message(err));
    hcs_error_free(err);
    return st;
  }
  snprintf(path, sizeof(path), "%s/layer.json", sub);
  json_t *meta = json_load_file(path, 0, NULL);
  const char *dg = hcsd__img_rec_str(meta, "Digest");
  snprintf(digest, 72, "%s", dg != NULL ? dg : "");
  json_decref(meta);
  if (strlen(digest) != 71) {
    return fail(S, 500, "exporting a layer", "no digest in layer.json");
  }
  json_object_set_new(S->written, v1, json_string(digest));
  snprintf(name, sizeof(name), "%s/VERSION", v1);
  int st = add_bytes(S, name, "1.0", 3, 0);
  json_t *j = json_pack("{s:s}", "id", v1);
  if (parent[0] != '\0') {
    json_object_set_new(j, "parent", json_string(parent));
  }
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  snprintf(name, sizeof(name), "%s/json", v1);
  st = st == 0 && text != NULL ? add_bytes(S, name, text, strlen(text), 0)
                               : (st != 0 ? st : 500);
  free(text);
  snprintf(path, sizeof(path), "%s/layer.tar", sub);
  snprintf(name, sizeof(name), "%s/layer.tar", v1);
  return st == 0 ? add_file(S, name, path) : st;
}

/* One image: its layers, its config, its manifest item. */
static int save_image(save_t *S, const save_img_t *img) {
  json_t *config = json_deep_copy(json_object_get(img->rec, "Config"));
  json_t *layers_out = json_array();
  json_t *diff_ids = json_array();
  json_t *folders = json_object_get(img->rec, "Folders");
  json_t *layers = json_object_get(img->rec, "Layers");
  size_t n =
      folders != NULL ? json_array_size(folders) : json_array_size(layers);
  char parent[65] = "", v1[65] = "";
  int st = 0;
  for (size_t i = 0; st == 0 && i < n; i++) {
    hcs_driver_info_t info = S->im->info;
    char home[4096], id[256], digest[72];
    if (folders != NULL) {
      /* The built-in base: one layer of the shared image home. */
      const char *f = json_string_value(json_array_get(folders, i));
      const char *slash = strrchr(f, '/');
      snprintf(home, sizeof(home), "%.*s", (int)(slash - f), f);
      snprintf(id, sizeof(id), "%s", slash + 1);
      info =
          (hcs_driver_info_t){.flavour = HCS_FLAVOUR_FILTER, .home_dir = home};
    } else {
      snprintf(id, sizeof(id), "%s",
               hcsd__img_rec_str(json_array_get(layers, i), "Chain"));
    }
    v1_id(id, parent, v1);
    st = save_layer(S, &info, id, v1, parent, digest);
    char tar[80];
    snprintf(tar, sizeof(tar), "%s/layer.tar", v1);
    json_array_append_new(layers_out, json_string(tar));
    json_array_append_new(diff_ids, json_string(digest));
    snprintf(parent, sizeof(parent), "%s", v1);
  }
  json_t *rootfs = json_object_get(config, "rootfs");
  if (!json_is_object(rootfs)) {
    rootfs = json_object();
    json_object_set_new(config, "rootfs", rootfs);
  }
  json_object_set_new(rootfs, "type", json_string("layers"));
  json_object_set_new(rootfs, "diff_ids", diff_ids);
  char *text = st == 0 ? json_dumps(config, JSON_COMPACT) : NULL;
  char hex[65], name[80];
  if (st == 0 && (text == NULL || hcsd_sha256_hex(text, strlen(text), hex))) {
    st = fail(S, 500, "the image config", "out of memory");
  }
  if (st == 0) {
    snprintf(name, sizeof(name), "%s.json", hex);
    st = add_bytes(S, name, text, strlen(text), 0);
  }
  free(text);
  json_decref(config);
  json_t *tags = json_array();
  size_t i;
  json_t *t;
  json_array_foreach(img->tags, i, t) {
    char *f = hcsd__img_familiar(json_string_value(t));
    char *colon = f != NULL ? strrchr(f, ':') : NULL;
    if (colon == NULL) {
      free(f);
      continue;
    }
    json_array_append_new(tags, json_string(f));
    *colon = '\0';
    json_t *repo = json_object_get(S->repos, f);
    if (repo == NULL) {
      repo = json_object();
      json_object_set_new(S->repos, f, repo);
    }
    json_object_set_new(repo, colon + 1, json_string(v1));
    free(f);
  }
  json_array_append_new(S->manifest,
                        json_pack("{s:s,s:o,s:o}", "Config", name, "RepoTags",
                                  json_array_size(tags) > 0
                                      ? tags
                                      : (json_decref(tags), json_null()),
                                  "Layers", layers_out));
  return st;
}

/* Whether normalised tag t is of the repository of normalised ref r. */
static bool same_repo(const char *t, const char *r) {
  const char *ct = strrchr(t, ':'), *cr = strrchr(r, ':');
  return ct - t == cr - r && strncmp(t, r, (size_t)(ct - t)) == 0;
}

/* moby's parseNames: an id saves no tag; a name with its tag saves that
 * tag; a name alone every tag of its repository. */
static int pick_one(save_t *S, json_t *rec, const char *name, bool name_only,
                    save_img_t *imgs, size_t *n);

static int pick(save_t *S, const char *ref, save_img_t *imgs, size_t *n) {
  const char *slash = strrchr(ref, '/');
  bool name_only = strchr(slash != NULL ? slash : ref, ':') == NULL;
  char *norm = name_only ? hcsd__img_normalise(ref) : NULL;
  bool found = false;
  size_t i;
  json_t *rec;
  /* A name alone: every image with a tag of its repository. */
  json_array_foreach(S->im->images, i, rec) {
    size_t j;
    json_t *t;
    bool hit = false;
    json_array_foreach(json_object_get(rec, "RepoTags"), j, t) {
      hit |= norm != NULL && same_repo(json_string_value(t), norm);
    }
    if (hit) {
      found = true;
      (void)pick_one(S, rec, norm, true, imgs, n);
    }
  }
  free(norm);
  if (found) {
    return 0;
  }
  char *name = NULL;
  rec = hcsd__img_resolve(S->im, ref, &name);
  if (rec == NULL) {
    /* moby's parseNames: a tagged name is looked up as a reference, the
     * rest as an image. */
    if (!name_only) {
      *S->msg = strdup("reference does not exist");
    } else if (asprintf(S->msg, "No such image: %s", ref) < 0) {
      *S->msg = NULL;
    }
    return 404;
  }
  int st = pick_one(S, rec, name, false, imgs, n);
  free(name);
  return st;
}

/* Adds rec (once) with the tags name stands for. */
static int pick_one(save_t *S, json_t *rec, const char *name, bool name_only,
                    save_img_t *imgs, size_t *n) {
  (void)S;
  size_t k = 0;
  while (k < *n && imgs[k].rec != rec) {
    k++;
  }
  if (k == *n) {
    imgs[k] = (save_img_t){rec, json_array()};
    (*n)++;
  }
  json_t *tags = json_object_get(rec, "RepoTags");
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    const char *s = json_string_value(t);
    bool want =
        name != NULL && (name_only ? same_repo(s, name) : strcmp(s, name) == 0);
    size_t j;
    json_t *have;
    json_array_foreach(imgs[k].tags, j, have) {
      want = want && strcmp(json_string_value(have), s) != 0;
    }
    if (want) {
      json_array_append(imgs[k].tags, t);
    }
  }
  return 0;
}

/* The images are picked under the store's lock and written from copies
 * of their records without it, so that a long save holds up no run, list
 * or load (a layer removed meanwhile fails the save). */
static int save_all(save_t *S, const char *const *refs, size_t n) {
  pthread_mutex_lock(&S->im->mu);
  save_img_t *imgs = calloc(json_array_size(S->im->images) + 1, sizeof(*imgs));
  size_t nimg = 0;
  int st = imgs != NULL ? 0 : fail(S, 500, "saving", "out of memory");
  for (size_t i = 0; st == 0 && i < n; i++) {
    st = pick(S, refs[i], imgs, &nimg);
  }
  for (size_t i = 0; i < nimg; i++) {
    imgs[i].rec = json_deep_copy(imgs[i].rec);
    if (imgs[i].rec == NULL && st == 0) {
      st = fail(S, 500, "saving", "out of memory");
    }
  }
  pthread_mutex_unlock(&S->im->mu);
  for (size_t i = 0; st == 0 && i < nimg; i++) {
    st = save_image(S, &imgs[i]);
  }
  for (size_t i = 0; i < nimg; i++) {
    json_decref(imgs[i].rec);
    json_decref(imgs[i].tags);
  }
  free(imgs);
  char *m = st == 0 ? json_dumps(S->manifest, JSON_COMPACT) : NULL;
  char *r = st == 0 ? json_dumps(S->repos, JSON_COMPACT) : NULL;
  if (st == 0 && (m == NULL || r == NULL)) {
    st = fail(S, 500, "saving", "out of memory");
  }
  if (st == 0) {
    st = add_bytes(S, "manifest.json", m, strlen(m), 0);
  }
  if (st == 0 && json_object_size(S->repos) > 0) {
    st = add_bytes(S, "repositories", r, strlen(r), 0);
  }
  free(m);
  free(r);
  return st;
}

int hcsd_images_save(hcsd_images_t *im, const char *const *refs, size_t n,
                     int fd, char **msg) {
  *msg = NULL;
  save_t *S = calloc(1, sizeof(*S));
  if (S == NULL) {
    *msg = strdup("out of memory");
    return 500;
  }
  S->im = im;
  S->msg = msg;
  S->manifest = json_array();
  S->repos = json_object();
  S->written = json_object();
  snprintf(S->tmp, sizeof(S->tmp), "%s/.save-XXXXXX", im->dir);
  int st = 0;
  if (mkdtemp(S->tmp) == NULL) {
    st = fail(S, 500, S->tmp, strerror(errno));
    S->tmp[0] = '\0';
  }
  S->a = st == 0 ? archive_write_new() : NULL;
  if (st == 0 &&
      (S->a == NULL || archive_write_set_format_pax_restricted(S->a) != 0 ||
       archive_write_open_fd(S->a, fd) != ARCHIVE_OK)) {
    st = fail(S, 500, "writing the archive",
              S->a != NULL ? archive_error_string(S->a) : "out of memory");
  }
  if (st == 0) {
    st = save_all(S, refs, n);
  }
  if (S->a != NULL && archive_write_close(S->a) != ARCHIVE_OK && st == 0) {
    st = fail(S, 500, "writing the archive", archive_error_string(S->a));
  }
  archive_write_free(S->a);
  if (S->tmp[0] != '\0') {
    hcsd_rmtree(S->tmp);
  }
  json_decref(S->manifest);
  json_decref(S->repos);
  json_decref(S->written);
  free(S);
  return st == 0 ? 200 : st;
}
