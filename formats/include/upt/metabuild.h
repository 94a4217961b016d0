/*
 * metabuild: emitting and signing every role of both repositories: root (keys, roles,
 * thresholds), timestamp, snapshot, targets (custom fields, delegations), offline-snapshot,
 * offline-updates. Used by the bundler and by the verification engine's test generator, which
 * builds valid metadata and then mutates the returned json before signing to make attacks.
 *
 * Builders return a new `signed` object (caller owns the reference; NULL on out-of-memory).
 * Everything written uses the three-field key object and spec_version "1.0.31".
 */
#ifndef UPT_METABUILD_H
#define UPT_METABUILD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/buf.h"
#include "upt/err.h"
#include "upt/hash.h"
#include "upt/meta.h"
#include "upt/sig.h"

typedef struct upt_mb_role {
	const char *name; /* "root", "targets", "snapshot", "timestamp", "offline-snapshot", ... */
	const upt_key *keys;
	size_t nkeys;
	uint64_t threshold;
} upt_mb_role;

json_t *upt_mb_root(uint64_t version, int64_t expires, const upt_mb_role *roles, size_t nroles);

/* A file a timestamp or snapshot pins: length and sha256 are computed from bytes. */
typedef struct upt_mb_fileref {
	const char *name; /* "snapshot.json", "targets.json", "<role>.json", "<fleet>.json" */
	uint64_t version;
	const void *bytes;
	size_t len;
} upt_mb_fileref;

/* issued < 0: no "issued" field. */
json_t *upt_mb_timestamp(uint64_t version, int64_t expires, const upt_mb_fileref *snapshot,
			 int64_t issued);
/* type: UPT_ROLE_SNAPSHOT or UPT_ROLE_OFFLINE_SNAPSHOT (which carries issued). */
json_t *upt_mb_snapshot(upt_role_type type, uint64_t version, int64_t expires,
			const upt_mb_fileref *files, size_t nfiles, int64_t issued);

/* type: UPT_ROLE_TARGETS or UPT_ROLE_OFFLINE_UPDATES. device_id: Director "deviceId" or NULL. */
json_t *upt_mb_targets(upt_role_type type, uint64_t version, int64_t expires,
		       const char *device_id);

typedef struct upt_mb_target {
	const char *name;
	uint64_t length;
	upt_hashes hashes;
	const char *const *hardware_ids; /* custom.hardwareIds (Image repo, fleet) */
	size_t nhardware_ids;
	bool has_release_counter;
	uint64_t release_counter;
	const upt_ecu_binding *ecus; /* custom.ecuIdentifiers (device Director) */
	size_t necus;
	const char *const *device_ids; /* custom.deviceIds (fleet), NULL for none */
	size_t ndevice_ids;
	/* custom.sbom (Image repo, docs/sbom.md): the signed reference of the target's software
	 * bill of materials, {"format", "length", "hashes": {"sha256"}}; NULL format for none */
	const char *sbom_format; /* "CycloneDX" or "SPDX" */
	uint64_t sbom_length;
	uint8_t sbom_sha256[UPT_SHA256_LEN];
} upt_mb_target;

/* Adds (or replaces) a target in a targets/offline-updates `signed` object. */
int upt_mb_targets_add(json_t *signed_targets, const upt_mb_target *t, upt_err *e) UPT_MUST_CHECK;

typedef struct upt_mb_delegation {
	const char *name;
	const upt_key *keys;
	size_t nkeys;
	uint64_t threshold;
	const char *const *paths;
	size_t npaths;
	bool terminating;
	const char *const *hardware_ids; /* NULL for none */
	size_t nhardware_ids;
} upt_mb_delegation;

/* Appends a delegated role (in order) and its keys to a targets `signed` object. */
int upt_mb_targets_delegate(json_t *signed_targets, const upt_mb_delegation *d,
			    upt_err *e) UPT_MUST_CHECK;

/* Wraps signed_obj in an envelope, signs it with each signer (in order; a signer given twice
 * signs once) and writes the file bytes (canonical JSON of the envelope) to out (replacing its
 * contents; out untouched on failure). Exception: when a string holds a control character,
 * which canonical JSON writes raw and no JSON parser accepts, the file is sorted compact JSON
 * with escapes; the signatures still cover the canonical bytes of `signed`. */
int upt_mb_sign(const json_t *signed_obj, const upt_signer *const *signers, size_t nsigners,
		upt_buf *out, upt_err *e) UPT_MUST_CHECK;

#endif
