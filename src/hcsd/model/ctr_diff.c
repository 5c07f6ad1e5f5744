/* SPDX-License-Identifier: MIT */
/* docker diff and docker export (ctr_diff.h): the container's layers taken
 * on the engine thread, read on the pool. The changes are moby's overlay
 * changes (daemon/graphdriver/overlay2, pkg/archive/changes.go): a walk of
 * the upper directory in name order where a whiteout is a deletion (2), a
 * name no lower layer has an addition (1) and any other a change (0),
 * with the parent of an addition or a deletion listed as changed before
 * it. The files hcsd itself makes for a container to run (the mount
 * points of /etc/hosts, /etc/hostname and /etc/resolv.conf, /proc, /sys,
 * /dev) are its init layer to dockerd and none of the container's
 * changes: they are left out, and so is a directory changed by them
 * alone. */
#include "hcsd/model/ctr_diff.h"
#include "hcsd/model/ctr_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define DIFF_DEPTH_MAX 256
#define DIFF_LAYERS_MAX 128

typedef struct diff_job_s {
  hcsd_t *d;
  bool export;
  char **dirs; /* upper first, then the lower roots, nearest first */
  size_t n;
  int fds[DIFF_LAYERS_MAX]; /* the roots, open on the pool */
  json_t *changes;
  struct archive *a;
  struct archive_entry_linkresolver *links; /* export's hard links */
  int out; /* the tar: an unlinked file of the daemon's tmp folder */
  int status;
  char *msg;
  hcsd_ctr_bytes_cb done;
  void *data;
  char buf[65536];
} diff_job_t;

static bool is_whiteout(const struct stat *st) {
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dirfd) {
  char v[4];
  ssize_t n = fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof(v));
  return n == 1 && v[0] == 'y';
}

/* What hcsd makes in the upper directory for a container to run. */
static bool hidden(const char *path, const struct stat *st) {
  static const char *const files[] = {"/etc/hosts", "/etc/hostname",
                                      "/etc/resolv.conf", "/.dockerenv"};
  static const char *const dirs[] = {"/proc", "/sys", "/dev"};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    if (strcmp(path, files[i]) == 0 && S_ISREG(st->st_mode) &&
        st->st_size == 0) {
      return true;
    }
  }
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    size_t n = strlen(dirs[i]);
    if (strncmp(path, dirs[i], n) == 0 && (path[n] == '\0' || path[n] == '/')) {
      return true;
    }
  }
  return false;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory fd (not . and ..), sorted; *n their count.
 * fd stays open. NULL with *n 0 when none or out of memory. */
static char **list_dir(int fd, size_t *n) {
  *n = 0;
  int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (dir == NULL) {
    if (dup_fd >= 0) {
      close(dup_fd);
    }
    return NULL;
  }
  char **v = NULL;
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    if (*n == cap) {
      cap = cap != 0 ? cap * 2 : 32;
      char **nv = realloc(v, cap * sizeof(*v));
      if (nv == NULL) {
        break;
      }
      v = nv;
    }
    if ((v[*n] = strdup(e->d_name)) != NULL) {
      (*n)++;
    }
  }
  closedir(dir);
  if (v != NULL) {
    qsort(v, *n, sizeof(*v), by_name);
  }
  return v;
}

static void free_names(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i]);
  }
  free(v);
}

/* ---- changes ---- */

/* The entry at path (relative, no leading '/') in a lower root, stat'ed
 * without following any symlink: 0, or -errno. */
static int lower_stat(int root, const char *rel, struct stat *st) {
  struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
                         .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |
                                    RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
  if (fd < 0) {
    return -errno;
  }
  int r = fstat(fd, st) == 0 ? 0 : -errno;
  close(fd);
  return r;
}

static void add_change(diff_job_t *j, const char *path, int kind) {
  json_array_append_new(j->changes,
                        json_pack("{s:s,s:i}", "Path", path, "Kind", kind));
}

/* moby's kind for path (st in the upper): 1 added, 0 changed, -1 an
 * unchanged directory. */
