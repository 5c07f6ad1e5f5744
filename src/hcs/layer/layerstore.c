/* SPDX-License-Identifier: MIT */
/* The layer calls that make, mount, list and remove layers (hcs.h
 * "Layers"). Import and export are layerimport.c and layerexport.c; the
 * bookkeeping they share is layermeta.c. */
#include "hcs/layer/layerstore.h"

#include "hcs-async.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The overlay options hcs adds: no index (an upper stays usable over a
 * different lower), no redirects and no metadata-only copy-up (an upper
 * then holds whole files and plain whiteouts, which is what CopyLayer and
 * ExportLayer read). */
static const char overlay_extra[] = ",index=off,redirect_dir=off,metacopy=off";

/* ---- small files of a layer folder ---- */

static unsigned read_count(int fd) {
  char buf[32];
  int n = -1;
  int f = openat(fd, "prepared", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (f >= 0) {
    n = (int)read(f, buf, sizeof(buf) - 1);
    close(f);
  }
  if (n <= 0) {
    return 0;
  }
  buf[n] = '\0';
  return (unsigned)strtoul(buf, NULL, 10);
}

static int write_count(int fd, unsigned count) {
  if (count == 0) {
    return unlinkat(fd, "prepared", 0) != 0 && errno != ENOENT ? -errno : 0;
  }
  char buf[32];
  int len = snprintf(buf, sizeof(buf), "%u\n", count);
  int f = openat(fd, "prepared.tmp",
                 O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  int err = f < 0 || write(f, buf, (size_t)len) != len ? -errno : 0;
  if (f >= 0) {
    close(f);
  }
  if (err == 0 && renameat(fd, "prepared.tmp", fd, "prepared") != 0) {
    err = -errno;
  }
  return err;
}

static int touch(int fd, const char *name) {
  int f = openat(fd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (f < 0) {
    return -errno;
  }
  close(f);
  return 0;
}

/* 1 when <layer>/merged is a mount point, 0 when not (or missing). */
static int merged_mounted(int layer) {
  int m =
      openat(layer, "merged", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (m < 0) {
    return 0;
  }
  int r = hcs__is_mount_root(m, layer);
  close(m);
  return r;
}

static hcs_result_t need_home(hcs__lctx_t *c, const char *id) {
  int err = hcs__home_open(c, false);
  if (err == -ENOENT) {
    return hcs__lfail(c, HCS_ERROR_NOT_FOUND, ENOENT,
                      "layer %s: no such layer (no store at %s)", id, c->home);
  }
  return err != 0 ? hcs__lsys(c, -err, "home %s", c->home) : HCS_OK;
}

/* ---- making layers ---- */

static hcs_result_t fill_full_copy(hcs__lctx_t *c, hcs__stage_t *s,
                                   char *const *chain) {
  int diff;
  int err = hcs__stage_mkdir(s, "diff", 0755, &diff);
  if (err != 0) {
    return hcs__lsys(c, -err, "making diff in %s/%s", c->home, s->name);
  }
  hcs_result_t r = hcs__chain_materialise(c, chain, diff);
  close(diff);
  if (r == HCS_OK && (err = touch(s->fd, "full")) != 0) {
    r = hcs__lsys(c, -err, "marking %s/%s", c->home, s->name);
  }
  return r;
}

hcs_result_t hcs__lstore_create(hcs__lctx_t *c, const char *id,
                                const char *parent) {
  hcs__layer_meta_t m;
  hcs__meta_init(&m, id, parent, false, c->flavour);
  if (m.parent[0] != '\0') {
    int pfd;
    hcs__layer_meta_t pm;
    hcs_result_t r = need_home(c, m.parent);
    r = r == HCS_OK ? hcs__layer_open(c, m.parent, &pfd, &pm) : r;
    if (r != HCS_OK) {
      return r;
    }
    close(pfd);
    hcs__meta_free(&pm);
  }
  hcs__stage_t s;
  hcs_result_t r = hcs__stage_new(c, id, &s);
  if (r != HCS_OK) {
    return r;
  }
  char **chain = NULL;
  if (r == HCS_OK && c->flavour == HCS_FLAVOUR_DIFF) {
    r = hcs__chain_of(c, &m, NULL, &chain);
    r = r == HCS_OK ? fill_full_copy(c, &s, chain) : r;
  } else if (r == HCS_OK) {
    int diff;
    int err = hcs__stage_mkdir(&s, "diff", 0755, &diff);
    r = err != 0 ? hcs__lsys(c, -err, "making %s/%s/diff", c->home, s.name)
                 : (close(diff), HCS_OK);
  }
  hcs__strv_free(chain);
  if (r != HCS_OK) {
    hcs__stage_abort(c, &s);
    return r;
  }
  return hcs__stage_commit(c, &s, &m);
}

static hcs_result_t make_overlay_dirs(hcs__lctx_t *c, hcs__stage_t *s,
                                      bool empty_lower) {
  static const struct {
    const char *name;
    mode_t mode;
  } dirs[] = {
      {"upper", 0755}, {"work", 0700}, {"merged", 0755}, {"empty", 0755}};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    int fd;
    if (i == 3 && !empty_lower) {
      break;
    }
    int err = hcs__stage_mkdir(s, dirs[i].name, dirs[i].mode, &fd);
    if (err != 0) {
      return hcs__lsys(c, -err, "making %s in %s/%s", dirs[i].name, c->home,
                       s->name);
    }
    close(fd);
  }
  return HCS_OK;
}

hcs_result_t hcs__lstore_create_sandbox(hcs__lctx_t *c, const char *id,
                                        const char *parent_id,
                                        const char *const *parents) {
  hcs_result_t r = hcs__parents_exist(c, parents);
  if (r != HCS_OK) {
    return r;
  }
  hcs__layer_meta_t m;
  hcs__meta_init(&m, id, parent_id, true, c->flavour);
  m.parents = hcs__strv_dup(parents);
  if (m.parents == NULL) {
    return hcs__lsys(c, ENOMEM, "parent_layer_paths");
  }
  hcs__stage_t s;
  r = hcs__stage_new(c, id, &s);
  if (r == HCS_OK) {
    r = c->flavour == HCS_FLAVOUR_DIFF
            ? fill_full_copy(c, &s, m.parents)
            : make_overlay_dirs(c, &s, m.parents[0] == NULL);
    r = r == HCS_OK ? hcs__stage_commit(c, &s, &m)
                    : (hcs__stage_abort(c, &s), r);
  }
  hcs__meta_free(&m);
  return r;
}

/* Copies the source's files (under the shared lock) into the stage's
 * diff. */
static hcs_result_t copy_files(hcs__lctx_t *c, const char *src, int fd,
                               const char *part, hcs__stage_t *s) {
  int diff = -1;
  int from = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int err = from < 0 ? -errno : hcs__stage_mkdir(s, "diff", 0755, &diff);
  if (err != 0) {
    if (from >= 0) {
      close(from);
    }
    return hcs__lsys(c, -err, "copying %s/%s/%s", c->home, src, part);
  }
  hcs__tree_t t = {0};
  (void)hcs__tree_measure(&t, from, &c->progress.p.total_bytes,
                          &c->progress.p.total_entries);
  hcs__tree_free(&t);
  t = (hcs__tree_t){.progress = &c->progress, .what = "cancelled"};
  err = hcs__progress_add(&c->progress, 0, 0, true);
  if (err == 0) {
    err = hcs__tree_copy(&t, from, diff);
  }
  hcs_result_t r = err != 0 ? hcs__lsys(c, -err, "copying %s/%s/%s: %s %s",
                                        c->home, src, part, t.what, t.where)
                            : HCS_OK;
  hcs__tree_free(&t);
  close(from);
  close(diff);
  return r;
}

hcs_result_t hcs__lstore_copy(hcs__lctx_t *c, const char *src,
                              const char *dst) {
  hcs_result_t r = need_home(c, src);
  if (r != HCS_OK) {
    return r;
  }
  int err = hcs__home_lock(c, LOCK_SH);
  if (err != 0) {
    return hcs__lsys(c, -err, "locking %s", c->home);
  }
  int fd;
  hcs__layer_meta_t m;
  r = hcs__layer_open(c, src, &fd, &m);
  if (r != HCS_OK) {
    hcs__home_unlock(c);
    return r;
  }
  hcs__stage_t s;
  r = hcs__stage_new(c, dst, &s);
  if (r == HCS_OK) {
    bool upper = m.sandbox && m.flavour == HCS_FLAVOUR_FILTER;
    r = copy_files(c, src, fd, upper ? "upper" : "diff", &s);
  }
  close(fd);
  hcs__home_unlock(c);
  if (r == HCS_OK && m.flavour == HCS_FLAVOUR_DIFF &&
      (err = touch(s.fd, "full")) != 0) {
    r = hcs__lsys(c, -err, "marking %s/%s", c->home, s.name);
  }
  hcs__layer_meta_t nm;
  hcs__meta_init(&nm, dst, m.parent, false, m.flavour);
  hcs__meta_free(&m);
  if (r != HCS_OK) {
    hcs__stage_abort(c, &s);
    return r;
  }
  return hcs__stage_commit(c, &s, &nm);
}

/* ---- flags, mounts, paths ---- */

/* Opens layer id under the home's exclusive lock (released by the caller
 * with hcs__home_unlock). */
static hcs_result_t open_locked(hcs__lctx_t *c, const char *id, int *fd,
                                hcs__layer_meta_t *m) {
  *fd = -1;
  hcs_result_t r = need_home(c, id);
  if (r != HCS_OK) {
    return r;
  }
  int err = hcs__home_lock(c, LOCK_EX);
  if (err != 0) {
    return hcs__lsys(c, -err, "locking %s", c->home);
  }
  r = hcs__layer_open(c, id, fd, m);
  if (r != HCS_OK) {
    hcs__home_unlock(c);
  }
  return r;
}

static void close_locked(hcs__lctx_t *c, int fd, hcs__layer_meta_t *m) {
  hcs__home_unlock(c);
  if (fd >= 0) {
    close(fd);
  }
  hcs__meta_free(m);
}

hcs_result_t hcs__lstore_activate(hcs__lctx_t *c, const char *id, bool on) {
  int fd;
  hcs__layer_meta_t m;
  hcs_result_t r = open_locked(c, id, &fd, &m);
  if (r != HCS_OK) {
    return r;
  }
  int err =
      on ? touch(fd, "active")
         : (unlinkat(fd, "active", 0) != 0 && errno != ENOENT ? -errno : 0);
  close_locked(c, fd, &m);
  return err != 0 ? hcs__lsys(c, -err, "layer %s/%s: flag", c->home, id)
                  : HCS_OK;
}

/* "lowerdir=A:B,upperdir=U,workdir=W" and the extra options. */
static hcs_result_t overlay_options(hcs__lctx_t *c, const char *id,
                                    char *const *chain, char *opts, size_t n) {
  char dir[PATH_MAX];
  size_t len = (size_t)snprintf(opts, n, "lowerdir=");
  for (size_t i = 0; chain[i] != NULL && len < n; i++) {
    int r = hcs__layer_lowerdir(chain[i], dir, sizeof(dir));
    if (r < 0) {
      return hcs__lsys(c, -r, "parent %s", chain[i]);
    }
    len += (size_t)snprintf(opts + len, n - len, "%s%s", i > 0 ? ":" : "", dir);
    if (r == 1) {
      break; /* a full copy: nothing below it shows */
    }
  }
  if (chain[0] == NULL) {
    len += (size_t)snprintf(opts + len, n - len, "%s/%s/empty", c->home, id);
  }
  if (len < n) {
    len += (size_t)snprintf(opts + len, n - len,
                            ",upperdir=%s/%s/upper,workdir=%s/%s/work%s",
                            c->home, id, c->home, id, overlay_extra);
  }
  if (len >= n) {
    return hcs__lfail(c, HCS_WSAEINVAL, ENAMETOOLONG,
                      "layer %s: the overlay options for its parents pass "
                      "the kernel's limit of %zu bytes",
                      id, n - 1);
  }
  return HCS_OK;
}

static hcs_result_t mount_view(hcs__lctx_t *c, const char *id, int fd,
                               const hcs__layer_meta_t *m,
                               const char *const *given) {
  char **chain = NULL;
  hcs_result_t r = hcs__chain_of(c, m, given, &chain);
  char opts[4096];
  if (r == HCS_OK) {
    r = overlay_options(c, id, chain, opts, sizeof(opts));
  }
  hcs__strv_free(chain);
  if (r != HCS_OK) {
    return r;
  }
  int merged =
      openat(fd, "merged", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (merged < 0) {
    return hcs__lsys(c, errno, "layer %s/%s/merged", c->home, id);
  }
  /* Mount on the directory the fd holds, not on a path that could have
   * been changed since it was checked. */
  char target[64];
  snprintf(target, sizeof(target), "/proc/self/fd/%d", merged);
  int err = mount("overlay", target, "overlay", 0, opts) != 0 ? errno : 0;
  close(merged);
  return err != 0 ? hcs__lsys(c, err, "mount overlay on %s/%s/merged (%s)",
                              c->home, id, opts)
                  : HCS_OK;
}

hcs_result_t hcs__lstore_prepare(hcs__lctx_t *c, const char *id,
                                 const char *const *parents) {
  int fd;
  hcs__layer_meta_t m;
  hcs_result_t r = open_locked(c, id, &fd, &m);
  if (r != HCS_OK) {
    return r;
  }
  unsigned count = read_count(fd);
  if (!m.sandbox) {
    r = hcs__lfail(c, HCS_WSAEINVAL, EINVAL,
                   "layer %s is read-only: only a sandbox layer is prepared",
                   id);
  } else if (m.flavour == HCS_FLAVOUR_FILTER && !merged_mounted(fd)) {
    r = mount_view(c, id, fd, &m, parents);
    count = 0; /* a count left by a host that went away */
  }
  int err = r == HCS_OK ? write_count(fd, count + 1) : 0;
  if (err != 0) {
    r = hcs__lsys(c, -err, "layer %s/%s: prepare count", c->home, id);
  }
  close_locked(c, fd, &m);
  return r;
}

hcs_result_t hcs__lstore_unprepare(hcs__lctx_t *c, const char *id) {
  int fd;
  hcs__layer_meta_t m;
  hcs_result_t r = open_locked(c, id, &fd, &m);
  if (r != HCS_OK) {
    return r;
  }
  unsigned count = read_count(fd);
  bool mounted = m.flavour == HCS_FLAVOUR_FILTER && merged_mounted(fd);
  if (count == 0 && !mounted) {
    r = hcs__lfail(c, HCS_WSAEINVAL, EINVAL, "layer %s is not prepared", id);
  }
  count = count > 0 ? count - 1 : 0;
  if (r == HCS_OK && count == 0 && mounted) {
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s/merged", c->home, id);
    /* Still in use (a shell's cwd, an open file): detach it, so that it
     * goes once the last user does. */
    if (umount2(path, UMOUNT_NOFOLLOW) != 0 &&
        (errno != EBUSY || umount2(path, UMOUNT_NOFOLLOW | MNT_DETACH) != 0)) {
      r = hcs__lsys(c, errno, "umount %s", path);
    }
  }
  int err = r == HCS_OK ? write_count(fd, count) : 0;
  if (err != 0) {
    r = hcs__lsys(c, -err, "layer %s/%s: prepare count", c->home, id);
  }
  close_locked(c, fd, &m);
  return r;
}

hcs_result_t hcs__lstore_mount_path(hcs__lctx_t *c, const char *id,
                                    char **path) {
  int fd;
  hcs__layer_meta_t m;
  hcs_result_t r = open_locked(c, id, &fd, &m);
  if (r != HCS_OK) {
    return r;
  }
  const char *sub = "";
  if (m.sandbox && read_count(fd) > 0) {
    sub = m.flavour == HCS_FLAVOUR_FILTER ? "/merged" : "/diff";
  }
  close_locked(c, fd, &m);
  size_t n = strlen(c->home) + strlen(id) + strlen(sub) + 2;
  *path = as_malloc(n);
  if (*path == NULL) {
    return hcs__lsys(c, ENOMEM, "mount path");
  }
  snprintf(*path, n, "%s/%s%s", c->home, id, sub);
  return HCS_OK;
}

hcs_result_t hcs__lstore_exists(hcs__lctx_t *c, const char *id, bool *exists) {
  int err = hcs__home_open(c, false);
  if (err == -ENOENT) {
    return HCS_OK;
  }
  if (err != 0) {
    return hcs__lsys(c, -err, "home %s", c->home);
  }
  int fd = openat(c->homefd, id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  *exists = fd >= 0 &&
            fstatat(fd, "layer.json", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode);
  if (fd >= 0) {
    close(fd);
  }
  return HCS_OK;
}

/* ---- destroy, base images ---- */

/* HCS_OK, or HCS_ERROR_BUSY naming the layer of the store that stands on
 * id. */
static hcs_result_t find_children(hcs__lctx_t *c, const char *id) {
  char **names;
  size_t n;
  int err = hcs__dir_names(c->homefd, &names, &n);
  if (err != 0) {
    return hcs__lsys(c, -err, "listing %s", c->home);
  }
  char self[PATH_MAX];
  snprintf(self, sizeof(self), "%s/%s", c->home, id);
  hcs_result_t r = HCS_OK;
  for (size_t i = 0; r == HCS_OK && i < n; i++) {
    int fd = names[i][0] == '.' || strcmp(names[i], id) == 0
                 ? -1
                 : openat(c->homefd, names[i],
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    hcs__layer_meta_t m;
    if (fd < 0 || hcs__meta_read(fd, &m) != 0) {
      if (fd >= 0) {
        close(fd);
      }
      continue;
    }
    close(fd);
    bool over = strcmp(m.parent, id) == 0;
    for (size_t k = 0; !over && m.parents != NULL && m.parents[k]; k++) {
      over = strcmp(m.parents[k], self) == 0;
    }
    if (over) {
      r = hcs__lfail(c, HCS_ERROR_BUSY, EBUSY,
                     "layer %s is in use: layer %s stands on it", id, names[i]);
    }
    hcs__meta_free(&m);
  }
  as_free(names);
  return r;
}

hcs_result_t hcs__lstore_destroy(hcs__lctx_t *c, const char *id) {
  int fd;
  hcs__layer_meta_t m;
  hcs_result_t r = open_locked(c, id, &fd, &m);
  if (r != HCS_OK) {
    return r;
  }
  unsigned count = read_count(fd);
  if (count > 0) {
    r = hcs__lfail(c, HCS_ERROR_BUSY, EBUSY,
                   "layer %s is in use: prepared (%u); unprepare it first", id,
                   count);
  } else if (merged_mounted(fd)) {
    r = hcs__lfail(c, HCS_ERROR_BUSY, EBUSY,
                   "layer %s is in use: %s/%s/merged is mounted", id, c->home,
                   id);
  } else {
    r = find_children(c, id);
  }
  /* Renamed out of the store's names first, so that the layer is gone at
   * once, whatever the removal then meets. */
  char trash[192];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  snprintf(trash, sizeof(trash), ".destroy-%s-%lld%09ld", id,
           (long long)now.tv_sec, now.tv_nsec);
  if (r == HCS_OK &&
      renameat2(c->homefd, id, c->homefd, trash, RENAME_NOREPLACE) != 0) {
    r = hcs__lsys(c, errno, "renaming %s/%s", c->home, id);
  }
  /* Held while it goes, so that no other call takes it for a dead
   * caller's leftover meanwhile. */
  int hold = r == HCS_OK
                 ? openat(c->homefd, trash,
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                 : -1;
  if (hold >= 0) {
    (void)hcs__dir_hold(hold);
  }
  close_locked(c, fd, &m);
  if (r != HCS_OK) {
    return r;
  }
  hcs__tree_t t = {0};
  int err = hcs__tree_remove(&t, c->homefd, trash);
  if (hold >= 0) {
    close(hold);
  }
  r = err != 0 ? hcs__lsys(c, -err, "removing %s/%s: %s %s", c->home, trash,
                           t.what, t.where)
               : HCS_OK;
  hcs__tree_free(&t);
  return r;
}

static json_t *image_of(hcs__lctx_t *c, const char *id, int fd,
                        const hcs__layer_meta_t *m) {
  uint64_t bytes = 0, entries = 0;
  int diff =
      openat(fd, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (diff >= 0) {
    hcs__tree_t t = {0};
    (void)hcs__tree_measure(&t, diff, &bytes, &entries);
    hcs__tree_free(&t);
    close(diff);
  }
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", c->home, id);
  return json_pack("{s:s, s:s, s:s, s:I, s:s}", "Name", m->name, "Version",
                   m->version, "Path", path, "Size", (json_int_t)bytes,
                   "CreatedTime", m->created);
}

hcs_result_t hcs__lstore_base_images(hcs__lctx_t *c, char **json) {
  json_t *images = json_array();
  char **names = NULL;
  size_t n = 0;
  int err = hcs__home_open(c, false);
  if (err == 0 && (err = hcs__home_lock(c, LOCK_SH)) == 0) {
    err = hcs__dir_names(c->homefd, &names, &n);
  }
  for (size_t i = 0; err == 0 && i < n; i++) {
    int fd = names[i][0] == '.'
                 ? -1
                 : openat(c->homefd, names[i],
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    hcs__layer_meta_t m;
    if (fd >= 0 && hcs__meta_read(fd, &m) == 0) {
      if (m.base) {
        json_array_append_new(images, image_of(c, names[i], fd, &m));
      }
      hcs__meta_free(&m);
    }
    if (fd >= 0) {
      close(fd);
    }
  }
  hcs__home_unlock(c);
  as_free(names);
  if (err != 0 && err != -ENOENT) {
    json_decref(images);
    return hcs__lsys(c, -err, "listing %s", c->home);
  }
  json_t *o = json_pack("{s:o}", "Images", images);
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  *json = text != NULL ? as_strdup(text) : NULL;
  free(text);
  return *json != NULL ? HCS_OK : hcs__lsys(c, ENOMEM, "base images");
}
