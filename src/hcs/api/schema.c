/* SPDX-License-Identifier: MIT */
/* The strict JSON schema walker (see schema.h). */
#include "hcs/api/schema.h"

#include "hcs-async.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef char **strv_t;
typedef char *str_t;

#define AT(dst, off, type) ((type *)(void *)((char *)(dst) + (off)))
#define AT_C(dst, off, type)                                                   \
  ((const type *)(const void *)((const char *)(dst) + (off)))

static const char *type_name(hcs__ftype_t t) {
  switch (t) {
  case HCS__F_STR:
    return "a string";
  case HCS__F_BOOL:
    return "a boolean";
  case HCS__F_INT:
    return "an integer";
  case HCS__F_STRARR:
    return "an array of strings";
  case HCS__F_ENVMAP:
    return "an object of strings";
  case HCS__F_INTARR:
    return "an array of integers";
  case HCS__F_OBJARR:
    return "an array of objects";
  case HCS__F_RAW:
    return "JSON";
  }
  return "?";
}

typedef struct ctx_s {
  const char *op;
  const char *object;
  hcs_error_t **err;
} ctx_t;

static hcs_result_t bad(const ctx_t *c, const char *path, const char *name,
                        const char *why) {
  return hcs__fail(c->err, HCS_WSAEINVAL, c->op, c->object, EINVAL,
                   "%s%s%s: %s", path, path[0] != '\0' ? "." : "", name, why);
}

static hcs_result_t oom(const ctx_t *c) {
  return hcs__fail(c->err, HCS_ERROR_OUTOFMEMORY, c->op, c->object, ENOMEM,
                   "out of memory while parsing");
}

static void strv_free(char **v) {
  if (v == NULL) {
    return;
  }
  for (char **p = v; *p != NULL; p++) {
    as_free(*p);
  }
  as_free(v);
}

static int int_ok(const hcs__field_t *f, json_t *v, int64_t *out) {
  if (!json_is_integer(v)) {
    return 0;
  }
  json_int_t n = json_integer_value(v);
  if (n < f->min || n > f->max) {
    return -1;
  }
  *out = (int64_t)n;
  return 1;
}

static hcs_result_t parse_strarr(const ctx_t *c, const char *path,
                                 const hcs__field_t *f, json_t *v,
                                 char ***out) {
  size_t n = json_array_size(v);
  char **a = as_calloc(n + 1, sizeof(char *));
  if (a == NULL) {
    return oom(c);
  }
  *out = a;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(v, i);
    if (!json_is_string(e)) {
      char why[64];
      snprintf(why, sizeof(why), "item %zu must be a string", i);
      return bad(c, path, f->name, why);
    }
    if ((a[i] = as_strdup(json_string_value(e))) == NULL) {
      return oom(c);
    }
  }
  return HCS_OK;
}

static hcs_result_t parse_envmap(const ctx_t *c, const char *path,
                                 const hcs__field_t *f, json_t *v,
                                 char ***out) {
  size_t n = json_object_size(v), i = 0;
  char **a = as_calloc(n + 1, sizeof(char *));
  if (a == NULL) {
    return oom(c);
  }
  *out = a;
  const char *k;
  json_t *e;
  json_object_foreach(v, k, e) {
    if (!json_is_string(e)) {
      char why[160];
      snprintf(why, sizeof(why), "\"%.100s\" must be a string", k);
      return bad(c, path, f->name, why);
    }
    if (k[0] == '\0' || strchr(k, '=') != NULL) {
      char why[160];
      snprintf(why, sizeof(why), "\"%.100s\" is not a variable name", k);
      return bad(c, path, f->name, why);
    }
    const char *val = json_string_value(e);
    size_t len = strlen(k) + strlen(val) + 2;
    if ((a[i] = as_malloc(len)) == NULL) {
      return oom(c);
    }
    snprintf(a[i], len, "%s=%s", k, val);
    i++;
  }
  return HCS_OK;
}

