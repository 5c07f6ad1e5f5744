/* SPDX-License-Identifier: MIT */
/* libFuzzer target: ImportLayer over arbitrary bytes as layer.tar (either
 * flavour, by the first byte). Whatever the input, the import makes a
 * layer or fails with an error; nothing is written outside the store (a
 * sentinel directory beside it stays as it was); a failed import leaves
 * nothing in the store, a made layer is destroyed again. Runs as root in
 * CI (owners, devices); as another user the import fails where it needs
 * root, which is fine here. */
#include <hcs.h>

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

static char root[64], folder[128], home[128], outside[128];

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void cleanup(void) {
  nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

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
  strcpy(root, "/tmp/hcs-fuzz-tar-XXXXXX");
  if (mkdtemp(root) == NULL) {
    abort();
  }
  snprintf(folder, sizeof(folder), "%s/in", root);
  snprintf(home, sizeof(home), "%s/store", root);
  snprintf(outside, sizeof(outside), "%s/outside", root);
  if (mkdir(folder, 0755) != 0 || mkdir(home, 0700) != 0 ||
      mkdir(outside, 0755) != 0) {
    abort();
  }
  atexit(cleanup);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char tar[160];
  snprintf(tar, sizeof(tar), "%s/layer.tar", folder);
  int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
    abort();
  }
  close(fd);
  hcs_driver_info_t info = {.flavour = size > 0 && (data[0] & 1),
                            .home_dir = home};
  hcs_layer_options_t o = {.max_bytes = 1 << 20, .max_entries = 2048};
  hcs_error_t *err = NULL;
  hcs_result_t r = hcs_layer_import(&info, "f", folder, NULL, &o, &err);
  if (r == HCS_OK) {
    if (err != NULL || hcs_DestroyLayer(&info, "f", NULL) != HCS_OK) {
      abort();
    }
  } else if (err == NULL || hcs_error_code(err) != r) {
    abort();
  }
  hcs_error_free(err);
  if (count(home) != 0 || count(outside) != 0 || count(root) != 3 ||
      count(folder) != 1) {
    abort(); /* something was left behind or written outside */
  }
  return 0;
}
