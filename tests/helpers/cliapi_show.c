/* SPDX-License-Identifier: MIT */
/* cliapi_show STATUS [NAME...]: prints "cwd=DIR", then "NAME=value" or
 * "NAME unset" for each NAME on stdout, "stderr STATUS" on stderr, and
 * exits with STATUS.
 * cliapi_show pause: blocks until a signal kills it. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    return 253;
  }
  if (strcmp(argv[1], "pause") == 0) {
    for (;;) {
      pause();
    }
  }
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == NULL) {
    return 252;
  }
  printf("cwd=%s\n", cwd);
  for (int i = 2; i < argc; i++) {
    const char *v = getenv(argv[i]);
    if (v != NULL) {
      printf("%s=%s\n", argv[i], v);
    } else {
      printf("%s unset\n", argv[i]);
    }
  }
  fflush(stdout);
  fprintf(stderr, "stderr %s\n", argv[1]);
  return atoi(argv[1]);
}
