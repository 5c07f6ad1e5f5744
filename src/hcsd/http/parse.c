/* SPDX-License-Identifier: MIT */
/* HTTP/1.1 requests decoded by http-parser into hcsd_req_t, and their
 * query strings. A request is whole when the parser pauses at its end. */
#include "hcsd/http/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define URL_MAX 8192
#define BODY_MAX (16u << 20)

static int on_message_begin(http_parser *p) {
  hcsd_parse_t *k = p->data;
  k->started = true;
  k->in_body = false;
  if (k->began != NULL) {
    k->began(k->data);
  }
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  hcsd_parse_t *k = p->data;
  if (k->url_len + len > URL_MAX) {
    return 1;
  }
  char *u = realloc(k->req->url, k->url_len + len + 1);
  if (u == NULL) {
    return 1;
  }
  memcpy(u + k->url_len, at, len);
  k->url_len += len;
  u[k->url_len] = '\0';
  k->req->url = u;
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  hcsd_parse_t *k = p->data;
  if (k->in_value) {
    k->in_value = false;
    k->hname_len = 0;
  }
  for (size_t i = 0; i < len && k->hname_len < sizeof(k->hname) - 1; i++) {
    k->hname[k->hname_len++] = at[i];
  }
  k->hname[k->hname_len] = '\0';
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  hcsd_parse_t *k = p->data;
  if (!k->in_value) {
    k->in_value = true;
    k->want_ctype = strcasecmp(k->hname, "Content-Type") == 0;
    if (k->want_ctype) {
      k->req->content_type[0] = '\0';
    }
  }
  if (k->want_ctype) {
    size_t have = strlen(k->req->content_type);
    size_t room = sizeof(k->req->content_type) - 1 - have;
    size_t n = len < room ? len : room;
    memcpy(k->req->content_type + have, at, n);
    k->req->content_type[have + n] = '\0';
  }
  return 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Percent-decodes s[0..n) (and '+' as ' ' when plus) into a new string. */
static char *pct_decode(const char *s, size_t n, int plus) {
  char *o = malloc(n + 1);
  if (o == NULL) {
    return NULL;
  }
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
        hexval(s[i + 2]) >= 0) {
      o[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else if (plus && s[i] == '+') {
      o[j++] = ' ';
    } else {
      o[j++] = s[i];
    }
  }
  o[j] = '\0';
  return o;
}

static int stream_body_path(const char *path, int method) {
  size_t n = strlen(path);
  return (method == HTTP_POST && strcmp(path, "/images/load") == 0) ||
         (method == HTTP_PUT && n > 20 &&
          memcmp(path, "/containers/", 12) == 0 &&
          strcmp(path + n - 8, "/archive") == 0);
}

/* Splits the URL into path (version prefix off) and query. */
static int split_url(hcsd_req_t *r) {
  if (r->url == NULL || r->url[0] != '/') {
    return -1;
  }
  const char *q = strchr(r->url, '?');
  size_t plen = q != NULL ? (size_t)(q - r->url) : strlen(r->url);
  r->path = pct_decode(r->url, plen, 0);
  if (r->path == NULL) {
    return -1;
  }
  r->query = q != NULL ? (char *)q + 1 : NULL; /* points into url */
  return 0;
}

static int on_headers_complete(http_parser *p) {
  hcsd_parse_t *k = p->data;
  hcsd_req_t *r = k->req;
  k->in_body = true;
  r->method = (int)p->method;
  r->head = p->method == HTTP_HEAD;
  r->upgrade = p->upgrade != 0;
  if (split_url(r) != 0) {
    return 0; /* answered as a bad request at completion */
  }
  const char *path = r->path;
  if (path[0] == '/' && path[1] == 'v' && path[2] >= '0' && path[2] <= '9') {
    const char *s = strchr(path + 1, '/');
    path = s != NULL ? s : "";
  }
  if (k->body != NULL && r->method == HTTP_POST &&
      strcmp(path, "/images/load") == 0) {
    /* docker load's archive goes to its reader as it arrives. */
    return k->body(k->data, NULL, 0) != 0 ? 1 : 0;
  }
  if (stream_body_path(path, r->method)) {
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s", k->tmp_dir);
    r->body_fd = open(tmpl, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    r->stream_body = r->body_fd >= 0;
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  hcsd_parse_t *k = p->data;
  hcsd_req_t *r = k->req;
  if (r->live != NULL) {
    return k->body(k->data, at, len) != 0 ? 1 : 0;
  }
  if (r->stream_body) {
    while (len > 0) {
      ssize_t n = write(r->body_fd, at, len);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return 1;
      }
      at += n;
      len -= (size_t)n;
    }
    return 0;
  }
  if (r->body_len + len > BODY_MAX) {
    return 1;
  }
  char *b = realloc(r->body, r->body_len + len + 1);
  if (b == NULL) {
    return 1;
  }
  memcpy(b + r->body_len, at, len);
  r->body_len += len;
  b[r->body_len] = '\0';
  r->body = b;
  return 0;
}

static int on_message_complete(http_parser *p) {
  hcsd_parse_t *k = p->data;
  k->req->keep_alive = http_should_keep_alive(p) != 0;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void hcsd_parse_init(hcsd_parse_t *ps, hcsd_req_t *req, const char *tmp_dir,
                     void (*began)(void *data), void *data) {
  memset(ps, 0, sizeof(*ps));
  ps->req = req;
  ps->tmp_dir = tmp_dir;
  ps->began = began;
  ps->data = data;
  http_parser_init(&ps->parser, HTTP_REQUEST);
  ps->parser.data = ps;
}

void hcsd_req_clear(hcsd_req_t *r) {
  free(r->url);
  free(r->path);
  free(r->body);
  free(r->leftover);
  if (r->body_fd >= 0) {
    close(r->body_fd);
  }
  if (r->live != NULL) {
    hcsd_body_unref(r->live, false);
  }
  hcsd_conn_t *k = r->conn;
  memset(r, 0, sizeof(*r));
  r->conn = k;
  r->body_fd = -1;
}

void hcsd_parse_next(hcsd_parse_t *ps) {
  hcsd_req_clear(ps->req);
  ps->url_len = 0;
  ps->hname_len = 0;
  ps->in_value = false;
  ps->started = false;
  http_parser_pause(&ps->parser, 0);
}

static int refuse(enum http_errno e, char *msg, size_t cap) {
  switch (e) {
  case HPE_HEADER_OVERFLOW:
    snprintf(msg, cap, "request header fields too large");
    return 431;
  case HPE_CB_url:
    snprintf(msg, cap, "request URI too long");
    return 414;
  case HPE_CB_body:
    snprintf(msg, cap, "request body too large");
    return 413;
  default:
    snprintf(msg, cap, "malformed HTTP request: %s", http_errno_name(e));
    return 400;
  }
}

int hcsd_parse_feed(hcsd_parse_t *ps, const char *buf, size_t len, size_t *used,
                    char *msg, size_t msg_cap) {
  size_t n = http_parser_execute(&ps->parser, &settings, buf, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&ps->parser);
  *used = n;
  if (e != HPE_OK && e != HPE_PAUSED) {
    return refuse(e, msg, msg_cap);
  }
  if (e != HPE_PAUSED) {
    return HCSD_PARSE_MORE; /* an upgrade's body may still be coming too */
  }
  hcsd_req_t *r = ps->req;
  if (r->path == NULL) {
    snprintf(msg, msg_cap, "malformed request target");
    return 400;
  }
  if (r->body == NULL) {
    r->body = calloc(1, 1);
    if (r->body == NULL) {
      snprintf(msg, msg_cap, "out of memory");
      return 500;
    }
  }
  if (r->stream_body) {
    (void)lseek(r->body_fd, 0, SEEK_SET);
  }
  return HCSD_PARSE_DONE;
}

/* ---- query strings ---- */

char *hcsd_query_value(const char *q, const char *name) {
  if (q == NULL) {
    return NULL;
  }
  size_t nl = strlen(name);
  while (*q != '\0') {
    const char *amp = strchr(q, '&');
    size_t seg = amp != NULL ? (size_t)(amp - q) : strlen(q);
    const char *eq = memchr(q, '=', seg);
    size_t klen = eq != NULL ? (size_t)(eq - q) : seg;
    char *key = pct_decode(q, klen, 1);
    int match = key != NULL && strlen(key) == nl && memcmp(key, name, nl) == 0;
    free(key);
    if (match) {
      return eq != NULL ? pct_decode(eq + 1, seg - klen - 1, 1) : strdup("");
    }
    q += seg;
    if (*q == '&') {
      q++;
    }
  }
  return NULL;
}

int hcsd_query_flag(const char *query, const char *name) {
  char *v = hcsd_query_value(query, name);
  int on = v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0);
  free(v);
  return on;
}

int hcsd_query_hw(const char *query, uint16_t *rows, uint16_t *cols) {
  char *h = hcsd_query_value(query, "h"), *w = hcsd_query_value(query, "w");
  char *e1 = NULL, *e2 = NULL;
  unsigned long hv = h != NULL ? strtoul(h, &e1, 10) : 0;
  unsigned long wv = w != NULL ? strtoul(w, &e2, 10) : 0;
  int bad = h == NULL || w == NULL || *e1 != '\0' || *e2 != '\0' ||
            hv > 65535 || wv > 65535;
  free(h);
  free(w);
  if (bad) {
    return -1;
  }
  *rows = (uint16_t)hv;
  *cols = (uint16_t)wv;
  return 0;
}
