/* SPDX-License-Identifier: MIT */
/* docker load: a `docker save` archive read from a stream, its files kept
 * in a staging folder under the store (manifest.json may come last, and an
 * archive may be larger than memory), then each image of manifest.json
 * checked and its missing layers imported, base first, as moby's
 * image/tarexport/load.go does. The records go in only when every image
 * loaded; otherwise the layers this call imported go again. */
#include "hcsd/model/imgint.h"
#include "hcsd/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOAD_BUF (1u << 20) /* reads of a file: few system calls */
#define PROGRESS_EVERY_MS 100

typedef struct load_s {
  hcsd_images_t *im;
  bool quiet;
  void (*emit)(const char *line, void *arg);
  void *arg;
  const hcsd_img_src_t *src;
  char tmp[4096]; /* <dir>/.load-XXXXXX, the staging folder */
  hcsd__img_stage_t st;
  char *err;       /* the first failure */
  json_t *recs;    /* the records loaded */
  json_t *lines;   /* the "Loaded image" messages */
  json_t *done;    /* {chain: size} of the layers checked by this call */
  json_t *created; /* [chain] of the layers this call imported, in order */
  char buf[LOAD_BUF];
} load_t;

__attribute__((format(printf, 2, 3))) static int fail(load_t *L,
                                                      const char *fmt, ...) {
  if (L->err == NULL) {
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&L->err, fmt, ap) < 0) {
      L->err = NULL;
    }
    va_end(ap);
  }
  return -1;
}

static void emit_json(load_t *L, json_t *o) {
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  if (text != NULL) {
    L->emit(text, L->arg);
  }
  free(text);
  json_decref(o);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- reading what the archive holds ---- */

/* A staged file's bytes, up to HCSD_IMG_MAX_JSON (malloc'ed). 0 or -errno. */
static int read_small(const char *path, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
    }
    return -e;
  }
  int err = (uint64_t)st.st_size > HCSD_IMG_MAX_JSON ? -EFBIG : 0;
  char *buf = err == 0 ? malloc((size_t)st.st_size + 1) : NULL;
  err = err == 0 && buf == NULL ? -ENOMEM : err;
  size_t got = 0;
  while (err == 0 && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n <= 0) {
      err = n < 0 ? -errno : -EIO;
    }
    got += n > 0 ? (size_t)n : 0;
  }
  close(fd);
  if (err != 0) {
    free(buf);
    return err;
  }
  buf[got] = '\0';
  *out = buf;
  *len = got;
  return 0;
}

static bool is_digest(const char *s) {
  return s != NULL && strlen(s) == 71 && strncmp(s, "sha256:", 7) == 0 &&
         strspn(s + 7, "0123456789abcdef") == 64;
}

/* docker's units.HumanSize: 4 significant digits, decimal units. */
static void human_size(uint64_t n, char *out, size_t cap) {
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double v = (double)n;
  size_t u = 0;
  while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
    v /= 1000.0;
    u++;
  }
  snprintf(out, cap, "%.4g%s", v, units[u]);
}

/* docker's JSONProgress.String() for a wide output: a 50-step bar and the
 * byte counts. */
static void progress_text(uint64_t cur, uint64_t total, char *out, size_t cap) {
  char c[32], t[32];
  human_size(cur, c, sizeof(c));
  human_size(total, t, sizeof(t));
  if (total == 0) {
    snprintf(out, cap, "%8s", c);
    return;
  }
  int steps = (int)((double)cur / (double)total * 100) / 2;
  steps = steps > 50 ? 50 : steps;
  char bar[64];
  memset(bar, '=', (size_t)steps);
  bar[steps] = '>';
  memset(bar + steps + 1, ' ', (size_t)(50 - steps));
  bar[51] = '\0';
  if (cur > total) {
    snprintf(out, cap, "[%s] %8s", bar, c);
  } else {
    snprintf(out, cap, "[%s] %8s/%s", bar, c, t);
  }
}

static void emit_progress(load_t *L, const char *short_id, uint64_t cur,
                          uint64_t total) {
  char text[160];
  progress_text(cur, total, text, sizeof(text));
  emit_json(L, json_pack("{s:s,s:{s:I,s:I},s:s,s:s}", "status", "Loading layer",
                         "progressDetail", "current", (json_int_t)cur, "total",
                         (json_int_t)total, "progress", text, "id", short_id));
}

/* The sha256 and size of the uncompressed layer in the compressed blob,
 * with progress lines over the bytes of blob (as moby reports them). */
