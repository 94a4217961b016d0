/*
 * osv: a vulnerability advisory in the OSV schema (docs/sbom.md), the parts `reports affected`
 * matches on: affected[].package (ecosystem, name, purl), its ranges (type SEMVER or
 * ECOSYSTEM; events introduced, fixed, last_affected) and its versions list.
 *
 * Read strictly: a range type or an ecosystem whose version order is unknown is an error naming
 * the file and the field (nothing is guessed), as is every malformed member used.
 */
#ifndef UPT_BUNDLER_OSV_H
#define UPT_BUNDLER_OSV_H

#include <stdbool.h>
#include <stddef.h>

#include "sbom.h"
#include "upt/err.h"
#include "version_order.h"

#define OSV_MAX (4u << 20)   /* bytes of one advisory */
#define OSV_ENTRIES_MAX 4096 /* affected[], ranges, events, versions: each */

typedef struct osv_range {
	vo_event *ev;
	size_t nev;
} osv_range;

typedef struct osv_package {
	const char *name;		    /* package.name (or the purl's name) */
	char purl_base[SBOM_FIELD_MAX + 1]; /* "" when neither purl nor a known ecosystem */
	enum vo_scheme scheme;		    /* for ranges */
	bool has_scheme;		    /* false: only the versions list applies */
	osv_range *ranges;
	size_t nranges;
	const char **versions;
	size_t nversions;
} osv_package;

typedef struct osv {
	const char *id;
	osv_package *pkg;
	size_t npkg;
	void *doc;
} osv;

int osv_load(const char *file, osv *out, upt_err *e) UPT_MUST_CHECK;
void osv_free(osv *o);

enum osv_match { OSV_NO, OSV_YES, OSV_UNDECIDED };

/* Whether version (NULL: the SBOM gives none) of p is affected: OSV_UNDECIDED when no version
 * is given, or it is not a version of p's order while ranges need one. */
enum osv_match osv_affects(const osv_package *p, const char *version);

#endif
