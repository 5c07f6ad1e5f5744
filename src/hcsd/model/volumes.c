/* SPDX-License-Identifier: MIT */
/* Named volumes (volumes.h): the store's directories, the Docker JSON of
 * a volume, the in-use check over the containers, and the mappings a
 * container's start adds. A removal renames the volume out of the way
 * at once (it is gone for every later call) and deletes its tree on the
 * pool. */
#include "hcsd/model/volumes.h"
#include "hcsd/model/ctr_int.h"
#include "hcsd/model/events.h"
#include "hcsd/model/filters.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VOL_TRASH ".trash-"
#define VOL_NEW ".new-"
#define VOL_ANON "com.docker.volume.anonymous"

/* <state>/volumes[/name[/sub]] into out. */
static void vol_path(hcsd_t *d, const char *name, const char *sub, char *out,
                     size_t n) {
  snprintf(out, n, "%s/volumes%s%s%s%s", d->state_dir, name != NULL ? "/" : "",
           name != NULL ? name : "", sub != NULL ? "/" : "",
           sub != NULL ? sub : "");
}

/* moby's local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
static bool name_ok(const char *n) {
  size_t len = strlen(n);
  if (len < 2 || len > 200 ||
      !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z') ||
        (n[0] >= '0' && n[0] <= '9'))) {
    return false;
  }
  return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789_.-") == len;
}

static bool vol_exists(hcsd_t *d, const char *name) {
  char p[4200];
  struct stat st;
  vol_path(d, name, "_data", p, sizeof(p));
  return name_ok(name) && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- in use ---- */

/* The volume name a bind or mount of hc names, or NULL (a host path,
 * another type). */
static const char *bind_volume(const char *spec, char *out, size_t n) {
  size_t len = strcspn(spec, ":");
  if (spec[0] == '/' || spec[len] != ':' || len == 0 || len >= n) {
    return NULL;
  }
  snprintf(out, n, "%.*s", (int)len, spec);
  return out;
}

static const char *mount_volume(json_t *m) {
  const char *type = json_string_value(json_object_get(m, "Type"));
  const char *src = json_string_value(json_object_get(m, "Source"));
  return type != NULL && strcmp(type, "volume") == 0 && src != NULL &&
                 src[0] != '\0'
             ? src
             : NULL;
}

static bool ctr_uses(const hcsd_ctr_t *c, const char *name) {
  size_t i;
  json_t *v;
  char b[256];
  json_array_foreach(json_object_get(c->host_config, "Binds"), i, v) {
    const char *s = json_string_value(v);
    const char *n = s != NULL ? bind_volume(s, b, sizeof(b)) : NULL;
    if (n != NULL && strcmp(n, name) == 0) {
      return true;
    }
  }
  json_array_foreach(json_object_get(c->host_config, "Mounts"), i, v) {
    const char *n = mount_volume(v);
    if (n != NULL && strcmp(n, name) == 0) {
      return true;
    }
  }
  return false;
}

/* The first container that uses name, or NULL. */
static hcsd_ctr_t *vol_user(hcsd_t *d, const char *name) {
  for (hcsd_ctr_t *c = d->ctrs; c != NULL; c = c->next) {
    if (c->state != CS_REMOVING && ctr_uses(c, name)) {
      return c;
    }
  }
  return NULL;
}

/* ---- the store ---- */

int hcsd_volumes_open(hcsd_t *d) {
  char p[4200];
  vol_path(d, NULL, NULL, p, sizeof(p));
  if (mkdir(p, 0700) != 0 && errno != EEXIST) {
    hcsd_log("volumes: %s: %s", p, strerror(errno));
    return -1;
  }
  DIR *dir = opendir(p);
  struct dirent *de;
  while (dir != NULL && (de = readdir(dir)) != NULL) {
    if (strncmp(de->d_name, VOL_TRASH, strlen(VOL_TRASH)) == 0 ||
        strncmp(de->d_name, VOL_NEW, strlen(VOL_NEW)) == 0) {
      char q[4500];
      snprintf(q, sizeof(q), "%s/%s", p, de->d_name);
      hcsd_rmtree(q);
    }
  }
  if (dir != NULL) {
    closedir(dir);
  }
  return 0;
}

