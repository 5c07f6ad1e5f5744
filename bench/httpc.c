/* SPDX-License-Identifier: MIT */
/* The gateway scenarios' HTTP client pieces: connecting to hcsd's unix
 * socket, reading a response head, and a blocking call for setting up.
 * hcsd answers every non-streaming request with a Content-Length body
 * (src/hcsd/http.c), which is all the measured requests need; a chunked
 * answer is reported, not decoded. */
#include "gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { HEAD_MAX = 8192 };

/* The value of the header line at p (name: value), trimmed, in out. */
static bool header_is(const char *line, size_t len, const char *name,
                      const char **val, size_t *vlen) {
  size_t n = strlen(name);
  if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':') {
    return false;
  }
  const char *v = line + n + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t')) {
    v++;
  }
  while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
    end--;
  }
  *val = v;
  *vlen = (size_t)(end - v);
  return true;
}

static void header_apply(const char *line, size_t len, httpc_head_t *h) {
  const char *v;
  size_t vl;
  if (header_is(line, len, "Content-Length", &v, &vl)) {
    char num[24];
    size_t k = vl < sizeof(num) - 1 ? vl : sizeof(num) - 1;
    memcpy(num, v, k);
    num[k] = '\0';
    h->content_length = strtoll(num, NULL, 10);
  } else if (header_is(line, len, "Connection", &v, &vl)) {
    h->close = vl == 5 && strncasecmp(v, "close", 5) == 0;
  } else if (header_is(line, len, "Transfer-Encoding", &v, &vl)) {
    h->chunked = vl == 7 && strncasecmp(v, "chunked", 7) == 0;
  }
}

int httpc_parse_head(const char *buf, size_t len, httpc_head_t *h) {
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (end == NULL) {
    return len > HEAD_MAX ? -EPROTO : 0;
  }
  memset(h, 0, sizeof(*h));
  h->content_length = -1;
  if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') {
    return -EPROTO;
  }
  h->status = atoi(buf + 9);
  const char *line = memchr(buf, '\n', (size_t)(end - buf)) + 1;
  while (line < end + 2) {
    const char *eol = memchr(line, '\r', (size_t)(end + 2 - line));
    if (eol == NULL) {
      break;
    }
    header_apply(line, (size_t)(eol - line), h);
    line = eol + 2;
  }
  return (int)(end + 4 - buf);
}

int httpc_connect(const char *path, bool nonblock) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(sa.sun_path)) {
    return -ENAMETOOLONG;
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -errno;
  }
  /* Blocking connect, then non-blocking I/O: a unix socket's connect
   * either completes at once or, with the backlog full, fails with
   * EAGAIN when non-blocking and never reports completion. */
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  if (nonblock && fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  return fd;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t k = write(fd, p, len);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k < 0) {
      return -errno;
    }
    p += k;
    len -= (size_t)k;
  }
  return 0;
}

/* Writes len bytes from fd to the socket. */
static int send_fd(int sock, int fd, size_t len) {
  char buf[65536];
  while (len > 0) {
    ssize_t k = read(fd, buf, len < sizeof(buf) ? len : sizeof(buf));
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k <= 0) {
      return k == 0 ? -EIO : -errno;
    }
    int err = write_all(sock, buf, (size_t)k);
    if (err != 0) {
      return err;
    }
    len -= (size_t)k;
  }
  return 0;
}

/* One request on a connection of its own: the body from json, or from
 * body_fd when json is NULL and body_fd >= 0. */
static int call(const char *sock, const char *method, const char *path,
                const char *ctype, const char *json, int body_fd,
                size_t body_len, int *status, char *resp, size_t size) {
  int fd = httpc_connect(sock, false);
  if (fd < 0) {
    return fd;
  }
  char req[1024];
  size_t blen = json != NULL ? strlen(json) : body_fd >= 0 ? body_len : 0;
  int n =
      snprintf(req, sizeof(req),
               "%s %s HTTP/1.1\r\nHost: api.moby.localhost\r\n"
               "Connection: close\r\n%s%s%sContent-Length: %zu\r\n\r\n",
               method, path, ctype != NULL ? "Content-Type: " : "",
               ctype != NULL ? ctype : "", ctype != NULL ? "\r\n" : "", blen);
  int err = n > 0 && (size_t)n < sizeof(req) ? 0 : -EOVERFLOW;
  if (err == 0) {
    err = write_all(fd, req, (size_t)n);
  }
  if (err == 0 && json != NULL && blen > 0) {
    err = write_all(fd, json, blen);
  } else if (err == 0 && json == NULL && blen > 0) {
    err = send_fd(fd, body_fd, blen);
  }
  char buf[HEAD_MAX + 4096];
  size_t got = 0;
  httpc_head_t h;
  int hl = 0;
  while (err == 0 && got < sizeof(buf)) {
    ssize_t k = read(fd, buf + got, sizeof(buf) - got);
    if (k < 0 && errno == EINTR) {
      continue;
    }
    if (k < 0) {
      err = -errno;
      break;
    }
    got += (size_t)k;
    if (hl == 0 && (hl = httpc_parse_head(buf, got, &h)) < 0) {
      err = hl;
      break;
    }
    bool whole = hl > 0 && h.content_length >= 0 &&
                 got >= (size_t)hl + (size_t)h.content_length;
    if (k == 0 || whole) {
      break;
    }
  }
  close(fd);
  if (err == 0 && hl <= 0) {
    err = -EPROTO;
  }
  if (err != 0) {
    return err;
  }
  *status = h.status;
  size_t body = got - (size_t)hl;
  if (h.content_length >= 0 && (size_t)h.content_length < body) {
    body = (size_t)h.content_length;
  }
  body = body < size - 1 ? body : size - 1;
  memcpy(resp, buf + hl, body);
  resp[body] = '\0';
  return 0;
}

int httpc_call(const char *sock, const char *method, const char *path,
               const char *json, int *status, char *resp, size_t size) {
  return call(sock, method, path, json != NULL ? "application/json" : NULL,
              json, -1, 0, status, resp, size);
}

int httpc_call_fd(const char *sock, const char *method, const char *path,
                  const char *ctype, int fd, size_t len, int *status,
                  char *resp, size_t size) {
  return call(sock, method, path, ctype, NULL, fd, len, status, resp, size);
}
