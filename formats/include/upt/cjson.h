/*
 * cjson: the strict JSON parser for untrusted metadata (over jansson) and the OLPC canonical
 * JSON encoder that signatures cover (docs/bundle-format.md).
 *
 * Parser: rejects duplicate object keys (JSON_REJECT_DUPLICATES), reals, integers outside
 * int64, NUL in strings, nesting deeper than UPT_JSON_DEPTH_MAX, input over the caller's cap,
 * and documents whose tree would take more than UPT_JSON_COST_MAX bytes (upt_json_scan).
 * Encoder: OLPC canonical JSON exactly as securesystemslib's encode_canonical: keys sorted by
 * bytes, no whitespace, integers only, strings raw with only '"' and '\' escaped.
 */
#ifndef UPT_CJSON_H
#define UPT_CJSON_H

#include <jansson.h>
#include <stddef.h>

#include "upt/buf.h"
#include "upt/err.h"

/* Parses len bytes (at most max) into a new reference *out. UPT_E_MALFORMED with the line and
 * column on bad input, UPT_E_TOO_LARGE over max. *out untouched on failure. */
int upt_json_parse(const void *data, size_t len, size_t max, json_t **out,
		   upt_err *e) UPT_MUST_CHECK;
/* The same with another bound on the parsed tree (upt_json_parse: UPT_JSON_COST_MAX, sized
 * for a device): for the station's large documents, SBOMs (bundler/sbom.h). */
int upt_json_parse_bounded(const void *data, size_t len, size_t max, size_t cost_max, json_t **out,
			   upt_err *e) UPT_MUST_CHECK;

/* One pass over untrusted bytes before any allocation: checks the nesting depth
 * (UPT_E_MALFORMED past UPT_JSON_DEPTH_MAX) and sets *cost to an upper estimate of the bytes
 * jansson would allocate for the tree. Not a validator: jansson still decides what is JSON. */
int upt_json_scan(const void *data, size_t len, size_t *cost, upt_err *e) UPT_MUST_CHECK;

/* Appends the canonical encoding of v to out. UPT_E_MALFORMED for reals or other types the
 * canonical form cannot hold. */
int upt_cjson_encode(const json_t *v, upt_buf *out, upt_err *e) UPT_MUST_CHECK;

/* Typed field access for parsers of untrusted objects: each names the field in its error.
 * upt_json_get_* return UPT_E_MALFORMED when the field is missing or has the wrong type;
 * integers must lie in [min, max]. Strings stay owned by obj. */
int upt_json_get_str(const json_t *obj, const char *key, const char **out,
		     upt_err *e) UPT_MUST_CHECK;
int upt_json_get_int(const json_t *obj, const char *key, long long min, long long max,
		     long long *out, upt_err *e) UPT_MUST_CHECK;
int upt_json_get_obj(const json_t *obj, const char *key, json_t **out, upt_err *e) UPT_MUST_CHECK;
int upt_json_get_arr(const json_t *obj, const char *key, json_t **out, upt_err *e) UPT_MUST_CHECK;

#endif
