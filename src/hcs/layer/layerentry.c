/* SPDX-License-Identifier: MIT */
/* The entries of an imported tar, one at a time, made inside the layer's
 * root (layerimport.c reads the archive). Every name is cleaned and
 * checked before anything is made; every directory is reached with
 * openat2 from the root fd (RESOLVE_IN_ROOT, no symlinks at all, no magic
 * links, no other mount), never through a path string; the last component
 * is made with *at calls that do not follow it. Whiteouts become
 * overlay's markers (a 0/0 character device, trusted.overlay.opaque). */
#include "hcs/layer/layerimport.h"

#include "hcs-async.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define WH ".wh."
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

/* Linux's device numbers: a 12-bit major and a 20-bit minor (MINORBITS,
 * include/linux/kdev_t.h). */
enum { DEV_MAJOR_MAX = (1u << 12) - 1, DEV_MINOR_MAX = (1u << 20) - 1 };

/* Devices an image may carry (hcs.h, ImportLayer). */
static const struct {
  unsigned major, minor;
} allowed_devices[] = {{1, 3}, {1, 5}, {1, 7}, {1, 8},
                       {1, 9}, {5, 0}, {5, 1}, {5, 2}};

/* ---- refusing ---- */

hcs_result_t hcs__imp_refuse(hcs__imp_t *im, int errnum, const char *fmt, ...) {
  char why[600], name[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  /* The name is the tar's: no control character reaches the message. */
  size_t n = 0;
  for (const char *p = im->name != NULL ? im->name : ""; *p && n < 296; p++) {
    name[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
  }
  name[n] = '\0';
  return hcs__lfail(im->c, HCS_ERROR_INVALID_DATA, errnum,
                    "layer.tar: entry \"%s%s\": %s", name,
                    n == 296 ? "..." : "", why);
}

hcs_result_t hcs__imp_sys_fail(hcs__imp_t *im, int errnum, const char *what) {
  if (errnum == ECANCELED) {
    return hcs__lsys(im->c, errnum, "importing layer.tar");
  }
  return hcs__lsys(im->c, errnum, "layer.tar: entry \"%s\": %s", im->path,
                   what);
}

/* Cleans a tar name into out: relative, components joined by one '/'.
 * NULL when it is fine ("" names the root), else why not. A leading "./"
 * is the usual form and dropped; a leading "/" is refused, not stripped. */
static const char *clean_name(const char *name, char *out, size_t n) {
  if (name == NULL || name[0] == '\0') {
    return "has no name";
  }
  if (name[0] == '/') {
    return "is an absolute name";
  }
  size_t len = 0, depth = 0;
  bool lead = true;
  for (const char *p = name; *p != '\0';) {
    size_t l = strcspn(p, "/");
    if (l == 2 && p[0] == '.' && p[1] == '.') {
      return "has a \"..\" component";
    }
    if (l == 1 && p[0] == '.' && !lead) {
      return "has a \".\" component after the start";
    }
    if (l > NAME_MAX) {
      return "has a component longer than 255 bytes";
    }
    if (l > 0 && !(l == 1 && p[0] == '.')) {
      lead = false;
      if (len + l + 2 > n) {
        return "is longer than PATH_MAX";
      }
      if (++depth > HCS_LAYER_MAX_DEPTH) {
        return "nests deeper than HCS_LAYER_MAX_DEPTH directories";
      }
      if (len > 0) {
        out[len++] = '/';
      }
      memcpy(out + len, p, l);
      len += l;
    }
    p += l;
    while (*p == '/') {
      p++;
    }
  }
  out[len] = '\0';
  return NULL;
}

/* Whether a relative symlink target, read from directory dir (a clean
 * path), climbs above the root. */
static bool climbs(const char *dir, const char *target) {
  long depth = 0;
  for (const char *p = dir; *p != '\0'; p += *p == '/') {
    depth++;
    p += strcspn(p, "/");
  }
  for (const char *p = target; *p != '\0';) {
    size_t l = strcspn(p, "/");
    if (l == 2 && p[0] == '.' && p[1] == '.') {
      if (--depth < 0) {
        return true;
      }
    } else if (l > 0 && !(l == 1 && p[0] == '.')) {
      depth++;
    }
    p += l;
    while (*p == '/') {
      p++;
    }
  }
  return false;
}

/* ---- reaching directories ---- */

static int resolve(int at, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_DIRECTORY | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
                                    RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV};
  int fd = (int)syscall(SYS_openat2, at, path, &how, sizeof(how));
  return fd < 0 ? -errno : fd;
}

void hcs__imp_uncache(hcs__imp_t *im) {
  if (im->cached_fd >= 0) {
    close(im->cached_fd);
  }
  im->cached_fd = -1;
  im->cached[0] = '\0';
}

/* Walks dir one component at a time from the root, making what is missing
 * (0755, root), and turning a whiteout in the way into an opaque directory
 * (the tar deleted the lower one and made a new one). */
static int make_dirs(hcs__imp_t *im, const char *dir) {
  int cur = fcntl(im->root, F_DUPFD_CLOEXEC, 0);
  char comp[NAME_MAX + 1];
  for (const char *p = dir; cur >= 0 && *p != '\0';) {
    size_t l = strcspn(p, "/");
    memcpy(comp, p, l);
    comp[l] = '\0';
    p += l + (p[l] == '/');
    int next = resolve(cur, comp, O_PATH);
    struct stat st;
    if (next == -ENOTDIR && fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        hcs__is_whiteout(&st) && unlinkat(cur, comp, 0) == 0) {
      next = -ENOENT;
      if (mkdirat(cur, comp, 0755) == 0) {
        int fd =
            openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        next = fd < 0 ? -errno : hcs__set_opaque(fd);
        next = next == 0 ? resolve(cur, comp, O_PATH) : next;
        if (fd >= 0) {
          close(fd);
        }
      }
    } else if (next == -ENOENT && mkdirat(cur, comp, 0755) == 0) {
      next = resolve(cur, comp, O_PATH);
    }
    close(cur);
    cur = next;
  }
  return cur;
}

/* An O_PATH fd of directory dir (clean, "" for the root) in the layer;
 * made when missing with create. -errno: -ELOOP for a symlink on the way,
 * -ENOTDIR for something else that is not a directory. */
static int open_dir(hcs__imp_t *im, const char *dir, bool create) {
  if (im->cached_fd >= 0 && strcmp(dir, im->cached) == 0) {
    int fd = fcntl(im->cached_fd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
  }
  int fd = dir[0] == '\0' ? fcntl(im->root, F_DUPFD_CLOEXEC, 0)
                          : resolve(im->root, dir, O_PATH);
  if ((fd == -ENOENT || fd == -ENOTDIR) && create) {
    fd = make_dirs(im, dir);
  }
  if (fd >= 0) {
    hcs__imp_uncache(im);
    im->cached_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    snprintf(im->cached, sizeof(im->cached), "%s", dir);
  }
  return fd;
}

static hcs_result_t dir_fail(hcs__imp_t *im, int err, const char *dir) {
  if (err == -ELOOP) {
    return hcs__imp_refuse(im, ELOOP, "goes through a symlink (%s)", dir);
  }
  if (err == -ENOTDIR) {
    return hcs__imp_refuse(im, ENOTDIR,
                           "goes through something not a directory (%s)", dir);
  }
  if (err == -EXDEV) {
    return hcs__imp_refuse(im, EXDEV, "crosses into another mount (%s)", dir);
  }
  return hcs__imp_sys_fail(im, -err, "opening its directory");
}

/* Makes room for a new entry base in pfd: removes what is there (a whole
 * tree for a directory). *was gets its stat (st_mode 0: nothing). */
static int clear_slot(hcs__imp_t *im, int pfd, const char *base,
                      struct stat *was) {
  if (fstatat(pfd, base, was, AT_SYMLINK_NOFOLLOW) != 0) {
    was->st_mode = 0;
    return errno == ENOENT ? 0 : -errno;
  }
  if (!S_ISDIR(was->st_mode)) {
    return unlinkat(pfd, base, 0) != 0 ? -errno : 0;
  }
  hcs__imp_uncache(im);
  hcs__tree_t t = {0};
  int err = hcs__tree_remove(&t, pfd, base);
  hcs__tree_free(&t);
  return err;
}

/* ---- metadata ---- */

static hcs_result_t owner_of(hcs__imp_t *im, struct archive_entry *e,
                             uid_t *uid, gid_t *gid) {
  int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);
  *uid = 0; /* set on every path: the callers read them only on HCS_OK */
  *gid = 0;
  if (u < 0 || u >= UINT32_MAX || g < 0 || g >= UINT32_MAX) {
    return hcs__imp_refuse(im, ERANGE, "has an owner out of range (%lld:%lld)",
                           (long long)u, (long long)g);
  }
  *uid = (uid_t)u;
  *gid = (gid_t)g;
  return HCS_OK;
}

static void times_of(struct archive_entry *e, struct timespec ts[2]) {
  ts[0].tv_nsec = ts[1].tv_nsec = UTIME_OMIT;
  if (archive_entry_mtime_is_set(e)) {
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    ts[0] = ts[1];
  }
  if (archive_entry_atime_is_set(e)) {
    ts[0].tv_sec = archive_entry_atime(e);
    ts[0].tv_nsec = archive_entry_atime_nsec(e);
  }
}

/* Owner, mode, extended attributes (in that order: chown clears set-id
 * bits and file capabilities) of a regular file or directory fd. */
static hcs_result_t set_meta_fd(hcs__imp_t *im, int fd,
                                struct archive_entry *e) {
  uid_t uid;
  gid_t gid;
  hcs_result_t r = owner_of(im, e, &uid, &gid);
  if (r != HCS_OK) {
    return r;
  }
  if (fchown(fd, uid, gid) != 0) {
    return hcs__imp_sys_fail(im, errno, "fchown");
  }
  if (fchmod(fd, archive_entry_perm(e) & 07777) != 0) {
    return hcs__imp_sys_fail(im, errno, "fchmod");
  }
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (hcs__xattr_travels(name) && fsetxattr(fd, name, value, size, 0) != 0) {
      return hcs__imp_sys_fail(im, errno, "fsetxattr");
    }
  }
  return HCS_OK;
}

