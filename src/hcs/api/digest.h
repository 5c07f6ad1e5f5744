/* SPDX-License-Identifier: MIT */
/* SHA-256 and SHA-1 from nettle (Debian's libnettle8), a maintained
 * library, as issue 16 asks of hcs's digests: SHA-256 of layer.tar
 * (ExportLayer writes it, ImportLayer and docker load check it) and of
 * the seccomp cache's keys and entries, SHA-1 of the name-based GUIDs.
 *
 * Why nettle and not libcrypto: the same speed on bulk input (about
 * 0.7 GB/s each on this project's 2-core AMD EPYC, x86_64 assembly in
 * both, where the hand-written C loop hcs had did 31-61 MB/s) and no
 * start-up: libcrypto's first digest in a process initialises its
 * providers, 2-7 ms here, which every hcs-runc create paid for its
 * seccomp cache key; nettle's first digest takes 0.06 ms. Its contexts
 * are plain structs, so no call here allocates or fails.
 *
 * Thread rules: a context belongs to one thread at a time; contexts are
 * independent of each other. */
#ifndef HCS_HCS_DIGEST_H
#define HCS_HCS_DIGEST_H

#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hcs__sha256_s {
  struct sha256_ctx ctx;
} hcs__sha256_t;

void hcs__sha256_init(hcs__sha256_t *c);
void hcs__sha256_update(hcs__sha256_t *c, const void *data, size_t n);
/* Writes the digest as 64 lower-case hex digits and a NUL; the context
 * starts over (as after init). */
void hcs__sha256_hex(hcs__sha256_t *c, char out[65]);

/* SHA-1, for GUID derivation only (not for security). */
typedef struct hcs__sha1_s {
  struct sha1_ctx ctx;
} hcs__sha1_t;

void hcs__sha1_init(hcs__sha1_t *c);
void hcs__sha1_update(hcs__sha1_t *c, const void *data, size_t n);
/* The 20-byte digest; the context starts over. */
void hcs__sha1_final(hcs__sha1_t *c, uint8_t out[20]);

#endif
