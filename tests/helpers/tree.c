/* SPDX-License-Identifier: MIT */
/* tree MODE N: forks N grandchildren that keep the inherited stdout and
 * stderr open, each in the parent's process group, prints their pids one
 * a line, then waits for them (MODE "wait") or exits at once (MODE
 * "exit"). A grandchild writes nothing and ends by a signal, or after 60 s
 * so that a failed test leaves nothing behind for long. MODE "setsid-wait"
 * or "setsid-exit": the grandchildren leave for sessions of their own. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    return 2;
  }
  int n = atoi(argv[2]);
  const char *mode = argv[1];
  int own_session = strncmp(mode, "setsid-", 7) == 0;
  if (own_session) {
    mode += 7;
  }
  for (int i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      return 3;
    }
    if (pid == 0) {
      if (own_session) {
        (void)setsid();
      }
      alarm(60);
      for (;;) {
        pause();
      }
    }
    printf("%d\n", (int)pid);
  }
  fflush(stdout);
  if (strcmp(mode, "wait") == 0) {
    while (wait(NULL) > 0) {
    }
  }
  return 0;
}
