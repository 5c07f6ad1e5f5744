/* SPDX-License-Identifier: MIT */
/* A compute system's root, built by its init child (a fork of the engine,
 * single-threaded, in the system's new namespaces): the overlay of its
 * layers or its volume, then in the order an OCI config lists them /proc,
 * a minimal /dev (with devpts, shm and mqueue), /sys and the mapped
 * directories and tmpfs; its resolv.conf and host name; then pivot_root
 * and Docker's masked and read-only paths. Every path inside
 * the root is opened component by component with no symlink followed (openat2),
 * so that a hostile image cannot send a mount to the host. */
#include "hcs/system/rootfs.h"

#include "hcs/layer/layerstore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct open_how_s {
  uint64_t flags, mode, resolve;
};

/* mount_setattr(2), Linux 5.12. */
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR__ATIME 0x00000070
#define MOUNT_ATTR_RELATIME 0x00000000
#define MOUNT_ATTR_NOATIME 0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
struct mount_attr_s {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* Opens dir `path` under root, making missing components, refusing a
 * symlink anywhere on the way: a hostile image cannot send a mount to the
 * host. O_PATH fd or -errno. */
static int open_dir_in(int rootfd, const char *path) {
  int dir = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
  const char *p = path;
  while (dir >= 0 && *p != '\0') {
    while (*p == '/') {
      p++;
    }
    if (*p == '\0') {
      break;
    }
    char comp[256];
    size_t n = 0;
    while (p[n] != '\0' && p[n] != '/' && n < sizeof(comp) - 1) {
      comp[n] = p[n];
      n++;
    }
    comp[n] = '\0';
    p += n;
    if (strcmp(comp, "..") == 0 || strcmp(comp, ".") == 0) {
      close(dir);
      return -EINVAL;
    }
    (void)mkdirat(dir, comp, 0755);
    struct open_how_s how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                             .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH};
    int next = (int)syscall(SYS_openat2, dir, comp, &how, sizeof(how));
    int err = errno;
    close(dir);
    if (next < 0) {
      return -err;
    }
    dir = next;
  }
  return dir < 0 ? -errno : dir;
}

static int fd_path(char *buf, size_t n, int fd) {
  return snprintf(buf, n, "/proc/self/fd/%d", fd) < (int)n ? 0 : -ENAMETOOLONG;
}

/* open_dir_in, as a real directory fd (an O_PATH one cannot create
 * files). */
static int open_real_dir_in(int rootfd, const char *path) {
  int dir = open_dir_in(rootfd, path);
  if (dir < 0) {
    return dir;
  }
  char p[64];
  fd_path(p, sizeof(p), dir);
  int d = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int err = errno;
  close(dir);
  return d < 0 ? -err : d;
}

/* Mounts onto the directory fd names (not a path an image could bend). */
static int mount_on(int fd, const char *src, const char *type,
                    unsigned long flags, const char *data) {
  char target[64];
  fd_path(target, sizeof(target), fd);
  return mount(src, target, type, flags, data) != 0 ? -errno : 0;
}

