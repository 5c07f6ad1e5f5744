/* SPDX-License-Identifier: MIT */
/* hcsd's image store: the records, images.json and opening (images.c),
 * queries (imgquery.c), docker load (imgload.c, staging in imgstage.c)
 * and references (imgref.c). images.h says what each call does; imgint.h
 * what a record holds. */
#include "hcsd/model/imgint.h"
#include "hcsd/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define BUSYBOX_REF "docker.io/library/busybox:latest"
#define BUSYBOX_PATH                                                           \
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- small helpers ---- */

void hcsd__img_now(char out[40]) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char date[24];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 40, "%.20s.%09ldZ", date, ts.tv_nsec);
}

char *hcsd__img_path_join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p != NULL) {
    snprintf(p, n, "%s/%s", a, b);
  }
  return p;
}

static char *errmsg_making(const char *what, int errnum) {
  char *s = NULL;
  if (asprintf(&s, "making %s: %s", what, strerror(errnum)) < 0) {
    s = NULL;
  }
  return s;
}

/* mkdir -p; the last component takes mode. 0 or -errno. */
static int mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
    return -ENAMETOOLONG;
  }
  for (char *p = buf + 1; *p != '\0'; p++) {
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        return -errno;
      }
      *p = '/';
    }
  }
  if (mkdir(buf, mode) != 0 && errno != EEXIST) {
    return -errno;
  }
  return 0;
}

/* Docker's GOARCH name for this machine. */
static const char *host_arch(void) {
  struct utsname u;
  if (uname(&u) != 0) {
    return "amd64";
  }
  static const char *const map[][2] = {
      {"x86_64", "amd64"},   {"aarch64", "arm64"},   {"armv7l", "arm"},
      {"i686", "386"},       {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
      {"riscv64", "riscv64"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if (strcmp(u.machine, map[i][0]) == 0) {
      return map[i][1];
    }
  }
  return "amd64";
}

/* HCS_FLAVOUR_FILTER when an overlay mounts in dir (it does not stack on
 * some file systems, overlayfs itself among them), else HCS_FLAVOUR_DIFF. */
static int probe_flavour(const char *dir) {
  char base[4096];
  if (snprintf(base, sizeof(base), "%s/.probe-XXXXXX", dir) >=
          (int)sizeof(base) ||
      mkdtemp(base) == NULL) {
    return HCS_FLAVOUR_DIFF;
  }
  static const char *const sub[] = {"l", "u", "w", "m"};
  char p[4][4200];
  bool made = true;
  for (int i = 0; i < 4; i++) {
    snprintf(p[i], sizeof(p[i]), "%s/%s", base, sub[i]);
    made = made && mkdir(p[i], 0700) == 0;
  }
  int flavour = HCS_FLAVOUR_DIFF;
  char opts[13000];
  snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", p[0], p[1],
           p[2]);
  if (made && mount("overlay", p[3], "overlay", 0, opts) == 0) {
    (void)umount2(p[3], MNT_DETACH);
    flavour = HCS_FLAVOUR_FILTER;
  }
  hcsd_rmtree(base);
  return flavour;
}

/* ---- records ---- */

const char *hcsd__img_rec_str(const json_t *rec, const char *key) {
  return json_string_value(json_object_get(rec, key));
}

static bool rec_has_tag(const json_t *rec, const char *tag) {
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(rec, "RepoTags"), i, t) {
    if (strcmp(json_string_value(t), tag) == 0) {
      return true;
    }
  }
  return false;
}

json_t *hcsd__img_find_by_tag(hcsd_images_t *im, const char *tag) {
  size_t i;
  json_t *rec;
  json_array_foreach(im->images, i, rec) {
    if (rec_has_tag(rec, tag)) {
      return rec;
    }
  }
  return NULL;
}

json_t *hcsd__img_find_by_id(hcsd_images_t *im, const char *id) {
  size_t i;
  json_t *rec;
  json_array_foreach(im->images, i, rec) {
    if (strcmp(hcsd__img_rec_str(rec, "Id"), id) == 0) {
      return rec;
    }
  }
  return NULL;
}

static void untag(json_t *rec, const char *tag) {
  json_t *tags = json_object_get(rec, "RepoTags");
  for (size_t i = json_array_size(tags); i-- > 0;) {
    if (strcmp(json_string_value(json_array_get(tags, i)), tag) == 0) {
      json_array_remove(tags, i);
    }
  }
}