static hcs_result_t parse_intarr(const ctx_t *c, const char *path,
                                 const hcs__field_t *f, json_t *v, void *dst) {
  size_t n = json_array_size(v);
  /* min is the exact item count; items must be 0..max. */
  if (n != (size_t)f->min) {
    char why[64];
    snprintf(why, sizeof(why), "must have %" PRId64 " items", f->min);
    return bad(c, path, f->name, why);
  }
  int64_t *items = AT(dst, f->off, int64_t);
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(v, i);
    if (!json_is_integer(e) || json_integer_value(e) < 0 ||
        json_integer_value(e) > f->max) {
      char why[96];
      snprintf(why, sizeof(why), "item %zu must be an integer 0-%" PRId64, i,
               f->max);
      return bad(c, path, f->name, why);
    }
    items[i] = (int64_t)json_integer_value(e);
  }
  *AT(dst, f->count_off, size_t) = n;
  return HCS_OK;
}

static hcs_result_t parse_objarr(const ctx_t *c, const char *path,
                                 const hcs__field_t *f, json_t *v, void *dst) {
  size_t n = json_array_size(v);
  const hcs__schema_t *sub = f->sub;
  char *items = as_calloc(n != 0 ? n : 1, sub->size);
  if (items == NULL) {
    return oom(c);
  }
  *AT(dst, f->off, void *) = items;
  /* The count grows item by item, so that a failure frees exactly what
   * was filled. */
  size_t *count = AT(dst, f->count_off, size_t);
  for (size_t i = 0; i < n; i++) {
    char sub_path[256];
    snprintf(sub_path, sizeof(sub_path), "%s%s%s[%zu]", path,
             path[0] != '\0' ? "." : "", f->name, i);
    json_t *e = json_array_get(v, i);
    *count = i + 1;
    if (!json_is_object(e)) {
      return hcs__fail(c->err, HCS_WSAEINVAL, c->op, c->object, EINVAL,
                       "%s: must be an object", sub_path);
    }
    hcs_result_t r = hcs__schema_parse(sub, e, items + i * sub->size, sub_path,
                                       c->op, c->object, c->err);
    if (r != HCS_OK) {
      return r;
    }
  }
  return HCS_OK;
}

/* The types Go holds in a slice, a map, a pointer or an interface, whose
 * nil it marshals as null. A string, a number or a bool is never null. */
static int null_is_absent(hcs__ftype_t t) {
  return t == HCS__F_STRARR || t == HCS__F_ENVMAP || t == HCS__F_OBJARR ||
         t == HCS__F_RAW;
}

/* Go's zero value of the field's type, as encoding/json writes it. */
static int json_is_zero(json_t *v) {
  switch (json_typeof(v)) {
  case JSON_STRING:
    return json_string_length(v) == 0;
  case JSON_FALSE:
  case JSON_NULL:
    return 1;
  case JSON_INTEGER:
    return json_integer_value(v) == 0;
  case JSON_REAL:
    return json_real_value(v) == 0.0;
  case JSON_ARRAY:
    return json_array_size(v) == 0;
  case JSON_OBJECT:
    return json_object_size(v) == 0;
  case JSON_TRUE:
    return 0;
  }
  return 0;
}

