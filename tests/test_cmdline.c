/* SPDX-License-Identifier: MIT */
/* The CommandLine splitter (src/hcs/cmdline.c): the Windows rules case by
 * case, and a round trip against Go's syscall.EscapeArg, the escaping that
 * the clients of the HCS API used. */
#include "hcs/api/cmdline.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXARGS 8

typedef struct case_s {
  const char *line;
  int argc;
  const char *argv[MAXARGS];
} case_t;

static const case_t cases[] = {
    /* Blanks separate. */
    {"a b c", 3, {"a", "b", "c"}},
    {"   a   b   ", 2, {"a", "b"}},
    {"a\tb\t\tc", 3, {"a", "b", "c"}},
    {" \t a \t", 1, {"a"}},
    {"", 0, {NULL}},
    {"   ", 0, {NULL}},
    {"\t \t", 0, {NULL}},
    /* Quotes group and toggle anywhere in an argument. */
    {"\"a b\" c", 2, {"a b", "c"}},
    {"a\"b c\"d e", 2, {"ab cd", "e"}},
    {"\"a\tb\" c", 2, {"a\tb", "c"}},
    {"\"unterminated arg", 1, {"unterminated arg"}},
    /* Empty quoted arguments. */
    {"\"\"", 1, {""}},
    {"\"\" a", 2, {"", "a"}},
    {"a \"\" \"\" b", 4, {"a", "", "", "b"}},
    {"a\"\" b", 2, {"a", "b"}},
    /* 2n backslashes before a quote: n backslashes, the quote toggles. */
    {"a\\\\\"b c\"", 1, {"a\\b c"}},
    {"a\\\\\\\\\"b c\"", 1, {"a\\\\b c"}},
    {"\"a\\\\\" b", 2, {"a\\", "b"}},
    {"\\\\\"x y\"", 1, {"\\x y"}},
    /* 2n+1 backslashes before a quote: n backslashes and a literal quote. */
    {"\\\"", 1, {"\""}},
    {"a\\\"b", 1, {"a\"b"}},
    {"a\\\\\\\"b", 1, {"a\\\"b"}},
    {"\"a \\\" b\"", 1, {"a \" b"}},
    {"a\\\\\\\\\\\"b c", 2, {"a\\\\\"b", "c"}},
    /* Backslashes not before a quote are literal. */
    {"a\\b", 1, {"a\\b"}},
    {"a\\\\b c\\\\\\d", 2, {"a\\\\b", "c\\\\\\d"}},
    {"C:\\Program Files\\x", 2, {"C:\\Program", "Files\\x"}},
    {"\"C:\\Program Files\\x\"", 1, {"C:\\Program Files\\x"}},
    {"trailing\\", 1, {"trailing\\"}},
    {"trailing\\\\ x", 2, {"trailing\\\\", "x"}},
    /* Inside quotes, "" is a literal quote and quoting goes on. */
    {"\"a\"\"b\"", 1, {"a\"b"}},
    {"\"a\"\" b\" c", 2, {"a\" b", "c"}},
    {"\"\"\"", 1, {"\""}},
    {"\"\"\"\"", 1, {"\""}},
    {"\"\"\"\" x", 2, {"\"", "x"}},
    /* Other bytes pass unchanged. */
    {"caf\xc3\xa9 \xff\x01", 2, {"caf\xc3\xa9", "\xff\x01"}},
    {"a\nb c", 2, {"a\nb", "c"}},
};

/* Renders an argv for a failure message. */
static void show(char *buf, size_t n, char *const *argv) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; argv[i] != NULL && len < n; i++) {
    len += (size_t)snprintf(buf + len, n - len, "[%s]", argv[i]);
  }
}

Test(cmdline, windows_rules) {
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const case_t *c = &cases[i];
    char **argv = NULL;
    cr_assert_eq(hcs__cmdline_split(c->line, &argv), 0, "%s", c->line);
    cr_assert_not_null(argv);
    char got[512];
    show(got, sizeof(got), argv);
    int n = 0;
    while (argv[n] != NULL) {
      n++;
    }
    cr_assert_eq(n, c->argc, "line <%s>: %d arguments %s, want %d", c->line, n,
                 got, c->argc);
    for (int k = 0; k < n; k++) {
      cr_assert_str_eq(argv[k], c->argv[k],
                       "line <%s>: argv[%d] <%s>, want <%s>", c->line, k,
                       argv[k], c->argv[k]);
    }
    hcs__argv_free(argv);
  }
}

