/* SPDX-License-Identifier: MIT */
/* docker cp against hcsd with the real docker CLI: files and directories
 * out of and into a running and a stopped container, symlinks resolved
 * inside the container's root (never the host's), dockerd's answer for a
 * path that is not there, and a read-only destination refused. One
 * daemon per test (he_setup), each ending with he_end()'s checks. */
#include "hcsd_e2e.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>

TestSuite(hcsd_cp, .init = he_setup, .fini = he_teardown, .timeout = 240);

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f != NULL, "%s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
}

/* The whole file at path, into out ("" when it cannot be read). */
static void read_file(const char *path, char *out, size_t n) {
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    return;
  }
  size_t got = fread(out, 1, n - 1, f);
  out[got] = '\0';
  fclose(f);
}

static void expect_file(const char *path, const char *want) {
  char got[512];
  read_file(path, got, sizeof(got));
  cr_assert_str_eq(got, want, "%s", path);
}

static void sh_in(const char *ctr, const char *script) {
  he_cmd_t c;
  he_docker_ok(&c, "exec", ctr, "sh", "-c", script);
  he_cmd_free(&c);
}

static void cp_ok(const char *from, const char *to) {
  he_cmd_t c;
  he_docker_ok(&c, "cp", from, to);
  he_cmd_free(&c);
}

Test(hcsd_cp, running_both_ways) {
  char id[128], p[256], q[256], line[256];
  he_cmd_t c;
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "r", "busybox", "sleep",
                 "300");
  sh_in("r", "mkdir -p /d/sub && printf hello > /d/f && "
             "printf deep > /d/sub/g && chmod 640 /d/f");

  /* Out: a file, then a directory with what is in it. */
  snprintf(p, sizeof(p), "%s/f", he.dir);
  cp_ok("r:/d/f", p);
  expect_file(p, "hello");
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0640);
  snprintf(p, sizeof(p), "%s/out", he.dir);
  cp_ok("r:/d", p);
  snprintf(q, sizeof(q), "%s/out/sub/g", he.dir);
  expect_file(q, "deep");
  /* dir/. : what is in it, into an existing directory. */
  snprintf(p, sizeof(p), "%s/dot", he.dir);
  cr_assert_eq(mkdir(p, 0755), 0);
  cp_ok("r:/d/.", p);
  snprintf(q, sizeof(q), "%s/dot/sub/g", he.dir);
  expect_file(q, "deep");
  /* To stdout: a tar holding the file. */
  he_docker_ok(&c, "cp", "r:/d/f", "-");
  cr_assert_gt(c.o.len, 1024);
  cr_assert(memcmp(c.o.p, "f", 2) == 0, "the tar's first name is not f");
  he_cmd_free(&c);

  /* In: a file into a directory, and a directory under a new name. */
  snprintf(p, sizeof(p), "%s/in.txt", he.dir);
  write_file(p, "from host");
  cp_ok(p, "r:/d/");
  snprintf(p, sizeof(p), "%s/indir", he.dir);
  cr_assert_eq(mkdir(p, 0755), 0);
  snprintf(q, sizeof(q), "%s/indir/x", he.dir);
  write_file(q, "xx");
  cp_ok(p, "r:/d/newdir");
  he_docker_line(line, sizeof(line), "exec", "r", "sh", "-c",
                 "cat /d/in.txt; echo");
  cr_assert_str_eq(line, "from host");
  he_docker_ok(&c, "exec", "r", "sh", "-c", "cat /d/newdir/x; echo");
  cr_assert_str_eq(c.o.p, "xx\n");
  he_cmd_free(&c);

  he_docker_fails(1, "Could not find the file /nonexistent in container r",
                  "cp", "r:/nonexistent", he.dir);
  he_docker_ok(&c, "rm", "-f", "r");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_cp, stopped_container) {
  char line[256], p[256];
  he_cmd_t c;
  he_docker_ok(&c, "run", "--name", "s", "busybox", "sh", "-c",
               "cat /in.txt 2>/dev/null; printf made > /made");
  he_cmd_free(&c);
  he_docker_line(line, sizeof(line), "inspect", "-f", "{{.State.Status}}", "s");
  cr_assert_str_eq(line, "exited");
  snprintf(p, sizeof(p), "%s/made", he.dir);
  cp_ok("s:/made", p);
  expect_file(p, "made");
  snprintf(p, sizeof(p), "%s/in.txt", he.dir);
  write_file(p, "put while stopped");
  cp_ok(p, "s:/in.txt");
  he_docker_ok(&c, "start", "-a", "s");
  cr_assert_str_eq(c.o.p, "put while stopped");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "s");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_cp, symlinks_stay_in_the_container) {
  char host[128], script[1024], p[256], q[256];
  /* A file at the same path on the host and in the container: every
   * symlink must lead to the container's. */
  snprintf(host, sizeof(host), "/tmp/hcsd-cp-secret-%d", (int)getpid());
  write_file(host, "HOST");
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "l", "busybox", "sleep",
                 "300");
  snprintf(script, sizeof(script),
           "mkdir -p /tmp && printf CTR > %s && ln -s %s /abs && "
           "ln -s ../../../../../..%s /rel && ln -s /tmp /dl && "
           "ln -s /abs /chain",
           host, host, host);
  sh_in("l", script);

  snprintf(p, sizeof(p), "%s/abs", he.dir);
  he_cmd_t c;
  he_docker_ok(&c, "cp", "-L", "l:/abs", p);
  he_cmd_free(&c);
  expect_file(p, "CTR");
  snprintf(p, sizeof(p), "%s/rel", he.dir);
  he_docker_ok(&c, "cp", "-L", "l:/rel", p);
  he_cmd_free(&c);
  expect_file(p, "CTR");
  snprintf(p, sizeof(p), "%s/chain", he.dir);
  he_docker_ok(&c, "cp", "-L", "l:/chain", p);
  he_cmd_free(&c);
  expect_file(p, "CTR");
  /* A directory symlink in the middle of the path. */
  snprintf(p, sizeof(p), "%s/mid", he.dir);
  snprintf(q, sizeof(q), "l:/dl/%s", host + 5);
  cp_ok(q, p);
  expect_file(p, "CTR");
  /* Without -L the link itself comes out. */
  snprintf(p, sizeof(p), "%s/link", he.dir);
  cp_ok("l:/abs", p);
  char t[256];
  ssize_t n = readlink(p, t, sizeof(t) - 1);
  cr_assert_gt(n, 0);
  t[n] = '\0';
  cr_assert_str_eq(t, host);

  /* Writing through the directory symlink lands in the container's
   * /tmp, not in the host's. */
  snprintf(p, sizeof(p), "%s/hcsd-cp-in-%d", he.dir, (int)getpid());
  write_file(p, "IN");
  cp_ok(p, "l:/dl/");
  snprintf(q, sizeof(q), "/tmp/hcsd-cp-in-%d", (int)getpid());
  cr_assert(access(q, F_OK) != 0, "%s was written on the host", q);
  snprintf(script, sizeof(script), "cat /tmp/hcsd-cp-in-%d", (int)getpid());
  he_docker_ok(&c, "exec", "l", "sh", "-c", script);
  cr_assert_str_eq(c.o.p, "IN");
  he_cmd_free(&c);
  expect_file(host, "HOST");
  unlink(host);
  he_docker_ok(&c, "rm", "-f", "l");
  he_cmd_free(&c);
  he_end();
}

