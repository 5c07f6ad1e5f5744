/* SPDX-License-Identifier: MIT */
/* Trees of layers: copying a diff, applying one (whiteouts as deletions),
 * removing, measuring. Every walk works relative to directory fds and
 * never follows a symlink: a layer's files are whatever a container or a
 * tar made them, and none of them may steer a walk out of its tree. A
 * level keeps its directory fds open while its children are walked, so
 * walks stop at HCS_LAYER_MAX_DEPTH levels (ELOOP) instead of running out
 * of fds. */
#include "hcs/layer/layerstore.h"

#include "hcs-async.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* ---- progress ---- */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int hcs__progress_add(hcs__progress_t *pr, uint64_t bytes, uint64_t entries,
                      bool force) {
  if (pr == NULL) {
    return 0;
  }
  pr->p.bytes += bytes;
  pr->p.entries += entries;
  if (pr->cb == NULL) {
    return 0;
  }
  uint64_t now = now_ms();
  if (!force && now - pr->last_ms < 50) {
    return 0;
  }
  pr->last_ms = now;
  hcs_layer_progress_t copy = pr->p;
  return pr->cb(&copy, pr->data) != 0 ? -ECANCELED : 0;
}

/* ---- (dev, ino) -> path ---- */

struct hcs__ino_s {
  dev_t dev;
  ino_t ino;
  char *path; /* NULL: a free slot */
};

static size_t ino_slot(const hcs__inomap_t *m, dev_t dev, ino_t ino) {
  uint64_t h = (uint64_t)ino * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)dev;
  size_t k = (size_t)(h ^ (h >> 29)) & (m->cap - 1);
  while (m->v[k].path != NULL && !(m->v[k].dev == dev && m->v[k].ino == ino)) {
    k = (k + 1) & (m->cap - 1);
  }
  return k;
}

const char *hcs__inomap_get(const hcs__inomap_t *m, dev_t dev, ino_t ino) {
  return m->cap == 0 ? NULL : m->v[ino_slot(m, dev, ino)].path;
}

int hcs__inomap_put(hcs__inomap_t *m, dev_t dev, ino_t ino, const char *path) {
  if ((m->n + 1) * 2 > m->cap) {
    hcs__inomap_t bigger = {.cap = m->cap != 0 ? m->cap * 2 : 64};
    bigger.v = as_calloc(bigger.cap, sizeof(*bigger.v));
    if (bigger.v == NULL) {
      return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
      if (m->v[i].path != NULL) {
        bigger.v[ino_slot(&bigger, m->v[i].dev, m->v[i].ino)] = m->v[i];
      }
    }
    bigger.n = m->n;
    as_free(m->v);
    *m = bigger;
  }
  size_t k = ino_slot(m, dev, ino);
  if (m->v[k].path != NULL) {
    return 0;
  }
  char *copy = as_strdup(path);
  if (copy == NULL) {
    return -ENOMEM;
  }
  m->v[k] = (struct hcs__ino_s){dev, ino, copy};
  m->n++;
  return 0;
}

void hcs__inomap_free(hcs__inomap_t *m) {
  for (size_t i = 0; i < m->cap; i++) {
    as_free(m->v[i].path);
  }
  as_free(m->v);
  memset(m, 0, sizeof(*m));
}

