/* SPDX-License-Identifier: MIT */
/* hcsd's image store: docker save archives of both layouts (built here with
 * libarchive, plain and gzip-compressed layers, a whiteout in the second
 * layer) loaded from a pipe, the messages checked to the byte, lookups by
 * every reference form, the layers mounted, list and inspect JSON, tags
 * that move, a reopened store, the built-in busybox, and loads that fail
 * leaving nothing behind. */
#include "hcsd/model/images.h"
#include "test_layer_util.h"

#include <hcs.h>

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char store_dir[128];

static void setup(void) {
  tl_setup();
  snprintf(store_dir, sizeof(store_dir), "%s", tl_path("store"));
}

TestSuite(images, .init = setup, .fini = tl_teardown, .timeout = 120);

/* ---- growable buffers ---- */

typedef struct buf_s {
  char *data;
  size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->data = realloc(b->data, b->cap);
    cr_assert_not_null(b->data);
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void buf_free(buf_t *b) {
  free(b->data);
  *b = (buf_t){0};
}

static void sha_hex(const void *p, size_t n, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  cr_assert(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) == 1 && len == 32);
  for (unsigned i = 0; i < len; i++) {
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
}

/* ---- tars ---- */

/* An archive member: 'f' a file of data/len, 'd' a directory, 'l' a
 * symlink to data. */
typedef struct member_s {
  char type;
  const char *name;
  const char *data;
  size_t len;
} member_t;

static la_ssize_t to_buf(struct archive *a, void *data, const void *p,
                         size_t n) {
  (void)a;
  buf_add(data, p, n);
  return (la_ssize_t)n;
}

static void tar_of(const member_t *m, size_t n, buf_t *out) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  cr_assert_eq(archive_write_open(a, out, NULL, to_buf, NULL), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, m[i].name);
    archive_entry_set_mtime(e, 1735689600, 0);
    if (m[i].type == 'd') {
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
    } else if (m[i].type == 'l') {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_perm(e, 0777);
      archive_entry_set_symlink(e, m[i].data);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, (la_int64_t)m[i].len);
    }
    cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s",
                 archive_error_string(a));
    if (m[i].type == 'f' && m[i].len > 0) {
      cr_assert_eq(archive_write_data(a, m[i].data, m[i].len),
                   (la_ssize_t)m[i].len);
    }
    archive_entry_free(e);
  }
  cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

static void gzip_of(const buf_t *in, buf_t *out) {
  struct archive *a = archive_write_new();
  archive_write_set_format_raw(a);
  archive_write_add_filter_gzip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  cr_assert_eq(archive_write_open(a, out, NULL, to_buf, NULL), ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "layer");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, (la_int64_t)in->len);
  cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
  cr_assert_eq(archive_write_data(a, in->data, in->len), (la_ssize_t)in->len);
  archive_entry_free(e);
  cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

/* ---- images to save ---- */

/* A layer: its tar as stored in the archive (maybe compressed) and its
 * diff_id (of the plain tar). */
typedef struct layer_s {
  buf_t blob;
  char diff_id[72];
} layer_t;

static void layer_make(layer_t *l, const member_t *m, size_t n, bool gz) {
  buf_t plain = {0};
  tar_of(m, n, &plain);
  char hex[65];
  sha_hex(plain.data, plain.len, hex);
  snprintf(l->diff_id, sizeof(l->diff_id), "sha256:%s", hex);
  l->blob = (buf_t){0};
  if (gz) {
    gzip_of(&plain, &l->blob);
    buf_free(&plain);
  } else {
    l->blob = plain;
  }
}

/* The test's two layers: a base with etc/a, etc/keep and bin/sh (a
 * symlink), and one that adds etc/b and deletes etc/a. */
static void two_layers(layer_t l[2], bool gz) {
  const member_t base_m[] = {{'d', "etc/", NULL, 0},
                             {'f', "etc/a", "aaa\n", 4},
                             {'f', "etc/keep", "keep\n", 5},
                             {'d', "bin/", NULL, 0},
                             {'l', "bin/sh", "busybox", 0}};
  const member_t top_m[] = {{'d', "etc/", NULL, 0},
                            {'f', "etc/b", "bee\n", 4},
                            {'f', "etc/.wh.a", "", 0}};
  layer_make(&l[0], base_m, 5, gz);
  layer_make(&l[1], top_m, 3, gz);
}

static void layers_free(layer_t *l, size_t n) {
  for (size_t i = 0; i < n; i++) {
    buf_free(&l[i].blob);
  }
}

/* An image config over diff_ids; cmd tells images apart. */
static char *config_of(const char *os, const char *cmd, const char *created,
                       char *const *diff_ids, size_t n) {
  json_t *ids = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(ids, json_string(diff_ids[i]));
  }
  json_t *c = json_pack(
      "{s:s,s:s,s:s,s:{s:[s],s:[s],s:s,s:s},s:{s:s,s:o}}", "architecture",
      "amd64", "os", os, "created", created, "config", "Cmd", cmd, "Env",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "WorkingDir", "/", "StopSignal", "SIGQUIT", "rootfs", "type", "layers",
      "diff_ids", ids);
  char *s = json_dumps(c, JSON_COMPACT);
  json_decref(c);
  return s;
}

