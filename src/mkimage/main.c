/* hcs-mkimage: makes the built-in base image at build time (CMake target
 * hcs_images): `hcs-mkimage HOME BUSYBOX` (re)makes layer "busybox" in the
 * layer store HOME from the static busybox at BUSYBOX. */
#include <hcs.h>

#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 3 || argv[1][0] != '/') {
    fprintf(stderr, "usage: hcs-mkimage HOME BUSYBOX (HOME absolute)\n");
    return 2;
  }
  hcs_error_t *err = NULL;
  if (hcs_make_base_image(argv[1], HCS_DEFAULT_IMAGE, argv[2], &err) !=
      HCS_OK) {
    fprintf(stderr, "hcs-mkimage: %s\n", hcs_error_message(err));
    hcs_error_free(err);
    return 1;
  }
  return 0;
}