/* The volume's JSON; NULL when it is not there. */
static json_t *vol_json(hcsd_t *d, const char *name) {
  if (!vol_exists(d, name)) {
    return NULL;
  }
  char p[4200], mp[4200];
  vol_path(d, name, "opts.json", p, sizeof(p));
  vol_path(d, name, "_data", mp, sizeof(mp));
  json_t *opts = json_load_file(p, 0, NULL);
  const char *created = json_string_value(json_object_get(opts, "CreatedAt"));
  json_t *labels = json_object_get(opts, "Labels");
  json_t *o =
      json_pack("{s:s,s:s,s:O,s:s,s:s,s:{},s:s}", "CreatedAt",
                created != NULL ? created : "", "Driver", "local", "Labels",
                json_is_object(labels) ? labels : json_null(), "Mountpoint", mp,
                "Name", name, "Options", "Scope", "local");
  json_decref(opts);
  return o;
}

/* Makes the volume name (labels borrowed) unless it is there: 0, or -1
 * with e. Any thread. */
static int vol_make(hcsd_t *d, const char *name, json_t *labels,
                    hcsd_err_t *e) {
  if (vol_exists(d, name)) {
    return 0;
  }
  char id[65], fresh[32], tmp[4200], p[4300], final[4200];
  hcsd_random_id(id);
  snprintf(fresh, sizeof(fresh), VOL_NEW "%.16s", id);
  vol_path(d, fresh, NULL, tmp, sizeof(tmp));
  snprintf(p, sizeof(p), "%s/_data", tmp);
  if (mkdir(tmp, 0700) != 0 || mkdir(p, 0755) != 0) {
    hcsd_err_set(e, 500, "creating volume %s: %s", name, strerror(errno));
    hcsd_rmtree(tmp);
    return -1;
  }
  char created[32];
  time_t now = time(NULL);
  struct tm tm;
  strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  json_t *opts = json_pack("{s:s,s:O}", "CreatedAt", created, "Labels",
                           json_is_object(labels) ? labels : json_null());
  snprintf(p, sizeof(p), "%s/opts.json", tmp);
  int rc = json_dump_file(opts, p, JSON_COMPACT);
  json_decref(opts);
  vol_path(d, name, NULL, final, sizeof(final));
  if (rc != 0 || rename(tmp, final) != 0) {
    int err = errno;
    hcsd_rmtree(tmp);
    if (vol_exists(d, name)) {
      return 0; /* made meanwhile by another */
    }
    hcsd_err_set(e, 500, "creating volume %s: %s", name,
                 rc != 0 ? "cannot write its options" : strerror(err));
    return -1;
  }
  hcsd_event(d, "volume", "create", name,
             json_pack("{s:s}", "driver", "local"));
  return 0;
}

/* ---- the calls ---- */

json_t *hcsd_vol_create(hcsd_t *d, const char *body, hcsd_err_t *e) {
  json_error_t je;
  json_t *b = body != NULL && body[0] != '\0' ? json_loads(body, 0, &je)
                                              : json_object();
  if (!json_is_object(b)) {
    json_decref(b);
    hcsd_err_set(e, 400, "invalid JSON in the volume create body");
    return NULL;
  }
  const char *name = json_string_value(json_object_get(b, "Name"));
  const char *driver = json_string_value(json_object_get(b, "Driver"));
  json_t *dopts = json_object_get(b, "DriverOpts");
  json_t *labels = json_object_get(b, "Labels");
  char id[65];
  json_t *out = NULL;
  if (name == NULL || name[0] == '\0') {
    hcsd_random_id(id);
    name = id;
  }
  if (hcsd_vol_name_check(name, e) != 0) {
    /* e says why */
  } else if (driver != NULL && driver[0] != '\0' &&
             strcmp(driver, "local") != 0) {
    hcsd_err_set(e, 400,
                 "hcsd does not support volume driver \"%s\" (--driver): "
                 "only \"local\"",
                 driver);
  } else if (json_is_object(dopts) && json_object_size(dopts) > 0) {
    hcsd_err_set(e, 400,
                 "hcsd does not support volume driver options (--opt): "
                 "the local driver here keeps a directory");
  } else if (labels != NULL && !json_is_null(labels) &&
             !json_is_object(labels)) {
    hcsd_err_set(e, 400, "json: cannot unmarshal Labels");
  } else if (vol_make(d, name, labels, e) == 0) {
    out = vol_json(d, name);
    if (out == NULL) {
      hcsd_err_set(e, 500, "volume %s vanished as it was made", name);
    }
  }
  json_decref(b);
  return out;
}

