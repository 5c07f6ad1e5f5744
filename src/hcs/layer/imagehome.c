/* SPDX-License-Identifier: MIT */
/* Where the built-in base image is found at run time (hcs.h,
 * hcs_default_image_home): HCS_IMAGE_HOME from the environment; else the
 * image installed beside this code, <prefix>/<datadir>/hcs/images, the
 * prefix read off the file that holds this code (libhcs.so in
 * <prefix>/<libdir>, or a program linked with libhcs.a in <prefix>/bin or
 * <prefix>/sbin); else the build tree's. */
#include <hcs.h>

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HCS_DEFAULT_IMAGE_HOME
#define HCS_DEFAULT_IMAGE_HOME "/usr/share/hcs/images"
#endif
#ifndef HCS_INSTALL_LIBDIR
#define HCS_INSTALL_LIBDIR "lib"
#endif
#ifndef HCS_INSTALL_BINDIR
#define HCS_INSTALL_BINDIR "bin"
#endif
#ifndef HCS_INSTALL_SBINDIR
#define HCS_INSTALL_SBINDIR "sbin"
#endif
#ifndef HCS_INSTALL_DATADIR
#define HCS_INSTALL_DATADIR "share"
#endif

/* Computed once: one of the documented process-wide values (docs/STYLE.md). */
static char image_home[PATH_MAX];
static pthread_once_t image_home_once = PTHREAD_ONCE_INIT;

/* The directory of the file this code was loaded from, or "" . */
static void code_dir(char *out, size_t n) {
  Dl_info info;
  char real[PATH_MAX];
  out[0] = '\0';
  if (dladdr((void *)hcs_default_image_home, &info) == 0 ||
      info.dli_fname == NULL || realpath(info.dli_fname, real) == NULL) {
    /* A program linked with libhcs.a: dladdr may name it as it was run. */
    ssize_t k = readlink("/proc/self/exe", real, sizeof(real) - 1);
    if (k <= 0) {
      return;
    }
    real[k] = '\0';
  }
  char *slash = strrchr(real, '/');
  if (slash != NULL) {
    *slash = '\0';
    snprintf(out, n, "%s", real);
  }
}

/* dir minus its tail "/sub", or NULL when it does not end so. */
static const char *strip_tail(char *dir, const char *sub) {
  size_t d = strlen(dir), s = strlen(sub);
  if (s == 0 || d <= s + 1 || dir[d - s - 1] != '/' ||
      strcmp(dir + d - s, sub) != 0) {
    return NULL;
  }
  dir[d - s - 1] = '\0';
  return dir;
}

static void image_home_find(void) {
  const char *env = getenv("HCS_IMAGE_HOME");
  if (env != NULL && env[0] == '/') {
    snprintf(image_home, sizeof(image_home), "%s", env);
    return;
  }
  static const char *const tails[] = {HCS_INSTALL_LIBDIR, HCS_INSTALL_BINDIR,
                                      HCS_INSTALL_SBINDIR};
  for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
    char dir[PATH_MAX], probe[PATH_MAX + 64];
    code_dir(dir, sizeof(dir));
    const char *prefix = strip_tail(dir, tails[i]);
    if (prefix == NULL) {
      continue;
    }
    snprintf(probe, sizeof(probe), "%s/%s/hcs/images/%s/layer.json", prefix,
             HCS_INSTALL_DATADIR, HCS_DEFAULT_IMAGE);
    if (access(probe, F_OK) == 0) {
      snprintf(image_home, sizeof(image_home), "%s/%s/hcs/images", prefix,
               HCS_INSTALL_DATADIR);
      return;
    }
  }
  snprintf(image_home, sizeof(image_home), "%s", HCS_DEFAULT_IMAGE_HOME);
}

const char *hcs_default_image_home(void) {
  pthread_once(&image_home_once, image_home_find);
  return image_home;
}
