/* Small helpers shared by hcsd's modules. */
#ifndef HCSD_UTIL_H
#define HCSD_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* 64 lower-case hex characters of random id, NUL-terminated. */
void hcsd_random_id(char out[65]);
/* {"message":"<text>"} with text JSON-escaped (malloc'ed). */
char *hcsd_message_json(const char *text);

/* SHA-256 (libcrypto): the 64 lower-case hex digits and a NUL. */
typedef struct hcsd_sha256_s hcsd_sha256_t;
/* A running digest, or NULL when out of memory. */
hcsd_sha256_t *hcsd_sha256_new(void);
void hcsd_sha256_update(hcsd_sha256_t *s, const void *p, size_t n);
/* Writes the digest and frees s. */
void hcsd_sha256_end(hcsd_sha256_t *s, char out[65]);
/* The digest of p[0..n) in one call. 0, or -1 when libcrypto failed
 * (out is then empty). */
int hcsd_sha256_hex(const void *p, size_t n, char out[65]);

#endif