void hcsd__img_add(hcsd_images_t *im, json_t *rec) {
  json_t *tags = json_object_get(rec, "RepoTags");
  size_t i;
  json_t *t, *other;
  json_array_foreach(im->images, i, other) {
    size_t j;
    json_array_foreach(tags, j, t) { untag(other, json_string_value(t)); }
  }
  json_t *same = hcsd__img_find_by_id(im, hcsd__img_rec_str(rec, "Id"));
  if (same == NULL) {
    json_array_append_new(im->images, rec);
    return;
  }
  json_array_extend(json_object_get(same, "RepoTags"), tags);
  if (json_array_size(tags) > 0) {
    json_object_set(same, "LastTagTime", json_object_get(rec, "LastTagTime"));
  }
  json_decref(rec);
}

static json_t *builtin_of(hcsd_images_t *im) {
  json_t *first = json_array_get(im->images, 0);
  return json_is_true(json_object_get(first, "Builtin")) ? first : NULL;
}

int hcsd__img_save(hcsd_images_t *im) {
  json_t *saved = json_array();
  size_t i;
  json_t *rec;
  json_array_foreach(im->images, i, rec) {
    if (!json_is_true(json_object_get(rec, "Builtin"))) {
      json_array_append(saved, rec);
    }
  }
  json_t *doc = json_pack("{s:i,s:o}", "Version", 1, "Images", saved);
  /* The built-in image is made at each open; what was done to it (its
   * tags, its removal) is kept here. */
  json_t *builtin = builtin_of(im);
  if (doc != NULL && builtin != NULL) {
    json_object_set(doc, "BuiltinTags", json_object_get(builtin, "RepoTags"));
    json_object_set(doc, "BuiltinTagTime",
                    json_object_get(builtin, "LastTagTime"));
  } else if (doc != NULL && im->builtin_removed) {
    json_object_set_new(doc, "BuiltinRemoved", json_true());
  }
  if (doc != NULL && json_array_size(im->kept) > 0) {
    json_object_set(doc, "KeptLayers", im->kept);
  }
  char *final = hcsd__img_path_join(im->dir, "images.json");
  char *tmp = hcsd__img_path_join(im->dir, "images.json.tmp");
  int err = doc == NULL || final == NULL || tmp == NULL ? -ENOMEM : 0;
  int fd =
      err == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
  if (err == 0 && fd < 0) {
    err = -errno;
  }
  if (err == 0 && json_dumpfd(doc, fd, JSON_INDENT(1)) != 0) {
    err = -EIO;
  }
  if (err == 0 && fsync(fd) != 0) {
    err = -errno;
  }
  if (fd >= 0) {
    close(fd);
  }
  if (err == 0 && rename(tmp, final) != 0) {
    err = -errno;
  }
  if (err != 0 && tmp != NULL) {
    unlink(tmp);
  }
  int dfd = err == 0 ? open(im->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  free(final);
  free(tmp);
  json_decref(doc);
  return err;
}

static json_t *find_layer(hcsd_images_t *im, const char *chain) {
  size_t i, j;
  json_t *rec, *l;
  json_array_foreach(im->images, i, rec) {
    json_array_foreach(json_object_get(rec, "Layers"), j, l) {
      if (strcmp(hcsd__img_rec_str(l, "Chain"), chain) == 0) {
        return l;
      }
    }
  }
  json_array_foreach(im->kept, i, l) {
    if (strcmp(hcsd__img_rec_str(l, "Chain"), chain) == 0) {
      return l;
    }
    json_array_foreach(json_object_get(l, "Below"), j, rec) {
      if (strcmp(json_string_value(rec), chain) == 0) {
        return l; /* a parent of a kept layer stays with it */
      }
    }
  }
  return NULL;
}

bool hcsd__img_layer_size(hcsd_images_t *im, const char *chain,
                          uint64_t *size) {
  json_t *l = find_layer(im, chain);
  if (l != NULL) {
    *size = (uint64_t)json_integer_value(json_object_get(l, "Size"));
  }
  return l != NULL;
}

bool hcsd__img_layer_used(hcsd_images_t *im, const char *chain) {
  return find_layer(im, chain) != NULL;
}

/* A record read from images.json must hold what the queries rely on. */
static bool rec_valid(const json_t *rec) {
  const char *id = hcsd__img_rec_str(rec, "Id");
  if (id == NULL || strlen(id) != 71 || strncmp(id, "sha256:", 7) != 0 ||
      !json_is_object(json_object_get(rec, "Config")) ||
      !json_is_array(json_object_get(rec, "RepoTags")) ||
      !json_is_array(json_object_get(rec, "Layers")) ||
      json_array_size(json_object_get(rec, "Layers")) == 0 ||
      hcsd__img_rec_str(rec, "LastTagTime") == NULL) {
    return false;
  }
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(rec, "RepoTags"), i, x) {
    if (!json_is_string(x)) {
      return false;
    }
  }
  json_array_foreach(json_object_get(rec, "Layers"), i, x) {
    const char *c = hcsd__img_rec_str(x, "Chain");
    if (hcsd__img_rec_str(x, "DiffID") == NULL || c == NULL ||
        strlen(c) != 64 || strspn(c, "0123456789abcdef") != 64) {
      return false;
    }
  }
  return true;
}

