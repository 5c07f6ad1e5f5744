/* SPDX-License-Identifier: MIT */
/* libFuzzer target: docker cp's extraction (hcsd__arc_extract) over
 * arbitrary bytes as the tar of a PUT, into a fresh directory. Whatever
 * the input, it extracts or fails with an error, and nothing lands
 * outside the destination: the directory beside it stays empty and the
 * parent holds only the two. Runs as root in CI (owners). */
#include "hcsd/model/archive.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64], dest[128], outside[128];

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_tree(const char *p) {
  nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void cleanup(void) { rm_tree(root); }

/* Entries in dir besides "." and "..". */
static int count(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    return -1;
  }
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  }
  closedir(d);
  return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  strcpy(root, "/tmp/hcsd-fuzz-cp-XXXXXX");
  if (mkdtemp(root) == NULL) {
    abort();
  }
  snprintf(dest, sizeof(dest), "%s/dest", root);
  snprintf(outside, sizeof(outside), "%s/outside", root);
  if (mkdir(outside, 0755) != 0) {
    abort();
  }
  atexit(cleanup);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (mkdir(dest, 0755) != 0) {
    abort();
  }
  int dir = open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    abort();
  }
  hcsd_arc_opts_t o = {.op = HCSD_ARC_PUT,
                       .path = "/dest",
                       .fd = -1,
                       .buf = (const char *)data,
                       .len = size,
                       .no_overwrite_dir_non_dir = size > 0 && (data[0] & 1)};
  hcsd_err_t e;
  (void)hcsd__arc_extract(dir, &o, &e);
  close(dir);
  /* Nothing beside the destination, nothing in the sentinel. */
  if (count(outside) != 0 || count(root) != 2) {
    abort();
  }
  rm_tree(dest);
  return 0;
}
