/*
 * sig: ed25519 through libsodium, key objects and key files (docs/bundle-format.md), key
 * ids, signing, and the threshold check every verification step relies on.
 *
 * Not responsible for: deciding which role or which keys apply (verify), parsing metadata
 * (meta).
 */
#include "upt/sig.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upt/cjson.h"
#include "upt/fileio.h"
#include "upt/hash.h"
#include "upt/hex.h"
#include "upt/limits.h"

struct upt_signer {
	upt_key key;
	uint8_t *sk; /* sodium_malloc'd crypto_sign_SECRETKEYBYTES (seed || public) */
};

static int sodium_ready(upt_err *e)
{
	/* Idempotent and thread-safe; the library keeps no state of its own. */
	if (sodium_init() < 0)
		return upt_err_set(e, UPT_E_INTERNAL, "libsodium failed to initialise");
	return UPT_OK;
}

int upt_keyid(const json_t *keyobj, char out[UPT_KEYID_HEX_LEN + 1], upt_err *e)
{
	upt_buf b;
	uint8_t h[UPT_SHA256_LEN];
	upt_buf_init(&b, UPT_KEYFILE_MAX);
	int rc = upt_cjson_encode(keyobj, &b, e);
	if (rc == UPT_OK)
		rc = upt_sha256(b.data, b.len, h, e);
	upt_buf_clear(&b);
	if (rc)
		return rc;
	upt_hex_encode(h, sizeof(h), out);
	return UPT_OK;
}

int upt_key_from_json(const json_t *keyobj, upt_key *out, upt_err *e)
{
	const char *keytype, *scheme, *pub;
	json_t *keyval;
	upt_key k;
	memset(&k, 0, sizeof(k));
	int rc;
	if (!json_is_object(keyobj))
		return upt_err_set(e, UPT_E_MALFORMED, "key is not an object");
	if ((rc = upt_json_get_str(keyobj, "keytype", &keytype, e)) ||
	    (rc = upt_json_get_str(keyobj, "scheme", &scheme, e)) ||
	    (rc = upt_json_get_obj(keyobj, "keyval", &keyval, e)))
		return rc;
	if (!strcmp(keytype, "ed25519") && !strcmp(scheme, "ed25519")) {
		if ((rc = upt_json_get_str(keyval, "public", &pub, e)))
			return rc;
		if ((rc = upt_hex_decode(pub, k.pub, sizeof(k.pub), e))) {
			upt_err_prefix(e, "ed25519 public key");
			return rc;
		}
		k.ed25519 = true;
	}
	/* Any other type or scheme: kept with ed25519 = false, so it can never count toward a
	 * threshold (and never makes a file invalid merely by being listed). */
	if ((rc = upt_keyid(keyobj, k.keyid, e)))
		return rc;
	*out = k;
	return UPT_OK;
}

json_t *upt_key_to_json(const upt_key *k)
{
	if (!k || !k->ed25519)
		return NULL;
	char hex[2 * sizeof(k->pub) + 1];
	upt_hex_encode(k->pub, sizeof(k->pub), hex);
	return json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519", "keyval",
			 "public", hex);
}

/* The id of the three-field object we write, which is what our builders put in metadata. */
static int canonical_keyid(upt_key *k, upt_err *e)
{
	json_t *obj = upt_key_to_json(k);
	if (!obj)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = upt_keyid(obj, k->keyid, e);
	json_decref(obj);
	return rc;
}

static int signer_from_seed(const uint8_t seed[crypto_sign_SEEDBYTES], upt_signer **out, upt_err *e)
{
	int rc = sodium_ready(e);
	if (rc)
		return rc;
	upt_signer *s = calloc(1, sizeof(*s));
	if (!s)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	s->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!s->sk) {
		free(s);
		return upt_err_set(e, UPT_E_NOMEM, "out of secure memory");
	}
	crypto_sign_seed_keypair(s->key.pub, s->sk, seed);
	s->key.ed25519 = true;
	rc = canonical_keyid(&s->key, e);
	if (rc) {
		upt_signer_free(s);
		return rc;
	}
	*out = s;
	return UPT_OK;
}

