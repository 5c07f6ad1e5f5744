/* SPDX-License-Identifier: MIT */
/* A container's namespaces. Each type is made for the system (the
 * default; the user namespace only when the configuration asks), joined
 * by path, or the host's (shared with the engine). */
#include "hcs/system/ns.h"

#include "hcs/api/error.h"
#include "hcs/system/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    if (f == CLONE_NEWNS && r->host) {
      bad = "hcs builds the system's root in a mount namespace of its own";
    } else if (f == CLONE_NEWUSER && r->path != NULL) {
      bad = "joining a user namespace is not supported";
    } else if (f == CLONE_NEWUSER && !r->host) {
      bad = "a new user namespace is not supported";
    }
    if (bad != NULL) {
      return hcs__fail(err, HCS_ERROR_NOT_SUPPORTED, op, object, ENOTSUP,
                       "Namespaces[%zu] (%s): %s", i, r->type, bad);
    }
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