/* The same by name, for what cannot be opened (symlinks, devices, FIFOs,
 * whiteouts): no attributes. The name was just made by this import. */
static hcs_result_t set_meta_at(hcs__imp_t *im, int pfd, const char *base,
                                struct archive_entry *e, bool link) {
  uid_t uid;
  gid_t gid;
  struct timespec ts[2];
  times_of(e, ts);
  hcs_result_t r = owner_of(im, e, &uid, &gid);
  if (r != HCS_OK) {
    return r;
  }
  if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return hcs__imp_sys_fail(im, errno, "lchown");
  }
  if (!link && fchmodat(pfd, base, archive_entry_perm(e) & 07777, 0) != 0) {
    return hcs__imp_sys_fail(im, errno, "chmod");
  }
  return utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) != 0
             ? hcs__imp_sys_fail(im, errno, "utimensat")
             : HCS_OK;
}

/* ---- entries ---- */

static hcs_result_t put_dir(hcs__imp_t *im, int pfd, const char *base,
                            struct archive_entry *e) {
  struct stat was;
  bool opaque = false;
  int fd;
  if (base[0] == '\0') {
    fd = fcntl(im->root, F_DUPFD_CLOEXEC, 0);
  } else {
    if (fstatat(pfd, base, &was, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(was.st_mode)) {
      int err = clear_slot(im, pfd, base, &was);
      opaque = was.st_mode != 0 && hcs__is_whiteout(&was);
      if (err != 0 || mkdirat(pfd, base, 0700) != 0) {
        return hcs__imp_sys_fail(im, err != 0 ? -err : errno, "mkdir");
      }
    }
    fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    return hcs__imp_sys_fail(im, errno, "open");
  }
  hcs_result_t r = set_meta_fd(im, fd, e);
  if (r == HCS_OK && opaque && hcs__set_opaque(fd) != 0) {
    r = hcs__imp_sys_fail(im, errno, "setting opaque");
  }
  close(fd);
  if (r != HCS_OK || !archive_entry_mtime_is_set(e)) {
    return r;
  }
  if (im->ntimes == im->cap) {
    size_t cap = im->cap * 2 + 64;
    dirtime_t *v = as_realloc(im->times, cap * sizeof(*v));
    if (v == NULL) {
      return hcs__imp_sys_fail(im, ENOMEM, "directory times");
    }
    im->times = v;
    im->cap = cap;
  }
  dirtime_t *d = &im->times[im->ntimes];
  times_of(e, d->times);
  if ((d->path = as_strdup(im->path)) == NULL) {
    return hcs__imp_sys_fail(im, ENOMEM, "directory times");
  }
  im->ntimes++;
  return HCS_OK;
}

static hcs_result_t write_data(hcs__imp_t *im, int fd, int64_t size) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(im->a, &buf, &len, &off)) == ARCHIVE_OK) {
    if (off < 0 || (uint64_t)off + len > (uint64_t)size) {
      return hcs__imp_refuse(im, EINVAL, "holds data past its size");
    }
    for (size_t done = 0; done < len;) {
      ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
                         (off_t)(off + (la_int64_t)done));
      if (n < 0 && errno != EINTR) {
        return hcs__imp_sys_fail(im, errno, "write");
      }
      done += n > 0 ? (size_t)n : 0;
    }
    int err = hcs__progress_add(&im->c->progress, 0, 0, false);
    if (err != 0) {
      return hcs__imp_sys_fail(im, -err, "write");
    }
  }
  if (r != ARCHIVE_EOF) {
    return hcs__imp_refuse(im, EIO, "its data: %s",
                           (archive_error_string(im->a) != NULL
                                ? archive_error_string(im->a)
                                : "unreadable"));
  }
  return ftruncate(fd, (off_t)size) != 0
             ? hcs__imp_sys_fail(im, errno, "truncate")
             : HCS_OK;
}