typedef struct image_s {
  const char *os;
  const char *cmd;
  const char *created;
  const char *tags[3]; /* NULL-terminated; tags[0] NULL: untagged */
  layer_t *layers;
  size_t nlayers;
  size_t ndiff_ids;  /* diff_ids in the config (normally nlayers) */
  const char *wrong; /* a diff_id to put in place of the last one */
  bool drop_layer;   /* the last layer's file is left out */
  char id[72];       /* out: the config's sha256 */
} image_t;

static json_t *tags_json(const image_t *img) {
  json_t *t = json_array();
  for (int i = 0; i < 3 && img->tags[i] != NULL; i++) {
    json_array_append_new(t, json_string(img->tags[i]));
  }
  return t;
}

static char *image_config(image_t *img) {
  char *ids[8];
  size_t nd = img->ndiff_ids != 0 ? img->ndiff_ids : img->nlayers;
  for (size_t i = 0; i < nd; i++) {
    ids[i] = img->layers[i < img->nlayers ? i : 0].diff_id;
  }
  if (img->wrong != NULL) {
    ids[nd - 1] = (char *)img->wrong;
  }
  char *cfg = config_of(img->os, img->cmd, img->created, ids, nd);
  char hex[65];
  sha_hex(cfg, strlen(cfg), hex);
  snprintf(img->id, sizeof(img->id), "sha256:%s", hex);
  return cfg;
}

/* A linux image of the first n of l, made 2025-01-01, tagged tag (NULL:
 * untagged); cmd tells images apart. */
static image_t image_on(layer_t *l, size_t n, const char *cmd,
                        const char *tag) {
  return (image_t){.os = "linux",
                   .cmd = cmd,
                   .created = "2025-01-01T00:00:00Z",
                   .tags = {tag},
                   .layers = l,
                   .nlayers = n};
}

#define MAX_MEMBERS 64
typedef struct archive_s {
  member_t m[MAX_MEMBERS];
  char *owned[MAX_MEMBERS];
  size_t n, nowned;
} save_t;

static const char *keep(save_t *s, char *p) {
  s->owned[s->nowned++] = p;
  return p;
}

static void add(save_t *s, char type, const char *name, const char *data,
                size_t len) {
  cr_assert_lt(s->n, MAX_MEMBERS);
  s->m[s->n++] = (member_t){type, name, data, len};
}

static void add_text(save_t *s, const char *name, char *text) {
  add(s, 'f', name, keep(s, text), strlen(text));
}

static void save_free(save_t *s) {
  for (size_t i = 0; i < s->nowned; i++) {
    free(s->owned[i]);
  }
}

__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, f);
  cr_assert_geq(vasprintf(&s, f, ap), 0);
  va_end(ap);
  return s;
}

/* `docker save` before v25: <v1 id>/{VERSION,json,layer.tar},
 * <config sha>.json, repositories, and manifest.json last (as in trace
 * 03). */
static void save_classic(image_t *imgs, size_t n, buf_t *out) {
  save_t s = {0};
  json_t *manifest = json_array();
  for (size_t k = 0; k < n; k++) {
    image_t *img = &imgs[k];
    char *cfg = image_config(img);
    const char *cfg_name = keep(&s, fmt("%s.json", img->id + 7));
    add_text(&s, cfg_name, cfg);
    json_t *paths = json_array();
    for (size_t i = 0; i < img->nlayers; i++) {
      char v1[65];
      char seed[200];
      snprintf(seed, sizeof(seed), "%s %zu %s", img->id, i,
               img->layers[i].diff_id);
      sha_hex(seed, strlen(seed), v1);
      add(&s, 'd', keep(&s, fmt("%s/", v1)), NULL, 0);
      add_text(&s, keep(&s, fmt("%s/VERSION", v1)), strdup("1.0"));
      add_text(&s, keep(&s, fmt("%s/json", v1)), fmt("{\"id\":\"%s\"}", v1));
      const char *lpath = keep(&s, fmt("%s/layer.tar", v1));
      if (!(img->drop_layer && i + 1 == img->nlayers)) {
        add(&s, 'f', lpath, img->layers[i].blob.data, img->layers[i].blob.len);
      }
      json_array_append_new(paths, json_string(lpath));
    }
    json_array_append_new(manifest, json_pack("{s:s,s:o,s:o}", "Config",
                                              cfg_name, "RepoTags",
                                              tags_json(img), "Layers", paths));
  }
  add_text(&s, "repositories", strdup("{}"));
  add_text(&s, "manifest.json", json_dumps(manifest, JSON_COMPACT));
  json_decref(manifest);
  tar_of(s.m, s.n, out);
  save_free(&s);
}

