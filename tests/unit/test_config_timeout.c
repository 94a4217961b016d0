/* Unit tests: devconfig's optional install.timeout_seconds (an extension, in docs/device-config.md
 * too): absent = 0 (the installer's default), 1..UPT_PROGRAM_TIMEOUT_MAX kept, everything else
 * refused with the field named, and only for handlers that run a program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "upt/devconfig.h"
#include "upt/limits.h"

/* A configuration with one ECU whose install object is inst. */
static int parse_with(const char *inst, upt_devconfig **out, upt_err *e)
{
	char doc[2048];
	snprintf(doc, sizeof(doc),
		 "{\"device_id\": \"VIN-1\", \"primary_ecu\": \"e\",\n"
		 " \"ecus\": [{\"serial\": \"e\", \"hardware_id\": \"hw\", \"install\": %s}],\n"
		 " \"state_dir\": \"/s\", \"trusted_roots\": {\"director\": \"/d.json\",\n"
		 " \"image-repo\": \"/i.json\"}, \"report_key\": \"/k\", \"accept\": [\"device\"]}",
		 inst);
	upt_err_clear(e);
	return upt_devconfig_parse(doc, strlen(doc), "/etc/cfg", out, e);
}

#define EXEC(t) "{\"type\": \"exec\", \"command\": [\"/bin/f\", \"{image}\"]" t "}"
#define AB(t)                                                                                      \
	"{\"type\": \"ab\", \"slots\": [\"/a\", \"/b\"], \"activate\": [\"/bin/s\"], "             \
	"\"confirm\": [\"/bin/c\"]" t "}"

static void absent_is_zero(void **state)
{
	(void)state;
	upt_devconfig *c = NULL;
	upt_err e;
	assert_int_equal(parse_with(EXEC(""), &c, &e), UPT_OK);
	assert_int_equal(c->ecus[0].timeout_s, 0);
	upt_devconfig_free(c);
	assert_int_equal(parse_with(AB(""), &c, &e), UPT_OK);
	assert_int_equal(c->ecus[0].timeout_s, 0);
	upt_devconfig_free(c);
}

static void values_kept(void **state)
{
	(void)state;
	upt_devconfig *c = NULL;
	upt_err e;
	assert_int_equal(parse_with(EXEC(", \"timeout_seconds\": 1"), &c, &e), UPT_OK);
	assert_int_equal(c->ecus[0].timeout_s, 1);
	upt_devconfig_free(c);
	assert_int_equal(parse_with(AB(", \"timeout_seconds\": 86400"), &c, &e), UPT_OK);
	assert_int_equal(c->ecus[0].timeout_s, UPT_PROGRAM_TIMEOUT_MAX);
	upt_devconfig_free(c);
	assert_int_equal(parse_with(AB(", \"timeout_seconds\": 300"), &c, &e), UPT_OK);
	assert_int_equal(c->ecus[0].timeout_s, 300);
	upt_devconfig_free(c);
}

static void out_of_range_or_wrong_type(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    EXEC(", \"timeout_seconds\": 0"),	     EXEC(", \"timeout_seconds\": -5"),
	    EXEC(", \"timeout_seconds\": 86401"),    EXEC(", \"timeout_seconds\": \"60\""),
	    EXEC(", \"timeout_seconds\": true"),     EXEC(", \"timeout_seconds\": null"),
	    EXEC(", \"timeout_seconds\": [60]"),     AB(", \"timeout_seconds\": 0"),
	    AB(", \"timeout_seconds\": 4294967297"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		upt_devconfig *c = NULL;
		upt_err e;
		assert_int_equal(parse_with(bad[i], &c, &e), UPT_E_CONFIG);
		assert_null(c);
		assert_non_null(strstr(e.msg, "ecus[0].install.timeout_seconds: must be a whole "
					      "number of seconds from 1 to 86400"));
	}
}

static void only_where_a_program_runs(void **state)
{
	(void)state;
	upt_devconfig *c = NULL;
	upt_err e;
	assert_int_equal(
	    parse_with("{\"type\": \"file\", \"path\": \"/t\", \"timeout_seconds\": 5}", &c, &e),
	    UPT_E_CONFIG);
	assert_null(c);
	assert_non_null(strstr(e.msg, "unknown field \"timeout_seconds\""));
	/* misspelt: still strict */
	assert_int_equal(parse_with(EXEC(", \"timeout\": 5"), &c, &e), UPT_E_CONFIG);
	assert_non_null(strstr(e.msg, "unknown field \"timeout\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(absent_is_zero),
	    cmocka_unit_test(values_kept),
	    cmocka_unit_test(out_of_range_or_wrong_type),
	    cmocka_unit_test(only_where_a_program_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
