/* SPDX-License-Identifier: MIT */
/* manifest.json of docker load (src/hcsd/model/imgload.c): any bytes are
 * an array of images, or refused with a reason. */
#include "hcsd/model/imgint.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char why[200];
  why[0] = '\0';
  json_t *m =
      hcsd__img_manifest_parse((const char *)data, size, why, sizeof(why));
  if (m == NULL ? why[0] == '\0' : !json_is_array(m)) {
    abort();
  }
  json_decref(m);
  return 0;
}
