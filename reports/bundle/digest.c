#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fl_sha256 {
  EVP_MD_CTX *ctx;
};

fl_sha256 *fl_sha256_new(void) {
  fl_sha256 *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    fl_sha256_free(h);
    return NULL;
  }
  return h;
}

void fl_sha256_update(fl_sha256 *h, const void *buf, size_t len) {
  if (len) EVP_DigestUpdate(h->ctx, buf, len);
}

void fl_sha256_final(fl_sha256 *h, char hex[FL_SHA256_HEX]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  hex[0] = '\0';
  if (EVP_DigestFinal_ex(h->ctx, md, &n) == 1)
    for (unsigned int i = 0; i < n && 2 * i + 2 < FL_SHA256_HEX + 1; i++)
      snprintf(hex + 2 * i, 3, "%02x", md[i]);
  fl_sha256_free(h);
}

void fl_sha256_free(fl_sha256 *h) {
  if (!h) return;
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

int fl_sha256_is_hex(const char *s) {
  if (!s || strlen(s) != FL_SHA256_HEX - 1) return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
  return 1;
}