static int digest_layer(load_t *L, const char *blob, const char *diff_id,
                        char hex[65], uint64_t *size) {
  struct archive *a = hcsd__img_reader_new();
  struct archive_entry *e;
  struct stat st;
  char short_id[13];
  snprintf(short_id, sizeof(short_id), "%.12s", diff_id + 7);
  if (a == NULL || stat(blob, &st) != 0 ||
      archive_read_support_format_raw(a) != ARCHIVE_OK ||
      archive_read_open_filename(a, blob, LOAD_BUF) != ARCHIVE_OK ||
      archive_read_next_header(a, &e) != ARCHIVE_OK) {
    int r = fail(L, "reading layer %.12s: %s", diff_id + 7,
                 a != NULL && archive_error_string(a) != NULL
                     ? archive_error_string(a)
                     : strerror(errno));
    if (a != NULL) {
      archive_read_free(a);
    }
    return r;
  }
  hcsd_sha256_t *sha = hcsd_sha256_new();
  if (sha == NULL) {
    archive_read_free(a);
    return fail(L, "reading layer %.12s: out of memory", diff_id + 7);
  }
  *size = 0;
  uint64_t last = now_ms();
  la_ssize_t n;
  while ((n = archive_read_data(a, L->buf, sizeof(L->buf))) > 0) {
    hcsd_sha256_update(sha, L->buf, (size_t)n);
    *size += (uint64_t)n;
    if (!L->quiet && now_ms() - last >= PROGRESS_EVERY_MS) {
      last = now_ms();
      emit_progress(L, short_id, (uint64_t)archive_filter_bytes(a, -1),
                    (uint64_t)st.st_size);
    }
  }
  int r = n < 0 ? fail(L, "reading layer %.12s: %s", diff_id + 7,
                       archive_error_string(a))
                : 0;
  archive_read_free(a);
  hcsd_sha256_end(sha, hex);
  if (r == 0 && !L->quiet) {
    emit_progress(L, short_id, (uint64_t)st.st_size, (uint64_t)st.st_size);
  }
  return r;
}

/* Imports blob as layer chain over parents: a transport folder holding
 * the blob (linked, the import decompresses it). */
static int import_layer(load_t *L, const char *blob, const char *chain,
                        const char *const *parents) {
  char *xfer = NULL, *tar = NULL;
  if (asprintf(&xfer, "%s/x-%s", L->tmp, chain) < 0 ||
      asprintf(&tar, "%s/layer.tar", xfer) < 0) {
    free(xfer);
    return fail(L, "out of memory");
  }
  int r = 0;
  if (mkdir(xfer, 0700) != 0 || link(blob, tar) != 0) {
    r = fail(L, "staging layer %s: %s", chain, strerror(errno));
  }
  hcs_error_t *err = NULL;
  if (r == 0 &&
      hcs_ImportLayer(&L->im->info, chain, xfer, parents, &err) != HCS_OK) {
    r = fail(L, "failed to register layer: %s", hcs_error_cause(err));
  }
  if (r == 0 && json_array_append_new(L->created, json_string(chain)) != 0) {
    r = fail(L, "out of memory");
  }
  hcs_error_free(err);
  hcsd_rmtree(xfer);
  free(xfer);
  free(tar);
  return r;
}

/* Layer i of an image: kept when its chain is there, else checked against
 * its diff_id and imported. *size: its uncompressed bytes. */
static int load_layer(load_t *L, size_t i, const char *path,
                      const char *diff_id, const char *chain,
                      const char *const *parents, uint64_t *size) {
  hcsd_images_t *im = L->im;
  bool exists = false;
  hcs_error_t *err = NULL;
  if (hcs_LayerExists(&im->info, chain, &exists, &err) != HCS_OK) {
    int r = fail(L, "layer %s: %s", chain, hcs_error_cause(err));
    hcs_error_free(err);
    return r;
  }
  json_t *done = json_object_get(L->done, chain);
  pthread_mutex_lock(&im->mu);
  bool known = done != NULL || hcsd__img_layer_size(im, chain, size);
  pthread_mutex_unlock(&im->mu);
  if (done != NULL) {
    *size = (uint64_t)json_integer_value(done);
  }
  if (exists && known) {
    return 0;
  }
  const hcsd__img_entry_t *staged = hcsd__img_stage_entry(&L->st, path);
  if (staged == NULL) {
    return fail(L, "open %s: no such file or directory", path);
  }
  const char *blob = staged->blob;
  char hex[65];
  if (staged->packed) {
    if (digest_layer(L, blob, diff_id, hex, size) != 0) {
      return -1;
    }
  } else {
    /* Its bytes are the layer's, hashed once as they were staged. */
    memcpy(hex, staged->digest, sizeof(hex));
    *size = staged->size;
    if (!L->quiet) {
      char short_id[13];
      snprintf(short_id, sizeof(short_id), "%.12s", diff_id + 7);
      emit_progress(L, short_id, staged->size, staged->size);
    }
  }
  if (strcmp(hex, diff_id + 7) != 0) {
    return fail(L,
                "invalid diffID for layer %zu: expected \"%s\", got "
                "\"sha256:%s\"",
                i, diff_id, hex);
  }
  if (!exists && import_layer(L, blob, chain, parents) != 0) {
    return -1;
  }
  json_object_set_new(L->done, chain, json_integer((json_int_t)*size));
  return 0;
}

