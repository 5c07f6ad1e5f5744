/* SPDX-License-Identifier: MIT */
/* cli_cat: copies stdin to stdout until EOF; exits 3 on a read or write
 * error. */
#include <errno.h>
#include <unistd.h>

static char buf[65536];

int main(void) {
  for (;;) {
    ssize_t n = read(0, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return 3;
    }
    if (n == 0) {
      return 0;
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(1, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w <= 0) {
        return 3;
      }
      off += w;
    }
  }
}
