/* SPDX-License-Identifier: MIT */
/* GUIDs: NewGUID is the first 16 bytes of SHA-1, NameToGuid the version-5
 * GUID under hcs's fixed namespace (vectors from an independent RFC 4122
 * implementation), ToString the Windows text with its byte order. */
#include <criterion/criterion.h>
#include <hcs.h>
#include <stdio.h>
#include <string.h>

static void expect_text(hcs_guid_t g, const char *want) {
  char s[HCS_GUID_STRLEN];
  hcs_guid_ToString(&g, s);
  cr_assert_str_eq(s, want);
}

Test(guid, new_guid_is_sha1_in_windows_byte_order) {
  /* SHA-1("") = da39a3ee 5e6b 4b0d 3255 bfef95601890...: the first three
   * fields print byte-reversed, the last two as stored. */
  hcs_guid_t g = hcs_NewGUID("");
  static const uint8_t sha_empty[16] = {0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b,
                                        0x4b, 0x0d, 0x32, 0x55, 0xbf, 0xef,
                                        0x95, 0x60, 0x18, 0x90};
  cr_assert_arr_eq(g.b, sha_empty, 16);
  expect_text(g, "eea339da-6b5e-0d4b-3255-bfef95601890");
  expect_text(hcs_NewGUID("abc"), "363e99a9-0647-6a81-ba3e-25717850c26c");
  expect_text(hcs_NewGUID(NULL), "eea339da-6b5e-0d4b-3255-bfef95601890");
}

Test(guid, name_to_guid_vectors) {
  static const struct {
    const char *name, *text;
  } v[] = {
      {"", "112a7ba6-731d-5503-9bff-ba2312c27f27"},
      {"hello", "b58a0b8c-209b-596b-9678-91833e0f6ed5"},
      {"docker-network-nat", "4a4389dc-3fa4-5955-98eb-7bf7a6fd1177"},
      {"\xc3\x9c\x6e\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9",
       "73dd66e5-7f63-53d3-9838-81fa4bcd6221"},
  };
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    hcs_guid_t g;
    cr_assert_eq(hcs_NameToGuid(v[i].name, &g, NULL), HCS_OK);
    expect_text(g, v[i].text);
    /* Stable: the same name gives the same GUID every time. */
    hcs_guid_t again;
    cr_assert_eq(hcs_NameToGuid(v[i].name, &again, NULL), HCS_OK);
    cr_assert_arr_eq(g.b, again.b, 16);
    /* Version 5 and the RFC variant, in Windows storage order. */
    cr_assert_eq(g.b[7] >> 4, 5);
    cr_assert_eq(g.b[8] & 0xc0, 0x80);
  }
}

Test(guid, parse_round_trip_and_refusals) {
  hcs_guid_t g = hcs_NewGUID("round trip"), p;
  char s[HCS_GUID_STRLEN], braced[HCS_GUID_STRLEN + 2], upper[HCS_GUID_STRLEN];
  hcs_guid_ToString(&g, s);
  cr_assert_eq(hcs_guid_parse(s, &p, NULL), HCS_OK);
  cr_assert_arr_eq(p.b, g.b, 16);
  snprintf(braced, sizeof(braced), "{%s}", s);
  cr_assert_eq(hcs_guid_parse(braced, &p, NULL), HCS_OK);
  cr_assert_arr_eq(p.b, g.b, 16);
  for (size_t i = 0; i < sizeof(upper); i++) {
    upper[i] = (char)(s[i] >= 'a' && s[i] <= 'f' ? s[i] - 32 : s[i]);
  }
  cr_assert_eq(hcs_guid_parse(upper, &p, NULL), HCS_OK);
  cr_assert_arr_eq(p.b, g.b, 16);
  const char *bad[] = {"",
                       "eea339da6b5e0d4b3255bfef95601890",
                       "eea339da-6b5e-0d4b-3255-bfef9560189",
                       "eea339da-6b5e-0d4b-3255-bfef956018900",
                       "{eea339da-6b5e-0d4b-3255-bfef95601890",
                       "eea339dz-6b5e-0d4b-3255-bfef95601890"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    hcs_error_t *err = NULL;
    cr_assert_eq(hcs_guid_parse(bad[i], &p, &err), HCS_WSAEINVAL, "%s", bad[i]);
    cr_assert_not_null(strstr(hcs_error_cause(err), "is not a GUID"));
    hcs_error_free(err);
  }
  cr_assert_eq(hcs_NameToGuid(NULL, &p, NULL), HCS_WSAEINVAL);
}