/* The layers of one image, base first; each chain id is the sha256 of
 * the one below, a space and its diff_id (the base's is its diff_id). */
static int load_layers(load_t *L, json_t *paths, json_t *diff_ids, json_t *out,
                       uint64_t *total) {
  size_t n = json_array_size(diff_ids);
  char(*chains)[65] = calloc(n + 1, sizeof(*chains));
  const char **parents = calloc(n + 1, sizeof(*parents));
  char **folders = calloc(n + 1, sizeof(*folders));
  int r = chains == NULL || parents == NULL || folders == NULL
              ? fail(L, "out of memory")
              : 0;
  *total = 0;
  for (size_t i = 0; r == 0 && i < n; i++) {
    const char *diff_id = json_string_value(json_array_get(diff_ids, i));
    if (i == 0) {
      memcpy(chains[0], diff_id + 7, 65);
    } else {
      char text[160];
      snprintf(text, sizeof(text), "sha256:%s %s", chains[i - 1], diff_id);
      if (hcsd_sha256_hex(text, strlen(text), chains[i]) != 0) {
        r = fail(L, "sha256 of layer %zu failed", i);
        break;
      }
    }
    for (size_t k = 0; k < i; k++) {
      parents[k] = folders[i - 1 - k];
    }
    parents[i] = NULL;
    uint64_t size = 0;
    r = load_layer(L, i, json_string_value(json_array_get(paths, i)), diff_id,
                   chains[i], i > 0 ? parents : NULL, &size);
    if (r == 0 &&
        asprintf(&folders[i], "%s/%s", L->im->layers_dir, chains[i]) < 0) {
      folders[i] = NULL;
      r = fail(L, "out of memory");
    }
    *total += size;
    if (r == 0) {
      json_array_append_new(out, json_pack("{s:s,s:s,s:I}", "DiffID", diff_id,
                                           "Chain", chains[i], "Size",
                                           (json_int_t)size));
    }
  }
  for (size_t i = 0; folders != NULL && i < n; i++) {
    free(folders[i]);
  }
  free(folders);
  free(parents);
  free(chains);
  return r;
}

/* RepoTags normalised, without repeats. NULL after a failure. */
static json_t *normalise_tags(load_t *L, json_t *tags) {
  json_t *out = json_array();
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) {
    const char *s = json_string_value(t);
    char *norm = s != NULL ? hcsd__img_normalise(s) : NULL;
    if (norm == NULL) {
      json_decref(out);
      fail(L, "invalid tag \"%s\"", s != NULL ? s : "");
      return NULL;
    }
    size_t j;
    json_t *seen;
    bool dup = false;
    json_array_foreach(out, j, seen) {
      dup |= strcmp(json_string_value(seen), norm) == 0;
    }
    if (!dup) {
      json_array_append_new(out, json_string(norm));
    }
    free(norm);
  }
  return out;
}

/* The image config: its id (the sha256 of its bytes) and its JSON. */
static json_t *read_config(load_t *L, const char *path, char id[72]) {
  const char *file = hcsd__img_stage_find(&L->st, path);
  if (file == NULL) {
    fail(L, "open %s: no such file or directory", path);
    return NULL;
  }
  char *bytes;
  size_t len;
  int err = read_small(file, &bytes, &len);
  if (err != 0) {
    fail(L, "reading %s: %s", path, strerror(-err));
    return NULL;
  }
  char hex[65];
  if (hcsd_sha256_hex(bytes, len, hex) != 0) {
    free(bytes);
    fail(L, "sha256 of %s failed", path);
    return NULL;
  }
  snprintf(id, 72, "sha256:%s", hex);
  json_error_t je;
  json_t *config = json_loadb(bytes, len, 0, &je);
  free(bytes);
  if (!json_is_object(config)) {
    fail(L, "invalid image config %s: %s", path,
         config == NULL ? je.text : "not a JSON object");
    json_decref(config);
    return NULL;
  }
  return config;
}