static int change_kind(diff_job_t *j, const char *path, const struct stat *st) {
  for (size_t i = 1; i < j->n; i++) {
    struct stat lo;
    if (lower_stat(j->fds[i], path + 1, &lo) != 0) {
      continue;
    }
    if (is_whiteout(&lo)) {
      return 1; /* deleted below: new again */
    }
    if (S_ISDIR(lo.st_mode) && S_ISDIR(st->st_mode) &&
        lo.st_size == st->st_size && lo.st_mode == st->st_mode &&
        lo.st_mtim.tv_sec == st->st_mtim.tv_sec &&
        lo.st_mtim.tv_nsec == st->st_mtim.tv_nsec) {
      return -1;
    }
    return 0;
  }
  return 1;
}

/* Whether the upper directory fd holds anything but what hcsd made. */
static bool has_own(int fd, const char *path) {
  size_t n;
  char **names = list_dir(fd, &n);
  bool own = false;
  for (size_t i = 0; i < n && !own; i++) {
    char sub[4096];
    struct stat st;
    int k = snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
    /* A path too long to name is not one hcsd made. */
    own = k < 0 || (size_t)k >= sizeof(sub) ||
          fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !hidden(sub, &st);
  }
  free_names(names, n);
  return own;
}

/* The upper directory fd at path ("" for the root); *changed: path was
 * listed (moby's changedDirs). */
static void walk_upper(diff_job_t *j, int fd, const char *path, bool changed,
                       int depth) {
  size_t n;
  char **names = list_dir(fd, &n);
  for (size_t i = 0; i < n; i++) {
    char sub[4096];
    struct stat st;
    if (snprintf(sub, sizeof(sub), "%s/%s", path, names[i]) >=
            (int)sizeof(sub) ||
        fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        hidden(sub, &st)) {
      continue;
    }
    int kind = is_whiteout(&st) ? 2 : change_kind(j, sub, &st);
    int child = S_ISDIR(st.st_mode) && depth < DIFF_DEPTH_MAX
                    ? openat(fd, names[i],
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    : -1;
    if (kind == 0 && child >= 0 && !has_own(child, sub)) {
      kind = -1; /* changed by hcsd's mount points alone */
    }
    if ((kind == 1 || kind == 2) && !changed && path[0] != '\0') {
      add_change(j, path, 0);
      changed = true;
    }
    if (kind >= 0) {
      add_change(j, sub, kind);
    }
    if (child >= 0) {
      walk_upper(j, child, sub, kind >= 0, depth + 1);
      close(child);
    }
  }
  free_names(names, n);
}

/* ---- export ---- */

/* One entry: name (relative) of the file name in the layer directory fd,
 * st its stat. 0, or -1 (the archive failed). */
static int put_entry(diff_job_t *j, int fd, const char *dname, const char *name,
                     const struct stat *st) {
  struct archive_entry *e = archive_entry_new();
  if (e == NULL) {
    return -1;
  }
  char link[4096];
  int data = -1;
  archive_entry_copy_stat(e, st);
  archive_entry_set_pathname(e, name);
  if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
    /* Another name of a file already written becomes a hard link. */
    struct archive_entry *spare = NULL;
    archive_entry_linkify(j->links, &e, &spare);
    archive_entry_free(spare);
  } else {
    archive_entry_set_nlink(e, 1);
  }
  if (archive_entry_hardlink(e) != NULL) {
    archive_entry_set_size(e, 0);
  } else if (S_ISLNK(st->st_mode)) {
    ssize_t n = readlinkat(fd, dname, link, sizeof(link) - 1);
    link[n > 0 ? n : 0] = '\0';
    archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, 0);
  } else if (S_ISREG(st->st_mode)) {
    data = openat(fd, dname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (data < 0) {
      archive_entry_set_size(e, 0);
    }
  } else {
    archive_entry_set_size(e, 0);
  }
  int r = archive_write_header(j->a, e) == ARCHIVE_OK ? 0 : -1;
  off_t left = data >= 0 ? archive_entry_size(e) : 0;
  archive_entry_free(e);
  ssize_t n;
  while (r == 0 && data >= 0 && left > 0 &&
         (n = read(data, j->buf, sizeof(j->buf))) > 0) {
    n = n > left ? (ssize_t)left : n;
    r = archive_write_data(j->a, j->buf, (size_t)n) == n ? 0 : -1;
    left -= n;
  }
  while (r == 0 && data >= 0 && left > 0) {
    /* The file shrank under a running container: pad to its header. */
    size_t k =
        (size_t)(left < (off_t)sizeof(j->buf) ? left : (off_t)sizeof(j->buf));
    memset(j->buf, 0, k);
    r = archive_write_data(j->a, j->buf, k) == (la_ssize_t)k ? 0 : -1;
    left -= (off_t)k;
  }
  if (data >= 0) {
    close(data);
  }
  return r;
}

