/* SPDX-License-Identifier: MIT */
/* hostile: an attacker's programs in a container
 * (tests/test_oci_userns_attack.c); each prints PATH's first line, or
 * "STEP: ERROR" at the step that failed.
 *   hostile suid PATH: run set-user-ID; prints "euid N" first.
 *   hostile escape DIR PATH: the classic way out of a chroot: chroots into
 *     DIR while the working directory stays outside it, climbs "..",
 *     chroots into where it ended and reads PATH there. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *step) {
  printf("%s: %s\n", step, strerror(errno));
  return 1;
}

static int escape(const char *dir) {
  if (chroot(dir) != 0) {
    return fail("chroot");
  }
  for (int i = 0; i < 64; i++) {
    (void)!chdir("..");
  }
  return chroot(".") != 0 ? fail("chroot") : 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "suid") == 0) {
    printf("euid %d\n", (int)geteuid());
  } else if (argc != 4 || strcmp(argv[1], "escape") != 0) {
    return 2;
  } else if (escape(argv[2]) != 0) {
    return 1;
  }
  FILE *f = fopen(argv[argc - 1], "re");
  if (f == NULL) {
    return fail("open");
  }
  char line[256] = "";
  if (fgets(line, sizeof(line), f) != NULL) {
    fputs(line, stdout);
  }
  fclose(f);
  return 0;
}
