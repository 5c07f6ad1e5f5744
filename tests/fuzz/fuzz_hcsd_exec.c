/* SPDX-License-Identifier: MIT */
/* The exec create body decoded into the model's spec
 * (src/hcsd/model/spec.c): any bytes are a spec with a command, or an
 * error that names why. */
#include "hcsd/model/spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hcsd_exec_spec_t spec;
  hcsd_err_t e;
  if (hcsd_exec_spec_decode((const char *)data, size, &spec, &e) != 0) {
    if (e.status == 0 || e.msg[0] == '\0') {
      abort();
    }
    return 0;
  }
  if (spec.argv == NULL) {
    abort();
  }
  hcsd_exec_spec_clear(&spec);
  return 0;
}