/* The merged directory whose layers' directories are fds[0..n) (top
 * first, the last one opaque or the bottom), at path ("" for the root).
 * 0, or -1 (the archive failed). */
static int export_dir(diff_job_t *j, const int *fds, size_t n, const char *path,
                      int depth) {
  char **all = NULL;
  size_t nall = 0;
  for (size_t i = 0; i < n; i++) {
    size_t k;
    char **names = list_dir(fds[i], &k);
    char **grown = realloc(all, (nall + k + 1) * sizeof(*all));
    if (grown == NULL) {
      free_names(names, k);
      continue;
    }
    all = grown;
    if (k > 0) {
      memcpy(all + nall, names, k * sizeof(*names));
    }
    nall += k;
    free(names);
  }
  if (all != NULL) {
    qsort(all, nall, sizeof(*all), by_name);
  }
  int r = 0;
  for (size_t i = 0; r == 0 && i < nall; i++) {
    if (i > 0 && strcmp(all[i], all[i - 1]) == 0) {
      continue;
    }
    struct stat st;
    size_t top = 0;
    while (top < n &&
           fstatat(fds[top], all[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
      top++;
    }
    char sub[4096];
    if (top == n || is_whiteout(&st) ||
        snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] != '\0' ? "/" : "",
                 all[i]) >= (int)sizeof(sub)) {
      continue;
    }
    r = put_entry(j, fds[top], all[i], sub, &st);
    if (r != 0 || !S_ISDIR(st.st_mode) || depth >= DIFF_DEPTH_MAX) {
      continue;
    }
    /* The same directory in the layers below, down to an opaque one or a
     * name that is no directory there. */
    int sub_fds[DIFF_LAYERS_MAX];
    size_t m = 0;
    for (size_t k = top; k < n; k++) {
      struct stat below;
      if (fstatat(fds[k], all[i], &below, AT_SYMLINK_NOFOLLOW) != 0) {
        continue;
      }
      if (!S_ISDIR(below.st_mode)) {
        break;
      }
      int fd = openat(fds[k], all[i],
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        break;
      }
      sub_fds[m++] = fd;
      if (is_opaque(fd)) {
        break;
      }
    }
    r = export_dir(j, sub_fds, m, sub, depth + 1);
    for (size_t k = 0; k < m; k++) {
      close(sub_fds[k]);
    }
  }
  free_names(all, nall);
  return r;
}

