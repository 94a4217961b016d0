/* Unit tests: strict JSON parsing and OLPC canonical encoding. The byte-for-byte agreement
 * with securesystemslib over 200+ generated documents is tests/cli/canonical_interop.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/cjson.h"
#include "upt/limits.h"

static int parse(const char *s, json_t **out)
{
	return upt_json_parse(s, strlen(s), 1u << 20, out, NULL);
}

static void canon(const char *in, const char *expect)
{
	json_t *v = NULL;
	assert_int_equal(parse(in, &v), UPT_OK);
	upt_buf b;
	upt_buf_init(&b, 1u << 20);
	assert_int_equal(upt_cjson_encode(v, &b, NULL), UPT_OK);
	assert_string_equal((const char *)b.data, expect);
	upt_buf_clear(&b);
	json_decref(v);
}

static void canonical_form(void **state)
{
	(void)state;
	canon("{ \"b\" : 1, \"a\" : [true, false, null, -9223372036854775808] }",
	      "{\"a\":[true,false,null,-9223372036854775808],\"b\":1}");
	/* only " and \ escaped; control characters and UTF-8 written raw */
	canon("{\"k\\\"\\\\\":\"tab\\there\\nnl \\u00e9 \\ud83d\\ude00\"}",
	      "{\"k\\\"\\\\\":\"tab\there\nnl \xc3\xa9 \xf0\x9f\x98\x80\"}");
	canon("{\"z\":{},\"y\":[],\"\":\"\"}", "{\"\":\"\",\"y\":[],\"z\":{}}");
	/* keys sort by bytes, so "B" < "a" and "a" < "aa" */
	canon("{\"aa\":1,\"a\":2,\"B\":3}", "{\"B\":3,\"a\":2,\"aa\":1}");
}

static void strict_parser_rejects(void **state)
{
	(void)state;
	json_t *v = NULL;
	upt_err e;
	assert_int_equal(upt_json_parse("{\"a\":1,\"a\":2}", 13, 100, &v, &e), UPT_E_MALFORMED);
	assert_null(v);
	assert_int_equal(parse("{\"a\":1.5}", &v), UPT_E_MALFORMED);
	assert_int_equal(parse("{\"a\":1e3}", &v), UPT_E_MALFORMED);
	assert_int_equal(parse("{\"a\":9223372036854775808}", &v), UPT_E_MALFORMED);
	assert_int_equal(parse("{\"a\":-9223372036854775809}", &v), UPT_E_MALFORMED);
	assert_int_equal(parse("{\"a\":\"x\\u0000y\"}", &v), UPT_E_MALFORMED);
	assert_int_equal(parse("{\"a\":1} trailing", &v), UPT_E_MALFORMED);
	assert_int_equal(parse("", &v), UPT_E_MALFORMED);
	assert_int_equal(parse("{\"a\":\"\xff\"}", &v), UPT_E_MALFORMED); /* invalid UTF-8 */
	/* depth cap */
	char deep[200];
	int n = UPT_JSON_DEPTH_MAX + 1;
	for (int i = 0; i < n; i++)
		deep[i] = '[';
	for (int i = 0; i < n; i++)
		deep[n + i] = ']';
	deep[2 * n] = 0;
	assert_int_equal(parse(deep, &v), UPT_E_MALFORMED);
	deep[0] = ' ';
	deep[2 * n - 1] = ' ';
	assert_int_equal(parse(deep, &v), UPT_OK); /* exactly at the cap */
	json_decref(v);
	/* size cap before parsing */
	assert_int_equal(upt_json_parse("{\"a\":1}", 7, 6, &v, &e), UPT_E_TOO_LARGE);
}