/* ---- open / close ---- */

/* The built-in busybox record, or NULL when its layer is not there. Its
 * config is built canonically (json_dumps sorts nothing: the key order is
 * fixed here), so its id stays the same while the layer does. */
static json_t *builtin_record(void) {
  const char *home = hcs_default_image_home();
  hcs_driver_info_t base = {.flavour = HCS_FLAVOUR_FILTER, .home_dir = home};
  bool exists = false;
  hcs_error_t *err = NULL;
  if (hcs_LayerExists(&base, "busybox", &exists, &err) != HCS_OK || !exists) {
    hcs_error_free(err);
    return NULL;
  }
  char *folder = hcsd__img_path_join(home, "busybox");
  char *meta_path =
      hcsd__img_path_join(folder != NULL ? folder : "", "layer.json");
  json_t *meta = meta_path != NULL ? json_load_file(meta_path, 0, NULL) : NULL;
  free(meta_path);
  const char *created = hcsd__img_rec_str(meta, "Created");
  const char *version = hcsd__img_rec_str(meta, "Version");
  json_t *config = json_pack(
      "{s:s,s:{s:[s],s:[s]},s:s,s:s,s:{s:s,s:[]},s:s}", "architecture",
      host_arch(), "config", "Cmd", "sh", "Env", BUSYBOX_PATH, "created",
      created != NULL ? created : "1970-01-01T00:00:00Z", "os", "linux",
      "rootfs", "type", "layers", "diff_ids", "comment",
      version != NULL ? version : "");
  json_decref(meta);
  char *text = config != NULL ? json_dumps(config, JSON_COMPACT) : NULL;
  json_int_t size = 0;
  char *shared = NULL;
  if (hcs_GetSharedBaseImages(&base, &shared, &err) == HCS_OK) {
    json_t *o = json_loads(shared, 0, NULL);
    size_t i;
    json_t *img;
    json_array_foreach(json_object_get(o, "Images"), i, img) {
      if (strcmp(hcsd__img_rec_str(img, "Name") ? hcsd__img_rec_str(img, "Name")
                                                : "",
                 "busybox") == 0) {
        size = json_integer_value(json_object_get(img, "Size"));
      }
    }
    json_decref(o);
    hcs_free(shared);
  }
  hcs_error_free(err);
  json_t *rec = NULL;
  char hex[65], id[72];
  if (text != NULL && folder != NULL &&
      hcsd_sha256_hex(text, strlen(text), hex) == 0) {
    snprintf(id, sizeof(id), "sha256:%s", hex);
    rec =
        json_pack("{s:s,s:O,s:[s],s:[],s:[s],s:I,s:s,s:b}", "Id", id, "Config",
                  config, "RepoTags", BUSYBOX_REF, "Layers", "Folders", folder,
                  "Size", size, "LastTagTime", HCSD_IMG_NO_TIME, "Builtin", 1);
  }
  free(text);
  free(folder);
  json_decref(config);
  return rec;
}

