/* SPDX-License-Identifier: MIT */
/* moby's list filters: parse and the shared matches (filters.h). */
#include "hcsd/model/filters.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

/* One key's values as an array of strings: from ["a","b"] or
 * {"a":true,"b":true}; NULL when they are neither. */
static json_t *values_of(json_t *v) {
  json_t *out = json_array();
  if (json_is_array(v)) {
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
      if (!json_is_string(s)) {
        json_decref(out);
        return NULL;
      }
      json_array_append(out, s);
    }
  } else if (json_is_object(v)) {
    const char *k;
    json_t *b;
    json_object_foreach(v, k, b) { json_array_append_new(out, json_string(k)); }
  } else {
    json_decref(out);
    return NULL;
  }
  return out;
}

static bool key_known(const char *key, const char *const *keys, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(key, keys[i]) == 0) {
      return true;
    }
  }
  return false;
}

int hcsd__filters_parse(const char *text, const char *const *keys, size_t nkeys,
                        json_t **out, char *msg, size_t n) {
  *out = json_object();
  if (text == NULL || text[0] == '\0') {
    return 0;
  }
  json_error_t je;
  json_t *in = json_loads(text, 0, &je);
  if (!json_is_object(in)) {
    snprintf(msg, n, "invalid filters: %s",
             in == NULL ? je.text : "not a JSON object");
    goto fail;
  }
  const char *key;
  json_t *v;
  json_object_foreach(in, key, v) {
    if (!key_known(key, keys, nkeys)) {
      snprintf(msg, n, "Invalid filter '%s'", key);
      goto fail;
    }
    json_t *vals = values_of(v);
    if (vals == NULL) {
      snprintf(msg, n, "invalid filters: the values of '%s'", key);
      goto fail;
    }
    json_object_set_new(*out, key, vals);
  }
  json_decref(in);
  return 0;
fail:
  json_decref(in);
  json_decref(*out);
  *out = NULL;
  return -1;
}

bool hcsd__filters_label(const json_t *labels, const char *want) {
  const char *eq = strchr(want, '=');
  char key[512];
  snprintf(key, sizeof(key), "%.*s",
           (int)(eq != NULL ? (size_t)(eq - want) : strlen(want)), want);
  const char *have = json_string_value(json_object_get(labels, key));
  return have != NULL && (eq == NULL || strcmp(have, eq + 1) == 0);
}

bool hcsd__filters_labels(const json_t *f, const json_t *labels) {
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(f, "label"), i, s) {
    if (!hcsd__filters_label(labels, json_string_value(s))) {
      return false;
    }
  }
  return true;
}

bool hcsd__filters_regex(const char *re, const char *s) {
  regex_t rx;
  if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) {
    return false;
  }
  bool hit = regexec(&rx, s, 0, NULL, 0) == 0;
  regfree(&rx);
  return hit;
}
