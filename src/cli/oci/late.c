/* SPDX-License-Identifier: MIT */
/* What runc makes in a container and an hcs container lacks, made once
 * the system runs and before its process starts: linux.sysctl (net.*),
 * masked and read-only paths beyond hcs's own, and the cgroup tree at
 * /sys/fs/cgroup (seen through the container's cgroup namespace; in the
 * host's, the container's own groups bound from the host's, as runc has
 * it, never the whole tree). A child process joins the
 * system's namespaces through a pidfd of its init (found in libhcs's
 * record, checked by start time) and makes them; it runs after fork()
 * in a threaded process, so it only makes system calls on what was
 * prepared before, and reports a step and an errno. */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_KEYS = 32, MAX_CG = 16, MAX_PATHS = 32 };
enum { CG_TOP_LEN = sizeof("/sys/fs/cgroup/") - 1 };

typedef struct late_s {
  char sysctl_path[MAX_KEYS][256];
  const char *sysctl_val[MAX_KEYS];
  size_t n_sysctl;
  char cg_dir[MAX_CG][64];  /* under /sys/fs/cgroup */
  char cg_opts[MAX_CG][96]; /* its superblock's options; "" for cgroup2 */
  size_t n_cg;
  bool v2_only;
  /* In the host's cgroup namespace: the container's group in the
   * hierarchy at cg_dir[i] (the one at /sys/fs/cgroup if v2_only), which
   * is bound instead of the hierarchy mounted. */
  bool cg_bind;
  char cg_src[MAX_CG][PATH_MAX];
  char masked[MAX_PATHS][256]; /* linux.maskedPaths beyond hcs's */
  size_t n_masked;
  char ro[MAX_PATHS][256]; /* linux.readonlyPaths beyond hcs's */
  size_t n_ro;
  struct {
    char path[256];
    mode_t mode; /* S_IF* | permissions */
    dev_t dev;
    uid_t uid;
    gid_t gid;
  } dev[MAX_PATHS]; /* linux.devices */
  size_t n_dev;
} late_t;

typedef struct report_s {
  int step; /* index into step_names */
  int item;
  int err;
} report_t;

static const char *const step_names[] = {"setns(net)",
                                         "linux.sysctl",
                                         "setns(mnt, cgroup)",
                                         "mount a tmpfs on /sys/fs/cgroup",
                                         "mount a cgroup hierarchy",
                                         "remount /sys/fs/cgroup read-only",
                                         "linux.maskedPaths",
                                         "linux.readonlyPaths",
                                         "linux.rootfsPropagation",
                                         "linux.devices",
                                         "open_tree (the container's group)",
                                         "bind the container's group",
                                         "chroot into init's root"};

/* The host's cgroup hierarchies: each v1 controller's mount (its last
 * path element and its options), or cgroup2 alone. */
static void host_cgroups(late_t *l) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[4096];
  while (f != NULL && fgets(line, sizeof(line), f) != NULL &&
         l->n_cg < MAX_CG) {
    char point[PATH_MAX], type[32], opts[512];
    /* proc_pid_mountinfo(5): point is field 5; after " - " come the
     * type, the source and the superblock's options. */
    char *dash = strstr(line, " - ");
    if (dash == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
        sscanf(dash + 3, "%31s %*s %511s", type, opts) != 2 ||
        strncmp(point, "/sys/fs/cgroup", 14) != 0) {
      continue;
    }
    if (strcmp(type, "cgroup2") == 0 && strcmp(point, "/sys/fs/cgroup") == 0) {
      l->v2_only = true;
      continue;
    }
    const char *base = strrchr(point, '/') + 1;
    if ((strcmp(type, "cgroup") != 0 && strcmp(type, "cgroup2") != 0) ||
        point[14] != '/') {
      continue;
    }
    /* The options that name the hierarchy (controllers, name=). */
    char keep[96] = "";
    size_t n = 0;
    for (char *save = NULL, *o = strtok_r(opts, ",", &save); o != NULL;
         o = strtok_r(NULL, ",", &save)) {
      if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0 ||
          strncmp(o, "release_agent", 13) == 0 || strcmp(o, "relatime") == 0 ||
          strncmp(o, "nsdelegate", 10) == 0) {
        continue;
      }
      int w = snprintf(keep + n, sizeof(keep) - n, "%s%s", n ? "," : "", o);
      n += w > 0 && (size_t)w < sizeof(keep) - n ? (size_t)w : 0;
    }
    snprintf(l->cg_dir[l->n_cg], sizeof(l->cg_dir[0]), "%s", base);
    snprintf(l->cg_opts[l->n_cg], sizeof(l->cg_opts[0]), "%s",
             strcmp(type, "cgroup2") == 0 ? "" : keep);
    l->n_cg++;
  }
  if (f != NULL) {
    fclose(f);
  }
}

