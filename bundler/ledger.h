/*
 * ledger: the fleet ledger (docs/reports.md), one SQLite file: the device registry
 * (device id, report key, EU Cyber Resilience Act support period) and every accepted device
 * report, from which "what runs where, since when" is derived.
 *
 * Responsible for: the schema, its version, transactions, and the queries. NOT responsible for
 * reading or verifying reports (cmd_reports.c does that before anything reaches the ledger) or
 * for printing (the commands format what the ledger hands them).
 *
 * Times are stored as the pinned RFC 3339 text ("YYYY-MM-DDTHH:MM:SSZ"), dates as
 * "YYYY-MM-DD": both sort as text in time order.
 */
#ifndef UPT_BUNDLER_LEDGER_H
#define UPT_BUNDLER_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/err.h"
#include "upt/hash.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/report.h"
#include "upt/rfc3339.h"

#define LEDGER_DATE_LEN 10	    /* YYYY-MM-DD */
#define LEDGER_SUPPORT_YEARS_MAX 99 /* CRA support periods are years, not centuries */
/* Station-side inputs: the operator's, not the stick's, but bounded all the same. */
#define LEDGER_CSV_MAX (64u << 20)     /* devices import CSV */
#define LEDGER_DIR_ENTRIES_MAX 1000000 /* entries read from one reports directory */
/* Report fields: bounded by the report reader (upt/report.h) before they reach the ledger. */
#define LEDGER_TEXT_MAX UPT_REPORT_TEXT_MAX		    /* result.message, attacks_detected */
#define LEDGER_BUNDLE_FIELD_MAX UPT_REPORT_BUNDLE_FIELD_MAX /* bundle.file, bundle.id */

typedef struct ledger ledger;

enum ledger_mode {
	LEDGER_READ,   /* the file must exist; nothing is written */
	LEDGER_WRITE,  /* the file must exist (and be a ledger) */
	LEDGER_CREATE, /* created with its schema when absent */
};

/* Opens the ledger file. A missing file is UPT_E_NOT_FOUND unless mode is LEDGER_CREATE; a
 * file that is not a ledger, or whose schema is newer than this build's, UPT_E_CONFIG. A
 * ledger of schema version 1 (no ECU state) is migrated when opened for writing and read as
 * it is (every ECU state "installed") when opened for reading. */
int ledger_open(const char *path, enum ledger_mode mode, ledger **out, upt_err *e) UPT_MUST_CHECK;
void ledger_close(ledger *l);

/* One write transaction around a command's changes: all or nothing. */
int ledger_begin(ledger *l, upt_err *e) UPT_MUST_CHECK;
int ledger_commit(ledger *l, upt_err *e) UPT_MUST_CHECK;
void ledger_rollback(ledger *l);

/* ---- device registry ---- */

typedef struct ledger_device {
	char device_id[UPT_NAME_MAX + 1];
	upt_key key;				    /* ed25519, keyid recomputed */
	char placed_on_market[LEDGER_DATE_LEN + 1]; /* "" when unknown */
	int support_years;			    /* -1 when unknown */
} ledger_device;

/* True when s follows the name rule [A-Za-z0-9._-]{1,128} (docs/bundle-format.md). */
bool ledger_name_ok(const char *s);

/* A device id the registry accepts: the name rule, and no leading '.': the id names the
 * device's directory on the stick (uptane-reports/<id>/), where "." and ".." are path
 * components and hidden directories (.Trashes, ._ companions) are skipped. */
bool ledger_device_id_ok(const char *s);

/* Parses a strict "YYYY-MM-DD" calendar date into seconds since the epoch (its midnight UTC).
 * UPT_E_USAGE otherwise; *out untouched on failure. */
int ledger_date_parse(const char *s, int64_t *out, upt_err *e) UPT_MUST_CHECK;

/* The end of the support period: placed_on_market + support_years, same month and day
 * (29 February becomes 28 February in a common year). "" when either is unknown. */
void ledger_support_ends(const char *placed_on_market, int support_years,
			 char out[LEDGER_DATE_LEN + 1]);

enum ledger_put_result {
	LEDGER_PUT_ADDED,
	LEDGER_PUT_UPDATED,   /* same key; support period fields changed */
	LEDGER_PUT_UNCHANGED, /* same key, nothing new */
};

/* Registers d, or updates the support period of an already registered device with the same
 * key (fields left unknown in d keep their stored value). A device registered with another key,
 * or a key already registered to another device, is refused (UPT_E_USAGE): replacing a report
 * key is not something an import should do silently. */
int ledger_device_put(ledger *l, const ledger_device *d, enum ledger_put_result *res,
		      upt_err *e) UPT_MUST_CHECK;

/* Looks a device up; *found false when not registered (out untouched then). */
int ledger_device_get(ledger *l, const char *device_id, ledger_device *out, bool *found,
		      upt_err *e) UPT_MUST_CHECK;

