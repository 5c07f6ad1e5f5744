/* SPDX-License-Identifier: MIT */
/* What hcs-runc keeps under --root: ROOT/ID/state.json (the keeper's and
 * the container init's pids and start times, the bundle, the rootfs, when
 * it was made) and ROOT/ID/exec.fifo while the container waits for
 * `start`; libhcs keeps its record of the container in ROOT/ID/hcs (a
 * state dir per container, so that opening the service reattaches that one
 * system, not all). A process is known by pid and start time, so that a
 * pid reused by a stranger is never taken for it. */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

int oci_path(const oci_global_t *g, const char *id, const char *name, char *out,
             size_t n) {
  int k = snprintf(out, n, "%s/%s%s%s", g->root, id, name[0] ? "/" : "", name);
  return k > 0 && (size_t)k < n ? 0 : -ENAMETOOLONG;
}

void oci_hcs_dir(const oci_global_t *g, const char *id, char *out, size_t n) {
  snprintf(out, n, "%s/%s/hcs", g->root, id);
}

json_t *oci_hcs_record(const oci_global_t *g, const char *id) {
  char rec[4200];
  snprintf(rec, sizeof(rec), "%s/%s/hcs/%s.json", g->root, id, id);
  return json_load_file(rec, 0, NULL);
}

unsigned long long oci_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) {
    return 0;
  }
  buf[n] = '\0';
  /* proc(5): the command (field 2) may hold spaces and ')'; count fields
   * from the last ')'. A zombie still has its start time: the keeper is
   * reaped by its parent (the shim), and until then it is "stopped". */
  char *p = strrchr(buf, ')');
  char state = p != NULL && p[1] == ' ' ? p[2] : 'X';
  for (int f = 2; p != NULL && f < 22; f++) {
    p = strchr(p + 1, ' ');
  }
  if (p == NULL || state == 'Z' || state == 'X') {
    return 0;
  }
  return strtoull(p + 1, NULL, 10);
}

int oci_state_write(const oci_global_t *g, const oci_state_t *st) {
  char path[4200], tmp[4200];
  if (oci_path(g, st->id, "state.json", path, sizeof(path)) != 0 ||
      oci_path(g, st->id, "state.json.tmp", tmp, sizeof(tmp)) != 0) {
    return -ENAMETOOLONG;
  }
  json_t *o = json_pack(
      "{s:s, s:i, s:I, s:i, s:I, s:s, s:s, s:s}", "id", st->id, "pid",
      (int)st->pid, "start_time", (json_int_t)st->start_time, "init_pid",
      (int)st->init_pid, "init_start", (json_int_t)st->init_start, "bundle",
      st->bundle, "rootfs", st->rootfs, "created", st->created);
  if (o == NULL || json_dump_file(o, tmp, JSON_COMPACT) != 0) {
    json_decref(o);
    return -EIO;
  }
  json_decref(o);
  return rename(tmp, path) == 0 ? 0 : -errno;
}

static void copy_str(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src != NULL ? src : "");
}

int oci_state_read(const oci_global_t *g, const char *id, oci_state_t *st) {
  char path[4200];
  if (strchr(id, '/') != NULL || id[0] == '.' || id[0] == '\0' ||
      oci_path(g, id, "state.json", path, sizeof(path)) != 0) {
    return -EINVAL;
  }
  json_t *o = json_load_file(path, 0, NULL);
  if (o == NULL) {
    return access(path, F_OK) != 0 ? -ENOENT : -EIO;
  }
  memset(st, 0, sizeof(*st));
  const char *b = NULL, *r = NULL, *c = NULL;
  int pid = 0, ipid = 0;
  json_int_t t = 0, it = 0;
  int bad = json_unpack(o, "{s:i, s:I, s?i, s?I, s:s, s:s, s:s}", "pid", &pid,
                        "start_time", &t, "init_pid", &ipid, "init_start", &it,
                        "bundle", &b, "rootfs", &r, "created", &c);
  if (bad == 0) {
    copy_str(st->id, sizeof(st->id), id);
    st->pid = pid;
    st->start_time = (unsigned long long)t;
    st->init_pid = ipid;
    st->init_start = (unsigned long long)it;
    copy_str(st->bundle, sizeof(st->bundle), b);
    copy_str(st->rootfs, sizeof(st->rootfs), r);
    copy_str(st->created, sizeof(st->created), c);
  }
  json_decref(o);
  return bad == 0 ? 0 : -EIO;
}

int oci_pidfd_checked(pid_t pid, unsigned long long start) {
  if (pid <= 0) {
    return -1;
  }
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  /* Checked after the pidfd is taken: if the start time still matches,
   * the pidfd names the process, whatever happens to the pid later. */
  if (fd >= 0 && oci_start_time(pid) != start) {
    close(fd);
    fd = -1;
  }
  return fd;
}

int oci_keeper_pidfd(const oci_state_t *st) {
  return oci_pidfd_checked(st->pid, st->start_time);
}