/* Whether the controllers of a /proc/PID/cgroup line (ctl, "" for
 * cgroup2) name the hierarchy whose options are opts ("" for cgroup2). */
static bool same_hierarchy(const char *ctl, const char *opts) {
  if (ctl[0] == '\0' || opts[0] == '\0') {
    return ctl[0] == '\0' && opts[0] == '\0';
  }
  char list[256];
  snprintf(list, sizeof(list), "%s", ctl);
  for (char *save = NULL, *c = strtok_r(list, ",", &save); c != NULL;
       c = strtok_r(NULL, ",", &save)) {
    size_t n = strlen(c);
    const char *o = opts;
    while ((o = strstr(o, c)) != NULL &&
           !((o == opts || o[-1] == ',') && (o[n] == ',' || o[n] == '\0'))) {
      o++;
    }
    if (o == NULL) {
      return false;
    }
  }
  return true;
}

/* The container's group in each hierarchy, from init's /proc/PID/cgroup
 * (paths from our cgroup namespace's root, which is init's). 0, or -1
 * with why naming the hierarchy it is not found in. */
static int init_groups(late_t *l, pid_t init, char *why, size_t wn) {
  char path[64], line[PATH_MAX + 256];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)init);
  for (size_t i = 0; i < (l->v2_only ? 1 : l->n_cg); i++) {
    FILE *f = fopen(path, "re");
    bool found = false;
    while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
      char *ctl = strchr(line, ':'), *grp = ctl ? strchr(ctl + 1, ':') : NULL;
      if (grp == NULL) {
        continue;
      }
      *grp++ = '\0';
      grp[strcspn(grp, "\n")] = '\0';
      if (same_hierarchy(ctl + 1, l->v2_only ? "" : l->cg_opts[i])) {
        found = true;
        snprintf(l->cg_src[i], sizeof(l->cg_src[0]), "/sys/fs/cgroup%s%s%s",
                 l->v2_only ? "" : "/", l->v2_only ? "" : l->cg_dir[i], grp);
      }
    }
    if (f != NULL) {
      fclose(f);
    }
    if (!found) {
      snprintf(why, wn,
               "the container's group under /sys/fs/cgroup/%s is "
               "not found in %s",
               l->v2_only ? "" : l->cg_dir[i], path);
      return -1;
    }
  }
  /* On v1 a system joins only the hierarchies it uses (devices always,
   * libhcs's cgroup.c): in the others init is in its creator's group,
   * often the top, so they are left out rather than show the host's. */
  size_t ref = 0, kept = 0;
  while (ref < l->n_cg && strcmp(l->cg_dir[ref], "devices") != 0) {
    ref++;
  }
  for (size_t i = 0; !l->v2_only && ref < l->n_cg && i < l->n_cg; i++) {
    if (strcmp(l->cg_src[i] + CG_TOP_LEN + strlen(l->cg_dir[i]),
               l->cg_src[ref] + CG_TOP_LEN + strlen("devices")) == 0) {
      memmove(l->cg_dir[kept], l->cg_dir[i], sizeof(l->cg_dir[0]));
      memmove(l->cg_opts[kept], l->cg_opts[i], sizeof(l->cg_opts[0]));
      memmove(l->cg_src[kept], l->cg_src[i], sizeof(l->cg_src[0]));
      kept++;
    }
  }
  l->n_cg = l->v2_only || ref == l->n_cg ? l->n_cg : kept;
  return 0;
}

