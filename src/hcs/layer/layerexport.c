/* SPDX-License-Identifier: MIT */
/* ExportLayer: a layer's changes as an OCI layer tar (pax) in a transport
 * folder, with layer.json {Id, Parents, Digest, Size}.
 *
 * Entries go in name order, directory by directory, with a directory's
 * opaque marker right after it, so that equal layers give equal tars.
 * Overlay's markers become OCI whiteouts: a 0/0 character device is
 * ".wh.NAME", an opaque directory gets ".wh..wh..opq". A full copy
 * (flavour 0) is compared with its parent's view instead: what is new or
 * changed is written, what is gone becomes a whiteout. */
#include "hcs/layer/layerstore.h"

#include "hcs-async.h"
#include "hcs/api/digest.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

typedef struct exp_s {
  hcs__lctx_t *c;
  struct archive *a;
  struct archive_entry *e;
  int out; /* the tar being written */
  hcs__sha256_t sha;
  uint64_t size;       /* bytes written to the tar */
  hcs__inomap_t links; /* files written with more than one link */
  char path[PATH_MAX]; /* the entry's name in the tar */
  const char *what;    /* the call that failed */
  int err;             /* its errno */
  char buf[65536];
} exp_t;

static la_ssize_t tar_write(struct archive *a, void *data, const void *buf,
                            size_t n) {
  exp_t *x = data;
  for (size_t done = 0; done < n;) {
    ssize_t k = write(x->out, (const char *)buf + done, n - done);
    if (k < 0 && errno != EINTR) {
      archive_set_error(a, errno, "write: %s", strerror(errno));
      return -1;
    }
    done += k > 0 ? (size_t)k : 0;
  }
  hcs__sha256_update(&x->sha, buf, n);
  x->size += n;
  return (la_ssize_t)n;
}

static int fail(exp_t *x, const char *what, int err) {
  x->what = what;
  x->err = err;
  return -err;
}

static int push(exp_t *x, const char *name, size_t *old) {
  size_t len = strlen(x->path), l = strlen(name);
  if (len + l + 2 > sizeof(x->path)) {
    return fail(x, "path", ENAMETOOLONG);
  }
  *old = len;
  if (len > 0) {
    x->path[len++] = '/';
  }
  memcpy(x->path + len, name, l + 1);
  return 0;
}

static int write_header(exp_t *x) {
  if (archive_write_header(x->a, x->e) < ARCHIVE_WARN) {
    return fail(x, archive_error_string(x->a), EIO);
  }
  return hcs__progress_add(&x->c->progress, 0, 1, false) != 0
             ? fail(x, "cancelled", ECANCELED)
             : 0;
}

/* A whiteout entry for name in the current directory (x->path holds the
 * directory). */
static int put_marker(exp_t *x, const char *name, const struct stat *st) {
  size_t old;
  int err = push(x, name, &old);
  if (err != 0) {
    return err;
  }
  archive_entry_clear(x->e);
  archive_entry_set_pathname(x->e, x->path);
  archive_entry_set_filetype(x->e, AE_IFREG);
  archive_entry_set_perm(x->e, st != NULL ? st->st_mode & 07777 : 0);
  archive_entry_set_size(x->e, 0);
  if (st != NULL) {
    archive_entry_set_uid(x->e, st->st_uid);
    archive_entry_set_gid(x->e, st->st_gid);
    archive_entry_set_mtime(x->e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  } else {
    archive_entry_set_mtime(x->e, 0, 0);
  }
  err = write_header(x);
  x->path[old] = '\0';
  return err;
}

static int add_xattrs(exp_t *x, int fd) {
  char list[8192];
  ssize_t n = flistxattr(fd, list, sizeof(list));
  if (n < 0) {
    return errno == ENOTSUP ? 0 : fail(x, "flistxattr", errno);
  }
  for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
    if (!hcs__xattr_travels(list + i)) {
      continue;
    }
    ssize_t vl = fgetxattr(fd, list + i, x->buf, sizeof(x->buf));
    if (vl < 0) {
      return fail(x, "fgetxattr", errno);
    }
    archive_entry_xattr_add_entry(x->e, list + i, x->buf, (size_t)vl);
  }
  return 0;
}