/* Each failure writes why: the field, the call and the path at fault. */
static int mount_root(const hcs__container_t *ct, char *why, size_t wn) {
  const hcs__config_t *cfg = &ct->cfg;
  const char *at = ct->root_mnt;
  if (cfg->volume_path != NULL) {
    return mount(cfg->volume_path, at, NULL, MS_BIND | MS_REC, NULL) != 0
               ? -hcs__setup_fail(why, wn, errno,
                                  "VolumePath: mount(%s, %s, MS_BIND)",
                                  cfg->volume_path, at)
               : 0;
  }
  /* An overlay: the layers nearest first (a layer folder of the store
   * gives its diff; a full copy of the diff driver ends the chain); the
   * sandbox layer, when given, holds the upper and work directories, or is
   * itself the full copy to bind. A missing folder is named here: the
   * overlay's own refusal would not say which. */
  char up[PATH_MAX], work[PATH_MAX], dir[PATH_MAX];
  struct stat st;
  if (cfg->layer_folder_path != NULL) {
    if (stat(cfg->layer_folder_path, &st) != 0) {
      return -hcs__setup_fail(why, wn, errno, "LayerFolderPath: stat(%s)",
                              cfg->layer_folder_path);
    }
    int full =
        hcs__layer_sandbox_dirs(cfg->layer_folder_path, up, work, sizeof(up));
    if (full < 0) {
      return -hcs__setup_fail(why, wn, full, "LayerFolderPath: %s",
                              cfg->layer_folder_path);
    }
    if (full == 1) {
      return mount(up, at, NULL, MS_BIND, NULL) != 0
                 ? -hcs__setup_fail(why, wn, errno,
                                    "LayerFolderPath: mount(%s, %s, MS_BIND)",
                                    up, at)
                 : 0;
    }
  }
  char opts[3072];
  size_t n = (size_t)snprintf(opts, sizeof(opts), "lowerdir=");
  size_t used = 0;
  for (size_t i = 0; i < cfg->n_layers && n < sizeof(opts); i++) {
    const char *path = cfg->layers[i].path;
    int r = stat(path, &st) != 0 ? -errno
                                 : hcs__layer_lowerdir(path, dir, sizeof(dir));
    if (r < 0) {
      return -hcs__setup_fail(why, wn, r, "Layers[%zu]: stat(%s)", i, path);
    }
    n += (size_t)snprintf(opts + n, sizeof(opts) - n, "%s%s", i > 0 ? ":" : "",
                          dir);
    used++;
    if (r == 1) {
      break;
    }
  }
  if (cfg->layer_folder_path != NULL && n < sizeof(opts)) {
    (void)mkdir(up, 0755);
    (void)mkdir(work, 0700);
    n += (size_t)snprintf(opts + n, sizeof(opts) - n, ",upperdir=%s,workdir=%s",
                          up, work);
  }
  if (n >= sizeof(opts)) {
    return -hcs__setup_fail(why, wn, ENAMETOOLONG,
                            "Layers: the overlay's options for %s", at);
  }
  if (cfg->layer_folder_path == NULL && used == 1) {
    /* One read-only layer: overlay wants two lowers, a bind does it.
     * Read-only, as the layer is shared: with no sandbox the container
     * has a read-only root (docker run --read-only). */
    if (mount(dir, at, NULL, MS_BIND, NULL) != 0 ||
        mount(NULL, at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0) {
      return -hcs__setup_fail(why, wn, errno,
                              "Layers[0]: mount(%s, %s, MS_BIND|MS_RDONLY)",
                              dir, at);
    }
    return 0;
  }
  return mount("overlay", at, "overlay", 0, opts) != 0
             ? -hcs__setup_fail(why, wn, errno,
                                "Layers: mount(overlay, %s) of %zu layers", at,
                                used)
             : 0;
}

/* The mount point path names in the root, opened O_PATH with no symlink
 * followed: a directory (made, with its parents, when missing), or for a
 * file to bind a regular file (made empty when missing). fd or -errno. */
static int open_target_in(int rootfd, const char *path, bool file) {
  if (!file) {
    return open_dir_in(rootfd, path);
  }
  const char *slash = strrchr(path, '/');
  char parent[PATH_MAX];
  snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
  const char *base = slash + 1;
  if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
    return -EINVAL;
  }
  int dir = open_real_dir_in(rootfd, parent);
  if (dir < 0) {
    return dir;
  }
  int c = openat(dir, base,
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (c >= 0) {
    close(c);
  }
  int fd = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  int err = errno;
  close(dir);
  if (fd < 0) {
    return -err;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -ENOTDIR; /* a directory, symlink or device where a file goes */
  }
  return fd;
}

/* *call names the system call that failed, for the caller's sentence. A
 * HostPath that is not a directory is bound onto a file. */
static int bind_mapped(int rootfd, const hcs__mapped_dir_t *m,
                       const char **call) {
  struct stat st;
  *call = "stat(HostPath)";
  if (stat(m->host_path, &st) != 0) {
    return -errno;
  }
  bool file = !S_ISDIR(st.st_mode);
  *call = "open(ContainerPath) in the root";
  int fd = open_target_in(rootfd, m->container_path, file);
  if (fd < 0) {
    return fd;
  }
  hcs__bind_opts_t o;
  char bad[64];
  if (hcs__bind_options(m->options, m->read_only, &o, bad, sizeof(bad)) != 0) {
    close(fd);
    *call = "its Options";
    return -EINVAL; /* checked at create: a record edited since */
  }
  /* The data options go where runc puts them: the bind's own mount(2),
   * which hands them to the kernel (and it reads none for a bind). */
  *call = o.not_rec ? "mount(MS_BIND)" : "mount(MS_BIND|MS_REC)";
  int err = mount_on(fd, m->host_path, NULL, MS_BIND | (o.not_rec ? 0 : MS_REC),
                     o.data[0] != '\0' ? o.data : NULL);
  close(fd);
  if (err != 0 || (o.set == 0 && o.clr == 0 && o.propagation == 0)) {
    return err;
  }
  /* The fd named the directory under the mount; reopen to name the
   * mount's root. The flags go on it and every mount below it: a remount
   * would leave submounts of the host directory as they were, and would
   * reset the flags not named. */
  *call = "open(ContainerPath) in the root";
  fd = open_target_in(rootfd, m->container_path, file);
  if (fd < 0) {
    return fd;
  }
  struct mount_attr_s attr = {.attr_set = o.set, .attr_clr = o.clr};
  if (o.set != 0 || o.clr != 0) {
    *call = "mount_setattr(Options)";
    err = syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE,
                  &attr, sizeof(attr)) != 0
              ? -errno
              : 0;
  }
  /* The propagation by a call of its own: the kernel takes no other flag
   * with it. */
  if (err == 0 && o.propagation != 0) {
    *call = "mount(propagation)";
    err = mount_on(fd, NULL, NULL, o.propagation, NULL);
  }
  close(fd);
  return err;
}

