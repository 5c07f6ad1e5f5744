/* SPDX-License-Identifier: MIT */
/* docker cp (archive.h): the container's root found on the engine
 * thread, the path resolved in it, stat'ed and read into a tar on the
 * pool. Writing is archive_put.c. */
#include "hcsd/model/archive.h"
#include "hcsd/model/ctr_int.h"
#include "hcsd/util.h"

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
#include <unistd.h>

/* A GET is built in memory and sent with its length, as the CLI reads
 * it; a larger one is refused (413) rather than held. */
#define ARC_GET_MAX (256u << 20)
#define ARC_DEPTH_MAX 256
#define ARC_LINKS_MAX 32

typedef struct arc_job_s {
  hcsd_t *d;
  hcsd_ctr_t *c;
  hcsd_arc_opts_t o;
  char *path; /* o.path's copy */
  char *ref;
  int root;       /* /proc/<pid>/root of a running container, or -1 */
  char *home;     /* the sandbox store, to prepare a stopped one's root */
  bool held_busy; /* the job holds c busy */
  hcsd_arc_cb done;
  void *data;
  hcsd_err_t e;
  bool failed;
  char *stat; /* base64 */
  char *tar;
  size_t len, cap;
} arc_job_t;

/* ---- paths ---- */

int hcsd__arc_clean(const char *in, char *out, size_t n, bool climb) {
  size_t at[512]; /* where each component begins in out */
  size_t nc = 0, off = 0;
  out[0] = '\0';
  for (const char *t = in; *t != '\0';) {
    size_t len = strcspn(t, "/");
    if (len == 2 && strncmp(t, "..", 2) == 0) {
      if (!climb) {
        return -1;
      }
      nc -= nc > 0;
      off = nc > 0 ? at[nc] - 1 : 0; /* back to before its '/' */
      out[off] = '\0';
    } else if (len > 0 && !(len == 1 && t[0] == '.')) {
      size_t sep = off > 0;
      if (nc == sizeof(at) / sizeof(at[0]) || off + sep + len + 1 > n) {
        return -1;
      }
      if (sep) {
        out[off++] = '/';
      }
      at[nc++] = off;
      memcpy(out + off, t, len);
      off += len;
      out[off] = '\0';
    }
    t += len + (t[len] == '/');
  }
  return (int)nc;
}

int hcsd__arc_path(const char *in, hcsd__arc_path_t *p) {
  size_t n = strlen(in);
  bool dot = (n >= 2 && strcmp(in + n - 2, "/.") == 0) || strcmp(in, ".") == 0;
  p->follow = dot || (n > 0 && in[n - 1] == '/');
  p->clean[0] = '/';
  /* ".." stops at the root, as it does for "/". */
  int nc = hcsd__arc_clean(in, p->clean + 1, sizeof(p->clean) - 1, true);
  if (nc < 0) {
    return -ENAMETOOLONG;
  }
  const char *last = strrchr(p->clean, '/') + 1;
  if (strlen(last) >= sizeof(p->base)) {
    return -ENAMETOOLONG;
  }
  snprintf(p->base, sizeof(p->base), "%s", nc == 0 || dot ? "." : last);
  return 0;
}

int hcsd__arc_open_in(int root, const char *path, int flags) {
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  const char *rel = path;
  while (*rel == '/') {
    rel++;
  }
  long fd =
      syscall(SYS_openat2, root, *rel != '\0' ? rel : ".", &how, sizeof(how));
  return fd < 0 ? -errno : (int)fd;
}

/* The target of p as an O_PATH fd: the parent resolved in root, the last
 * component followed only when asked. An fd or -errno. */
