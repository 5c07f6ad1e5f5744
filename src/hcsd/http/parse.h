/* SPDX-License-Identifier: MIT */
/* HTTP/1.1 requests and their query strings decoded from bytes, with no
 * connection in sight: server.c feeds what a client sends, the fuzz
 * targets feed what they make up. */
#ifndef HCSD_HTTP_PARSE_H
#define HCSD_HTTP_PARSE_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcsd/http/http.h"

/* One request at a time into *req; the parser pauses after each. */
typedef struct hcsd_parse_s {
  http_parser parser;
  hcsd_req_t *req;
  const char *tmp_dir; /* where a streamed body (docker load) goes */
  size_t url_len;
  char hname[32];
  size_t hname_len;
  bool in_value;
  bool want_ctype;
  bool started;              /* bytes of the current request seen */
  bool in_body;              /* its head is complete */
  void (*began)(void *data); /* the first byte of a request */
  /* With it, docker load's body is streamed: body(data, NULL, 0) when
   * its head is complete, then body(data, at, len) per piece; nonzero
   * refuses the request. */
  int (*body)(void *data, const char *at, size_t len);
  void *data;
} hcsd_parse_t;

enum { HCSD_PARSE_MORE = 0, HCSD_PARSE_DONE = 1 };

/* req must have body_fd -1 and no other field set. began may be NULL. */
void hcsd_parse_init(hcsd_parse_t *ps, hcsd_req_t *req, const char *tmp_dir,
                     void (*began)(void *data), void *data);
/* Feeds buf[0..len): HCSD_PARSE_MORE when the request is not whole yet,
 * HCSD_PARSE_DONE when it is (*used: bytes that belong to it; the rest
 * is the next request's, or stream data after a hijack), or an HTTP
 * status (400, 413, 414, 431) with msg set for a request to refuse. A
 * whole request has path set and a NUL-terminated body. */
int hcsd_parse_feed(hcsd_parse_t *ps, const char *buf, size_t len, size_t *used,
                    char *msg, size_t msg_cap);
/* Frees what req holds and readies the parser for the next request. */
void hcsd_parse_next(hcsd_parse_t *ps);
/* Frees what r holds and zeroes it, keeping its connection. */
void hcsd_req_clear(hcsd_req_t *r);

/* The query string's (raw, no '?') value of name, decoded and malloc'ed;
 * NULL when absent. */
char *hcsd_query_value(const char *query, const char *name);
/* 1 when name is present and true ("1", "true", "True"). */
int hcsd_query_flag(const char *query, const char *name);
/* h and w of a resize: 0, or -1 unless both are 0-65535. */
int hcsd_query_hw(const char *query, uint16_t *rows, uint16_t *cols);

#endif