/* ---- small helpers ---- */

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int hcs__dir_names(int dir, char ***out, size_t *n_out) {
  *out = NULL;
  int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
    }
    return -e;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0, n = 0;
  int err = 0;
  struct dirent *de;
  for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
      continue;
    }
    size_t l = strlen(de->d_name) + 1;
    if (len + l > cap) {
      cap = cap * 2 + l + 4096;
      char *nb = as_realloc(buf, cap);
      if (nb == NULL) {
        err = -ENOMEM;
        break;
      }
      buf = nb;
    }
    memcpy(buf + len, de->d_name, l);
    len += l;
    n++;
  }
  if (err == 0 && errno != 0) {
    err = -errno;
  }
  closedir(d);
  char **v = err == 0 ? as_malloc((n + 1) * sizeof(char *) + len) : NULL;
  if (err == 0 && v == NULL) {
    err = -ENOMEM;
  }
  if (err == 0) {
    char *p = (char *)(v + n + 1);
    if (len > 0) {
      memcpy(p, buf, len);
    }
    for (size_t i = 0; i < n; i++) {
      v[i] = p;
      p += strlen(p) + 1;
    }
    v[n] = NULL;
    qsort(v, n, sizeof(char *), cmp_names);
    *out = v;
    *n_out = n;
  }
  as_free(buf);
  return err;
}

bool hcs__is_whiteout(const struct stat *st) {
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

int hcs__is_opaque(int fd) {
  char v[2];
  ssize_t n = fgetxattr(fd, HCS__OPAQUE_XATTR, v, sizeof(v));
  return n == 1 && v[0] == 'y';
}

int hcs__set_opaque(int fd) {
  return fsetxattr(fd, HCS__OPAQUE_XATTR, "y", 1, 0) != 0 ? -errno : 0;
}

bool hcs__xattr_travels(const char *name) {
  return strncmp(name, "user.", 5) == 0 ||
         strcmp(name, "security.capability") == 0;
}

/* Records the failing call and returns -err. t->where already names the
 * entry. */
static int fail(hcs__tree_t *t, const char *what, int err) {
  t->what = what;
  return -err;
}

/* Appends "/name" (or "name" at the top) to t->where; returns the old
 * length to cut back to, or -ENAMETOOLONG. */
static int where_push(hcs__tree_t *t, const char *name, size_t *old) {
  size_t len = strlen(t->where), l = strlen(name);
  if (len + l + 2 > sizeof(t->where)) {
    t->what = "path";
    return -ENAMETOOLONG;
  }
  *old = len;
  if (len > 0) {
    t->where[len++] = '/';
  }
  memcpy(t->where + len, name, l + 1);
  return 0;
}

/* Copies the extended attributes that travel (and the opaque marker unless
 * applying) from one fd to another. */
static int copy_xattrs(hcs__tree_t *t, int from, int to) {
  ssize_t n = flistxattr(from, NULL, 0);
  if (n <= 0) {
    return n < 0 && errno != ENOTSUP ? fail(t, "flistxattr", errno) : 0;
  }
  char *list = as_malloc((size_t)n);
  char *val = as_malloc(65536);
  int err = list == NULL || val == NULL ? fail(t, "malloc", ENOMEM) : 0;
  ssize_t got = err == 0 ? flistxattr(from, list, (size_t)n) : 0;
  if (got < 0) {
    err = fail(t, "flistxattr", errno);
  }
  for (ssize_t i = 0; err == 0 && i < got; i += (ssize_t)strlen(list + i) + 1) {
    const char *name = list + i;
    bool opaque = strcmp(name, HCS__OPAQUE_XATTR) == 0;
    if (!hcs__xattr_travels(name) &&
        !(opaque && !(t->flags & HCS__TREE_APPLY))) {
      continue;
    }
    ssize_t vl = fgetxattr(from, name, val, 65536);
    if (vl < 0) {
      err = fail(t, "fgetxattr", errno);
    } else if (fsetxattr(to, name, val, (size_t)vl, 0) != 0) {
      err = fail(t, "fsetxattr", errno);
    }
  }
  as_free(list);
  as_free(val);
  return err;
}

static int copy_data(hcs__tree_t *t, int in, int out, off_t size) {
  off_t done = 0;
  bool kernel = true;
  char *buf = NULL;
  int err = 0;
  while (err == 0 && done < size) {
    size_t want = (size_t)(size - done < (1 << 20) ? size - done : (1 << 20));
    ssize_t n;
    if (kernel) {
      n = copy_file_range(in, NULL, out, NULL, want, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
                    errno == EOPNOTSUPP)) {
        kernel = false;
        continue;
      }
    } else {
      if (buf == NULL && (buf = as_malloc(65536)) == NULL) {
        err = fail(t, "malloc", ENOMEM);
        break;
      }
      n = read(in, buf, want < 65536 ? want : 65536);
      for (ssize_t w = 0; n > 0 && w < n;) {
        ssize_t k = write(out, buf + w, (size_t)(n - w));
        if (k < 0 && errno != EINTR) {
          err = fail(t, "write", errno);
          break;
        }
        w += k > 0 ? k : 0;
      }
    }
    if (n < 0 && errno != EINTR && err == 0) {
      err = fail(t, kernel ? "copy_file_range" : "read", errno);
    }
    if (n == 0) {
      break; /* the file shrank since its stat: what is there is copied */
    }
    if (n > 0) {
      done += n;
      err = err != 0 ? err : hcs__progress_add(t->progress, (uint64_t)n, 0, 0);
    }
  }
  as_free(buf);
  if (err == -ECANCELED) {
    t->what = "cancelled";
  }
  return err;
}

