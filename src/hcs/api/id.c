/* SPDX-License-Identifier: MIT */
/* Ids: the rule of api/id.h. */
#include "hcs/api/id.h"

#include <stddef.h>

int hcs__id_valid(const char *id) {
  if (id == NULL || id[0] == '\0' || id[0] == '.' || id[0] == '-') {
    return 0;
  }
  size_t n = 0;
  for (const char *p = id; *p != '\0'; p++, n++) {
    char c = *p;
    if (n >= 128 ||
        !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
      return 0;
    }
  }
  return 1;
}
