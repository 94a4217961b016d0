/*
 * hash: streaming SHA-256 / SHA-512 through OpenSSL EVP (measured 5x faster than libsodium's
 * SHA-256 here: hashing must never be the install bottleneck), and constant-time comparison.
 */
#ifndef UPT_HASH_H
#define UPT_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/err.h"

#define UPT_SHA256_LEN 32
#define UPT_SHA512_LEN 64

/* The hashes a target or file entry lists (docs/bundle-format.md: sha256 required for targets,
 * sha512 optional). */
typedef struct upt_hashes {
	bool has_sha256;
	bool has_sha512;
	uint8_t sha256[UPT_SHA256_LEN];
	uint8_t sha512[UPT_SHA512_LEN];
} upt_hashes;

typedef struct upt_hasher upt_hasher;

/* Starts SHA-256 and/or SHA-512 (want: which of out's fields to compute). */
int upt_hasher_new(bool sha256, bool sha512, upt_hasher **out, upt_err *e) UPT_MUST_CHECK;
int upt_hasher_update(upt_hasher *h, const void *p, size_t n, upt_err *e) UPT_MUST_CHECK;
/* Fills the requested fields of out (and its has_ flags). The hasher is spent afterwards. */
int upt_hasher_final(upt_hasher *h, upt_hashes *out, upt_err *e) UPT_MUST_CHECK;
void upt_hasher_free(upt_hasher *h);

/* One-shot SHA-256 / both. */
int upt_sha256(const void *p, size_t n, uint8_t out[UPT_SHA256_LEN], upt_err *e) UPT_MUST_CHECK;
int upt_hash_all(const void *p, size_t n, upt_hashes *out, upt_err *e) UPT_MUST_CHECK;

/* Constant-time equality (CRYPTO_memcmp). */
bool upt_ct_equal(const void *a, const void *b, size_t n);

/* True when every hash that `expected` lists is present in `actual` and equal (constant time).
 * `expected` must list at least one hash. */
bool upt_hashes_match(const upt_hashes *expected, const upt_hashes *actual);

/* True when a and b list the same algorithms with the same values. */
bool upt_hashes_identical(const upt_hashes *a, const upt_hashes *b);

#endif