/* `docker save` v25+: an OCI layout whose manifest.json points into
 * blobs/sha256 (trace 03c). */
static void save_oci(image_t *img, buf_t *out) {
  save_t s = {0};
  add(&s, 'd', "blobs/", NULL, 0);
  add(&s, 'd', "blobs/sha256/", NULL, 0);
  char *cfg = image_config(img);
  const char *cfg_name = keep(&s, fmt("blobs/sha256/%s", img->id + 7));
  add_text(&s, cfg_name, cfg);
  json_t *paths = json_array(), *descs = json_array();
  for (size_t i = 0; i < img->nlayers; i++) {
    char hex[65];
    sha_hex(img->layers[i].blob.data, img->layers[i].blob.len, hex);
    const char *lpath = keep(&s, fmt("blobs/sha256/%s", hex));
    add(&s, 'f', lpath, img->layers[i].blob.data, img->layers[i].blob.len);
    json_array_append_new(paths, json_string(lpath));
    json_array_append_new(
        descs, json_pack("{s:s,s:s,s:I}", "mediaType",
                         "application/vnd.oci.image.layer.v1.tar", "digest",
                         keep(&s, fmt("sha256:%s", hex)), "size",
                         (json_int_t)img->layers[i].blob.len));
  }
  json_t *om = json_pack(
      "{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
      "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
      "application/vnd.oci.image.config.v1+json", "digest", img->id, "size",
      (json_int_t)strlen(cfg), "layers", descs);
  char *omtext = json_dumps(om, JSON_COMPACT);
  json_decref(om);
  char omhex[65];
  sha_hex(omtext, strlen(omtext), omhex);
  add_text(&s, keep(&s, fmt("blobs/sha256/%s", omhex)), omtext);
  json_t *index = json_pack(
      "{s:i,s:s,s:[{s:s,s:s,s:I,s:{s:s}}]}", "schemaVersion", 2, "mediaType",
      "application/vnd.oci.image.index.v1+json", "manifests", "mediaType",
      "application/vnd.oci.image.manifest.v1+json", "digest",
      keep(&s, fmt("sha256:%s", omhex)), "size", (json_int_t)strlen(omtext),
      "annotations", "io.containerd.image.name",
      img->tags[0] != NULL ? img->tags[0] : "");
  add_text(&s, "index.json", json_dumps(index, JSON_COMPACT));
  json_decref(index);
  json_t *manifest = json_pack("[{s:s,s:o,s:o}]", "Config", cfg_name,
                               "RepoTags", tags_json(img), "Layers", paths);
  add_text(&s, "manifest.json", json_dumps(manifest, JSON_COMPACT));
  json_decref(manifest);
  add_text(&s, "oci-layout", strdup("{\"imageLayoutVersion\":\"1.0.0\"}"));
  add_text(&s, "repositories", strdup("{}"));
  tar_of(s.m, s.n, out);
  save_free(&s);
}

/* ---- loading through a pipe ---- */

typedef struct writer_s {
  int fd;
  const buf_t *data;
} writer_t;

static void *write_all(void *arg) {
  writer_t *w = arg;
  size_t off = 0;
  while (off < w->data->len) {
    ssize_t n = write(w->fd, w->data->data + off, w->data->len - off);
    if (n <= 0) {
      break;
    }
    off += (size_t)n;
  }
  close(w->fd);
  return NULL;
}

static void collect(const char *line, void *arg) {
  cr_assert_null(strchr(line, '\n'), "a line holds a newline: %s", line);
  buf_add(arg, line, strlen(line));
  buf_add(arg, "\n", 1);
}

/* Loads archive into im from a pipe written by another thread; *out gets
 * the emitted lines, each followed by a newline. */
static int load(hcsd_images_t *im, const buf_t *archive, bool quiet,
                buf_t *out) {
  int p[2];
  cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
  writer_t w = {p[1], archive};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, write_all, &w), 0);
  *out = (buf_t){0};
  buf_add(out, "", 0);
  int r = hcsd_images_load(im, p[0], quiet, collect, out);
  pthread_join(t, NULL);
  close(p[0]);
  return r;
}

static hcsd_images_t *open_store(void) {
  hcsd_images_t *im = NULL;
  char *msg = NULL;
  cr_assert_eq(hcsd_images_open(store_dir, &im, &msg), 0, "open: %s", msg);
  cr_assert_null(msg);
  return im;
}

/* A sorted, comma-joined listing of a directory's entries. */
static void listing(const char *dir, char *out, size_t cap) {
  struct dirent **names;
  int n = scandir(dir, &names, NULL, alphasort);
  cr_assert_geq(n, 0, "scandir %s: %s", dir, strerror(errno));
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (strcmp(names[i]->d_name, ".") != 0 &&
        strcmp(names[i]->d_name, "..") != 0) {
      strncat(out, names[i]->d_name, cap - strlen(out) - 2);
      strcat(out, ",");
    }
    free(names[i]);
  }
  free(names);
}

