/* cjson: strict parsing of untrusted JSON over jansson, and our own OLPC canonical encoder
 * (jansson's sorted compact dump escapes control characters and non-ASCII, which is not OLPC). */
#include "upt/cjson.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/limits.h"

static int check_tree(const json_t *v, int depth, upt_err *e)
{
	if (depth > UPT_JSON_DEPTH_MAX)
		return upt_err_set(e, UPT_E_MALFORMED, "JSON nested deeper than %d levels",
				   UPT_JSON_DEPTH_MAX);
	switch (json_typeof(v)) {
	case JSON_REAL:
		return upt_err_set(e, UPT_E_MALFORMED,
				   "JSON real number not allowed (integers only)");
	case JSON_OBJECT: {
		const char *k;
		json_t *child;
		json_object_foreach((json_t *)v, k, child)
		{
			int rc = check_tree(child, depth + 1, e);
			if (rc)
				return rc;
		}
		return UPT_OK;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *child;
		json_array_foreach(v, i, child)
		{
			int rc = check_tree(child, depth + 1, e);
			if (rc)
				return rc;
		}
		return UPT_OK;
	}
	default:
		return UPT_OK;
	}
}

/* What jansson allocates for each kind of value, rounded up from measurements on Debian 12's
 * jansson 2.14 with glibc malloc (an empty object 224 bytes, an empty array 140, an empty string
 * 92, an integer 40, plus the parent's slot for each and glibc's 16 bytes per chunk). A key is a
 * string too, and each member grows its object's hash table. The estimate only needs to be an upper
 * bound good to a factor of about 1.5: it is compared with caps that keep a hostile file's tree
 * small, not used for accounting. jansson's values are mostly pointers: with 32-bit pointers
 * (armhf) they take about 0.6 of that (an empty object 138 bytes, an empty array 90, an empty
 * string 56, an integer 38, all counted), and the 64-bit costs would refuse genuine metadata
 * whose tree is half the cap (tests/unit/test_cjson.c holds the bound on both). */
#if UINTPTR_MAX > 0xffffffffu
#define COST_OBJECT 256u
#define COST_ARRAY 160u
#define COST_STRING 96u /* plus the string's bytes */
#define COST_SCALAR 56u
#define COST_MEMBER 16u /* an object's hash table grows with its members */
#else
#define COST_OBJECT 152u
#define COST_ARRAY 100u
#define COST_STRING 64u
#define COST_SCALAR 44u
#define COST_MEMBER 8u
#endif

int upt_json_scan(const void *data, size_t len, size_t *cost_out, upt_err *e)
{
	const unsigned char *p = data;
	size_t cost = 0;
	int depth = 0;
	bool in_scalar = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = p[i];
		if (ch == '"') {
			size_t start = i++;
			while (i < len && p[i] != '"')
				i += p[i] == '\\' ? 2 : 1;
			if (i > len) /* a final backslash stepped over the end */
				i = len;
			/* an unterminated string costs its bytes; jansson rejects it anyway */
			cost += COST_STRING + (i - start);
			in_scalar = false;
			continue;
		}
		bool scalar_char = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
				   ch == '-' || ch == '+' || ch == '.' || (ch >= 'A' && ch <= 'Z');
		if (scalar_char) {
			if (!in_scalar)
				cost += COST_SCALAR;
			in_scalar = true;
			continue;
		}
		in_scalar = false;
		if (ch == '{' || ch == '[') {
			if (++depth > UPT_JSON_DEPTH_MAX)
				return upt_err_set(e, UPT_E_MALFORMED,
						   "JSON nested deeper than %d levels",
						   UPT_JSON_DEPTH_MAX);
			cost += ch == '{' ? COST_OBJECT : COST_ARRAY;
		} else if (ch == '}' || ch == ']') {
			depth--;
		} else if (ch == ':') {
			cost += COST_MEMBER;
		}
	}
	*cost_out = cost;
	return UPT_OK;
}

int upt_json_parse(const void *data, size_t len, size_t max, json_t **out, upt_err *e)
{
	return upt_json_parse_bounded(data, len, max, UPT_JSON_COST_MAX, out, e);
}

int upt_json_parse_bounded(const void *data, size_t len, size_t max, size_t cost_max, json_t **out,
			   upt_err *e)
{
	if (len > max)
		return upt_err_set(e, UPT_E_TOO_LARGE,
				   "JSON document of %zu bytes is over the limit of %zu", len, max);
	/* Bound the tree before jansson builds it: 1 MiB of "[{},{},...]" would take 76 MiB. */
	size_t cost;
	int rc = upt_json_scan(data, len, &cost, e);
	if (rc)
		return rc;
	if (cost > cost_max)
		return upt_err_set(
		    e, UPT_E_TOO_LARGE,
		    "JSON document too complex: parsing it would take about %zu KiB, "
		    "the limit is %zu KiB",
		    cost >> 10, cost_max >> 10);
	json_error_t je;
	/* Duplicate keys are rejected: by default jansson silently keeps the last one, and two
	 * parsers disagreeing about a signed document is how signature bypasses happen. */
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		return upt_err_set(e, UPT_E_MALFORMED, "invalid JSON at line %d column %d: %s",
				   je.line, je.column, je.text);
	rc = check_tree(v, 1, e);
	if (rc) {
		json_decref(v);
		return rc;
	}
	*out = v;
	return UPT_OK;
}

