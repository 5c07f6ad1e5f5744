/* SPDX-License-Identifier: MIT */
/* sigstate: prints the SigBlk, SigIgn and SigCgt lines of its own
 * /proc/self/status, the signal state it was started with (a static
 * program installs no handler of its own before main). */
#include <stdio.h>
#include <string.h>

int main(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) {
    return 2;
  }
  char line[256];
  int n = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, "SigBlk:", 7) == 0 || strncmp(line, "SigIgn:", 7) == 0 ||
        strncmp(line, "SigCgt:", 7) == 0) {
      fputs(line, stdout);
      n++;
    }
  }
  fclose(f);
  return n == 3 ? 0 : 3;
}