json_t *hcsd_vol_inspect(hcsd_t *d, const char *name, hcsd_err_t *e) {
  json_t *o = vol_json(d, name);
  if (o == NULL) {
    hcsd_err_set(e, 404, "get %s: no such volume", name);
  }
  return o;
}

static const char *const list_keys[] = {"name", "label", "dangling", "driver"};
static const char *const prune_keys[] = {"label", "label!", "all"};

/* The one boolean value of f[key] into *v: 0 (absent: *v untouched), or
 * -1 with e. */
static int filter_bool(json_t *f, const char *key, bool *v, hcsd_err_t *e) {
  json_t *a = json_object_get(f, key);
  size_t i;
  json_t *x;
  json_array_foreach(a, i, x) {
    const char *s = json_string_value(x);
    if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)) {
      *v = true;
    } else if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)) {
      *v = false;
    } else {
      hcsd_err_set(e, 400, "invalid filter '%s=%s'", key, s != NULL ? s : "");
      return -1;
    }
  }
  return 0;
}

static bool any_substr(json_t *vals, const char *s) {
  size_t i;
  json_t *x;
  if (json_array_size(vals) == 0) {
    return true;
  }
  json_array_foreach(vals, i, x) {
    if (strstr(s, json_string_value(x)) != NULL) {
      return true;
    }
  }
  return false;
}

/* The volumes' names in the store, each to fn. */
static void vol_each(hcsd_t *d, void (*fn)(hcsd_t *d, const char *, void *),
                     void *data) {
  char p[4200];
  vol_path(d, NULL, NULL, p, sizeof(p));
  DIR *dir = opendir(p);
  struct dirent *de;
  while (dir != NULL && (de = readdir(dir)) != NULL) {
    if (de->d_name[0] != '.' && vol_exists(d, de->d_name)) {
      fn(d, de->d_name, data);
    }
  }
  if (dir != NULL) {
    closedir(dir);
  }
}

typedef struct list_s {
  json_t *f;
  bool dangling, dangling_set;
  json_t *out;
} list_t;

static void list_one(hcsd_t *d, const char *name, void *data) {
  list_t *l = data;
  json_t *v = vol_json(d, name);
  if (v == NULL || !any_substr(json_object_get(l->f, "name"), name) ||
      !any_substr(json_object_get(l->f, "driver"), "local") ||
      !hcsd__filters_labels(l->f, json_object_get(v, "Labels")) ||
      (l->dangling_set && (vol_user(d, name) == NULL) != l->dangling)) {
    json_decref(v);
    return;
  }
  json_array_append_new(l->out, v);
}

json_t *hcsd_vol_list(hcsd_t *d, const char *filters, hcsd_err_t *e) {
  list_t l = {0};
  char msg[256];
  if (hcsd__filters_parse(filters, list_keys, 4, &l.f, msg, sizeof(msg)) != 0) {
    hcsd_err_set(e, 400, "%s", msg);
    return NULL;
  }
  l.dangling_set = json_object_get(l.f, "dangling") != NULL;
  if (filter_bool(l.f, "dangling", &l.dangling, e) != 0) {
    json_decref(l.f);
    return NULL;
  }
  l.out = json_array();
  vol_each(d, list_one, &l);
  json_decref(l.f);
  return json_pack("{s:o,s:[]}", "Volumes", l.out, "Warnings");
}

