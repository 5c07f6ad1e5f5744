/* SPDX-License-Identifier: MIT */
/* What the Docker-API daemons the bench starts besides hcsd (dockerd,
 * podman) have in common: a temporary directory holding all they keep,
 * the wait for their ping, the note that says why one was skipped, and
 * the way down: the container removed, SIGTERM to the pid the bench
 * started, what they left mounted under the directory unmounted, the
 * directory removed. */
#include "gateway.h"

#include <hcs.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum {
  MAX_MOUNTS = 256,
  SETTLE_MS = 100,      /* between two tries at removing a daemon's dir */
  SETTLE_MAX_MS = 5000, /* and at most this long */
  FAMILY_MS = 15000     /* the daemon's family ends after it stops */
};

bool gw_slow(contender_t ct) { return ct == CT_DOCKERD || ct == CT_PODMAN; }

void gw_slow_caps(contender_t ct, uint64_t *n, uint64_t *stream_n,
                  uint64_t *max_c) {
  bool pm = ct == CT_PODMAN;
  *n = pm ? GW_PODMAN_N : GW_DOCKERD_N;
  *stream_n = pm ? GW_PODMAN_STREAM_N : GW_DOCKERD_STREAM_N;
  *max_c = pm ? GW_PODMAN_MAX_C : GW_DOCKERD_MAX_C;
}

bool gw_find_bin(const char *name, char *out, size_t size) {
  const char *path = getenv("PATH");
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s:/usr/sbin:/usr/bin", path != NULL ? path : "");
  for (char *save = NULL, *d = strtok_r(buf, ":", &save); d != NULL;
       d = strtok_r(NULL, ":", &save)) {
    int n = snprintf(out, size, "%s/%s", d, name);
    if (n > 0 && (size_t)n < size && access(out, X_OK) == 0) {
      return true;
    }
  }
  return false;
}

int gw_daemon_dir(gw_daemon_t *d, const char *tmpl, const char *name) {
  snprintf(d->dir, sizeof(d->dir), "%s", tmpl);
  if (mkdtemp(d->dir) == NULL) {
    d->dir[0] = '\0';
    return -errno;
  }
  snprintf(d->sock, sizeof(d->sock), "%s/%s.sock", d->dir, name);
  snprintf(d->log, sizeof(d->log), "%s/%s.log", d->dir, name);
  return 0;
}

int gw_daemon_ready(gw_env_t *g, gw_daemon_t *d, const char *name, long ms,
                    const char **why) {
  int status = 0;
  int err = gw_wait_ping(d->sock, &d->pid, ms, &status);
  if (err == 0) {
    *why = NULL;
    return 0;
  }
  snprintf(g->why, sizeof(g->why), "%s %s", name,
           err != -ECHILD ? "did not answer /_ping"
           : WIFEXITED(status) && WEXITSTATUS(status) == GW_EXIT_NETNS
               ? "could not have a network namespace"
               : "exited before answering");
  *why = g->why;
  return err;
}

void gw_daemon_note(gw_env_t *g, contender_t ct, gw_daemon_t *d,
                    const char *why, int err) {
  char tail[96] = "";
  if (d->log[0] != '\0' && (err == -ECHILD || err == -ETIMEDOUT)) {
    gw_log_end(d->log, tail, sizeof(tail));
  }
  /* The log's last words: its end, as much as the note holds. */
  size_t tl = strlen(tail);
  const char *end = tail + (tl > 48 ? tl - 48 : 0);
  snprintf(g->note[ct], sizeof(g->note[ct]), "%.63s: %.30s%s%.48s; skipped",
           why != NULL ? why : bench_ct_name(ct), strerror(-err),
           tail[0] != '\0' ? "; log: " : "", end);
}

