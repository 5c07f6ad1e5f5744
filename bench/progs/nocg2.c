/* SPDX-License-Identifier: MIT */
/* nocg2: the interpreter of the one-line script through which the runtime
 * scenarios hand crun to dockerd on a hybrid cgroup host,
 *
 *   #!<progs>/nocg2 /usr/bin/crun
 *
 * so that the kernel runs `nocg2 /usr/bin/crun SCRIPT ARGS...` for every
 * call the shim makes. It enters a mount namespace of its own, in which
 * /sys/fs/cgroup/unified is not mounted, and execs the runtime with ARGS:
 * crun 1.8.1 refuses a cgroup2 hierarchy with controllers beside the v1
 * ones ("cgroups in hybrid mode not supported", libcrun cgroup.c), and
 * without it sees the plain v1 layout runc uses there. Every call finds
 * the same v1 cgroups and the same state under --root again, both on the
 * host's file systems. The namespace is a slave of the host's, so the
 * unmount does not propagate back; it ends with the runtime's process
 * (the container has a mount namespace of its own).
 *
 * Static and small: it runs before each of the runtime's calls, and its
 * cost (about a millisecond here) counts in crun's figures. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3 || argv[1][0] != '/') {
    fprintf(stderr, "usage: as a script's interpreter: "
                    "#!nocg2 /absolute/path/of/the/runtime\n");
    return 125;
  }
  const char *what = "unshare(CLONE_NEWNS)";
  if (unshare(CLONE_NEWNS) == 0) {
    what = "making / a slave mount";
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0) {
      what = "umount /sys/fs/cgroup/unified";
      /* EINVAL: not a mount point here, nothing to hide. */
      if (umount2("/sys/fs/cgroup/unified", MNT_DETACH) == 0 ||
          errno == EINVAL || errno == ENOENT) {
        what = NULL;
      }
    }
  }
  if (what != NULL) {
    fprintf(stderr, "nocg2: %s: %s\n", what, strerror(errno));
    return 125;
  }
  /* The script's path in argv[2] gives way to the runtime's. */
  argv[2] = argv[1];
  execv(argv[1], &argv[2]);
  fprintf(stderr, "nocg2: exec %s: %s\n", argv[1], strerror(errno));
  return 127;
}
