/* SPDX-License-Identifier: MIT */
/* Option structs that grow: hcs__opts_copy (opts.h). */
#include "hcs/api/opts.h"

#include "hcs/api/error.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int hcs__opts_copy(void *out, size_t known, size_t first, const void *in) {
  memset(out, 0, known);
  if (in == NULL) {
    return 0;
  }
  uint32_t size;
  memcpy(&size, in, sizeof(size));
  size_t n = size == 0 ? first : size;
  if (n < first) {
    return -EINVAL;
  }
  const unsigned char *b = in;
  for (size_t i = known; i < n; i++) {
    if (b[i] != 0) {
      return -E2BIG;
    }
  }
  memcpy(out, in, n < known ? n : known);
  ((uint32_t *)out)[0] = (uint32_t)known;
  return 0;
}

hcs_result_t hcs__opts_in(void *out, size_t known, const void *in,
                          const char *type, const char *op, const char *obj,
                          hcs_error_t **err) {
  return hcs__opts_in_first(out, known, known, in, type, op, obj, err);
}

hcs_result_t hcs__opts_in_first(void *out, size_t known, size_t first,
                                const void *in, const char *type,
                                const char *op, const char *obj,
                                hcs_error_t **err) {
  int e = hcs__opts_copy(out, known, first, in);
  if (e != 0) {
    uint32_t size;
    memcpy(&size, in, sizeof(size));
    return hcs__fail(err, HCS_WSAEINVAL, op, obj, -e,
                     "%s: size %u unknown, or it asks for fields this hcs "
                     "(%s) lacks",
                     type, (unsigned)size, HCS_VERSION_STRING);
  }
  return HCS_OK;
}
