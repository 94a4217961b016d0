/*
 * hash: SHA-256/512 over OpenSSL's low-level SHA API; constant-time comparisons.
 *
 * Why not EVP: EVP_DigestInit goes through OPENSSL_init_crypto, the provider machinery and the
 * config loader, which a statically linked uptane-install (Makefile, INSTALLER_STATIC) would
 * carry and touch for two digests: about 1.5 MiB more resident memory at install time (the
 * install memory goal is 8 MiB). SHA256_Init & co. are deprecated since OpenSSL 3.0 but
 * present, and run the same assembly (SHA-NI / AVX2 / SSSE3, chosen at start by
 * OPENSSL_cpuid_setup) as the default provider, which itself calls SHA256_Update: the speed is
 * the same. OPENSSL_API_COMPAT below only lets this one file use them without
 * deprecation warnings (-Werror); it must come before any OpenSSL header.
 */
#define OPENSSL_API_COMPAT 10101

#include "upt/hash.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

struct upt_hasher {
	bool want256;
	bool want512;
	bool spent; /* after final (hash.h): further use is an error, not a hash of stale state */
	SHA256_CTX sha256;
	SHA512_CTX sha512;
};

void upt_hasher_free(upt_hasher *h)
{
	if (!h)
		return;
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
}

int upt_hasher_new(bool sha256, bool sha512, upt_hasher **out, upt_err *e)
{
	upt_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	h->want256 = sha256;
	h->want512 = sha512;
	if ((sha256 && SHA256_Init(&h->sha256) != 1) || (sha512 && SHA512_Init(&h->sha512) != 1)) {
		upt_hasher_free(h);
		return upt_err_set(e, UPT_E_INTERNAL, "OpenSSL digest initialisation failed");
	}
	*out = h;
	return UPT_OK;
}

int upt_hasher_update(upt_hasher *h, const void *p, size_t n, upt_err *e)
{
	if (h->spent)
		return upt_err_set(e, UPT_E_INTERNAL, "hasher used after final");
	if ((h->want256 && SHA256_Update(&h->sha256, p, n) != 1) ||
	    (h->want512 && SHA512_Update(&h->sha512, p, n) != 1))
		return upt_err_set(e, UPT_E_INTERNAL, "OpenSSL digest update failed");
	return UPT_OK;
}

int upt_hasher_final(upt_hasher *h, upt_hashes *out, upt_err *e)
{
	if (h->spent)
		return upt_err_set(e, UPT_E_INTERNAL, "hasher used after final");
	h->spent = true;
	upt_hashes r;
	memset(&r, 0, sizeof(r));
	if (h->want256) {
		if (SHA256_Final(r.sha256, &h->sha256) != 1)
			return upt_err_set(e, UPT_E_INTERNAL, "OpenSSL digest failed");
		r.has_sha256 = true;
	}
	if (h->want512) {
		if (SHA512_Final(r.sha512, &h->sha512) != 1)
			return upt_err_set(e, UPT_E_INTERNAL, "OpenSSL digest failed");
		r.has_sha512 = true;
	}
	*out = r;
	return UPT_OK;
}

int upt_hash_all(const void *p, size_t n, upt_hashes *out, upt_err *e)
{
	upt_hasher *h = NULL;
	int rc = upt_hasher_new(true, true, &h, e);
	if (rc == UPT_OK)
		rc = upt_hasher_update(h, p, n, e);
	if (rc == UPT_OK)
		rc = upt_hasher_final(h, out, e);
	upt_hasher_free(h);
	return rc;
}

/* Not OpenSSL's one-shot SHA256(): since 3.0 it goes through EVP_Q_digest. */
int upt_sha256(const void *p, size_t n, uint8_t out[UPT_SHA256_LEN], upt_err *e)
{
	SHA256_CTX c;
	int ok = SHA256_Init(&c) == 1 && SHA256_Update(&c, p, n) == 1 && SHA256_Final(out, &c) == 1;
	OPENSSL_cleanse(&c, sizeof(c));
	if (!ok)
		return upt_err_set(e, UPT_E_INTERNAL, "OpenSSL SHA-256 failed");
	return UPT_OK;
}

bool upt_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

bool upt_hashes_match(const upt_hashes *expected, const upt_hashes *actual)
{
	if (!expected->has_sha256 && !expected->has_sha512)
		return false;
	if (expected->has_sha256 &&
	    (!actual->has_sha256 ||
	     !upt_ct_equal(expected->sha256, actual->sha256, UPT_SHA256_LEN)))
		return false;
	if (expected->has_sha512 &&
	    (!actual->has_sha512 ||
	     !upt_ct_equal(expected->sha512, actual->sha512, UPT_SHA512_LEN)))
		return false;
	return true;
}

bool upt_hashes_identical(const upt_hashes *a, const upt_hashes *b)
{
	return a->has_sha256 == b->has_sha256 && a->has_sha512 == b->has_sha512 &&
	       upt_hashes_match(a, b);
}
