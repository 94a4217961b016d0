/* rfc3339: the one timestamp form metadata uses, exactly "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
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

/* Parses "90d", "12h", "1y" (365 days) into seconds. UPT_E_USAGE on anything else. */
int upt_duration_parse(const char *s, int64_t *out, upt_err *e) UPT_MUST_CHECK;

#endif