static int open_target(int root, const hcsd__arc_path_t *p) {
  if (p->follow || strcmp(p->clean, "/") == 0) {
    return hcsd__arc_open_in(root, p->clean, O_PATH);
  }
  char parent[4096];
  snprintf(parent, sizeof(parent), "%s", p->clean);
  *strrchr(parent, '/') = '\0';
  int dir = hcsd__arc_open_in(root, parent, O_PATH | O_DIRECTORY);
  if (dir < 0) {
    return dir;
  }
  const char *last = strrchr(p->clean, '/') + 1;
  int fd = openat(dir, last, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  int err = errno;
  close(dir);
  return fd < 0 ? -err : fd;
}

/* ---- stat ---- */

/* Go's os.FileMode bits, which the CLI decodes. */
static uint32_t go_mode(mode_t m) {
  uint32_t g = m & 0777;
  switch (m & S_IFMT) {
  case S_IFDIR:
    g |= 1u << 31;
    break;
  case S_IFLNK:
    g |= 1u << 27;
    break;
  case S_IFBLK:
    g |= 1u << 26;
    break;
  case S_IFCHR:
    g |= (1u << 26) | (1u << 21);
    break;
  case S_IFIFO:
    g |= 1u << 25;
    break;
  case S_IFSOCK:
    g |= 1u << 24;
    break;
  default:
    break;
  }
  g |= (m & S_ISUID) ? 1u << 23 : 0;
  g |= (m & S_ISGID) ? 1u << 22 : 0;
  g |= (m & S_ISVTX) ? 1u << 20 : 0;
  return g;
}

/* Where the symlink at p points, made absolute and followed inside root
 * (lexically, as dockerd's FollowSymlinkInScope), into out. */
static void link_target(int root, const hcsd__arc_path_t *p, char *out,
                        size_t n) {
  hcsd__arc_path_t cur = *p;
  snprintf(out, n, "%s", p->clean);
  for (int i = 0; i < ARC_LINKS_MAX; i++) {
    cur.follow = false;
    int fd = open_target(root, &cur);
    if (fd < 0) {
      return;
    }
    char t[4096];
    ssize_t len = readlinkat(fd, "", t, sizeof(t) - 1);
    close(fd);
    if (len < 0) {
      return; /* no symlink: out is where it ends */
    }
    t[len] = '\0';
    char joined[4096 * 2 + 8];
    if (t[0] == '/') {
      snprintf(joined, sizeof(joined), "%s", t);
    } else {
      size_t cl = strlen(cur.clean);
      memcpy(joined, cur.clean, cl);
      memcpy(joined + cl, "/../", 4);
      memcpy(joined + cl + 4, t, (size_t)len + 1);
    }
    if (strlen(joined) >= 4096) {
      return;
    }
    if (hcsd__arc_path(joined, &cur) != 0) {
      return;
    }
    snprintf(out, n, "%s", cur.clean);
  }
}

static char *stat_header(int root, int fd, const hcsd__arc_path_t *p,
                         const struct stat *st) {
  char mtime[40], target[4096] = "";
  hcsd_time_rfc3339(
      (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec, mtime);
  (void)fd;
  if (S_ISLNK(st->st_mode)) {
    link_target(root, p, target, sizeof(target));
  }
  const char *name = strcmp(p->clean, "/") == 0 ? "/" : p->base;
  json_t *o = json_pack("{s:s,s:I,s:I,s:s,s:s}", "name", name, "size",
                        (json_int_t)st->st_size, "mode",
                        (json_int_t)go_mode(st->st_mode), "mtime", mtime,
                        "linkTarget", target);
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (s == NULL) {
    return NULL;
  }
  char *b = hcsd_base64(s, strlen(s));
  free(s);
  return b;
}

/* ---- the tar of a GET ---- */

static la_ssize_t mem_write(struct archive *a, void *data, const void *buf,
                            size_t len) {
  arc_job_t *j = data;
  if (j->len + len > ARC_GET_MAX) {
    archive_set_error(a, EFBIG, "larger than %u MiB", ARC_GET_MAX >> 20);
    return -1;
  }
  if (j->len + len > j->cap) {
    size_t cap = j->cap != 0 ? j->cap : 1u << 16;
    while (cap < j->len + len) {
      cap *= 2;
    }
    char *t = realloc(j->tar, cap);
    if (t == NULL) {
      archive_set_error(a, ENOMEM, "out of memory");
      return -1;
    }
    j->tar = t;
    j->cap = cap;
  }
  memcpy(j->tar + j->len, buf, len);
  j->len += len;
  return (la_ssize_t)len;
}

/* fd's inode reopened for reading (through our own fd table, so it is
 * the inode already found, whatever the name means by now). */
static int reopen(int fd, int flags) {
  char p[64];
  snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
  return open(p, flags | O_CLOEXEC | O_NOCTTY);
}

static int fail(arc_job_t *j, int status, const char *what, int err) {
  hcsd_err_set(&j->e, status, "%s: %s", what, strerror(err));
  j->failed = true;
  return -1;
}

static int add_data(arc_job_t *j, struct archive *a, int fd, const char *name,
                    int64_t size) {
  int rfd = reopen(fd, O_RDONLY | O_NONBLOCK);
  if (rfd < 0) {
    return fail(j, 500, name, errno);
  }
  char buf[65536];
  int64_t left = size;
  while (left > 0) {
    ssize_t n = read(
        rfd, buf,
        (size_t)(left < (int64_t)sizeof(buf) ? left : (int64_t)sizeof(buf)));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      /* It shrank while read: the rest is zeros, the size stays. */
      memset(buf, 0, sizeof(buf));
      n = left < (int64_t)sizeof(buf) ? (ssize_t)left : (ssize_t)sizeof(buf);
    }
    if (archive_write_data(a, buf, (size_t)n) < 0) {
      close(rfd);
      hcsd_err_set(&j->e, 413, "%s: %s", name, archive_error_string(a));
      j->failed = true;
      return -1;
    }
    left -= n;
  }
  close(rfd);
  return 0;
}

static int add_tree(arc_job_t *j, struct archive *a, int fd, const char *name,
                    int depth);

static int add_children(arc_job_t *j, struct archive *a, int fd,
                        const char *name, int depth) {
  int dfd = reopen(fd, O_RDONLY | O_DIRECTORY);
  DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (dir == NULL) {
    int err = errno;
    if (dfd >= 0) {
      close(dfd);
    }
    return fail(j, 500, name, err);
  }
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(dir)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
      continue;
    }
    int cfd = openat(dirfd(dir), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (cfd < 0) {
      continue; /* gone meanwhile */
    }
    char *cname = NULL;
    if (asprintf(&cname, "%s/%s", name, de->d_name) < 0) {
      close(cfd);
      return fail(j, 500, name, ENOMEM);
    }
    rc = add_tree(j, a, cfd, cname, depth + 1);
    free(cname);
    close(cfd);
  }
  closedir(dir);
  return rc;
}

