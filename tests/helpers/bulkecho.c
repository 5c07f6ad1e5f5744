/* SPDX-License-Identifier: MIT */
/* bulkecho BYTES: writes BYTES bytes to stdout in 64 KiB writes (byte k
 * is k % 251), then copies stdin to stdout, each read (at most 4 KiB)
 * written out at once, until stdin ends; then _exit(0). A bulky stream
 * that turns interactive (tests/test_engine_bigbuf.c). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static void write_all(const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      _exit(3);
    }
    p += w;
    n -= (size_t)w;
  }
}

static unsigned char chunk[65536];

int main(int argc, char **argv) {
  if (argc != 2) {
    _exit(2);
  }
  uint64_t left = strtoull(argv[1], NULL, 0);
  uint64_t k = 0;
  while (left > 0) {
    size_t n = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);
    for (size_t i = 0; i < n; i++, k++) {
      chunk[i] = (unsigned char)(k % 251);
    }
    write_all(chunk, n);
    left -= n;
  }
  for (;;) {
    ssize_t r = read(0, chunk, 4096);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      _exit(r == 0 ? 0 : 4);
    }
    write_all(chunk, (size_t)r);
  }
}
