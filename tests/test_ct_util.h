/* SPDX-License-Identifier: MIT */
/* Shared by the container suites (tests/test_container.c,
 * test_isolation.c): a busybox root per test under a scratch directory, a
 * service, systems started on that root, and `sh -c` run inside them.
 * Every function is static: each suite is its own program. */
#ifndef HCS_TESTS_CT_UTIL_H
#define HCS_TESTS_CT_UTIL_H

/* Paths here are built from a short mkdtemp base; gcc cannot see that. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <hcs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CT_UNUSED __attribute__((unused))

static char base[256]; /* a scratch directory per test */

CT_UNUSED static const char *const applets[] = {
    "sh",   "ls",    "cat",   "echo", "hostname", "ps", "touch",
    "id",   "grep",  "sleep", "seq",  "wc",       "tr", "head",
    "true", "mkdir", "rm",    "kill", "dd",       "ln", NULL};

CT_UNUSED static void need_root(void) {
  if (geteuid() != 0) {
    cr_skip_test("compute systems with isolation need root");
  }
}

CT_UNUSED static void copy_file(const char *from, const char *to, mode_t mode) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  cr_assert_geq(in, 0, "open %s: %s", from, strerror(errno));
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  cr_assert_geq(out, 0, "create %s: %s", to, strerror(errno));
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof(buf))) > 0) {
    cr_assert_eq(write(out, buf, (size_t)n), n);
  }
  close(in);
  close(out);
}

CT_UNUSED static void put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cr_assert_geq(fd, 0, "create %s", path);
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* base/root: busybox and its applets, /etc/passwd and group, the fd
 * lister helper. */
CT_UNUSED static void make_root(const char *root) {
  char p[1024], q[1024];
  mkdir(root, 0755);
  snprintf(p, sizeof(p), "%s/bin", root);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/etc", root);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/tmp", root);
  mkdir(p, 01777);
  snprintf(p, sizeof(p), "%s/bin/busybox", root);
  copy_file("/bin/busybox", p, 0755);
  snprintf(p, sizeof(p), "%s/bin/fdlist", root);
  copy_file(HCS_TEST_HELPERS_DIR "/fdlist", p, 0755);
  for (const char *const *a = applets; *a != NULL; a++) {
    snprintf(q, sizeof(q), "%s/bin/%s", root, *a);
    cr_assert_eq(symlink("busybox", q), 0);
  }
  snprintf(p, sizeof(p), "%s/etc/passwd", root);
  put(p, "root:x:0:0:root:/:/bin/sh\nuser:x:1000:1000::/:/bin/sh\n");
  snprintf(p, sizeof(p), "%s/etc/group", root);
  put(p, "root:x:0:\nusers:x:1000:\n");
}

CT_UNUSED static void ct_setup(void) {
  need_root();
  snprintf(base, sizeof(base), "/tmp/hcs-ct-XXXXXX");
  cr_assert_not_null(mkdtemp(base));
  char root[1024];
  snprintf(root, sizeof(root), "%s/root", base);
  make_root(root);
}

CT_UNUSED static void ct_teardown(void) {
  if (base[0] != '\0') {
    char cmd[1200];
    /* Mount points live only in the systems' namespaces, gone by now. */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    (void)system(cmd);
  }
}

CT_UNUSED static hcs_t *open_hcs(const char *state_dir) {
  hcs_t *h;
  hcs_options_t o = {.state_dir = state_dir};
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_open(&h, &o, &err), HCS_OK, "%s",
               err ? hcs_error_message(err) : "");
  return h;
}

/* Creates and starts system id on base/root with extra configuration
 * fields (a JSON fragment starting with a comma, or ""). */
CT_UNUSED static void start_system(hcs_t *h, const char *id,
                                   const char *extra) {
  char cfg[8192];
  snprintf(cfg, sizeof(cfg),
           "{\"SystemType\":\"Container\",\"VolumePath\":\"%s/root\","
           "\"HostName\":\"box-%s\"%s}",
           base, id, extra);
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateComputeSystem(h, id, cfg, &err), HCS_OK, "%s",
               err ? hcs_error_message(err) : "");
  cr_assert_eq(hcs_StartComputeSystem(h, id, &err), HCS_OK, "%s",
               err ? hcs_error_message(err) : "");
}

typedef struct out_s {
  char text[16384];
  hcs_process_result_t r;
  uint32_t pid;
} out_t;

/* Runs `sh -c cmd` in the system, collecting stdout and stderr. */
CT_UNUSED static void run_in(hcs_t *h, const char *id, const char *cmd,
                             const char *user, out_t *o) {
  const char *args[] = {"sh", "-c", cmd, NULL};
  hcs_process_params_t pp;
  memset(&pp, 0, sizeof(pp));
  pp.args = args;
  pp.user = user;
  int out = -1, errfd = -1;
  hcs_error_t *err = NULL;
  cr_assert_eq(hcs_CreateProcessInComputeSystem(h, id, false, true, true, &pp,
                                                &o->pid, NULL, &out, &errfd,
                                                &err),
               HCS_OK, "%s", err ? hcs_error_message(err) : "");
  size_t got = 0;
  for (int fd = out; fd >= 0; fd = fd == out ? errfd : -1) {
    ssize_t n;
    while ((n = read(fd, o->text + got, sizeof(o->text) - 1 - got)) > 0) {
      got += (size_t)n;
    }
    close(fd);
  }
  o->text[got] = '\0';
  cr_assert_eq(hcs_WaitForProcessResult(h, id, o->pid, 60000, &o->r, &err),
               HCS_OK, "%s", err ? hcs_error_message(err) : "");
}

CT_UNUSED static void stop_system(hcs_t *h, const char *id) {
  cr_assert_eq(hcs_TerminateComputeSystem(h, id, 10000, NULL, NULL), HCS_OK);
  cr_assert_eq(hcs_DeleteComputeSystem(h, id, NULL), HCS_OK);
}

#endif