/* Unmounts what a daemon left under its directory, deepest first (a
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

static int rm_quiet(const char *path, const struct stat *st, int type,
                    struct FTW *ftw) {
  (void)st;
  (void)ftw;
  (void)(type == FTW_DP ? rmdir(path) : unlink(path));
  return 0;
}

/* Waits up to ms for every process in the mount namespace d->mntns (the
 * daemon's family: conmon and the cleanups it runs) to end. Reads /proc;
 * signals nothing. */
static void wait_family(const gw_daemon_t *d, long ms) {
  for (long waited = 0; d->mntns != 0; waited += SETTLE_MS) {
    DIR *p = opendir("/proc");
    bool any = false;
    struct dirent *e;
    while (p != NULL && !any && (e = readdir(p)) != NULL) {
      char path[300];
      struct stat st;
      if (e->d_name[0] < '1' || e->d_name[0] > '9') {
        continue;
      }
      snprintf(path, sizeof(path), "/proc/%s/ns/mnt", e->d_name);
      any = stat(path, &st) == 0 && st.st_ino == d->mntns;
    }
    if (p != NULL) {
      closedir(p);
    }
    if (!any) {
      return;
    }
    if (waited >= ms) {
      fprintf(stderr,
              "hcs-bench: processes of the daemon's family still run %ld ms "
              "after it stopped; its directory may stay\n",
              ms);
      return;
    }
    gw_nap_ms(SETTLE_MS);
  }
}

void gw_daemon_close(gw_daemon_t *d, const char *name, const char *api,
                     long stop_ms) {
  if (d->pid > 0 && d->ctr[0] != '\0') {
    gw_remove_ctr(d->sock, api, d->ctr);
  }
  d->ctr[0] = '\0';
  if (d->pid > 0) {
    gw_stop_pid(d->pid, name, stop_ms, d->log);
    d->pid = 0;
    wait_family(d, FAMILY_MS);
  }
  d->mntns = 0;
  /* A process the daemon left (podman's container cleanup, run by conmon
   * when the container goes) may still write there for a moment. */
  for (long waited = 0; d->dir[0] != '\0'; waited += SETTLE_MS) {
    unmount_under(d->dir);
    if (waited + SETTLE_MS >= SETTLE_MAX_MS) {
      bench_rmtree(d->dir); /* the last try says what stays */
    } else {
      (void)nftw(d->dir, rm_quiet, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    }
    if (access(d->dir, F_OK) != 0 || waited + SETTLE_MS >= SETTLE_MAX_MS) {
      d->dir[0] = '\0';
    } else {
      gw_nap_ms(SETTLE_MS);
    }
  }
}

/* GNU tar (Debian's essential tar) of the layer's diff directory. */
static int busybox_tar(gw_env_t *g, const char *tar, const char **why) {
  char diff[PATH_MAX];
  snprintf(diff, sizeof(diff), "%s/%s/diff", hcs_default_image_home(),
           HCS_DEFAULT_IMAGE);
  if (access(diff, R_OK) != 0) {
    int err = -errno;
    snprintf(g->why, sizeof(g->why), "no busybox layer at %.120s", diff);
    *why = g->why;
    return err;
  }
  /* Fixed owners, times and order: the same bytes (the same diff_id)
   * every time. */
  char *argv[] = {"tar",         "--numeric-owner", "--owner=0", "--group=0",
                  "--sort=name", "--mtime=@0",      "-C",        diff,
                  "-cf",         (char *)tar,       ".",         NULL};
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

int gw_base_tar(gw_env_t *g, const char **path, const char **why) {
  if (g->base_tar[0] == '\0') {
    char tmp[sizeof(g->base_tar)] = "/tmp/hcs-bench-base-XXXXXX.tar";
    int fd = mkstemps(tmp, 4);
    if (fd < 0) {
      *why = "mkstemps /tmp/hcs-bench-base-XXXXXX.tar";
      return -errno;
    }
    close(fd);
    int err = busybox_tar(g, tmp, why);
    if (err != 0) {
      (void)unlink(tmp);
      return err;
    }
    memcpy(g->base_tar, tmp, sizeof(tmp));
  }
  *path = g->base_tar;
  return 0;
}