static hcs_result_t put_file(hcs__imp_t *im, int pfd, const char *base,
                             struct archive_entry *e) {
  int64_t size = archive_entry_size(e);
  if (size < 0) {
    return hcs__imp_refuse(im, EINVAL, "has a negative size");
  }
  if ((uint64_t)size > im->c->max_bytes - im->declared) {
    return hcs__imp_refuse(
        im, EFBIG, "takes the layer's files past the limit of %llu bytes",
        (unsigned long long)im->c->max_bytes);
  }
  im->declared += (uint64_t)size;
  struct stat was;
  int err = clear_slot(im, pfd, base, &was);
  int fd =
      err != 0
          ? -1
          : openat(pfd, base,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return hcs__imp_sys_fail(im, err != 0 ? -err : errno, "create");
  }
  hcs_result_t r = write_data(im, fd, size);
  r = r == HCS_OK ? set_meta_fd(im, fd, e) : r;
  struct timespec ts[2];
  times_of(e, ts);
  if (r == HCS_OK && futimens(fd, ts) != 0) {
    r = hcs__imp_sys_fail(im, errno, "futimens");
  }
  close(fd);
  return r;
}

static hcs_result_t put_symlink(hcs__imp_t *im, int pfd, const char *dir,
                                const char *base, struct archive_entry *e) {
  const char *target = archive_entry_symlink(e);
  if (target == NULL) {
    target = archive_entry_symlink_utf8(e);
  }
  if (target == NULL || target[0] == '\0') {
    return hcs__imp_refuse(im, EINVAL, "is a symlink to nothing");
  }
  if (strlen(target) >= PATH_MAX) {
    return hcs__imp_refuse(im, ENAMETOOLONG,
                           "is a symlink longer than PATH_MAX");
  }
  if (target[0] != '/' && climbs(dir, target)) {
    return hcs__imp_refuse(
        im, EPERM, "is a symlink to %.200s, above the layer's root", target);
  }
  struct stat was;
  int err = clear_slot(im, pfd, base, &was);
  if (err != 0 || symlinkat(target, pfd, base) != 0) {
    return hcs__imp_sys_fail(im, err != 0 ? -err : errno, "symlink");
  }
  return set_meta_at(im, pfd, base, e, true);
}

