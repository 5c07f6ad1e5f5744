/* SPDX-License-Identifier: MIT */
/* cli_argv: prints every argv element, argv[0] included, one a line as
 * "[ARG]", so that empty arguments and blanks show. */
#include <stdio.h>

int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    printf("[%s]\n", argv[i]);
  }
  return fflush(stdout) == 0 ? 0 : 3;
}