int hcs__bind_options(const char *opts, bool read_only, hcs__bind_opts_t *o,
                      char *bad, size_t bn) {
  static const struct {
    const char *name;
    uint64_t set, clr;
    unsigned long propagation;
  } words[] = {{"ro", MOUNT_ATTR_RDONLY, 0, 0},
               {"rw", 0, MOUNT_ATTR_RDONLY, 0},
               {"nosuid", MOUNT_ATTR_NOSUID, 0, 0},
               {"suid", 0, MOUNT_ATTR_NOSUID, 0},
               {"nodev", MOUNT_ATTR_NODEV, 0, 0},
               {"dev", 0, MOUNT_ATTR_NODEV, 0},
               {"noexec", MOUNT_ATTR_NOEXEC, 0, 0},
               {"exec", 0, MOUNT_ATTR_NOEXEC, 0},
               {"relatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, 0},
               {"noatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, 0},
               {"strictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, 0},
               {"nodiratime", MOUNT_ATTR_NODIRATIME, 0, 0},
               {"diratime", 0, MOUNT_ATTR_NODIRATIME, 0},
               {"private", 0, 0, MS_PRIVATE},
               {"rprivate", 0, 0, MS_PRIVATE | MS_REC},
               {"shared", 0, 0, MS_SHARED},
               {"rshared", 0, 0, MS_SHARED | MS_REC},
               {"slave", 0, 0, MS_SLAVE},
               {"rslave", 0, 0, MS_SLAVE | MS_REC},
               {"unbindable", 0, 0, MS_UNBINDABLE},
               {"runbindable", 0, 0, MS_UNBINDABLE | MS_REC}};
  *o = (hcs__bind_opts_t){.set = read_only ? MOUNT_ATTR_RDONLY : 0};
  size_t used = 0;
  for (const char *p = opts != NULL ? opts : ""; *p != '\0';) {
    size_t len = strcspn(p, ",");
    bool ok = len == 0;
    const char *eq = memchr(p, '=', len);
    if (!ok && (len == 4 || len == 5) && strncmp(p + len - 4, "bind", 4) == 0 &&
        (len == 4 || p[0] == 'r')) {
      o->not_rec = len == 4;
      ok = true;
    }
    if (!ok && eq != NULL && eq != p) {
      size_t left = sizeof(o->data) - used;
      int w = snprintf(o->data + used, left, "%s%.*s", used > 0 ? "," : "",
                       (int)len, p);
      ok = w > 0 && (size_t)w < left;
      used += ok ? (size_t)w : 0;
    }
    for (size_t i = 0; !ok && i < sizeof(words) / sizeof(words[0]); i++) {
      if (strlen(words[i].name) == len && strncmp(p, words[i].name, len) == 0) {
        o->set = (o->set & ~words[i].clr) | words[i].set;
        o->clr = (o->clr & ~words[i].set) | words[i].clr;
        if (words[i].propagation != 0) {
          o->propagation = words[i].propagation;
        }
        ok = true;
      }
    }
    if (!ok) {
      snprintf(bad, bn, "%.*s", (int)len, p);
      return -EINVAL;
    }
    p += len + (p[len] == ',');
  }
  return 0;
}

/* A tmpfs's propagation flags, which mount_tmpfs sets by a call of their
 * own (the kernel takes no other flag with them). */
#define TMPFS_PROP (MS_SHARED | MS_SLAVE | MS_UNBINDABLE | MS_REC)

int hcs__tmpfs_options(const char *opts, unsigned long *flags, char *data,
                       size_t n, char *bad, size_t bn) {
  static const char *const keys[] = {
      "size=", "mode=", "uid=", "gid=", "nr_inodes="};
  static const struct {
    const char *name;
    unsigned long set, clr;
  } words[] = {{"ro", MS_RDONLY, 0},
               {"rw", 0, MS_RDONLY},
               {"noexec", MS_NOEXEC, 0},
               {"exec", 0, MS_NOEXEC},
               {"nosuid", 0, 0},
               {"nodev", 0, 0},
               {"private", 0, TMPFS_PROP},
               {"rprivate", 0, TMPFS_PROP},
               {"shared", MS_SHARED, TMPFS_PROP},
               {"rshared", MS_SHARED | MS_REC, TMPFS_PROP},
               {"slave", MS_SLAVE, TMPFS_PROP},
               {"rslave", MS_SLAVE | MS_REC, TMPFS_PROP},
               {"unbindable", MS_UNBINDABLE, TMPFS_PROP},
               {"runbindable", MS_UNBINDABLE | MS_REC, TMPFS_PROP},
               {"strictatime", MS_STRICTATIME, MS_NOATIME | MS_RELATIME},
               {"relatime", MS_RELATIME, MS_NOATIME | MS_STRICTATIME},
               {"noatime", MS_NOATIME, MS_RELATIME | MS_STRICTATIME},
               {"nodiratime", MS_NODIRATIME, 0},
               {"diratime", 0, MS_NODIRATIME}};
  *flags = MS_NOSUID | MS_NODEV;
  size_t used = 0;
  data[0] = '\0';
  for (const char *p = opts != NULL ? opts : ""; *p != '\0';) {
    size_t len = strcspn(p, ",");
    bool ok = len == 0;
    for (size_t i = 0; !ok && i < sizeof(words) / sizeof(words[0]); i++) {
      if (strlen(words[i].name) == len && strncmp(p, words[i].name, len) == 0) {
        *flags = (*flags & ~words[i].clr) | words[i].set;
        ok = true;
      }
    }
    for (size_t i = 0; !ok && i < sizeof(keys) / sizeof(keys[0]); i++) {
      size_t kl = strlen(keys[i]);
      if (len > kl && strncmp(p, keys[i], kl) == 0 &&
          strspn(p + kl, "0123456789kmgKMG%") == len - kl) {
        used += (size_t)snprintf(data + used, used < n ? n - used : 0, "%s%.*s",
                                 used > 0 ? "," : "", (int)len, p);
        ok = used < n;
      }
    }
    if (!ok) {
      snprintf(bad, bn, "%.*s", (int)len, p);
      return -EINVAL;
    }
    p += len + (p[len] == ',');
  }
  return 0;
}

/* A tmpfs at t->container_path. */
static int mount_tmpfs(int rootfd, const hcs__tmpfs_t *t, const char **call) {
  unsigned long flags;
  char data[256], bad[64];
  *call = "its Options";
  if (hcs__tmpfs_options(t->options, &flags, data, sizeof(data), bad,
                         sizeof(bad)) != 0) {
    return -EINVAL; /* checked at create: a record edited since */
  }
  *call = "open(ContainerPath) in the root";
  int fd = open_dir_in(rootfd, t->container_path);
  if (fd < 0) {
    return fd;
  }
  *call = "mount(tmpfs)";
  int err = mount_on(fd, "tmpfs", "tmpfs", flags & ~TMPFS_PROP, data);
  close(fd);
  if (err == 0 && (flags & TMPFS_PROP) != 0) {
    /* Reopened: the fd named the directory under the new mount. */
    *call = "mount(propagation)";
    fd = open_dir_in(rootfd, t->container_path);
    err = fd < 0 ? fd : mount_on(fd, NULL, NULL, flags & TMPFS_PROP, NULL);
    if (fd >= 0) {
      close(fd);
    }
  }
  return err;
}

/* The path's depth: its components ("/a/b/" is 2). */
static size_t path_depth(const char *p) {
  size_t d = 0;
  for (; *p != '\0'; p++) {
    d += p[0] != '/' && (p[1] == '/' || p[1] == '\0');
  }
  return d;
}

/* One mapping's place: increasing Order (an hcs extension; absent: 0),
 * then shallowest ContainerPath first (as Docker sorts its mounts, so
 * that one inside another lands on top of it), then MappedDirectories
 * before Tmpfs, each in its array's order. */
typedef struct place_s {
  int64_t order;
  size_t depth;
  bool tmpfs;
  size_t i;
} place_t;

static place_t place_of(const hcs__config_t *cfg, bool tmpfs, size_t i) {
  const char *path =
      tmpfs ? cfg->tmpfs[i].container_path : cfg->mapped_dirs[i].container_path;
  return (place_t){tmpfs ? cfg->tmpfs[i].order : cfg->mapped_dirs[i].order,
                   path_depth(path), tmpfs, i};
}

static bool place_before(place_t a, place_t b) {
  if (a.order != b.order) {
    return a.order < b.order;
  }
  if (a.depth != b.depth) {
    return a.depth < b.depth;
  }
  return a.tmpfs != b.tmpfs ? !a.tmpfs : a.i < b.i;
}

/* The mapping after *last (NULL: the first) into *next; false after the
 * last one. A selection, with no allocation (init is a fork of a
 * threaded engine). */
static bool next_place(const hcs__config_t *cfg, const place_t *last,
                       place_t *next) {
  bool found = false;
  for (int t = 0; t < 2; t++) {
    size_t n = t ? cfg->n_tmpfs : cfg->n_mapped_dirs;
    for (size_t i = 0; i < n; i++) {
      place_t p = place_of(cfg, t, i);
      if ((last == NULL || place_before(*last, p)) &&
          (!found || place_before(p, *next))) {
        *next = p;
        found = true;
      }
    }
  }
  return found;
}

/* MappedDirectories and Tmpfs, each in its place. */
static int mount_mappings(const hcs__container_t *ct, int rootfd, char *why,
                          size_t n) {
  const hcs__config_t *cfg = &ct->cfg;
  place_t p, last;
  for (bool any = false; next_place(cfg, any ? &last : NULL, &p);
       any = true, last = p) {
    const char *call = NULL;
    if (!p.tmpfs) {
      const hcs__mapped_dir_t *m = &cfg->mapped_dirs[p.i];
      int err = bind_mapped(rootfd, m, &call);
      if (err != 0) {
        return -hcs__setup_fail(why, n, err,
                                "MappedDirectories[%zu]: binding %s at %s: %s",
                                p.i, m->host_path, m->container_path, call);
      }
    } else {
      const hcs__tmpfs_t *t = &cfg->tmpfs[p.i];
      int err = mount_tmpfs(rootfd, t, &call);
      if (err != 0) {
        return -hcs__setup_fail(why, n, err, "Tmpfs[%zu]: at %s: %s", p.i,
                                t->container_path, call);
      }
    }
  }
  return 0;
}

/* ReadOnlyRoot: the root's own mount read-only, once every mount point in
 * it is made (the mounts on it keep their own flags, as with Docker's
 * --read-only). */
static int root_read_only(const hcs__container_t *ct) {
  return mount(NULL, ct->root_mnt, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY,
               NULL) != 0
             ? -errno
             : 0;
}

/* A directory name made in d with mode and a type mount on it (the
 * source named as the type, shm for a tmpfs, as Docker's are). */
static int mount_sub(int d, const char *name, mode_t mode, const char *type,
                     unsigned long flags, const char *data) {
  if (mkdirat(d, name, mode) != 0) {
    return -errno;
  }
  int fd = open_dir_in(d, name);
  if (fd < 0) {
    return fd;
  }
  int err = mount_on(fd, strcmp(type, "tmpfs") == 0 ? "shm" : type, type, flags,
                     data);
  close(fd);
  return err;
}

/* An empty file in d bound to the host's /dev/name. */
static int bind_host_dev(int d, const char *name) {
  int fd = openat(d, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    return -errno;
  }
  close(fd);
  char src[64], dst[128];
  snprintf(src, sizeof(src), "/dev/%s", name);
  fd_path(dst, sizeof(dst), d);
  snprintf(dst + strlen(dst), sizeof(dst) - strlen(dst), "/%s", name);
  return mount(src, dst, NULL, MS_BIND, NULL) != 0 ? -errno : 0;
}

/* shm_size: /dev/shm in bytes, 0 for Docker's 64 MiB. */
static int make_dev(int rootfd, int64_t shm_size) {
  int fd = open_dir_in(rootfd, "dev");
  if (fd < 0) {
    return fd;
  }
  int err = mount_on(fd, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                     "mode=755,size=65536k");
  close(fd);
  if (err != 0) {
    return err;
  }
  int d = open_real_dir_in(rootfd, "dev");
  if (d < 0) {
    return d;
  }
  static const struct {
    const char *name;
    unsigned maj, min;
  } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  umask(0);
  for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]) && err == 0; i++) {
    if (mknodat(d, nodes[i].name, S_IFCHR | 0666,
                makedev(nodes[i].maj, nodes[i].min)) != 0) {
      /* In a user namespace no node made is usable: the host's is bound. */
      err = errno == EPERM ? bind_host_dev(d, nodes[i].name) : -errno;
    }
  }
  char shm[64];
  snprintf(shm, sizeof(shm), "mode=1777,size=%lld",
           shm_size > 0 ? (long long)shm_size : 65536LL * 1024);
  const unsigned long nse = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (err == 0) {
    err = mount_sub(d, "pts", 0755, "devpts", MS_NOSUID | MS_NOEXEC,
                    "newinstance,ptmxmode=0666,mode=0620");
  }
  if (err == 0) {
    err = mount_sub(d, "shm", 01777, "tmpfs", nse, shm);
  }
  if (err == 0) {
    err = mount_sub(d, "mqueue", 0755, "mqueue", nse, NULL);
  }
  static const char *const links[][2] = {{"pts/ptmx", "ptmx"},
                                         {"/proc/self/fd", "fd"},
                                         {"/proc/self/fd/0", "stdin"},
                                         {"/proc/self/fd/1", "stdout"},
                                         {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]) && err == 0; i++) {
    if (symlinkat(links[i][0], d, links[i][1]) != 0) {
      err = -errno;
    }
  }
  umask(022);
  close(d);
  return err;
}