/* Reads images.json (absent: no images). 0, or -1 with *errmsg. */
static int read_records(hcsd_images_t *im, char **errmsg) {
  char *path = hcsd__img_path_join(im->dir, "images.json");
  if (path == NULL) {
    *errmsg = strdup("out of memory");
    return -1;
  }
  json_error_t je;
  json_t *doc = json_load_file(path, 0, &je);
  if (doc == NULL && access(path, F_OK) != 0 && errno == ENOENT) {
    free(path);
    return 0;
  }
  json_t *recs = json_object_get(doc, "Images");
  size_t i;
  json_t *rec;
  bool ok = json_is_array(recs);
  json_array_foreach(recs, i, rec) { ok = ok && rec_valid(rec); }
  if (!ok) {
    if (asprintf(errmsg, "%s: not an image list: %s", path,
                 doc == NULL ? je.text : "bad record") < 0) {
      *errmsg = NULL;
    }
    free(path);
    json_decref(doc);
    return -1;
  }
  json_t *builtin = builtin_of(im);
  json_t *tags = json_object_get(doc, "BuiltinTags");
  const char *when = hcsd__img_rec_str(doc, "BuiltinTagTime");
  if (builtin != NULL && json_is_true(json_object_get(doc, "BuiltinRemoved"))) {
    json_array_remove(im->images, 0);
    im->builtin_removed = true;
  } else if (builtin != NULL && json_is_array(tags)) {
    json_object_set(builtin, "RepoTags", tags);
    json_object_set_new(builtin, "LastTagTime",
                        json_string(when != NULL ? when : HCSD_IMG_NO_TIME));
  }
  json_array_extend(im->images, recs);
  json_array_foreach(json_object_get(doc, "KeptLayers"), i, rec) {
    const char *c = hcsd__img_rec_str(rec, "Chain");
    if (c != NULL && strlen(c) == 64 && strspn(c, "0123456789abcdef") == 64) {
      json_array_append(im->kept, rec);
    }
  }
  json_decref(doc);
  free(path);
  return 0;
}

/* Leftovers of a host that died during a load or a save: the staging
 * folders, the temporary images.json and layers no image holds. */
static void remove_leftovers(hcsd_images_t *im) {
  char *tmp = hcsd__img_path_join(im->dir, "images.json.tmp");
  if (tmp != NULL) {
    unlink(tmp);
  }
  free(tmp);
  DIR *d = opendir(im->dir);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, ".load-", 6) == 0 ||
        strncmp(e->d_name, ".probe-", 7) == 0 ||
        strncmp(e->d_name, ".save-", 6) == 0) {
      char *p = hcsd__img_path_join(im->dir, e->d_name);
      if (p != NULL) {
        hcsd_rmtree(p);
      }
      free(p);
    }
  }
  if (d != NULL) {
    closedir(d);
  }
  /* A child names its parent, which cannot go first: repeat while one
   * goes. */
  for (bool again = true; again;) {
    again = false;
    d = opendir(im->layers_dir);
    while (d != NULL && (e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.' || hcsd__img_layer_used(im, e->d_name)) {
        continue;
      }
      hcs_error_t *err = NULL;
      again |= hcs_DestroyLayer(&im->info, e->d_name, &err) == HCS_OK;
      hcs_error_free(err);
    }
    if (d != NULL) {
      closedir(d);
    }
  }
}

int hcsd_images_open(const char *dir, hcsd_images_t **out, char **errmsg) {
  *out = NULL;
  *errmsg = NULL;
  hcsd_images_t *im = calloc(1, sizeof(*im));
  if (im == NULL || (im->dir = strdup(dir)) == NULL ||
      (im->layers_dir = hcsd__img_path_join(dir, "layers")) == NULL ||
      (im->kept = json_array()) == NULL ||
      (im->images = json_array()) == NULL) {
    *errmsg = strdup("out of memory");
    hcsd_images_close(im);
    return -1;
  }
  pthread_mutex_init(&im->mu, NULL);
  pthread_mutex_init(&im->load_mu, NULL);
  int err = mkdir_p(dir, 0700);
  err = err == 0 ? mkdir_p(im->layers_dir, 0700) : err;
  if (err != 0) {
    *errmsg = errmsg_making(dir, -err);
    hcsd_images_close(im);
    return -1;
  }
  im->info.home_dir = im->layers_dir;
  im->info.flavour = probe_flavour(dir);
  json_t *builtin = builtin_record();
  if (builtin != NULL) {
    json_array_append_new(im->images, builtin);
  }
  if (read_records(im, errmsg) != 0) {
    hcsd_images_close(im);
    return -1;
  }
  if (builtin != NULL && !im->builtin_removed) {
    size_t i;
    json_t *rec;
    json_array_foreach(im->images, i, rec) {
      if (i > 0 && rec_has_tag(rec, BUSYBOX_REF)) {
        untag(builtin, BUSYBOX_REF);
      }
    }
  }
  remove_leftovers(im);
  *out = im;
  return 0;
}

void hcsd_images_close(hcsd_images_t *im) {
  if (im == NULL) {
    return;
  }
  if (im->images != NULL) {
    pthread_mutex_destroy(&im->mu);
    pthread_mutex_destroy(&im->load_mu);
  }
  json_decref(im->images);
  json_decref(im->kept);
  free(im->layers_dir);
  free(im->dir);
  free(im);
}
