/* SPDX-License-Identifier: MIT */
/* cli_stdio REPORT: writes what its fds 0, 1 and 2 are ("0=TARGET\n" from
 * readlink /proc/self/fd/N, for each) into the file REPORT, then reads
 * stdin to EOF and writes "out:" and the bytes read to stdout, "err:" and
 * the bytes read to stderr. Exits 0, or 3 when something failed. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char data[65536];

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) {
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    return 3;
  }
  char report[4096];
  size_t len = 0;
  for (int fd = 0; fd < 3; fd++) {
    char path[64], target[1024];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n < 0) {
      n = 0;
    }
    target[n] = '\0';
    len += (size_t)snprintf(report + len, sizeof(report) - len, "%d=%s\n", fd,
                            target);
  }
  int r = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (r < 0 || write_all(r, report, len) != 0 || close(r) != 0) {
    return 3;
  }
  size_t have = 0;
  for (;;) {
    ssize_t n = read(0, data + have, sizeof(data) - have);
    if (n <= 0) {
      break;
    }
    have += (size_t)n;
    if (have == sizeof(data)) {
      break;
    }
  }
  if (write_all(1, "out:", 4) != 0 || write_all(1, data, have) != 0 ||
      write_all(2, "err:", 4) != 0 || write_all(2, data, have) != 0) {
    return 3;
  }
  return 0;
}
