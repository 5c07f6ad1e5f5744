/* SPDX-License-Identifier: MIT */
/* The licence (LICENSE, MIT) is named in every source file: each C file,
 * header, CMake file, Makefile, script, export map, template, unit, man
 * page and completion of the tree carries "SPDX-License-Identifier: MIT" in
 * its first three lines. Data (test corpora, conformance documents) and
 * docs/ are not source. */
#include "test_hcs_util.h"

#include <fnmatch.h>
#include <sys/stat.h>

#define SPDX "SPDX-License-Identifier: MIT"

static const char *const roots[] = {
    "include", "src",       "tests", "bench", "examples", "cmake",
    "scripts", "packaging", "man",   ".ci",   "Makefile", "CMakeLists.txt",
    NULL};
static const char *const skipped[] = {"tests/fuzz/corpus", "tests/conformance",
                                      NULL};
static const char *const patterns[] = {"*.c",
                                       "*.h",
                                       "*.cmake",
                                       "*.sh",
                                       "*.map",
                                       "*.in",
                                       "*.service",
                                       "*.socket",
                                       "*.1",
                                       "*.8",
                                       "CMakeLists.txt",
                                       "Makefile",
                                       "run",
                                       "deb-*",
                                       "*/bash-completion/*",
                                       NULL};

static bool is_source(const char *rel) {
  const char *base = strrchr(rel, '/');
  base = base != NULL ? base + 1 : rel;
  for (const char *const *p = patterns; *p != NULL; p++) {
    if (fnmatch(*p, strchr(*p, '/') != NULL ? rel : base, 0) == 0) {
      return true;
    }
  }
  return false;
}

/* Whether the first three lines of path name the licence. */
static bool has_spdx(const char *path) {
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  char line[512];
  bool found = false;
  for (int i = 0; i < 3 && !found && fgets(line, sizeof(line), f) != NULL;
       i++) {
    found = strstr(line, SPDX) != NULL;
  }
  fclose(f);
  return found;
}

/* Walks rel (a file or folder under the source dir), adding each source
 * file without the line to missing; counts the files checked. */
static void walk(const char *rel, th_buf_t *missing, int *checked) {
  for (const char *const *s = skipped; *s != NULL; s++) {
    if (strcmp(rel, *s) == 0) {
      return;
    }
  }
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", HCS_SOURCE_DIR, rel);
  struct stat st;
  if (lstat(path, &st) != 0) {
    return; /* a root this tree does not have */
  }
  if (S_ISREG(st.st_mode)) {
    if (is_source(rel)) {
      (*checked)++;
      if (!has_spdx(path)) {
        th_buf_add(missing, rel, strlen(rel));
        th_buf_add(missing, "\n", 1);
      }
    }
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    return;
  }
  DIR *d = opendir(path);
  cr_assert_not_null(d, "%s: %s", path, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' && strcmp(e->d_name, ".ci") != 0) {
      continue;
    }
    char sub[PATH_MAX];
    snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
    walk(sub, missing, checked);
  }
  closedir(d);
}

Test(spdx, every_source_file_names_the_licence) {
  char licence[PATH_MAX];
  snprintf(licence, sizeof(licence), "%s/LICENSE", HCS_SOURCE_DIR);
  FILE *f = fopen(licence, "r");
  cr_assert_not_null(f, "LICENSE: %s", strerror(errno));
  char first[64] = "";
  cr_assert_not_null(fgets(first, sizeof(first), f));
  fclose(f);
  cr_assert(strncmp(first, "MIT License", 11) == 0, "LICENSE starts: %s",
            first);

  th_buf_t missing = {0};
  int checked = 0;
  for (const char *const *r = roots; *r != NULL; r++) {
    walk(*r, &missing, &checked);
  }
  cr_assert_gt(checked, 200, "only %d source files found", checked);
  cr_assert(missing.p == NULL, "without \"%s\":\n%s", SPDX, missing.p);
}
