/*
 * imgcrypt: X25519 key files, wrapping image keys for recipients, and sealing an image stream
 * (docs/bundle-format.md, "Encrypted images"). All cryptography is libsodium's; the opening
 * side of the stream is bundle_decrypt.c.
 */
#include "upt/imgcrypt.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upt/cjson.h"
#include "upt/fileio.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/sig.h"

_Static_assert(UPT_CRYPT_HEADER_LEN == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
	       "secretstream header");
_Static_assert(UPT_CRYPT_CHUNK_OVERHEAD == crypto_secretstream_xchacha20poly1305_ABYTES,
	       "secretstream overhead");
_Static_assert(UPT_CRYPT_KEY_LEN == crypto_secretstream_xchacha20poly1305_KEYBYTES,
	       "secretstream key");
_Static_assert(UPT_WRAPPED_KEY_LEN == crypto_box_SEALBYTES + UPT_CRYPT_KEY_LEN, "sealed box");
_Static_assert(UPT_X25519_LEN == crypto_box_PUBLICKEYBYTES, "x25519 public key");

struct upt_decrypt_key {
	uint8_t pub[UPT_X25519_LEN];
	uint8_t *sk; /* sodium_malloc'd crypto_box_SECRETKEYBYTES */
	char keyid[UPT_CRYPT_KEYID_HEX + 1];
};

static int sodium_ready(upt_err *e)
{
	if (sodium_init() < 0)
		return upt_err_set(e, UPT_E_INTERNAL, "libsodium failed to initialise");
	return UPT_OK;
}

uint64_t upt_crypt_sealed_length(uint64_t plain)
{
	/* every full chunk, plus the last (possibly empty) one, each with its overhead */
	uint64_t chunks = plain / UPT_CRYPT_CHUNK + (plain % UPT_CRYPT_CHUNK ? 1 : 0);
	if (chunks == 0)
		chunks = 1;
	if (plain > UINT64_MAX - UPT_CRYPT_HEADER_LEN ||
	    chunks > (UINT64_MAX - UPT_CRYPT_HEADER_LEN - plain) / UPT_CRYPT_CHUNK_OVERHEAD)
		return UINT64_MAX;
	return UPT_CRYPT_HEADER_LEN + plain + chunks * UPT_CRYPT_CHUNK_OVERHEAD;
}

int upt_crypt_keyid(const uint8_t pub[UPT_X25519_LEN], char out[UPT_CRYPT_KEYID_HEX + 1],
		    upt_err *e)
{
	uint8_t h[UPT_SHA256_LEN];
	int rc = upt_sha256(pub, UPT_X25519_LEN, h, e);
	if (rc == UPT_OK)
		upt_hex_encode(h, sizeof(h), out);
	return rc;
}

/* ---- key files ---- */

int upt_x25519_generate(const char *name, char keyid[UPT_CRYPT_KEYID_HEX + 1], upt_err *e)
{
	int rc = sodium_ready(e);
	if (rc)
		return rc;
	uint8_t pub[UPT_X25519_LEN];
	uint8_t *sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	if (!sk)
		return upt_err_set(e, UPT_E_NOMEM, "out of secure memory");
	crypto_box_keypair(pub, sk);
	rc = upt_keypair_write(name, "\"keytype\":\"x25519\",", pub, sizeof(pub), sk,
			       crypto_box_SECRETKEYBYTES, e);
	sodium_free(sk);
	if (rc == UPT_OK && keyid)
		rc = upt_crypt_keyid(pub, keyid, e);
	return rc;
}

/* Parses an X25519 key file's bytes: public key always, the private key into sk when given
 * (then required). */
