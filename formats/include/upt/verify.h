/*
 * verify: full Uptane verification (docs/threat-model.md steps 1-4) as a pure function:
 * trusted state + the bundle's metadata files + the device's identity + now in, a decision out.
 * No files, no clock, no printing inside, so tests and fuzzers drive it directly.
 *
 * Step 5 (image bytes) is the caller's: it streams each assigned image with
 * upt_bundle_stream_image using the length and hashes returned here.
 */
#ifndef UPT_VERIFY_H
#define UPT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/bundle.h"
#include "upt/err.h"
#include "upt/hash.h"
#include "upt/trust.h"

typedef struct upt_ecu_ident {
	const char *serial;
	const char *hardware_id;
	uint64_t release_counter;     /* of the installed image (factory value: config) */
	const char *installed_target; /* NULL when unknown */
	bool has_installed_sha256;
	uint8_t installed_sha256[32];
} upt_ecu_ident;

typedef struct upt_device_ident {
	const char *device_id;
	const upt_ecu_ident *ecus;
	size_t necus;
	bool accept_device; /* config "accept" */
	bool accept_fleet;
	/* Key id of the device's decrypt_key (docs/device-config.md), NULL when it has none. */
	const char *decrypt_keyid;
	/* The station checking a bundle for a device without its key: an encrypted target is
	 * accepted without a wrapped key for decrypt_keyid (only its sealed form can be checked).
	 */
	bool sealed_unopened_ok;
} upt_device_ident;

typedef struct upt_verify_input {
	const upt_trust *trust;	       /* must hold director/root.json and image-repo/root.json */
	const upt_bundle_meta *bundle; /* bundle.json + metadata/ members */
	const upt_device_ident *device;
	int64_t now; /* the clock, read once by the caller */
} upt_verify_input;

typedef struct upt_assignment {
	char *ecu_serial;
	char *target_name; /* image member is "images/" + target_name */
	uint64_t length;
	upt_hashes hashes; /* every hash both repositories list (identical sets) */
	uint64_t release_counter;
	bool already_installed; /* same target name and sha256 as the ECU's installed image */
	/* Encrypted target (Director custom.encryption, docs/bundle-format.md): the member is
	 * sealed; its signed length and hashes, and the image key wrapped for this device. */
	bool sealed;
	uint64_t sealed_length;
	upt_hashes sealed_hashes;
	bool has_wrapped_key; /* false only with sealed_unopened_ok and no decrypt_keyid */
	uint8_t wrapped_key[UPT_WRAPPED_KEY_LEN];
} upt_assignment;

typedef struct upt_verify_result {
	int code;    /* UPT_OK, a rejection (2xx/3xx), UPT_E_NOT_FOR_DEVICE, UPT_E_CONFIG */
	upt_err err; /* message and failing file (bundle member path) when code != OK */

	/* Always set (also on rejection): the trusted state to persist. On rejection it is the
	 * input state plus the root versions accepted in step 1 (and, when a rotation changed
	 * timestamp/snapshot keys, without the forgotten files); otherwise everything verified.
	 * Dry runs simply do not persist it. */
	upt_trust trust_after;
	bool roots_changed;
	/* Set by upt_verify when code == UPT_OK: the input state plus only what step 1 accepted
	 * (the roots, without the files a key rotation makes us forget), time floor as input:
	 * what to persist when the images then fail, exactly what a rejection would keep. */
	upt_trust trust_roots_only;

	/* Set when code == UPT_OK. */
	upt_assignment *assignments;
	size_t nassignments;
	bool kind_fleet;
	/* "<fleet name or device id>:<Director targets/offline-updates version>" */
	char bundle_id[256];
	uint64_t director_targets_version;

	/* Time (always set). */
	int64_t effective_time;	 /* max(now, floor), raised by a verified issued */
	bool clock_behind_floor; /* now < stored floor: report it, never trust it */

	/* Set for UPT_E_NOT_FOR_DEVICE: whom the bundle is for ("devices VIN-2, VIN-3" /
	 * "hardware ids board-x"). */
	char intended_for[512];
} upt_verify_result;

/* Runs docs/threat-model.md steps 1-4. Returns out->code. out is fully initialised on return
 * (call upt_verify_result_clear afterwards in every case).
 *
 * Order: bundle layout (unknown metadata members, mixed single/multi-device or device/fleet
 * layouts, two offline-updates files -> UPT_E_MALFORMED; more than UPT_ROOT_CHAIN_MAX root
 * files -> UPT_E_TOO_LARGE, before any is read), accept policy (UPT_E_POLICY), roots (Director,
 * then Image repository), Director, Image repository, match, then the encryption of each
 * assigned target (verify_encryption.c: malformed custom.encryption -> UPT_E_MALFORMED; an
 * encrypted target and no decrypt key, or no image key wrapped for it -> UPT_E_POLICY). The first
 * failing check decides; out->err.file is the bundle member it concerns ("" when none, e.g. the
 * trusted root), its message says what a technician needs. Codes follow docs/threat-model.md; in
 * addition: no director/root.json or image-repo/root.json in the trust -> UPT_E_CONFIG; a trusted
 * root that does not parse or is not signed by its own root threshold -> UPT_E_UNTRUSTED_ROOT; a
 * trusted (state) file that does not parse -> UPT_E_INTERNAL (corrupt state directory).
 * A device bundle must carry the Image-repo timestamp; Image-repo roles are loaded lazily (only
 * those a target search visits are verified and stored), as TUF clients do.
 *
 * trust_after on success: the input plus every newly verified file under the trust.h names
 * (a file identical in signed content to the trusted copy keeps the trusted bytes), Image
 * delegations the run did not visit kept only while the new snapshot lists them at their
 * trusted version, time_floor = max(floor, verified issued). For environment codes (1xx other
 * than UPT_E_CONFIG: out of memory, internal) trust_after may be incomplete and roots_changed
 * is false: persist nothing then. */
int upt_verify(const upt_verify_input *in, upt_verify_result *out);
void upt_verify_result_clear(upt_verify_result *r);

/* The Image-repository part alone (steps 1 and 3 for "image-repo"), for checking a plain TUF
 * repository without a Director (the tuf-js interoperability harness). in->bundle holds
 * metadata/image-repo/ members (anything else is ignored), in->trust image-repo/root.json and
 * any trusted image-repo/ files; in->device may be NULL. The timestamp is required. Each of
 * target_names is searched through the delegations (their hardware-id lists ignored); a name
 * no role signs -> UPT_E_NOT_FOUND. out as for upt_verify; on success one assignment per target
 * name, in order, with what the repository signs (ecu_serial NULL, release_counter 0 when the
 * target has none). */
int upt_verify_image_repo(const upt_verify_input *in, const char *const *target_names,
			  size_t ntargets, upt_verify_result *out);
/* The same where the timestamp may be absent (then the snapshot is verified without it, as for
 * PURE-2 fleet bundles): for a station workspace, whose timestamp may pin an older snapshot
 * than its last fleet bundle signed (bundler/cmd_sbom.c). */
int upt_verify_image_repo_no_timestamp(const upt_verify_input *in, const char *const *target_names,
				       size_t ntargets, upt_verify_result *out);

#endif
