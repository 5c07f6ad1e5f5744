/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the Windows command-line splitter. Every argv it gives
 * survives the hcsshim escaping (Go's syscall.EscapeArg) and a second
 * split unchanged. */
#include "hcs/api/cmdline.h"
#include <hcs-async.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* EscapeArg: quote when empty or holding a blank or quote; double the
 * backslashes that precede a quote or the closing quote. */
static size_t escape(const char *a, char *out) {
  size_t n = 0;
  int quote = a[0] == '\0' || strpbrk(a, " \t\"") != NULL;
  if (quote) {
    out[n++] = '"';
  }
  size_t slashes = 0;
  for (const char *p = a; *p != '\0'; p++) {
    if (*p == '\\') {
      slashes++;
    } else if (*p == '"') {
      for (; slashes > 0; slashes--) {
        out[n++] = '\\';
      }
      out[n++] = '\\';
    } else {
      slashes = 0;
    }
    out[n++] = *p;
  }
  if (quote) {
    for (; slashes > 0; slashes--) {
      out[n++] = '\\';
    }
    out[n++] = '"';
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) {
    return 0;
  }
  memcpy(text, data, size);
  text[size] = '\0';
  char **argv = NULL;
  if (hcs__cmdline_split(text, &argv) == 0) {
    /* Each escaped argument is at most 2n+2 bytes, plus a blank. */
    char *line = malloc(4 * size + 16);
    size_t n = 0, argc = 0;
    for (char **a = argv; *a != NULL; a++, argc++) {
      if (n > 0) {
        line[n++] = ' ';
      }
      n += escape(*a, line + n);
    }
    line[n] = '\0';
    char **again = NULL;
    if (hcs__cmdline_split(line, &again) != 0) {
      abort();
    }
    for (size_t i = 0; i < argc; i++) {
      if (again[i] == NULL || strcmp(again[i], argv[i]) != 0) {
        abort();
      }
    }
    if (again[argc] != NULL) {
      abort();
    }
    hcs__argv_free(again);
    hcs__argv_free(argv);
    free(line);
  }
  free(text);
  return 0;
}
