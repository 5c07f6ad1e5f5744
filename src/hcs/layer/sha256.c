/* SPDX-License-Identifier: MIT */
/* SHA-256 through libcrypto's EVP interface (the low-level SHA256_*
 * calls are deprecated since OpenSSL 3.0). */
#include "hcs/layer/sha256.h"

#include <errno.h>
#include <openssl/evp.h>

int hcs__sha256_init(hcs__sha256_t *c) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    ctx = NULL;
  }
  c->ctx = ctx;
  return ctx != NULL ? 0 : -ENOMEM;
}

void hcs__sha256_update(hcs__sha256_t *c, const void *data, size_t n) {
  /* Update cannot fail for a software digest once Init succeeded. */
  if (c->ctx != NULL && n > 0) {
    (void)EVP_DigestUpdate(c->ctx, data, n);
  }
}

int hcs__sha256_hex(hcs__sha256_t *c, char out[65]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  out[0] = '\0';
  if (c->ctx == NULL || EVP_DigestFinal_ex(c->ctx, md, &len) != 1 ||
      len != 32) {
    hcs__sha256_free(c);
    return -ENOMEM;
  }
  hcs__sha256_free(c);
  for (unsigned int i = 0; i < len; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = '\0';
  return 0;
}

void hcs__sha256_free(hcs__sha256_t *c) {
  EVP_MD_CTX_free(c->ctx);
  c->ctx = NULL;
}
