/* SPDX-License-Identifier: MIT */
/* The container create body decoded into the model's spec
 * (src/hcsd/model/spec.c): any bytes are a spec with an image, or a 400
 * that names why. */
#include "hcsd/model/spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hcsd_ctr_spec_t spec;
  hcsd_err_t e;
  if (hcsd_ctr_spec_decode((const char *)data, size, &spec, &e) != 0) {
    if (e.status != 400 || e.msg[0] == '\0') {
      abort();
    }
    return 0;
  }
  if (spec.image == NULL || spec.image[0] == '\0' || spec.config == NULL ||
      spec.host_config == NULL || spec.net_mode == NULL) {
    abort();
  }
  hcsd_ctr_spec_clear(&spec);
  return 0;
}
