/* SPDX-License-Identifier: MIT */
/* hcs's digests (src/hcs/api/digest.c, nettle): SHA-256 of layer.tar and
 * of the seccomp cache's keys and entries, SHA-1 of name-based GUIDs.
 * FIPS 180-4's example vectors, whole and fed in uneven pieces, as
 * ImportLayer and ExportLayer feed them one read or write at a time; and
 * libcrypto's SHA-256 (a second, independent implementation) of every
 * length from 0 to 300 bytes split anywhere in two, so that every padding
 * case and every partial block meets the code. */
#include "hcs/api/digest.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void sha256_pieces(const void *p, size_t n, size_t piece, char hex[65]) {
  hcs__sha256_t c;
  hcs__sha256_init(&c);
  const unsigned char *b = p;
  for (size_t done = 0; done < n; done += piece) {
    hcs__sha256_update(&c, b + done, n - done < piece ? n - done : piece);
  }
  hcs__sha256_hex(&c, hex);
}

static void expect_digest(const void *p, size_t n, size_t piece,
                          const char *want) {
  char hex[65];
  sha256_pieces(p, n, piece, hex);
  cr_assert_str_eq(hex, want, "%zu bytes in pieces of %zu", n, piece);
}

Test(digest, fips_180_vectors) {
  expect_digest("", 0, 1,
                "e3b0c44298fc1c149afbf4c8996fb924"
                "27ae41e4649b934ca495991b7852b855");
  expect_digest("abc", 3, 1,
                "ba7816bf8f01cfea414140de5dae2223"
                "b00361a396177a9cb410ff61f20015ad");
  static const char two_blocks[] =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (size_t piece = 1; piece <= 64; piece += 9) {
    expect_digest(two_blocks, strlen(two_blocks), piece,
                  "248d6a61d20638b8e5c026930c3e6039"
                  "a33ce45964ff2167f6ecedd419db06c1");
  }
}

Test(digest, a_million_a_in_reads_of_any_size) {
  enum { N = 1000000 };
  static char a[N];
  memset(a, 'a', N);
  static const size_t pieces[] = {N, 65536, 4099, 63, 1};
  for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
    expect_digest(a, N, pieces[i],
                  "cdc76e5c9914fb9281a1c7e284d73e67"
                  "f1809a48a497200e046d39ccc7112cd0");
  }
}

Test(digest, agrees_with_libcrypto_at_every_length_and_split) {
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
      hcs__sha256_t c;
      char got[65];
      hcs__sha256_init(&c);
      hcs__sha256_update(&c, buf, split);
      hcs__sha256_update(&c, buf + split, n - split);
      hcs__sha256_hex(&c, got);
      cr_assert_str_eq(got, want, "length %zu split at %zu", n, split);
    }
  }
}

Test(digest, a_context_starts_over_after_its_digest) {
  hcs__sha256_t c;
  char first[65], second[65];
  hcs__sha256_init(&c);
  hcs__sha256_update(&c, "xyz", 3);
  hcs__sha256_hex(&c, first);
  hcs__sha256_update(&c, "abc", 3);
  hcs__sha256_hex(&c, second);
  cr_assert_str_eq(second, "ba7816bf8f01cfea414140de5dae2223"
                           "b00361a396177a9cb410ff61f20015ad");
}

static void expect_sha1(const char *s, size_t piece, const char *want) {
  hcs__sha1_t c;
  uint8_t d[20];
  char hex[41];
  size_t n = strlen(s);
  hcs__sha1_init(&c);
  for (size_t done = 0; done < n; done += piece) {
    hcs__sha1_update(&c, s + done, n - done < piece ? n - done : piece);
  }
  hcs__sha1_final(&c, d);
  for (size_t i = 0; i < sizeof(d); i++) {
    snprintf(hex + 2 * i, 3, "%02x", d[i]);
  }
  cr_assert_str_eq(hex, want, "\"%s\" in pieces of %zu", s, piece);
}

Test(digest, sha1_fips_180_vectors) {
  expect_sha1("", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  expect_sha1("abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  for (size_t piece = 1; piece <= 64; piece += 7) {
    expect_sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                piece, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  }
}
