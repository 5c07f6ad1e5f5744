/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4), for the digest of a transport folder's layer.tar
 * (ExportLayer writes it, ImportLayer checks it). */
#ifndef HCS_HCS_SHA256_H
#define HCS_HCS_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct hcs__sha256_s {
  uint32_t h[8];
  uint64_t len; /* bytes hashed */
  uint8_t block[64];
  size_t used;
} hcs__sha256_t;

void hcs__sha256_init(hcs__sha256_t *c);
void hcs__sha256_update(hcs__sha256_t *c, const void *data, size_t n);
/* Writes the digest as 64 lower-case hex digits and a NUL. */
void hcs__sha256_hex(hcs__sha256_t *c, char out[65]);

#endif
