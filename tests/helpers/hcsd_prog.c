/* SPDX-License-Identifier: MIT */
/* hcsd_prog: the program inside the image the hcsd e2e suite loads with
 * `docker load` (a static binary alone in its layer, as in hello-world).
 *   hcsd_prog exit CODE [OUT [ERR]]  writes OUT to stdout and ERR to stderr
 *                                    (no newline added), exits with CODE
 *   hcsd_prog segv                   dies of a real SIGSEGV (a fault the
 *                                    kernel delivers even to a pid 1) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "segv") == 0) {
    /* An address the compiler cannot prove null (a literal NULL store
     * may be compiled into a trap instruction, SIGILL). */
    volatile uintptr_t addr = 8;
    *(volatile int *)addr = 1;
    return 250;
  }
  if (argc < 3 || strcmp(argv[1], "exit") != 0) {
    static const char usage[] =
        "usage: hcsd_prog exit CODE [OUT [ERR]] | segv\n";
    (void)!write(2, usage, sizeof(usage) - 1);
    return 253;
  }
  if (argc > 3 && write(1, argv[3], strlen(argv[3])) < 0) {
    return 252;
  }
  if (argc > 4 && write(2, argv[4], strlen(argv[4])) < 0) {
    return 252;
  }
  return (int)strtol(argv[2], NULL, 10);
}
