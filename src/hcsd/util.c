/* Small helpers shared by hcsd's modules. */
#include "hcsd/util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

void hcsd_random_id(char out[65]) {
  uint8_t b[32];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
    if (n > 0) {
      got += (size_t)n;
    }
  }
  for (size_t i = 0; i < sizeof(b); i++) {
    snprintf(out + 2 * i, 3, "%02x", b[i]);
  }
  out[64] = '\0';
}

static void to_hex(const unsigned char *md, unsigned n, char *out) {
  for (unsigned i = 0; i < n; i++) {
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
  out[2 * n] = '\0';
}

/* The running digest is libcrypto's context itself. */
hcsd_sha256_t *hcsd_sha256_new(void) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    ctx = NULL;
  }
  return (hcsd_sha256_t *)ctx;
}

void hcsd_sha256_update(hcsd_sha256_t *s, const void *p, size_t n) {
  if (s != NULL) {
    (void)EVP_DigestUpdate((EVP_MD_CTX *)s, p, n);
  }
}

void hcsd_sha256_end(hcsd_sha256_t *s, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (s == NULL || EVP_DigestFinal_ex((EVP_MD_CTX *)s, md, &n) != 1) {
    n = 0;
  }
  to_hex(md, n, out);
  EVP_MD_CTX_free((EVP_MD_CTX *)s);
}

int hcsd_sha256_hex(const void *p, size_t n, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1) {
    out[0] = '\0';
    return -1;
  }
  to_hex(md, len, out);
  return 0;
}

char *hcsd_message_json(const char *text) {
  json_t *o = json_pack("{s:s}", "message", text != NULL ? text : "");
  char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}