static int encode_string(const char *s, size_t len, upt_buf *out, upt_err *e)
{
	int rc = upt_buf_append(out, "\"", 1, e);
	size_t start = 0;
	for (size_t i = 0; rc == UPT_OK && i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		rc = upt_buf_append(out, s + start, i - start, e);
		if (rc == UPT_OK)
			rc = upt_buf_append(out, "\\", 1, e);
		start = i;
	}
	if (rc == UPT_OK)
		rc = upt_buf_append(out, s + start, len - start, e);
	if (rc == UPT_OK)
		rc = upt_buf_append(out, "\"", 1, e);
	return rc;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int encode(const json_t *v, int depth, upt_buf *out, upt_err *e)
{
	if (depth > UPT_JSON_DEPTH_MAX)
		return upt_err_set(e, UPT_E_MALFORMED, "JSON nested too deeply to encode");
	char num[32];
	switch (json_typeof(v)) {
	case JSON_NULL:
		return upt_buf_append_str(out, "null", e);
	case JSON_TRUE:
		return upt_buf_append_str(out, "true", e);
	case JSON_FALSE:
		return upt_buf_append_str(out, "false", e);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return upt_buf_append_str(out, num, e);
	case JSON_STRING:
		return encode_string(json_string_value(v), json_string_length(v), out, e);
	case JSON_ARRAY: {
		int rc = upt_buf_append(out, "[", 1, e);
		for (size_t i = 0; rc == UPT_OK && i < json_array_size(v); i++) {
			if (i)
				rc = upt_buf_append(out, ",", 1, e);
			if (rc == UPT_OK)
				rc = encode(json_array_get(v, i), depth + 1, out, e);
		}
		return rc ? rc : upt_buf_append(out, "]", 1, e);
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(v);
		const char **keys = calloc(n ? n : 1, sizeof(*keys));
		if (!keys)
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		size_t i = 0;
		const char *k;
		json_t *child;
		json_object_foreach((json_t *)v, k, child) keys[i++] = k;
		qsort(keys, n, sizeof(*keys), cmp_keys);
		int rc = upt_buf_append(out, "{", 1, e);
		for (i = 0; rc == UPT_OK && i < n; i++) {
			if (i)
				rc = upt_buf_append(out, ",", 1, e);
			if (rc == UPT_OK)
				rc = encode_string(keys[i], strlen(keys[i]), out, e);
			if (rc == UPT_OK)
				rc = upt_buf_append(out, ":", 1, e);
			if (rc == UPT_OK)
				rc = encode(json_object_get(v, keys[i]), depth + 1, out, e);
		}
		free(keys);
		return rc ? rc : upt_buf_append(out, "}", 1, e);
	}
	case JSON_REAL:
	default:
		return upt_err_set(e, UPT_E_MALFORMED, "canonical JSON holds no real numbers");
	}
}

int upt_cjson_encode(const json_t *v, upt_buf *out, upt_err *e)
{
	size_t saved = out->len;
	int rc = encode(v, 1, out, e);
	if (rc) {
		out->len = saved; /* no half-written encoding left behind */
		if (out->data)
			out->data[saved] = 0;
	}
	return rc;
}

int upt_json_get_str(const json_t *obj, const char *key, const char **out, upt_err *e)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return upt_err_set(e, UPT_E_MALFORMED, "field \"%s\" %s", key,
				   v ? "is not a string" : "is missing");
	*out = json_string_value(v);
	return UPT_OK;
}

int upt_json_get_int(const json_t *obj, const char *key, long long min, long long max,
		     long long *out, upt_err *e)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v))
		return upt_err_set(e, UPT_E_MALFORMED, "field \"%s\" %s", key,
				   v ? "is not an integer" : "is missing");
	long long n = json_integer_value(v);
	if (n < min || n > max)
		return upt_err_set(e, UPT_E_MALFORMED,
				   "field \"%s\" = %lld is outside [%lld, %lld]", key, n, min, max);
	*out = n;
	return UPT_OK;
}

int upt_json_get_obj(const json_t *obj, const char *key, json_t **out, upt_err *e)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_object(v))
		return upt_err_set(e, UPT_E_MALFORMED, "field \"%s\" %s", key,
				   v ? "is not an object" : "is missing");
	*out = v;
	return UPT_OK;
}

int upt_json_get_arr(const json_t *obj, const char *key, json_t **out, upt_err *e)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_array(v))
		return upt_err_set(e, UPT_E_MALFORMED, "field \"%s\" %s", key,
				   v ? "is not an array" : "is missing");
	*out = v;
	return UPT_OK;
}
