/* SPDX-License-Identifier: MIT */
/* Compute systems with isolation: Linux containers. */
#ifndef HCS_HCS_CONTAINER_H
#define HCS_HCS_CONTAINER_H

#include "hcs/system/cgroup.h"
#include "hcs/system/config.h"
#include "hcs/system/ns.h"
#include "hcs/system/seccomp.h"
#include "hcs/system/system.h"

typedef struct hcs__container_s {
  hcs__config_t cfg;
  hcs__cgroup_t cg;
  as_session_t *init; /* pid 1 of the system */
  pid_t init_pid;     /* on the host */
  int init_done;
  char root_mnt[512];   /* where the init child mounts the root */
  int root_fd;          /* mount Host: init's root (O_PATH), which its
                           processes chroot into; else -1 */
  uint64_t oom_seen;    /* OOM kills already blamed on a process */
  char **env;           /* the default environment of its processes */
  int ptmx_fd;          /* O_PATH: its devpts multiplexer, so consoles are
                           its own /dev/pts/N; -1 if missing */
  char ptmx[32];        /* "/proc/self/fd/N" naming ptmx_fd */
  unsigned ns;          /* its namespaces (made or joined): CLONE_NEW* */
  unsigned ns_new;      /* the ones made for it (hcs__ns_plan) */
  int userns_sock;      /* during start, init's to its mapper (ns.h) */
  int life_r, life_w;   /* InitSibling: a pipe, init's end and the
                           engine's; init ends once the engine's closes */
  char vol_fd[32];      /* in init, with a user ns: VolumePath's fd */
  int ns_fd[HCS__NS_N]; /* during start, the ones joined by path */
  uint64_t caps;        /* its processes' capabilities (1 << CAP_*) */
  as_rlimit_t *rlimits; /* its processes' resource limits (Ulimits) */
  uint64_t caps_inh, caps_amb; /* CapInheritable, CapAmbient */
  gid_t groups[64];            /* GroupAdd */
  size_t n_groups;
  size_t n_attached;      /* endpoints of EndpointList moved into its net ns */
  hcs__bpf_t seccomp_own; /* a profile of its configuration's own */
  /* A spawner per engine loop (hcs->nloops entries, NULL before the
   * loop's first exec here): a loop's spawns are clones of its own thread,
   * so loops do not queue on one. Each is used and freed on its loop. */
  as_spawner_t **spawners;
  int spawner_failed;        /* none to be had: each exec joins on its own */
  int seccomp_on_thread;     /* the spawner carries the filter */
  struct sock_fprog seccomp; /* what its processes install; .filter NULL:
                                unconfined */
  char resolv[576];          /* its resolv.conf in the state dir, bound over
                                /etc/resolv.conf; "" without DNS settings */
} hcs__container_t;

/* Builds the cgroups and starts init in new namespaces with the root, the
 * mapped directories, /proc, /dev and the host name in place. */
hcs_result_t hcs__container_start(hcs__system_t *s, hcs_error_t **err);
/* Completes the engine options of a process to run in the container,
 * spawned on engine loop slot: namespaces, cgroups, capabilities,
 * no_new_privs, working directory, environment defaults, user. On failure
 * returns -errno with *why set. */
int hcs__container_exec_opts(hcs__system_t *s, as_spawn_opts_t *o,
                             const char *user, uint32_t slot, const char **why);
/* The cgroup limits cfg asks for (borrowing its strings). */
void hcs__container_limits(const hcs__config_t *cfg, hcs__cgroup_limits_t *lim);
/* Shutdown (SIGTERM to init, which stops everything) or terminate
 * (SIGKILL to init, which takes its namespace down; the cgroup's other
 * members are killed when init's exit is seen, or now if it was seen). */
void hcs__container_signal(hcs__system_t *s, int sig);
/* 1 when an OOM kill happened in the system and is not yet blamed. */
int hcs__container_take_oom(hcs__system_t *s);
void hcs__container_free(hcs__system_t *s);
/* Prepares the parts of a container that live in this process: its
 * configuration, environment, seccomp filter and cgroups (created again
 * or reused). s->ct is set even on failure, for hcs__container_free.
 * 0, or -errno with why (n bytes) naming the field, or the call and the
 * file at fault. */
int hcs__container_prepare(hcs__system_t *s, char *why, size_t n);
/* The done callback of init's session (data: the system): its
 * namespaces died, so the system stops. */
void hcs__container_init_done(as_session_t *is, const as_result_t *r,
                              void *data);
/* Pins the container's devpts multiplexer (ct->ptmx_fd), -1 if missing. */
void hcs__container_open_ptmx(hcs__container_t *ct);

/* netattach.c: moves each endpoint of EndpointList into init's network
 * namespace as eth0, eth1, ...: 0, or -errno with why set. */
int hcs__container_attach(hcs__system_t *s, char *why, size_t n);
/* Gives the endpoints back to the host's side. */
void hcs__container_detach(hcs__system_t *s);
/* modnet.c: a ModifyComputeSystem request (JSON text) of ResourcePath
 * "Network" on running container s (its lock held): an endpoint added or
 * removed (hcs.h). */
hcs_result_t hcs__system_modify_network(hcs__system_t *s, const char *request,
                                        const char *obj, hcs_error_t **err);
/* Writes the DNS settings of the first endpoint that has any to
 * <run>/<id>.resolv.conf (ct->resolv), for init to bind over
 * /etc/resolv.conf. 0 or -errno. */
int hcs__container_resolv_conf(hcs__system_t *s, const char *run);

/* reattach.c: lets go of a running system's init without stopping it
 * (the service is closing and the system's record lets the next one find
 * it again). */
void hcs__container_release(hcs__system_t *s);
/* Adopts the init of a system whose record says Running (else marks it
 * Stopped), or takes down what a start that never finished made (it is
 * Created again); saves the record. The lock of its id held. */
void hcs__system_reattach(hcs__system_t *s);

#endif
