/* SPDX-License-Identifier: MIT */
/* SHA-1 (FIPS 180-4), for the name-based GUIDs the HCS derives. Not for
 * security: GUID derivation only. Not libcrypto's, unlike the layer
 * digests: on inputs of tens of bytes its EVP calls cost as much (about
 * 0.5-0.8 us against 0.6 us here, issue 16) and allocate a context, a
 * failure that hcs_NewGUID, which returns a GUID, could not report. */
#ifndef HCS_HCS_SHA1_H
#define HCS_HCS_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct hcs__sha1_s {
  uint32_t h[5];
  uint64_t len; /* bytes hashed */
  uint8_t block[64];
  size_t used;
} hcs__sha1_t;

void hcs__sha1_init(hcs__sha1_t *c);
void hcs__sha1_update(hcs__sha1_t *c, const void *data, size_t n);
void hcs__sha1_final(hcs__sha1_t *c, uint8_t out[20]);

#endif
