/* SPDX-License-Identifier: MIT */
/* docker cp into a container (archive.h): a tar extracted into a
 * directory of its root. Each entry's parent is walked from the
 * destination one component at a time, never through a symlink; the
 * entry is made there by fd-relative calls, and its owner, mode and
 * times are set through an fd of what was made, so a name swapped for a
 * symlink meanwhile leads nowhere outside. Names with "..", devices and
 * hard links to outside the destination are refused. */
#include "hcsd/model/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

typedef struct put_s {
  int dest;
  const hcsd_arc_opts_t *o;
  hcsd_err_t *e;
} put_t;

static int put_fail(put_t *p, const char *name, const char *what, int err) {
  int status = err == EROFS ? 403 : err == 0 ? 400 : 500;
  if (err != 0) {
    hcsd_err_set(p->e, status, "%s %s: %s", what, name, strerror(err));
  } else {
    hcsd_err_set(p->e, status, "%s: %s", what, name);
  }
  return -1;
}

/* The entry's name cleaned into out (relative, no "." parts): 0, 1 for
 * the destination itself, -1 when it climbs with "..". */
static int clean_name(const char *in, char *out, size_t n) {
  int nc = hcsd__arc_clean(in, out, n, false);
  return nc < 0 ? -1 : nc == 0 ? 1 : 0;
}

/* The parent of rel (cleaned) walked from the destination, directories
 * made as needed (create) and no symlink followed: an O_PATH fd, *last
 * pointing into rel; -errno. */
static int walk_parent(int dest, char *rel, bool create, const char **last) {
  int cur = fcntl(dest, F_DUPFD_CLOEXEC, 3);
  char *s = rel;
  char *slash;
  while ((slash = strchr(s, '/')) != NULL) {
    *slash = '\0';
    int next = openat(cur, s, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create &&
        (mkdirat(cur, s, 0755) == 0 || errno == EEXIST)) {
      next = openat(cur, s, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    int err = errno;
    *slash = '/';
    close(cur);
    if (next < 0) {
      return -err;
    }
    cur = next;
    s = slash + 1;
  }
  *last = s;
  return cur;
}

/* Makes room for an entry of type at name: what is there goes, unless
 * noOverwriteDirNonDir forbids it or it is the directory asked for. 1
 * when a directory is there to keep; 0; -1 with e. */
static int make_room(put_t *p, int dir, const char *name, const char *full,
                     mode_t type) {
  struct stat st;
  if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? 0 : put_fail(p, full, "stat", errno);
  }
  bool is_dir = S_ISDIR(st.st_mode), want_dir = type == AE_IFDIR;
  if (is_dir && want_dir) {
    return 1;
  }
  if (p->o->no_overwrite_dir_non_dir && is_dir != want_dir) {
    hcsd_err_set(p->e, 400, "cannot overwrite %s %s with %s",
                 is_dir ? "directory" : "non-directory", full,
                 want_dir ? "directory" : "non-directory");
    return -1;
  }
  if (unlinkat(dir, name, is_dir ? AT_REMOVEDIR : 0) != 0) {
    return put_fail(p, full, "replacing", errno);
  }
  return 0;
}

/* Owner, mode and times of the entry just made, through an fd of it. */
static int set_meta(put_t *p, int dir, const char *name, const char *full,
                    struct archive_entry *ae) {
  int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return put_fail(p, full, "open", errno);
  }
  uid_t uid = p->o->copy_uid_gid ? (uid_t)archive_entry_uid(ae) : 0;
  gid_t gid = p->o->copy_uid_gid ? (gid_t)archive_entry_gid(ae) : 0;
  int rc = 0;
  if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    rc = put_fail(p, full, "chown", errno);
  }
  struct timespec ts[2] = {
      {archive_entry_mtime(ae), archive_entry_mtime_nsec(ae)},
      {archive_entry_mtime(ae), archive_entry_mtime_nsec(ae)},
  };
  if (rc == 0 && archive_entry_filetype(ae) == AE_IFLNK) {
    /* A symlink's times by name, not followed. */
    (void)utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW);
  } else if (rc == 0) {
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    if (chmod(self, archive_entry_perm(ae)) != 0) {
      rc = put_fail(p, full, "chmod", errno);
    } else if (archive_entry_filetype(ae) != AE_IFDIR) {
      (void)utimensat(AT_FDCWD, self, ts, 0);
    }
  }
  close(fd);
  return rc;
}