static hcs_result_t put_hardlink(hcs__imp_t *im, int pfd, const char *base,
                                 const char *target) {
  char clean[PATH_MAX];
  const char *why = clean_name(target, clean, sizeof(clean));
  if (why != NULL || clean[0] == '\0') {
    return hcs__imp_refuse(
        im, EPERM, "is a hard link to %.200s, outside the layer", target);
  }
  char *slash = strrchr(clean, '/');
  const char *tbase = slash != NULL ? slash + 1 : clean;
  if (slash != NULL) {
    *slash = '\0';
  }
  int tfd = open_dir(im, slash != NULL ? clean : "", false);
  struct stat st;
  if (tfd < 0 || fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (tfd >= 0) {
      close(tfd);
    }
    return hcs__imp_refuse(
        im, ENOENT, "is a hard link to %.200s, which is no earlier entry",
        target);
  }
  hcs_result_t r = HCS_OK;
  struct stat was;
  if (S_ISDIR(st.st_mode)) {
    r = hcs__imp_refuse(im, EPERM, "is a hard link to directory %.200s",
                        target);
  } else if (fstatat(pfd, base, &was, AT_SYMLINK_NOFOLLOW) == 0 &&
             was.st_dev == st.st_dev && was.st_ino == st.st_ino) {
    r = HCS_OK; /* already that file */
  } else {
    int err = clear_slot(im, pfd, base, &was);
    if (err != 0 || linkat(tfd, tbase, pfd, base, 0) != 0) {
      r = hcs__imp_sys_fail(im, err != 0 ? -err : errno, "link");
    }
  }
  close(tfd);
  return r;
}

