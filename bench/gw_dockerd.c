/* SPDX-License-Identifier: MIT */
/* The dockerd contender's environment: Debian's dockerd (docker.io),
 * started by the bench as a child of its own on a private socket, data
 * root and exec root under one temporary directory (its managed
 * containerd's socket and state go there too), in a network namespace
 * the child makes before the exec, without a bridge or iptables rules.
 * The built-in busybox layer (hcs_default_image_home()) is imported as
 * its image through POST /images/create?fromSrc=-, and the same
 * container as hcsd's (`sleep 100000`, NetworkMode host: the namespace's
 * own, empty network) is created and started in it.
 *
 * dockerd is stopped only through the pid started here: SIGTERM, then a
 * wait; it also gets SIGTERM from the kernel if the bench dies first. What
 * it leaves mounted under the directory is unmounted before the directory
 * is removed. Any failure skips the contender with the reason. */
#include "gateway.h"

#include <hcs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum {
  READY_MS = 60000, /* dockerd answers its ping */
  STOP_MS = 30000,  /* dockerd exits after SIGTERM */
  MAX_MOUNTS = 64,
};

#define DK_API GW_DOCKERD_API
#define DK_IMAGE "hcs-bench-busybox"

/* dockerd on PATH (as root, /usr/sbin is on it), into out. */
static bool find_dockerd(char *out, size_t size) {
  const char *path = getenv("PATH");
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s:/usr/sbin:/usr/bin", path != NULL ? path : "");
  for (char *save = NULL, *d = strtok_r(buf, ":", &save); d != NULL;
       d = strtok_r(NULL, ":", &save)) {
    int n = snprintf(out, size, "%s/dockerd", d);
    if (n > 0 && (size_t)n < size && access(out, X_OK) == 0) {
      return true;
    }
  }
  return false;
}

/* dockerd as a child in a network namespace of its own. */
static int spawn_dockerd(gw_env_t *g, const char *bin) {
  char host[160], data[96], exec_root[96], pidfile[96];
  snprintf(host, sizeof(host), "unix://%s", g->dk.sock);
  snprintf(data, sizeof(data), "%s/data", g->dk.dir);
  snprintf(exec_root, sizeof(exec_root), "%s/exec", g->dk.dir);
  snprintf(pidfile, sizeof(pidfile), "%s/dockerd.pid", g->dk.dir);
  char *argv[] = {(char *)bin,
                  "--host",
                  host,
                  "--data-root",
                  data,
                  "--exec-root",
                  exec_root,
                  "--pidfile",
                  pidfile,
                  "--bridge",
                  "none",
                  "--iptables=false",
                  "--ip6tables=false",
                  "--ip-forward=false",
                  NULL};
  return gw_spawn_daemon(bin, argv, g->dk.log, true, &g->dk.pid);
}

static int wait_ready(gw_env_t *g, const char **why) {
  int status = 0;
  int err = gw_wait_ping(g->dk.sock, &g->dk.pid, READY_MS, &status);
  *why = err == 0         ? NULL
         : err != -ECHILD ? "dockerd did not answer /_ping"
         : WIFEXITED(status) && WEXITSTATUS(status) == GW_EXIT_NETNS
             ? "cannot make a network namespace for dockerd"
             : "dockerd exited before answering";
  return err;
}

/* The busybox layer as a tar file (GNU tar, Debian's essential tar). */
static int make_tar(gw_env_t *g, const char *tar, const char **why) {
  char diff[PATH_MAX];
  snprintf(diff, sizeof(diff), "%s/%s/diff", hcs_default_image_home(),
           HCS_DEFAULT_IMAGE);
  if (access(diff, R_OK) != 0) {
    snprintf(g->why, sizeof(g->why), "no busybox layer at %.120s", diff);
    *why = g->why;
    return -errno;
  }
  char *argv[] = {"tar", "--numeric-owner", "-C", diff,
                  "-cf", (char *)tar,       ".",  NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, "tar", NULL, NULL, argv, environ);
  if (err != 0) {
    *why = "running tar";
    return -err;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *why = "tar of the busybox layer failed";
    return -EIO;
  }
  return 0;
}

