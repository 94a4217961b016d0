/* Unit tests: devconfig (device.json, docs/device-config.md) and argv placeholder expansion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/devconfig.h"

/* The example of docs/device-config.md, with relative paths mixed in. */
static const char *good =
    "{\"device_id\": \"VIN-0001\", \"primary_ecu\": \"ecu-main-01\",\n"
    " \"ecus\": [\n"
    "  {\"serial\": \"ecu-main-01\", \"hardware_id\": \"board-a\",\n"
    "   \"install\": {\"type\": \"file\", \"path\": \"targets/firmware.bin\"}},\n"
    "  {\"serial\": \"mcu-01\", \"hardware_id\": \"mcu-x\", \"release_counter\": 7,\n"
    "   \"install\": {\"type\": \"ab\", \"slots\": [\"/dev/mmcblk0p2\", \"slotb\"],\n"
    "               \"activate\": [\"/usr/bin/fw_setenv\", \"boot_slot\", \"{slot}\"],\n"
    "               \"confirm\": [\"./ok.sh\", \"{device}\"]}},\n"
    "  {\"serial\": \"sensor-01\", \"hardware_id\": \"sensor-y\",\n"
    "   \"install\": {\"type\": \"exec\", \"command\": [\"/usr/bin/flash-sensor\", "
    "\"--in={image}\"]}}\n"
    " ],\n"
    " \"state_dir\": \"/var/lib/uptane-offline\",\n"
    " \"trusted_roots\": {\"director\": \"director-root.json\", \"image-repo\": "
    "\"/etc/u/image-root.json\"},\n"
    " \"report_key\": \"device.key\", \"accept\": [\"device\", \"fleet\"],\n"
    " \"time_floor\": \"2026-06-01T00:00:00Z\"}";

static void parses_the_pinned_example(void **state)
{
	(void)state;
	upt_devconfig *c = NULL;
	upt_err e;
	upt_err_clear(&e);
	assert_int_equal(upt_devconfig_parse(good, strlen(good), "/etc/cfg", &c, &e), UPT_OK);
	assert_string_equal(c->device_id, "VIN-0001");
	assert_int_equal(c->necus, 3);
	assert_string_equal(c->ecus[0].path, "/etc/cfg/targets/firmware.bin");
	assert_int_equal(c->ecus[1].type, UPT_HANDLER_AB);
	assert_string_equal(c->ecus[1].slots[0], "/dev/mmcblk0p2");
	assert_string_equal(c->ecus[1].slots[1], "/etc/cfg/slotb");
	assert_int_equal(c->ecus[1].release_counter, 7);
	assert_int_equal(c->ecus[1].activate.argc, 3);
	assert_null(c->ecus[1].activate.argv[3]);
	assert_string_equal(c->ecus[1].confirm.argv[0], "/etc/cfg/./ok.sh");
	assert_int_equal(c->ecus[0].release_counter, 0);
	assert_int_equal(c->ecus[2].type, UPT_HANDLER_EXEC);
	assert_string_equal(c->director_root, "/etc/cfg/director-root.json");
	assert_string_equal(c->image_root, "/etc/u/image-root.json");
	assert_string_equal(c->report_key, "/etc/cfg/device.key");
	assert_true(c->accept_device && c->accept_fleet);
	assert_true(c->has_time_floor);
	assert_int_equal(c->time_floor, 1780272000);
	assert_non_null(upt_devconfig_ecu(c, "sensor-01"));
	assert_null(upt_devconfig_ecu(c, "nope"));
	upt_devconfig_free(c);
}

/* Replace the first occurrence of `from` in the good config by `to` and expect a config error
 * whose message contains `needle`. */
static void expect_bad(const char *from, const char *to, const char *needle)
{
	const char *p = strstr(good, from);
	assert_non_null(p);
	size_t n = strlen(good) - strlen(from) + strlen(to) + 1;
	char *doc = malloc(n);
	assert_non_null(doc);
	snprintf(doc, n, "%.*s%s%s", (int)(p - good), good, to, p + strlen(from));
	upt_devconfig *c = (upt_devconfig *)0x1;
	upt_err e;
	upt_err_clear(&e);
	int rc = upt_devconfig_parse(doc, strlen(doc), "/b", &c, &e);
	if (rc != UPT_E_CONFIG || !strstr(e.msg, needle))
		fail_msg("%s -> %s: rc %d msg \"%s\" (wanted \"%s\")", from, to, rc, e.msg, needle);
	assert_ptr_equal(c, (upt_devconfig *)0x1); /* untouched on failure */
	free(doc);
}

