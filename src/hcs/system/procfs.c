/* SPDX-License-Identifier: MIT */
/* Fields of /proc/PID/stat (proc(5)). */
#include "hcs/system/procfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned long long hcs__proc_stat_field(pid_t pid, int field) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) {
    return 0;
  }
  buf[n] = '\0';
  /* Fields after the command name (field 2), which may hold spaces and
   * ')': each pass lands on the space before the next field. */
  char *p = strrchr(buf, ')');
  for (int f = 2; p != NULL && f < field; f++) {
    p = strchr(p + 1, ' ');
  }
  return p != NULL && field > 2 ? strtoull(p + 1, NULL, 10) : 0;
}

unsigned long long hcs__proc_start_time(pid_t pid) {
  return hcs__proc_stat_field(pid, 22);
}