/* Renames the volume out of the store and deletes its tree on the pool
 * (sizes summed into *bytes when asked). */
typedef struct trash_s {
  char **paths;
  size_t n;
  int64_t bytes;
  json_t *report; /* prune's, or NULL */
  hcsd_vol_pruned_cb done;
  void *data;
} trash_t;

static void trash_work(void *data) {
  trash_t *t = data;
  for (size_t i = 0; i < t->n; i++) {
    if (t->report != NULL) {
      char dp[4200];
      snprintf(dp, sizeof(dp), "%s/_data", t->paths[i]);
      int fd = open(dp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      t->bytes += fd >= 0 ? hcsd__dir_bytes(fd) : 0;
    }
    hcsd_rmtree(t->paths[i]);
  }
}

static void trash_done(void *data) {
  trash_t *t = data;
  for (size_t i = 0; i < t->n; i++) {
    free(t->paths[i]);
  }
  free(t->paths);
  if (t->report != NULL) {
    json_object_set_new(t->report, "SpaceReclaimed", json_integer(t->bytes));
    t->done(t->report, t->data);
  }
  free(t);
}

/* Moves name out of the store into t: 0, or -1 with e (500). */
static int trash_add(hcsd_t *d, trash_t *t, const char *name, hcsd_err_t *e) {
  char id[65], from[4200], to[4300];
  hcsd_random_id(id);
  vol_path(d, name, NULL, from, sizeof(from));
  snprintf(to, sizeof(to), "%s/volumes/" VOL_TRASH "%.16s", d->state_dir, id);
  char **p = realloc(t->paths, (t->n + 1) * sizeof(char *));
  if (p == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  t->paths = p;
  if (rename(from, to) != 0 || (p[t->n] = strdup(to)) == NULL) {
    hcsd_err_set(e, 500, "remove %s: %s", name, strerror(errno));
    return -1;
  }
  t->n++;
  hcsd_event(d, "volume", "destroy", name,
             json_pack("{s:s}", "driver", "local"));
  return 0;
}

int hcsd_vol_remove(hcsd_t *d, const char *name, bool force, hcsd_err_t *e) {
  if (!vol_exists(d, name)) {
    if (force) {
      return 0;
    }
    hcsd_err_set(e, 404, "get %s: no such volume", name);
    return -1;
  }
  hcsd_ctr_t *c = vol_user(d, name);
  if (c != NULL) {
    hcsd_err_set(e, 409, "remove %s: volume is in use - [%s]", name, c->id);
    return -1;
  }
  trash_t *t = calloc(1, sizeof(*t));
  if (t == NULL || trash_add(d, t, name, e) != 0 ||
      hcsd_work(d, trash_work, trash_done, t) != 0) {
    if (t != NULL && t->n == 0) {
      free(t->paths);
      free(t);
      return -1;
    }
    /* Renamed out already: the next open deletes the tree. */
    if (t != NULL) {
      trash_done(t);
    }
  }
  return 0;
}

typedef struct prune_s {
  json_t *f;
  bool all;
  trash_t *t;
  json_t *deleted;
  hcsd_err_t *e;
} prune_t;

static void prune_one(hcsd_t *d, const char *name, void *data) {
  prune_t *p = data;
  json_t *v = vol_json(d, name);
  json_t *labels = json_object_get(v, "Labels");
  bool anon = json_object_get(labels, VOL_ANON) != NULL;
  bool keep = v == NULL || (!p->all && !anon) || vol_user(d, name) != NULL ||
              !hcsd__filters_labels(p->f, labels);
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(p->f, "label!"), i, x) {
    keep = keep || hcsd__filters_label(labels, json_string_value(x));
  }
  json_decref(v);
  if (!keep && trash_add(d, p->t, name, p->e) == 0) {
    json_array_append_new(p->deleted, json_string(name));
  }
}

int hcsd_vol_prune(hcsd_t *d, const char *filters, hcsd_vol_pruned_cb done,
                   void *data, hcsd_err_t *e) {
  prune_t p = {.e = e};
  char msg[256];
  if (hcsd__filters_parse(filters, prune_keys, 3, &p.f, msg, sizeof(msg)) !=
      0) {
    hcsd_err_set(e, 400, "%s", msg);
    return -1;
  }
  if (filter_bool(p.f, "all", &p.all, e) != 0 ||
      (p.t = calloc(1, sizeof(*p.t))) == NULL) {
    json_decref(p.f);
    return -1;
  }
  p.deleted = json_array();
  vol_each(d, prune_one, &p);
  json_decref(p.f);
  p.t->report = json_pack("{s:o}", "VolumesDeleted", p.deleted);
  p.t->done = done;
  p.t->data = data;
  if (hcsd_work(d, trash_work, trash_done, p.t) != 0) {
    hcsd_err_set(e, 500, "out of memory");
    json_decref(p.t->report);
    p.t->report = NULL;
    trash_done(p.t);
    return -1;
  }
  return HCSD_PENDING;
}

/* ---- at start ---- */

static int map_volume(hcsd_t *d, const char *name, const char *dst, bool ro,
                      json_t *labels, json_t *dirs, hcsd_err_t *e) {
  if (!name_ok(name)) {
    hcsd_err_set(e, 400, "invalid volume name \"%s\"", name);
    return -1;
  }
  if (vol_make(d, name, labels, e) != 0) {
    return -1;
  }
  char p[4200];
  vol_path(d, name, "_data", p, sizeof(p));
  json_array_append_new(dirs, json_pack("{s:s,s:s,s:b}", "HostPath", p,
                                        "ContainerPath", dst, "ReadOnly", ro));
  return 0;
}

/* "name:/dst[:mode]" of Binds: ro among the comma-separated modes. */
static int bind_map(hcsd_t *d, const char *spec, json_t *dirs, hcsd_err_t *e) {
  char name[256];
  if (bind_volume(spec, name, sizeof(name)) == NULL) {
    return 0; /* a host path: mounts.c's */
  }
  const char *dst = spec + strlen(name) + 1;
  const char *mode = strchr(dst, ':');
  char d2[4096];
  snprintf(d2, sizeof(d2), "%.*s",
           (int)(mode != NULL ? (size_t)(mode - dst) : strlen(dst)), dst);
  bool ro = false;
  for (const char *m = mode != NULL ? mode + 1 : ""; *m != '\0';) {
    size_t len = strcspn(m, ",");
    ro = ro || (len == 2 && strncmp(m, "ro", 2) == 0);
    m += len + (m[len] == ',');
  }
  return map_volume(d, name, d2, ro, NULL, dirs, e);
}

int hcsd_volumes_system(hcsd_t *d, json_t *hc, json_t *sys, hcsd_err_t *e) {
  json_t *dirs = json_object_get(sys, "MappedDirectories");
  if (dirs == NULL) {
    dirs = json_array();
    json_object_set_new(sys, "MappedDirectories", dirs);
  }
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "Binds"), i, v) {
    const char *s = json_string_value(v);
    if (s != NULL && bind_map(d, s, dirs, e) != 0) {
      return -1;
    }
  }
  json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
    const char *name = mount_volume(v);
    const char *dst = json_string_value(json_object_get(v, "Target"));
    if (name != NULL &&
        map_volume(
            d, name, dst != NULL ? dst : "",
            json_is_true(json_object_get(v, "ReadOnly")),
            json_object_get(json_object_get(v, "VolumeOptions"), "Labels"),
            dirs, e) != 0) {
      return -1;
    }
  }
  return 0;
}

