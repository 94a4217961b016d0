/*
 * version_order: the version orders `reports affected` compares in (docs/sbom.md): SemVer 2.0
 * precedence (OSV SEMVER ranges, pkg:npm, the npm ecosystem) and Debian's order (as
 * `dpkg --compare-versions`: pkg:deb, the Debian ecosystem), and the range events of OSV
 * (introduced, fixed, last_affected) evaluated in either.
 *
 * Versions come from SBOMs and advisories: compared as text, digit runs by length then digits,
 * so no number overflows whatever its length.
 */
#ifndef UPT_BUNDLER_VERSION_ORDER_H
#define UPT_BUNDLER_VERSION_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "upt/err.h"

enum vo_scheme { VO_SEMVER, VO_DEBIAN };

/* The order of an OSV ecosystem ("npm", "Debian", "Debian:12": the part before ':' decides)
 * or a purl type ("npm", "deb"). UPT_E_USAGE naming it where no order is known. */
int vo_scheme_for_ecosystem(const char *ecosystem, enum vo_scheme *out, upt_err *e) UPT_MUST_CHECK;
int vo_scheme_for_purl(const char *purl, enum vo_scheme *out, upt_err *e) UPT_MUST_CHECK;
const char *vo_scheme_name(enum vo_scheme s); /* "SemVer", "Debian" */

/* True when s is a version of the scheme (SemVer 2.0's grammar; Debian's
 * [epoch:]upstream[-revision] with its characters). */
bool vo_valid(enum vo_scheme s, const char *v);

/* <0, 0, >0 as a is before, equal to, after b. Both must be vo_valid. */
int vo_compare(enum vo_scheme s, const char *a, const char *b);

enum vo_event_kind { VO_INTRODUCED, VO_FIXED, VO_LAST_AFFECTED };
typedef struct vo_event {
	enum vo_event_kind kind;
	const char *version; /* introduced "0": before every version */
} vo_event;

/* OSV's range rule: v is affected when, among the events at or below it in version order, the
 * latest is an introduced (a fixed equal to v ends it; a last_affected below v ends it).
 * events need no order. */
bool vo_in_range(enum vo_scheme s, const vo_event *ev, size_t n, const char *v);

#endif
