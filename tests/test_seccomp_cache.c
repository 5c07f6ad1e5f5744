/* SPDX-License-Identifier: MIT */
/* The persistent cache of compiled seccomp profiles (seccomp_cache.c): a
 * second system with the same profile in a fresh process compiles nothing
 * and is still confined; a changed profile compiles; a damaged entry is
 * ignored and replaced; the directory and files are root's alone; the
 * cache keeps at most HCS__SECCOMP_CACHE_MAX entries. "A fresh process" is
 * hcs__seccomp_forget, which drops the in-process copies. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <hcs.h>
#include <string.h>
#include <sys/stat.h>

#include "hcs/system/seccomp.h"
#include "test_ct_util.h"

static char cache[300];

static void setup(void) {
  ct_setup();
  snprintf(cache, sizeof(cache), "%s/cache", base);
  cr_assert_eq(hcs__seccomp_cache_set(cache), 0);
  hcs__seccomp_forget();
}

static void teardown(void) {
  hcs__seccomp_cache_set(NULL);
  ct_teardown();
}

TestSuite(seccomp_cache, .init = setup, .fini = teardown, .timeout = 240);

/* A profile that lets everything through but sethostname, which fails
 * with errno e (as JSON for hcs__seccomp_from_json). */
static void profile(char *buf, size_t n, int e) {
  snprintf(buf, n,
           "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
           "[\"sethostname\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":%d}]}",
           e);
}

/* The same, as a SeccompProfile field of a configuration fragment. */
static void profile_field(char *buf, size_t n, int e) {
  snprintf(buf, n,
           ",\"SeccompProfile\":\"{\\\"defaultAction\\\":"
           "\\\"SCMP_ACT_ALLOW\\\",\\\"syscalls\\\":[{\\\"names\\\":"
           "[\\\"sethostname\\\"],\\\"action\\\":\\\"SCMP_ACT_ERRNO\\\","
           "\\\"errnoRet\\\":%d}]}\"",
           e);
}

/* Compiles (or fetches) profile e as a fresh process would; returns how
 * many compiles that took and the filter in *out. */
static unsigned long get(int e, hcs__bpf_t *out) {
  char json[512], why[256];
  profile(json, sizeof(json), e);
  hcs__seccomp_forget();
  unsigned long before = hcs__seccomp_compiles();
  cr_assert_eq(hcs__seccomp_from_json(json, HCS__SECCOMP_DOCKER_CAPS, out, why,
                                      sizeof(why)),
               0, "%s", why);
  return hcs__seccomp_compiles() - before;
}

/* The entries in the cache; the name of the last into name. */
static size_t entries(char name[PATH_MAX]) {
  size_t n = 0;
  DIR *d = opendir(cache);
  cr_assert_not_null(d);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (strstr(e->d_name, ".bpf") != NULL) {
      snprintf(name, PATH_MAX, "%s/%s", cache, e->d_name);
      n++;
    }
  }
  closedir(d);
  return n;
}

Test(seccomp_cache, second_system_compiles_nothing_and_is_confined) {
  hcs_t *h = open_hcs(NULL);
  char field[512];
  profile_field(field, sizeof(field), 1);
  unsigned long before = hcs__seccomp_compiles();
  start_system(h, "one", field);
  cr_expect_eq(hcs__seccomp_compiles() - before, 1);
  hcs__seccomp_forget(); /* as hcs-runc's next create, a new process */
  before = hcs__seccomp_compiles();
  start_system(h, "two", field);
  cr_expect_eq(hcs__seccomp_compiles() - before, 0,
               "the same profile compiled %lu times",
               hcs__seccomp_compiles() - before);
  out_t o;
  run_in(h, "two", "hostname x 2>&1; echo $?", NULL, &o);
  cr_expect(strstr(o.text, "not permitted") != NULL, "%s", o.text);
  /* Another profile: compiled, with its own errno. */
  hcs__seccomp_forget();
  profile_field(field, sizeof(field), 38);
  before = hcs__seccomp_compiles();
  start_system(h, "three", field);
  cr_expect_eq(hcs__seccomp_compiles() - before, 1);
  run_in(h, "three", "hostname x 2>&1; echo $?", NULL, &o);
  cr_expect(strstr(o.text, "not implemented") != NULL, "%s", o.text);
  stop_system(h, "one");
  stop_system(h, "two");
  stop_system(h, "three");
  hcs_close(h);
}

static void flip_byte(const char *path, off_t at) {
  int fd = open(path, O_RDWR);
  cr_assert(fd >= 0);
  unsigned char c;
  cr_assert_eq(pread(fd, &c, 1, at), 1);
  c ^= 0x40;
  cr_assert_eq(pwrite(fd, &c, 1, at), 1);
  close(fd);
}

