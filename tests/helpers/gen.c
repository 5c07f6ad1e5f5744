/* SPDX-License-Identifier: MIT */
/* gen OUT ERR SEED: writes OUT bytes to stdout and ERR bytes to stderr,
 * interleaved in chunks of pseudo-random size, then _exit(0) without any
 * flushing at exit. Stream s carries the bytes of a splitmix64 sequence
 * seeded with SEED ^ (s * 0x9e3779b97f4a7c15), each 64-bit word in
 * little-endian order; the tests regenerate it to check every byte. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct stream_s {
  uint64_t state, word;
  unsigned left; /* bytes of word not yet emitted */
} stream_t;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void fill(stream_t *st, unsigned char *buf, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (st->left == 0) {
      st->word = splitmix64(&st->state);
      st->left = 8;
    }
    buf[i] = (unsigned char)st->word;
    st->word >>= 8;
    st->left--;
  }
}

static void write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
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
  if (argc != 4) {
    _exit(2);
  }
  uint64_t rem[2] = {strtoull(argv[1], NULL, 0), strtoull(argv[2], NULL, 0)};
  uint64_t seed = strtoull(argv[3], NULL, 0);
  stream_t st[2] = {{.state = seed}, {.state = seed ^ 0x9e3779b97f4a7c15ULL}};
  uint64_t pick = seed ^ 0x5bd1e995ULL;
  while (rem[0] + rem[1] > 0) {
    uint64_t r = splitmix64(&pick);
    int s = (r >> 32) % (rem[0] + rem[1]) < rem[0] ? 0 : 1;
    size_t n = 1 + (size_t)(r % sizeof(chunk));
    if (n > rem[s]) {
      n = (size_t)rem[s];
    }
    fill(&st[s], chunk, n);
    write_all(1 + s, chunk, n);
    rem[s] -= n;
  }
  _exit(0);
}