static hcs_result_t put_node(hcs__imp_t *im, int pfd, const char *base,
                             struct archive_entry *e) {
  mode_t type = archive_entry_filetype(e);
  dev_t dev = 0;
  if (type == AE_IFCHR) {
    /* Whole: a tar may carry any number (base-256 fields, pax's
     * SCHILY.devmajor), and a narrowed one could land on an allowed
     * device (2^32+1 on 1). */
    uintmax_t ma = (uintmax_t)archive_entry_rdevmajor(e);
    uintmax_t mi = (uintmax_t)archive_entry_rdevminor(e);
    if (ma > DEV_MAJOR_MAX || mi > DEV_MINOR_MAX) {
      return hcs__imp_refuse(im, ERANGE,
                             "is character device %ju:%ju, out of range "
                             "(major at most %d, minor at most %d)",
                             ma, mi, DEV_MAJOR_MAX, DEV_MINOR_MAX);
    }
    bool ok = false;
    for (size_t i = 0; i < sizeof(allowed_devices) / sizeof(allowed_devices[0]);
         i++) {
      ok |= allowed_devices[i].major == ma && allowed_devices[i].minor == mi;
    }
    if (!ok) {
      return hcs__imp_refuse(
          im, EPERM, "is character device %ju:%ju, not one allowed", ma, mi);
    }
    dev = makedev((unsigned)ma, (unsigned)mi);
  } else if (type == AE_IFBLK) {
    return hcs__imp_refuse(im, EPERM, "is a block device");
  } else if (type != AE_IFIFO) {
    return hcs__imp_refuse(im, EPERM, "is of a type a layer cannot hold (0%o)",
                           (unsigned)type);
  }
  struct stat was;
  int err = clear_slot(im, pfd, base, &was);
  if (err != 0 || mknodat(pfd, base, type | 0600, dev) != 0) {
    return hcs__imp_sys_fail(im, err != 0 ? -err : errno, "mknod");
  }
  return set_meta_at(im, pfd, base, e, false);
}

/* ".wh.NAME" in pfd: NAME is deleted from the layers below. */
static hcs_result_t put_whiteout(hcs__imp_t *im, int pfd, const char *name,
                                 struct archive_entry *e) {
  if (name[0] == '\0') {
    return hcs__imp_refuse(im, EINVAL, "is a bare \".wh.\" whiteout");
  }
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    return hcs__imp_refuse(im, EINVAL, "whites out \"%s\"", name);
  }
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) != 0) {
      return hcs__imp_sys_fail(im, errno, "mknod (whiteout)");
    }
    return set_meta_at(im, pfd, name, e, false);
  }
  if (!S_ISDIR(st.st_mode)) {
    return HCS_OK; /* this layer's own entry already hides the lower one */
  }
  /* A directory of this layer: it must hide the lower one's contents. */
  int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int err = fd < 0 ? -errno : hcs__set_opaque(fd);
  if (fd >= 0) {
    close(fd);
  }
  return err != 0 ? hcs__imp_sys_fail(im, -err, "setting opaque") : HCS_OK;
}