int upt_signer_generate(upt_signer **out, upt_err *e)
{
	int rc = sodium_ready(e);
	if (rc)
		return rc;
	uint8_t *seed = sodium_malloc(crypto_sign_SEEDBYTES);
	if (!seed)
		return upt_err_set(e, UPT_E_NOMEM, "out of secure memory");
	randombytes_buf(seed, crypto_sign_SEEDBYTES);
	rc = signer_from_seed(seed, out, e);
	sodium_free(seed);
	return rc;
}

/* Wipes what we can of a parsed key file: the file bytes and jansson's copy of the private
 * hex (jansson's own transient lexer buffers are beyond reach without global allocator hooks,
 * which a library must not install). */
static void wipe_json_private(json_t *doc)
{
	json_t *priv = json_object_get(json_object_get(doc, "keyval"), "private");
	if (json_is_string(priv))
		sodium_memzero((char *)json_string_value(priv), json_string_length(priv));
}

/* Reads a key file into secure memory (one read, no growing buffer that would leave copies
 * behind): a regular file (checked before opening, never a symlink), at most UPT_KEYFILE_MAX
 * bytes. */
int upt_keyfile_read_secret(const char *path, uint8_t **out, size_t *len, upt_err *e)
{
	struct stat st;
	int fd;
	int rc = upt_open_regular(AT_FDCWD, path, &fd, &st, e);
	if (rc)
		return rc;
	uint8_t *buf = NULL;
	size_t n = 0;
	if ((uint64_t)st.st_size > UPT_KEYFILE_MAX)
		rc = upt_err_set(e, UPT_E_TOO_LARGE, "%s: key file over %u bytes", path,
				 UPT_KEYFILE_MAX);
	else if (!(buf = sodium_malloc(UPT_KEYFILE_MAX + 1)))
		rc = upt_err_set(e, UPT_E_NOMEM, "out of secure memory");
	while (rc == UPT_OK) {
		ssize_t r = read(fd, buf + n, UPT_KEYFILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = upt_err_set(e, UPT_E_IO, "%s: read error: %s", path, strerror(errno));
		else if (r == 0)
			break;
		else if ((n += (size_t)r) > UPT_KEYFILE_MAX)
			rc = upt_err_set(e, UPT_E_TOO_LARGE, "%s: key file over %u bytes", path,
					 UPT_KEYFILE_MAX);
	}
	close(fd);
	if (rc) {
		if (buf)
			sodium_free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return UPT_OK;
}

int upt_signer_load(const char *path, upt_signer **out, upt_err *e)
{
	uint8_t *file = NULL;
	size_t flen = 0;
	json_t *doc = NULL;
	uint8_t *secret = NULL;
	upt_signer *s = NULL;
	const char *keytype, *scheme, *pub, *priv;
	json_t *keyval;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	int rc = sodium_ready(e);
	if (rc == UPT_OK)
		rc = upt_keyfile_read_secret(path, &file, &flen, e);
	if (rc)
		goto out;
	rc = upt_json_parse(file, flen, UPT_KEYFILE_MAX, &doc, e);
	if (rc)
		goto out;
	if (!json_is_object(doc)) {
		rc = upt_err_set(e, UPT_E_MALFORMED, "key file is not a JSON object");
		goto out;
	}
	if ((rc = upt_json_get_str(doc, "keytype", &keytype, e)) ||
	    (rc = upt_json_get_str(doc, "scheme", &scheme, e)) ||
	    (rc = upt_json_get_obj(doc, "keyval", &keyval, e)) ||
	    (rc = upt_json_get_str(keyval, "public", &pub, e)))
		goto out;
	if (strcmp(keytype, "ed25519") != 0 || strcmp(scheme, "ed25519") != 0) {
		rc = upt_err_set(e, UPT_E_MALFORMED, "key type %.32s/%.32s is not ed25519", keytype,
				 scheme);
		goto out;
	}
	if (!json_is_string(json_object_get(keyval, "private"))) {
		rc = upt_err_set(e, UPT_E_MALFORMED,
				 "no private key (keyval.private): is this a "
				 "public key file?");
		goto out;
	}
	priv = json_string_value(json_object_get(keyval, "private"));
	if ((rc = upt_hex_decode(pub, pk, sizeof(pk), e))) {
		upt_err_prefix(e, "public key");
		goto out;
	}
	secret = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!secret) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of secure memory");
		goto out;
	}
	/* Section 9: private = the 32-byte seed (ours and securesystemslib's). Tools built on
	 * Go's crypto/ed25519 (go-tuf) write the 64-byte form seed || public: accepted when its
	 * public half is the key's. */
	if (strlen(priv) == 2 * crypto_sign_SECRETKEYBYTES) {
		rc = upt_hex_decode(priv, secret, crypto_sign_SECRETKEYBYTES, e);
		if (rc == UPT_OK &&
		    memcmp(secret + crypto_sign_SEEDBYTES, pk, crypto_sign_PUBLICKEYBYTES) != 0)
			rc = upt_err_set(e, UPT_E_MALFORMED,
					 "the private key's public half is not keyval.public");
	} else {
		rc = upt_hex_decode(priv, secret, crypto_sign_SEEDBYTES, e);
	}
	if (rc) {
		upt_err_prefix(e, "private key");
		goto out;
	}
	rc = signer_from_seed(secret, &s, e);
	if (rc)
		goto out;
	if (sodium_memcmp(s->key.pub, pk, sizeof(pk)) != 0) {
		rc = upt_err_set(
		    e, UPT_E_MALFORMED,
		    "keyval.public does not belong to the private key (damaged key file?)");
		goto out;
	}
	*out = s;
	s = NULL;
out:
	if (doc)
		wipe_json_private(doc);
	json_decref(doc);
	if (secret)
		sodium_free(secret);
	upt_signer_free(s);
	if (file)
		sodium_free(file); /* wipes */
	if (rc && e)
		upt_err_set_file(e, path);
	return rc;
}

