/* SPDX-License-Identifier: MIT */
/* The SHA-256 of layer digests (src/hcs/layer/sha256.c, libcrypto): the
 * FIPS 180-4 example vectors, whole and fed in uneven pieces, as
 * ImportLayer and ExportLayer feed it one read or write at a time. */
#include "hcs/layer/sha256.h"

#include <criterion/criterion.h>
#include <string.h>

static void expect_digest(const void *p, size_t n, size_t piece,
                          const char *want) {
  hcs__sha256_t c;
  cr_assert_eq(hcs__sha256_init(&c), 0);
  const unsigned char *b = p;
  for (size_t done = 0; done < n; done += piece) {
    hcs__sha256_update(&c, b + done, n - done < piece ? n - done : piece);
  }
  char hex[65];
  cr_assert_eq(hcs__sha256_hex(&c, hex), 0);
  cr_assert_str_eq(hex, want, "%zu bytes in pieces of %zu", n, piece);
  /* hex freed the context: freeing again is harmless. */
  cr_assert_null(c.ctx);
  hcs__sha256_free(&c);
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

Test(digest, an_abandoned_digest_is_freed) {
  hcs__sha256_t c;
  cr_assert_eq(hcs__sha256_init(&c), 0);
  hcs__sha256_update(&c, "abc", 3);
  hcs__sha256_free(&c);
  cr_assert_null(c.ctx);
  hcs__sha256_free(&c);
}