/* The container's /proc, first of its mounts (as an OCI config lists
 * it, and runtime-tools checks the order): init is already in the new
 * pid namespace, so the proc made here is the container's. /proc must be
 * a real directory of the image (a symlink there is refused, not
 * followed). */
static int mount_proc(int rootfd) {
  int fd = open_dir_in(rootfd, "proc");
  if (fd < 0) {
    return fd;
  }
  int err =
      mount_on(fd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  close(fd);
  return err;
}

/* What Docker's default hides of /proc and /sys: files that show the
 * host's kernel (keys, timers, memory image) are covered, directories
 * that reach host hardware or host-wide knobs (every sysctl: core_pattern
 * runs a host program) are read-only. Missing ones are skipped. */
static const char *const masked_paths[] = {"/proc/acpi",
                                           "/proc/asound",
                                           "/proc/interrupts",
                                           "/proc/kcore",
                                           "/proc/keys",
                                           "/proc/latency_stats",
                                           "/proc/timer_list",
                                           "/proc/timer_stats",
                                           "/proc/sched_debug",
                                           "/proc/scsi",
                                           "/sys/firmware",
                                           "/sys/devices/virtual/powercap",
                                           NULL};
static const char *const readonly_paths[] = {"/proc/bus",           "/proc/fs",
                                             "/proc/irq",           "/proc/sys",
                                             "/proc/sysrq-trigger", NULL};

/* After pivot_root: the paths are the container's fresh /proc and /sys,
 * which nothing of the image can have bent. *at names the path at fault. */
static int mask_paths(const char **at) {
  for (const char *const *p = readonly_paths; *p != NULL; p++) {
    *at = *p;
    if (mount(*p, *p, NULL, MS_BIND | MS_REC, NULL) != 0) {
      if (errno == ENOENT) {
        continue;
      }
      return -errno;
    }
    if (mount(NULL, *p, NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
                  MS_NOEXEC,
              NULL) != 0) {
      return -errno;
    }
  }
  for (const char *const *p = masked_paths; *p != NULL; p++) {
    *at = *p;
    struct stat st;
    if (lstat(*p, &st) != 0) {
      if (errno == ENOENT) {
        continue;
      }
      return -errno;
    }
    int r = S_ISDIR(st.st_mode)
                ? mount("tmpfs", *p, "tmpfs", MS_RDONLY, "size=0,mode=0555")
                : mount("/dev/null", *p, NULL, MS_BIND, NULL);
    if (r != 0) {
      return -errno;
    }
  }
  return 0;
}

/* /sys, read-only, when the image has the directory (a read-only root
 * without it goes without /sys). Its network part is the container's own
 * network namespace's: init is in it. */
static int mount_sys(int rootfd) {
  int fd = open_dir_in(rootfd, "sys");
  if (fd == -ENOENT || fd == -EROFS) {
    return 0;
  }
  if (fd < 0) {
    return fd;
  }
  int err = mount_on(fd, "sysfs", "sysfs",
                     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  close(fd);
  return err;
}

/* The system's resolv.conf (prepared by the engine in the state dir) bound
 * over /etc/resolv.conf: the image under it is never written. The file is
 * made in the root when it is missing and the root is writable; a
 * read-only root without one goes without. */
static int bind_resolv_conf(int rootfd, const char *src) {
  int d = open_real_dir_in(rootfd, "etc");
  if (d == -ENOENT || d == -EROFS) {
    return 0;
  }
  if (d < 0) {
    return d;
  }
  char path[64];
  int f = openat(d, "resolv.conf", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (f < 0 && errno == ENOENT) {
    int c = openat(d, "resolv.conf",
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (c >= 0) {
      close(c);
      f = openat(d, "resolv.conf", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    } else if (errno == EROFS) {
      close(d);
      return 0;
    }
  }
  close(d);
  if (f < 0) {
    return -errno;
  }
  struct stat st;
  int err = fstat(f, &st) != 0     ? -errno
            : !S_ISREG(st.st_mode) ? -EINVAL /* a symlink or device */
                                   : 0;
  if (err == 0) {
    fd_path(path, sizeof(path), f);
    err = mount(src, path, NULL, MS_BIND, NULL) != 0 ? -errno : 0;
  }
  close(f);
  return err;
}

/* In the host's mount namespace (Namespaces: mount Host) the root is a
 * chroot, as runc makes it without a mount namespace: pivot_root would
 * move the host's root. */
static int enter_root(const hcs__container_t *ct) {
  if (hcs__rootfs_host_mounts(ct)) {
    return chdir(ct->root_mnt) != 0 || chroot(".") != 0 || chdir("/") != 0
               ? -errno
               : 0;
  }
  if (chdir(ct->root_mnt) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
      umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) {
    return -errno;
  }
  return 0;
}

int hcs__rootfs_host_mounts(const hcs__container_t *ct) {
  return !(ct->ns & CLONE_NEWNS);
}

/* The host's mount namespace: the root's mount point is a private bind
 * of itself, so that nothing mounted under it (the root, /proc, /dev,
 * the binds) propagates to the host's peers, and one lazy unmount of it
 * (hcs__rootfs_unmount) removes them all. */
static int private_mount_point(const char *at) {
  return mount(at, at, NULL, MS_BIND, NULL) != 0 ||
                 mount(NULL, at, NULL, MS_PRIVATE, NULL) != 0
             ? -errno
             : 0;
}

void hcs__rootfs_unmount(const char *root_mnt) {
  /* The root and the bind under it (and, with MNT_DETACH, all below). */
  for (int i = 0; i < 8 && umount2(root_mnt, MNT_DETACH | UMOUNT_NOFOLLOW) == 0;
       i++) {
  }
}

int hcs__setup_fail(char *why, size_t n, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, n, fmt, ap);
  va_end(ap);
  return err < 0 ? -err : err;
}

int hcs__rootfs_build(const hcs__container_t *ct, char *why, size_t n) {
  int err;
  if (hcs__rootfs_host_mounts(ct)) {
    if ((err = private_mount_point(ct->root_mnt)) != 0) {
      return -hcs__setup_fail(why, n, err,
                              "Namespaces (mount Host): a private bind of %s",
                              ct->root_mnt);
    }
  } else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    return -hcs__setup_fail(why, n, errno, "mount(/, MS_REC|MS_PRIVATE)");
  }
  err = mount_root(ct, why, n);
  if (err != 0) {
    return err;
  }
  int rootfd = open(ct->root_mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    return -hcs__setup_fail(why, n, errno, "open(%s)", ct->root_mnt);
  }
  if ((err = mount_proc(rootfd)) != 0) {
    hcs__setup_fail(why, n, err, "mount(proc, /proc)");
  }
  if (err == 0 && (err = make_dev(rootfd, ct->cfg.shm_size)) != 0) {
    hcs__setup_fail(why, n, err, "making /dev in %s", ct->root_mnt);
  }
  if (err == 0 && (err = mount_sys(rootfd)) != 0) {
    hcs__setup_fail(why, n, err, "mount(sysfs, /sys)");
  }
  if (err == 0) {
    err = mount_mappings(ct, rootfd, why, n);
  }
  if (err == 0 && ct->resolv[0] != '\0' &&
      (err = bind_resolv_conf(rootfd, ct->resolv)) != 0) {
    hcs__setup_fail(why, n, err, "binding %s over /etc/resolv.conf",
                    ct->resolv);
  }
  if (err == 0 && ct->cfg.read_only_root && (err = root_read_only(ct)) != 0) {
    hcs__setup_fail(why, n, err, "ReadOnlyRoot: remounting %s read-only",
                    ct->root_mnt);
  }
  close(rootfd);
  const char *host = ct->cfg.host_name;
  if (err == 0 && host != NULL && sethostname(host, strlen(host)) != 0) {
    err =
        -hcs__setup_fail(why, n, errno, "HostName: sethostname(\"%s\")", host);
  }
  return err;
}

int hcs__rootfs_enter(const hcs__container_t *ct, char *why, size_t n) {
  int err = enter_root(ct);
  if (err != 0) {
    return -hcs__setup_fail(
        why, n, err, "%s into %s",
        hcs__rootfs_host_mounts(ct) ? "chroot" : "pivot_root", ct->root_mnt);
  }
  const char *path = NULL;
  if ((err = mask_paths(&path)) != 0) {
    return -hcs__setup_fail(why, n, err, "masking %s (mount)", path);
  }
  return 0;
}
