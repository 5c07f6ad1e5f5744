/* SPDX-License-Identifier: MIT */
/* hcs__s256 (src/hcs/api/s256.c), the SHA-256 of the seccomp cache's keys
 * and entry digests: FIPS 180-2's examples, and libcrypto's digest of
 * every length from 0 to 300 bytes fed in two pieces split anywhere, so
 * that every padding case and every partial block meets the code. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "hcs/api/s256.h"

static void digest(const void *p, size_t n, size_t split, char out[65]) {
  hcs__s256_t c;
  hcs__s256_init(&c);
  hcs__s256_update(&c, p, split);
  hcs__s256_update(&c, (const char *)p + split, n - split);
  hcs__s256_hex(&c, out);
}

Test(s256, fips_examples) {
  char out[65];
  digest("abc", 3, 1, out);
  cr_assert_str_eq(
      out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  digest("", 0, 0, out);
  cr_assert_str_eq(
      out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  static const char two[] =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  digest(two, strlen(two), 5, out);
  cr_assert_str_eq(
      out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  static char a[1000000];
  memset(a, 'a', sizeof(a));
  digest(a, sizeof(a), 333333, out);
  cr_assert_str_eq(
      out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(s256, agrees_with_libcrypto_at_every_length_and_split) {
  unsigned char buf[300];
  for (size_t i = 0; i < sizeof(buf); i++) {
    buf[i] = (unsigned char)(i * 131 + 7);
  }
  for (size_t n = 0; n <= sizeof(buf); n++) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    cr_assert_eq(EVP_Digest(buf, n, md, &len, EVP_sha256(), NULL), 1);
    char want[65];
    for (unsigned int i = 0; i < len; i++) {
      snprintf(want + 2 * i, 3, "%02x", md[i]);
    }
    for (size_t split = 0; split <= n; split++) {
      char got[65];
      digest(buf, n, split, got);
      cr_assert_str_eq(got, want, "length %zu split at %zu", n, split);
    }
  }
}
