/* SPDX-License-Identifier: MIT */
/* A container's namespaces (the hcs extension "Namespaces"): which are
 * new, which are joined by path and which are the host's (ns.c). */
#ifndef HCS_HCS_SYSTEM_NS_H
#define HCS_HCS_SYSTEM_NS_H

#include "hcs/system/config.h"

#include "hcs.h"

#include <stddef.h>
#include <sys/types.h>

/* The namespace types in the order a joining process enters them. */
#define HCS__NS_N 7

/* The CLONE_NEW* of a Namespaces[].Type ("pid", "mount", "uts", "ipc",
 * "network", "cgroup", "user"), or 0. */
unsigned hcs__ns_flag(const char *type);

/* Checks cfg's Namespaces against the rest of it: a known Type at most
 * once, a Path that is absolute, not both Path and Host, and what cannot
 * go with a shared namespace (a network one with HostNetwork or an
 * EndpointList; a uts one with HostName). */
hcs_result_t hcs__ns_check(const hcs__config_t *cfg, const char *object,
                           hcs_error_t **err);

/* What cfg asks: *ns the namespaces the system does not share with the
 * engine (made or joined: what a process entering it joins), *ns_new the
 * ones made for it. */
void hcs__ns_plan(const hcs__config_t *cfg, unsigned *ns, unsigned *ns_new);

/* The namespaces to join by path, opened: fds[k] for the k-th type of
 * the join order, -1 for none. 0, or -errno with why naming the path. */
int hcs__ns_open(const hcs__config_t *cfg, int fds[HCS__NS_N], char *why,
                 size_t n);
void hcs__ns_close(int fds[HCS__NS_N]);

/* In the init child: joins every namespace of fds but pid's (the parent
 * chose it, hcs__ns_pid_enter). 0, or a positive errno with why. */
int hcs__ns_join(const int fds[HCS__NS_N], char *why, size_t n);

/* A new user namespace is made by init's clone, with every other one
 * (owned by it); its maps are written by a mapper, a fork of the engine
 * started before the clone, which init asks over *child_sock
 * (hcs__ns_become_root). 0, or -errno with why. */
int hcs__ns_mapper_start(const hcs__config_t *cfg, int *child_sock,
                         pid_t *mapper, char *why, size_t n);
/* After the clone: closes the socket and reaps the mapper. */
void hcs__ns_mapper_end(int *child_sock, pid_t *mapper);
/* In init, first: with a mapper's socket (sock >= 0), has its maps
 * written and becomes uid and gid 0 of its user namespace (no
 * supplementary groups). 0, or a positive errno with why. */
int hcs__ns_become_root(int sock, char *why, size_t n);

/* Around the clone of init into a pid namespace joined by path: the
 * calling thread's pid_for_children goes there and back (*saved: the
 * thread's own, -1 when fds has no pid namespace). 0 or -errno. */
int hcs__ns_pid_enter(const int fds[HCS__NS_N], int *saved);
void hcs__ns_pid_leave(int saved);

#endif