static const char *layers_dir(void) {
  static char p[160];
  snprintf(p, sizeof(p), "%s/layers", store_dir);
  return p;
}

static void expect_resolves(hcsd_images_t *im, const char *ref,
                            const char *id) {
  hcsd_image_t *img = NULL;
  cr_assert_eq(hcsd_images_resolve(im, ref, &img), 0, "resolve %s", ref);
  cr_assert_str_eq(img->id, id, "resolve %s", ref);
  hcsd_image_free(img);
}

static void expect_missing(hcsd_images_t *im, const char *ref) {
  hcsd_image_t *img = (hcsd_image_t *)1;
  cr_assert_eq(hcsd_images_resolve(im, ref, &img), -ENOENT, "resolve %s", ref);
  cr_assert_null(img);
}

static json_t *list_entry(hcsd_images_t *im, const char *id) {
  char *text = hcsd_images_list_json(im);
  cr_assert_not_null(text);
  json_t *list = json_loads(text, 0, NULL);
  free(text);
  cr_assert(json_is_array(list));
  size_t i;
  json_t *e, *found = NULL;
  json_array_foreach(list, i, e) {
    if (strcmp(json_string_value(json_object_get(e, "Id")), id) == 0) {
      found = json_incref(e);
    }
  }
  json_decref(list);
  return found;
}

static char *tags_text(json_t *entry) {
  return json_dumps(json_object_get(entry, "RepoTags"), JSON_COMPACT);
}

/* Mounts a sandbox over the image's layers and checks the merged tree:
 * etc/b and etc/keep there, etc/a deleted by the whiteout. */
static void expect_merged_view(const hcsd_image_t *img) {
  char home[160];
  snprintf(home, sizeof(home), "%s", tl_path("sandboxes"));
  hcs_driver_info_t info = {.flavour = HCS_FLAVOUR_FILTER, .home_dir = home};
  hcs_error_t *err = NULL;
  const char *const *parents = (const char *const *)img->layers;
  cr_assert_eq(hcs_CreateSandboxLayer(&info, "s", NULL, parents, &err), HCS_OK,
               "%s", hcs_error_message(err));
  cr_assert_eq(hcs_PrepareLayer(&info, "s", parents, &err), HCS_OK, "%s",
               hcs_error_message(err));
  char *view = NULL;
  cr_assert_eq(hcs_GetLayerMountPath(&info, "s", &view, &err), HCS_OK);
  char p[512];
  snprintf(p, sizeof(p), "%s/etc/b", view);
  const char *b = tl_read(p);
  snprintf(p, sizeof(p), "%s/etc/keep", view);
  const char *k = tl_read(p);
  cr_expect_str_eq(k != NULL ? k : "(none)", "keep\n");
  snprintf(p, sizeof(p), "%s/etc/b", view);
  b = tl_read(p);
  cr_expect_str_eq(b != NULL ? b : "(none)", "bee\n");
  snprintf(p, sizeof(p), "%s/etc/a", view);
  struct stat st;
  cr_expect_neq(lstat(p, &st), 0, "etc/a survived its whiteout");
  char target[64] = "";
  snprintf(p, sizeof(p), "%s/bin/sh", view);
  cr_expect_eq(readlink(p, target, sizeof(target) - 1), 7);
  cr_expect_str_eq(target, "busybox");
  hcs_free(view);
  cr_assert_eq(hcs_UnprepareLayer(&info, "s", &err), HCS_OK);
  cr_assert_eq(hcs_DestroyLayer(&info, "s", &err), HCS_OK);
}

static const char *const test_env =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* ---- loads that work ---- */

