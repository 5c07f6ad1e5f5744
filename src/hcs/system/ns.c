/* SPDX-License-Identifier: MIT */
/* A container's namespaces. Each type is made for the system (the
 * default; the user namespace only when the configuration asks), joined
 * by path, or the host's (shared with the engine). */
#include "hcs/system/ns.h"

#include "hcs/api/error.h"
#include "hcs/system/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The join order: the user namespace last, since a process that has
 * entered one holds no capability over the host's namespaces. */
static const struct {
  const char *type;
  unsigned flag;
} kinds[HCS__NS_N] = {
    {"network", CLONE_NEWNET},   {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"cgroup", CLONE_NEWCGROUP}, {"pid", CLONE_NEWPID}, {"mount", CLONE_NEWNS},
    {"user", CLONE_NEWUSER},
};

static int kind_of(const char *type) {
  for (int k = 0; k < HCS__NS_N && type != NULL; k++) {
    if (strcmp(kinds[k].type, type) == 0) {
      return k;
    }
  }
  return -1;
}

unsigned hcs__ns_flag(const char *type) {
  int k = kind_of(type);
  return k < 0 ? 0 : kinds[k].flag;
}

static const char op[] = "hcs::CreateComputeSystem";

hcs_result_t hcs__ns_check(const hcs__config_t *cfg, const char *object,
                           hcs_error_t **err) {
  unsigned seen = 0;
  if (cfg->n_namespaces > 0 && cfg->is_dummy) {
    return hcs__fail(err, HCS_WSAEINVAL, op, object, EINVAL,
                     "Namespaces: not with IsDummy (its processes run on "
                     "the host)");
  }
  for (size_t i = 0; i < cfg->n_namespaces; i++) {
    const hcs__ns_ref_t *r = &cfg->namespaces[i];
    unsigned f = hcs__ns_flag(r->type);
    const char *bad = NULL;
    if (f == 0) {
      bad = "Type: must be pid, mount, uts, ipc, network, cgroup or user";
    } else if (seen & f) {
      bad = "Type: given twice";
    } else if (r->path != NULL && r->host) {
      bad = "Path and Host: one or the other";
    } else if (r->path != NULL && r->path[0] != '/') {
      bad = "Path: must be absolute";
    } else if (f == CLONE_NEWNET && r->host) {
      bad = "Host: the host's network is \"HostNetwork\": true";
    } else if (f == CLONE_NEWNET && cfg->host_network) {
      bad = "not with HostNetwork";
    } else if (f == CLONE_NEWNET && r->path != NULL &&
               cfg->endpoint_list != NULL && cfg->endpoint_list[0] != NULL) {
      bad = "Path: a network namespace joined cannot take an EndpointList";
    } else if (f == CLONE_NEWUTS && r->host && cfg->host_name != NULL) {
      bad = "not with HostName: it would name the host";
    }
    if (bad != NULL) {
      return hcs__fail(err, HCS_WSAEINVAL, op, object, EINVAL,
                       "Namespaces[%zu] (%.16s): %s", i,
                       r->type != NULL ? r->type : "", bad);
    }
    seen |= f;
    if (f == CLONE_NEWUSER && r->path != NULL) {
      bad = "joining a user namespace is not supported";
    }
    if (bad != NULL) {
      return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, op, object, ENOTSUP,
                       "Namespaces[%zu] (%s): %s", i, r->type, bad);
    }
  }
  unsigned ns, made;
  /* Not the cgroup one: nothing hcs mounts needs it (the host's is as
   * runc has it for a user namespace that leaves it out). */
  const unsigned others =
      CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
  hcs__ns_plan(cfg, &ns, &made);
  const char *bad = NULL;
  if ((made & CLONE_NEWUSER) && (cfg->n_uid_map == 0 || cfg->n_gid_map == 0)) {
    bad = "a new user namespace needs UidMap and GidMap";
  } else if ((made & CLONE_NEWUSER) && (made & others) != others) {
    bad = "a new user namespace needs every other namespace new but "
          "cgroup (its /proc, /sys and mounts must be owned by it)";
  }
  if (bad != NULL) {
    return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, op, object, ENOTSUP,
                     "Namespaces (user): %s", bad);
  }
  return HCS_OK;
}

void hcs__ns_plan(const hcs__config_t *cfg, unsigned *ns, unsigned *ns_new) {
  unsigned made = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                  CLONE_NEWCGROUP | (cfg->host_network ? 0 : CLONE_NEWNET);
  unsigned joined = 0;
  for (size_t i = 0; i < cfg->n_namespaces; i++) {
    const hcs__ns_ref_t *r = &cfg->namespaces[i];
    unsigned f = hcs__ns_flag(r->type);
    made &= ~f;
    if (r->path != NULL) {
      joined |= f;
    } else if (!r->host) {
      made |= f;
    }
  }
  *ns = made | joined;
  *ns_new = made;
}

void hcs__ns_close(int fds[HCS__NS_N]) {
  for (int k = 0; k < HCS__NS_N; k++) {
    if (fds[k] >= 0) {
      close(fds[k]);
    }
    fds[k] = -1;
  }
}

int hcs__ns_open(const hcs__config_t *cfg, int fds[HCS__NS_N], char *why,
                 size_t n) {
  for (int k = 0; k < HCS__NS_N; k++) {
    fds[k] = -1;
  }
  for (size_t i = 0; i < cfg->n_namespaces; i++) {
    const hcs__ns_ref_t *r = &cfg->namespaces[i];
    int k = kind_of(r->type);
    if (r->path == NULL || k < 0) {
      continue;
    }
    fds[k] = open(r->path, O_RDONLY | O_CLOEXEC);
    if (fds[k] < 0) {
      int e = errno;
      snprintf(why, n, "Namespaces[%zu].Path: open(%s)", i, r->path);
      hcs__ns_close(fds);
      return -e;
    }
  }
  return 0;
}