/* docker import: the layer's tar as the image DK_IMAGE. */
static int import_image(gw_env_t *g, const char **why) {
  char tar[128];
  snprintf(tar, sizeof(tar), "%s/busybox.tar", g->dk.dir);
  int err = make_tar(g, tar, why);
  if (err != 0) {
    return err;
  }
  int fd = open(tar, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    err = -errno;
    if (fd >= 0) {
      close(fd);
    }
    *why = "opening the busybox tar";
    return err;
  }
  int code = 0;
  char body[1024];
  err = httpc_call_fd(
      g->dk.sock, "POST",
      DK_API "/images/create?fromSrc=-&repo=" DK_IMAGE "&tag=latest",
      "application/x-tar", fd, (size_t)st.st_size, &code, body, sizeof(body));
  close(fd);
  (void)unlink(tar);
  if (err == 0 && (code != 200 || strstr(body, "\"error") != NULL)) {
    snprintf(g->why, sizeof(g->why), "docker import: %d %.100s", code, body);
    *why = g->why;
    return -EPROTO;
  }
  *why = err != 0 ? "docker import" : NULL;
  return err;
}

static int setup(gw_env_t *g, const char **why) {
  char bin[PATH_MAX];
  if (geteuid() != 0) {
    *why = "dockerd needs root";
    return -EPERM;
  }
  if (!find_dockerd(bin, sizeof(bin))) {
    *why = "no dockerd on PATH (Debian's docker.io)";
    return -ENOENT;
  }
  snprintf(g->dk.dir, sizeof(g->dk.dir), "/tmp/hcs-bench-dk-XXXXXX");
  if (mkdtemp(g->dk.dir) == NULL) {
    g->dk.dir[0] = '\0';
    *why = "mkdtemp /tmp/hcs-bench-dk-XXXXXX";
    return -errno;
  }
  snprintf(g->dk.sock, sizeof(g->dk.sock), "%s/docker.sock", g->dk.dir);
  snprintf(g->dk.log, sizeof(g->dk.log), "%s/dockerd.log", g->dk.dir);
  int err = spawn_dockerd(g, bin);
  if (err != 0) {
    *why = "starting dockerd";
    return err;
  }
  if ((err = wait_ready(g, why)) == 0 && (err = import_image(g, why)) == 0) {
    err = gw_start_sleeper(g->dk.sock, DK_API, DK_IMAGE ":latest", g->dk.ctr,
                           sizeof(g->dk.ctr), g->why, sizeof(g->why), why);
  }
  return err;
}

int gw_dockerd_open(gw_env_t *g) {
  const char *why = NULL;
  int err = setup(g, &why);
  if (err == 0) {
    g->up[CT_DOCKERD] = true;
    return 0;
  }
  char tail[96] = "";
  if (g->dk.log[0] != '\0' && (err == -ECHILD || err == -ETIMEDOUT)) {
    gw_log_end(g->dk.log, tail, sizeof(tail));
  }
  snprintf(g->note[CT_DOCKERD], sizeof(g->note[CT_DOCKERD]),
           "%.64s: %.30s%s%.40s; skipped", why != NULL ? why : "dockerd",
           strerror(-err), tail[0] != '\0' ? "; log: " : "", tail);
  gw_dockerd_close(g);
  return err;
}

/* Unmounts what dockerd left under its directory, deepest first (a
 * mount's path is longer than its parent's). */
static void unmount_under(const char *dir) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL) {
    return;
  }
  char *mnt[MAX_MOUNTS];
  size_t n = 0, dl = strlen(dir);
  char line[4096];
  while (n < MAX_MOUNTS && fgets(line, sizeof(line), f) != NULL) {
    char point[PATH_MAX];
    /* proc_pid_mountinfo(5): the mount point is the fifth field. */
    if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 &&
        strncmp(point, dir, dl) == 0 && point[dl] == '/') {
      mnt[n] = strdup(point);
      n += mnt[n] != NULL;
    }
  }
  fclose(f);
  for (size_t i = 1; i < n; i++) {
    for (size_t j = i; j > 0 && strlen(mnt[j]) > strlen(mnt[j - 1]); j--) {
      char *t = mnt[j];
      mnt[j] = mnt[j - 1];
      mnt[j - 1] = t;
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (umount2(mnt[i], MNT_DETACH) != 0) {
      fprintf(stderr, "hcs-bench: umount %s: %s\n", mnt[i], strerror(errno));
    }
    free(mnt[i]);
  }
}

void gw_dockerd_close(gw_env_t *g) {
  if (g->dk.pid > 0 && g->dk.ctr[0] != '\0') {
    gw_remove_ctr(g->dk.sock, DK_API, g->dk.ctr);
  }
  if (g->dk.pid > 0) {
    gw_stop_pid(g->dk.pid, "dockerd", STOP_MS, g->dk.log);
    g->dk.pid = 0;
  }
  if (g->dk.dir[0] != '\0') {
    unmount_under(g->dk.dir);
    bench_rmtree(g->dk.dir);
    g->dk.dir[0] = '\0';
  }
  g->up[CT_DOCKERD] = false;
}
