/* SPDX-License-Identifier: MIT */
/* cli_sleeper [ignore-term]: optionally ignores SIGTERM, then prints
 * "ready\n" (so a reader knows the disposition is in place) and sleeps until
 * a signal kills it. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "ignore-term") == 0) {
    signal(SIGTERM, SIG_IGN);
  }
  if (write(1, "ready\n", 6) != 6) {
    /* stdout may be /dev/null or closed: nobody is waiting then. */
  }
  for (;;) {
    pause();
  }
}