static int set_owner_mode_times(hcs__tree_t *t, int fd, const struct stat *st) {
  struct timespec times[2] = {st->st_atim, st->st_mtim};
  if (fchown(fd, st->st_uid, st->st_gid) != 0) {
    return fail(t, "fchown", errno);
  }
  if (fchmod(fd, st->st_mode & 07777) != 0) {
    return fail(t, "fchmod", errno);
  }
  return futimens(fd, times) != 0 ? fail(t, "futimens", errno) : 0;
}

static int copy_regular(hcs__tree_t *t, int src, int dst, const char *name,
                        const struct stat *st) {
  int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) {
    return fail(t, "open", errno);
  }
  int out = openat(dst, name,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int err = out < 0 ? fail(t, "create", errno) : 0;
  if (err == 0) {
    err = copy_data(t, in, out, st->st_size);
  }
  /* chown clears set-id bits and capabilities: owner first, then mode,
   * then the attributes, then the times. */
  if (err == 0 && fchown(out, st->st_uid, st->st_gid) != 0) {
    err = fail(t, "fchown", errno);
  }
  if (err == 0 && fchmod(out, st->st_mode & 07777) != 0) {
    err = fail(t, "fchmod", errno);
  }
  if (err == 0) {
    err = copy_xattrs(t, in, out);
  }
  struct timespec times[2] = {st->st_atim, st->st_mtim};
  if (err == 0 && futimens(out, times) != 0) {
    err = fail(t, "futimens", errno);
  }
  close(in);
  if (out >= 0) {
    close(out);
  }
  return err;
}

/* A symlink, device, FIFO or socket: made by name, set by name without
 * following (the name was just made by us in our own tree). */
static int copy_special(hcs__tree_t *t, int src, int dst, const char *name,
                        const struct stat *st) {
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
    if (n < 0) {
      return fail(t, "readlink", errno);
    }
    target[n] = '\0';
    if (symlinkat(target, dst, name) != 0) {
      return fail(t, "symlink", errno);
    }
  } else if (mknodat(dst, name, st->st_mode & (S_IFMT | 0700), st->st_rdev) !=
             0) {
    return fail(t, "mknod", errno);
  }
  struct timespec times[2] = {st->st_atim, st->st_mtim};
  if (fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return fail(t, "lchown", errno);
  }
  if (!S_ISLNK(st->st_mode) &&
      fchmodat(dst, name, st->st_mode & 07777, 0) != 0) {
    return fail(t, "chmod", errno);
  }
  return utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW) != 0
             ? fail(t, "utimensat", errno)
             : 0;
}