static void typed_getters(void **state)
{
	(void)state;
	json_t *v = NULL;
	assert_int_equal(parse("{\"s\":\"x\",\"i\":5,\"o\":{},\"a\":[]}", &v), UPT_OK);
	const char *s;
	long long i;
	json_t *o;
	upt_err e;
	assert_int_equal(upt_json_get_str(v, "s", &s, &e), UPT_OK);
	assert_string_equal(s, "x");
	assert_int_equal(upt_json_get_str(v, "i", &s, &e), UPT_E_MALFORMED);
	assert_non_null(strstr(e.msg, "\"i\""));
	assert_int_equal(upt_json_get_int(v, "i", 1, 10, &i, &e), UPT_OK);
	assert_int_equal(i, 5);
	assert_int_equal(upt_json_get_int(v, "i", 6, 10, &i, &e), UPT_E_MALFORMED);
	assert_int_equal(upt_json_get_int(v, "missing", 0, 1, &i, &e), UPT_E_MALFORMED);
	assert_non_null(strstr(e.msg, "missing"));
	assert_int_equal(upt_json_get_obj(v, "o", &o, &e), UPT_OK);
	assert_int_equal(upt_json_get_arr(v, "a", &o, &e), UPT_OK);
	assert_int_equal(upt_json_get_arr(v, "o", &o, &e), UPT_E_MALFORMED);
	json_decref(v);
}

static void encoder_rejects_reals(void **state)
{
	(void)state;
	json_t *v = json_pack("{s:f}", "x", 1.5);
	upt_buf b;
	upt_buf_init(&b, 100);
	assert_int_equal(upt_buf_append(&b, "keep", 4, NULL), UPT_OK);
	assert_int_equal(upt_cjson_encode(v, &b, NULL), UPT_E_MALFORMED);
	assert_int_equal(b.len, 4); /* nothing half-written */
	upt_buf_clear(&b);
	json_decref(v);
}

/* ---- the tree-size estimate (finding: 1 MiB of "[{},{},...]" took 165 MB parsed) ---- */

/* jansson's own allocations, counted (requested size plus glibc's 16 bytes per chunk). */
static size_t heap_live, heap_peak;
static void *counting_malloc(size_t n)
{
	size_t *p = malloc(n + 16);
	if (!p)
		return NULL;
	p[0] = n;
	heap_live += n + 16;
	if (heap_live > heap_peak)
		heap_peak = heap_live;
	return p + 2;
}
static void counting_free(void *q)
{
	if (!q)
		return;
	size_t *p = (size_t *)q - 2;
	heap_live -= p[0] + 16;
	free(p);
}

/* pre + copies of unit joined by ',' + post, about size bytes; '#' in unit is the copy's index */
static char *repeat(const char *pre, const char *unit, const char *post, size_t size)
{
	char *b = malloc(size + 512);
	assert_non_null(b);
	size_t n = (size_t)sprintf(b, "%s", pre);
	for (size_t i = 0; n + strlen(unit) + 64 < size; i++) {
		if (i)
			b[n++] = ',';
		for (const char *u = unit; *u; u++)
			if (*u == '#')
				n += (size_t)sprintf(b + n, "%zu", i);
			else
				b[n++] = *u;
	}
	sprintf(b + n, "%s", post);
	return b;
}

#define TARGET                                                                                     \
	"\"images/firmware-#.bin\":{\"length\":123456,\"hashes\":{\"sha256\":"                     \
	"\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"},\"custom\":{"       \
	"\"hardwareIds\":[\"board-a\"],\"releaseCounter\":#}}"

/* The estimate is above what jansson really allocates for every shape, and close to it (within
 * 1.5x) so the caps do not refuse much genuine metadata. */