Test(seccomp_cache, damaged_entries_are_ignored_and_replaced) {
  hcs__bpf_t first = {0}, again = {0};
  char name[PATH_MAX];
  cr_assert_eq(get(1, &first), 1);
  cr_assert_eq(entries(name), 1);
  struct stat st;
  cr_assert_eq(stat(name, &st), 0);
  /* An instruction changed (the last one, a return): its digest no
   * longer matches. */
  flip_byte(name, st.st_size - 4);
  cr_expect_eq(get(1, &again), 1, "a damaged entry was trusted");
  cr_expect_eq(again.len, first.len);
  cr_expect_eq(memcmp(again.insns, first.insns, first.len * 8), 0);
  hcs__bpf_free(&again);
  cr_expect_eq(get(1, &again), 0, "the entry was not written again");
  hcs__bpf_free(&again);
  /* Torn: half of it. */
  cr_assert_eq(truncate(name, st.st_size / 2), 0);
  cr_expect_eq(get(1, &again), 1, "a truncated entry was trusted");
  hcs__bpf_free(&again);
  /* The header's length changed. */
  flip_byte(name, 8);
  cr_expect_eq(get(1, &again), 1, "an entry of the wrong length was trusted");
  cr_expect_eq(memcmp(again.insns, first.insns, first.len * 8), 0);
  hcs__bpf_free(&again);
  cr_assert_eq(stat(name, &st), 0);
  cr_expect_eq(st.st_size, 144 + first.len * 8);
  hcs__bpf_free(&first);
}

Test(seccomp_cache, directory_and_files_are_roots_alone) {
  hcs__bpf_t bpf = {0};
  char name[PATH_MAX];
  cr_assert_eq(get(1, &bpf), 1);
  hcs__bpf_free(&bpf);
  struct stat st;
  cr_assert_eq(stat(cache, &st), 0);
  cr_expect_eq(st.st_mode & 07777, 0700);
  cr_assert_eq(entries(name), 1);
  cr_assert_eq(stat(name, &st), 0);
  cr_expect_eq(st.st_mode & 07777, 0600);
  cr_expect_eq(st.st_uid, 0);
  /* A directory others may read is not used. */
  cr_assert_eq(chmod(cache, 0755), 0);
  cr_expect_eq(get(1, &bpf), 1, "a directory of mode 0755 was used");
  hcs__bpf_free(&bpf);
  cr_assert_eq(chmod(cache, 0700), 0);
  cr_expect_eq(get(1, &bpf), 0);
  hcs__bpf_free(&bpf);
  /* Nor an entry others may write; it is replaced by one of mode 0600. */
  cr_assert_eq(chmod(name, 0666), 0);
  cr_expect_eq(get(1, &bpf), 1, "an entry of mode 0666 was used");
  hcs__bpf_free(&bpf);
  cr_assert_eq(stat(name, &st), 0);
  cr_expect_eq(st.st_mode & 07777, 0600);
  /* Nor one another user owns. */
  cr_assert_eq(chown(name, 1000, 1000), 0);
  cr_expect_eq(get(1, &bpf), 1, "an entry of uid 1000 was used");
  hcs__bpf_free(&bpf);
  cr_assert_eq(stat(name, &st), 0);
  cr_expect_eq(st.st_uid, 0);
  /* Turned off: nothing read or written. */
  cr_assert_eq(hcs__seccomp_cache_set(NULL), 0);
  cr_expect_eq(get(1, &bpf), 1);
  hcs__bpf_free(&bpf);
  cr_expect_eq(get(2, &bpf), 1);
  hcs__bpf_free(&bpf);
  cr_expect_eq(entries(name), 1);
}

Test(seccomp_cache, bounded_least_recently_used_go_first) {
  hcs__bpf_t bpf = {0};
  char name[PATH_MAX];
  for (int e = 1; e <= HCS__SECCOMP_CACHE_MAX; e++) {
    cr_assert_eq(get(e, &bpf), 1);
    hcs__bpf_free(&bpf);
    usleep(10000); /* mtimes apart, past the kernel's coarse clock */
  }
  cr_assert_eq(entries(name), HCS__SECCOMP_CACHE_MAX);
  /* Used again: the first is now the newest, the second the oldest. */
  cr_expect_eq(get(1, &bpf), 0);
  hcs__bpf_free(&bpf);
  usleep(10000);
  cr_assert_eq(get(HCS__SECCOMP_CACHE_MAX + 1, &bpf), 1);
  hcs__bpf_free(&bpf);
  cr_expect_eq(entries(name), HCS__SECCOMP_CACHE_MAX);
  cr_expect_eq(get(1, &bpf), 0, "the recently used entry was evicted");
  hcs__bpf_free(&bpf);
  cr_expect_eq(get(2, &bpf), 1, "the least recently used entry was kept");
  hcs__bpf_free(&bpf);
  cr_expect_eq(entries(name), HCS__SECCOMP_CACHE_MAX);
}