static int copy_nondir(hcs__tree_t *t, int src, int dst, const char *name,
                       const struct stat *st) {
  int err = hcs__tree_remove(t, dst, name);
  if (err != 0 || (t->flags & HCS__TREE_APPLY && hcs__is_whiteout(st))) {
    return err;
  }
  if (t->flags & HCS__TREE_MOVE) {
    return renameat(src, name, dst, name) != 0 ? fail(t, "rename", errno) : 0;
  }
  if (st->st_nlink > 1) {
    const char *first = hcs__inomap_get(&t->links, st->st_dev, st->st_ino);
    if (first != NULL) {
      return linkat(t->dst_root, first, dst, name, 0) != 0
                 ? fail(t, "link", errno)
                 : 0;
    }
  }
  err = S_ISREG(st->st_mode) ? copy_regular(t, src, dst, name, st)
                             : copy_special(t, src, dst, name, st);
  if (err == 0 && st->st_nlink > 1) {
    err = hcs__inomap_put(&t->links, st->st_dev, st->st_ino, t->where);
    err = err != 0 ? fail(t, "malloc", -err) : 0;
  }
  return err;
}

static int copy_level(hcs__tree_t *t, int src, int dst, size_t depth);

static int copy_subdir(hcs__tree_t *t, int src, int dst, const char *name,
                       const struct stat *st, size_t depth) {
  struct stat old;
  bool existed = fstatat(dst, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
  int err = 0;
  if (existed && !S_ISDIR(old.st_mode)) {
    err = hcs__tree_remove(t, dst, name);
    existed = false;
  }
  if (err == 0 && !existed && mkdirat(dst, name, 0700) != 0) {
    err = fail(t, "mkdir", errno);
  }
  if (err != 0) {
    return err;
  }
  int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (s < 0) {
    return fail(t, "open", errno);
  }
  int d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  err = d < 0 ? fail(t, "open", errno) : 0;
  if (err == 0 && existed && t->flags & HCS__TREE_APPLY && hcs__is_opaque(s)) {
    err = hcs__tree_empty(t, d);
  }
  if (err == 0) {
    err = copy_level(t, s, d, depth + 1);
  }
  if (err == 0 && fchown(d, st->st_uid, st->st_gid) != 0) {
    err = fail(t, "fchown", errno);
  }
  if (err == 0 && fchmod(d, st->st_mode & 07777) != 0) {
    err = fail(t, "fchmod", errno);
  }
  err = err == 0 ? copy_xattrs(t, s, d) : err;
  struct timespec times[2] = {st->st_atim, st->st_mtim};
  if (err == 0 && futimens(d, times) != 0) {
    err = fail(t, "futimens", errno);
  }
  close(s);
  if (d >= 0) {
    close(d);
  }
  return err;
}

static int copy_level(hcs__tree_t *t, int src, int dst, size_t depth) {
  if (depth > HCS_LAYER_MAX_DEPTH) {
    return fail(t, "walk (too deep)", ELOOP);
  }
  char **names;
  size_t n;
  int err = hcs__dir_names(src, &names, &n);
  if (err != 0) {
    return fail(t, "readdir", -err);
  }
  for (size_t i = 0; err == 0 && i < n; i++) {
    size_t old;
    struct stat st;
    err = where_push(t, names[i], &old);
    if (err == 0 && fstatat(src, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
      err = fail(t, "stat", errno);
    }
    if (err == 0) {
      err = S_ISDIR(st.st_mode) ? copy_subdir(t, src, dst, names[i], &st, depth)
                                : copy_nondir(t, src, dst, names[i], &st);
    }
    if (err == 0) {
      err = hcs__progress_add(t->progress, 0, 1, false);
      t->what = err != 0 ? "cancelled" : t->what;
    }
    if (err == 0) {
      t->where[old] = '\0';
    }
  }
  as_free(names);
  return err;
}

int hcs__tree_copy(hcs__tree_t *t, int src, int dst) {
  t->where[0] = '\0';
  t->dst_root = dst;
  int err = copy_level(t, src, dst, 1);
  if (err != 0) {
    return err;
  }
  /* The top's own owner, mode and attributes: a diff's top is the root
   * of the view. */
  struct stat st;
  if (fstat(src, &st) != 0) {
    return fail(t, "stat", errno);
  }
  err = copy_xattrs(t, src, dst);
  return err != 0 ? err : set_owner_mode_times(t, dst, &st);
}

/* ---- removing, measuring ---- */

int hcs__is_mount_root(int fd, int parent) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0 &&
      sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
    return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  }
  struct stat a, b;
  return fstat(fd, &a) == 0 && fstat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static int empty_level(hcs__tree_t *t, int dir, size_t depth);

static int remove_at(hcs__tree_t *t, int dirfd, const char *name,
                     size_t depth) {
  if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) {
    return 0;
  }
  if (errno != EISDIR) {
    return fail(t, "unlink", errno);
  }
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return fail(t, "open", errno);
  }
  int err = hcs__is_mount_root(fd, dirfd)
                ? fail(t, "remove (a mount point)", EBUSY)
                : empty_level(t, fd, depth + 1);
  close(fd);
  if (err == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
    err = fail(t, "rmdir", errno);
  }
  return err;
}

