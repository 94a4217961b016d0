/*
 * report: the signed device manifest with its ECU version reports (docs/reports.md,
 * Uptane 5.4.2.1), which the device writes after every attempt and the station's ledger reads.
 *
 * Build: a record in, the file bytes out (canonical JSON of the TUF envelope, every ECU report
 * and the manifest each signed with the device's ed25519 key); the installer writes these.
 * Open + verify: file bytes and the registered device key in, the same record out; the
 * station's `reports ingest` reads every report with these.
 * Field names are pinned by the design; the ECU report fields are aktualizr's.
 * Not here: counters, where reports are written, what the installer did (the caller says).
 */
#ifndef UPT_REPORT_H
#define UPT_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/buf.h"
#include "upt/err.h"
#include "upt/hash.h"
#include "upt/meta.h"
#include "upt/sig.h"

typedef struct upt_report_ecu {
	const char *serial;
	const char *filepath; /* target name of the installed image; "" when unknown (factory) */
	uint64_t length;
	bool has_sha256; /* false: "hashes": {} (factory image, never installed by us) */
	uint8_t sha256[UPT_SHA256_LEN];
	const char *attacks; /* "" or a rejection class */
	int64_t latest_time;
	uint64_t report_counter;
	/* What the ECU's image is doing (docs/reports.md): "installed", "pending" (an A/B image
	 * activated, not yet confirmed), "confirmed" or "fell-back" (by `confirm` and
	 * `confirm --failed`). NULL builds as "installed"; a report without the field parses as
	 * "installed" (devices from before the field). */
	const char *state;
} upt_report_ecu;

/* True for one of the four ECU states above. */
bool upt_report_ecu_state_ok(const char *s);

/* A bundle found but not installed because another one was chosen (docs/integration.md). */
typedef struct upt_report_skip {
	const char *file;
	const char *status; /* "rejected", "not-for-this-device", "up-to-date", "older" */
	const char *reason; /* class or NULL */
	const char *message;
} upt_report_skip;

typedef struct upt_report {
	const char *device_id;
	const char *primary_ecu;
	uint64_t counter; /* strictly increasing per device */
	int64_t clock;
	int64_t effective;
	bool has_bundle; /* false: "bundle": null (no bundle found, or written by confirm) */
	const char *bundle_file;
	const char *bundle_kind;    /* "device"|"fleet", NULL when unknown */
	const char *bundle_id;	    /* NULL when unknown (rejected before the Director verified) */
	bool has_medium;	    /* false: "medium": null */
	const char *medium_vendor;  /* 4 hex digits */
	const char *medium_product; /* 4 hex digits */
	const char *medium_serial;
	/* installed|verified|up-to-date|not-for-this-device|no-bundle|rejected|failed, and for
	 * `confirm`: confirmed|reverted */
	const char *status;
	const char *reason; /* NULL unless rejected or failed */
	const char *message;
	const upt_report_ecu *ecus;
	size_t necus;
	const upt_report_skip *skipped; /* written only when nskipped > 0 */
	size_t nskipped;
} upt_report;

/* Builds and signs the manifest; out receives the canonical JSON bytes of the envelope
 * (replacing its contents; at most UPT_REPORT_MAX). UPT_E_INTERNAL for a record the format
 * cannot hold (a status or ECU state outside the pinned sets, more than UPT_ECUS_MAX ECUs). */
int upt_report_build(const upt_report *r, const upt_signer *key, upt_buf *out,
		     upt_err *e) UPT_MUST_CHECK;

#define UPT_REPORT_TEXT_MAX 4096	 /* result.message, attacks_detected */
#define UPT_REPORT_BUNDLE_FIELD_MAX 1024 /* bundle.file, bundle.id, medium.serial */

/* A report being read; strings point into it and live until upt_report_parsed_free. */
typedef struct upt_report_parsed {
	/* After upt_report_open: r.device_id and r.counter (unverified: which key to check
	 * with, and whether this exact report is already known). After upt_report_verify: every
	 * field. */
	upt_report r;
	bool has_clock;			     /* false: "clock": null */
	char digest[2 * UPT_SHA256_LEN + 1]; /* sha256 of canonical: the report's identity */
	upt_buf canonical;		     /* canonical JSON of the manifest's signed */
	/* internal */
	upt_report_ecu *ecus;
	upt_report_skip *skips;
	json_t *doc, *signed_obj, *sigs;
	upt_buf ecu_canonical;
} upt_report_parsed;

/* Reads untrusted report bytes (at most UPT_REPORT_MAX): the envelope, _type
 * "device-manifest", device_id ([A-Za-z0-9._-]{1,128}) and counter, nothing else.
 * UPT_E_MALFORMED (the field named), UPT_E_TOO_LARGE. */
int upt_report_open(const void *bytes, size_t len, upt_report_parsed **out,
		    upt_err *e) UPT_MUST_CHECK;
void upt_report_parsed_free(upt_report_parsed *p);

/* Verify first, then believe: checks the manifest's signature by device_key, then every
 * field of the pinned form (docs/reports.md), each ECU report's own signature included.
 * UPT_E_ARBITRARY_SOFTWARE when a signature by that key is missing or does not verify;
 * UPT_E_MALFORMED for a field out of the form (named), a signature entry that is not
 * {"keyid", "sig"} or a key id listed twice. */
int upt_report_verify(upt_report_parsed *p, const upt_key *device_key, upt_err *e) UPT_MUST_CHECK;

#endif
