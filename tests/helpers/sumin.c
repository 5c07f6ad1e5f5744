/* SPDX-License-Identifier: MIT */
/* sumin: reads stdin to EOF and prints "HASH COUNT\n": the 64-bit FNV-1a
 * hash of every byte read, in hex, and the byte count. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static unsigned char buf[65536];

int main(void) {
  uint64_t h = 0xcbf29ce484222325ULL, count = 0;
  for (;;) {
    ssize_t n = read(0, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return 3;
    }
    if (n == 0) {
      break;
    }
    for (ssize_t i = 0; i < n; i++) {
      h = (h ^ buf[i]) * 0x100000001b3ULL;
    }
    count += (uint64_t)n;
  }
  printf("%016llx %llu\n", (unsigned long long)h, (unsigned long long)count);
  return 0;
}