static int child_fail(int fd, int step, int item) {
  report_t r = {.step = step, .item = item, .err = errno};
  if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
    return 2; /* the parent reads no report: the exit status says it */
  }
  return 1;
}

/* Hierarchy i at dir: mounted, or with cg_bind the container's group
 * (tree, its open_tree clone) moved there and its flags set. */
static int mount_hierarchy(const late_t *l, size_t i, const char *dir, int tree,
                           unsigned long fl) {
  if (l->cg_bind) {
    return move_mount(tree, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) != 0 ||
                   mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | fl, NULL) != 0
               ? -1
               : 0;
  }
  bool v2 = l->v2_only || l->cg_opts[i][0] == '\0';
  return mount("cgroup", dir, v2 ? "cgroup2" : "cgroup", fl,
               v2 ? NULL : l->cg_opts[i]);
}

static int mount_cgroups(const oci_late_t *w, const late_t *l, int fd,
                         const int *trees) {
  unsigned long ro = w->cgroup_ro ? MS_RDONLY : 0;
  unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  const char *top = "/sys/fs/cgroup";
  if (l->v2_only) {
    return mount_hierarchy(l, 0, top, trees[0], fl | ro) != 0
               ? child_fail(fd, l->cg_bind ? 11 : 4, 0)
               : 0;
  }
  if (mount("tmpfs", top, "tmpfs", fl, "mode=755") != 0) {
    return child_fail(fd, 3, 0);
  }
  for (size_t i = 0; i < l->n_cg; i++) {
    char dir[160];
    snprintf(dir, sizeof(dir), "%s/%s", top, l->cg_dir[i]);
    (void)mkdir(dir, 0555);
    if (mount_hierarchy(l, i, dir, trees[i], fl | ro) != 0) {
      return child_fail(fd, l->cg_bind ? 11 : 4, (int)i);
    }
  }
  if (ro != 0 &&
      mount(NULL, top, NULL, MS_REMOUNT | MS_BIND | fl | ro, NULL) != 0) {
    return child_fail(fd, 5, 0);
  }
  return 0;
}

/* Device i of linux.devices in the joined mount namespace, replacing
 * what is at its path; 0 or -1 with errno. */
static int make_device(const late_t *l, size_t i) {
  const char *p = l->dev[i].path;
  if (unlink(p) != 0 && errno != ENOENT) {
    return -1;
  }
  return mknod(p, l->dev[i].mode, l->dev[i].dev) != 0 ||
                 chown(p, l->dev[i].uid, l->dev[i].gid) != 0 ||
                 chmod(p, l->dev[i].mode & 07777) != 0
             ? -1
             : 0;
}

