/* SPDX-License-Identifier: MIT */
/* The root of a compute system, as its init child builds it (rootfs.c). */
#ifndef HCS_HCS_ROOTFS_H
#define HCS_HCS_ROOTFS_H

#include "hcs/system/container.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* In the init child, in the system's new mount namespace, before
 * pivot_root: makes the mounts private, mounts the root at ct->root_mnt
 * (VolumePath bound, or the overlay of Layers; read-only without a
 * sandbox), then in this order /proc, /dev (with pts, shm and mqueue),
 * a read-only /sys, MappedDirectories and Tmpfs (in increasing
 * Order, then shallowest first), binds ct->resolv over /etc/resolv.conf and
 * sets HostName. 0, or -errno with why naming the step and the path. */
int hcs__rootfs_build(const hcs__container_t *ct, char *why, size_t n);
/* Whether the system shares the host's mount namespace (Namespaces:
 * mount Host): its root is then built there under a private bind of
 * root_mnt and entered by chroot, and its processes chroot into it. */
int hcs__rootfs_host_mounts(const hcs__container_t *ct);
/* In the host's mount namespace, once the system has ended: every mount
 * of its root, under root_mnt (none: nothing happens). */
void hcs__rootfs_unmount(const char *root_mnt);
/* Then: pivot_root into it and Docker's masked and read-only paths. 0,
 * or -errno with why set. */
int hcs__rootfs_enter(const hcs__container_t *ct, char *why, size_t n);
/* The options of a "Tmpfs" mapping (comma-separated, a later one wins):
 * *flags gets MS_NOSUID|MS_NODEV always, MS_NOEXEC for noexec (exec
 * clears it), MS_RDONLY for ro (rw clears it); data (n bytes) the
 * options the kernel reads: size=, mode= (octal), uid=, gid=, nr_inodes=.
 * private and rprivate are what every mount of a system is already;
 * shared, slave, unbindable (r-prefixed: recursive) put MS_SHARED etc.
 * (with MS_REC) in *flags, for a mount(2) of their own after the tmpfs.
 * 0, or -EINVAL with the first other option in bad (bn bytes). */
int hcs__tmpfs_options(const char *opts, unsigned long *flags, char *data,
                       size_t n, char *bad, size_t bn);
/* The options of a "MappedDirectories" entry (comma-separated, a later
 * one wins), for mount_setattr(2) on the bind and every mount below it:
 * ro/rw, nosuid/suid, nodev/dev, noexec/exec, relatime, noatime,
 * strictatime, nodiratime/diratime; and its propagation, by a mount(2) of
 * its own: private, shared, slave, unbindable, each also r-prefixed
 * (recursive). bind: the directory's own mount alone, not the mounts
 * under it (rbind, the default, binds them too). A key=value option (mode=755,
 * size=1k: a filesystem's data) goes, in the order given, into data: the data
 * argument of the bind's mount(2), as runc hands it (the kernel reads none of
 * it for a bind). read_only (ReadOnly) counts as an ro before them. 0, or
 * -EINVAL with the first other option in bad (bn bytes). */
typedef struct hcs__bind_opts_s {
  uint64_t set, clr;         /* MOUNT_ATTR_* */
  unsigned long propagation; /* MS_SHARED etc., with MS_REC; 0: none */
  char data[1024];           /* "" for none */
  bool not_rec;              /* "bind": no MS_REC */
} hcs__bind_opts_t;
int hcs__bind_options(const char *opts, bool read_only, hcs__bind_opts_t *o,
                      char *bad, size_t bn);
/* Writes the sentence fmt into why (n bytes) and returns err as a
 * positive errno (err may be given either way). */
__attribute__((format(printf, 4, 5))) int
hcs__setup_fail(char *why, size_t n, int err, const char *fmt, ...);

#endif
