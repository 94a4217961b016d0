/* hash: SHA-256/512 over OpenSSL EVP; constant-time comparisons. */
#include "upt/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct upt_hasher {
	EVP_MD_CTX *sha256;
	EVP_MD_CTX *sha512;
};

void upt_hasher_free(upt_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->sha256);
	EVP_MD_CTX_free(h->sha512);
	free(h);
}

static EVP_MD_CTX *start(const EVP_MD *md)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (c && EVP_DigestInit_ex(c, md, NULL) != 1) {
		EVP_MD_CTX_free(c);
		return NULL;
	}
	return c;
}

int upt_hasher_new(bool sha256, bool sha512, upt_hasher **out, upt_err *e)
{
	upt_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if ((sha256 && !(h->sha256 = start(EVP_sha256()))) ||
	    (sha512 && !(h->sha512 = start(EVP_sha512())))) {
		upt_hasher_free(h);
		return upt_err_set(e, UPT_E_INTERNAL, "OpenSSL digest initialisation failed");
	}
	*out = h;
	return UPT_OK;
}

int upt_hasher_update(upt_hasher *h, const void *p, size_t n, upt_err *e)
{
	if ((h->sha256 && EVP_DigestUpdate(h->sha256, p, n) != 1) ||
	    (h->sha512 && EVP_DigestUpdate(h->sha512, p, n) != 1))
		return upt_err_set(e, UPT_E_INTERNAL, "OpenSSL digest update failed");
	return UPT_OK;
}

int upt_hasher_final(upt_hasher *h, upt_hashes *out, upt_err *e)
{
	upt_hashes r;
	memset(&r, 0, sizeof(r));
	if (h->sha256) {
		if (EVP_DigestFinal_ex(h->sha256, r.sha256, NULL) != 1)
			return upt_err_set(e, UPT_E_INTERNAL, "OpenSSL digest failed");
		r.has_sha256 = true;
	}
	if (h->sha512) {
		if (EVP_DigestFinal_ex(h->sha512, r.sha512, NULL) != 1)
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

int upt_sha256(const void *p, size_t n, uint8_t out[UPT_SHA256_LEN], upt_err *e)
{
	if (EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL) != 1)
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
