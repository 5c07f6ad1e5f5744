/* Between http.c and stream.c: hijacked connections. */
#ifndef HCSD_STREAM_INT_H
#define HCSD_STREAM_INT_H

#include "hcsd/http/http.h"

hcsd_stream_t *hcsd__stream_new(hcsd_t *d, hcsd_conn_t *k, as_conn_t *c,
                                bool framed, const hcsd_stream_ops_t *ops,
                                void *data);
/* Client bytes (len 0: half-close), or gone. */
void hcsd__stream_input(hcsd_stream_t *st, char *buf, size_t len, bool gone);
/* http.c closed the connection under the stream. */
void hcsd__stream_conn_closed(hcsd_stream_t *st);
/* Queues a copy of the n pieces (any number) on k, counted against its
 * bounds. 0, or -1 when the client is gone or out of memory. */
int hcsd__conn_send(hcsd_conn_t *k, const as_iov_t *iov, int n);
/* stream.c is done with the connection: http.c closes it. */
void hcsd__conn_stream_done(hcsd_conn_t *k);

#endif
