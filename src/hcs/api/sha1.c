/* SPDX-License-Identifier: MIT */
/* SHA-1 as FIPS 180-4 section 6.1 describes it: 512-bit blocks, an
 * 80-word schedule, four rounds of twenty steps. */
#include "hcs/api/sha1.h"

#include <string.h>

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void compress(uint32_t h[5], const uint8_t b[64]) {
  uint32_t w[80];
  for (int t = 0; t < 16; t++) {
    w[t] = (uint32_t)b[4 * t] << 24 | (uint32_t)b[4 * t + 1] << 16 |
           (uint32_t)b[4 * t + 2] << 8 | (uint32_t)b[4 * t + 3];
  }
  for (int t = 16; t < 80; t++) {
    w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
  }
  uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
  for (int t = 0; t < 80; t++) {
    uint32_t f, k;
    if (t < 20) {
      f = (bb & c) | (~bb & d);
      k = 0x5a827999u;
    } else if (t < 40) {
      f = bb ^ c ^ d;
      k = 0x6ed9eba1u;
    } else if (t < 60) {
      f = (bb & c) | (bb & d) | (c & d);
      k = 0x8f1bbcdcu;
    } else {
      f = bb ^ c ^ d;
      k = 0xca62c1d6u;
    }
    uint32_t tmp = rol(a, 5) + f + e + k + w[t];
    e = d;
    d = c;
    c = rol(bb, 30);
    bb = a;
    a = tmp;
  }
  h[0] += a;
  h[1] += bb;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

void hcs__sha1_init(hcs__sha1_t *c) {
  static const uint32_t iv[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu,
                                 0x10325476u, 0xc3d2e1f0u};
  memcpy(c->h, iv, sizeof(iv));
  c->len = 0;
  c->used = 0;
}

void hcs__sha1_update(hcs__sha1_t *c, const void *data, size_t n) {
  const uint8_t *p = data;
  c->len += n;
  while (n > 0) {
    size_t take = 64 - c->used < n ? 64 - c->used : n;
    memcpy(c->block + c->used, p, take);
    c->used += take;
    p += take;
    n -= take;
    if (c->used == 64) {
      compress(c->h, c->block);
      c->used = 0;
    }
  }
}

void hcs__sha1_final(hcs__sha1_t *c, uint8_t out[20]) {
  uint64_t bits = c->len * 8;
  uint8_t pad = 0x80;
  hcs__sha1_update(c, &pad, 1);
  pad = 0;
  while (c->used != 56) {
    hcs__sha1_update(c, &pad, 1);
  }
  uint8_t len[8];
  for (int i = 0; i < 8; i++) {
    len[i] = (uint8_t)(bits >> (56 - 8 * i));
  }
  hcs__sha1_update(c, len, 8);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (uint8_t)(c->h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
    out[4 * i + 3] = (uint8_t)c->h[i];
  }
}