Test(images, classic_layout_plain_layers) {
  layer_t l[2];
  two_layers(l, false);
  image_t img = image_on(l, 2, "/bin/sh", "fakeimg:latest");
  buf_t tar = {0}, out;
  save_classic(&img, 1, &tar);
  hcsd_images_t *im = open_store();
  size_t before = hcsd_images_count(im);
  cr_assert_eq(load(im, &tar, true, &out), 0, "%s", out.data);
  cr_assert_str_eq(out.data,
                   "{\"stream\":\"Loaded image: fakeimg:latest\\n\"}\n");
  cr_assert_eq(hcsd_images_count(im), before + 1);

  const char *refs[] = {"fakeimg",
                        "fakeimg:latest",
                        "library/fakeimg",
                        "library/fakeimg:latest",
                        "docker.io/library/fakeimg",
                        "docker.io/library/fakeimg:latest",
                        "index.docker.io/library/fakeimg",
                        img.id,
                        img.id + 7};
  for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
    expect_resolves(im, refs[i], img.id);
  }
  char prefix[32];
  snprintf(prefix, sizeof(prefix), "%.12s", img.id + 7);
  expect_resolves(im, prefix, img.id);
  snprintf(prefix, sizeof(prefix), "sha256:%.5s", img.id + 7);
  expect_resolves(im, prefix, img.id);
  expect_missing(im, "fakeimg:other");
  expect_missing(im, "other/fakeimg");
  expect_missing(im, "FAKEIMG");
  expect_missing(im, "");

  hcsd_image_t *r = NULL;
  cr_assert_eq(hcsd_images_resolve(im, "fakeimg", &r), 0);
  cr_assert_str_eq(r->name, "docker.io/library/fakeimg:latest");
  cr_assert_not_null(r->layers[0]);
  cr_assert_not_null(r->layers[1]);
  cr_assert_null(r->layers[2]);
  cr_assert_str_eq(r->cmd[0], "/bin/sh");
  cr_assert_null(r->cmd[1]);
  cr_assert_null(r->entrypoint);
  cr_assert_str_eq(r->env[0], test_env);
  cr_assert_str_eq(r->working_dir, "/");
  cr_assert_null(r->user);
  cr_assert_str_eq(r->stop_signal, "SIGQUIT");
  /* Nearest first: the top layer holds the whiteout, the base etc/a. */
  char p[512];
  snprintf(p, sizeof(p), "%s/diff/etc/b", r->layers[0]);
  cr_assert_str_eq(tl_read(p) ? tl_read(p) : "(none)", "bee\n");
  snprintf(p, sizeof(p), "%s/diff/etc/keep", r->layers[1]);
  cr_assert_str_eq(tl_read(p) ? tl_read(p) : "(none)", "keep\n");
  cr_assert_eq(strncmp(r->layers[0], layers_dir(), strlen(layers_dir())), 0);
  expect_merged_view(r);
  hcsd_image_free(r);

  r = NULL;
  cr_assert_eq(hcsd_images_resolve(im, img.id, &r), 0);
  cr_assert_null(r->name, "by id: no name");
  hcsd_image_free(r);

  hcsd_images_close(im);
  buf_free(&tar);
  buf_free(&out);
  layers_free(l, 2);
}

/* The one progress line of a small layer (docker's units.HumanSize under
 * 1000 bytes is the count and "B"). */
static void expect_progress(const char *line, const layer_t *l) {
  size_t n = l->blob.len;
  cr_assert_lt(n, 1000, "the test's layers are small");
  char hs[16], nums[40], want[512];
  snprintf(hs, sizeof(hs), "%zuB", n);
  snprintf(nums, sizeof(nums), "%8s/%s", hs, hs);
  snprintf(want, sizeof(want),
           "{\"status\":\"Loading layer\",\"progressDetail\":{\"current\":%zu,"
           "\"total\":%zu},\"progress\":\"[%s>] %s\",\"id\":\"%.12s\"}",
           n, n, "==================================================", nums,
           l->diff_id + 7);
  cr_assert_str_eq(line, want);
}

Test(images, oci_layout_gzip_layers_with_progress) {
  layer_t l[2];
  two_layers(l, true);
  cr_assert_eq((unsigned char)l[0].blob.data[0], 0x1f, "gzip");
  image_t img = {.os = "linux",
                 .cmd = "/bin/sh",
                 .created = "2025-02-02T00:00:00Z",
                 .tags = {"ociimg:v1"},
                 .layers = l,
                 .nlayers = 2};
  buf_t tar = {0}, out;
  save_oci(&img, &tar);
  hcsd_images_t *im = open_store();
  cr_assert_eq(load(im, &tar, false, &out), 0, "%s", out.data);
  char *line2 = strchr(out.data, '\n');
  cr_assert_not_null(line2);
  *line2++ = '\0';
  char *line3 = strchr(line2, '\n');
  cr_assert_not_null(line3);
  *line3++ = '\0';
  expect_progress(out.data, &l[0]);
  expect_progress(line2, &l[1]);
  cr_assert_str_eq(line3, "{\"stream\":\"Loaded image: ociimg:v1\\n\"}\n");

  hcsd_image_t *r = NULL;
  cr_assert_eq(hcsd_images_resolve(im, "ociimg:v1", &r), 0);
  cr_assert_str_eq(r->id, img.id);
  expect_merged_view(r);
  hcsd_image_free(r);
  expect_missing(im, "ociimg");

  /* The list: docker images' fields. */
  json_t *e = list_entry(im, img.id);
  cr_assert_not_null(e);
  char *tags = tags_text(e);
  cr_assert_str_eq(tags, "[\"ociimg:v1\"]");
  free(tags);
  cr_assert_str_eq(json_string_value(json_object_get(e, "ParentId")), "");
  cr_assert_eq(json_array_size(json_object_get(e, "RepoDigests")), 0);
  cr_assert_eq(json_integer_value(json_object_get(e, "Created")), 1738454400);
  cr_assert_gt(json_integer_value(json_object_get(e, "Size")), 0);
  cr_assert_eq(json_integer_value(json_object_get(e, "SharedSize")), -1);
  cr_assert_eq(json_integer_value(json_object_get(e, "Containers")), -1);
  cr_assert(json_is_object(json_object_get(e, "Labels")));
  json_decref(e);

  /* Inspect. */
  char *text = hcsd_images_inspect_json(im, "ociimg:v1");
  cr_assert_not_null(text);
  json_t *o = json_loads(text, 0, NULL);
  free(text);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Id")), img.id);
  cr_assert_str_eq(json_string_value(json_object_get(o, "Created")),
                   "2025-02-02T00:00:00Z");
  cr_assert_str_eq(json_string_value(json_object_get(o, "Os")), "linux");
  cr_assert_str_eq(json_string_value(json_object_get(o, "Architecture")),
                   "amd64");
  cr_assert_str_eq(json_string_value(json_object_get(o, "Parent")), "");
  cr_assert_str_eq(json_string_value(json_object_get(o, "Comment")), "");
  json_t *cfg = json_object_get(o, "Config");
  cr_assert_str_eq(
      json_string_value(json_array_get(json_object_get(cfg, "Cmd"), 0)),
      "/bin/sh");
  cr_assert_str_eq(json_string_value(json_object_get(cfg, "WorkingDir")), "/");
  json_t *rootfs = json_object_get(o, "RootFS");
  cr_assert_str_eq(json_string_value(json_object_get(rootfs, "Type")),
                   "layers");
  json_t *ids = json_object_get(rootfs, "Layers");
  cr_assert_eq(json_array_size(ids), 2);
  cr_assert_str_eq(json_string_value(json_array_get(ids, 0)), l[0].diff_id);
  cr_assert_str_eq(json_string_value(json_array_get(ids, 1)), l[1].diff_id);
  const char *ltt = json_string_value(
      json_object_get(json_object_get(o, "Metadata"), "LastTagTime"));
  cr_assert_not_null(ltt);
  cr_assert_str_neq(ltt, "0001-01-01T00:00:00Z");
  cr_assert_gt(json_integer_value(json_object_get(o, "Size")), 2048);
  json_decref(o);
  cr_assert_null(hcsd_images_inspect_json(im, "nosuchimage"));

  hcsd_images_close(im);
  buf_free(&tar);
  buf_free(&out);
  layers_free(l, 2);
}