static int child_main(const oci_late_t *w, const late_t *l, int pidfd,
                      int rootfd, int fd) {
  if (l->n_sysctl > 0 && setns(pidfd, CLONE_NEWNET) != 0) {
    return child_fail(fd, 0, 0);
  }
  /* The host's /proc still: /proc/sys/net is the joined namespace's. */
  for (size_t i = 0; i < l->n_sysctl; i++) {
    int f = open(l->sysctl_path[i], O_WRONLY | O_CLOEXEC);
    if (f < 0 || write(f, l->sysctl_val[i], strlen(l->sysctl_val[i])) < 0) {
      return child_fail(fd, 1, (int)i);
    }
    close(f);
  }
  if (!w->cgroup && l->n_masked == 0 && l->n_ro == 0 && l->n_dev == 0 &&
      w->root_propagation == 0) {
    return 0;
  }
  /* The container's groups, taken from the host's tree while it is
   * still the one at /sys/fs/cgroup here. */
  int trees[MAX_CG];
  for (size_t i = 0; i < MAX_CG; i++) {
    bool take = l->cg_bind && i < (l->v2_only ? 1 : l->n_cg);
    trees[i] = take ? open_tree(AT_FDCWD, l->cg_src[i],
                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
                    : -1;
    if (take && trees[i] < 0) {
      return child_fail(fd, 10, (int)i);
    }
  }
  if (setns(pidfd, CLONE_NEWNS | CLONE_NEWCGROUP) != 0) {
    return child_fail(fd, 2, 0);
  }
  /* Into init's root: its mount namespace's own (where setns has put us
   * already), or in the host's mount namespace a chroot. */
  if (fchdir(rootfd) != 0 || chroot(".") != 0 || chdir("/") != 0) {
    return child_fail(fd, 12, 0);
  }
  /* The mount namespace's root is now ours: the paths are the
   * container's. One that is not there is left alone, as runc does. A
   * directory is covered by an empty read-only tmpfs, anything else by
   * /dev/null; a read-only path is bound onto itself and made so. */
  if (w->root_propagation != 0 &&
      mount(NULL, "/", NULL, w->root_propagation, NULL) != 0) {
    return child_fail(fd, 8, 0);
  }
  for (size_t i = 0; i < l->n_dev; i++) {
    if (make_device(l, i) != 0) {
      return child_fail(fd, 9, (int)i);
    }
  }
  struct stat st;
  for (size_t i = 0; i < l->n_masked; i++) {
    const char *p = l->masked[i];
    if (stat(p, &st) != 0 ? errno != ENOENT
        : S_ISDIR(st.st_mode)
            ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0") != 0
            : mount("/dev/null", p, NULL, MS_BIND, NULL) != 0) {
      return child_fail(fd, 6, (int)i);
    }
  }
  for (size_t i = 0; i < l->n_ro; i++) {
    const char *p = l->ro[i];
    if (stat(p, &st) != 0
            ? errno != ENOENT
            : mount(p, p, NULL, MS_BIND | MS_REC, NULL) != 0 ||
                  mount(NULL, p, NULL,
                        MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) != 0) {
      return child_fail(fd, 7, (int)i);
    }
  }
  return w->cgroup ? mount_cgroups(w, l, fd, trees) : 0;
}

/* The paths of list into out (at most MAX_PATHS); -1 with why. */
static int take_paths(json_t *list, const char *field, char (*out)[256],
                      size_t *n, char *why, size_t wn) {
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    if (*n == MAX_PATHS) {
      snprintf(why, wn, "linux.%s: more than %d beyond hcs's own", field,
               MAX_PATHS);
      return -1;
    }
    snprintf(out[(*n)++], 256, "%s", json_string_value(e));
  }
  return 0;
}

static int prepare(const oci_late_t *w, late_t *l, pid_t init, char *why,
                   size_t wn) {
  const char *key;
  json_t *v;
  json_object_foreach(w->sysctl, key, v) {
    if (l->n_sysctl == MAX_KEYS) {
      snprintf(why, wn, "linux.sysctl: more than %d keys", MAX_KEYS);
      return -1;
    }
    char *p = l->sysctl_path[l->n_sysctl];
    int n = snprintf(p, sizeof(l->sysctl_path[0]), "/proc/sys/%s", key);
    for (int i = 10; i < n; i++) {
      p[i] = p[i] == '.' ? '/' : p[i];
    }
    l->sysctl_val[l->n_sysctl++] = json_string_value(v);
  }
  if (take_paths(w->masked, "maskedPaths", l->masked, &l->n_masked, why, wn) !=
          0 ||
      take_paths(w->readonly, "readonlyPaths", l->ro, &l->n_ro, why, wn) != 0) {
    return -1;
  }
  size_t i;
  json_t *d;
  json_array_foreach(w->devices, i, d) {
    if (l->n_dev == MAX_PATHS) {
      snprintf(why, wn, "linux.devices: more than %d", MAX_PATHS);
      return -1;
    }
    const char *t = json_string_value(json_object_get(d, "type"));
    json_t *mode = json_object_get(d, "fileMode");
    snprintf(l->dev[l->n_dev].path, 256, "%s",
             json_string_value(json_object_get(d, "path")));
    l->dev[l->n_dev].mode =
        (t[0] == 'b'   ? S_IFBLK
         : t[0] == 'p' ? S_IFIFO
                       : S_IFCHR) |
        (mode != NULL ? (mode_t)json_integer_value(mode) : 0666);
    l->dev[l->n_dev].dev =
        makedev((unsigned)json_integer_value(json_object_get(d, "major")),
                (unsigned)json_integer_value(json_object_get(d, "minor")));
    l->dev[l->n_dev].uid = (uid_t)json_integer_value(json_object_get(d, "uid"));
    l->dev[l->n_dev].gid = (gid_t)json_integer_value(json_object_get(d, "gid"));
    l->n_dev++;
  }
  if (w->cgroup) {
    host_cgroups(l);
    /* In our cgroup namespace, a hierarchy mounted would show the whole
     * tree: the container's own groups are bound instead (cg_src; in
     * its own namespace they are what a mount shows). */
    char ns[64];
    struct stat ours, its;
    snprintf(ns, sizeof(ns), "/proc/%d/ns/cgroup", (int)init);
    l->cg_bind = stat("/proc/self/ns/cgroup", &ours) == 0 &&
                 stat(ns, &its) == 0 && ours.st_ino == its.st_ino &&
                 ours.st_dev == its.st_dev;
    if (init_groups(l, init, why, wn) != 0) {
      return -1;
    }
  }
  return 0;
}