static void scan_estimate_bounds_the_tree(void **state)
{
	(void)state;
	struct {
		const char *pre, *unit, *post;
	} shapes[] = {
	    {"[", "{}", "]"},
	    {"[", "[]", "]"},
	    {"[", "#", "]"},
	    {"[", "\"\"", "]"},
	    {"[", "\"a long string of text #\"", "]"},
	    {"{\"x\":{", "\"k#\":#", "}}"},
	    {"[", "{\"a\":{\"b\":[1,true,null]}}", "]"},
	    {"{\"signed\":{\"targets\":{", TARGET, "}}}"},
	};
	json_set_alloc_funcs(counting_malloc, counting_free);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		char *doc = repeat(shapes[i].pre, shapes[i].unit, shapes[i].post, 256u << 10);
		size_t cost = 0;
		assert_int_equal(upt_json_scan(doc, strlen(doc), &cost, NULL), UPT_OK);
		heap_live = heap_peak = 0;
		json_error_t je;
		json_t *v = json_loadb(doc, strlen(doc), JSON_REJECT_DUPLICATES, &je);
		assert_non_null(v);
		size_t real = heap_peak;
		json_decref(v);
		printf("# shape %zu: estimate %zu, jansson %zu (%.2f)\n", i, cost, real,
		       (double)cost / (double)real);
		if (cost < real || (double)cost > 1.5 * (double)real)
			fail_msg("shape %zu (%s): estimate %zu, jansson allocated %zu", i,
				 shapes[i].unit, cost, real); /* fail_msg returns only in the end */
		free(doc);
	}
	json_set_alloc_funcs(malloc, free);
}

static void parse_refuses_a_tree_too_large(void **state)
{
	(void)state;
	json_t *v = NULL;
	upt_err e;
	/* the review's junk: 1 MiB of empty objects would be ~80 MiB parsed */
	char *junk = repeat("{\"signed\":{\"junk\":[", "{}", "]}}", 1u << 20);
	assert_int_equal(upt_json_parse(junk, strlen(junk), 1u << 20, &v, &e), UPT_E_TOO_LARGE);
	assert_null(v);
	assert_non_null(strstr(e.msg, "too complex"));
	free(junk);
	/* 1 600 genuine-looking targets (300 KB) stay within the cap */
	char *targets = repeat("{\"signed\":{\"targets\":{", TARGET, "}}}", 300u << 10);
	if (upt_json_parse(targets, strlen(targets), 1u << 20, &v, &e) != UPT_OK)
		fail_msg("1 600 targets: %s", e.msg);
	assert_true(json_object_size(json_object_get(json_object_get(v, "signed"), "targets")) >
		    1600);
	json_decref(v);
	free(targets);
	/* depth is refused by the scan, before jansson recurses */
	char deep[2 * (UPT_JSON_DEPTH_MAX + 1) + 1];
	memset(deep, '[', UPT_JSON_DEPTH_MAX + 1);
	memset(deep + UPT_JSON_DEPTH_MAX + 1, ']', UPT_JSON_DEPTH_MAX + 1);
	deep[sizeof(deep) - 1] = '\0';
	size_t cost;
	assert_int_equal(upt_json_scan(deep, strlen(deep), &cost, &e), UPT_E_MALFORMED);
	assert_non_null(strstr(e.msg, "deeper"));
	deep[sizeof(deep) / 2 - 1] = ' '; /* one level less: accepted */
	deep[sizeof(deep) / 2] = ' ';
	assert_int_equal(upt_json_scan(deep, strlen(deep), &cost, &e), UPT_OK);
	/* strings: escapes and a final backslash never step past the end (a string's cost: one
	 * value, which depends on the pointer width, and its bytes) */
	size_t empty;
	assert_int_equal(upt_json_scan("\"\"", 2, &empty, &e), UPT_OK);
	assert_int_equal(upt_json_scan("\"a\\\"b\"", 6, &cost, &e), UPT_OK);
	assert_int_equal(cost, empty + 4u);
	assert_int_equal(upt_json_scan("\"ab\\", 4, &cost, &e), UPT_OK);
	assert_int_equal(cost, empty + 3u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(canonical_form),
	    cmocka_unit_test(strict_parser_rejects),
	    cmocka_unit_test(typed_getters),
	    cmocka_unit_test(encoder_rejects_reals),
	    cmocka_unit_test(scan_estimate_bounds_the_tree),
	    cmocka_unit_test(parse_refuses_a_tree_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
