/* SPDX-License-Identifier: MIT */
/* CommandLine -> argv by the rules Windows applies to a process command
 * line (the post-2008 CommandLineToArgvW / msvcrt rules), which is what a
 * client that escaped its arguments like Go's syscall.EscapeArg relies on:
 * - arguments are separated by spaces and tabs outside quotes;
 * - 2n backslashes before a quote give n backslashes, and the quote
 *   toggles quoting; 2n+1 give n backslashes and a literal quote;
 * - backslashes not before a quote are literal;
 * - inside quotes, "" gives a literal quote and stays inside. */
#include "hcs/api/cmdline.h"

#include "hcs-async.h"

#include <errno.h>
#include <string.h>

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Appends c to the argument under construction. */
static int put(char **buf, size_t *len, size_t *cap, char c) {
  if (*len + 1 >= *cap) {
    size_t ncap = *cap != 0 ? *cap * 2 : 64;
    char *n = as_realloc(*buf, ncap);
    if (n == NULL) {
      return -ENOMEM;
    }
    *buf = n;
    *cap = ncap;
  }
  (*buf)[(*len)++] = c;
  return 0;
}

static int push_arg(char ***argv, size_t *argc, const char *s, size_t n) {
  char **v = as_realloc(*argv, (*argc + 2) * sizeof(char *));
  if (v == NULL) {
    return -ENOMEM;
  }
  *argv = v;
  v[*argc] = as_malloc(n + 1);
  if (v[*argc] == NULL) {
    return -ENOMEM;
  }
  memcpy(v[*argc], s, n);
  v[*argc][n] = '\0';
  (*argc)++;
  v[*argc] = NULL;
  return 0;
}

/* Reads one argument starting at *pp (not blank, not the end). */
static int read_arg(const char **pp, char **buf, size_t *len, size_t *cap) {
  const char *p = *pp;
  int quoted = 0;
  int err = 0;
  while (*p != '\0' && (quoted || !is_blank(*p)) && err == 0) {
    if (*p == '\\') {
      size_t n = 0;
      while (*p == '\\') {
        n++;
        p++;
      }
      if (*p == '"') {
        for (size_t i = 0; i < n / 2 && err == 0; i++) {
          err = put(buf, len, cap, '\\');
        }
        if (n % 2 == 1) {
          err = err != 0 ? err : put(buf, len, cap, '"');
          p++;
        }
      } else {
        for (size_t i = 0; i < n && err == 0; i++) {
          err = put(buf, len, cap, '\\');
        }
      }
    } else if (*p == '"') {
      if (quoted && p[1] == '"') {
        err = put(buf, len, cap, '"');
        p += 2;
      } else {
        quoted = !quoted;
        p++;
      }
    } else {
      err = put(buf, len, cap, *p++);
    }
  }
  *pp = p;
  return err;
}

int hcs__cmdline_split(const char *line, char ***out) {
  char **argv = NULL;
  size_t argc = 0;
  char *buf = NULL;
  size_t cap = 0;
  int err = 0;
  const char *p = line;
  argv = as_calloc(1, sizeof(char *));
  if (argv == NULL) {
    return -ENOMEM;
  }
  for (;;) {
    while (is_blank(*p)) {
      p++;
    }
    if (*p == '\0') {
      break;
    }
    size_t len = 0;
    err = read_arg(&p, &buf, &len, &cap);
    if (err == 0) {
      err = push_arg(&argv, &argc, buf != NULL ? buf : "", len);
    }
    if (err != 0) {
      break;
    }
  }
  as_free(buf);
  if (err != 0) {
    hcs__argv_free(argv);
    return err;
  }
  *out = argv;
  return 0;
}

void hcs__argv_free(char **argv) {
  if (argv == NULL) {
    return;
  }
  for (char **a = argv; *a != NULL; a++) {
    as_free(*a);
  }
  as_free(argv);
}
