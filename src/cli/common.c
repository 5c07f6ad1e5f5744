/* SPDX-License-Identifier: MIT */
/* What the subcommands share: option parsing with hcs's messages, error
 * printing, opening the service, reading input, string lists. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_getopt(int argc, char **argv, const char *prog, const char *shorts,
               const struct option *longs) {
  /* A leading ':' (after any '+') makes getopt return ':' for a missing
   * value and print nothing: the messages below name prog instead of
   * argv[0], which is the subcommand's bare name. */
  char spec[64];
  int plus = shorts[0] == '+';
  snprintf(spec, sizeof(spec), "%s:%s", plus ? "+" : "", shorts + plus);
  opterr = 0;
  int c = getopt_long(argc, argv, spec, longs, NULL);
  if (c == ':') {
    fprintf(stderr, "%s: option %s needs a value\n", prog, argv[optind - 1]);
    return '?';
  }
  if (c == '?') {
    if (optopt != 0) {
      fprintf(stderr, "%s: unknown option -%c\n", prog, optopt);
    } else {
      fprintf(stderr, "%s: unknown option %s\n", prog, argv[optind - 1]);
    }
  }
  return c;
}

void cli_print_error(const char *prog, hcs_error_t *err) {
  fprintf(stderr, "%s: %s\n", prog,
          err != NULL ? hcs_error_message(err) : "failed");
  hcs_error_free(err);
}

int cli_open(const cli_ctx_t *ctx, const char *prog, hcs_t **out) {
  hcs_options_t o = {.state_dir = ctx->state_dir};
  hcs_error_t *err = NULL;
  if (hcs_open(out, &o, &err) != HCS_OK) {
    cli_print_error(prog, err);
    return -1;
  }
  return 0;
}

int cli_parse_ms(const char *prog, const char *opt, const char *text,
                 uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' ||
      v >= HCS_TIMEOUT_INFINITE) {
    fprintf(stderr, "%s: %s %s: expected milliseconds (0-%u)\n", prog, opt,
            text, HCS_TIMEOUT_INFINITE - 1);
    return -1;
  }
  *out = (uint32_t)v;
  return 0;
}

int cli_parse_int(const char *prog, const char *what, const char *text, int min,
                  int max, int *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || v < min ||
      v > max) {
    fprintf(stderr, "%s: %s %s: expected a number from %d to %d\n", prog, what,
            text, min, max);
    return -1;
  }
  *out = (int)v;
  return 0;
}

/* The input is a configuration or a request: a few KiB. The cap keeps a
 * mistaken `< /dev/zero` from eating the memory. */
#define CLI_INPUT_MAX (16u << 20)

char *cli_read_text(const char *prog, const char *path) {
  int stdin_ = strcmp(path, "-") == 0;
  FILE *f = stdin_ ? stdin : fopen(path, "re");
  if (f == NULL) {
    fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  int failed = buf == NULL;
  while (!failed) {
    if (len + 1 == cap) {
      char *n = cap < CLI_INPUT_MAX ? realloc(buf, cap * 2) : NULL;
      if (n == NULL) {
        fprintf(stderr, "%s: %s: more than %u bytes\n", prog,
                stdin_ ? "stdin" : path, CLI_INPUT_MAX);
        failed = 1;
        break;
      }
      buf = n;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - 1 - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f)) {
        fprintf(stderr, "%s: %s: %s\n", prog, stdin_ ? "stdin" : path,
                strerror(errno));
        failed = 1;
      }
      break;
    }
  }
  if (!stdin_) {
    fclose(f);
  }
  if (failed) {
    free(buf);
    return NULL;
  }
  buf[len] = '\0';
  if (strlen(buf) != len) {
    fprintf(stderr, "%s: %s: contains a NUL byte\n", prog,
            stdin_ ? "stdin" : path);
    free(buf);
    return NULL;
  }
  return buf;
}

void cli_print_json(const char *text) {
  size_t n = strlen(text);
  fputs(text, stdout);
  if (n == 0 || text[n - 1] != '\n') {
    fputc('\n', stdout);
  }
}

int cli_strv_add(cli_strv_t *sv, const char *prog, const char *s) {
  const char **n = realloc(sv->v, (sv->n + 2) * sizeof(char *));
  if (n == NULL) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return -1;
  }
  sv->v = n;
  sv->v[sv->n++] = s;
  sv->v[sv->n] = NULL;
  return 0;
}

int cli_env_set(cli_strv_t *env, const char *prog, const char *kv) {
  const char *eq = strchr(kv, '=');
  if (eq == NULL || eq == kv) {
    fprintf(stderr, "%s: -e %s: expected NAME=value\n", prog, kv);
    return -1;
  }
  size_t klen = (size_t)(eq - kv) + 1;
  for (size_t i = 0; i < env->n; i++) {
    if (strncmp(env->v[i], kv, klen) == 0) {
      env->v[i] = kv;
      return 0;
    }
  }
  return cli_strv_add(env, prog, kv);
}

void cli_strv_free(cli_strv_t *sv) {
  free(sv->v);
  sv->v = NULL;
  sv->n = 0;
}