typedef struct ledger_device_info {
	ledger_device dev;
	char support_ends[LEDGER_DATE_LEN + 1]; /* "" when unknown */
	int64_t reports;			/* accepted reports */
	int64_t last_counter;			/* -1 without reports */
	char last_report[UPT_RFC3339_LEN + 1];	/* effective time of the highest counter, or "" */
} ledger_device_info;

/* Calls fn for every registered device in device id order; a non-zero return from fn stops the
 * walk and is returned. Pointers are valid during the call only. */
int ledger_device_each(ledger *l, int (*fn)(const ledger_device_info *, void *), void *ctx,
		       upt_err *e) UPT_MUST_CHECK;

/* ---- reports ---- */

typedef struct ledger_ecu_report {
	const char *serial;
	bool has_image;	      /* false: the ECU reports no installed image */
	const char *filepath; /* target name */
	uint64_t length;
	bool has_sha256;
	char sha256[2 * UPT_SHA256_LEN + 1];
	const char *attacks; /* attacks_detected: "" for none */
	const char *latest_time;
	int64_t report_counter;
	const char *state; /* installed|pending|confirmed|fell-back (docs/reports.md) */
} ledger_ecu_report;

/* A verified device manifest. Strings are borrowed (NULL where the report has null). */
typedef struct ledger_report {
	const char *device_id;
	int64_t counter;
	char digest[2 * UPT_SHA256_LEN + 1]; /* sha256 of the canonical `signed`: its identity */
	const char *time_clock, *time_effective;
	const char *bundle_file, *bundle_kind, *bundle_id;
	const char *status, *reason, *message;
	const ledger_ecu_report *ecus;
	size_t necus;
	const void *raw; /* the file as received (signed evidence kept for audits) */
	size_t raw_len;
	const char *source; /* where it was read from */
} ledger_report;

enum ledger_record_result {
	LEDGER_RECORDED,  /* new (device, counter) */
	LEDGER_DUPLICATE, /* same (device, counter) with the same signed content: nothing changed */
	LEDGER_REPLAYED,  /* same (device, counter) with other content: refused, nothing changed */
};

/* The digest recorded for (device, counter); *found false when none is (digest untouched). */
int ledger_report_digest(ledger *l, const char *device_id, int64_t counter,
			 char digest[2 * UPT_SHA256_LEN + 1], bool *found,
			 upt_err *e) UPT_MUST_CHECK;

/* Records r (the device must be registered) unless its (device, counter) is already there.
 * Late lower counters are normal (sticks come back out of order, docs/reports.md). */
int ledger_report_record(ledger *l, const ledger_report *r, enum ledger_record_result *res,
			 upt_err *e) UPT_MUST_CHECK;

/* ---- what runs where ---- */

typedef struct ledger_attack {
	int64_t counter;
	const char *time;  /* effective time of the report */
	const char *ecu;   /* NULL: the device rejected a bundle (result.reason) */
	const char *klass; /* attack class */
} ledger_attack;

/* One row per device and ECU ever reported; a registered device without reports gives one row
 * with ecu NULL. Strings are NULL when unknown. Valid during the callback only. */
typedef struct ledger_row {
	const char *device_id;
	const char *ecu;
	const char *target; /* installed_image.filepath of the latest report naming this ECU */
	const char *sha256;
	int64_t length;	   /* -1 when unknown */
	const char *state; /* the ECU state of that report; "installed" for older ledgers */
	/* effective time of the earliest report of the latest unbroken run (by counter) of
	 * reports showing this same target (name and sha256) on this ECU; an A/B image that was
	 * pending and then fell back never ran, so its reports do not break the run */
	const char *installed_at;
	const char *bundle;	 /* bundle.id of that report when it installed (status installed or
				    failed after a partial install), else NULL */
	const char *last_report; /* effective time of the device's highest-counter report */
	int64_t last_counter;	 /* -1 without reports */
	const char *last_status; /* result.status of that report */
	const char *placed_on_market;
	int support_years; /* -1 when unknown */
	const char *support_ends;
	const ledger_attack *attacks; /* all-time, by counter */
	size_t nattacks;
} ledger_row;

int ledger_rows_each(ledger *l, int (*fn)(const ledger_row *, void *), void *ctx,
		     upt_err *e) UPT_MUST_CHECK;

/* ---- device encryption keys (encrypted images) ----
 * Each registered device's X25519 public key (devices add --encryption-key), which
 * create --encrypt --ledger wraps image keys for. */
int ledger_encryption_key_put(ledger *l, const char *device_id, const uint8_t pub[32],
			      const char *keyid, upt_err *e) UPT_MUST_CHECK;
/* *found false when the device has none (or the ledger predates the table). */
int ledger_encryption_key_get(ledger *l, const char *device_id, uint8_t pub[32], bool *found,
			      upt_err *e) UPT_MUST_CHECK;

#endif