int oci_init_read(const oci_global_t *g, const char *id, pid_t *pid,
                  unsigned long long *start) {
  json_t *o = oci_hcs_record(g, id);
  json_int_t p = 0, t = 0;
  (void)json_unpack(o, "{s:{s:I, s:I}}", "Init", "Pid", &p, "StartTime", &t);
  json_decref(o);
  *pid = (pid_t)p;
  *start = (unsigned long long)t;
  return p > 0 ? 0 : -1;
}

/* Stopped once the keeper or the container's init has ended: the shim
 * takes init's exit as the container's, and deletes it then, while the
 * keeper may still be taking the system down. */
oci_status_t oci_status(const oci_global_t *g, const oci_state_t *st) {
  int fd = oci_keeper_pidfd(st);
  if (fd < 0) {
    return OCI_STOPPED;
  }
  close(fd);
  if (st->init_pid > 0) {
    if ((fd = oci_pidfd_checked(st->init_pid, st->init_start)) < 0) {
      return OCI_STOPPED;
    }
    close(fd);
  }
  char fifo[4200];
  if (oci_path(g, st->id, "exec.fifo", fifo, sizeof(fifo)) == 0 &&
      access(fifo, F_OK) == 0) {
    return OCI_CREATED;
  }
  char buf[16] = "";
  FILE *f = oci_cgroup_open(g, st->id, "freezer.state");
  if (f == NULL) {
    f = oci_cgroup_open(g, st->id, "cgroup.freeze");
  }
  if (f != NULL) {
    if (fgets(buf, sizeof(buf), f) == NULL) {
      buf[0] = '\0'; /* unreadable: running */
    }
    fclose(f);
  }
  /* A freeze under way (FREEZING) counts as paused already: pause has
   * asked for it. */
  return strncmp(buf, "FR", 2) == 0 || buf[0] == '1' ? OCI_PAUSED : OCI_RUNNING;
}

FILE *oci_cgroup_open(const oci_global_t *g, const char *id, const char *file) {
  json_t *o = oci_hcs_record(g, id);
  const char *cg = json_string_value(json_object_get(o, "Cgroup"));
  /* libhcs makes the group under each v1 controller it uses, or in the
   * v2 tree (cgroup.c); the first that has the file. */
  static const char *const roots[] = {
      "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/memory",  "/sys/fs/cgroup/pids",
      "/sys/fs/cgroup/devices", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
  FILE *f = NULL;
  for (size_t i = 0; cg != NULL && f == NULL && i < 6; i++) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s/%s", roots[i], cg, file);
    f = fopen(path, "re");
  }
  json_decref(o);
  return f;
}

const char *oci_status_name(oci_status_t s) {
  static const char *const names[] = {"created", "running", "paused",
                                      "stopped"};
  return names[s];
}

static int rm_one(const char *path, const struct stat *sb, int type,
                  struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  (void)(type == FTW_DP ? rmdir(path) : unlink(path));
  return 0;
}

void oci_state_remove(const oci_global_t *g, const char *id) {
  char dir[4200];
  if (oci_path(g, id, "", dir, sizeof(dir)) == 0) {
    (void)nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  }
}

int oci_make_root(const oci_global_t *g) {
  char p[4200];
  snprintf(p, sizeof(p), "%s", g->root);
  /* Each missing parent in turn, as runc makes its root (MkdirAll). */
  for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
    if (s != NULL) {
      *s = '\0';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
      return -errno;
    }
    if (s == NULL) {
      return 0;
    }
    *s = '/';
  }
}

int oci_open(const oci_global_t *g, const char *id, hcs_t **out) {
  char dir[4200];
  oci_hcs_dir(g, id, dir, sizeof(dir));
  (void)oci_make_root(g);
  hcs_options_t o = {.size = sizeof(o),
                     .state_dir = dir,
                     .threads = 1,
                     .state_per_boot = true};
  hcs_error_t *err = NULL;
  if (hcs_open(out, &o, &err) != HCS_OK) {
    return oci_hcs_error(g, "opening hcs", err);
  }
  return 0;
}

int oci_write_pid_file(const char *path, pid_t pid) {
  char tmp[4200];
  snprintf(tmp, sizeof(tmp), "%s.hcs-runc.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return -errno;
  }
  int r = dprintf(fd, "%d", (int)pid) > 0 ? 0 : -EIO;
  close(fd);
  if (r == 0 && rename(tmp, path) != 0) {
    r = -errno;
  }
  if (r != 0) {
    (void)unlink(tmp);
  }
  return r;
}

int oci_sock_addr(const oci_global_t *g, const char *id, struct sockaddr_un *sa,
                  int *dirfd) {
  char dir[4200];
  *dirfd = -1;
  if (oci_path(g, id, "", dir, sizeof(dir)) != 0) {
    return -ENAMETOOLONG;
  }
  /* sun_path holds 108 bytes; ROOT/ID may be longer (dockerd's root and a
   * 64-character id), so the socket is named through a dirfd. */
  *dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*dirfd < 0) {
    return -errno;
  }
  *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
  snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/exec.sock",
           *dirfd);
  return 0;
}
