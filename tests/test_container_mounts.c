/* SPDX-License-Identifier: MIT */
/* The order of a system's mounts, through the public API as hcsd and
 * hcs-runc give them: /proc, /dev and /sys first, so that a mapping
 * under /dev or /sys (docker run -v /x:/dev/foo) lands on top of them;
 * then MappedDirectories and Tmpfs shallowest first (hcsd, as Docker
 * sorts its mounts), or in increasing Order (hcs-runc: the config's
 * order). Read from the container's /proc/self/mountinfo. */
#include <criterion/criterion.h>
#include <hcs.h>
#include <stdio.h>
#include <string.h>

#include "test_ct_util.h"

TestSuite(container_mounts, .init = ct_setup, .fini = ct_teardown,
          .timeout = 120);

/* The mount points mountinfo lists that are not the container's /proc,
 * /dev and /sys submounts hcs adds (devpts, shm, mqueue, the masked
 * paths), in its order, then the files' text. */
static const char order_script[] =
    "cut -d' ' -f5 /proc/self/mountinfo | "
    "grep -E '^/(proc|dev|sys|a.*|dev/foo|sys/fs/cgroup)$'; "
    "cat /dev/foo /sys/fs/cgroup/mark";

/* extra: the mappings of base/host (a directory with mark) on
 * /sys/fs/cgroup, base/host/mark on /dev/foo, and tmpfs on /a/b and /a,
 * with orders (NULL: none) as ",\"Order\":N" fragments. */
static void mappings(char *extra, size_t n, const char *const order[4]) {
  snprintf(extra, n,
           ",\"MappedDirectories\":["
           "{\"HostPath\":\"%s/host\",\"ContainerPath\":\"/sys/fs/cgroup\""
           "%s},"
           "{\"HostPath\":\"%s/host/mark\",\"ContainerPath\":\"/dev/foo\"%s}],"
           "\"Tmpfs\":[{\"ContainerPath\":\"/a/b\"%s},"
           "{\"ContainerPath\":\"/a\"%s}]",
           base, order[0], base, order[1], order[2], order[3]);
}

static void host_dir(void) {
  char p[512];
  snprintf(p, sizeof(p), "%s/host", base);
  cr_assert_eq(mkdir(p, 0755), 0);
  snprintf(p, sizeof(p), "%s/host/mark", base);
  FILE *f = fopen(p, "we");
  cr_assert_not_null(f);
  fputs("host\n", f);
  cr_assert_eq(fclose(f), 0);
}

/* Starts system id with those mappings and orders, and expects its
 * mount points in the order want (then the two marks). */
static void expect_order(const char *id, const char *const order[4],
                         const char *want) {
  host_dir();
  char extra[2048], text[256];
  mappings(extra, sizeof(extra), order);
  hcs_t *h = open_hcs(NULL);
  start_system(h, id, extra);
  out_t o;
  run_in(h, id, order_script, NULL, &o);
  cr_expect_eq(o.r.exit_code, 0, "%s", o.text);
  snprintf(text, sizeof(text), "/proc\n/dev\n/sys\n%shost\nhost\n", want);
  cr_expect_str_eq(o.text, text);
  stop_system(h, id);
  hcs_close(h);
}

/* No Order (hcsd): shallowest first, a mapping before a tmpfs of its
 * depth; each after /proc, /dev and /sys, so /dev/foo and the bind on
 * /sys/fs/cgroup are seen. */
Test(container_mounts, shallowest_first_after_proc_dev_sys) {
  expect_order("depth", (const char *const[]){"", "", "", ""},
               "/a\n/dev/foo\n/a/b\n/sys/fs/cgroup\n");
}

/* Order (hcs-runc): increasing Order whatever the depth; /a made after
 * /a/b covers it. */
Test(container_mounts, in_increasing_order) {
  expect_order("order",
               (const char *const[]){",\"Order\":4", ",\"Order\":3",
                                     ",\"Order\":1", ",\"Order\":2"},
               "/a/b\n/a\n/dev/foo\n/sys/fs/cgroup\n");
}

/* Order is 1 or more: 0 is refused naming the field. */
Test(container_mounts, order_zero_refused) {
  hcs_t *h = open_hcs(NULL);
  char cfg[1024];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\","
           "\"Tmpfs\":[{\"ContainerPath\":\"/a\",\"Order\":0}]}",
           base);
  hcs_error_t *err = NULL;
  cr_expect_eq(hcs_CreateComputeSystem(h, "bad", cfg, &err), HCS_WSAEINVAL);
  const char *msg = err != NULL ? hcs_error_message(err) : "";
  cr_expect(strstr(msg, "Order") != NULL, "%s", msg);
  hcs_error_free(err);
  hcs_close(h);
}
