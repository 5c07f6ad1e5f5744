/* SPDX-License-Identifier: MIT */
/* Console pairs: the one place that knows ptmx, grantpt and TIOCSWINSZ. */
#include "async/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int as__pty_open(int *master, int *slave, uint16_t rows, uint16_t cols,
                 const char *ptmx) {
  int m = ptmx != NULL ? open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC)
                       : posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) {
    return -errno;
  }
  int err;
  if (unlockpt(m) != 0) {
    err = -errno;
    goto close_master;
  }
  /* TIOCGPTPEER (Linux 4.13) opens the peer of this very master, with no
   * path lookup that a concurrent /dev/pts change could redirect. */
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    char name[64];
    if (ptsname_r(m, name, sizeof(name)) != 0) {
      err = -errno;
      goto close_master;
    }
    s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
      err = -errno;
      goto close_master;
    }
  }
  if (rows != 0 && cols != 0) {
    err = as__pty_resize(m, rows, cols);
    if (err != 0) {
      close(s);
      goto close_master;
    }
  }
  *master = m;
  *slave = s;
  return 0;

close_master:
  close(m);
  return err;
}

int as__pty_resize(int master, uint16_t rows, uint16_t cols) {
  struct winsize ws = {.ws_row = rows, .ws_col = cols};
  if (ioctl(master, TIOCSWINSZ, &ws) != 0) {
    return -errno;
  }
  return 0;
}
