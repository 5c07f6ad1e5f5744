/* SPDX-License-Identifier: MIT */
/* The podman contender's environment: Debian's podman 4.3 as its
 * Docker-compatible API service (`podman system service --time=0`),
 * started by the bench as a child of its own in a network namespace of its
 * own, with its storage (--root), run state (--runroot) and temporary
 * files (--tmpdir) under one temporary directory and the cgroupfs manager
 * (no systemd needed). The built-in busybox layer goes in as an image
 * through the compatible POST /images/load (an archive load_img.c makes),
 * and the same container as hcsd's and dockerd's (`sleep 100000`) is
 * created and started in it, with NetworkMode none: loopback only.
 *
 * podman is stopped only through the pid started here, after the
 * container is removed (its conmon lives outside the service): SIGTERM,
 * then a wait. It also gets SIGTERM from the kernel if the bench dies
 * first. What it leaves mounted under the directory is unmounted before
 * the directory is removed. Any failure skips the contender with the
 * reason. */
#include "gateway.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
  READY_MS = 60000, /* the service answers its ping */
  STOP_MS = 30000,  /* it exits after SIGTERM */
};

extern char **environ;

#define PM_API GW_PODMAN_API
#define PM_IMAGE "hcs-bench-busybox:latest"

/* A containers.conf of the run's own: an exec session's conmon stays 5 s
 * after the exec ends, not podman's 300 (which would outlive the run),
 * before it runs podman's cleanup, which removes the session. (At 1 s a
 * loaded machine's GET /exec/{id}/json came after it: 404.) Its
 * environment entry into env. */
static int write_conf(gw_env_t *g, char *env, size_t size) {
  char path[96];
  snprintf(path, sizeof(path), "%s/containers.conf", g->pm.dir);
  FILE *f = fopen(path, "we");
  if (f == NULL) {
    return -errno;
  }
  fputs("[engine]\nexit_command_delay = 5\n", f);
  if (fclose(f) != 0) {
    return -errno;
  }
  snprintf(env, size, "CONTAINERS_CONF=%s", path);
  return 0;
}

/* The service in a network namespace of its own. Its runtime is runc,
 * as dockerd's is: Debian's crun 1.8 refuses the hybrid cgroup layout
 * (v1 controllers and a v2 mount) that hosts like this one have. */
static int spawn_podman(gw_env_t *g, const char *bin, const char *runc) {
  char root[96], runroot[96], tmp[96], sock[160], conf[128];
  int err = write_conf(g, conf, sizeof(conf));
  if (err != 0) {
    return err;
  }
  snprintf(root, sizeof(root), "%s/root", g->pm.dir);
  snprintf(runroot, sizeof(runroot), "%s/run", g->pm.dir);
  snprintf(tmp, sizeof(tmp), "%s/tmp", g->pm.dir);
  snprintf(sock, sizeof(sock), "unix://%s", g->pm.sock);
  char *argv[] = {(char *)bin,
                  "--root",
                  root,
                  "--runroot",
                  runroot,
                  "--tmpdir",
                  tmp,
                  "--runtime",
                  (char *)runc,
                  "--cgroup-manager=cgroupfs",
                  "--events-backend=file",
                  "system",
                  "service",
                  "--time=0",
                  sock,
                  NULL};
  size_t n = 0;
  while (environ[n] != NULL) {
    n++;
  }
  char **env = calloc(n + 2, sizeof(*env));
  if (env == NULL) {
    return -ENOMEM;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(environ[i], "CONTAINERS_CONF=", 16) != 0) {
      env[k++] = environ[i];
    }
  }
  env[k] = conf;
  err = gw_spawn_daemon(bin, argv, env, g->pm.log, GW_NEWNET | GW_NEWNS,
                        &g->pm.pid);
  free(env);
  return err;
}

/* docker load of the busybox layer, as PM_IMAGE. */
static int load_image(gw_env_t *g, const char **why) {
  const char *base = NULL;
  int err = gw_base_tar(g, &base, why);
  if (err != 0) {
    return err;
  }
  char path[128];
  snprintf(path, sizeof(path), "%s/busybox-image.tar", g->pm.dir);
  load_img_t img;
  err = load_img_write(path, base, 0, 0, PM_IMAGE, &img, why);
  if (err == 0) {
    err = load_img_post(g->pm.sock, PM_API, path, g->why, sizeof(g->why));
    *why = err != 0 ? g->why : NULL;
  }
  (void)unlink(path);
  return err;
}

