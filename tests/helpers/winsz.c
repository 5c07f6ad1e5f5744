/* SPDX-License-Identifier: MIT */
/* winsz: prints the console size of fd 0 as "ROWS COLS\n", waits for
 * SIGWINCH, prints the size again and exits. SIGWINCH is blocked before the
 * first print, so a resize that follows the first line cannot be missed. */
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

static volatile sig_atomic_t winched;

static void on_winch(int sig) {
  (void)sig;
  winched = 1;
}

static int print_size(void) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) != 0) {
    return -1;
  }
  printf("%u %u\n", ws.ws_row, ws.ws_col);
  fflush(stdout);
  return 0;
}

int main(void) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGWINCH);
  sigprocmask(SIG_BLOCK, &block, &old);
  struct sigaction sa = {.sa_handler = on_winch};
  sigaction(SIGWINCH, &sa, NULL);
  if (print_size() != 0) {
    return 3;
  }
  while (!winched) {
    sigsuspend(&old);
  }
  return print_size() != 0 ? 3 : 0;
}