static void rejects_each_mistake(void **state)
{
	(void)state;
	expect_bad("\"device_id\": \"VIN-0001\"", "\"device_id\": \"VIN/0001\"", "device_id");
	expect_bad("\"device_id\": \"VIN-0001\", ", "", "missing field \"device_id\"");
	expect_bad("\"primary_ecu\": \"ecu-main-01\"", "\"primary_ecu\": \"ecu-x\"", "primary_ecu");
	expect_bad("\"accept\": [\"device\", \"fleet\"]", "\"accept\": []", "accept");
	expect_bad("\"accept\": [\"device\", \"fleet\"]", "\"accept\": [\"device\", \"usb\"]",
		   "accept[1]");
	expect_bad("\"accept\": [\"device\", \"fleet\"],", "", "accept");
	expect_bad("\"time_floor\": \"2026-06-01T00:00:00Z\"", "\"time_floor\": \"2026-06-01\"",
		   "time_floor");
	expect_bad("\"report_key\"", "\"report-key\"", "unknown field \"report-key\"");
	expect_bad("\"type\": \"file\"", "\"type\": \"tar\"", "not an install handler");
	expect_bad("\"type\": \"file\", \"path\": \"targets/firmware.bin\"", "\"type\": \"file\"",
		   "missing field \"path\"");
	expect_bad("\"slotb\"", "\"/dev/mmcblk0p2\"", "same path");
	expect_bad("[\"/dev/mmcblk0p2\", \"slotb\"]", "[\"/dev/mmcblk0p2\"]", "two paths");
	expect_bad("\"/usr/bin/fw_setenv\"", "\"fw_setenv\"", "must be a path to the program");
	expect_bad("\"--in={image}\"", "\"--in\"", "{image}");
	expect_bad("\"release_counter\": 7", "\"release_counter\": -1", "release_counter");
	expect_bad("\"release_counter\": 7", "\"release_counter\": \"7\"", "release_counter");
	expect_bad("\"serial\": \"mcu-01\"", "\"serial\": \"ecu-main-01\"", "listed twice");
	expect_bad("\"slotb\"", "\"targets/firmware.bin\"", "both install to");
	expect_bad("\"hardware_id\": \"board-a\"", "\"hardware_id\": \"\"", "hardware_id");
	expect_bad("\"hardware_id\": \"board-a\"", "\"hardware_id\": \"..\"", "hardware_id");
	expect_bad("\"image-repo\": \"/etc/u/image-root.json\"", "\"image\": \"x\"",
		   "unknown field");
	expect_bad("\"ecus\": [", "\"ecus\": 3, \"x\": [", "unknown field");
	expect_bad("{\"device_id\"", "[{\"device_id\"", "");
	expect_bad("\"release_counter\": 7", "\"release_counter\": 7.5", "real");
	expect_bad("\"release_counter\": 7", "\"release_counter\": 7, \"release_counter\": 8",
		   "duplicate");
}

static void rejects_too_many_ecus(void **state)
{
	(void)state;
	char *doc = malloc(200000);
	assert_non_null(doc);
	size_t n =
	    (size_t)sprintf(doc, "{\"device_id\":\"d\",\"primary_ecu\":\"e0\",\"state_dir\":\"s\","
				 "\"trusted_roots\":{\"director\":\"a\",\"image-repo\":\"b\"},"
				 "\"report_key\":\"k\",\"accept\":[\"fleet\"],\"ecus\":[");
	for (int i = 0; i < 65; i++)
		n += (size_t)sprintf(doc + n,
				     "%s{\"serial\":\"e%d\",\"hardware_id\":\"h\",\"install\":"
				     "{\"type\":\"file\",\"path\":\"f%d\"}}",
				     i ? "," : "", i, i);
	sprintf(doc + n, "]}");
	upt_devconfig *c = NULL;
	upt_err e;
	assert_int_equal(upt_devconfig_parse(doc, strlen(doc), "/", &c, &e), UPT_E_CONFIG);
	assert_non_null(strstr(e.msg, "1 to 64"));
	/* 64 is fine; fleet only */
	char *last = strstr(doc, ",{\"serial\":\"e64\"");
	assert_non_null(last);
	sprintf(last, "]}");
	assert_int_equal(upt_devconfig_parse(doc, strlen(doc), "/", &c, &e), UPT_OK);
	assert_int_equal(c->necus, 64);
	assert_false(c->accept_device);
	assert_true(c->accept_fleet);
	assert_string_equal(c->state_dir, "/s");
	upt_devconfig_free(c);
	free(doc);
}

static void argv_expansion_is_per_argument(void **state)
{
	(void)state;
	char *t[] = {"/bin/x",	     "{slot}", "dev={device}", "{image}{image}", "{sl",
		     "a b;rm -rf /", NULL};
	upt_argv tmpl = {t, 6};
	upt_subst s[] = {{"{slot}", "1"}, {"{device}", "/dev/my disk"}, {"{image}", "$(evil)"}};
	upt_argv out;
	assert_int_equal(upt_argv_expand(&tmpl, s, 3, &out, NULL), UPT_OK);
	assert_int_equal(out.argc, 6);
	assert_string_equal(out.argv[0], "/bin/x");
	assert_string_equal(out.argv[1], "1");
	assert_string_equal(out.argv[2], "dev=/dev/my disk");
	assert_string_equal(out.argv[3], "$(evil)$(evil)");
	assert_string_equal(out.argv[4], "{sl");
	assert_string_equal(out.argv[5], "a b;rm -rf /");
	assert_null(out.argv[6]);
	upt_argv_free(&out);

	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	upt_subst sb[] = {{"{image}", big}};
	char *t2[] = {"/bin/x", "{image}", NULL};
	upt_argv tmpl2 = {t2, 2};
	upt_err e;
	assert_int_equal(upt_argv_expand(&tmpl2, sb, 1, &out, &e), UPT_E_TOO_LARGE);
}

static void name_rule(void **state)
{
	(void)state;
	assert_true(upt_devconfig_name_ok("VIN-0001_a.b"));
	assert_false(upt_devconfig_name_ok(""));
	assert_false(upt_devconfig_name_ok("."));
	assert_false(upt_devconfig_name_ok(".."));
	assert_false(upt_devconfig_name_ok("a/b"));
	assert_false(upt_devconfig_name_ok("a b"));
	assert_false(upt_devconfig_name_ok("é"));
	char n[130];
	memset(n, 'a', 129);
	n[129] = 0;
	assert_false(upt_devconfig_name_ok(n));
	n[128] = 0;
	assert_true(upt_devconfig_name_ok(n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_the_pinned_example),
	    cmocka_unit_test(rejects_each_mistake),
	    cmocka_unit_test(rejects_too_many_ecus),
	    cmocka_unit_test(argv_expansion_is_per_argument),
	    cmocka_unit_test(name_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
