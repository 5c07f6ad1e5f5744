/* Small helpers shared by hcsd's modules. */
#include "hcsd/util.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

void hcsd_random_id(char out[65]) {
  uint8_t b[32];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
    if (n > 0) {
      got += (size_t)n;
    }
  }
  for (size_t i = 0; i < sizeof(b); i++) {
    snprintf(out + 2 * i, 3, "%02x", b[i]);
  }
  out[64] = '\0';
}

char *hcsd_message_json(const char *text) {
  json_t *o = json_pack("{s:s}", "message", text != NULL ? text : "");
  char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}
