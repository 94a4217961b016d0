/* rfc3339: the one timestamp form metadata uses, exactly "YYYY-MM-DDTHH:MM:SSZ" (UTC), and the
 * time and duration syntax of the command lines built on it. */
#ifndef UPT_RFC3339_H
#define UPT_RFC3339_H

#include <stdint.h>

#include "upt/err.h"

#define UPT_RFC3339_LEN 20 /* without the NUL */

/* Parses exactly the pinned form into seconds since the epoch. Rejects any other length,
 * offsets, fractions, out-of-range fields (month 13, Feb 30, hour 24, second 61).
 * UPT_E_MALFORMED; *out untouched on failure. */
int upt_rfc3339_parse(const char *s, int64_t *out, upt_err *e) UPT_MUST_CHECK;

/* Formats t (years 0000-9999) into out[UPT_RFC3339_LEN + 1]. */
void upt_rfc3339_format(int64_t t, char out[UPT_RFC3339_LEN + 1]);

/*
 * The command-line syntax of every option that takes a time or a duration, in uptane-bundle
 * and uptane-install alike (docs/man/uptane-bundle.1, TIMES AND DURATIONS):
 *   TIME      YYYY-MM-DD (00:00:00Z that day) or YYYY-MM-DDTHH:MM:SSZ (UTC)
 *   DURATION  <n>h hours, <n>d days, <n>y calendar years; n >= 1, at most 100 years
 */
#define UPT_DATE_LEN 10 /* "YYYY-MM-DD" */
#define UPT_DURATION_YEARS_MAX 100

/* TIME into seconds since the epoch. UPT_E_USAGE naming both forms; *out untouched on failure. */
int upt_time_parse(const char *s, int64_t *out, upt_err *e) UPT_MUST_CHECK;

/* t plus years calendar years: the same month, day and time of day (2026-03-01 + 1y =
 * 2027-03-01); February 29 becomes February 28 in a common year (2028-02-29 + 1y =
 * 2029-02-28), as support periods end. */
int64_t upt_time_add_years(int64_t t, int64_t years);

/* DURATION counted from the time from: *secs = (from + s) - from, so "1y" is 365 or 366 days
 * depending on from, "90d" always 90 * 86400. UPT_E_USAGE on anything else (a bare number, a
 * unit other than h, d, y, zero, more than 100 years); *secs untouched on failure. */
int upt_duration_parse(const char *s, int64_t from, int64_t *secs, upt_err *e) UPT_MUST_CHECK;

#endif
