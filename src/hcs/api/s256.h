/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4), for short inputs in short-lived processes: the
 * seccomp cache's key and entry digest, computed in every hcs-runc create.
 * Not libcrypto's, unlike the layer digests (hcs/layer/sha256.h, which
 * hash gigabytes and gain from its assembly): libcrypto's first digest
 * initialises its providers, 1.3-6 ms on this project's 2-core machine,
 * against about 0.1 ms here for Docker's default profile. */
#ifndef HCS_HCS_S256_H
#define HCS_HCS_S256_H

#include <stddef.h>
#include <stdint.h>

typedef struct hcs__s256_s {
  uint32_t h[8];
  uint64_t len; /* bytes hashed */
  uint8_t block[64];
  size_t used;
} hcs__s256_t;

void hcs__s256_init(hcs__s256_t *c);
void hcs__s256_update(hcs__s256_t *c, const void *data, size_t n);
/* The digest as 64 lowercase hex digits and a NUL. */
void hcs__s256_hex(hcs__s256_t *c, char out[65]);

#endif