/* ---- at create, and for inspect ---- */

int hcsd_vol_name_check(const char *name, hcsd_err_t *e) {
  if (!name_ok(name)) {
    hcsd_err_set(e, 400,
                 "create %s: \"%s\" includes invalid characters for a local "
                 "volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
                 "allowed. If you intended to pass a host directory, use "
                 "absolute path",
                 name, name);
    return -1;
  }
  return 0;
}

int hcsd_vol_mount_check(json_t *mount, hcsd_err_t *e) {
  const char *src = mount_volume(mount);
  json_t *vo = json_object_get(mount, "VolumeOptions");
  json_t *dc = json_object_get(vo, "DriverConfig");
  const char *sub = json_string_value(json_object_get(vo, "Subpath"));
  if (sub != NULL && sub[0] != '\0') {
    hcsd_err_set(e, 400, "hcsd does not support --mount volume-subpath");
    return -1;
  }
  if (json_is_object(dc) && json_object_size(dc) > 0) {
    hcsd_err_set(e, 400,
                 "hcsd does not support volume driver options "
                 "(--mount volume-driver, volume-opt)");
    return -1;
  }
  return src != NULL ? hcsd_vol_name_check(src, e) : 0;
}

void hcsd_vol_anon_source(json_t *mount) {
  const char *type = json_string_value(json_object_get(mount, "Type"));
  const char *src = json_string_value(json_object_get(mount, "Source"));
  if (type == NULL || strcmp(type, "volume") != 0 ||
      (src != NULL && src[0] != '\0')) {
    return;
  }
  char id[65];
  hcsd_random_id(id);
  json_object_set_new(mount, "Source", json_string(id));
  json_t *vo = json_object_get(mount, "VolumeOptions");
  if (!json_is_object(vo)) {
    vo = json_object();
    json_object_set_new(mount, "VolumeOptions", vo);
  }
  json_t *labels = json_object_get(vo, "Labels");
  if (!json_is_object(labels)) {
    labels = json_object();
    json_object_set_new(vo, "Labels", labels);
  }
  json_object_set_new(labels, VOL_ANON, json_string(""));
}

