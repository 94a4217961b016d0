/*
 * imgcrypt: encrypted images (docs/bundle-format.md, "Encrypted images").
 *
 * An image member is zstd(image) cut into UPT_CRYPT_CHUNK-byte pieces and sealed with
 * libsodium's crypto_secretstream_xchacha20poly1305 under a fresh random 32-byte image key:
 * the 24-byte stream header, then one sealed chunk (piece + 17 bytes) per piece, every one
 * tagged MESSAGE but the last, tagged FINAL. The image key travels wrapped (crypto_box_seal)
 * for each recipient's X25519 public key in the signed Director metadata. Recipients are named
 * by key id: the lowercase hex SHA-256 of the 32-byte public key.
 *
 * Key files (pinned): NAME.pub {"keytype":"x25519","keyval":{"public":HEX64}} and NAME.key,
 * the same with "private":HEX64 added (mode 0600).
 */
#ifndef UPT_IMGCRYPT_H
#define UPT_IMGCRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/err.h"
#include "upt/hash.h"

#define UPT_CRYPT_SCHEME "secretstream-xchacha20poly1305"
#define UPT_CRYPT_CHUNK (64u << 10) /* plaintext bytes per sealed chunk (the last: fewer) */
#define UPT_CRYPT_HEADER_LEN 24	    /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define UPT_CRYPT_CHUNK_OVERHEAD 17 /* crypto_secretstream_xchacha20poly1305_ABYTES */
#define UPT_CRYPT_KEY_LEN 32
#define UPT_X25519_LEN 32
#define UPT_WRAPPED_KEY_LEN 80 /* crypto_box_SEALBYTES + UPT_CRYPT_KEY_LEN */
#define UPT_CRYPT_KEYID_HEX 64
#define UPT_CRYPT_RECIPIENTS_MAX 4096 /* per target: one per device of a bundle */

/* Every refusal of an encrypted image as policy names which of these it is, so the installer
 * can tell a technician (the detail carries the rest). */
#define UPT_CRYPT_NO_KEY "this device has no decrypt_key configured"
#define UPT_CRYPT_OTHER_KEY "not encrypted for this device's decrypt_key"

/* The sealed size of `plain` bytes (header + chunks); UINT64_MAX when it would overflow. */
uint64_t upt_crypt_sealed_length(uint64_t plain);

/* Key id of an X25519 public key: hex SHA-256 of its 32 bytes. */
int upt_crypt_keyid(const uint8_t pub[UPT_X25519_LEN], char out[UPT_CRYPT_KEYID_HEX + 1],
		    upt_err *e) UPT_MUST_CHECK;

/* A device's (or a hardware type's) decryption key, in sodium memory. */
typedef struct upt_decrypt_key upt_decrypt_key;

/* Writes NAME.key (0600, never overwritten) and NAME.pub (0644) for a new X25519 key pair;
 * keyid (optional) gets its key id. */
int upt_x25519_generate(const char *name, char keyid[UPT_CRYPT_KEYID_HEX + 1],
			upt_err *e) UPT_MUST_CHECK;
/* The public key of NAME.pub (or of NAME.key). */
int upt_x25519_load_public(const char *path, uint8_t pub[UPT_X25519_LEN],
			   upt_err *e) UPT_MUST_CHECK;
/* Loads NAME.key: a regular file not readable by group or others (else UPT_E_CONFIG), whose
 * public half matches its private key (UPT_E_MALFORMED). */
int upt_decrypt_key_load(const char *path, upt_decrypt_key **out, upt_err *e) UPT_MUST_CHECK;
const char *upt_decrypt_key_id(const upt_decrypt_key *k);
void upt_decrypt_key_free(upt_decrypt_key *k);

/* crypto_box_seal of the image key to pub. */
int upt_crypt_wrap(const uint8_t pub[UPT_X25519_LEN], const uint8_t key[UPT_CRYPT_KEY_LEN],
		   uint8_t out[UPT_WRAPPED_KEY_LEN], upt_err *e) UPT_MUST_CHECK;
/* Opens a wrapped image key into key (caller's sodium memory); UPT_E_POLICY when it was not
 * sealed to k. */
int upt_crypt_unwrap(const upt_decrypt_key *k, const uint8_t wrapped[UPT_WRAPPED_KEY_LEN],
		     uint8_t key[UPT_CRYPT_KEY_LEN], upt_err *e) UPT_MUST_CHECK;

/* ---- sealing (the writer's side) ---- */

typedef struct upt_seal upt_seal;
/* Output of the sealer: the sealed bytes in order. */
typedef int (*upt_seal_out)(void *ctx, const void *p, size_t n, upt_err *e);

/* Starts a stream under key: the header goes to out at once. Every byte written is also hashed
 * (SHA-256, what the bundler lists for the sealed form) and counted for upt_seal_finish. */
int upt_seal_new(const uint8_t key[UPT_CRYPT_KEY_LEN], upt_seal_out out, void *ctx, upt_seal **s,
		 upt_err *e) UPT_MUST_CHECK;
int upt_seal_update(upt_seal *s, const void *p, size_t n, upt_err *e) UPT_MUST_CHECK;
/* Seals the last chunk (FINAL); *length and *hashes describe everything written. */
int upt_seal_finish(upt_seal *s, uint64_t *length, upt_hashes *hashes, upt_err *e) UPT_MUST_CHECK;
void upt_seal_free(upt_seal *s);

/* ---- what the installer needs to open one image ---- */

typedef struct upt_image_decrypt {
	uint8_t key[UPT_CRYPT_KEY_LEN]; /* the unwrapped image key */
	uint64_t length;		/* the sealed member's signed length */
	upt_hashes hashes;		/* the sealed member's signed hashes */
} upt_image_decrypt;

#endif