static int add_tree(arc_job_t *j, struct archive *a, int fd, const char *name,
                    int depth) {
  struct stat st;
  if (depth > ARC_DEPTH_MAX) {
    return fail(j, 400, name, ELOOP);
  }
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    return fail(j, 500, name, errno);
  }
  if (S_ISSOCK(st.st_mode)) {
    return 0; /* tar has no sockets */
  }
  struct archive_entry *ae = archive_entry_new();
  archive_entry_copy_stat(ae, &st);
  archive_entry_set_pathname(ae, name);
  if (S_ISLNK(st.st_mode)) {
    char t[4096];
    ssize_t n = readlinkat(fd, "", t, sizeof(t) - 1);
    t[n > 0 ? n : 0] = '\0';
    archive_entry_set_symlink(ae, t);
  }
  if (!S_ISREG(st.st_mode)) {
    archive_entry_set_size(ae, 0);
  }
  int rc = 0;
  if (archive_write_header(a, ae) != ARCHIVE_OK) {
    hcsd_err_set(&j->e, 413, "%s: %s", name, archive_error_string(a));
    j->failed = true;
    rc = -1;
  } else if (S_ISREG(st.st_mode)) {
    rc = add_data(j, a, fd, name, st.st_size);
  } else if (S_ISDIR(st.st_mode)) {
    rc = add_children(j, a, fd, name, depth);
  }
  archive_entry_free(ae);
  return rc;
}

static void make_tar(arc_job_t *j, int fd, const hcsd__arc_path_t *p) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 10240);
  if (archive_write_open(a, j, NULL, mem_write, NULL) != ARCHIVE_OK) {
    hcsd_err_set(&j->e, 500, "tar: %s", archive_error_string(a));
    j->failed = true;
  } else if (add_tree(j, a, fd, p->base, 0) == 0 &&
             archive_write_close(a) != ARCHIVE_OK) {
    hcsd_err_set(&j->e, 413, "tar: %s", archive_error_string(a));
    j->failed = true;
  }
  archive_write_free(a);
}

/* ---- the job ---- */

static void arc_free(arc_job_t *j);

static void not_found(arc_job_t *j) {
  hcsd_err_set(&j->e, 404, "Could not find the file %s in container %s",
               j->path, j->ref);
  j->failed = true;
}

static void run_in_root(arc_job_t *j, int root) {
  hcsd__arc_path_t p;
  if (hcsd__arc_path(j->path, &p) != 0) {
    hcsd_err_set(&j->e, 400, "path too long: %s", j->path);
    j->failed = true;
    return;
  }
  if (j->o.op == HCSD_ARC_PUT) {
    /* The destination is followed to its end, and must be a
     * directory. */
    int dir = hcsd__arc_open_in(root, p.clean, O_PATH);
    struct stat st;
    if (dir < 0) {
      not_found(j);
      return;
    }
    if (fstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      hcsd_err_set(&j->e, 400, "extraction point is not a directory");
      j->failed = true;
    } else if (hcsd__arc_extract(dir, &j->o, &j->e) != 0) {
      j->failed = true;
    }
    close(dir);
    return;
  }
  int fd = open_target(root, &p);
  struct stat st;
  if (fd < 0) {
    not_found(j);
    return;
  }
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    fail(j, 500, j->path, errno);
  } else if ((j->stat = stat_header(root, fd, &p, &st)) == NULL) {
    fail(j, 500, j->path, ENOMEM);
  } else if (j->o.op == HCSD_ARC_GET) {
    make_tar(j, fd, &p);
  }
  close(fd);
}

/* A stopped container's root: its sandbox's merged view, mounted for the
 * job (the container is busy meanwhile, so it cannot start on it). */
