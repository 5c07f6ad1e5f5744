/* SPDX-License-Identifier: MIT */
/* blaster BYTES: writes BYTES bytes to stdout in 64 KiB writes, then exits
 * 0. The bytes are letters only, so a console's output processing (ONLCR
 * turns "\n" into "\r\n") leaves the count the host must deliver intact. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

enum { CHUNK = 64 * 1024 };

static char buf[CHUNK];

int main(int argc, char **argv) {
  if (argc != 2) {
    _exit(2);
  }
  unsigned long long left = strtoull(argv[1], NULL, 10);
  for (size_t i = 0; i < sizeof(buf); i++) {
    buf[i] = (char)('a' + i % 26);
  }
  while (left > 0) {
    size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
    ssize_t w = write(1, buf, want);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      _exit(1);
    }
    left -= (unsigned long long)w;
  }
  _exit(0);
}