/* Checks the image's config against moby's rules. */
static int check_config(load_t *L, json_t *config, json_t *layers) {
  const char *os = json_string_value(json_object_get(config, "os"));
  if (os != NULL && os[0] != '\0' && strcmp(os, "linux") != 0) {
    return fail(L, "cannot load %s image on linux", os);
  }
  json_t *diff_ids =
      json_object_get(json_object_get(config, "rootfs"), "diff_ids");
  if (!json_is_array(diff_ids)) {
    return fail(L, "invalid image JSON, no RootFS key");
  }
  if (json_array_size(layers) != json_array_size(diff_ids)) {
    return fail(L,
                "invalid manifest, layers length mismatch: expected %zu, got "
                "%zu",
                json_array_size(layers), json_array_size(diff_ids));
  }
  if (json_array_size(diff_ids) == 0) {
    return fail(L, "invalid image config: no layers");
  }
  size_t i;
  json_t *d;
  json_array_foreach(diff_ids, i, d) {
    if (!is_digest(json_string_value(d)) ||
        !json_is_string(json_array_get(layers, i))) {
      return fail(L, "invalid manifest: layer %zu: bad diff_id or path", i);
    }
  }
  return 0;
}

/* One item of manifest.json: its config checked, its layers loaded, its
 * record and messages kept for the end. */
static int load_image(load_t *L, json_t *item) {
  const char *path = json_string_value(json_object_get(item, "Config"));
  if (path == NULL) {
    return fail(L, "invalid manifest: an image without a Config");
  }
  char id[72];
  json_t *config = read_config(L, path, id);
  json_t *layers = json_object_get(item, "Layers");
  json_t *tags = NULL, *rec_layers = json_array();
  int r = config == NULL ? -1 : check_config(L, config, layers);
  if (r == 0) {
    tags = normalise_tags(L, json_object_get(item, "RepoTags"));
    r = tags == NULL ? -1 : 0;
  }
  uint64_t size = 0;
  if (r == 0) {
    json_t *diff_ids =
        json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    r = load_layers(L, layers, diff_ids, rec_layers, &size);
  }
  if (r == 0) {
    char now[40];
    hcsd__img_now(now);
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
      char *f = hcsd__img_familiar(json_string_value(t));
      char line[600];
      snprintf(line, sizeof(line), "Loaded image: %s\n", f ? f : "");
      json_array_append_new(L->lines, json_string(line));
      free(f);
    }
    if (json_array_size(tags) == 0) {
      char line[128];
      snprintf(line, sizeof(line), "Loaded image ID: %s\n", id);
      json_array_append_new(L->lines, json_string(line));
    }
    json_array_append_new(
        L->recs, json_pack("{s:s,s:O,s:O,s:O,s:I,s:s}", "Id", id, "Config",
                           config, "RepoTags", tags, "Layers", rec_layers,
                           "Size", (json_int_t)size, "LastTagTime",
                           json_array_size(tags) > 0 ? now : HCSD_IMG_NO_TIME));
  }
  json_decref(config);
  json_decref(tags);
  json_decref(rec_layers);
  return r;
}

json_t *hcsd__img_manifest_parse(const char *bytes, size_t len, char *why,
                                 size_t cap) {
  json_error_t je;
  json_t *m = json_loadb(bytes, len, 0, &je);
  if (!json_is_array(m)) {
    snprintf(why, cap, "%s", m == NULL ? je.text : "not a JSON array");
    json_decref(m);
    return NULL;
  }
  return m;
}

static int load_manifest(load_t *L) {
  const char *file = hcsd__img_stage_find(&L->st, "manifest.json");
  if (file == NULL) {
    return fail(L, "invalid archive: no manifest.json (archives of docker "
                   "before 1.10 are not supported)");
  }
  char *bytes;
  size_t len;
  int err = read_small(file, &bytes, &len);
  if (err != 0) {
    return fail(L, "reading manifest.json: %s", strerror(-err));
  }
  char why[200];
  json_t *m = hcsd__img_manifest_parse(bytes, len, why, sizeof(why));
  free(bytes);
  int r = m != NULL ? 0 : fail(L, "invalid manifest.json: %s", why);
  size_t i;
  json_t *item;
  json_array_foreach(m, i, item) {
    if (r == 0) {
      r = load_image(L, item);
    }
  }
  json_decref(m);
  return r;
}

/* ---- the call ---- */

/* The records go in, and images.json with them; on a failure to save the
 * store is as it was. */