static void run_prepared(arc_job_t *j) {
  hcs_driver_info_t info = {.flavour = HCS_FLAVOUR_FILTER, .home_dir = j->home};
  hcs_error_t *err = NULL;
  char *mp = NULL;
  if (hcs_PrepareLayer(&info, j->c->id, NULL, &err) != HCS_OK) {
    hcsd_err_set(&j->e, 500, "mounting the container's root: %s",
                 hcs_error_message(err));
    hcs_error_free(err);
    j->failed = true;
    return;
  }
  if (hcs_GetLayerMountPath(&info, j->c->id, &mp, &err) != HCS_OK) {
    hcsd_err_set(&j->e, 500, "the container's root: %s",
                 hcs_error_message(err));
    hcs_error_free(err);
    j->failed = true;
  } else {
    int root = open(mp, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
      fail(j, 500, mp, errno);
    } else {
      run_in_root(j, root);
      close(root);
    }
    hcs_free(mp);
  }
  (void)hcs_UnprepareLayer(&info, j->c->id, NULL);
}

static void arc_work(void *data) {
  arc_job_t *j = data;
  if (j->root >= 0) {
    run_in_root(j, j->root);
  } else {
    run_prepared(j);
  }
}

static void arc_done(void *data) {
  arc_job_t *j = data;
  hcsd_ctr_t *c = j->c;
  if (j->held_busy) {
    c->busy = 0;
    hcsd__ctr_settled(c);
  }
  if (j->failed) {
    free(j->tar);
    j->tar = NULL;
    j->len = 0;
  }
  j->done(j->failed ? &j->e : NULL, j->stat, j->tar, j->len, j->data);
  if (j->root >= 0) {
    close(j->root);
  }
  hcsd__ctr_unref(c);
  free(j->stat);
  arc_free(j);
}

/* Where the job finds the root: an open /proc/<pid>/root while it runs,
 * else the sandbox held busy. 0, or -1 with e. */
static int arc_root(arc_job_t *j, hcsd_err_t *e) {
  hcsd_ctr_t *c = j->c;
  if (c->state == CS_RUNNING && c->pid > 0) {
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/root", c->pid);
    j->root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (j->root < 0) {
      hcsd_err_set(e, 500, "%s: %s", p, strerror(errno));
      return -1;
    }
    return 0;
  }
  if (c->sandbox == NULL) {
    hcsd_err_set(e, 500, "container %s has no root file system", j->ref);
    return -1;
  }
  j->home = hcsd__sandbox_home(j->d);
  if (j->home == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    return -1;
  }
  j->held_busy = true;
  return 0;
}

/* Starts j on the pool: 0, or -1 with e. */
static int arc_launch(arc_job_t *j, hcsd_err_t *e) {
  if (arc_root(j, e) != 0) {
    return -1;
  }
  if (hcsd_work(j->d, arc_work, arc_done, j) != 0) {
    hcsd_err_set(e, 500, "out of memory");
    if (j->root >= 0) {
      close(j->root);
      j->root = -1;
    }
    j->held_busy = false;
    return -1;
  }
  if (j->held_busy) {
    j->c->busy = 1;
  }
  return 0;
}

static void arc_free(arc_job_t *j) {
  free(j->path);
  free(j->ref);
  free(j->home);
  free(j);
}

/* A busy container (a start, or an exit's cleanup, under way): the copy
 * waits until it settles, as a start does. */
static int arc_settled(hcsd_ctr_t *c, void *data) {
  arc_job_t *j = data;
  hcsd_err_t e;
  if (c->state == CS_REMOVING) {
    hcsd_err_set(&e, 404, "No such container: %s", j->ref);
  } else if (c->busy) {
    hcsd__ctr_add_settle(c, arc_settled, j);
    return 0;
  } else if (arc_launch(j, &e) == 0) {
    return 0;
  }
  j->done(&e, NULL, NULL, 0, j->data);
  hcsd__ctr_unref(c);
  arc_free(j);
  return 0;
}

int hcsd_ctr_archive(hcsd_t *d, const char *ref, const hcsd_arc_opts_t *o,
                     hcsd_arc_cb done, void *data, hcsd_err_t *e) {
  hcsd_ctr_t *c = hcsd__ctr_get(d, ref, e);
  if (c == NULL) {
    return -1;
  }
  arc_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL || (j->path = strdup(o->path)) == NULL ||
      (j->ref = strdup(ref)) == NULL) {
    hcsd_err_set(e, 500, "out of memory");
    if (j != NULL) {
      arc_free(j);
    }
    return -1;
  }
  j->d = d;
  j->c = c;
  j->o = *o;
  j->o.path = j->path;
  j->root = -1;
  j->done = done;
  j->data = data;
  if (c->busy) {
    hcsd__ctr_add_settle(c, arc_settled, j);
  } else if (arc_launch(j, e) != 0) {
    arc_free(j);
    return -1;
  }
  hcsd__ctr_ref(c);
  return HCSD_PENDING;
}