Test(images, untagged_image_reports_its_id) {
  layer_t l[2];
  two_layers(l, false);
  image_t img = image_on(l, 1, "true", NULL);
  buf_t tar = {0}, out;
  save_classic(&img, 1, &tar);
  hcsd_images_t *im = open_store();
  cr_assert_eq(load(im, &tar, true, &out), 0, "%s", out.data);
  char want[160];
  snprintf(want, sizeof(want), "{\"stream\":\"Loaded image ID: %s\\n\"}\n",
           img.id);
  cr_assert_str_eq(out.data, want);
  json_t *e = list_entry(im, img.id);
  cr_assert_not_null(e);
  char *tags = tags_text(e);
  cr_assert_str_eq(tags, "[]");
  free(tags);
  json_decref(e);
  hcsd_images_close(im);
  buf_free(&tar);
  buf_free(&out);
  layers_free(l, 2);
}

Test(images, tag_moves_shared_layers_skip_and_reopen) {
  layer_t l[2];
  two_layers(l, true);
  image_t a = {.os = "linux",
               .cmd = "a",
               .created = "2025-01-01T00:00:00Z",
               .tags = {"app:1", "app:keep"},
               .layers = l,
               .nlayers = 1};
  image_t b = {.os = "linux",
               .cmd = "b",
               .created = "2025-01-02T00:00:00Z",
               .tags = {"app:1", "docker.io/library/other"},
               .layers = l,
               .nlayers = 2};
  buf_t ta = {0}, tb = {0}, out;
  save_classic(&a, 1, &ta);
  save_oci(&b, &tb);
  hcsd_images_t *im = open_store();
  cr_assert_eq(load(im, &ta, true, &out), 0, "%s", out.data);
  cr_assert_str_eq(out.data, "{\"stream\":\"Loaded image: app:1\\n\"}\n"
                             "{\"stream\":\"Loaded image: app:keep\\n\"}\n");
  buf_free(&out);
  /* b's base is a's layer: only its second layer loads. */
  cr_assert_eq(load(im, &tb, false, &out), 0, "%s", out.data);
  char *first = out.data;
  char *second = strchr(first, '\n');
  *second++ = '\0';
  expect_progress(first, &l[1]);
  cr_assert_str_eq(second, "{\"stream\":\"Loaded image: app:1\\n\"}\n"
                           "{\"stream\":\"Loaded image: other:latest\\n\"}\n");
  buf_free(&out);
  expect_resolves(im, "app:1", b.id);
  expect_resolves(im, "app:keep", a.id);
  expect_resolves(im, "other", b.id);

  /* Loading a again takes app:1 back, and adds no image. */
  size_t count = hcsd_images_count(im);
  cr_assert_eq(load(im, &ta, true, &out), 0, "%s", out.data);
  buf_free(&out);
  cr_assert_eq(hcsd_images_count(im), count);
  expect_resolves(im, "app:1", a.id);
  json_t *e = list_entry(im, b.id);
  char *tags = tags_text(e);
  cr_assert_str_eq(tags, "[\"other:latest\"]");
  free(tags);
  json_decref(e);
  e = list_entry(im, a.id);
  tags = tags_text(e);
  cr_assert_str_eq(tags, "[\"app:1\",\"app:keep\"]");
  free(tags);
  json_decref(e);
  char *before = hcsd_images_list_json(im);
  hcsd_images_close(im);

  /* A new store on the same folder finds it all. */
  im = open_store();
  cr_assert_eq(hcsd_images_count(im), count);
  char *after = hcsd_images_list_json(im);
  cr_assert_str_eq(after, before);
  free(before);
  free(after);
  expect_resolves(im, "app:1", a.id);
  expect_resolves(im, "other:latest", b.id);
  hcsd_image_t *r = NULL;
  cr_assert_eq(hcsd_images_resolve(im, "other", &r), 0);
  expect_merged_view(r);
  hcsd_image_free(r);
  char lst[1024];
  listing(store_dir, lst, sizeof(lst));
  cr_assert_str_eq(lst, "images.json,layers,");
  hcsd_images_close(im);
  buf_free(&ta);
  buf_free(&tb);
  layers_free(l, 2);
}