static int commit(load_t *L) {
  hcsd_images_t *im = L->im;
  pthread_mutex_lock(&im->mu);
  json_t *before = json_deep_copy(im->images);
  int err = before == NULL ? -ENOMEM : 0;
  size_t i;
  json_t *rec;
  json_array_foreach(L->recs, i, rec) {
    if (err == 0) {
      hcsd__img_add(im, json_incref(rec));
    }
  }
  err = err == 0 ? hcsd__img_save(im) : err;
  if (err != 0 && before != NULL) {
    json_array_clear(im->images);
    json_array_extend(im->images, before);
  }
  pthread_mutex_unlock(&im->mu);
  json_decref(before);
  return err != 0 ? fail(L, "saving images.json: %s", strerror(-err)) : 0;
}

/* After a failure: the layers this call imported that no image holds go,
 * the top ones first (a parent cannot go before its child). */
static void remove_created(load_t *L) {
  for (size_t i = json_array_size(L->created); i-- > 0;) {
    const char *chain = json_string_value(json_array_get(L->created, i));
    pthread_mutex_lock(&L->im->mu);
    bool used = hcsd__img_layer_used(L->im, chain);
    pthread_mutex_unlock(&L->im->mu);
    hcs_error_t *err = NULL;
    if (!used) {
      (void)hcs_DestroyLayer(&L->im->info, chain, &err);
    }
    hcs_error_free(err);
  }
}

/* The rest of the stream is read, so that the writer never blocks. */
static void drain(const hcsd_img_src_t *src) {
  const void *p;
  while (src->read(src->data, &p) > 0) {
  }
}

int hcsd_images_load_src(hcsd_images_t *im, const hcsd_img_src_t *src,
                         bool quiet, void (*emit)(const char *line, void *arg),
                         void *arg) {
  load_t *L = calloc(1, sizeof(*L));
  if (L == NULL) {
    return -1;
  }
  *L = (load_t){.im = im, .quiet = quiet, .emit = emit, .arg = arg, .src = src};
  L->recs = json_array();
  L->lines = json_array();
  L->done = json_object();
  L->created = json_array();
  pthread_mutex_lock(&im->load_mu);
  snprintf(L->tmp, sizeof(L->tmp), "%s/.load-XXXXXX", im->dir);
  int r = L->recs == NULL || L->lines == NULL || L->done == NULL ||
                  L->created == NULL
              ? fail(L, "out of memory")
              : 0;
  bool staged = r == 0 && mkdtemp(L->tmp) != NULL;
  if (r == 0 && !staged) {
    r = fail(L, "making %s: %s", L->tmp, strerror(errno));
  }
  L->st.dir = L->tmp;
  if (r == 0 && hcsd__img_stage_read(&L->st, src) != 0) {
    r = fail(L, "%s", L->st.err != NULL ? L->st.err : "out of memory");
  }
  drain(src);
  r = r == 0 ? load_manifest(L) : r;
  r = r == 0 ? commit(L) : r;
  if (r != 0) {
    remove_created(L);
  }
  if (staged) {
    hcsd_rmtree(L->tmp);
  }
  pthread_mutex_unlock(&im->load_mu);
  size_t i;
  json_t *line;
  json_array_foreach(L->lines, i, line) {
    if (r == 0) {
      emit_json(L, json_pack("{s:O}", "stream", line));
    }
  }
  if (r != 0) {
    const char *m = L->err != NULL ? L->err : "out of memory";
    emit_json(
        L, json_pack("{s:{s:s},s:s}", "errorDetail", "message", m, "error", m));
  }
  hcsd__img_stage_free(&L->st);
  free(L->err);
  json_decref(L->recs);
  json_decref(L->lines);
  json_decref(L->done);
  json_decref(L->created);
  free(L);
  return r;
}

/* ---- an archive read from a file descriptor ---- */

typedef struct fd_src_s {
  int fd;
  char buf[LOAD_BUF];
} fd_src_t;

static ssize_t fd_read(void *data, const void **p) {
  fd_src_t *f = data;
  *p = f->buf;
  ssize_t n;
  do {
    n = read(f->fd, f->buf, sizeof(f->buf));
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

int hcsd_images_load(hcsd_images_t *im, int fd, bool quiet,
                     void (*emit)(const char *line, void *arg), void *arg) {
  fd_src_t *f = malloc(sizeof(*f));
  if (f == NULL) {
    emit("{\"errorDetail\":{\"message\":\"out of memory\"},"
         "\"error\":\"out of memory\"}",
         arg);
    return -1;
  }
  f->fd = fd;
  hcsd_img_src_t src = {fd_read, f};
  int r = hcsd_images_load_src(im, &src, quiet, emit, arg);
  free(f);
  return r;
}
