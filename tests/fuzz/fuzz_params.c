/* SPDX-License-Identifier: MIT */
/* libFuzzer target: CreateProcessParams JSON. Parses, prints, parses back
 * equal; or is refused with an error and returns nothing. */
#include <hcs.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) {
    return 0;
  }
  memcpy(text, data, size);
  text[size] = '\0';
  hcs_process_params_t *p = NULL;
  hcs_error_t *err = NULL;
  if (hcs_process_params_from_json(text, &p, &err) == HCS_OK) {
    char *out = hcs_process_params_json(p);
    hcs_process_params_t *q = NULL;
    if (out == NULL || hcs_process_params_from_json(out, &q, NULL) != HCS_OK) {
      abort();
    }
    char *out2 = hcs_process_params_json(q);
    if (out2 == NULL || strcmp(out, out2) != 0) {
      abort();
    }
    hcs_free(out);
    hcs_free(out2);
    hcs_process_params_free(q);
    hcs_process_params_free(p);
  } else if (p != NULL || err == NULL) {
    abort();
  }
  hcs_error_free(err);
  free(text);
  return 0;
}
