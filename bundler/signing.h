/*
 * signing: who signs what in a workspace. Collects the private keys a run holds for a role,
 * builds root metadata from the workspace's role entries, and reports a file's threshold
 * status (which signatures are still missing, and whose) for threshold and offline signing.
 */
#ifndef UPT_BUNDLER_SIGNING_H
#define UPT_BUNDLER_SIGNING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "upt/err.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "workspace.h"

#define SIGNERS_MAX UPT_KEYS_PER_ROLE_MAX

/* The signers this run holds for an entry's keys: each key whose recorded path is a .key file
 * (loaded into kr, mode checked), plus any key already in kr (e.g. create --key) whose id
 * matches. Keys held elsewhere (.pub) are skipped. */
int signing_signers(const json_t *entry, keyring *kr, const upt_signer *out[SIGNERS_MAX], size_t *n,
		    upt_err *e) UPT_MUST_CHECK;

/* A root `signed` object of version for repo, from the workspace's current role entries. */
int signing_root_obj(const ws *w, const char *repo, uint64_t version, int64_t expires, json_t **out,
		     upt_err *e) UPT_MUST_CHECK;

/* Refuses an expiry within WS_MIN_VALIDITY of now (UPT_E_USAGE naming what). */
int signing_check_expiry(const char *what, int64_t expires, int64_t now, upt_err *e) UPT_MUST_CHECK;

/* Warns on stderr ("uptane-bundle CMD: warning: ...") when a root expires within WS_ROOT_WARN. */
void signing_warn_root(const char *cmd, const char *what, int64_t expires, int64_t now);

/* Threshold status of one file for one role. */
typedef struct sig_status {
	uint64_t have;
	uint64_t need;
	char missing[UPT_ERR_MSG_MAX]; /* names of keys that could still sign, comma-separated */
} sig_status;

/* Counts valid signatures of m for role (keys from the delegating file) and names the
 * authorised keys that have not signed (by the workspace's key file names where known). */
int signing_status(const ws *w, const upt_meta *m, const upt_key *keys, size_t nkeys,
		   const upt_role_keys *role, sig_status *st, upt_err *e) UPT_MUST_CHECK;

/* Threshold status of metadata/<repo>/<version>.root.json: the new root must meet both the
 * previous root's threshold and its own (5.4.4.3); st_old is unused for version 1. */
int signing_root_status(const ws *w, const char *repo, uint64_t version, sig_status *st_old,
			sig_status *st_new, upt_err *e) UPT_MUST_CHECK;

/* A key file's name for messages ("root2.key"), or the short key id when unknown. */
void signing_key_name(const ws *w, const char *keyid, char *out, size_t outsz);

#endif
