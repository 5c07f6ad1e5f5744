/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the compute-system configuration parser. Any input
 * either parses, prints and parses back to the same text, or is refused
 * with an error object; nothing leaks or crashes. */
#include "hcs/system/config.h"

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
  hcs__config_t cfg;
  hcs_error_t *err = NULL;
  if (hcs__config_parse(text, &cfg, "id=fuzz", &err) == HCS_OK) {
    char *out = hcs__config_json(&cfg);
    hcs__config_t again;
    if (out == NULL || hcs__config_parse(out, &again, "id=fuzz", NULL)) {
      abort(); /* a printed configuration must parse back */
    }
    char *out2 = hcs__config_json(&again);
    if (out2 == NULL || strcmp(out, out2) != 0) {
      abort();
    }
    hcs_free(out);
    hcs_free(out2);
    hcs__config_free(&again);
    hcs__config_free(&cfg);
  } else if (err == NULL || hcs_error_message(err) == NULL) {
    abort(); /* a refusal always says why */
  }
  hcs_error_free(err);
  free(text);
  return 0;
}
