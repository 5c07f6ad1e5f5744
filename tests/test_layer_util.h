/* SPDX-License-Identifier: MIT */
/* Shared by the layer store suites (test_layer_store.c, test_layer_tar.c,
 * test_layer_container.c): a scratch directory per test that is unmounted
 * and removed at the end, tars written with libarchive, and a comparison
 * of two trees byte for byte. Every function is static: each suite is its
 * own program. */
#ifndef HCS_TESTS_LAYER_UTIL_H
#define HCS_TESTS_LAYER_UTIL_H

/* Paths here are built from a short mkdtemp base; gcc cannot see that. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#include <hcs.h>

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define TL_UNUSED __attribute__((unused))

static char tl_base[64]; /* the test's scratch directory */

TL_UNUSED static void tl_need_root(void) {
  if (geteuid() != 0) {
    cr_skip_test("the layer store needs root (overlay mounts, owners, "
                 "trusted.* attributes, device nodes)");
  }
}

TL_UNUSED static void tl_setup(void) {
  tl_need_root();
  strcpy(tl_base, "/tmp/hcs-layer-XXXXXX");
  cr_assert_not_null(mkdtemp(tl_base), "mkdtemp: %s", strerror(errno));
}

/* Every mount under the base, deepest first, is detached. */
static void tl_unmount_all(void) {
  for (int round = 0; round < 16; round++) {
    FILE *f = fopen("/proc/self/mounts", "re");
    if (f == NULL) {
      return;
    }
    char line[4096], found[4096] = "";
    while (fgets(line, sizeof(line), f) != NULL) {
      char dev[2048], dir[2048];
      if (sscanf(line, "%2047s %2047s", dev, dir) == 2 &&
          strncmp(dir, tl_base, strlen(tl_base)) == 0 &&
          strlen(dir) > strlen(found)) {
        snprintf(found, sizeof(found), "%s", dir);
      }
    }
    fclose(f);
    if (found[0] == '\0') {
      return;
    }
    (void)umount2(found, MNT_DETACH);
  }
}

