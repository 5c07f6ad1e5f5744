/* SPDX-License-Identifier: MIT */
/* cli_exit CODE [OUT [ERR]]: writes OUT to stdout and ERR to stderr (no
 * newline added), then exits with CODE (0-255), or, for a negative CODE,
 * kills itself with signal -CODE (exit 254 if it survives). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    return 253;
  }
  if (argc > 2 && write(1, argv[2], strlen(argv[2])) < 0) {
    return 252;
  }
  if (argc > 3 && write(2, argv[3], strlen(argv[3])) < 0) {
    return 252;
  }
  long n = strtol(argv[1], NULL, 10);
  if (n < 0) {
    raise((int)-n);
    return 254;
  }
  return (int)n;
}