static int put_file(put_t *p, struct archive *a, int dir, const char *name,
                    const char *full) {
  int fd = openat(
      dir, name,
      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    return put_fail(p, full, "create", errno);
  }
  int rc = archive_read_data_into_fd(a, fd);
  int err = errno;
  close(fd);
  if (rc != ARCHIVE_OK) {
    if (err == EROFS || err == ENOSPC || err == EDQUOT) {
      return put_fail(p, full, "write", err);
    }
    hcsd_err_set(p->e, 400, "%s: %s", full, archive_error_string(a));
    return -1;
  }
  return 0;
}

static int put_hardlink(put_t *p, int dir, const char *name, const char *full,
                        const char *target) {
  char t[4096];
  if (clean_name(target, t, sizeof(t)) != 0) {
    return put_fail(p, full, "hard link to outside the destination", 0);
  }
  const char *tlast;
  int tdir = walk_parent(p->dest, t, false, &tlast);
  if (tdir < 0) {
    return put_fail(p, full, "hard link target", -tdir);
  }
  int rc = 0;
  if (linkat(tdir, tlast, dir, name, 0) != 0) {
    rc = put_fail(p, full, "hard link", errno);
  }
  close(tdir);
  return rc;
}

/* Makes the one entry at dir/name. */
static int put_entry(put_t *p, struct archive *a, struct archive_entry *ae,
                     int dir, const char *name, const char *full) {
  mode_t type = archive_entry_filetype(ae);
  const char *hl = archive_entry_hardlink(ae);
  if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK) {
    return put_fail(p, full, "devices and sockets are not copied", 0);
  }
  int room = make_room(p, dir, name, full, hl != NULL ? AE_IFREG : type);
  if (room < 0) {
    return -1;
  }
  if (hl != NULL) {
    return put_hardlink(p, dir, name, full, hl);
  }
  int rc = 0;
  switch (type) {
  case AE_IFDIR:
    if (room == 0 && mkdirat(dir, name, 0700) != 0) {
      return put_fail(p, full, "mkdir", errno);
    }
    break;
  case AE_IFLNK:
    if (symlinkat(archive_entry_symlink(ae), dir, name) != 0) {
      return put_fail(p, full, "symlink", errno);
    }
    break;
  case AE_IFIFO:
    if (mknodat(dir, name, S_IFIFO | 0600, 0) != 0) {
      return put_fail(p, full, "mkfifo", errno);
    }
    break;
  case AE_IFREG:
    rc = put_file(p, a, dir, name, full);
    break;
  default:
    return put_fail(p, full, "unknown entry type", 0);
  }
  return rc != 0 ? rc : set_meta(p, dir, name, full, ae);
}

static int put_all(put_t *p, struct archive *a) {
  struct archive_entry *ae;
  int r;
  while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
    const char *raw = archive_entry_pathname(ae);
    char rel[4096];
    int c = clean_name(raw != NULL ? raw : "", rel, sizeof(rel));
    if (c < 0) {
      return put_fail(p, raw, "archive entry outside the destination", 0);
    }
    if (c == 1) {
      continue; /* the destination itself stays as it is */
    }
    char full[4096];
    snprintf(full, sizeof(full), "%s", rel);
    const char *last;
    int dir = walk_parent(p->dest, rel, true, &last);
    if (dir < 0) {
      return put_fail(p, full, "parent of", -dir);
    }
    int rc = put_entry(p, a, ae, dir, last, full);
    close(dir);
    if (rc != 0) {
      return -1;
    }
  }
  if (r != ARCHIVE_EOF) {
    hcsd_err_set(p->e, 400, "reading the archive: %s", archive_error_string(a));
    return -1;
  }
  return 0;
}

int hcsd__arc_extract(int dir, const hcsd_arc_opts_t *o, hcsd_err_t *e) {
  struct statvfs sv;
  if (fstatvfs(dir, &sv) == 0 && (sv.f_flag & ST_RDONLY) != 0) {
    hcsd_err_set(e, 403, "the destination %s is on a read-only file system",
                 o->path);
    return -1;
  }
  put_t p = {.dest = dir, .o = o, .e = e};
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  archive_read_support_filter_all(a);
  int rc = o->fd >= 0 ? archive_read_open_fd(a, o->fd, 65536)
                      : archive_read_open_memory(a, o->buf, o->len);
  if (rc != ARCHIVE_OK) {
    hcsd_err_set(e, 400, "reading the archive: %s", archive_error_string(a));
    archive_read_free(a);
    return -1;
  }
  rc = put_all(&p, a);
  archive_read_free(a);
  return rc;
}
