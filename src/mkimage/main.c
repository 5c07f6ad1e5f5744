/* SPDX-License-Identifier: MIT */
/* hcs-mkimage: makes the built-in base image at build time (CMake target
 * hcs_images): `hcs-mkimage HOME BUSYBOX` (re)makes layer "busybox" in the
 * layer store HOME from the static busybox at BUSYBOX. */
#include <hcs.h>

#include <getopt.h>
#include <stdio.h>

static void usage(FILE *f) {
  fprintf(f, "usage: hcs-mkimage HOME BUSYBOX (HOME absolute)\n"
             "       hcs-mkimage --version\n"
             "(Re)makes layer \"" HCS_DEFAULT_IMAGE "\" in the layer store "
             "HOME from the static\nbusybox at BUSYBOX.\n");
}

int main(int argc, char **argv) {
  static const struct option longs[] = {{"help", no_argument, 0, 'h'},
                                        {"version", no_argument, 0, 'V'},
                                        {0, 0, 0, 0}};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    if (c == 'V') {
      printf("hcs-mkimage %s\n", HCS_VERSION_STRING);
      return 0;
    }
    if (optopt != 0) {
      fprintf(stderr, "hcs-mkimage: unknown option -%c\n", optopt);
    } else {
      fprintf(stderr, "hcs-mkimage: unknown option %s\n", argv[optind - 1]);
    }
    usage(stderr);
    return 2;
  }
  if (argc - optind != 2 || argv[optind][0] != '/') {
    usage(stderr);
    return 2;
  }
  const char *home = argv[optind], *busybox = argv[optind + 1];
  hcs_error_t *err = NULL;
  if (hcs_make_base_image(home, HCS_DEFAULT_IMAGE, busybox, &err) != HCS_OK) {
    fprintf(stderr, "hcs-mkimage: %s\n", hcs_error_message(err));
    hcs_error_free(err);
    return 1;
  }
  return 0;
}