Test(images, builtin_busybox) {
  hcsd_images_t *im = open_store();
  hcsd_image_t *r = NULL;
  cr_assert_eq(hcsd_images_resolve(im, "busybox", &r), 0,
               "no busybox: is %s/busybox built?", hcs_default_image_home());
  char folder[512];
  snprintf(folder, sizeof(folder), "%s/busybox", hcs_default_image_home());
  cr_assert_str_eq(r->layers[0], folder);
  cr_assert_null(r->layers[1]);
  cr_assert_str_eq(r->cmd[0], "sh");
  cr_assert_null(r->cmd[1]);
  cr_assert_str_eq(r->env[0], test_env);
  cr_assert_str_eq(r->name, "docker.io/library/busybox:latest");
  char id[72];
  snprintf(id, sizeof(id), "%s", r->id);
  cr_assert_eq(strlen(id), 71);
  hcsd_image_free(r);
  expect_resolves(im, "busybox:latest", id);
  expect_resolves(im, "library/busybox", id);
  expect_resolves(im, "docker.io/library/busybox:latest", id);
  expect_resolves(im, id + 7, id);
  expect_missing(im, "busybox:1");
  json_t *e = list_entry(im, id);
  cr_assert_not_null(e);
  char *tags = tags_text(e);
  cr_assert_str_eq(tags, "[\"busybox:latest\"]");
  free(tags);
  cr_assert_gt(json_integer_value(json_object_get(e, "Size")), 0);
  cr_assert_gt(json_integer_value(json_object_get(e, "Created")), 0);
  json_decref(e);
  char *text = hcsd_images_inspect_json(im, "busybox");
  cr_assert_not_null(text);
  cr_assert_not_null(strstr(text, "\"Os\":\"linux\""));
  free(text);
  hcsd_images_close(im);
  /* The same id after a restart. */
  im = open_store();
  expect_resolves(im, "busybox", id);
  hcsd_images_close(im);
}

/* ---- loads that fail ---- */

/* Loads archive into a store holding one image already, expects the error
 * line for message (a prefix when prefix is set), -1, and the store as it
 * was: no new layer, no staging folder, no image. */
static void expect_failure(const buf_t *archive, const char *message,
                           bool prefix) {
  layer_t l[2];
  two_layers(l, false);
  image_t pre = image_on(l, 1, "pre", "pre:1");
  buf_t tar = {0}, out;
  save_classic(&pre, 1, &tar);
  hcsd_images_t *im = open_store();
  cr_assert_eq(load(im, &tar, true, &out), 0, "%s", out.data);
  buf_free(&out);
  char layers_before[4096], store_before[4096];
  listing(layers_dir(), layers_before, sizeof(layers_before));
  listing(store_dir, store_before, sizeof(store_before));
  char *list_before = hcsd_images_list_json(im);

  cr_assert_eq(load(im, archive, false, &out), -1, "%s", out.data);
  /* Progress lines of layers that loaded may come first. */
  const char *last = out.data;
  for (const char *p = out.data; (p = strchr(p, '\n')) && p[1]; p++) {
    last = p + 1;
  }
  if (prefix) {
    json_t *o = json_loads(last, 0, NULL);
    cr_assert_not_null(o, "one JSON line: %s", last);
    cr_assert_eq(json_object_size(o), 2, "%s", last);
    const char *m = json_string_value(
        json_object_get(json_object_get(o, "errorDetail"), "message"));
    cr_assert_not_null(m, "%s", last);
    cr_assert_eq(strncmp(m, message, strlen(message)), 0, "%s", last);
    cr_assert_str_eq(json_string_value(json_object_get(o, "error")), m);
    json_decref(o);
  } else {
    json_t *o = json_pack("{s:{s:s},s:s}", "errorDetail", "message", message,
                          "error", message);
    char *want = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char line[2048];
    snprintf(line, sizeof(line), "%s\n", want);
    free(want);
    cr_assert_str_eq(last, line, "all: %s", out.data);
  }
  char layers_after[4096], store_after[4096];
  listing(layers_dir(), layers_after, sizeof(layers_after));
  listing(store_dir, store_after, sizeof(store_after));
  cr_assert_str_eq(layers_after, layers_before);
  cr_assert_str_eq(store_after, store_before);
  char *list_after = hcsd_images_list_json(im);
  cr_assert_str_eq(list_after, list_before);
  free(list_before);
  free(list_after);
  hcsd_images_close(im);
  buf_free(&tar);
  buf_free(&out);
  layers_free(l, 2);
}

