/* SPDX-License-Identifier: MIT */
/* GUIDs as the HCS has them: 16 bytes whose first three fields (4, 2 and 2
 * bytes) are stored little-endian, the Windows GUID layout. */
#include "hcs/api/digest.h"
#include "hcs/api/error.h"

#include <errno.h>
#include <string.h>

/* The namespace of NameToGuid, fixed forever (changing it changes every
 * derived GUID): the RFC 4122 text c2b7ea9e-3f1d-4a5c-8e6b-9d0f4a2c1b7e. */
static const uint8_t name_ns[16] = {0xc2, 0xb7, 0xea, 0x9e, 0x3f, 0x1d,
                                    0x4a, 0x5c, 0x8e, 0x6b, 0x9d, 0x0f,
                                    0x4a, 0x2c, 0x1b, 0x7e};

/* Swaps the first three fields between RFC 4122 (big-endian) order and the
 * Windows storage order; its own inverse. */
static void swap_fields(uint8_t b[16]) {
  uint8_t t;
  t = b[0], b[0] = b[3], b[3] = t;
  t = b[1], b[1] = b[2], b[2] = t;
  t = b[4], b[4] = b[5], b[5] = t;
  t = b[6], b[6] = b[7], b[7] = t;
}

hcs_guid_t hcs_NewGUID(const char *source) {
  hcs__sha1_t c;
  uint8_t d[20];
  hcs_guid_t g;
  hcs__sha1_init(&c);
  hcs__sha1_update(&c, source, source != NULL ? strlen(source) : 0);
  hcs__sha1_final(&c, d);
  memcpy(g.b, d, 16);
  return g;
}

hcs_result_t hcs_NameToGuid(const char *name, hcs_guid_t *out,
                            hcs_error_t **err) {
  if (name == NULL || out == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, "hcs::NameToGuid", NULL, EINVAL,
                     "%s is NULL", name == NULL ? "name" : "out");
  }
  hcs__sha1_t c;
  uint8_t d[20];
  hcs__sha1_init(&c);
  hcs__sha1_update(&c, name_ns, sizeof(name_ns));
  hcs__sha1_update(&c, name, strlen(name));
  hcs__sha1_final(&c, d);
  d[6] = (uint8_t)((d[6] & 0x0f) | 0x50); /* version 5: SHA-1, name-based */
  d[8] = (uint8_t)((d[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
  memcpy(out->b, d, 16);
  swap_fields(out->b);
  return hcs__ok(err);
}

void hcs_guid_ToString(const hcs_guid_t *g, char out[HCS_GUID_STRLEN]) {
  static const char hex[] = "0123456789abcdef";
  uint8_t b[16];
  memcpy(b, g->b, 16);
  swap_fields(b);
  size_t n = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out[n++] = '-';
    }
    out[n++] = hex[b[i] >> 4];
    out[n++] = hex[b[i] & 15];
  }
  out[n] = '\0';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

hcs_result_t hcs_guid_parse(const char *text, hcs_guid_t *out,
                            hcs_error_t **err) {
  static const char op[] = "hcs::ParseGUID";
  if (text == NULL || out == NULL) {
    return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL, "%s is NULL",
                     text == NULL ? "text" : "out");
  }
  const char *p = text;
  int braces = *p == '{';
  p += braces;
  uint8_t b[16];
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      if (*p++ != '-') {
        goto bad;
      }
    }
    int hi = hexval(p[0]);
    int lo = hi < 0 ? -1 : hexval(p[1]);
    if (lo < 0) {
      goto bad;
    }
    b[i] = (uint8_t)(hi << 4 | lo);
    p += 2;
  }
  if (braces && *p++ != '}') {
    goto bad;
  }
  if (*p != '\0') {
    goto bad;
  }
  swap_fields(b);
  memcpy(out->b, b, 16);
  return hcs__ok(err);
bad:
  return hcs__fail(err, HCS_WSAEINVAL, op, NULL, EINVAL,
                   "\"%.64s\" is not a GUID "
                   "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                   text);
}
