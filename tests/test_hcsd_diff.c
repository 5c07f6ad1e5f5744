/* SPDX-License-Identifier: MIT */
/* hcsd end to end: docker diff and docker export through the docker CLI.
 * The changes are those dockerd 20.10 lists for the same commands (kinds
 * A, C, D, a changed parent with each addition or deletion, nothing for
 * the mount points hcsd makes); the export is the container's merged root
 * as a tar, its symlinks kept as links and never followed. */
#include "hcsd/util.h"
#include "hcsd_e2e.h"

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>

TestSuite(hcsd_diff, .init = he_setup, .fini = he_teardown, .timeout = 300);

/* The lines of s sorted, into out (dockerd lists a directory's entries in
 * no fixed order). */
static void sorted_lines(const char *s, char *out, size_t n) {
  char *copy = strdup(s);
  cr_assert_not_null(copy);
  char *lines[256];
  size_t k = 0;
  for (char *save = NULL, *t = strtok_r(copy, "\n", &save);
       t != NULL && k < 256; t = strtok_r(NULL, "\n", &save)) {
    lines[k++] = t;
  }
  for (size_t i = 1; i < k; i++) {
    for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
      char *x = lines[j];
      lines[j] = lines[j - 1];
      lines[j - 1] = x;
    }
  }
  size_t w = 0;
  out[0] = '\0';
  for (size_t i = 0; i < k; i++) {
    w += (size_t)snprintf(out + w, n - w, "%s\n", lines[i]);
  }
  free(copy);
}

static void expect_diff(const char *ctr, const char *want) {
  he_cmd_t c;
  he_docker_ok(&c, "diff", ctr);
  char got[4096];
  sorted_lines(c.o.p, got, sizeof(got));
  cr_assert_str_eq(got, want, "docker diff %s", ctr);
  he_cmd_free(&c);
}

/* A tar's entries: "name type size [target|data]" lines, in its order. */
static void tar_list(const char *path, th_buf_t *out) {
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  cr_assert_eq(archive_read_open_filename(a, path, 65536), ARCHIVE_OK, "%s",
               archive_error_string(a));
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    const char *name = archive_entry_pathname(e);
    cr_assert(name[0] != '/' && strstr(name, "..") == NULL, "entry %s", name);
    char line[512], data[64] = "";
    mode_t t = archive_entry_filetype(e);
    if (archive_entry_hardlink(e) != NULL) {
      snprintf(line, sizeof(line), "%s h %lld %s\n", name,
               (long long)archive_entry_size(e), archive_entry_hardlink(e));
      th_buf_add(out, line, strlen(line));
      continue;
    }
    la_int64_t size = archive_entry_size(e);
    if (t == AE_IFREG && size < (la_int64_t)sizeof(data)) {
      la_ssize_t n = archive_read_data(a, data, sizeof(data) - 1);
      data[n > 0 ? n : 0] = '\0';
    }
    snprintf(line, sizeof(line), "%s %c %lld %s\n", name,
             t == AE_IFDIR   ? 'd'
             : t == AE_IFLNK ? 'l'
             : t == AE_IFREG ? 'f'
                             : 'o',
             (long long)size, t == AE_IFLNK ? archive_entry_symlink(e) : data);
    th_buf_add(out, line, strlen(line));
  }
  cr_assert_eq(r, ARCHIVE_EOF, "%s", archive_error_string(a));
  th_buf_add(out, "", 0);
  archive_read_free(a);
}

