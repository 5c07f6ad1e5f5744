/* SPDX-License-Identifier: MIT */
/* hcsd's HTTP request parser (src/hcsd/http/parse.c): any bytes, fed in
 * two pieces split where the first byte says, request after request as a
 * keep-alive connection would. No crash, no leak, and a whole request
 * always has its path and a NUL-terminated body. Each path is also matched
 * against the endpoints hcsd does not serve (http/unsupported.c). */
#include "hcsd/http/http.h"
#include "hcsd/http/parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int feed(hcsd_parse_t *ps, const char *p, size_t n) {
  while (n > 0) {
    size_t used = 0;
    char msg[128];
    int st = hcsd_parse_feed(ps, p, n, &used, msg, sizeof(msg));
    if (st == HCSD_PARSE_MORE) {
      return 0;
    }
    if (st != HCSD_PARSE_DONE) {
      return -1; /* refused: a server closes the connection */
    }
    if (ps->req->path == NULL || ps->req->body == NULL ||
        ps->req->body[ps->req->body_len] != '\0' || used > n) {
      abort();
    }
    (void)hcsd_unsupported(ps->req->method, ps->req->path);
    if (ps->req->upgrade) {
      return -1; /* the rest is stream data */
    }
    hcsd_parse_next(ps);
    p += used;
    n -= used;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  size_t cut = data[0] % size;
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  cut = cut < n ? cut : n;
  hcsd_req_t req;
  memset(&req, 0, sizeof(req));
  req.body_fd = -1;
  hcsd_parse_t ps;
  hcsd_parse_init(&ps, &req, "/nonexistent", NULL, NULL);
  if (feed(&ps, p, cut) == 0) {
    (void)feed(&ps, p + cut, n - cut);
  }
  hcsd_req_clear(&req);
  return 0;
}