static hcs_result_t put_opaque(hcs__imp_t *im, const char *dir) {
  int fd = dir[0] == '\0' ? fcntl(im->root, F_DUPFD_CLOEXEC, 0)
                          : resolve(im->root, dir, O_RDONLY);
  if (fd == -ENOENT) {
    int made = open_dir(im, dir, true);
    if (made < 0) {
      return dir_fail(im, made, dir);
    }
    close(made);
    fd = resolve(im->root, dir, O_RDONLY);
  }
  if (fd < 0) {
    return dir_fail(im, fd, dir);
  }
  int err = hcs__set_opaque(fd);
  close(fd);
  return err != 0 ? hcs__imp_sys_fail(im, -err, "setting opaque") : HCS_OK;
}

/* Where a component of the entry's directory is a whiteout name: 1 for
 * aufs's own ".wh..wh." metadata (skipped), -1 for any other (refused). */
static int whiteout_in_dir(const char *dir) {
  for (const char *p = dir; *p != '\0';) {
    if (strncmp(p, WH, 4) == 0) {
      return strncmp(p, WH_META, 8) == 0 ? 1 : -1;
    }
    p += strcspn(p, "/");
    p += *p == '/';
  }
  return 0;
}

hcs_result_t hcs__imp_entry(hcs__imp_t *im, struct archive_entry *e) {
  const char *why = clean_name(im->name, im->path, sizeof(im->path));
  if (why != NULL) {
    return hcs__imp_refuse(im, EPERM, "%s", why);
  }
  char dir[PATH_MAX];
  memcpy(dir, im->path, strlen(im->path) + 1);
  char *slash = strrchr(dir, '/');
  const char *base = slash != NULL ? slash + 1 : dir;
  if (slash != NULL) {
    *slash = '\0';
  }
  const char *parent = slash != NULL ? dir : "";
  int w = whiteout_in_dir(parent);
  if (w != 0) {
    return w > 0 ? HCS_OK
                 : hcs__imp_refuse(im, EPERM,
                                   "uses a whiteout name as a directory");
  }
  if (base[0] == '\0' || strcmp(base, WH_OPAQUE) == 0) {
    return base[0] == '\0' && archive_entry_filetype(e) != AE_IFDIR
               ? hcs__imp_refuse(im, EINVAL,
                                 "names the root but is no directory")
           : base[0] == '\0' ? put_dir(im, -1, "", e)
                             : put_opaque(im, parent);
  }
  if (strncmp(base, WH_META, 8) == 0) {
    return HCS_OK; /* aufs's own metadata: not part of the image */
  }
  int pfd = open_dir(im, parent, true);
  if (pfd < 0) {
    return dir_fail(im, pfd, parent);
  }
  hcs_result_t r;
  const char *link = archive_entry_hardlink(e);
  if (link == NULL) {
    link = archive_entry_hardlink_utf8(e);
  }
  if (strncmp(base, WH, 4) == 0) {
    r = put_whiteout(im, pfd, base + 4, e);
  } else if (link != NULL) {
    r = put_hardlink(im, pfd, base, link);
  } else if (archive_entry_filetype(e) == AE_IFDIR) {
    r = put_dir(im, pfd, base, e);
  } else if (archive_entry_filetype(e) == AE_IFREG) {
    r = put_file(im, pfd, base, e);
  } else if (archive_entry_filetype(e) == AE_IFLNK) {
    r = put_symlink(im, pfd, parent, base, e);
  } else {
    r = put_node(im, pfd, base, e);
  }
  close(pfd);
  return r;
}

/* Directory times, deepest last made first. */
hcs_result_t hcs__imp_dir_times(hcs__imp_t *im) {
  for (size_t i = im->ntimes; i-- > 0;) {
    dirtime_t *d = &im->times[i];
    snprintf(im->path, sizeof(im->path), "%s", d->path);
    char *slash = strrchr(d->path, '/');
    const char *base = slash != NULL ? slash + 1 : d->path;
    if (slash != NULL) {
      *slash = '\0';
    }
    int pfd = open_dir(im, slash != NULL ? d->path : "", false);
    struct stat st;
    if (d->path[0] == '\0' && slash == NULL) {
      if (futimens(im->root, d->times) != 0) {
        return hcs__imp_sys_fail(im, errno, "futimens");
      }
    } else if (pfd >= 0 && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISDIR(st.st_mode) &&
               utimensat(pfd, base, d->times, AT_SYMLINK_NOFOLLOW) != 0) {
      close(pfd);
      return hcs__imp_sys_fail(im, errno, "utimensat");
    }
    if (pfd >= 0) {
      close(pfd);
    }
  }
  return HCS_OK;
}
