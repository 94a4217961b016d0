/*
 * meta: the typed model of one Uptane/TUF metadata file, parsed from untrusted bytes.
 *
 * upt_meta_parse checks the envelope and the fields every role has (_type, spec_version
 * "1.*", version >= 1, expires in the pinned form, optional issued <= expires) and the
 * role-specific fields (root keys and roles, meta file entries, targets, delegations, the
 * custom fields of docs/bundle-format.md). It computes the canonical bytes of `signed`
 * (what signatures cover) and recomputes every key id (docs/bundle-format.md).
 * It does NOT check signatures, thresholds, versions against trusted state, expiry against a
 * clock, or anything across files: that is sig and verify.
 *
 * Lifetime: every pointer in an upt_meta (strings, arrays) lives until upt_meta_free.
 * Unknown fields anywhere are accepted and stay in `doc` (the signature covers them).
 */
#ifndef UPT_META_H
#define UPT_META_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/buf.h"
#include "upt/err.h"
#include "upt/hash.h"

#define UPT_KEYID_HEX_LEN 64

typedef enum upt_role_type {
	UPT_ROLE_ROOT,
	UPT_ROLE_TIMESTAMP,
	UPT_ROLE_SNAPSHOT,
	UPT_ROLE_TARGETS,	   /* top-level and delegated targets, device Director targets */
	UPT_ROLE_OFFLINE_SNAPSHOT, /* PURE-2 */
	UPT_ROLE_OFFLINE_UPDATES,  /* PURE-2: a targets file */
} upt_role_type;

/* "root", "timestamp", ..., "offline-updates": the `_type` strings. */
const char *upt_role_type_name(upt_role_type t);

/* A public key from a `keys` map. Keys of unknown type or scheme are kept (ed25519 = false)
 * so a threshold check can ignore them: they never count, never fail open. */
typedef struct upt_key {
	char keyid[UPT_KEYID_HEX_LEN + 1]; /* lowercase hex; equals the recomputed id */
	bool ed25519;			   /* keytype and scheme "ed25519", 32-byte public key */
	uint8_t pub[32];
} upt_key;

/* A role's key ids and threshold: root's `roles` entries and delegations. */
typedef struct upt_role_keys {
	const char *name;
	const char **keyids; /* lowercase hex, no duplicates (a key listed twice -> malformed) */
	size_t nkeyids;
	uint64_t threshold; /* >= 1 */
} upt_role_keys;

typedef struct upt_signature {
	char keyid[UPT_KEYID_HEX_LEN + 1];
	bool sig_ok; /* sig is 128 hex digits; false: kept, but can never verify */
	uint8_t sig[64];
} upt_signature;

/* A `meta` entry of timestamp, snapshot, offline-snapshot. */
typedef struct upt_fileinfo {
	const char *name; /* "snapshot.json", "targets.json", "<role>.json", "<fleet>.json" */
	uint64_t version;
	bool has_length;
	uint64_t length;
	upt_hashes hashes; /* may list none (snapshot entries) */
} upt_fileinfo;

typedef struct upt_ecu_binding {
	const char *serial;
	const char *hardware_id;
} upt_ecu_binding;

typedef struct upt_target {
	const char *name;
	uint64_t length;
	upt_hashes hashes; /* sha256 required; an unknown algorithm -> malformed */
	/* custom (all optional at parse time; verify decides what each role needs) */
	const char **hardware_ids; /* custom.hardwareIds */
	size_t nhardware_ids;
	bool has_hardware_ids;
	bool has_release_counter;
	uint64_t release_counter; /* custom.releaseCounter */
	upt_ecu_binding *ecus;	  /* custom.ecuIdentifiers */
	size_t necus;
	bool has_ecus;
	const char **device_ids; /* custom.deviceIds */
	size_t ndevice_ids;
	bool has_device_ids;
} upt_target;

typedef struct upt_delegation {
	upt_role_keys role;
	const char **paths;
	size_t npaths;
	bool terminating;
	const char **hardware_ids; /* "hardwareIds" of the delegated role entry */
	size_t nhardware_ids;
	bool has_hardware_ids;
} upt_delegation;

typedef struct upt_meta {
	json_t *doc;		  /* the whole envelope (owned) */
	const json_t *signed_obj; /* borrowed from doc */
	upt_buf canonical;	  /* canonical JSON of signed: what signatures cover */
	upt_role_type type;
	uint64_t version;
	int64_t expires;
	bool has_issued;
	int64_t issued;
	upt_signature *sigs;
	size_t nsigs;

	/* root */
	upt_key *keys; /* also the delegation keys of a targets file */
	size_t nkeys;
	upt_role_keys *roles;
	size_t nroles;

	/* timestamp, snapshot, offline-snapshot (sorted by name) */
	upt_fileinfo *files;
	size_t nfiles;

	/* targets, offline-updates (targets sorted by name; delegations in listed order) */
	upt_target *targets;
	size_t ntargets;
	bool has_delegations;
	upt_delegation *delegations;
	size_t ndelegations;
	const char *device_id; /* Director targets "deviceId", NULL when absent */
} upt_meta;

/* Parses one metadata file. expected: the `_type` the caller needs (a different `_type` ->
 * UPT_E_MALFORMED "wrong _type"). Caps: UPT_META_FILE_MAX bytes and the counts in limits.h
 * (UPT_E_TOO_LARGE). Key id mismatch, a key id listed twice in a role, the same key id twice
 * in `signatures`, bad hex, missing fields -> UPT_E_MALFORMED. *out untouched on failure. */
int upt_meta_parse(const void *bytes, size_t len, upt_role_type expected, upt_meta **out,
		   upt_err *e) UPT_MUST_CHECK;
void upt_meta_free(upt_meta *m);

/* A "hashes" object: {"sha256": HEX64, "sha512": HEX128}; another algorithm, bad hex, or (with
 * need_sha256) no sha256 -> UPT_E_MALFORMED. */
int upt_meta_parse_hashes(const json_t *obj, bool need_sha256, upt_hashes *out,
			  upt_err *e) UPT_MUST_CHECK;

/* Lookups (NULL when absent). */
const upt_role_keys *upt_meta_role(const upt_meta *root, const char *name);
const upt_key *upt_meta_key(const upt_meta *m, const char *keyid);
const upt_fileinfo *upt_meta_file(const upt_meta *m, const char *name);
const upt_target *upt_meta_target(const upt_meta *m, const char *name);

/* True when the canonical `signed` objects of a and b are byte-identical
 * (docs/threat-model.md: same version as trusted, re-printed or re-signed is the same). */
bool upt_meta_same_signed(const upt_meta *a, const upt_meta *b);

/* Name rules of docs/bundle-format.md: [A-Za-z0-9._-]{1,128} for role, fleet, device names,
 * except "." and ".." (names become path components). The parser also applies it to meta
 * entry names, hardware ids, ECU serials and device ids. */
bool upt_name_valid(const char *s);

#endif