static int write_data(exp_t *x, int fd, off_t size) {
  for (off_t done = 0; done < size;) {
    size_t want = (size_t)(size - done) < sizeof(x->buf) ? (size_t)(size - done)
                                                         : sizeof(x->buf);
    ssize_t n = read(fd, x->buf, want);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return fail(x, n == 0 ? "read (the file shrank while exported)" : "read",
                  n == 0 ? EIO : errno);
    }
    if (archive_write_data(x->a, x->buf, (size_t)n) != n) {
      return fail(x, archive_error_string(x->a), EIO);
    }
    done += n;
    if (hcs__progress_add(&x->c->progress, (uint64_t)n, 0, false) != 0) {
      return fail(x, "cancelled", ECANCELED);
    }
  }
  return 0;
}

/* The entry for name in dir (x->path is its name in the tar). */
static int put_entry(exp_t *x, int dir, const char *name,
                     const struct stat *st) {
  archive_entry_clear(x->e);
  archive_entry_set_pathname(x->e, x->path);
  archive_entry_set_mode(x->e, st->st_mode);
  archive_entry_set_uid(x->e, st->st_uid);
  archive_entry_set_gid(x->e, st->st_gid);
  archive_entry_set_mtime(x->e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(dir, name, target, sizeof(target) - 1);
    if (n < 0) {
      return fail(x, "readlink", errno);
    }
    target[n] = '\0';
    archive_entry_set_symlink(x->e, target);
  } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
    archive_entry_set_rdev(x->e, st->st_rdev);
  }
  if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
    const char *first = hcs__inomap_get(&x->links, st->st_dev, st->st_ino);
    if (first != NULL) {
      archive_entry_set_hardlink(x->e, first);
      archive_entry_set_size(x->e, 0);
      return write_header(x);
    }
    if (hcs__inomap_put(&x->links, st->st_dev, st->st_ino, x->path) != 0) {
      return fail(x, "malloc", ENOMEM);
    }
  }
  if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
    return write_header(x);
  }
  int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return fail(x, "open", errno);
  }
  archive_entry_set_size(x->e, S_ISREG(st->st_mode) ? st->st_size : 0);
  int err = add_xattrs(x, fd);
  err = err == 0 ? write_header(x) : err;
  if (err == 0 && S_ISREG(st->st_mode)) {
    err = write_data(x, fd, st->st_size);
  }
  close(fd);
  return err;
}

/* ---- comparing a full copy with its parent's view ---- */

static bool same_xattrs(exp_t *x, int a, int b) {
  char la[8192], lb[8192];
  ssize_t na = flistxattr(a, la, sizeof(la)),
          nb = flistxattr(b, lb, sizeof(lb));
  if (na != nb || (na > 0 && memcmp(la, lb, (size_t)na) != 0)) {
    return false;
  }
  char *vb = x->buf + sizeof(x->buf) / 2;
  for (ssize_t i = 0; i < na; i += (ssize_t)strlen(la + i) + 1) {
    ssize_t va = fgetxattr(a, la + i, x->buf, sizeof(x->buf) / 2);
    ssize_t w = fgetxattr(b, la + i, vb, sizeof(x->buf) / 2);
    if (va != w || (va > 0 && memcmp(x->buf, vb, (size_t)va) != 0)) {
      return false;
    }
  }
  return true;
}

static bool same_bytes(exp_t *x, int a, int b, off_t size) {
  char *pb = x->buf + sizeof(x->buf) / 2;
  size_t half = sizeof(x->buf) / 2;
  for (off_t done = 0; done < size;) {
    ssize_t na = pread(a, x->buf, half, done), nb = pread(b, pb, half, done);
    if (na <= 0 || na != nb || memcmp(x->buf, pb, (size_t)na) != 0) {
      return false;
    }
    done += na;
  }
  return true;
}