int upt_keyfile_create(const char *path, const char *data, size_t len, unsigned mode, upt_err *e)
{
	/* O_EXCL: a key file is never overwritten (and no symlink is followed to create one). */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return upt_err_set(e, UPT_E_USAGE,
					   "%s already exists; refusing to overwrite it", path);
		return upt_err_set(e, UPT_E_IO, "%s: cannot create: %s", path, strerror(errno));
	}
	int rc = UPT_OK;
	if (fchmod(fd, mode) != 0) /* the exact mode, whatever the umask */
		rc = upt_err_set(e, UPT_E_IO, "%s: chmod: %s", path, strerror(errno));
	if (rc == UPT_OK)
		rc = upt_fd_write_all(fd, data, len, e);
	if (rc == UPT_OK && fsync(fd) != 0)
		rc = upt_err_set(e, UPT_E_IO, "%s: fsync: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == UPT_OK)
		rc = upt_err_set(e, UPT_E_IO, "%s: close: %s", path, strerror(errno));
	if (rc)
		unlink(path);
	return rc;
}

int upt_keypair_write(const char *name, const char *fields, const uint8_t *pub, size_t publen,
		      const uint8_t *priv, size_t privlen, upt_err *e)
{
	char keypath[4096], pubpath[4096];
	char pubhex[2 * 64 + 1];
	enum { KEYTEXT_MAX = 512 };
	if (!name || !*name)
		return upt_err_set(e, UPT_E_USAGE, "empty key name");
	if ((size_t)snprintf(keypath, sizeof(keypath), "%s.key", name) >= sizeof(keypath) ||
	    (size_t)snprintf(pubpath, sizeof(pubpath), "%s.pub", name) >= sizeof(pubpath))
		return upt_err_set(e, UPT_E_USAGE, "key name too long");
	if (publen > 64 || privlen > 64)
		return upt_err_set(e, UPT_E_INTERNAL, "key too long for a key file");
	upt_hex_encode(pub, publen, pubhex);

	/* The private file is formatted in secure memory so the private hex never sits in an
	 * ordinary heap block. */
	char *text = sodium_malloc(KEYTEXT_MAX);
	char *privhex = sodium_malloc(2 * 64 + 1);
	int rc = UPT_OK;
	if (!text || !privhex)
		rc = upt_err_set(e, UPT_E_NOMEM, "out of secure memory");
	int n = 0;
	if (rc == UPT_OK) {
		upt_hex_encode(priv, privlen, privhex);
		n = snprintf(text, KEYTEXT_MAX,
			     "{%s\"keyval\":{\"public\":\"%s\",\"private\":\"%s\"}}\n", fields,
			     pubhex, privhex);
		if (n < 0 || n >= KEYTEXT_MAX)
			rc = upt_err_set(e, UPT_E_INTERNAL, "key file text overflow");
	}
	/* The private key first: if NAME.key exists nothing is written at all. */
	if (rc == UPT_OK)
		rc = upt_keyfile_create(keypath, text, (size_t)n, 0600, e);
	if (privhex)
		sodium_free(privhex);
	if (text)
		sodium_free(text);
	if (rc)
		return rc;
	char pubtext[KEYTEXT_MAX];
	n = snprintf(pubtext, sizeof(pubtext), "{%s\"keyval\":{\"public\":\"%s\"}}\n", fields,
		     pubhex);
	if (n < 0 || n >= (int)sizeof(pubtext))
		rc = upt_err_set(e, UPT_E_INTERNAL, "key file text overflow");
	else
		rc = upt_keyfile_create(pubpath, pubtext, (size_t)n, 0644, e);
	if (rc)
		unlink(keypath); /* a key without its public half would only confuse */
	return rc;
}