static int tl_rm_one(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Whether a mount under the base is left (a test must unprepare what it
 * prepared). */
TL_UNUSED static bool tl_mounted_under_base(void) {
  FILE *f = fopen("/proc/self/mounts", "re");
  cr_assert_not_null(f);
  char line[4096];
  bool any = false;
  while (fgets(line, sizeof(line), f) != NULL) {
    char dev[2048], dir[2048];
    any |= sscanf(line, "%2047s %2047s", dev, dir) == 2 &&
           strncmp(dir, tl_base, strlen(tl_base)) == 0;
  }
  fclose(f);
  return any;
}

TL_UNUSED static void tl_teardown(void) {
  if (tl_base[0] != '\0') {
    tl_unmount_all();
    nftw(tl_base, tl_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  }
}

/* base + "/" + rel, in a rotating set of buffers. */
TL_UNUSED static const char *tl_path(const char *rel) {
  static char bufs[8][1024];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, sizeof(bufs[0]), "%s/%s", tl_base, rel);
  return b;
}

TL_UNUSED static void tl_put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* The contents of a file (static buffer), or NULL when it cannot be read. */
TL_UNUSED static const char *tl_read(const char *path) {
  static char buf[65536];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return NULL;
  }
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

TL_UNUSED static bool tl_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* fn(args..., &err) must succeed. */
#define TL_OK(fn, ...)                                                         \
  do {                                                                         \
    hcs_error_t *tl_err_ = NULL;                                               \
    hcs_result_t tl_r_ = fn(__VA_ARGS__, &tl_err_);                            \
    cr_assert_eq(tl_r_, HCS_OK, "%s: %s", #fn,                                 \
                 tl_err_ != NULL ? hcs_error_message(tl_err_) : "?");          \
    cr_assert_null(tl_err_);                                                   \
  } while (0)

/* fn(args..., &err) must fail with code, the cause holding needle. */
#define TL_FAILS(code, needle, fn, ...)                                        \
  do {                                                                         \
    hcs_error_t *tl_err_ = NULL;                                               \
    hcs_result_t tl_r_ = fn(__VA_ARGS__, &tl_err_);                            \
    cr_assert_eq(tl_r_, (hcs_result_t)(code), "%s: got %u (%s), want %u", #fn, \
                 (unsigned)tl_r_,                                              \
                 tl_err_ != NULL ? hcs_error_message(tl_err_) : "no error",    \
                 (unsigned)(code));                                            \
    cr_assert_not_null(tl_err_);                                               \
    cr_assert_eq(hcs_error_code(tl_err_), (hcs_result_t)(code));               \
    cr_assert_not_null(strstr(hcs_error_cause(tl_err_), needle),               \
                       "%s: cause \"%s\" lacks \"%s\"", #fn,                   \
                       hcs_error_cause(tl_err_), needle);                      \
    hcs_error_free(tl_err_);                                                   \
  } while (0)

/* ---- tars ---- */

typedef struct tl_tar_s {
  struct archive *a;
  struct archive_entry *e;
  time_t mtime;
} tl_tar_t;

/* Starts folder/layer.tar (folder made when missing). */
TL_UNUSED static void tl_tar_open(tl_tar_t *t, const char *folder) {
  (void)mkdir(folder, 0755);
  char path[1024];
  snprintf(path, sizeof(path), "%s/layer.tar", folder);
  t->a = archive_write_new();
  t->e = archive_entry_new();
  t->mtime = 1600000000;
  cr_assert_eq(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
  cr_assert_eq(archive_write_open_filename(t->a, path), ARCHIVE_OK, "%s",
               archive_error_string(t->a));
}

/* One entry: type (AE_IF*), perm, owner; data for a regular file; target
 * for a symlink; link for a hard link. */
typedef struct tl_ent_s {
  const char *name;
  mode_t type;
  mode_t perm;
  int uid, gid;
  const char *data;
  const char *target;
  const char *link;
  unsigned major, minor;
  const char *xattr_name, *xattr_value;
  long long size; /* declared size when not strlen(data) */
} tl_ent_t;

TL_UNUSED static void tl_tar_add(tl_tar_t *t, const tl_ent_t *x) {
  archive_entry_clear(t->e);
  archive_entry_set_pathname(t->e, x->name);
  archive_entry_set_filetype(t->e, x->type != 0 ? x->type : AE_IFREG);
  archive_entry_set_perm(t->e, x->perm != 0 ? x->perm : 0644);
  archive_entry_set_uid(t->e, x->uid);
  archive_entry_set_gid(t->e, x->gid);
  archive_entry_set_mtime(t->e, t->mtime++, 123456789);
  size_t len = x->data != NULL ? strlen(x->data) : 0;
  archive_entry_set_size(t->e, x->size != 0 ? x->size : (long long)len);
  if (x->target != NULL) {
    archive_entry_set_symlink(t->e, x->target);
  }
  if (x->link != NULL) {
    archive_entry_set_hardlink(t->e, x->link);
    archive_entry_set_size(t->e, 0);
  }
  if (x->type == AE_IFCHR || x->type == AE_IFBLK) {
    archive_entry_set_rdev(t->e, makedev(x->major, x->minor));
  }
  if (x->xattr_name != NULL) {
    archive_entry_xattr_add_entry(t->e, x->xattr_name, x->xattr_value,
                                  strlen(x->xattr_value));
  }
  cr_assert_geq(archive_write_header(t->a, t->e), ARCHIVE_WARN, "%s: %s",
                x->name, archive_error_string(t->a));
  if (len > 0 && x->link == NULL) {
    cr_assert_eq(archive_write_data(t->a, x->data, len), (ssize_t)len);
  }
}

TL_UNUSED static void tl_tar_close(tl_tar_t *t) {
  cr_assert_eq(archive_write_close(t->a), ARCHIVE_OK);
  archive_write_free(t->a);
  archive_entry_free(t->e);
}

/* ---- comparing trees ---- */

/* Why a and b (paths) differ, or NULL: type, mode, owner, size, mtime
 * (directories too), device numbers, symlink targets, contents, extended
 * attributes (overlay's included), recursively. */
static const char *tl_diff(const char *a, const char *b);

static bool tl_same_xattrs(const char *a, const char *b) {
  char la[4096], lb[4096];
  ssize_t na = llistxattr(a, la, sizeof(la));
  ssize_t nb = llistxattr(b, lb, sizeof(lb));
  if (na != nb) {
    return false;
  }
  for (ssize_t i = 0; i < na; i += (ssize_t)strlen(la + i) + 1) {
    char va[4096], vb[4096];
    ssize_t x = lgetxattr(a, la + i, va, sizeof(va));
    ssize_t y = lgetxattr(b, la + i, vb, sizeof(vb));
    if (x != y || (x > 0 && memcmp(va, vb, (size_t)x) != 0)) {
      return false;
    }
  }
  return true;
}

static int tl_cmp_names(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorted names of dir path into v (up to cap); their count. */
static size_t tl_names(const char *path, char **v, size_t cap) {
  DIR *d = opendir(path);
  cr_assert_not_null(d, "opendir %s: %s", path, strerror(errno));
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      cr_assert_lt(n, cap);
      v[n++] = strdup(e->d_name);
    }
  }
  closedir(d);
  qsort(v, n, sizeof(char *), tl_cmp_names);
  return n;
}

static const char *tl_diff_dirs(const char *a, const char *b) {
  static char why[2048];
  char *na[512], *nb[512];
  size_t n = tl_names(a, na, 512), m = tl_names(b, nb, 512);
  const char *res = NULL;
  for (size_t i = 0; res == NULL && i < (n > m ? n : m); i++) {
    if (i >= n || i >= m || strcmp(na[i], nb[i]) != 0) {
      snprintf(why, sizeof(why), "%s and %s list different names (%s/%s)", a, b,
               i < n ? na[i] : "-", i < m ? nb[i] : "-");
      res = why;
    } else {
      char pa[1024], pb[1024];
      snprintf(pa, sizeof(pa), "%s/%s", a, na[i]);
      snprintf(pb, sizeof(pb), "%s/%s", b, nb[i]);
      res = tl_diff(pa, pb);
    }
  }
  for (size_t i = 0; i < n; i++) {
    free(na[i]);
  }
  for (size_t i = 0; i < m; i++) {
    free(nb[i]);
  }
  return res;
}

static const char *tl_diff(const char *a, const char *b) {
  static char why[2048];
  struct stat sa, sb;
  cr_assert_eq(lstat(a, &sa), 0, "lstat %s: %s", a, strerror(errno));
  cr_assert_eq(lstat(b, &sb), 0, "lstat %s: %s", b, strerror(errno));
  if (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid ||
      sa.st_gid != sb.st_gid || sa.st_rdev != sb.st_rdev) {
    snprintf(why, sizeof(why), "%s: mode %o %d:%d rdev %lx, %s: %o %d:%d %lx",
             a, sa.st_mode, sa.st_uid, sa.st_gid, (long)sa.st_rdev, b,
             sb.st_mode, sb.st_uid, sb.st_gid, (long)sb.st_rdev);
    return why;
  }
  if (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
      sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec) {
    snprintf(why, sizeof(why), "%s and %s: mtimes %ld.%09ld and %ld.%09ld", a,
             b, (long)sa.st_mtim.tv_sec, sa.st_mtim.tv_nsec,
             (long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
    return why;
  }
  if (!tl_same_xattrs(a, b)) {
    snprintf(why, sizeof(why), "%s and %s: extended attributes differ", a, b);
    return why;
  }
  if (S_ISLNK(sa.st_mode)) {
    char ta[1024] = "", tb[1024] = "";
    cr_assert_geq(readlink(a, ta, sizeof(ta) - 1), 0);
    cr_assert_geq(readlink(b, tb, sizeof(tb) - 1), 0);
    if (strcmp(ta, tb) != 0) {
      snprintf(why, sizeof(why), "%s -> %s, %s -> %s", a, ta, b, tb);
      return why;
    }
  } else if (S_ISREG(sa.st_mode)) {
    char *ca = strdup(tl_read(a) != NULL ? tl_read(a) : "?");
    const char *cb = tl_read(b);
    bool same = sa.st_size == sb.st_size && cb != NULL && strcmp(ca, cb) == 0;
    free(ca);
    if (!same) {
      snprintf(why, sizeof(why), "%s and %s: contents differ", a, b);
      return why;
    }
  } else if (S_ISDIR(sa.st_mode)) {
    return tl_diff_dirs(a, b);
  }
  return NULL;
}

/* The two trees are equal, their tops' own times aside. */
TL_UNUSED static void tl_assert_same_tree(const char *a, const char *b) {
  const char *why = tl_diff_dirs(a, b);
  cr_assert_null(why, "%s", why);
}

#endif
