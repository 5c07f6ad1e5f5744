/* SPDX-License-Identifier: MIT */
/* A request body handed from the loop that receives it to a thread that
 * consumes it as it arrives (docker load's archive): the pieces stay in
 * the engine's read buffers, held (as_conn_hold) until the consumer is
 * past them, so nothing is copied and nothing is written to a file on
 * the way; the engine stops reading the client while AS_CONN_HOLD_MAX is
 * held, so a fast client waits for the consumer and memory stays
 * bounded. */
#ifndef HCSD_BODY_H
#define HCSD_BODY_H

#include <hcs-async.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct hcsd_body_s hcsd_body_t;

/* A body of c's on loop, with the producer's reference. NULL on ENOMEM.
 * Loop thread. */
hcsd_body_t *hcsd_body_new(as_loop_t *loop, as_conn_t *c);
/* The consumer's reference (once): b. Pieces wait for it; once it is
 * dropped, or when the producer's goes before it was taken, what is left
 * is let go. */
hcsd_body_t *hcsd_body_reader(hcsd_body_t *b);

/* ---- the producer, on the loop thread ---- */
/* Appends p[0..n): when buf is the buffer of c's data_cb running now, p
 * points into it and buf is held (once for all its pieces); with buf
 * NULL the bytes are copied.
 * 0, or -ENOMEM; -EPIPE once the body has ended. */
int hcsd_body_put(hcsd_body_t *b, char *buf, const char *p, size_t n);
/* The body ends: 0 when whole, -errno when cut short (the client went
 * away, timed out or sent a malformed body). Only the first end counts. */
void hcsd_body_end(hcsd_body_t *b, int status);
/* 1 while pieces wait for the consumer (a client that waits for them is
 * not idle). */
int hcsd_body_waiting(hcsd_body_t *b);

/* ---- the consumer, on any thread ---- */
/* Waits for the next piece: its length with *p set (valid until the next
 * call or the unref), 0 at the end of a whole body, or -errno when it was
 * cut short. */
ssize_t hcsd_body_read(hcsd_body_t *b, const void **p);

/* Drops the consumer's reference (consumer true: what it had not taken
 * is released) or the producer's (loop thread); the body ends as cut
 * short unless it ended already. */
void hcsd_body_unref(hcsd_body_t *b, bool consumer);

#endif