int hcs__ns_join(const int fds[HCS__NS_N], char *why, size_t n) {
  for (int k = 0; k < HCS__NS_N; k++) {
    if (fds[k] >= 0 && kinds[k].flag != CLONE_NEWPID &&
        setns(fds[k], (int)kinds[k].flag) != 0) {
      return hcs__setup_fail(why, n, errno,
                             "joining its %s namespace: setns (Namespaces "
                             "names one of another type?)",
                             kinds[k].type);
    }
  }
  return 0;
}

int hcs__ns_pid_enter(const int fds[HCS__NS_N], int *saved) {
  *saved = -1;
  int k = kind_of("pid");
  if (fds[k] < 0) {
    return 0;
  }
  int own = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (own < 0) {
    return -errno;
  }
  if (setns(fds[k], CLONE_NEWPID) != 0) {
    int e = errno;
    close(own);
    return -e;
  }
  *saved = own;
  return 0;
}

void hcs__ns_pid_leave(int saved) {
  if (saved < 0) {
    return;
  }
  /* A thread may always go back to its own active namespace. */
  if (setns(saved, CLONE_NEWPID) != 0) {
    abort();
  }
  close(saved);
}

/* "ContainerID HostID Size" lines of m in text (n bytes): 0 or -E2BIG. */
static int map_text(const hcs__id_map_t *m, size_t nm, char *text, size_t n) {
  size_t len = 0;
  text[0] = '\0';
  for (size_t i = 0; i < nm && len < n; i++) {
    len += (size_t)snprintf(text + len, n - len, "%lld %lld %lld\n",
                            (long long)m[i].container_id,
                            (long long)m[i].host_id, (long long)m[i].size);
  }
  return len < n ? 0 : -E2BIG;
}

static int write_map(pid_t pid, const char *file, const char *text) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  size_t len = strlen(text);
  int ok = write(fd, text, len) == (ssize_t)len;
  close(fd);
  return ok ? 0 : -1;
}

/* The mapper, a fork of the engine (so in the host's user namespace, with
 * CAP_SETUID there, which writing a map for other ids takes): learns
 * init's pid from the credentials the kernel attaches to its message,
 * writes its maps and answers 'k' (or 'e'). */
__attribute__((noreturn)) static void mapper_main(int sock, const char *uids,
                                                  const char *gids) {
  char c = 0, cbuf[CMSG_SPACE(sizeof(struct ucred))];
  struct iovec iov = {&c, 1};
  struct msghdr mh = {.msg_iov = &iov,
                      .msg_iovlen = 1,
                      .msg_control = cbuf,
                      .msg_controllen = sizeof(cbuf)};
  if (recvmsg(sock, &mh, 0) != 1) {
    _exit(1);
  }
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  struct ucred uc;
  char ans = 'e';
  if (cm != NULL && cm->cmsg_type == SCM_CREDENTIALS) {
    memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
    if (write_map(uc.pid, "uid_map", uids) == 0 &&
        write_map(uc.pid, "gid_map", gids) == 0) {
      ans = 'k';
    }
  }
  (void)!write(sock, &ans, 1);
  _exit(0);
}

int hcs__ns_mapper_start(const hcs__config_t *cfg, int *child_sock,
                         pid_t *mapper, char *why, size_t n) {
  char uids[2048], gids[2048];
  if (map_text(cfg->uid_map, cfg->n_uid_map, uids, sizeof(uids)) != 0 ||
      map_text(cfg->gid_map, cfg->n_gid_map, gids, sizeof(gids)) != 0) {
    snprintf(why, n, "UidMap/GidMap: too many entries");
    return -E2BIG;
  }
  int sv[2], on = 1;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
      setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0) {
    snprintf(why, n, "Namespaces (user): socketpair");
    return -errno;
  }
  pid_t pid = fork();
  if (pid == 0) {
    mapper_main(sv[0], uids, gids);
  }
  int e = errno;
  close(sv[0]);
  if (pid < 0) {
    close(sv[1]);
    snprintf(why, n, "Namespaces (user): fork");
    return -e;
  }
  *child_sock = sv[1];
  *mapper = pid;
  return 0;
}

void hcs__ns_mapper_end(int *child_sock, pid_t *mapper) {
  if (*child_sock >= 0) {
    close(*child_sock);
    *child_sock = -1;
  }
  if (*mapper > 0) {
    kill(*mapper, SIGKILL); /* it has answered, or init never asked */
    while (waitpid(*mapper, NULL, 0) < 0 && errno == EINTR) {
    }
    *mapper = 0;
  }
}

int hcs__ns_become_root(int sock, char *why, size_t n) {
  if (sock < 0) {
    return 0;
  }
  char c = 'x';
  if (write(sock, &c, 1) != 1 || read(sock, &c, 1) != 1 || c != 'k') {
    return hcs__setup_fail(why, n, EPERM,
                           "UidMap/GidMap: writing its uid_map and gid_map");
  }
  /* The engine's uid 0 has no name in the namespace: the container's root
   * is the one files made there may belong to. */
  if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0 ||
      setgroups(0, NULL) != 0) {
    return hcs__setup_fail(why, n, errno,
                           "becoming the user namespace's root (UidMap and "
                           "GidMap must map 0)");
  }
  return 0;
}