/* Whether name is the same in l and in p (l's stat sl, p's sp). */
static bool unchanged(exp_t *x, int l, int p, const char *name,
                      const struct stat *sl, const struct stat *sp) {
  if (sl->st_mode != sp->st_mode || sl->st_uid != sp->st_uid ||
      sl->st_gid != sp->st_gid || sl->st_size != sp->st_size ||
      sl->st_mtim.tv_sec != sp->st_mtim.tv_sec ||
      sl->st_mtim.tv_nsec != sp->st_mtim.tv_nsec ||
      sl->st_rdev != sp->st_rdev) {
    return false;
  }
  if (S_ISLNK(sl->st_mode)) {
    char ta[PATH_MAX], tb[PATH_MAX];
    ssize_t na = readlinkat(l, name, ta, sizeof(ta));
    ssize_t nb = readlinkat(p, name, tb, sizeof(tb));
    return na >= 0 && na == nb && memcmp(ta, tb, (size_t)na) == 0;
  }
  if (!S_ISREG(sl->st_mode) && !S_ISDIR(sl->st_mode)) {
    return true;
  }
  int fa = openat(l, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int fb = openat(p, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  bool same = fa >= 0 && fb >= 0 && same_xattrs(x, fa, fb) &&
              (S_ISDIR(sl->st_mode) || same_bytes(x, fa, fb, sl->st_size));
  if (fa >= 0) {
    close(fa);
  }
  if (fb >= 0) {
    close(fb);
  }
  return same;
}

/* ---- the walk ---- */

static int walk(exp_t *x, int l, int p, size_t depth);

/* Name of directory l (p: its parent's view of the same directory, or -1;
 * pst: what p has under name, or NULL). */
static int walk_one(exp_t *x, int l, int p, const char *name,
                    const struct stat *pst, size_t depth) {
  struct stat st;
  if (fstatat(l, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return fail(x, "stat", errno);
  }
  if (p < 0 && hcs__is_whiteout(&st)) {
    char wh[NAME_MAX + 8];
    snprintf(wh, sizeof(wh), ".wh.%s", name);
    return put_marker(x, wh, &st);
  }
  size_t old;
  int err = push(x, name, &old);
  if (err != 0) {
    return err;
  }
  bool same_type =
      pst != NULL && (pst->st_mode & S_IFMT) == (st.st_mode & S_IFMT);
  if (pst == NULL || !unchanged(x, l, p, name, &st, pst)) {
    err = put_entry(x, l, name, &st);
  }
  if (err == 0 && S_ISDIR(st.st_mode)) {
    int ld = openat(l, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int pd = same_type ? openat(p, name,
                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                       : -1;
    err = ld < 0 ? fail(x, "open", errno) : 0;
    if (err == 0 && p < 0 && hcs__is_opaque(ld)) {
      err = put_marker(x, ".wh..wh..opq", NULL);
    }
    err = err == 0 ? walk(x, ld, pd, depth + 1) : err;
    if (ld >= 0) {
      close(ld);
    }
    if (pd >= 0) {
      close(pd);
    }
  }
  if (err == 0) {
    x->path[old] = '\0';
  }
  return err;
}

static int walk(exp_t *x, int l, int p, size_t depth) {
  if (depth > HCS_LAYER_MAX_DEPTH) {
    return fail(x, "walk (too deep)", ELOOP);
  }
  char **ln = NULL, **pn = NULL;
  size_t nl = 0, np = 0;
  int err = hcs__dir_names(l, &ln, &nl);
  if (err == 0 && p >= 0) {
    err = hcs__dir_names(p, &pn, &np);
  }
  if (err != 0) {
    as_free(ln);
    return fail(x, "readdir", -err);
  }
  size_t i = 0, k = 0;
  while (err == 0 && (i < nl || k < np)) {
    int cmp = i == nl ? 1 : k == np ? -1 : strcmp(ln[i], pn[k]);
    struct stat pst;
    if (cmp > 0) {
      /* Gone from the layer: a whiteout. */
      char wh[NAME_MAX + 8];
      snprintf(wh, sizeof(wh), ".wh.%s", pn[k++]);
      err = put_marker(x, wh, NULL);
    } else if (cmp == 0 && fstatat(p, pn[k], &pst, AT_SYMLINK_NOFOLLOW) == 0) {
      err = walk_one(x, l, p, ln[i++], &pst, depth);
      k++;
    } else {
      err = walk_one(x, l, p, ln[i++], NULL, depth);
      k += cmp == 0;
    }
  }
  as_free(ln);
  as_free(pn);
  return err;
}

/* ---- the call ---- */

/* The layer's parent view for a full copy: the nearest parent's content
 * when that is a full copy (or the base), else a view made in a stage. */
static hcs_result_t parent_view(hcs__lctx_t *c, char *const *chain,
                                hcs__stage_t *tmp, int *fd) {
  *fd = -1;
  if (chain == NULL || chain[0] == NULL) {
    return HCS_OK;
  }
  char dir[PATH_MAX];
  int r = hcs__layer_lowerdir(chain[0], dir, sizeof(dir));
  if (r < 0) {
    return hcs__lsys(c, -r, "parent %s", chain[0]);
  }
  if (r == 1 || chain[1] == NULL) {
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return *fd < 0 ? hcs__lsys(c, errno, "parent %s", dir) : HCS_OK;
  }
  hcs_result_t res = hcs__stage_new(c, "export", tmp);
  int err = res == HCS_OK ? hcs__stage_mkdir(tmp, "view", 0755, fd) : 0;
  if (err != 0) {
    res = hcs__lsys(c, -err, "making a view of the parents");
  }
  return res == HCS_OK ? hcs__chain_materialise(c, chain, *fd) : res;
}

static hcs_result_t write_tar(hcs__lctx_t *c, exp_t *x, int src, int parent) {
  x->a = archive_write_new();
  x->e = archive_entry_new();
  if (x->a == NULL || x->e == NULL ||
      archive_write_set_format_pax(x->a) != ARCHIVE_OK ||
      archive_write_add_filter_none(x->a) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(x->a, 1) != ARCHIVE_OK ||
      archive_write_open2(x->a, x, NULL, tar_write, NULL, NULL) != ARCHIVE_OK) {
    return hcs__lsys(c, ENOMEM, "starting layer.tar");
  }
  hcs__tree_t t = {0};
  (void)hcs__tree_measure(&t, src, &c->progress.p.total_bytes,
                          &c->progress.p.total_entries);
  hcs__tree_free(&t);
  int err = hcs__progress_add(&c->progress, 0, 0, true);
  err = err != 0 ? fail(x, "cancelled", ECANCELED) : walk(x, src, parent, 1);
  if (err == 0 && archive_write_close(x->a) != ARCHIVE_OK) {
    err = fail(x, archive_error_string(x->a), EIO);
  }
  if (err != 0) {
    return hcs__lsys(c, x->err, "writing layer.tar: entry \"%s\": %s", x->path,
                     x->what != NULL ? x->what : "");
  }
  return fsync(x->out) != 0 ? hcs__lsys(c, errno, "fsync layer.tar") : HCS_OK;
}

static hcs_result_t write_description(hcs__lctx_t *c, int folder,
                                      const char *id, char *const *chain,
                                      const char *digest, uint64_t size) {
  json_t *parents = json_array();
  for (size_t i = 0; parents != NULL && chain != NULL && chain[i]; i++) {
    char pid[129];
    hcs__parent_id(chain[i], pid);
    json_array_append_new(parents, json_string(pid[0] ? pid : chain[i]));
  }
  char d[80];
  snprintf(d, sizeof(d), "sha256:%s", digest);
  json_t *o = json_pack("{s:s, s:o, s:s, s:I}", "Id", id, "Parents", parents,
                        "Digest", d, "Size", (json_int_t)size);
  char *text = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
  json_decref(o);
  if (text == NULL) {
    return hcs__lsys(c, ENOMEM, "layer.json");
  }
  int fd = openat(folder, "layer.json.tmp",
                  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  size_t len = strlen(text);
  int err = fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0
                ? errno
                : 0;
  free(text);
  if (fd >= 0) {
    close(fd);
  }
  if (err == 0 &&
      renameat(folder, "layer.json.tmp", folder, "layer.json") != 0) {
    err = errno;
  }
  return err != 0 ? hcs__lsys(c, err, "writing layer.json") : HCS_OK;
}

/* Writes the tar of src (against parent, or -1) into folder. */
static hcs_result_t export_into(hcs__lctx_t *c, const char *id,
                                const char *folder, int src, int parent,
                                char *const *chain) {
  if (mkdir(folder, 0755) != 0 && errno != EEXIST) {
    return hcs__lsys(c, errno, "mkdir %s", folder);
  }
  int dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return hcs__lsys(c, errno, "%s", folder);
  }
  exp_t *x = as_calloc(1, sizeof(*x));
  hcs_result_t r = x == NULL ? hcs__lsys(c, ENOMEM, "exporting") : HCS_OK;
  if (r == HCS_OK) {
    x->c = c;
    x->out = -1;
    hcs__sha256_init(&x->sha);
  }
  if (r == HCS_OK) {
    x->out =
        openat(dir, "layer.tar.tmp",
               O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    r = x->out < 0 ? hcs__lsys(c, errno, "creating %s/layer.tar", folder)
                   : write_tar(c, x, src, parent);
  }
  if (r == HCS_OK && renameat(dir, "layer.tar.tmp", dir, "layer.tar") != 0) {
    r = hcs__lsys(c, errno, "renaming %s/layer.tar", folder);
  }
  if (r == HCS_OK) {
    char digest[65];
    hcs__sha256_hex(&x->sha, digest);
    r = write_description(c, dir, id, chain, digest, x->size);
  }
  if (x != NULL) {
    if (r != HCS_OK && x->out >= 0) {
      (void)unlinkat(dir, "layer.tar.tmp", 0);
    }
    if (x->out >= 0) {
      close(x->out);
    }
    if (x->a != NULL) {
      archive_write_free(x->a);
    }
    archive_entry_free(x->e);
    hcs__inomap_free(&x->links);
    as_free(x);
  }
  close(dir);
  return r;
}

hcs_result_t hcs__lstore_export(hcs__lctx_t *c, const char *id,
                                const char *folder,
                                const char *const *parents) {
  int fd, src = -1, parent = -1;
  hcs__layer_meta_t m;
  hcs_result_t r = hcs__layer_open(c, id, &fd, &m);
  if (r != HCS_OK) {
    return r;
  }
  int err = hcs__home_lock(c, LOCK_SH);
  char **chain = NULL;
  hcs__stage_t tmp = {.fd = -1};
  r = err != 0 ? hcs__lsys(c, -err, "locking %s", c->home)
               : hcs__chain_of(c, &m, parents, &chain);
  if (r == HCS_OK && m.flavour == HCS_FLAVOUR_DIFF) {
    r = parent_view(c, chain, &tmp, &parent);
  }
  const char *part =
      m.sandbox && m.flavour == HCS_FLAVOUR_FILTER ? "upper" : "diff";
  if (r == HCS_OK) {
    src = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    r = src < 0 ? hcs__lsys(c, errno, "%s/%s/%s", c->home, id, part) : r;
  }
  if (r == HCS_OK) {
    r = export_into(c, id, folder, src, parent, chain);
  }
  hcs__home_unlock(c);
  if (tmp.name[0] != '\0') {
    hcs__stage_abort(c, &tmp);
  }
  if (src >= 0) {
    close(src);
  }
  if (parent >= 0) {
    close(parent);
  }
  close(fd);
  hcs__strv_free(chain);
  hcs__meta_free(&m);
  return r;
}
