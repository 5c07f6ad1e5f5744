/* SPDX-License-Identifier: MIT */
/* The device rules of compute systems (src/hcs/devices.c) as the kernel
 * applies them: the v2 BPF device program attached to a cgroup of a
 * cgroup2 hierarchy this test mounts, with a real process in it opening
 * real device nodes. (The v1 rules are exercised by test_isolation on a
 * v1 host.) */
#include "hcs/system/devices.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static char cg2[128];
static char grp[192];
static int mounted;

static void setup(void) {
  if (geteuid() != 0) {
    cr_skip_test("device programs need root");
  }
  snprintf(dir, sizeof(dir), "/tmp/hcs-dev-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(cg2, sizeof(cg2), "%s/cg2", dir);
  cr_assert_eq(mkdir(cg2, 0755), 0);
}

static void teardown(void) {
  if (grp[0] != '\0') {
    (void)rmdir(grp);
  }
  if (mounted) {
    (void)umount2(cg2, MNT_DETACH);
  }
  if (dir[0] != '\0') {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)system(cmd);
  }
}

TestSuite(devices, .init = setup, .fini = teardown, .timeout = 60);

/* In a child placed in the group: which of the nodes open (a bit each). */
static int probe_in_group(const char *procs, const char *const *nodes) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) {
      _exit(255);
    }
    close(fd);
    int bits = 0;
    for (int i = 0; nodes[i] != NULL; i++) {
      int f = open(nodes[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (f >= 0) {
        bits |= 1 << i;
        close(f);
      } else if (errno != EPERM) {
        bits |= 1 << (8 + i); /* failed, but not by the program */
      }
    }
    _exit(bits);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st));
  return WEXITSTATUS(st);
}

Test(devices, v2_program_allows_the_list_only) {
  if (mount("cgroup2", cg2, "cgroup2", 0, NULL) != 0) {
    cr_skip_test("no cgroup2 here: %s", strerror(errno));
  }
  mounted = 1;
  snprintf(grp, sizeof(grp), "%s/g", cg2);
  cr_assert_eq(mkdir(grp, 0755), 0);
  char console[128], mem[128], null[128], tun[128];
  snprintf(console, sizeof(console), "%s/console", dir);
  snprintf(mem, sizeof(mem), "%s/mem", dir);
  snprintf(null, sizeof(null), "%s/null", dir);
  snprintf(tun, sizeof(tun), "%s/zero", dir);
  cr_assert_eq(mknod(console, S_IFCHR | 0600, makedev(5, 1)), 0);
  cr_assert_eq(mknod(mem, S_IFCHR | 0600, makedev(1, 11)), 0); /* kmsg */
  cr_assert_eq(mknod(null, S_IFCHR | 0666, makedev(1, 3)), 0);
  cr_assert_eq(mknod(tun, S_IFCHR | 0666, makedev(1, 5)), 0);
  const char *const nodes[] = {null, tun, console, mem, NULL};
  char procs[256];
  snprintf(procs, sizeof(procs), "%s/cgroup.procs", grp);
  /* Before: the host's rules, which open all four (the probe is real). */
  int before = probe_in_group(procs, nodes);
  cr_assert_eq(before & 0xf, 0xf, "0x%x", before);
  int fd = open(grp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cr_assert_geq(fd, 0);
  int err = hcs__devices_v2_attach(fd);
  cr_assert_eq(err, 0, "%s", strerror(-err));
  /* Again, as for a group found again after a restart: still one. */
  cr_assert_eq(hcs__devices_v2_attach(fd), 0);
  union bpf_attr q;
  memset(&q, 0, sizeof(q));
  q.query.target_fd = (uint32_t)fd;
  q.query.attach_type = BPF_CGROUP_DEVICE;
  cr_assert_eq(syscall(SYS_bpf, BPF_PROG_QUERY, &q, sizeof(q)), 0, "%s",
               strerror(errno));
  cr_assert_eq(q.query.prog_cnt, 1);
  close(fd);
  int after = probe_in_group(procs, nodes);
  cr_assert_eq(after, 0x3, "null and zero open, console and kmsg not: 0x%x",
               after);
}
