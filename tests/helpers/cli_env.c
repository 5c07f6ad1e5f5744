/* SPDX-License-Identifier: MIT */
/* cli_env: prints "cwd=DIR" (its working directory), then every environment
 * entry as "env=NAME=value", one a line. */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(void) {
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == NULL) {
    return 3;
  }
  printf("cwd=%s\n", cwd);
  for (char **e = environ; *e != NULL; e++) {
    printf("env=%s\n", *e);
  }
  return fflush(stdout) == 0 ? 0 : 3;
}