Test(cmdline, free_null) { hcs__argv_free(NULL); }

/* Go's syscall.EscapeArg (src/syscall/exec_windows.go), written out in C:
 * an argument without quotes, backslashes or blanks is as it is; "" for an
 * empty one; otherwise each quote gets a backslash and the backslashes
 * before it are doubled, and an argument with blanks is quoted, the
 * backslashes before the closing quote doubled. */
static void escape_arg(const char *s, char *out, size_t cap) {
  size_t len = strlen(s), n = len, j = 0;
  int has_space = 0;
  if (len == 0) {
    snprintf(out, cap, "\"\"");
    return;
  }
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"' || s[i] == '\\') {
      n++;
    } else if (s[i] == ' ' || s[i] == '\t') {
      has_space = 1;
    }
  }
  if (has_space) {
    n += 2;
  }
  cr_assert_lt(2 * len + 3, cap);
  if (n == len) {
    memcpy(out, s, len + 1);
    return;
  }
  if (has_space) {
    out[j++] = '"';
  }
  size_t slashes = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\\') {
      slashes++;
      out[j++] = s[i];
    } else if (s[i] == '"') {
      for (; slashes > 0; slashes--) {
        out[j++] = '\\';
      }
      out[j++] = '\\';
      out[j++] = s[i];
    } else {
      slashes = 0;
      out[j++] = s[i];
    }
  }
  if (has_space) {
    for (; slashes > 0; slashes--) {
      out[j++] = '\\';
    }
    out[j++] = '"';
  }
  out[j] = '\0';
}

static uint64_t next(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Spot checks of escape_arg against outputs of Go's own function. */
Test(cmdline, escape_arg_matches_go) {
  static const char *const pairs[][2] = {
      {"", "\"\""},
      {"abc", "abc"},
      {"a b", "\"a b\""},
      {"a\"b", "a\\\"b"},
      {"a\\b", "a\\b"},
      {"a\\\"b", "a\\\\\\\"b"},
      {"a b\\", "\"a b\\\\\""},
      {"a\\", "a\\"},
      {"\t", "\"\t\""},
  };
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    char out[64];
    escape_arg(pairs[i][0], out, sizeof(out));
    cr_assert_str_eq(out, pairs[i][1], "EscapeArg(<%s>)", pairs[i][0]);
  }
}

Test(cmdline, round_trip_go_escape_arg) {
  /* The bytes that matter to the rules, weighted towards them, and some
   * that do not. */
  static const char alphabet[] = "\"\\\\\\  \t\"ab\n\xc3\xa9\x7f";
  const size_t na = sizeof(alphabet) - 1;
  uint64_t seed = 0x5eed0fc0ffeeULL;
  for (int iter = 0; iter < 10000; iter++) {
    char args[MAXARGS][24];
    int argc = (int)(next(&seed) % (MAXARGS + 1));
    char line[MAXARGS * 80] = "";
    size_t len = 0;
    for (int a = 0; a < argc; a++) {
      size_t alen = (size_t)(next(&seed) % 12);
      for (size_t k = 0; k < alen; k++) {
        args[a][k] = alphabet[next(&seed) % na];
      }
      args[a][alen] = '\0';
      char esc[80];
      escape_arg(args[a], esc, sizeof(esc));
      len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
                              a > 0 ? " " : "", esc);
      cr_assert_lt(len, sizeof(line));
    }
    char **argv = NULL;
    cr_assert_eq(hcs__cmdline_split(line, &argv), 0);
    int n = 0;
    while (argv[n] != NULL) {
      n++;
    }
    char got[1024];
    show(got, sizeof(got), argv);
    cr_assert_eq(n, argc, "case %d: line <%s> gave %d arguments %s, want %d",
                 iter, line, n, got, argc);
    for (int a = 0; a < argc; a++) {
      cr_assert_str_eq(argv[a], args[a],
                       "case %d: line <%s>: argv[%d] <%s>, want <%s>", iter,
                       line, a, argv[a], args[a]);
    }
    hcs__argv_free(argv);
  }
}
