/* SPDX-License-Identifier: MIT */
/* The layer store's bookkeeping: a call's context and errors, the home and
 * its lock, layer.json, parent chains, and stages (folders being made
 * under a temporary name, renamed into place whole, so that a failed or
 * interrupted call leaves no half-made layer under its id). */
#include "hcs/layer/layerstore.h"

#include "hcs-async.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- for container.c: stat and string copies only ---- */

/* out = a + b, or -ENAMETOOLONG. */
static int join(char *out, size_t n, const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la + lb + 1 > n) {
    return -ENAMETOOLONG;
  }
  memcpy(out, a, la);
  memcpy(out + la, b, lb + 1);
  return 0;
}

static bool exists_in(const char *dir, const char *name, mode_t type) {
  char p[PATH_MAX];
  struct stat st;
  return join(p, sizeof(p), dir, name) == 0 && lstat(p, &st) == 0 &&
         (st.st_mode & S_IFMT) == type;
}

int hcs__layer_lowerdir(const char *layer_path, char *out, size_t n) {
  if (!exists_in(layer_path, "/layer.json", S_IFREG)) {
    return join(out, n, layer_path, "");
  }
  int err = join(out, n, layer_path, "/diff");
  return err != 0 ? err : exists_in(layer_path, "/full", S_IFREG);
}

int hcs__layer_sandbox_dirs(const char *layer_folder, char *upper, char *work,
                            size_t n) {
  if (exists_in(layer_folder, "/layer.json", S_IFREG) &&
      exists_in(layer_folder, "/full", S_IFREG)) {
    int err = join(upper, n, layer_folder, "/diff");
    return err != 0 ? err : (work[0] = '\0', 1);
  }
  int err = join(upper, n, layer_folder, "/upper");
  return err != 0 ? err : join(work, n, layer_folder, "/work");
}

/* ---- errors ---- */

hcs_result_t hcs__lfail(hcs__lctx_t *c, hcs_result_t code, int errnum,
                        const char *fmt, ...) {
  char cause[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cause, sizeof(cause), fmt, ap);
  va_end(ap);
  return hcs__fail(c->err, code, c->op, c->object, errnum, "%s", cause);
}

hcs_result_t hcs__lsys(hcs__lctx_t *c, int errnum, const char *fmt, ...) {
  char what[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  hcs_result_t code = errnum == ENOENT      ? HCS_ERROR_NOT_FOUND
                      : errnum == ECANCELED ? HCS_ERROR_CANCELLED
                      : errnum == ENOMEM    ? HCS_ERROR_OUTOFMEMORY
                                            : HCS_ERROR_GEN_FAILURE;
  if (errnum == ECANCELED) {
    return hcs__lfail(c, code, errnum, "%s: cancelled by the progress callback",
                      what);
  }
  return hcs__lfail(c, code, errnum, "%s: %s", what, strerror(errnum));
}

/* ---- the home ---- */

/* mkdir -p for an absolute, clean path (layer.c checked it). */
static int make_dirs(const char *path) {
  char p[PATH_MAX];
  if (join(p, sizeof(p), path, "") != 0) {
    return -ENAMETOOLONG;
  }
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char keep = *s;
      *s = '\0';
      if (p[1] != '\0' && mkdir(p, keep == '\0' ? 0700 : 0755) != 0 &&
          errno != EEXIST) {
        return -errno;
      }
      *s = keep;
      if (keep == '\0') {
        return 0;
      }
    }
  }
}

/* A staging folder (.tmp-*) or a layer being removed (.destroy-*) is
 * locked (flock) by the call that made it for as long as it works on it.
 * One whose lock is free and that is older than a few seconds (the
 * moments between mkdtemp and the lock) was left by a caller that died:
 * it goes. */
enum { LEFTOVER_AGE_S = 10 };