/* A pidfd of the system's init, from libhcs's record. */
int oci_init_pidfd(const oci_global_t *g, const char *id) {
  pid_t pid;
  unsigned long long start;
  return oci_init_read(g, id, &pid, &start) == 0 ? oci_pidfd_checked(pid, start)
                                                 : -1;
}

int oci_late_setup(const oci_global_t *g, const char *id, const oci_late_t *w,
                   char *why, size_t wn) {
  if (json_object_size(w->sysctl) == 0 && !w->cgroup &&
      json_array_size(w->masked) == 0 && json_array_size(w->readonly) == 0 &&
      json_array_size(w->devices) == 0 && w->root_propagation == 0) {
    return 0;
  }
  late_t *l = calloc(1, sizeof(*l));
  int pidfd = -1, p[2] = {-1, -1}, r = -1, rootfd = -1;
  pid_t init;
  unsigned long long start;
  if (oci_init_read(g, id, &init, &start) != 0 ||
      (pidfd = oci_pidfd_checked(init, start)) < 0) {
    snprintf(why, wn, "the container's init is not found");
    goto out;
  }
  if (l == NULL || prepare(w, l, init, why, wn) != 0) {
    goto out;
  }
  char rp[64];
  snprintf(rp, sizeof(rp), "/proc/%d/root", (int)init);
  if ((rootfd = open(rp, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
    snprintf(why, wn, "open(%s): %s", rp, strerror(errno));
    goto out;
  }
  if (pipe2(p, O_CLOEXEC) != 0) {
    snprintf(why, wn, "pipe: %s", strerror(errno));
    goto out;
  }
  pid_t pid = fork();
  if (pid == 0) {
    _exit(child_main(w, l, pidfd, rootfd, p[1]));
  }
  close(p[1]);
  p[1] = -1;
  report_t rep;
  ssize_t n = pid > 0 ? read(p[0], &rep, sizeof(rep)) : -1;
  int st = 0;
  while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (pid < 0) {
    snprintf(why, wn, "fork: %s", strerror(errno));
  } else if (n == (ssize_t)sizeof(rep)) {
    const char *item = rep.step == 1   ? l->sysctl_path[rep.item] + 10
                       : rep.step == 6 ? l->masked[rep.item]
                       : rep.step == 7 ? l->ro[rep.item]
                       : rep.step == 9 ? l->dev[rep.item].path
                       : rep.step == 10 || rep.step == 11 ? l->cg_src[rep.item]
                                                          : "";
    snprintf(why, wn, "%s%s%s: %s", step_names[rep.step], item[0] ? " " : "",
             item, strerror(rep.err));
  } else {
    r = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
    if (r != 0) {
      snprintf(why, wn, "setting up the container's mounts failed");
    }
  }
out:
  if (p[0] >= 0) {
    close(p[0]);
  }
  if (pidfd >= 0) {
    close(pidfd);
  }
  if (rootfd >= 0) {
    close(rootfd);
  }
  free(l);
  return r;
}
