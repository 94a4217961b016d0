/*
 * sig: ed25519 keys (libsodium), key files (docs/bundle-format.md), key ids, signing, and the
 * threshold check.
 *
 * Key id = lowercase hex SHA-256 of the canonical JSON of the key object exactly as it
 * appears (extra fields such as securesystemslib's keyid_hash_algorithms included).
 * Secret keys live in sodium_malloc'd memory and are wiped on free.
 */
#ifndef UPT_SIG_H
#define UPT_SIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/buf.h"
#include "upt/err.h"
#include "upt/meta.h"

/* Key id of a key object as it appears. */
int upt_keyid(const json_t *keyobj, char out[UPT_KEYID_HEX_LEN + 1], upt_err *e) UPT_MUST_CHECK;

/* Parses a public key object (keytype/scheme/keyval.public; extra fields tolerated) and
 * computes its id. Unknown keytype/scheme: UPT_OK with ed25519 = false. Malformed ed25519
 * public key (not 64 hex digits) -> UPT_E_MALFORMED. */
int upt_key_from_json(const json_t *keyobj, upt_key *out, upt_err *e) UPT_MUST_CHECK;

/* The three-field key object our tools write: {"keytype","scheme","keyval":{"public"}}. */
json_t *upt_key_to_json(const upt_key *k);

/* A private signing key. */
typedef struct upt_signer upt_signer;

int upt_signer_generate(upt_signer **out, upt_err *e) UPT_MUST_CHECK;
/* Loads NAME.key (JSON with keyval.public and keyval.private = 32-byte seed hex, or the
 * 64-byte seed||public form go-tuf writes; extra fields tolerated; the public half must match
 * the seed). Bounded read (UPT_KEYFILE_MAX).
 * The key id of a loaded signer or public key file is that of the three-field object our
 * builders write (upt_key_to_json), whatever extra fields the file holds; key ids inside
 * metadata are computed over the object as it appears there (meta.c). */
int upt_signer_load(const char *path, upt_signer **out, upt_err *e) UPT_MUST_CHECK;
/* Writes NAME.pub (0644) and NAME.key (0600, O_EXCL: never overwrites a key). */
int upt_signer_write(const upt_signer *s, const char *name, upt_err *e) UPT_MUST_CHECK;
const upt_key *upt_signer_key(const upt_signer *s);
void upt_signer_free(upt_signer *s);

/* Loads a public key file (NAME.pub, or the public half of NAME.key). */
int upt_pubkey_load(const char *path, upt_key *out, upt_err *e) UPT_MUST_CHECK;

int upt_sign(const upt_signer *s, const void *msg, size_t len, uint8_t sig[64],
	     upt_err *e) UPT_MUST_CHECK;
bool upt_sig_verify(const upt_key *k, const void *msg, size_t len, const uint8_t sig[64]);

/* Adds (or replaces) the signer's signature over the canonical JSON of envelope["signed"]
 * in envelope["signatures"]. */
int upt_sig_add(json_t *envelope, const upt_signer *s, upt_err *e) UPT_MUST_CHECK;
/* The same under a given key id: for metadata whose keys map lists this key in another form
 * (e.g. securesystemslib's, with keyid_hash_algorithms, hence another id). */
int upt_sig_add_keyid(json_t *envelope, const upt_signer *s, const char *keyid,
		      upt_err *e) UPT_MUST_CHECK;

/* Threshold check of m against a role: counts each key id in role->keyids at most once, only
 * when that key is in keys[] (of the delegating file), is ed25519, and its signature verifies
 * over m->canonical. OK when count >= threshold; UPT_E_ARBITRARY_SOFTWARE otherwise, with a
 * message "N of M required signatures". *valid_out (optional) receives the count. */
int upt_sig_check_threshold(const upt_meta *m, const upt_key *keys, size_t nkeys,
			    const upt_role_keys *role, uint64_t *valid_out,
			    upt_err *e) UPT_MUST_CHECK;

/* Key files of every type (sig.c, imgcrypt.c): reads path into sodium memory (*out: caller
 * sodium_free()s; a regular file, never a symlink, at most UPT_KEYFILE_MAX bytes); creates a new
 * file of exactly `mode` (O_EXCL: an existing key is never overwritten), fsynced. */
int upt_keyfile_read_secret(const char *path, uint8_t **out, size_t *len,
			    upt_err *e) UPT_MUST_CHECK;
int upt_keyfile_create(const char *path, const char *data, size_t len, unsigned mode,
		       upt_err *e) UPT_MUST_CHECK;
/* NAME.key (mode 0600, {FIELDS"keyval":{"public":HEX,"private":HEX}}, formatted in secure
 * memory) and NAME.pub (0644, the same without "private"): the key-file form of ed25519 signers
 * and X25519 decryption keys alike. FIELDS: what precedes "keyval" ("\"keytype\":\"x25519\","),
 * pub and priv at most 64 bytes. The private file first: when NAME.key exists nothing is
 * written; a public half that cannot be written removes the private one. */
int upt_keypair_write(const char *name, const char *fields, const uint8_t *pub, size_t publen,
		      const uint8_t *priv, size_t privlen, upt_err *e) UPT_MUST_CHECK;

#endif
