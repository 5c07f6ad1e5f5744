/* SPDX-License-Identifier: MIT */
/* A container's init, in the child (init.c). */
#ifndef HCS_HCS_SYSTEM_INIT_H
#define HCS_HCS_SYSTEM_INIT_H

#include <stddef.h>

/* The child_fn of the init session; arg is the hcs__container_t. Joins
 * the cgroups, makes the cgroup namespace, brings up loopback, builds and
 * enters the root, then closes ready_fd and runs as pid 1 forever. On a
 * failure returns a positive errno with why (n bytes) naming the step and
 * the path. */
int hcs__init_main(void *arg, int ready_fd, char *why, size_t n);

#endif
