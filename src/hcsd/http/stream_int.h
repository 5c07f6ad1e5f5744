/* SPDX-License-Identifier: MIT */
/* Between server.c and stream.c: a hijacked connection, which server.c
 * reads and closes, and stream.c writes. */
#ifndef HCSD_STREAM_INT_H
#define HCSD_STREAM_INT_H

#include "hcsd/http/http.h"

/* Who reads a hijacked connection (stream.c's stream). */
typedef struct hcsd__sink_s {
  /* Client bytes (len 0: half-close), or gone: the client went away. */
  void (*input)(void *data, char *buf, size_t len, bool gone);
  /* server.c closed the connection under it: *k and *c are no more. */
  void (*closed)(void *data);
} hcsd__sink_t;

/* Answers r 101 UPGRADED with content_type and hands its connection to
 * sink: *k and *c are set first, then the bytes the client sent after the
 * request go to sink->input, and every read after them. r is over. */
void hcsd__conn_hijack(hcsd_req_t *r, const char *content_type,
                       const hcsd__sink_t *sink, void *data, hcsd_conn_t **k,
                       as_conn_t **c);
/* Queues a copy of the n pieces (any number) on k, counted against its
 * bounds. 0, or -1 when the client is gone or out of memory. */
int hcsd__conn_send(hcsd_conn_t *k, const as_iov_t *iov, int n);
/* stream.c is done with the connection: server.c closes it. */
void hcsd__conn_stream_done(hcsd_conn_t *k);
/* The engine loop k is on (loop 0, or a worker's after hcsd_req_move). */
as_loop_t *hcsd__conn_loop(const hcsd_conn_t *k);

#endif