static int empty_level(hcs__tree_t *t, int dir, size_t depth) {
  if (depth > HCS_LAYER_MAX_DEPTH) {
    return fail(t, "remove (too deep)", ELOOP);
  }
  char **names;
  size_t n;
  int err = hcs__dir_names(dir, &names, &n);
  if (err != 0) {
    return fail(t, "readdir", -err);
  }
  for (size_t i = 0; err == 0 && i < n; i++) {
    size_t old;
    err = where_push(t, names[i], &old);
    err = err == 0 ? remove_at(t, dir, names[i], depth) : err;
    if (err == 0) {
      t->where[old] = '\0';
    }
  }
  as_free(names);
  return err;
}

int hcs__tree_remove(hcs__tree_t *t, int dirfd, const char *name) {
  return remove_at(t, dirfd, name, 1);
}

int hcs__tree_empty(hcs__tree_t *t, int dir) { return empty_level(t, dir, 1); }

static int measure_level(hcs__tree_t *t, int dir, size_t depth, uint64_t *bytes,
                         uint64_t *entries) {
  if (depth > HCS_LAYER_MAX_DEPTH) {
    return fail(t, "walk (too deep)", ELOOP);
  }
  char **names;
  size_t n;
  int err = hcs__dir_names(dir, &names, &n);
  if (err != 0) {
    return fail(t, "readdir", -err);
  }
  for (size_t i = 0; err == 0 && i < n; i++) {
    struct stat st;
    if (fstatat(dir, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue; /* gone meanwhile: not counted */
    }
    *entries += 1;
    bool again = S_ISREG(st.st_mode) && st.st_nlink > 1 &&
                 hcs__inomap_get(&t->links, st.st_dev, st.st_ino) != NULL;
    if (S_ISREG(st.st_mode) && st.st_nlink > 1 && !again &&
        hcs__inomap_put(&t->links, st.st_dev, st.st_ino, "") != 0) {
      err = fail(t, "malloc", ENOMEM);
    }
    if (S_ISREG(st.st_mode) && !again) {
      *bytes += (uint64_t)st.st_size;
    } else if (S_ISDIR(st.st_mode)) {
      int fd = openat(dir, names[i],
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        err = measure_level(t, fd, depth + 1, bytes, entries);
        close(fd);
      }
    }
  }
  as_free(names);
  return err;
}

int hcs__tree_measure(hcs__tree_t *t, int dir, uint64_t *bytes,
                      uint64_t *entries) {
  return measure_level(t, dir, 1, bytes, entries);
}

void hcs__tree_free(hcs__tree_t *t) { hcs__inomap_free(&t->links); }