static void sweep_leftovers(int homefd) {
  int dfd = fcntl(homefd, F_DUPFD_CLOEXEC, 0);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (d == NULL) {
    if (dfd >= 0) {
      close(dfd);
    }
    return;
  }
  time_t now = time(NULL);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, ".tmp-", 5) != 0 &&
        strncmp(e->d_name, ".destroy-", 9) != 0) {
      continue;
    }
    int fd = openat(homefd, e->d_name,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
      continue;
    }
    if (fstat(fd, &st) == 0 && now - st.st_mtime >= LEFTOVER_AGE_S &&
        flock(fd, LOCK_EX | LOCK_NB) == 0) {
      hcs__tree_t t = {0};
      (void)hcs__tree_remove(&t, homefd, e->d_name);
      hcs__tree_free(&t);
    }
    close(fd);
  }
  closedir(d);
}

int hcs__home_open(hcs__lctx_t *c, bool create) {
  if (c->homefd >= 0) {
    return 0;
  }
  if (create) {
    int err = make_dirs(c->home);
    if (err != 0) {
      return err;
    }
  }
  c->homefd = open(c->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->homefd < 0) {
    return -errno;
  }
  sweep_leftovers(c->homefd);
  return 0;
}

int hcs__dir_hold(int fd) {
  while (flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      return -errno;
    }
  }
  return 0;
}

int hcs__home_lock(hcs__lctx_t *c, int how) {
  while (flock(c->homefd, how) != 0) {
    if (errno != EINTR) {
      return -errno;
    }
  }
  return 0;
}

void hcs__home_unlock(hcs__lctx_t *c) {
  if (c->homefd >= 0) {
    (void)flock(c->homefd, LOCK_UN);
  }
}

void hcs__home_close(hcs__lctx_t *c) {
  if (c->homefd >= 0) {
    close(c->homefd);
    c->homefd = -1;
  }
}

/* ---- layer.json ---- */

char **hcs__strv_dup(const char *const *v) {
  size_t n = 0;
  while (v != NULL && v[n] != NULL) {
    n++;
  }
  char **out = as_calloc(n + 1, sizeof(char *));
  for (size_t i = 0; out != NULL && i < n; i++) {
    if ((out[i] = as_strdup(v[i])) == NULL) {
      hcs__strv_free(out);
      return NULL;
    }
  }
  return out;
}

void hcs__strv_free(char **v) {
  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    as_free(v[i]);
  }
  as_free(v);
}

void hcs__meta_init(hcs__layer_meta_t *m, const char *id, const char *parent,
                    bool sandbox, int flavour) {
  memset(m, 0, sizeof(*m));
  snprintf(m->id, sizeof(m->id), "%s", id);
  snprintf(m->parent, sizeof(m->parent), "%s", parent != NULL ? parent : "");
  m->sandbox = sandbox;
  m->flavour = flavour;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  strftime(m->created, sizeof(m->created), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void hcs__meta_free(hcs__layer_meta_t *m) {
  hcs__strv_free(m->parents);
  m->parents = NULL;
}

static int read_small(int dirfd, const char *name, char *buf, size_t cap) {
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return -errno;
  }
  size_t len = 0;
  ssize_t n;
  while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
    if (n < 0 && errno != EINTR) {
      int e = errno;
      close(fd);
      return -e;
    }
    len += n > 0 ? (size_t)n : 0;
  }
  close(fd);
  buf[len] = '\0';
  return (int)len;
}

static int copy_str(json_t *o, const char *key, char *out, size_t n) {
  json_t *v = json_object_get(o, key);
  if (v == NULL) {
    out[0] = '\0';
    return 0;
  }
  if (!json_is_string(v) || strlen(json_string_value(v)) >= n) {
    return -EINVAL;
  }
  memcpy(out, json_string_value(v), strlen(json_string_value(v)) + 1);
  return 0;
}

