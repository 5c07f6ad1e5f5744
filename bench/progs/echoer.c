/* SPDX-License-Identifier: MIT */
/* echoer: writes back every byte read from stdin, as it arrives, until
 * EOF; then exits 0. The echo scenario's program: one read and one write
 * per message, so a round trip measures the host's pipes and loop. */
#include <errno.h>
#include <unistd.h>

enum { BUF = 64 * 1024 };

static char buf[BUF];

static int write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(void) {
  for (;;) {
    ssize_t n = read(0, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      _exit(n == 0 ? 0 : 1);
    }
    if (write_all(buf, (size_t)n) != 0) {
      _exit(1);
    }
  }
}
