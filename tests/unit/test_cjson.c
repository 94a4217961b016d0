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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(canonical_form),
	    cmocka_unit_test(strict_parser_rejects),
	    cmocka_unit_test(typed_getters),
	    cmocka_unit_test(encoder_rejects_reals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