int upt_signer_write(const upt_signer *s, const char *name, upt_err *e)
{
	return upt_keypair_write(name, "\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",",
				 s->key.pub, sizeof(s->key.pub), s->sk, crypto_sign_SEEDBYTES, e);
}

const upt_key *upt_signer_key(const upt_signer *s)
{
	return &s->key;
}

void upt_signer_free(upt_signer *s)
{
	if (!s)
		return;
	if (s->sk)
		sodium_free(s->sk); /* wipes */
	sodium_memzero(s, sizeof(*s));
	free(s);
}

int upt_pubkey_load(const char *path, upt_key *out, upt_err *e)
{
	uint8_t *file = NULL; /* may be a private key file: read into secure memory */
	size_t flen = 0;
	json_t *doc = NULL;
	upt_key k;
	int rc = sodium_ready(e);
	if (rc == UPT_OK)
		rc = upt_keyfile_read_secret(path, &file, &flen, e);
	if (rc == UPT_OK)
		rc = upt_json_parse(file, flen, UPT_KEYFILE_MAX, &doc, e);
	if (rc == UPT_OK)
		rc = upt_key_from_json(doc, &k, e);
	if (rc == UPT_OK && !k.ed25519)
		rc = upt_err_set(e, UPT_E_MALFORMED, "not an ed25519 key");
	/* Loaded key files feed our builders, which write the three-field key object: the id is
	 * that object's, whatever extra fields (keyid, keyid_hash_algorithms, private) the file
	 * holds. Key ids inside metadata are computed as they appear (meta.c). */
	if (rc == UPT_OK)
		rc = canonical_keyid(&k, e);
	if (doc)
		wipe_json_private(doc);
	json_decref(doc);
	if (file)
		sodium_free(file);
	if (rc) {
		if (e)
			upt_err_set_file(e, path);
		return rc;
	}
	*out = k;
	return UPT_OK;
}

int upt_sign(const upt_signer *s, const void *msg, size_t len, uint8_t sig[64], upt_err *e)
{
	int rc = sodium_ready(e);
	if (rc)
		return rc;
	if (crypto_sign_detached(sig, NULL, msg, len, s->sk) != 0)
		return upt_err_set(e, UPT_E_INTERNAL, "ed25519 signing failed");
	return UPT_OK;
}

bool upt_sig_verify(const upt_key *k, const void *msg, size_t len, const uint8_t sig[64])
{
	if (!k || !k->ed25519 || sodium_init() < 0)
		return false;
	return crypto_sign_verify_detached(sig, msg, len, k->pub) == 0;
}

