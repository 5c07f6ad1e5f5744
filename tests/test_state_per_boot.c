/* SPDX-License-Identifier: MIT */
/* hcs_options_t.state_per_boot (what hcs-runc opens its services with):
 * the records of a state directory are written and renamed into place as
 * ever, and read back by the next hcs_open, but nothing is synced to the
 * disk. Each test runs in a process of its own (Criterion's), which a
 * seccomp filter makes fail every fsync and fdatasync with EIO: a service
 * that syncs a record then fails the call, one with state_per_boot does
 * not. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <hcs.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char dummy[] = "{\"SystemType\":\"Container\",\"IsDummy\":true}";

/* From here on this process's fsync and fdatasync fail with EIO. */
static void fail_syncs(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fsync, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fdatasync, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
  cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
  cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0, "%s",
               strerror(errno));
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  cr_assert_geq(fd, 0);
  cr_assert(fsync(fd) != 0 && errno == EIO, "fsync is not failing");
  close(fd);
}

static void state_dir(char *dir, size_t n) {
  snprintf(dir, n, "/tmp/hcs-perboot-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static hcs_t *open_on(const char *dir, bool per_boot) {
  hcs_options_t o = {.size = sizeof(o),
                     .state_dir = dir,
                     .threads = 1,
                     .state_per_boot = per_boot};
  hcs_t *h = NULL;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&h, &o, &err), HCS_OK, "hcs_open: %s",
               hcs_error_message(err));
  return h;
}

static void remove_dir(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

Test(state_per_boot, records_are_kept_without_a_sync) {
  char dir[64], path[128];
  state_dir(dir, sizeof(dir));
  fail_syncs();
  hcs_t *h = open_on(dir, true);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateComputeSystem(h, "pb1", dummy, &err), HCS_OK,
               "create: %s", hcs_error_message(err));
  cr_assert_eq(hcs_StartComputeSystem(h, "pb1", &err), HCS_OK, "start: %s",
               hcs_error_message(err));
  hcs_close(h);
  /* The next service finds the record, which says Running. */
  snprintf(path, sizeof(path), "%s/pb1.json", dir);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0, "no record %s", path);
  h = open_on(dir, true);
  char *props = NULL;
  cr_assert_eq(hcs_InspectComputeSystem(h, "pb1", &props, &err), HCS_OK,
               "inspect: %s", hcs_error_message(err));
  cr_assert(strstr(props, "\"Running\"") != NULL, "%s", props);
  hcs_free(props);
  cr_assert_eq(hcs_TerminateComputeSystem(h, "pb1", 10000, NULL, &err), HCS_OK,
               "terminate: %s", hcs_error_message(err));
  cr_assert_eq(hcs_DeleteComputeSystem(h, "pb1", &err), HCS_OK, "delete: %s",
               hcs_error_message(err));
  cr_assert(stat(path, &st) != 0 && errno == ENOENT,
            "record left after delete");
  hcs_close(h);
  remove_dir(dir);
}

Test(state_per_boot, a_default_service_syncs_its_records) {
  char dir[64];
  state_dir(dir, sizeof(dir));
  fail_syncs();
  hcs_t *h = open_on(dir, false);
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_CreateComputeSystem(h, "pb2", dummy, &err);
  cr_assert_neq(r, HCS_OK, "create succeeded with every fsync failing");
  cr_assert(strstr(hcs_error_message(err), "Input/output error") != NULL, "%s",
            hcs_error_message(err));
  hcs_error_free(err);
  hcs_close(h);
  remove_dir(dir);
}
