/*
 * bundle_decrypt: the decrypt stage of the image stream (docs/bundle-format.md, "Encrypted
 * images"), between the member's bytes and the zstd decoder.
 *
 * Responsible for: opening a sealed member chunk by chunk with libsodium's secretstream, so
 * that the decoder only ever sees authenticated bytes; the stream's own checks (a chunk altered,
 * moved or from another stream fails to authenticate, a stream cut before its FINAL chunk or
 * going on after it is refused); and the signed length and hashes of the sealed form (Director
 * custom.encryption), counted and hashed as the bytes pass. Memory is two chunk buffers,
 * whatever the image's size. Not responsible for: where the key came from (the installer
 * unwraps it), the plaintext's own length and hashes (bundle_image.c checks them after zstd).
 *
 * Every failure is UPT_E_ARBITRARY_SOFTWARE: the bytes are not what the Director signed.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_decrypt.h"

#define SEALED_CHUNK (UPT_CRYPT_CHUNK + UPT_CRYPT_CHUNK_OVERHEAD)

struct upt_decrypt_stage {
	crypto_secretstream_xchacha20poly1305_state st;
	upt_image_decrypt d;
	upt_hasher *h;
	uint64_t consumed; /* sealed bytes taken from the member */
	uint64_t chunks;   /* chunks opened */
	bool started;	   /* header read, state initialised */
	bool final;	   /* the FINAL chunk was opened */
	bool eof;	   /* the source has no more bytes */
	bool checked;	   /* length and hashes matched: only *n = 0 from here on */
	const uint8_t *src;
	size_t nsrc; /* unread bytes of the source's last block */
	uint8_t *sealed;
	size_t nsealed;
	uint8_t *plain;
};

void upt_decrypt_stage_free(upt_decrypt_stage *s)
{
	if (!s)
		return;
	sodium_memzero(&s->st, sizeof(s->st));
	sodium_memzero(s->d.key, sizeof(s->d.key));
	upt_hasher_free(s->h);
	free(s->sealed);
	if (s->plain)
		sodium_memzero(s->plain, UPT_CRYPT_CHUNK);
	free(s->plain);
	free(s);
}

int upt_decrypt_stage_new(const upt_image_decrypt *d, upt_decrypt_stage **out, upt_err *e)
{
	if (!d->hashes.has_sha256 && !d->hashes.has_sha512)
		return upt_err_set(e, UPT_E_MALFORMED, "the sealed image lists no hash to check");
	if (sodium_init() < 0)
		return upt_err_set(e, UPT_E_INTERNAL, "libsodium failed to initialise");
	upt_decrypt_stage *s = calloc(1, sizeof(*s));
	if (!s)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	s->d = *d;
	s->sealed = malloc(SEALED_CHUNK);
	s->plain = malloc(UPT_CRYPT_CHUNK);
	int rc = s->sealed && s->plain
		     ? upt_hasher_new(d->hashes.has_sha256, d->hashes.has_sha512, &s->h, e)
		     : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if (rc) {
		upt_decrypt_stage_free(s);
		return rc;
	}
	*out = s;
	return UPT_OK;
}

/* Moves source bytes into the sealed buffer until it holds `want` bytes or the member ends. */
static int fill(upt_decrypt_stage *s, size_t want, upt_block_source src, void *ctx, upt_err *e)
{
	while (s->nsealed < want && !s->eof) {
		if (s->nsrc == 0) {
			const void *p = NULL;
			size_t n = 0;
			int rc = src(ctx, &p, &n, e);
			if (rc)
				return rc;
			if (n == 0) {
				s->eof = true;
				break;
			}
			if (n > s->d.length - s->consumed)
				return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
						   "sealed image longer than its signed length of "
						   "%llu bytes",
						   (unsigned long long)s->d.length);
			rc = upt_hasher_update(s->h, p, n, e);
			if (rc)
				return rc;
			s->consumed += n;
			s->src = p;
			s->nsrc = n;
		}
		size_t take = want - s->nsealed < s->nsrc ? want - s->nsealed : s->nsrc;
		memcpy(s->sealed + s->nsealed, s->src, take);
		s->nsealed += take;
		s->src += take;
		s->nsrc -= take;
	}
	return UPT_OK;
}

