/* SPDX-License-Identifier: MIT */
/* forker: forks a grandchild that keeps the inherited stdout open for 30 s
 * (in its own process group), prints the grandchild's pid, and exits at
 * once. The grandchild writes nothing. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  pid_t pid = fork();
  if (pid < 0) {
    return 3;
  }
  if (pid == 0) {
    (void)setpgid(0, 0);
    struct timespec ts = {.tv_sec = 30};
    while (nanosleep(&ts, &ts) != 0) {
    }
    _exit(0);
  }
  printf("%d\n", (int)pid);
  fflush(stdout);
  _exit(0);
}
