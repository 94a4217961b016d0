/*
 * keys: the bundler's key files (docs/bundle-format.md) as the operator names them on the command
 * line: NAME.key (a private key: signs here) or NAME.pub (its holder signs elsewhere with
 * `sign`). A private key file readable by group or others is refused, as ssh does, and so is a
 * symbolic link or anything not a regular file.
 *
 * A keyring holds the private keys loaded in one run, each at most once, so a key serving
 * several roles is read (and its passphrase-less seed held in sodium memory) once.
 */
#ifndef UPT_BUNDLER_KEYS_H
#define UPT_BUNDLER_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "upt/err.h"
#include "upt/meta.h"
#include "upt/sig.h"

/* True when path names a private key file (ends in ".key"). */
bool key_path_is_private(const char *path);

/* Checks a private key file's type and mode (regular file, no group/other permissions). */
int key_check_private_file(const char *path, upt_err *e) UPT_MUST_CHECK;

/* Loads the public half of path: NAME.pub, or NAME.key (mode checked, then its seed is checked
 * against its public half). */
int key_load_public(const char *path, upt_key *out, upt_err *e) UPT_MUST_CHECK;

/* Loads a private key file (mode checked). */
int key_load_signer(const char *path, upt_signer **out, upt_err *e) UPT_MUST_CHECK;

typedef struct keyring {
	upt_signer **signers;
	char **paths; /* the file each came from ("" for none) */
	size_t n;
} keyring;

void keyring_init(keyring *k);
void keyring_clear(keyring *k);
/* Loads path unless a key with the same id is already there. *out (optional) is the signer. */
int keyring_load(keyring *k, const char *path, const upt_signer **out, upt_err *e) UPT_MUST_CHECK;
/* The signer for a key id, NULL when this run holds none. */
const upt_signer *keyring_find(const keyring *k, const char *keyid);

#endif
