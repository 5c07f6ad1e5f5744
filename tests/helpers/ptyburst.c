/* SPDX-License-Identifier: MIT */
/* ptyburst [N]: writes one block of N bytes (default 4096) in a single
 * write: printable letters ending in the marker "#MARKER#", no newline (so
 * a console passes it through unchanged), then exits at once. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char block[1 << 20];

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 4096;
  static const char marker[] = "#MARKER#";
  size_t m = sizeof(marker) - 1;
  if (n < m || n > sizeof(block)) {
    _exit(2);
  }
  for (size_t i = 0; i < n - m; i++) {
    block[i] = (char)('a' + i % 26);
  }
  memcpy(block + n - m, marker, m);
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(1, block + off, n - off);
    if (w <= 0) {
      _exit(3);
    }
    off += (size_t)w;
  }
  _exit(0);
}
