/*
 * digest: SHA-256 of a byte stream, as lowercase hex (OpenSSL's libcrypto, EVP), for the
 * bundle's manifest and the programs' records in versions.json.
 */
#ifndef FL_DIGEST_H
#define FL_DIGEST_H

#include <stddef.h>

#include "util.h"

/* 64 hex digits and the NUL. */
#define FL_SHA256_HEX 65

typedef struct fl_sha256 fl_sha256;

/* NULL only if out of memory. */
fl_sha256 *fl_sha256_new(void);
void fl_sha256_update(fl_sha256 *h, const void *buf, size_t len);
/* Writes the digest of everything given so far into hex and frees h. */
void fl_sha256_final(fl_sha256 *h, char hex[FL_SHA256_HEX]);
/* Frees h without a digest (an error path); NULL is accepted. */
void fl_sha256_free(fl_sha256 *h);

/* Whether s is 64 lowercase hex digits. */
int fl_sha256_is_hex(const char *s);

#endif