static int meta_parse(json_t *o, hcs__layer_meta_t *m) {
  json_t *kind = json_object_get(o, "Kind");
  json_t *flavour = json_object_get(o, "Flavour");
  json_t *parents = json_object_get(o, "Parents");
  if (!json_is_object(o) || !json_is_string(kind) ||
      !json_is_integer(flavour) ||
      copy_str(o, "Id", m->id, sizeof(m->id)) != 0 ||
      copy_str(o, "Parent", m->parent, sizeof(m->parent)) != 0 ||
      copy_str(o, "Created", m->created, sizeof(m->created)) != 0 ||
      copy_str(o, "Name", m->name, sizeof(m->name)) != 0 ||
      copy_str(o, "Version", m->version, sizeof(m->version)) != 0 ||
      (parents != NULL && !json_is_array(parents))) {
    return -EINVAL;
  }
  m->sandbox = strcmp(json_string_value(kind), "sandbox") == 0;
  if (!m->sandbox && strcmp(json_string_value(kind), "ro") != 0) {
    return -EINVAL;
  }
  m->flavour = json_integer_value(flavour) == 0 ? 0 : 1;
  m->base = json_is_true(json_object_get(o, "Base"));
  size_t n = json_array_size(parents);
  m->parents = as_calloc(n + 1, sizeof(char *));
  if (m->parents == NULL) {
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    const char *p = json_string_value(json_array_get(parents, i));
    if (p == NULL || p[0] != '/') {
      return -EINVAL;
    }
    if ((m->parents[i] = as_strdup(p)) == NULL) {
      return -ENOMEM;
    }
  }
  return 0;
}

int hcs__meta_read(int dirfd, hcs__layer_meta_t *m) {
  memset(m, 0, sizeof(*m));
  char buf[65536];
  int n = read_small(dirfd, "layer.json", buf, sizeof(buf));
  if (n < 0) {
    return n;
  }
  json_t *o = json_loads(buf, 0, NULL);
  int err = o != NULL ? meta_parse(o, m) : -EINVAL;
  json_decref(o);
  if (err != 0) {
    hcs__meta_free(m);
  }
  return err;
}

int hcs__meta_write(int dirfd, const hcs__layer_meta_t *m) {
  json_t *parents = json_array();
  for (size_t i = 0; parents != NULL && m->parents != NULL && m->parents[i];
       i++) {
    json_array_append_new(parents, json_string(m->parents[i]));
  }
  json_t *o =
      json_pack("{s:s, s:s, s:s, s:i, s:s, s:b, s:s, s:s}", "Id", m->id,
                "Parent", m->parent, "Kind", m->sandbox ? "sandbox" : "ro",
                "Flavour", m->flavour, "Created", m->created, "Base", m->base,
                "Name", m->name, "Version", m->version);
  if (o != NULL && parents != NULL && m->sandbox) {
    json_object_set(o, "Parents", parents);
  }
  json_decref(parents);
  char *text = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
  json_decref(o);
  if (text == NULL) {
    return -ENOMEM;
  }
  int err = 0;
  int fd = openat(dirfd, "layer.json.tmp",
                  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  size_t len = strlen(text);
  if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
    err = -errno;
  }
  free(text);
  if (fd >= 0) {
    close(fd);
  }
  if (err == 0 && renameat(dirfd, "layer.json.tmp", dirfd, "layer.json") != 0) {
    err = -errno;
  }
  return err;
}

