/*
 * ledger_sbom: the ledger's SBOM tables (docs/sbom.md): the components of each target's SBOM,
 * keyed by the target's SHA-256 (the hash device reports name), and the fleet's current images
 * that `reports affected` matches against them.
 *
 * Its own tables, created when first written (CREATE TABLE IF NOT EXISTS, ledger_sbom_schema):
 * a ledger without them reads as one with no SBOM imported, and older builds ignore them.
 */
#ifndef UPT_BUNDLER_LEDGER_SBOM_H
#define UPT_BUNDLER_LEDGER_SBOM_H

#include <stdbool.h>
#include <stdint.h>

#include "ledger.h"
#include "sbom.h"

#define LEDGER_SHA256_HEX (2 * UPT_SHA256_LEN + 1)

enum ledger_sbom_result { LEDGER_SBOM_ADDED, LEDGER_SBOM_REPLACED, LEDGER_SBOM_UNCHANGED };

/* Stores s as the SBOM of the target with that sha256 (inside the caller's transaction):
 * replaces another SBOM recorded for it, leaves the same one (by sbom_sha256) as it is. */
int ledger_sbom_put(ledger *l, const char *target_sha256, const char *target_name,
		    const char *sbom_sha256, const sbom *s, enum ledger_sbom_result *res,
		    upt_err *e) UPT_MUST_CHECK;

/* A component of an imported SBOM. Strings valid during the callback only. */
typedef struct ledger_component {
	const char *target_sha256, *target;
	const char *name, *version, *purl; /* version, purl: NULL when the SBOM gives none */
	const char *imported_at;	   /* when sbom import stored the SBOM (RFC 3339) */
} ledger_component;

/* Calls fn for every stored component named name (name non-NULL) or whose purl without
 * version and qualifiers is purl_base (name NULL). */
int ledger_sbom_find(ledger *l, const char *name, const char *purl_base,
		     int (*fn)(const ledger_component *, void *), void *ctx,
		     upt_err *e) UPT_MUST_CHECK;

/* One row per registered device and ECU, in device and ECU order: the image its latest report
 * names; a device without reports gives one row with ecu NULL. */
typedef struct ledger_current {
	const char *device_id, *ecu, *target, *sha256; /* NULL when unknown */
	int64_t counter;			       /* the ECU's latest report, -1 without */
	const char *last_report;		       /* effective time of the device's latest */
	/* effective time of the first report of the latest unbroken run (by counter) of reports
	 * showing this sha256 on this ECU; NULL when unknown */
	const char *installed_at;
	const char *placed_on_market;
	int support_years; /* -1 when unknown */
	bool sbom_known;   /* an SBOM is imported for sha256 */
} ledger_current;

int ledger_current_each(ledger *l, int (*fn)(const ledger_current *, void *), void *ctx,
			upt_err *e) UPT_MUST_CHECK;

#endif
