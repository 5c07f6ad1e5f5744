/* SPDX-License-Identifier: MIT */
/* Image references as docker's distribution/reference parses them
 * (ParseNormalizedNamed, FamiliarString): name components, a domain when
 * the first component looks like one, docker.io/library/ otherwise, and a
 * tag, "latest" by default. Digests (name@sha256:...) are not supported:
 * the store keeps no RepoDigests. */
#include "hcsd/model/imgint.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_MAX_NAME 255
#define REF_MAX_TAG 128

static bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* over s[0..n). */
static bool path_component_ok(const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (!is_lower_alnum(s[i])) {
      return false;
    }
    while (i < n && is_lower_alnum(s[i])) {
      i++;
    }
    if (i == n) {
      return true;
    }
    size_t sep = i;
    while (i < n && s[i] == '-') {
      i++;
    }
    if (i == sep) {
      if (s[i] == '.') {
        i++;
      } else if (s[i] == '_') {
        i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
      } else {
        return false;
      }
    }
    if (i == n) {
      return false; /* a separator must be followed by a component */
    }
  }
  return n > 0;
}

/* Host components ([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]) joined
 * by dots, then an optional :port. */
static bool domain_ok(const char *s, size_t n) {
  const char *colon = memchr(s, ':', n);
  size_t host = colon != NULL ? (size_t)(colon - s) : n;
  if (colon != NULL) {
    size_t port = n - host - 1;
    if (port == 0 || strspn(colon + 1, "0123456789") < port) {
      return false;
    }
  }
  size_t i = 0;
  while (i < host) {
    size_t start = i;
    while (i < host && s[i] != '.') {
      if (!is_alnum(s[i]) && s[i] != '-') {
        return false;
      }
      i++;
    }
    if (i == start || s[start] == '-' || s[i - 1] == '-') {
      return false;
    }
    if (i < host && ++i == host) {
      return false; /* a trailing dot */
    }
  }
  return host > 0;
}

static bool tag_ok(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > REF_MAX_TAG || !(is_alnum(t[0]) || t[0] == '_')) {
    return false;
  }
  for (size_t i = 1; i < n; i++) {
    if (!is_alnum(t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-') {
      return false;
    }
  }
  return true;
}

/* Whether the part before the first '/' names a registry, as docker's
 * splitDockerDomain decides. */
static bool looks_like_domain(const char *s, size_t n) {
  if (n == 9 && strncmp(s, "localhost", 9) == 0) {
    return true;
  }
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '.' || s[i] == ':' || (s[i] >= 'A' && s[i] <= 'Z')) {
      return true;
    }
  }
  return false;
}

static bool path_ok(const char *p) {
  while (true) {
    const char *slash = strchr(p, '/');
    size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
    if (!path_component_ok(p, n)) {
      return false;
    }
    if (slash == NULL) {
      return true;
    }
    p = slash + 1;
  }
}

char *hcsd__img_normalise(const char *ref) {
  size_t len = strlen(ref);
  if (len == 0 || len > REF_MAX_NAME + 1 + REF_MAX_TAG ||
      strchr(ref, '@') != NULL ||
      (len == 64 && strspn(ref, "0123456789abcdef") == 64)) {
    return NULL;
  }
  const char *last_slash = strrchr(ref, '/');
  const char *colon = strrchr(last_slash != NULL ? last_slash : ref, ':');
  size_t name_len = colon != NULL ? (size_t)(colon - ref) : len;
  const char *tag = colon != NULL ? colon + 1 : "latest";
  if (!tag_ok(tag) || name_len > REF_MAX_NAME) {
    return NULL;
  }
  char name[REF_MAX_NAME + 1];
  memcpy(name, ref, name_len);
  name[name_len] = '\0';
  const char *slash = strchr(name, '/');
  const char *domain = "docker.io";
  size_t domain_len = 9;
  const char *path = name;
  if (slash != NULL && looks_like_domain(name, (size_t)(slash - name))) {
    domain = name;
    domain_len = (size_t)(slash - name);
    path = slash + 1;
    if (!domain_ok(domain, domain_len)) {
      return NULL;
    }
    if (domain_len == 15 && strncmp(domain, "index.docker.io", 15) == 0) {
      domain = "docker.io";
      domain_len = 9;
    }
  }
  if (!path_ok(path)) {
    return NULL;
  }
  bool library = domain_len == 9 && strncmp(domain, "docker.io", 9) == 0 &&
                 strchr(path, '/') == NULL;
  if (domain_len + 1 + (library ? 8 : 0) + strlen(path) > REF_MAX_NAME) {
    return NULL; /* as docker: the limit is on the normalised name */
  }
  size_t cap = domain_len + strlen(path) + strlen(tag) + 16;
  char *out = malloc(cap);
  if (out != NULL) {
    snprintf(out, cap, "%.*s/%s%s:%s", (int)domain_len, domain,
             library ? "library/" : "", path, tag);
  }
  return out;
}

char *hcsd__img_familiar(const char *normalised) {
  const char *s = normalised;
  if (strncmp(s, "docker.io/", 10) == 0) {
    s += 10;
    const char *rest = s + 8;
    if (strncmp(s, "library/", 8) == 0 && strchr(rest, '/') == NULL) {
      s = rest;
    }
  }
  return strdup(s);
}
