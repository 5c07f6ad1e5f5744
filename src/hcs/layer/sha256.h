/* SPDX-License-Identifier: MIT */
/* SHA-256 of a transport folder's layer.tar (ExportLayer writes it,
 * ImportLayer checks it), computed by OpenSSL's libcrypto: its
 * assembler (SHA-NI, AVX2) hashes at several GB/s where a portable C
 * loop did 31-61 MB/s, and every docker load and layer import pays the
 * digest on every byte. */
#ifndef HCS_HCS_SHA256_H
#define HCS_HCS_SHA256_H

#include <stddef.h>

typedef struct hcs__sha256_s {
  void *ctx; /* libcrypto's EVP_MD_CTX; NULL before init and once done */
} hcs__sha256_t;

/* 0, or -ENOMEM (libcrypto could not make its context). */
int hcs__sha256_init(hcs__sha256_t *c);
void hcs__sha256_update(hcs__sha256_t *c, const void *data, size_t n);
/* Writes the digest as 64 lower-case hex digits and a NUL, and frees the
 * context; 0, or -ENOMEM when libcrypto failed (out is then ""). */
int hcs__sha256_hex(hcs__sha256_t *c, char out[65]);
/* Frees the context of a digest that is abandoned; safe after hex and
 * twice. */
void hcs__sha256_free(hcs__sha256_t *c);

#endif
