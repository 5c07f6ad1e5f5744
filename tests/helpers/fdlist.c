/* SPDX-License-Identifier: MIT */
/* fdlist: prints, one a line, the number of every fd open in this process
 * except the directory fd used to list them. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) {
    return 3;
  }
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') {
      continue;
    }
    int fd = atoi(e->d_name);
    if (fd != self) {
      printf("%d\n", fd);
    }
  }
  closedir(d);
  return 0;
}