Test(hcsd_diff, changes_and_export) {
  he_cmd_t c;
  he_docker_ok(&c, "run", "--name", "dt", "busybox", "sh", "-c",
               "echo x > /tmp/new; ln /tmp/new /tmp/link; rm /etc/group; "
               "mkdir -p /a/b; "
               "echo y >> /etc/passwd; ln -s / /rootlink; "
               "ln -s ../../../../etc /a/up; rm -rf /home");
  he_cmd_free(&c);
  expect_diff("dt", "A /a\nA /a/b\nA /a/up\nA /rootlink\nA /tmp/link\n"
                    "A /tmp/new\n"
                    "C /etc\nC /etc/passwd\nC /tmp\nD /etc/group\nD /home\n");
  /* Nothing done, nothing listed: not even what hcsd made to run it. */
  he_docker_ok(&c, "create", "--name", "fresh", "busybox");
  he_cmd_free(&c);
  expect_diff("fresh", "");
  he_docker_ok(&c, "run", "--name", "idle", "busybox", "true");
  he_cmd_free(&c);
  expect_diff("idle", "");
  /* A running container, as it writes. */
  he_docker_ok(&c, "run", "-d", "--name", "live", "busybox", "sleep", "100");
  he_cmd_free(&c);
  he_docker_ok(&c, "exec", "live", "sh", "-c", "echo 1 > /live");
  he_cmd_free(&c);
  expect_diff("live", "A /live\n");
  he_docker_fails(1, "No such container: nothere", "diff", "nothere");

  /* docker export: the merged root, deletions gone, links as links. */
  char path[192];
  snprintf(path, sizeof(path), "%s/dt.tar", he.dir);
  he_docker_ok(&c, "export", "-o", path, "dt");
  he_cmd_free(&c);
  th_buf_t l = {0};
  tar_list(path, &l);
  /* A hard link's first name carries the data, the next one links. */
  he_expect_has(l.p, "tmp/link f 2 x\n");
  he_expect_has(l.p, "tmp/new h 0 tmp/link\n");
  he_expect_has(l.p, "a/b/ d 0 \n");
  he_expect_has(l.p, "rootlink l 0 /\n");
  he_expect_has(l.p, "a/up l 0 ../../../../etc\n");
  he_expect_has(l.p, "bin/sh l 0 busybox\n");
  he_expect_has(l.p, "etc/passwd f ");
  cr_assert_null(strstr(l.p, "rootlink/"), "a link to / was followed");
  cr_assert_null(strstr(l.p, "a/up/"), "a link out of the root was followed");
  cr_assert_null(strstr(l.p, "etc/group"), "a deleted file exported");
  cr_assert_null(strstr(l.p, "home"), "a deleted directory exported");
  cr_assert(strncmp(l.p, "./", 2) != 0 && strstr(l.p, "\n./") == NULL,
            "a ./ name");
  const char *bb = strstr(l.p, "\nbin/busybox f ");
  cr_assert_not_null(bb, "%s", l.p);
  cr_assert_gt(atoll(bb + 15), 100000, "busybox is whole");
  th_buf_free(&l);

  /* To stdout, of the running one: its new file. */
  he_docker_ok(&c, "export", "live");
  cr_assert_not_null(memmem(c.o.p, c.o.len, "live\0", 5), "no /live entry");
  he_cmd_free(&c);
  he_docker_fails(1, "No such container: nothere", "export", "nothere");
  he_docker_ok(&c, "rm", "-f", "live", "dt", "fresh", "idle");
  he_cmd_free(&c);
  he_end();
}

/* A root larger than the daemon queues for a client (HCSD_OUT_MAX) goes
 * out whole: read from its file as the client takes it. */
Test(hcsd_diff, export_large) {
  he_cmd_t c;
  char want[80];
  he_docker_line(want, sizeof(want), "run", "--name", "big", "busybox", "sh",
                 "-c",
                 "head -c 40000000 /dev/urandom > /big && "
                 "sha256sum /big | cut -c1-64");
  he_docker_ok(&c, "export", "big");
  cr_assert_gt(c.o.len, 40000000);
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  cr_assert_eq(archive_read_open_memory(a, c.o.p, c.o.len), ARCHIVE_OK);
  struct archive_entry *e;
  char got[65] = "";
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (strcmp(archive_entry_pathname(e), "big") != 0) {
      continue;
    }
    hcsd_sha256_t *h = hcsd_sha256_new();
    cr_assert_not_null(h);
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
      hcsd_sha256_update(h, buf, (size_t)n);
    }
    hcsd_sha256_end(h, got);
  }
  archive_read_free(a);
  cr_assert_str_eq(got, want, "the export's /big differs");
  he_cmd_free(&c);
  cr_assert_null(strstr(he_log_tail(), "dropped"), "%s", he_log_tail());
  he_docker_ok(&c, "rm", "big");
  he_cmd_free(&c);
  he_end();
}