static int parse_key_file(const uint8_t *data, size_t len, uint8_t pub[UPT_X25519_LEN], uint8_t *sk,
			  upt_err *e)
{
	json_t *doc = NULL;
	const char *type, *pubhex;
	json_t *keyval;
	int rc = upt_json_parse(data, len, UPT_KEYFILE_MAX, &doc, e);
	if (rc)
		return rc;
	if (!json_is_object(doc)) {
		rc = upt_err_set(e, UPT_E_MALFORMED, "key file is not a JSON object");
		goto out;
	}
	if ((rc = upt_json_get_str(doc, "keytype", &type, e)) ||
	    (rc = upt_json_get_obj(doc, "keyval", &keyval, e)) ||
	    (rc = upt_json_get_str(keyval, "public", &pubhex, e)))
		goto out;
	if (strcmp(type, "x25519") != 0) {
		rc = upt_err_set(e, UPT_E_MALFORMED,
				 "key type %.32s is not x25519 (make one with uptane-bundle key "
				 "generate --x25519 NAME)",
				 type);
		goto out;
	}
	rc = upt_hex_decode(pubhex, pub, UPT_X25519_LEN, e);
	if (rc) {
		upt_err_prefix(e, "keyval.public");
		goto out;
	}
	if (!sk)
		goto out;
	const json_t *priv = json_object_get(keyval, "private");
	if (!json_is_string(priv)) {
		rc = upt_err_set(e, UPT_E_MALFORMED,
				 "no private key (keyval.private): is this a public key file?");
		goto out;
	}
	rc = upt_hex_decode(json_string_value(priv), sk, crypto_box_SECRETKEYBYTES, e);
	if (rc) {
		upt_err_prefix(e, "keyval.private");
		goto out;
	}
	uint8_t derived[UPT_X25519_LEN];
	if (crypto_scalarmult_base(derived, sk) != 0 ||
	    sodium_memcmp(derived, pub, UPT_X25519_LEN) != 0)
		rc = upt_err_set(e, UPT_E_MALFORMED,
				 "keyval.public does not belong to the private key (damaged key "
				 "file?)");
out:
	if (doc) {
		const json_t *secret = json_object_get(json_object_get(doc, "keyval"), "private");
		if (json_is_string(secret))
			sodium_memzero((char *)json_string_value(secret),
				       json_string_length(secret));
	}
	json_decref(doc);
	return rc;
}

int upt_x25519_load_public(const char *path, uint8_t pub[UPT_X25519_LEN], upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, UPT_KEYFILE_MAX);
	int rc = upt_file_read(AT_FDCWD, path, UPT_KEYFILE_MAX, &b, e);
	if (rc == UPT_OK)
		rc = parse_key_file(b.data, b.len, pub, NULL, e);
	/* a NAME.key given here: its private half is not needed, wipe it */
	if (b.data)
		sodium_memzero(b.data, b.len);
	upt_buf_clear(&b);
	if (rc)
		upt_err_set_file(e, path);
	return rc;
}

int upt_decrypt_key_load(const char *path, upt_decrypt_key **out, upt_err *e)
{
	uint8_t *file = NULL;
	size_t flen = 0;
	upt_decrypt_key *k = calloc(1, sizeof(*k));
	int rc = k ? sodium_ready(e) : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if (rc)
		goto out;
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		rc = upt_err_set(e, UPT_E_CONFIG,
				 "%s: readable by group or others (mode %03o): chmod 600 it", path,
				 (unsigned)(st.st_mode & 0777));
		goto out;
	}
	rc = upt_keyfile_read_secret(path, &file, &flen, e);
	if (rc)
		goto out;
	k->sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	if (!k->sk) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of secure memory");
		goto out;
	}
	rc = parse_key_file(file, flen, k->pub, k->sk, e);
	if (rc == UPT_OK)
		rc = upt_crypt_keyid(k->pub, k->keyid, e);
	if (rc == UPT_OK) {
		*out = k;
		k = NULL;
	}
out:
	if (file)
		sodium_free(file);
	upt_decrypt_key_free(k);
	if (rc)
		upt_err_set_file(e, path);
	return rc;
}

const char *upt_decrypt_key_id(const upt_decrypt_key *k)
{
	return k->keyid;
}

void upt_decrypt_key_free(upt_decrypt_key *k)
{
	if (!k)
		return;
	if (k->sk)
		sodium_free(k->sk);
	free(k);
}

int upt_crypt_wrap(const uint8_t pub[UPT_X25519_LEN], const uint8_t key[UPT_CRYPT_KEY_LEN],
		   uint8_t out[UPT_WRAPPED_KEY_LEN], upt_err *e)
{
	int rc = sodium_ready(e);
	if (rc == UPT_OK && crypto_box_seal(out, key, UPT_CRYPT_KEY_LEN, pub) != 0)
		rc = upt_err_set(e, UPT_E_USAGE, "cannot wrap the image key for this public key");
	return rc;
}

