/* SPDX-License-Identifier: MIT */
/* A cgroup v1 file of a container's process, read on the host, for the
 * hcsd suites that check what reached its groups. */
#ifndef HCS_TESTS_HCSD_CGROUP_H
#define HCS_TESTS_HCSD_CGROUP_H

#include "hcsd_e2e.h"

/* The value of a cgroup v1 file of the group of pid in controller ctrl,
 * read on the host; false when that hierarchy is not there. */
HE_UNUSED static bool cgroup_v1_read(int pid, const char *ctrl,
                                     const char *file, char *out, size_t n) {
  char path[512], line[512];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
  FILE *f = fopen(path, "re");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  bool ok = false;
  while (!ok && fgets(line, sizeof(line), f) != NULL) {
    char ctrls[128], grp[384];
    if (sscanf(line, "%*d:%127[^:]:%383s", ctrls, grp) != 2 ||
        strcmp(ctrls, ctrl) != 0 || strcmp(grp, "/") == 0) {
      continue;
    }
    snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/%s", ctrl, grp, file);
    FILE *g = fopen(path, "re");
    if (g != NULL) {
      ok = fgets(out, (int)n, g) != NULL;
      out[strcspn(out, "\n")] = '\0';
      fclose(g);
    }
  }
  fclose(f);
  return ok;
}

#endif