static int refuse(const upt_decrypt_stage *s, const char *what, upt_err *e)
{
	/* every chunk before this one was full: its place follows from the count */
	uint64_t at = s->started ? UPT_CRYPT_HEADER_LEN + s->chunks * (uint64_t)SEALED_CHUNK : 0;
	return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
			   "sealed image: %s (chunk %llu, at sealed byte %llu): the image is not "
			   "what the Director signed",
			   what, (unsigned long long)s->chunks + 1, (unsigned long long)at);
}

/* After the FINAL chunk: nothing may follow, and the whole member must be what is signed. */
static int check_end(upt_decrypt_stage *s, upt_block_source src, void *ctx, upt_err *e)
{
	int rc = fill(s, 1, src, ctx, e);
	if (rc)
		return rc;
	if (s->nsealed)
		return refuse(s, "bytes after the final chunk", e);
	upt_hashes got;
	rc = upt_hasher_final(s->h, &got, e);
	if (rc)
		return rc;
	if (s->consumed != s->d.length)
		return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
				   "sealed image is %llu bytes, its signed length %llu",
				   (unsigned long long)s->consumed,
				   (unsigned long long)s->d.length);
	if (!upt_hashes_match(&s->d.hashes, &got))
		return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
				   "sealed image bytes do not match the hashes the Director signed "
				   "(custom.encryption)");
	s->checked = true;
	return UPT_OK;
}

/* Opens one sealed chunk of len bytes at c (in the sealed buffer, or straight in the source's
 * block); *n = its plaintext bytes in s->plain. */
static int open_chunk(upt_decrypt_stage *s, const uint8_t *c, size_t len, size_t *n, upt_err *e)
{
	if (len == 0)
		return refuse(s, "ends without its final chunk (cut short)", e);
	if (len < UPT_CRYPT_CHUNK_OVERHEAD)
		return refuse(s, "a chunk shorter than its authentication tag", e);
	unsigned long long mlen = 0;
	unsigned char tag = 0;
	if (crypto_secretstream_xchacha20poly1305_pull(&s->st, s->plain, &mlen, &tag, c, len, NULL,
						       0) != 0)
		return refuse(
		    s, "a chunk does not authenticate (altered, moved, or from another image)", e);
	if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
		s->final = true;
	else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
		return refuse(s, "a chunk with a tag other than MESSAGE or FINAL", e);
	else if (len < SEALED_CHUNK) /* a short chunk is the last one */
		return refuse(s, "ends without its final chunk (cut short)", e);
	s->chunks++;
	*n = (size_t)mlen;
	return UPT_OK;
}

int upt_decrypt_stage_next(upt_decrypt_stage *s, upt_block_source src, void *ctx, const void **p,
			   size_t *n, upt_err *e)
{
	*p = NULL;
	*n = 0;
	while (!s->checked) {
		if (s->final)
			return check_end(s, src, ctx, e);
		int rc;
		if (!s->started) {
			rc = fill(s, UPT_CRYPT_HEADER_LEN, src, ctx, e);
			if (rc)
				return rc;
			if (s->nsealed < UPT_CRYPT_HEADER_LEN)
				return refuse(s, "shorter than the stream header", e);
			if (crypto_secretstream_xchacha20poly1305_init_pull(&s->st, s->sealed,
									    s->d.key) != 0)
				return refuse(s, "invalid stream header", e);
			s->nsealed = 0;
			s->started = true;
		}
		size_t got = 0;
		if (s->nsealed == 0 && s->nsrc >= SEALED_CHUNK) {
			/* a whole chunk inside the source's block: opened where it lies */
			const uint8_t *c = s->src;
			s->src += SEALED_CHUNK;
			s->nsrc -= SEALED_CHUNK;
			rc = open_chunk(s, c, SEALED_CHUNK, &got, e);
		} else {
			rc = fill(s, SEALED_CHUNK, src, ctx, e);
			if (rc == UPT_OK)
				rc = open_chunk(s, s->sealed, s->nsealed, &got, e);
			s->nsealed = 0;
		}
		if (rc)
			return rc;
		if (got) {
			*p = s->plain;
			*n = got;
			return UPT_OK;
		}
	}
	return UPT_OK;
}