int upt_sig_add_keyid(json_t *envelope, const upt_signer *s, const char *keyid, upt_err *e)
{
	upt_buf canon;
	uint8_t sig[64];
	char sighex[129];
	json_t *signed_obj = json_object_get(envelope, "signed");
	json_t *sigs = json_object_get(envelope, "signatures");
	if (!json_is_object(signed_obj))
		return upt_err_set(e, UPT_E_MALFORMED, "envelope has no \"signed\" object");
	if (sigs && !json_is_array(sigs))
		return upt_err_set(e, UPT_E_MALFORMED, "\"signatures\" is not an array");
	upt_buf_init(&canon, 2 * (size_t)UPT_META_FILE_MAX);
	int rc = upt_cjson_encode(signed_obj, &canon, e);
	if (rc == UPT_OK)
		rc = upt_sign(s, canon.data, canon.len, sig, e);
	upt_buf_clear(&canon);
	if (rc)
		return rc;
	upt_hex_encode(sig, sizeof(sig), sighex);
	json_t *entry = json_pack("{s:s, s:s}", "keyid", keyid, "sig", sighex);
	if (!entry)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if (!sigs) {
		sigs = json_array();
		if (!sigs || json_object_set_new(envelope, "signatures", sigs) != 0) {
			json_decref(entry);
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		}
	}
	/* Replace this key's earlier signature: a key id appears at most once (meta.c rejects
	 * the same key id twice). */
	for (size_t i = json_array_size(sigs); i-- > 0;) {
		const char *id =
		    json_string_value(json_object_get(json_array_get(sigs, i), "keyid"));
		if (id && !strcasecmp(id, keyid))
			json_array_remove(sigs, i);
	}
	if (json_array_append_new(sigs, entry) != 0)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	return UPT_OK;
}

int upt_sig_add(json_t *envelope, const upt_signer *s, upt_err *e)
{
	return upt_sig_add_keyid(envelope, s, s->key.keyid, e);
}

int upt_sig_check_threshold(const upt_meta *m, const upt_key *keys, size_t nkeys,
			    const upt_role_keys *role, uint64_t *valid_out, upt_err *e)
{
	uint64_t valid = 0;
	/* The public keys already counted: one key listed under several ids (an id depends on
	 * the key object's extra fields, e.g. keyid_hash_algorithms) must still count once. */
	const uint8_t *counted[UPT_KEYS_PER_ROLE_MAX];
	if (role->nkeyids > UPT_KEYS_PER_ROLE_MAX)
		return upt_err_set(e, UPT_E_MALFORMED, "role %s lists more than %d keys",
				   role->name ? role->name : "?", UPT_KEYS_PER_ROLE_MAX);
	for (size_t i = 0; i < role->nkeyids; i++) {
		const char *id = role->keyids[i];
		/* Each authorised key counts once, even if a caller-built role repeats it. */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcasecmp(role->keyids[j], id);
		if (seen)
			continue;
		const upt_key *k = NULL;
		for (size_t j = 0; j < nkeys && !k; j++)
			if (!strcasecmp(keys[j].keyid, id))
				k = &keys[j];
		/* Unknown key types never count (never fail open). */
		if (!k || !k->ed25519)
			continue;
		for (uint64_t j = 0; j < valid && !seen; j++)
			seen = !memcmp(counted[j], k->pub, sizeof(k->pub));
		if (seen)
			continue;
		for (size_t j = 0; j < m->nsigs; j++) {
			const upt_signature *s = &m->sigs[j];
			if (!s->sig_ok || strcasecmp(s->keyid, id) != 0)
				continue;
			if (upt_sig_verify(k, m->canonical.data, m->canonical.len, s->sig)) {
				counted[valid++] = k->pub;
				break;
			}
		}
	}
	if (valid_out)
		*valid_out = valid;
	if (role->threshold < 1)
		return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE, "role %s has no threshold",
				   role->name ? role->name : "?");
	if (valid < role->threshold)
		return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
				   "%llu of %llu required signatures (role %s)",
				   (unsigned long long)valid, (unsigned long long)role->threshold,
				   role->name ? role->name : "?");
	return UPT_OK;
}
