/* SPDX-License-Identifier: MIT */
/* cli_winsz: puts its console (fd 0) in raw mode, prints "SIZE ROWS COLS\n"
 * from TIOCGWINSZ, then reads stdin a byte at a time: 'q' or EOF ends it
 * (exit 0), CR and LF are ignored, any other byte prints the size again.
 * The size is read when the byte arrives, so a resize made before the
 * byte was sent shows. Exits 3 when fd 0 is not a terminal. */
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static int print_size(void) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) != 0) {
    return -1;
  }
  printf("SIZE %u %u\n", ws.ws_row, ws.ws_col);
  return fflush(stdout);
}

int main(void) {
  struct termios t;
  if (tcgetattr(0, &t) != 0) {
    return 3;
  }
  cfmakeraw(&t);
  if (tcsetattr(0, TCSANOW, &t) != 0 || print_size() != 0) {
    return 3;
  }
  for (;;) {
    char c;
    ssize_t n = read(0, &c, 1);
    if (n <= 0 || c == 'q') {
      return 0;
    }
    if (c != '\r' && c != '\n' && print_size() != 0) {
      return 3;
    }
  }
}