int upt_crypt_unwrap(const upt_decrypt_key *k, const uint8_t wrapped[UPT_WRAPPED_KEY_LEN],
		     uint8_t key[UPT_CRYPT_KEY_LEN], upt_err *e)
{
	int rc = sodium_ready(e);
	if (rc == UPT_OK &&
	    crypto_box_seal_open(key, wrapped, UPT_WRAPPED_KEY_LEN, k->pub, k->sk) != 0)
		rc = upt_err_set(e, UPT_E_POLICY,
				 "the image key does not open with this device's decrypt_key");
	return rc;
}

/* ---- sealing ---- */

struct upt_seal {
	crypto_secretstream_xchacha20poly1305_state st;
	upt_seal_out out;
	void *ctx;
	upt_hasher *h;
	uint64_t length;
	uint8_t *plain; /* UPT_CRYPT_CHUNK */
	size_t nplain;
	uint8_t *sealed; /* UPT_CRYPT_CHUNK + overhead */
};

static int seal_emit(upt_seal *s, const void *p, size_t n, upt_err *e)
{
	int rc = upt_hasher_update(s->h, p, n, e);
	if (rc == UPT_OK)
		rc = s->out(s->ctx, p, n, e);
	s->length += n;
	return rc;
}

void upt_seal_free(upt_seal *s)
{
	if (!s)
		return;
	sodium_memzero(&s->st, sizeof(s->st));
	upt_hasher_free(s->h);
	free(s->plain);
	free(s->sealed);
	free(s);
}

int upt_seal_new(const uint8_t key[UPT_CRYPT_KEY_LEN], upt_seal_out out, void *ctx, upt_seal **sp,
		 upt_err *e)
{
	int rc = sodium_ready(e);
	if (rc)
		return rc;
	upt_seal *s = calloc(1, sizeof(*s));
	if (!s)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	s->out = out;
	s->ctx = ctx;
	s->plain = malloc(UPT_CRYPT_CHUNK);
	s->sealed = malloc(UPT_CRYPT_CHUNK + UPT_CRYPT_CHUNK_OVERHEAD);
	rc = s->plain && s->sealed ? upt_hasher_new(true, false, &s->h, e)
				   : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	uint8_t header[UPT_CRYPT_HEADER_LEN];
	if (rc == UPT_OK &&
	    crypto_secretstream_xchacha20poly1305_init_push(&s->st, header, key) != 0)
		rc = upt_err_set(e, UPT_E_INTERNAL, "secretstream set-up failed");
	if (rc == UPT_OK)
		rc = seal_emit(s, header, sizeof(header), e);
	if (rc) {
		upt_seal_free(s);
		return rc;
	}
	*sp = s;
	return UPT_OK;
}

static int seal_chunk(upt_seal *s, unsigned char tag, upt_err *e)
{
	unsigned long long clen = 0;
	if (crypto_secretstream_xchacha20poly1305_push(&s->st, s->sealed, &clen, s->plain,
						       s->nplain, NULL, 0, tag) != 0)
		return upt_err_set(e, UPT_E_INTERNAL, "secretstream push failed");
	s->nplain = 0;
	return seal_emit(s, s->sealed, (size_t)clen, e);
}

int upt_seal_update(upt_seal *s, const void *p, size_t n, upt_err *e)
{
	const uint8_t *b = p;
	while (n) {
		/* a full chunk is sealed only once more bytes show it is not the last */
		if (s->nplain == UPT_CRYPT_CHUNK) {
			int rc =
			    seal_chunk(s, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, e);
			if (rc)
				return rc;
		}
		size_t take = UPT_CRYPT_CHUNK - s->nplain < n ? UPT_CRYPT_CHUNK - s->nplain : n;
		memcpy(s->plain + s->nplain, b, take);
		s->nplain += take;
		b += take;
		n -= take;
	}
	return UPT_OK;
}

int upt_seal_finish(upt_seal *s, uint64_t *length, upt_hashes *hashes, upt_err *e)
{
	int rc = seal_chunk(s, crypto_secretstream_xchacha20poly1305_TAG_FINAL, e);
	if (rc == UPT_OK)
		rc = upt_hasher_final(s->h, hashes, e);
	if (rc == UPT_OK)
		*length = s->length;
	return rc;
}