hcs_result_t hcs__layer_open(hcs__lctx_t *c, const char *id, int *fd,
                             hcs__layer_meta_t *m) {
  *fd = -1;
  int err = hcs__home_open(c, false);
  if (err == 0) {
    *fd =
        openat(c->homefd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    err = *fd < 0 ? -errno : 0;
  }
  if (err == 0) {
    err = hcs__meta_read(*fd, m);
  }
  if (err == 0) {
    return HCS_OK;
  }
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
  if (err == -ENOENT || err == -ENOTDIR || err == -ELOOP) {
    return hcs__lfail(c, HCS_ERROR_NOT_FOUND, ENOENT,
                      "layer %s: no such layer in %s", id, c->home);
  }
  if (err == -EINVAL) {
    return hcs__lfail(c, HCS_ERROR_GEN_FAILURE, EINVAL,
                      "layer %s: %s/%s/layer.json is not a layer description",
                      id, c->home, id);
  }
  return hcs__lsys(c, -err, "layer %s in %s", id, c->home);
}

/* ---- chains ---- */

void hcs__parent_id(const char *path, char out[129]) {
  out[0] = '\0';
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  hcs__layer_meta_t m;
  if (fd >= 0 && hcs__meta_read(fd, &m) == 0) {
    snprintf(out, 129, "%s", m.id);
    hcs__meta_free(&m);
  }
  if (fd >= 0) {
    close(fd);
  }
}

hcs_result_t hcs__chain_of(hcs__lctx_t *c, const hcs__layer_meta_t *m,
                           const char *const *given, char ***out) {
  *out = NULL;
  if (given != NULL || (m->parents != NULL && m->parents[0] != NULL)) {
    *out =
        hcs__strv_dup(given != NULL ? given : (const char *const *)m->parents);
    return *out != NULL ? HCS_OK : hcs__lsys(c, ENOMEM, "parent chain");
  }
  /* Follow Parent ids through the store; a cycle cannot run away: the
   * chain is bounded by the depth limit. */
  size_t n = 0;
  char **v = as_calloc(HCS_LAYER_MAX_DEPTH + 1, sizeof(char *));
  char next[129];
  snprintf(next, sizeof(next), "%s", m->parent);
  while (v != NULL && next[0] != '\0' && n < HCS_LAYER_MAX_DEPTH) {
    char path[PATH_MAX];
    int fd = openat(c->homefd, next,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    hcs__layer_meta_t pm;
    if (fd < 0 || hcs__meta_read(fd, &pm) != 0) {
      if (fd >= 0) {
        close(fd);
      }
      break;
    }
    close(fd);
    snprintf(path, sizeof(path), "%s/%s", c->home, next);
    snprintf(next, sizeof(next), "%s", pm.parent);
    hcs__meta_free(&pm);
    if ((v[n++] = as_strdup(path)) == NULL) {
      hcs__strv_free(v);
      v = NULL;
    }
  }
  *out = v;
  return v != NULL ? HCS_OK : hcs__lsys(c, ENOMEM, "parent chain");
}

static hcs_result_t tree_fail(hcs__lctx_t *c, hcs__tree_t *t, int err,
                              const char *doing, const char *path) {
  return hcs__lsys(c, -err, "%s %s: %s %s", doing, path,
                   t->what != NULL ? t->what : "", t->where);
}

hcs_result_t hcs__chain_materialise(hcs__lctx_t *c, char *const *chain,
                                    int dst) {
  size_t n = 0, top = 0;
  char dir[PATH_MAX];
  while (chain != NULL && chain[n] != NULL) {
    n++;
  }
  /* The nearest full copy ends the chain; else the base does. */
  for (top = 0; top + 1 < n; top++) {
    int r = hcs__layer_lowerdir(chain[top], dir, sizeof(dir));
    if (r < 0) {
      return hcs__lsys(c, -r, "parent %s", chain[top]);
    }
    if (r == 1) {
      break;
    }
  }
  hcs_result_t res = HCS_OK;
  for (size_t i = top + 1; n > 0 && res == HCS_OK && i-- > 0;) {
    hcs__tree_t t = {.flags = i == top ? 0 : HCS__TREE_APPLY,
                     .progress = &c->progress};
    int r = hcs__layer_lowerdir(chain[i], dir, sizeof(dir));
    int src = r < 0 ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = r < 0 ? r : src < 0 ? -errno : hcs__tree_copy(&t, src, dst);
    if (err != 0) {
      res = src < 0 ? hcs__lsys(c, -err, "parent %s", chain[i])
                    : tree_fail(c, &t, err, "copying", dir);
    }
    if (src >= 0) {
      close(src);
    }
    hcs__tree_free(&t);
  }
  return res;
}

hcs_result_t hcs__parents_exist(hcs__lctx_t *c, const char *const *parents) {
  for (size_t i = 0; parents != NULL && parents[i] != NULL; i++) {
    struct stat st;
    if (stat(parents[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
      return hcs__lfail(c, HCS_ERROR_NOT_FOUND, ENOENT,
                        "parent_layer_paths[%zu]: %s is not a directory", i,
                        parents[i]);
    }
  }
  return HCS_OK;
}

/* ---- stages ---- */

hcs_result_t hcs__stage_new(hcs__lctx_t *c, const char *id, hcs__stage_t *s) {
  s->fd = -1;
  int err = hcs__home_open(c, true);
  if (err != 0) {
    return hcs__lsys(c, -err, "home %s", c->home);
  }
  char path[PATH_MAX];
  snprintf(s->name, sizeof(s->name), ".tmp-%s-XXXXXX", id);
  if (snprintf(path, sizeof(path), "%s/%s", c->home, s->name) >=
      (int)sizeof(path)) {
    return hcs__lsys(c, ENAMETOOLONG, "home %s", c->home);
  }
  if (mkdtemp(path) == NULL) {
    return hcs__lsys(c, errno, "mkdtemp %s", path);
  }
  memcpy(s->name, strrchr(path, '/') + 1, strlen(strrchr(path, '/') + 1) + 1);
  s->fd = openat(c->homefd, s->name,
                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (s->fd >= 0 && (err = hcs__dir_hold(s->fd)) != 0) {
    close(s->fd);
    s->fd = -1;
    errno = -err;
  }
  if (s->fd < 0) {
    err = errno;
    (void)unlinkat(c->homefd, s->name, AT_REMOVEDIR);
    return hcs__lsys(c, err, "open %s", path);
  }
  return HCS_OK;
}

int hcs__stage_mkdir(hcs__stage_t *s, const char *name, mode_t mode, int *fd) {
  if (mkdirat(s->fd, name, mode) != 0 || fchmodat(s->fd, name, mode, 0) != 0) {
    return -errno;
  }
  *fd = openat(s->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return *fd < 0 ? -errno : 0;
}

void hcs__stage_abort(hcs__lctx_t *c, hcs__stage_t *s) {
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  if (s->name[0] != '\0' && c->homefd >= 0) {
    hcs__tree_t t = {0};
    (void)hcs__tree_remove(&t, c->homefd, s->name);
    hcs__tree_free(&t);
  }
  s->name[0] = '\0';
}

hcs_result_t hcs__stage_commit(hcs__lctx_t *c, hcs__stage_t *s,
                               const hcs__layer_meta_t *m) {
  int err = hcs__meta_write(s->fd, m);
  if (err == 0 && fsync(s->fd) != 0) {
    err = -errno;
  }
  if (err != 0) {
    hcs__stage_abort(c, s);
    return hcs__lsys(c, -err, "writing %s/%s/layer.json", c->home, s->name);
  }
  err = hcs__home_lock(c, LOCK_EX);
  if (err == 0 &&
      renameat2(c->homefd, s->name, c->homefd, m->id, RENAME_NOREPLACE) != 0) {
    err = -errno;
    if (err == -EINVAL) {
      /* A file system without RENAME_NOREPLACE: the lock makes the check
       * and the rename one step for every hcs on this store. */
      struct stat st;
      err = fstatat(c->homefd, m->id, &st, AT_SYMLINK_NOFOLLOW) == 0 ? -EEXIST
            : renameat(c->homefd, s->name, c->homefd, m->id) != 0    ? -errno
                                                                     : 0;
    }
  }
  char name[sizeof(s->name)];
  memcpy(name, s->name, sizeof(name));
  if (err == 0) {
    (void)fsync(c->homefd);
    s->name[0] = '\0';
  }
  hcs__home_unlock(c);
  hcs__stage_abort(c, s);
  if (err == -EEXIST || err == -ENOTEMPTY) {
    return hcs__lfail(c, HCS_ERROR_ALREADY_EXISTS, EEXIST,
                      "layer %s: %s/%s already exists", m->id, c->home, m->id);
  }
  return err != 0
             ? hcs__lsys(c, -err, "renaming %s/%s to %s", c->home, name, m->id)
             : HCS_OK;
}
