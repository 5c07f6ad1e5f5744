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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
  READY_MS = 60000, /* dockerd answers its ping */
  STOP_MS = 30000,  /* dockerd exits after SIGTERM */
};

#define DK_API GW_DOCKERD_API
#define DK_IMAGE "hcs-bench-busybox"

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
  return gw_spawn_daemon(bin, argv, NULL, g->dk.log, GW_NEWNET, &g->dk.pid);
}

/* docker import: the layer's tar as the image DK_IMAGE. */
static int import_image(gw_env_t *g, const char **why) {
  const char *tar = NULL;
  int err = gw_base_tar(g, &tar, why);
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
  if (!gw_find_bin("dockerd", bin, sizeof(bin))) {
    *why = "no dockerd on PATH (Debian's docker.io)";
    return -ENOENT;
  }
  int err = gw_daemon_dir(&g->dk, "/tmp/hcs-bench-dk-XXXXXX", "docker");
  if (err != 0) {
    *why = "mkdtemp /tmp/hcs-bench-dk-XXXXXX";
    return err;
  }
  snprintf(g->dk.log, sizeof(g->dk.log), "%s/dockerd.log", g->dk.dir);
  err = spawn_dockerd(g, bin);
  if (err != 0) {
    *why = "starting dockerd";
    return err;
  }
  if ((err = gw_daemon_ready(g, &g->dk, "dockerd", READY_MS, why)) == 0 &&
      (err = import_image(g, why)) == 0) {
    err = gw_start_sleeper(g->dk.sock, DK_API, DK_IMAGE ":latest", GW_HOST_NET,
                           g->dk.ctr, sizeof(g->dk.ctr), g->why, sizeof(g->why),
                           why);
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
  gw_daemon_note(g, CT_DOCKERD, &g->dk, why, err);
  gw_dockerd_close(g);
  return err;
}

void gw_dockerd_close(gw_env_t *g) {
  gw_daemon_close(&g->dk, "dockerd", DK_API, STOP_MS);
  g->up[CT_DOCKERD] = false;
}
