/* SPDX-License-Identifier: MIT */
/* The devices a compute system's processes may open: one list, applied as
 * a v1 devices cgroup or as a v2 BPF device program. */
#ifndef HCS_HCS_DEVICES_H
#define HCS_HCS_DEVICES_H

#include <stddef.h>

/* v1: the i-th line to write to devices.allow (after "a" to devices.deny)
 * in buf; 0 past the last. */
int hcs__devices_v1_rule(size_t i, char *buf, size_t n);
/* v2: loads a BPF_PROG_TYPE_CGROUP_DEVICE program that allows the list and
 * attaches it to the cgroup v2 directory open at dirfd (the cgroup keeps
 * it; no fd stays open). 0 or -errno (-EPERM without CAP_SYS_ADMIN and
 * CAP_BPF, -EINVAL where the kernel has no device programs). */
int hcs__devices_v2_attach(int dirfd);

#endif