/* Parses one field's value into dst. */
static hcs_result_t parse_field(const ctx_t *c, const char *path,
                                const hcs__field_t *f, json_t *v, void *dst) {
  int ok = 0;
  switch (f->type) {
  case HCS__F_STR:
    if (json_is_string(v)) {
      char *s = as_strdup(json_string_value(v));
      if (s == NULL) {
        return oom(c);
      }
      *AT(dst, f->off, char *) = s;
      return HCS_OK;
    }
    break;
  case HCS__F_BOOL:
    if (json_is_boolean(v)) {
      *AT(dst, f->off, int) = json_is_true(v);
      return HCS_OK;
    }
    break;
  case HCS__F_INT:
    ok = int_ok(f, v, AT(dst, f->off, int64_t));
    if (ok < 0) {
      char why[96];
      snprintf(why, sizeof(why), "must be within %" PRId64 "-%" PRId64, f->min,
               f->max);
      return bad(c, path, f->name, why);
    }
    if (ok > 0) {
      return HCS_OK;
    }
    break;
  case HCS__F_STRARR:
    if (json_is_array(v)) {
      return parse_strarr(c, path, f, v, AT(dst, f->off, char **));
    }
    break;
  case HCS__F_ENVMAP:
    if (json_is_object(v)) {
      return parse_envmap(c, path, f, v, AT(dst, f->off, char **));
    }
    break;
  case HCS__F_INTARR:
    if (json_is_array(v)) {
      return parse_intarr(c, path, f, v, dst);
    }
    break;
  case HCS__F_OBJARR:
    if (json_is_array(v)) {
      return parse_objarr(c, path, f, v, dst);
    }
    break;
  case HCS__F_RAW: {
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *copy = text != NULL ? as_strdup(text) : NULL;
    free(text);
    if (copy == NULL) {
      return oom(c);
    }
    *AT(dst, f->off, char *) = copy;
    return HCS_OK;
  }
  }
  char why[64];
  snprintf(why, sizeof(why), "must be %s", type_name(f->type));
  return bad(c, path, f->name, why);
}

hcs_result_t hcs__schema_parse(const hcs__schema_t *sc, json_t *obj, void *dst,
                               const char *path, const char *op,
                               const char *object, hcs_error_t **err) {
  ctx_t c = {.op = op, .object = object, .err = err};
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    size_t i = 0;
    while (sc->fields[i].name != NULL && strcmp(sc->fields[i].name, key)) {
      i++;
    }
    const hcs__field_t *f = &sc->fields[i];
    if (f->name == NULL) {
      return bad(&c, path, key, "unknown field");
    }
    if ((json_is_null(v) && null_is_absent(f->type)) ||
        ((f->flags & HCS__ZERO_ABSENT) && json_is_zero(v))) {
      continue;
    }
    hcs_result_t r = parse_field(&c, path, f, v, dst);
    if (r != HCS_OK) {
      return r;
    }
    *AT(dst, sc->present_off, uint64_t) |= UINT64_C(1) << i;
  }
  for (size_t i = 0; sc->fields[i].name != NULL; i++) {
    if ((sc->fields[i].flags & HCS__REQUIRED) && !hcs__schema_has(sc, dst, i)) {
      return bad(&c, path, sc->fields[i].name, "required field missing");
    }
  }
  return HCS_OK;
}

hcs_result_t hcs__schema_parse_text(const hcs__schema_t *sc, const char *text,
                                    void *dst, const char *op,
                                    const char *object, hcs_error_t **err) {
  json_error_t je;
  if (text == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, op, object, EINVAL,
                     "the document is NULL");
  }
  json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL) {
    return hcs__fail(err, HCS_E_INVALID_JSON, op, object, EINVAL,
                     "not JSON: %s at line %d column %d", je.text, je.line,
                     je.column);
  }
  hcs_result_t r;
  if (!json_is_object(root)) {
    r = hcs__fail(err, HCS_E_INVALID_JSON, op, object, EINVAL,
                  "the document must be a JSON object");
  } else {
    r = hcs__schema_parse(sc, root, dst, "", op, object, err);
  }
  json_decref(root);
  return r;
}

int hcs__schema_has(const hcs__schema_t *sc, const void *dst, size_t i) {
  return (*AT_C(dst, sc->present_off, uint64_t) >> i) & 1;
}

void hcs__schema_free(const hcs__schema_t *sc, void *dst) {
  for (const hcs__field_t *f = sc->fields; f->name != NULL; f++) {
    switch (f->type) {
    case HCS__F_STR:
    case HCS__F_RAW:
      as_free(*AT(dst, f->off, char *));
      *AT(dst, f->off, char *) = NULL;
      break;
    case HCS__F_STRARR:
    case HCS__F_ENVMAP:
      strv_free(*AT(dst, f->off, char **));
      *AT(dst, f->off, char **) = NULL;
      break;
    case HCS__F_OBJARR: {
      char *items = *AT(dst, f->off, char *);
      size_t n = *AT(dst, f->count_off, size_t);
      for (size_t i = 0; items != NULL && i < n; i++) {
        hcs__schema_free(f->sub, items + i * f->sub->size);
      }
      as_free(items);
      *AT(dst, f->off, char *) = NULL;
      *AT(dst, f->count_off, size_t) = 0;
      break;
    }
    case HCS__F_BOOL:
    case HCS__F_INT:
    case HCS__F_INTARR:
      break;
    }
  }
}

