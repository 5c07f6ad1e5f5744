/* SPDX-License-Identifier: MIT */
/* hcsd's query decoding (src/hcsd/http/parse.c): any query string, the
 * names hcsd asks for. A value is a NUL-terminated string no longer than
 * the query; a resize's size is 0-65535. */
#include "hcsd/http/parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"name", "all",   "filters", "h",
                                      "w",    "force", "",        "a b"};
  char *q = malloc(size + 1);
  if (q == NULL) {
    return 0;
  }
  memcpy(q, data, size);
  q[size] = '\0';
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char *v = hcsd_query_value(q, names[i]);
    if (v != NULL && strlen(v) > size) {
      abort();
    }
    free(v);
    (void)hcsd_query_flag(q, names[i]);
  }
  uint16_t rows = 0, cols = 0;
  (void)hcsd_query_hw(q, &rows, &cols);
  free(q);
  return 0;
}
