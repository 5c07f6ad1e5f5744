/* SPDX-License-Identifier: MIT */
/* The Docker endpoints hcsd does not serve, named as the commands that
 * call them, so that a client is told "not supported by hcsd: stats"
 * rather than "page not found", which reads as a bug of hcsd or of the
 * client. A path that is no Docker endpoint is not listed: it stays a
 * 404. GET /plugins/{name}/json is not listed either: `docker inspect
 * NAME` tries every kind of object in turn and goes on past a 404
 * (router.c answers it as dockerd does for a name that is not there). */
#include "hcsd/http/http.h"

#include <http_parser.h>
#include <stdbool.h>
#include <string.h>

#define ANY (-1)

static const struct {
  int method; /* enum http_method, or ANY */
  /* Segments: a word; "*" one segment; "**" any number of them (image
   * names may hold '/'). */
  const char *path;
  const char *what;
} unsupported[] = {
    {HTTP_GET, "/containers/*/attach/ws", "attach over a websocket"},
    {HTTP_POST, "/commit", "commit"},
    {ANY, "/build", "build"},
    {ANY, "/build/cancel", "build"},
    {ANY, "/session", "build"},
    {HTTP_GET, "/images/search", "search"},
    {HTTP_POST, "/images/**/push", "push"},
    {HTTP_PUT, "/volumes/*", "volume update"},
    {HTTP_GET, "/plugins", "plugin ls"},
    {HTTP_GET, "/plugins/privileges", "plugin install"},
    {HTTP_POST, "/plugins/**", "plugins"},
    {HTTP_DELETE, "/plugins/**", "plugin rm"},
    {ANY, "/swarm/**", "swarm"},
    {ANY, "/nodes/**", "node"},
    {ANY, "/services/**", "service"},
    {ANY, "/tasks/**", "service ps"},
    {ANY, "/secrets/**", "secret"},
    {ANY, "/configs/**", "config"},
    {HTTP_POST, "/auth", "login"},
    {HTTP_GET, "/distribution/**", "manifest inspect"},
};

/* The segment at s: its length. */
static size_t seg_len(const char *s) { return strcspn(s, "/"); }

/* The segment after the one at s ("" at the end). */
static const char *seg_next(const char *s) {
  s += seg_len(s);
  return *s == '/' ? s + 1 : s;
}

/* pat and path each at the start of a segment, or at their end. */
static bool match(const char *pat, const char *path) {
  if (*pat == '\0') {
    return *path == '\0';
  }
  size_t n = seg_len(pat);
  if (n == 2 && pat[0] == '*' && pat[1] == '*') {
    for (const char *p = path;; p = seg_next(p)) {
      if (match(seg_next(pat), p)) {
        return true;
      }
      if (*p == '\0') {
        return false;
      }
    }
  }
  size_t m = seg_len(path);
  if (m == 0 ||
      !((n == 1 && pat[0] == '*') || (n == m && strncmp(pat, path, n) == 0))) {
    return false;
  }
  return match(seg_next(pat), seg_next(path));
}

const char *hcsd_unsupported(int method, const char *path) {
  if (path[0] != '/') {
    return NULL;
  }
  for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
    if ((unsupported[i].method == ANY || unsupported[i].method == method) &&
        match(unsupported[i].path + 1, path + 1)) {
      return unsupported[i].what;
    }
  }
  return NULL;
}
