/* SPDX-License-Identifier: MIT */
/* SHA-256 and SHA-1 through nettle: see digest.h for why. */
#include "hcs/api/digest.h"

void hcs__sha256_init(hcs__sha256_t *c) { sha256_init(&c->ctx); }

void hcs__sha256_update(hcs__sha256_t *c, const void *data, size_t n) {
  if (n > 0) {
    sha256_update(&c->ctx, n, data);
  }
}

void hcs__sha256_hex(hcs__sha256_t *c, char out[65]) {
  static const char hex[] = "0123456789abcdef";
  uint8_t md[SHA256_DIGEST_SIZE];
  sha256_digest(&c->ctx, sizeof(md), md);
  for (size_t i = 0; i < sizeof(md); i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = '\0';
}

void hcs__sha1_init(hcs__sha1_t *c) { sha1_init(&c->ctx); }

void hcs__sha1_update(hcs__sha1_t *c, const void *data, size_t n) {
  if (n > 0) {
    sha1_update(&c->ctx, n, data);
  }
}

void hcs__sha1_final(hcs__sha1_t *c, uint8_t out[20]) {
  sha1_digest(&c->ctx, SHA1_DIGEST_SIZE, out);
}
