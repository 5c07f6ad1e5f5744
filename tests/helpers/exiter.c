/* SPDX-License-Identifier: MIT */
/* exiter N: exits with status N (0-255).
 * exiter -N: kills itself with signal N; exits 254 if it survives (the
 * signal was ignored or blocked where the engine promised defaults).
 * exiter segv: dies of a real invalid memory access. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    _exit(253);
  }
  if (strcmp(argv[1], "segv") == 0) {
    volatile int *p = NULL;
    *p = 1;
    _exit(254);
  }
  long n = strtol(argv[1], NULL, 10);
  if (n < 0) {
    raise((int)-n);
    _exit(254);
  }
  _exit((int)n);
}