/* The soft and hard values of the line of /proc/<pid>/limits that
 * starts with name; false when it is not there or unlimited. */
static bool read_limit(pid_t pid, const char *name, unsigned long long *soft,
                       unsigned long long *hard) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
  FILE *f = fopen(path, "re");
  bool ok = false;
  size_t n = strlen(name);
  while (f != NULL && !ok && fgets(line, sizeof(line), f) != NULL) {
    ok = strncmp(line, name, n) == 0 &&
         sscanf(line + n, "%llu %llu", soft, hard) == 2;
  }
  if (f != NULL) {
    fclose(f);
  }
  return ok;
}

/* No network; and the open-files and process limits the service itself
 * runs with. podman's defaults for a container (1048576 open files,
 * 4194304 processes for root) are above the hard limits here, and without
 * CAP_SYS_RESOURCE crun cannot raise them: the container would not
 * start. (dockerd's containers get dockerd's limits, as these are.) */
static void host_config(const gw_env_t *g, char *out, size_t size) {
  unsigned long long fs, fh, ps, ph;
  int n = snprintf(out, size, "\"NetworkMode\":\"none\"");
  bool fd = read_limit(g->pm.pid, "Max open files", &fs, &fh);
  bool pr = read_limit(g->pm.pid, "Max processes", &ps, &ph);
  if (n < 0 || (size_t)n >= size || (!fd && !pr)) {
    return;
  }
  char nofile[96] = "", nproc[96] = "";
  if (fd) {
    snprintf(nofile, sizeof(nofile),
             "{\"Name\":\"nofile\",\"Soft\":%llu,\"Hard\":%llu}", fs, fh);
  }
  if (pr) {
    snprintf(nproc, sizeof(nproc),
             "{\"Name\":\"nproc\",\"Soft\":%llu,\"Hard\":%llu}", ps, ph);
  }
  snprintf(out + n, size - (size_t)n, ",\"Ulimits\":[%s%s%s]", nofile,
           fd && pr ? "," : "", nproc);
}

static int setup(gw_env_t *g, const char **why) {
  char bin[PATH_MAX], runc[PATH_MAX];
  if (geteuid() != 0) {
    *why = "podman's service needs root here";
    return -EPERM;
  }
  if (!gw_find_bin("podman", bin, sizeof(bin))) {
    *why = "no podman on PATH (Debian's podman)";
    return -ENOENT;
  }
  if (!gw_find_bin("runc", runc, sizeof(runc))) {
    *why = "no runc on PATH, podman's runtime here (Debian's runc)";
    return -ENOENT;
  }
  int err = gw_daemon_dir(&g->pm, "/tmp/hcs-bench-pm-XXXXXX", "podman");
  if (err != 0) {
    *why = "mkdtemp /tmp/hcs-bench-pm-XXXXXX";
    return err;
  }
  err = spawn_podman(g, bin, runc);
  if (err != 0) {
    *why = "starting podman system service";
    return err;
  }
  if ((err = gw_daemon_ready(g, &g->pm, "podman", READY_MS, why)) == 0) {
    /* It runs: its mount namespace, the family's mark. */
    char ns[64];
    struct stat st;
    snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)g->pm.pid);
    g->pm.mntns = stat(ns, &st) == 0 ? st.st_ino : 0;
  }
  if (err == 0 && (err = load_image(g, why)) == 0) {
    char host[256];
    host_config(g, host, sizeof(host));
    err = gw_start_sleeper(g->pm.sock, PM_API, PM_IMAGE, host, g->pm.ctr,
                           sizeof(g->pm.ctr), g->why, sizeof(g->why), why);
  }
  return err;
}

int gw_podman_open(gw_env_t *g) {
  const char *why = NULL;
  int err = setup(g, &why);
  if (err == 0) {
    g->up[CT_PODMAN] = true;
    return 0;
  }
  gw_daemon_note(g, CT_PODMAN, &g->pm, why, err);
  gw_podman_close(g);
  return err;
}

void gw_podman_close(gw_env_t *g) {
  gw_daemon_close(&g->pm, "podman", PM_API, STOP_MS);
  g->up[CT_PODMAN] = false;
}