/* The same for an image saved in either layout. */
static void expect_image_failure(image_t *img, bool oci, const char *message,
                                 bool prefix) {
  buf_t tar = {0};
  if (oci) {
    save_oci(img, &tar);
  } else {
    save_classic(img, 1, &tar);
  }
  expect_failure(&tar, message, prefix);
  buf_free(&tar);
}

Test(images, fails_on_a_bad_diff_id) {
  layer_t l[2];
  two_layers(l, false);
  image_t img = image_on(l, 2, "x", "bad:1");
  img.wrong = "sha256:"
              "00000000000000000000000000000000"
              "00000000000000000000000000000000";
  /* Layer 0 is new and loads first: it must go again. */
  const member_t other[] = {{'f', "x", "x", 1}};
  buf_free(&l[0].blob);
  layer_make(&l[0], other, 1, false);
  char msg[300];
  snprintf(msg, sizeof(msg),
           "invalid diffID for layer 1: expected \"%s\", got \"%s\"", img.wrong,
           l[1].diff_id);
  expect_image_failure(&img, false, msg, false);
  layers_free(l, 2);
}

Test(images, fails_on_a_layers_length_mismatch) {
  layer_t l[2];
  two_layers(l, false);
  image_t img = image_on(l, 1, "x", "bad:1");
  img.ndiff_ids = 2;
  expect_image_failure(
      &img, false,
      "invalid manifest, layers length mismatch: expected 1, got 2", false);
  layers_free(l, 2);
}

Test(images, fails_on_a_windows_image) {
  layer_t l[2];
  two_layers(l, false);
  image_t img = image_on(l, 2, "x", "win:1");
  img.os = "windows";
  expect_image_failure(&img, true, "cannot load windows image on linux", false);
  layers_free(l, 2);
}

Test(images, fails_on_what_is_no_tar) {
  buf_t junk = {0};
  char block[3000];
  for (size_t i = 0; i < sizeof(block); i++) {
    block[i] = (char)('a' + i % 26);
  }
  buf_add(&junk, block, sizeof(block));
  expect_failure(&junk, "invalid archive: Unrecognized archive format", false);
  buf_free(&junk);
}

Test(images, fails_without_a_manifest) {
  const member_t m[] = {{'f', "repositories", "{}", 2}};
  buf_t tar = {0};
  tar_of(m, 1, &tar);
  expect_failure(&tar,
                 "invalid archive: no manifest.json (archives of docker "
                 "before 1.10 are not supported)",
                 false);
  buf_free(&tar);
}

Test(images, fails_when_a_layer_file_is_missing) {
  layer_t l[2];
  two_layers(l, true);
  image_t img = image_on(l, 2, "x", "bad:1");
  img.drop_layer = true;
  buf_t tar = {0};
  save_classic(&img, 1, &tar);
  /* The path manifest.json gives for the last layer. */
  char v1[65], seed[200], msg[300];
  snprintf(seed, sizeof(seed), "%s %d %s", img.id, 1, l[1].diff_id);
  sha_hex(seed, strlen(seed), v1);
  snprintf(msg, sizeof(msg), "open %s/layer.tar: no such file or directory",
           v1);
  expect_failure(&tar, msg, false);
  buf_free(&tar);
  layers_free(l, 2);
}

Test(images, fails_on_a_hostile_layer_entry) {
  layer_t l[2];
  two_layers(l, false);
  const member_t evil[] = {{'f', "etc/ok", "ok", 2},
                           {'f', "../escaped", "gotcha", 6}};
  buf_free(&l[1].blob);
  layer_make(&l[1], evil, 2, true);
  image_t img = image_on(l, 2, "x", "evil:1");
  expect_image_failure(
      &img, true, "failed to register layer: layer.tar: entry \"../escaped\"",
      true);
  char p[160];
  snprintf(p, sizeof(p), "%s/escaped", store_dir);
  struct stat st;
  cr_assert_neq(lstat(p, &st), 0);
  cr_assert_neq(lstat("/tmp/escaped", &st), 0);
  layers_free(l, 2);
}
