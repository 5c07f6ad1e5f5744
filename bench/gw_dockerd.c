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

/* dockerd as a child in a network namespace of its own, with the extra
 * arguments (NULL-terminated, or NULL) after the bench's own. */
static int spawn_dockerd(gw_daemon_t *d, const char *bin,
                         const char *const *extra) {
  enum { EXTRA_MAX = 16 };
  char host[160], data[96], exec_root[96], pidfile[96];
  snprintf(host, sizeof(host), "unix://%s", d->sock);
  snprintf(data, sizeof(data), "%s/data", d->dir);
  snprintf(exec_root, sizeof(exec_root), "%s/exec", d->dir);
  snprintf(pidfile, sizeof(pidfile), "%s/dockerd.pid", d->dir);
  char *argv[14 + EXTRA_MAX + 1] = {(char *)bin,
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
                                    "--ip-forward=false"};
  for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
    if (i == EXTRA_MAX) {
      return -E2BIG;
    }
    argv[14 + i] = (char *)extra[i];
  }
  return gw_spawn_daemon(bin, argv, NULL, d->log, GW_NEWNET, &d->pid);
}

/* docker import: the layer's tar as the image GW_DOCKERD_IMAGE. */
static int import_image(gw_env_t *g, gw_daemon_t *d, const char **why) {
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
      d->sock, "POST",
      DK_API "/images/create?fromSrc=-&repo=" GW_DOCKERD_IMAGE "&tag=latest",
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

int gw_dockerd_start(gw_env_t *g, gw_daemon_t *d, const char *const *extra,
                     const char **why) {
  char bin[PATH_MAX];
  if (geteuid() != 0) {
    *why = "dockerd needs root";
    return -EPERM;
  }
  if (!gw_find_bin("dockerd", bin, sizeof(bin))) {
    *why = "no dockerd on PATH (Debian's docker.io)";
    return -ENOENT;
  }
  int err = gw_daemon_dir(d, "/tmp/hcs-bench-dk-XXXXXX", "docker");
  if (err != 0) {
    *why = "mkdtemp /tmp/hcs-bench-dk-XXXXXX";
    return err;
  }
  snprintf(d->log, sizeof(d->log), "%s/dockerd.log", d->dir);
  err = spawn_dockerd(d, bin, extra);
  if (err != 0) {
    *why = "starting dockerd";
    return err;
  }
  if ((err = gw_daemon_ready(g, d, "dockerd", READY_MS, why)) == 0) {
    err = import_image(g, d, why);
  }
  return err;
}

static int setup(gw_env_t *g, const char **why) {
  int err = gw_dockerd_start(g, &g->dk, NULL, why);
  if (err == 0) {
    err = gw_start_sleeper(g->dk.sock, DK_API, GW_DOCKERD_IMAGE ":latest",
                           GW_HOST_NET, g->dk.ctr, sizeof(g->dk.ctr), g->why,
                           sizeof(g->why), why);
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