void hcsd_volumes_rm_with(hcsd_t *d, const char *ref, bool on) {
  hcsd_err_t e;
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, &e);
  if (c != NULL) {
    c->rm_volumes = on;
  }
}

void hcsd_volumes_anon_remove(hcsd_t *d, json_t *hc) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
    const char *name = mount_volume(v);
    json_t *labels =
        json_object_get(json_object_get(v, "VolumeOptions"), "Labels");
    hcsd_err_t e;
    /* One that another container uses stays (409), as with dockerd. */
    if (name != NULL && json_object_get(labels, VOL_ANON) != NULL) {
      (void)hcsd_vol_remove(d, name, true, &e);
    }
  }
}

static json_t *mount_json(hcsd_t *d, const char *name, const char *dst,
                          bool ro) {
  char p[4200];
  vol_path(d, name, "_data", p, sizeof(p));
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "volume",
                   "Name", name, "Source", p, "Destination", dst, "Driver",
                   "local", "Mode", ro ? "ro" : "z", "RW", !ro, "Propagation",
                   "");
}

json_t *hcsd_volumes_mounts(hcsd_t *d, json_t *hc) {
  json_t *a = json_array();
  size_t i;
  json_t *v;
  char name[256];
  json_array_foreach(json_object_get(hc, "Binds"), i, v) {
    const char *s = json_string_value(v);
    if (s != NULL && bind_volume(s, name, sizeof(name)) != NULL) {
      const char *dst = s + strlen(name) + 1;
      const char *mode = strchr(dst, ':');
      char d2[4096];
      snprintf(d2, sizeof(d2), "%.*s",
               (int)(mode != NULL ? (size_t)(mode - dst) : strlen(dst)), dst);
      json_array_append_new(
          a,
          mount_json(d, name, d2, mode != NULL && strstr(mode, "ro") != NULL));
    }
  }
  json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
    const char *n = mount_volume(v);
    const char *dst = json_string_value(json_object_get(v, "Target"));
    if (n != NULL && dst != NULL) {
      json_array_append_new(
          a,
          mount_json(d, n, dst, json_is_true(json_object_get(v, "ReadOnly"))));
    }
  }
  return a;
}