Test(hcsd_cp, read_only_destination) {
  char id[128], p[256];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "ro", "busybox",
                 "sleep", "300");
  snprintf(p, sizeof(p), "%s/f", he.dir);
  write_file(p, "x");
  he_docker_fails(1, "read-only file system", "cp", p, "ro:/sys/");
  he_cmd_t c;
  he_docker_ok(&c, "rm", "-f", "ro");
  he_cmd_free(&c);
  he_end();
}

/* A one-entry tar (type, name, and a link target or file text) into
 * buf: its length. */
static size_t one_entry_tar(char *buf, size_t n, mode_t type, const char *name,
                            const char *arg) {
  struct archive *a = archive_write_new();
  size_t used = 0;
  archive_write_set_format_pax_restricted(a);
  cr_assert_eq(archive_write_open_memory(a, buf, n, &used), ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, 0644);
  if (type == AE_IFLNK) {
    archive_entry_set_symlink(e, arg);
  } else if (type == AE_IFREG && arg != NULL && name[0] == 'h') {
    archive_entry_set_hardlink(e, arg);
  } else if (type == AE_IFREG) {
    archive_entry_set_size(e, (la_int64_t)strlen(arg));
  } else if (type == AE_IFCHR) {
    archive_entry_set_rdev(e, makedev(1, 3));
  }
  cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
  if (type == AE_IFREG && name[0] != 'h') {
    archive_write_data(a, arg, strlen(arg));
  }
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return used;
}

/* `docker cp - ctr:/d` of the tar must fail saying want. */
static void put_refused(const char *tar, size_t len, const char *want) {
  he_cmd_t c;
  he_docker_in(&c, tar, len, "cp", "-", "h:/d");
  he_expect_code(&c, 1);
  he_expect_has(c.e.p, want);
  he_cmd_free(&c);
}

Test(hcsd_cp, hostile_archives_refused) {
  static char tar[65536];
  char id[128];
  he_docker_line(id, sizeof(id), "run", "-d", "--name", "h", "busybox", "sleep",
                 "300");
  sh_in("h", "mkdir -p /d && ln -s / /d/root && ln -s /etc /d/etc");
  put_refused(tar, one_entry_tar(tar, sizeof(tar), AE_IFREG, "../../esc", "x"),
              "outside the destination");
  put_refused(tar, one_entry_tar(tar, sizeof(tar), AE_IFCHR, "mem", NULL),
              "devices and sockets are not copied");
  put_refused(tar,
              one_entry_tar(tar, sizeof(tar), AE_IFREG, "hl", "../etc/passwd"),
              "hard link to outside the destination");
  /* Through a symlink already in the destination: refused, and nothing
   * written in the container's /etc nor the host's. */
  put_refused(
      tar,
      one_entry_tar(tar, sizeof(tar), AE_IFREG, "root/hcsd-cp-evil", "evil"),
      "Not a directory");
  put_refused(
      tar,
      one_entry_tar(tar, sizeof(tar), AE_IFREG, "etc/hcsd-cp-evil", "evil"),
      "Not a directory");
  cr_assert(access("/hcsd-cp-evil", F_OK) != 0);
  cr_assert(access("/etc/hcsd-cp-evil", F_OK) != 0);
  he_cmd_t c;
  he_docker(&c, "exec", "h", "ls", "/etc/hcsd-cp-evil", "/hcsd-cp-evil");
  cr_assert_neq(c.code, 0, "the entry landed through the symlink");
  he_cmd_free(&c);
  /* A plain one goes in. */
  size_t len = one_entry_tar(tar, sizeof(tar), AE_IFREG, "ok", "fine");
  he_docker_in(&c, tar, len, "cp", "-", "h:/d");
  he_expect_code(&c, 0);
  he_cmd_free(&c);
  he_docker_ok(&c, "exec", "h", "cat", "/d/ok");
  cr_assert_str_eq(c.o.p, "fine");
  he_cmd_free(&c);
  he_docker_ok(&c, "rm", "-f", "h");
  he_cmd_free(&c);
  he_end();
}
