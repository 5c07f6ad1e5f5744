/* SPDX-License-Identifier: MIT */
/* A small strict JSON schema walker over jansson: a table of fields per
 * object, each with a type, a range and where it lands in a C struct.
 * Unknown fields, wrong types, numbers out of range and missing required
 * fields are refused with the field's path; nothing is half-applied (the
 * caller frees the struct on failure with hcs__schema_free).
 *
 * A field of an array, object or raw type whose value is null is absent:
 * Go's encoding/json writes null for every nil map, slice, pointer and
 * interface it was not told to omit, and the documents hcs reads were
 * written by Go (hcsshim, Docker). A string, number or boolean Go never
 * writes as null: null there is refused as the wrong type. */
#ifndef HCS_HCS_SCHEMA_H
#define HCS_HCS_SCHEMA_H

#include "hcs/api/error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  HCS__F_STR,    /* char * */
  HCS__F_BOOL,   /* int */
  HCS__F_INT,    /* int64_t, within [min, max] */
  HCS__F_STRARR, /* char ** NULL-terminated */
  HCS__F_ENVMAP, /* {"K": "v"} -> char ** of "K=v", NULL-terminated */
  HCS__F_INTARR, /* int64_t[max_items] plus a count; exactly min items */
  HCS__F_OBJARR, /* array of sub-objects: void * array plus a count */
  HCS__F_RAW,    /* any JSON, kept as its compact text (char *) */
} hcs__ftype_t;

typedef struct hcs__field_s hcs__field_t;

typedef struct hcs__schema_s {
  const hcs__field_t *fields; /* ends with a NULL name */
  size_t size;                /* sizeof the struct it fills */
  size_t present_off;         /* offset of a uint64_t bit set of fields seen */
} hcs__schema_t;

/* hcs__field_t.flags */
enum {
  HCS__REQUIRED = 1, /* absent (or null): refused */
  /* Go's zero value ("", false, 0, [], {}) is absent too: what a Go struct
   * field that was never set marshals to. */
  HCS__ZERO_ABSENT = 2,
};

struct hcs__field_s {
  const char *name;
  hcs__ftype_t type;
  size_t off;
  size_t count_off; /* HCS__F_INTARR, HCS__F_OBJARR: size_t count */
  int64_t min, max;
  int flags;                /* HCS__REQUIRED, HCS__ZERO_ABSENT */
  const hcs__schema_t *sub; /* HCS__F_OBJARR */
};

/* Fills dst (zeroed by the caller) from obj. Returns HCS_OK or
 * HCS_WSAEINVAL with *err naming the field path under op and object. */
hcs_result_t hcs__schema_parse(const hcs__schema_t *sc, json_t *obj, void *dst,
                               const char *path, const char *op,
                               const char *object, hcs_error_t **err);
/* Parses text as one JSON object against sc; text that is not a JSON
 * object is HCS_E_INVALID_JSON. */
hcs_result_t hcs__schema_parse_text(const hcs__schema_t *sc, const char *text,
                                    void *dst, const char *op,
                                    const char *object, hcs_error_t **err);
/* Frees what parse stored in dst (not dst itself). */
void hcs__schema_free(const hcs__schema_t *sc, void *dst);
/* The fields present in dst, as a new JSON object (NULL on ENOMEM). */
json_t *hcs__schema_dump(const hcs__schema_t *sc, const void *dst);
/* Whether the field at index i of sc was present. */
int hcs__schema_has(const hcs__schema_t *sc, const void *dst, size_t i);
/* The JSON document in the file open at fd, read whole in one go
 * (json_loadfd reads a byte per system call), or NULL with je (a file
 * over 64 MiB, or one that cannot be read, is an error too). */
json_t *hcs__json_load_fd(int fd, json_error_t *je);

#endif
