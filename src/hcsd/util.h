/* SPDX-License-Identifier: MIT */
/* Small helpers shared by hcsd's modules. */
#ifndef HCSD_UTIL_H
#define HCSD_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* 64 lower-case hex characters of random id, NUL-terminated. */
void hcsd_random_id(char out[65]);
/* {"message":"<text>"} with text JSON-escaped (malloc'ed). */
char *hcsd_message_json(const char *text);

/* SHA-256 (nettle): the 64 lower-case hex digits and a NUL. */
typedef struct hcsd_sha256_s hcsd_sha256_t;
/* A running digest, or NULL when out of memory. */
hcsd_sha256_t *hcsd_sha256_new(void);
void hcsd_sha256_update(hcsd_sha256_t *s, const void *p, size_t n);
/* Writes the digest and frees s; a NULL s (new ran out of memory)
 * gives an empty out. */
void hcsd_sha256_end(hcsd_sha256_t *s, char out[65]);
/* The digest of p[0..n) in one call; always 0 (the int stays for the
 * callers' checks: nettle's digests cannot fail). */
int hcsd_sha256_hex(const void *p, size_t n, char out[65]);
/* p[0..n) in standard base64 with padding, NUL-terminated (malloc'ed);
 * NULL when out of memory. */
char *hcsd_base64(const void *p, size_t n);

struct hcsd_s;
/* Runs work(data) on the pool, then done(data) on the engine thread. */
int hcsd_work(struct hcsd_s *d, void (*work)(void *data),
              void (*done)(void *data), void *data);
/* RFC 3339 with nanoseconds, UTC, of ns since the epoch ("0001-01-01T00:00:00Z"
 * for 0). */
void hcsd_time_rfc3339(int64_t ns, char out[40]);
int64_t hcsd_now_ns(void);
/* A signal by Docker's names: "KILL", "SIGKILL", "9"; 0 when unknown. */
int hcsd_signal_number(const char *name);
/* One line in hcsd's log at warn (log.h). */
void hcsd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Docker's 8-byte header of a multiplexed stream's frame. */
void hcsd_frame_header(uint8_t h[8], int stream, size_t len);

/* NULL-terminated string vectors (NULL is empty). */
char **hcsd__strv_from_json(json_t *a); /* a string or array; NULL: null */
json_t *hcsd__strv_to_json(char *const *v);
char **hcsd__strv_dup(char *const *v);
void hcsd__strv_free(char **v);
size_t hcsd__strv_len(char *const *v);
/* Removes a tree without following symlinks or crossing mounts; errors
 * are ignored (it is cleanup). Any thread. */
void hcsd_rmtree(const char *path);

#endif