static json_t *dump_field(const hcs__field_t *f, const void *dst) {
  switch (f->type) {
  case HCS__F_STR:
    return json_string(*AT_C(dst, f->off, str_t));
  case HCS__F_RAW:
    return json_loads(*AT_C(dst, f->off, str_t), JSON_DECODE_ANY, NULL);
  case HCS__F_BOOL:
    return json_boolean(*AT_C(dst, f->off, int));
  case HCS__F_INT:
    return json_integer((json_int_t)*AT_C(dst, f->off, int64_t));
  case HCS__F_STRARR: {
    json_t *a = json_array();
    for (char *const *p = *AT_C(dst, f->off, strv_t); a && p && *p; p++) {
      json_array_append_new(a, json_string(*p));
    }
    return a;
  }
  case HCS__F_ENVMAP: {
    json_t *o = json_object();
    for (char *const *p = *AT_C(dst, f->off, strv_t); o && p && *p; p++) {
      const char *eq = strchr(*p, '=');
      size_t n = eq != NULL ? (size_t)(eq - *p) : strlen(*p);
      if (json_object_setn_new(o, *p, n,
                               json_string(eq != NULL ? eq + 1 : "")) != 0) {
        json_decref(o);
        return NULL;
      }
    }
    return o;
  }
  case HCS__F_INTARR: {
    json_t *a = json_array();
    const int64_t *items = AT_C(dst, f->off, int64_t);
    size_t n = *AT_C(dst, f->count_off, size_t);
    for (size_t i = 0; a != NULL && i < n; i++) {
      json_array_append_new(a, json_integer((json_int_t)items[i]));
    }
    return a;
  }
  case HCS__F_OBJARR: {
    json_t *a = json_array();
    const char *items = *AT_C(dst, f->off, str_t);
    size_t n = *AT_C(dst, f->count_off, size_t);
    for (size_t i = 0; a != NULL && i < n; i++) {
      json_array_append_new(a,
                            hcs__schema_dump(f->sub, items + i * f->sub->size));
    }
    return a;
  }
  }
  return NULL;
}

json_t *hcs__schema_dump(const hcs__schema_t *sc, const void *dst) {
  json_t *o = json_object();
  for (size_t i = 0; o != NULL && sc->fields[i].name != NULL; i++) {
    if (hcs__schema_has(sc, dst, i)) {
      json_t *v = dump_field(&sc->fields[i], dst);
      if (v == NULL || json_object_set_new(o, sc->fields[i].name, v) != 0) {
        json_decref(o);
        return NULL;
      }
    }
  }
  return o;
}

json_t *hcs__json_load_fd(int fd, json_error_t *je) {
  enum { MAX = 64 << 20 };
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(je->text, sizeof(je->text), "%s", strerror(errno));
    return NULL;
  }
  if (st.st_size > MAX) {
    snprintf(je->text, sizeof(je->text), "file too large");
    return NULL;
  }
  /* The size is a hint (the file may grow or shrink meanwhile): read to
   * EOF, growing as needed, within MAX. */
  size_t cap = (size_t)st.st_size + 1, n = 0;
  char *buf = malloc(cap);
  while (buf != NULL) {
    if (n == cap) {
      char *grown = cap < MAX ? realloc(buf, cap * 2) : NULL;
      if (grown == NULL) {
        break;
      }
      buf = grown;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      json_t *o = r == 0 ? json_loadb(buf, n, 0, je) : NULL;
      if (r < 0) {
        snprintf(je->text, sizeof(je->text), "%s", strerror(errno));
      }
      free(buf);
      return o;
    }
    n += (size_t)r;
  }
  free(buf);
  snprintf(je->text, sizeof(je->text), "out of memory or file too large");
  return NULL;
}