static void run_export(diff_job_t *j) {
  j->a = archive_write_new();
  j->links = archive_entry_linkresolver_new();
  if (j->links != NULL) {
    archive_entry_linkresolver_set_strategy(j->links,
                                            ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  }
  j->out = open(j->d->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (j->out < 0 || j->a == NULL || j->links == NULL ||
      archive_write_set_format_pax_restricted(j->a) != 0 ||
      archive_write_open_fd(j->a, j->out) != ARCHIVE_OK) {
    j->status = 500;
    if (asprintf(&j->msg, "making the archive in %s: %s", j->d->tmp_dir,
                 j->out < 0 ? strerror(errno) : "out of memory") < 0) {
      j->msg = NULL;
    }
    return;
  }
  int top_fds[DIFF_LAYERS_MAX];
  size_t m = 0;
  for (size_t i = 0; i < j->n; i++) {
    if (j->fds[i] >= 0) {
      top_fds[m++] = j->fds[i];
      if (i > 0 && is_opaque(j->fds[i])) {
        break;
      }
    }
  }
  int r = export_dir(j, top_fds, m, "", 0);
  if (archive_write_close(j->a) != ARCHIVE_OK) {
    r = -1;
  }
  if (r != 0) {
    j->status = 500;
    if (asprintf(&j->msg, "writing the export: %s",
                 archive_error_string(j->a)) < 0) {
      j->msg = NULL;
    }
  }
}

/* ---- the job ---- */

/* A layer folder's root: <folder>/diff when it is a layer (it holds
 * layer.json), else the folder. */
static char *lower_root(const char *folder) {
  char *p = NULL;
  if (asprintf(&p, "%s/layer.json", folder) < 0) {
    return NULL;
  }
  bool layer = access(p, F_OK) == 0;
  free(p);
  if (asprintf(&p, layer ? "%s/diff" : "%s", folder) < 0) {
    p = NULL;
  }
  return p;
}

static void diff_work(void *data) {
  diff_job_t *j = data;
  for (size_t i = 0; i < j->n; i++) {
    j->fds[i] = j->dirs[i] != NULL
                    ? open(j->dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    : -1;
  }
  j->status = 200;
  if (j->export) {
    run_export(j);
  } else if (j->fds[0] >= 0) {
    walk_upper(j, j->fds[0], "", true, 0);
  }
  for (size_t i = 0; i < j->n; i++) {
    if (j->fds[i] >= 0) {
      close(j->fds[i]);
    }
  }
}

static void diff_free(diff_job_t *j) {
  for (size_t i = 0; i < j->n; i++) {
    free(j->dirs[i]);
  }
  free(j->dirs);
  json_decref(j->changes);
  if (j->a != NULL) {
    archive_write_free(j->a);
  }
  if (j->links != NULL) {
    archive_entry_linkresolver_free(j->links);
  }
  if (j->out >= 0) {
    close(j->out);
  }
  free(j->msg);
  free(j);
}

static void diff_done(void *data) {
  diff_job_t *j = data;
  if (j->status != 200) {
    const char *m = j->msg != NULL ? j->msg : "out of memory";
    j->done(j->d, j->status, m, strlen(m), -1, j->data);
  } else if (j->export) {
    int fd = j->out;
    j->out = -1;
    j->done(j->d, 200, "", 0, fd, j->data);
  } else {
    char *text = json_array_size(j->changes) > 0
                     ? json_dumps(j->changes, JSON_COMPACT)
                     : strdup("null");
    j->done(j->d, text != NULL ? 200 : 500,
            text != NULL ? text : "out of memory",
            text != NULL ? strlen(text) : 13, -1, j->data);
    free(text);
  }
  diff_free(j);
}

static int diff_start(hcsd_t *d, const char *ref, bool export,
                      hcsd_ctr_bytes_cb done, void *data, hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  size_t nl = 0;
  while (c->layers != NULL && c->layers[nl] != NULL) {
    nl++;
  }
  diff_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL || nl + 1 > DIFF_LAYERS_MAX ||
      (j->dirs = calloc(nl + 2, sizeof(char *))) == NULL) {
    free(j);
    hcsd_err_set(
        e, 500, nl + 1 > DIFF_LAYERS_MAX ? "too many layers" : "out of memory");
    return -1;
  }
  j->d = d;
  j->out = -1;
  j->export = export;
  j->done = done;
  j->data = data;
  j->n = nl + 1;
  j->changes = json_array();
  bool ok = j->changes != NULL;
  char *full = NULL;
  if (c->sandbox != NULL && asprintf(&full, "%s/full", c->sandbox) < 0) {
    full = NULL;
  }
  if (full != NULL && access(full, F_OK) == 0) {
    /* A flavour-0 sandbox: a whole copy of the root, no upper. */
    free(full);
    if (!export) {
      diff_free(j);
      hcsd_err_set(e, 501,
                   "not supported by hcsd: diff of a container whose "
                   "sandbox is a copy (no overlayfs on this host)");
      return -1;
    }
    j->n = 1;
    nl = 0;
    if (asprintf(&j->dirs[0], "%s/diff", c->sandbox) < 0) {
      j->dirs[0] = NULL;
      ok = false;
    }
  } else {
    free(full);
    if (c->sandbox != NULL &&
        asprintf(&j->dirs[0], "%s/upper", c->sandbox) < 0) {
      j->dirs[0] = NULL;
      ok = false;
    }
  }
  for (size_t i = 0; ok && i < nl; i++) {
    ok = (j->dirs[i + 1] = lower_root(c->layers[i])) != NULL;
  }
  if (!ok || hcsd_work(d, diff_work, diff_done, j) != 0) {
    diff_free(j);
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  return HCSD_PENDING;
}

int hcsd_ctr_changes(hcsd_t *d, const char *ref, hcsd_ctr_bytes_cb done,
                     void *data, hcsd_err_t *e) {
  return diff_start(d, ref, false, done, data, e);
}

int hcsd_ctr_export(hcsd_t *d, const char *ref, hcsd_ctr_bytes_cb done,
                    void *data, hcsd_err_t *e) {
  return diff_start(d, ref, true, done, data, e);
}
