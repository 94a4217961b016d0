/* Unit tests: report (signed device manifest + ECU version reports, docs/reports.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/cjson.h"
#include "upt/report.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"

static upt_report_ecu ecus[2];

static upt_report sample(void)
{
	memset(ecus, 0, sizeof(ecus));
	ecus[0].serial = "ecu-main-01";
	ecus[0].filepath = "main-fw-1.1.bin";
	ecus[0].length = 310000;
	ecus[0].has_sha256 = true;
	memset(ecus[0].sha256, 0xab, 32);
	ecus[0].attacks = "";
	ecus[0].latest_time = 1800000000;
	ecus[0].report_counter = 7;
	ecus[1].serial = "sensor-01";
	ecus[1].filepath = "";
	ecus[1].attacks = "";
	ecus[1].latest_time = 1800000000;
	ecus[1].report_counter = 7;
	upt_report r = {
	    .device_id = "VIN-0001",
	    .primary_ecu = "ecu-main-01",
	    .counter = 7,
	    .clock = 1700000000,
	    .effective = 1800000000,
	    .has_bundle = true,
	    .bundle_file = "fleet.uptane",
	    .bundle_kind = "fleet",
	    .bundle_id = "campaign-a:3",
	    .status = "installed",
	    .reason = NULL,
	    .message = "Installed 1 image.",
	    .ecus = ecus,
	    .necus = 2,
	};
	return r;
}

static upt_signer *key(void)
{
	upt_signer *s = NULL;
	assert_int_equal(upt_signer_generate(&s, NULL), UPT_OK);
	return s;
}

static void builds_the_pinned_form(void **state)
{
	(void)state;
	upt_signer *k = key();
	upt_report r = sample();
	upt_buf out;
	upt_buf_init(&out, 1 << 20);
	upt_err e;
	assert_int_equal(upt_report_build(&r, k, &out, &e), UPT_OK);

	/* exact field names of docs/reports.md */
	json_t *doc = NULL;
	assert_int_equal(upt_json_parse(out.data, out.len, 1 << 20, &doc, NULL), UPT_OK);
	json_t *s = json_object_get(doc, "signed");
	assert_string_equal(json_string_value(json_object_get(s, "_type")), "device-manifest");
	assert_string_equal(json_string_value(json_object_get(s, "device_id")), "VIN-0001");
	assert_string_equal(json_string_value(json_object_get(s, "primary_ecu")), "ecu-main-01");
	assert_int_equal(json_integer_value(json_object_get(s, "counter")), 7);
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "time"), "clock")),
			    "2023-11-14T22:13:20Z");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(s, "time"), "effective")),
	    "2027-01-15T08:00:00Z");
	json_t *b = json_object_get(s, "bundle");
	assert_string_equal(json_string_value(json_object_get(b, "file")), "fleet.uptane");
	assert_string_equal(json_string_value(json_object_get(b, "kind")), "fleet");
	assert_string_equal(json_string_value(json_object_get(b, "id")), "campaign-a:3");
	assert_true(json_is_null(json_object_get(s, "medium")));
	json_t *res = json_object_get(s, "result");
	assert_string_equal(json_string_value(json_object_get(res, "status")), "installed");
	assert_true(json_is_null(json_object_get(res, "reason")));
	assert_null(json_object_get(s, "skipped"));
	json_t *er = json_object_get(s, "ecu_reports");
	assert_int_equal(json_array_size(er), 2);
	json_t *e0 = json_object_get(json_array_get(er, 0), "signed");
	assert_string_equal(json_string_value(json_object_get(e0, "ecu_serial")), "ecu-main-01");
	json_t *img = json_object_get(e0, "installed_image");
	assert_string_equal(json_string_value(json_object_get(img, "filepath")), "main-fw-1.1.bin");
	json_t *fi = json_object_get(img, "fileinfo");
	assert_int_equal(json_integer_value(json_object_get(fi, "length")), 310000);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(fi, "hashes"), "sha256")),
	    "abababababababababababababababababababababababababababababababab");
	assert_string_equal(json_string_value(json_object_get(e0, "attacks_detected")), "");
	assert_string_equal(json_string_value(json_object_get(e0, "latest_time")),
			    "2027-01-15T08:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(e0, "report_counter")), 7);
	assert_int_equal(json_array_size(json_object_get(json_array_get(er, 0), "signatures")), 1);
	json_t *sig = json_array_get(json_object_get(doc, "signatures"), 0);
	assert_string_equal(json_string_value(json_object_get(sig, "keyid")),
			    upt_signer_key(k)->keyid);

	/* the file is the canonical form: re-encoding gives the same bytes */
	upt_buf canon;
	upt_buf_init(&canon, 1 << 20);
	assert_int_equal(upt_cjson_encode(doc, &canon, NULL), UPT_OK);
	assert_true(upt_buf_equal(&canon, &out));
	json_decref(doc);

	/* round trip: open + verify by the device key */
	upt_report_parsed *p = NULL;
	assert_int_equal(upt_report_open(out.data, out.len, &p, &e), UPT_OK);
	assert_int_equal(upt_report_verify(p, upt_signer_key(k), &e), UPT_OK);
	assert_string_equal(p->r.device_id, "VIN-0001");
	assert_int_equal(p->r.counter, 7);
	assert_int_equal(p->r.necus, 2);
	assert_true(p->r.ecus[0].has_sha256);
	assert_false(p->r.ecus[1].has_sha256);
	assert_string_equal(p->r.ecus[1].filepath, "");
	assert_string_equal(p->r.bundle_id, "campaign-a:3");
	assert_null(p->r.reason);
	assert_false(p->r.has_medium);
	upt_report_parsed_free(p);
	upt_buf_clear(&canon);
	upt_buf_clear(&out);
	upt_signer_free(k);
}

static void forgeries_fail(void **state)
{
	(void)state;
	upt_signer *k = key(), *other = key();
	upt_report r = sample();
	r.status = "rejected";
	r.reason = "rollback";
	r.bundle_id = NULL;
	r.has_medium = true;
	r.medium_vendor = "0781";
	r.medium_product = "5581";
	r.medium_serial = "4C5300011";
	upt_report_skip sk[] = {{"old.uptane", "older", NULL, "version 2 < 3"}};
	ecus[0].state = "pending";
	r.skipped = sk;
	r.nskipped = 1;
	upt_buf out;
	upt_buf_init(&out, 1 << 20);
	assert_int_equal(upt_report_build(&r, k, &out, NULL), UPT_OK);
	upt_report_parsed *p = NULL;
	upt_err e;
	assert_int_equal(upt_report_open(out.data, out.len, &p, &e), UPT_OK);
	assert_int_equal(upt_report_verify(p, upt_signer_key(k), &e), UPT_OK);
	assert_string_equal(p->r.medium_vendor, "0781");
	assert_string_equal(p->r.reason, "rollback");
	assert_null(p->r.bundle_id);
	assert_int_equal(p->r.nskipped, 1);
	assert_string_equal(p->r.skipped[0].status, "older");
	/* another device's key */
	assert_int_equal(upt_report_verify(p, upt_signer_key(other), &e), UPT_E_ARBITRARY_SOFTWARE);
	upt_report_parsed_free(p);

	/* every single-field change of the signed content breaks the signature */
	static const char *const edits[][2] = {
	    {"\"counter\":7", "\"counter\":8"},
	    {"\"status\":\"rejected\"", "\"status\":\"installed\""},
	    {"\"reason\":\"rollback\"", "\"reason\":null"},
	    {"main-fw-1.1.bin", "main-fw-1.2.bin"}, /* inside an ECU report */
	    {"\"report_counter\":7", "\"report_counter\":9"},
	    {"\"state\":\"pending\"", "\"state\":\"installed\""}, /* an ECU's state */
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *t = malloc(out.len + 64);
		assert_non_null(t);
		const char *at = strstr((const char *)out.data, edits[i][0]);
		assert_non_null(at);
		size_t pre = (size_t)(at - (const char *)out.data);
		int n = sprintf(t, "%.*s%s%s", (int)pre, (const char *)out.data, edits[i][1],
				at + strlen(edits[i][0]));
		p = NULL;
		assert_int_equal(upt_report_open(t, (size_t)n, &p, &e), UPT_OK);
		if (upt_report_verify(p, upt_signer_key(k), &e) != UPT_E_ARBITRARY_SOFTWARE)
			fail_msg("edit %zu verified", i);
		upt_report_parsed_free(p);
		free(t);
	}
	upt_buf_clear(&out);
	upt_signer_free(k);
	upt_signer_free(other);
}

/* Signs text again with k, every ECU report and the manifest (an ECU entry that is not an
 * envelope is left as it is): what a device with a broken writer would sign. */
static char *resign(const char *text, size_t len, const upt_signer *k, size_t *out_len)
{
	json_t *doc = json_loadb(text, len, 0, NULL);
	assert_non_null(doc);
	json_t *er = json_object_get(json_object_get(doc, "signed"), "ecu_reports");
	for (size_t i = 0; i < json_array_size(er); i++) {
		json_t *sigs = json_object_get(json_array_get(er, i), "signatures");
		if (json_is_array(sigs)) {
			json_array_clear(sigs);
			assert_int_equal(upt_sig_add(json_array_get(er, i), k, NULL), UPT_OK);
		}
	}
	json_array_clear(json_object_get(doc, "signatures"));
	assert_int_equal(upt_sig_add(doc, k, NULL), UPT_OK);
	char *t = json_dumps(doc, JSON_COMPACT);
	assert_non_null(t);
	*out_len = strlen(t);
	json_decref(doc);
	return t;
}

static void parse_rejects_bad_forms(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "{}",
	    "{\"signed\":{\"_type\":\"targets\"},\"signatures\":[]}",
	    "{\"signed\":{\"_type\":\"device-manifest\"},\"signatures\":[]}",
	    "{\"signed\":{\"_type\":\"device-manifest\",\"device_id\":\"d\",\"primary_ecu\":\"p\","
	    "\"counter\":-1,\"time\":{\"clock\":\"2027-01-01T00:00:00Z\",\"effective\":"
	    "\"2027-01-01T00:00:00Z\"},\"bundle\":null,\"medium\":null,\"result\":{\"status\":"
	    "\"installed\",\"reason\":null,\"message\":\"\"},\"ecu_reports\":[]},\"signatures\":[]"
	    "}",
	    "{\"signed\":{\"_type\":\"device-manifest\",\"device_id\":\"d\",\"primary_ecu\":\"p\","
	    "\"counter\":1,\"time\":{\"clock\":\"2027-01-01T00:00:00Z\",\"effective\":"
	    "\"2027-01-01T00:00:00Z\"},\"bundle\":null,\"medium\":null,\"result\":{\"status\":"
	    "\"hacked\",\"reason\":null,\"message\":\"\"},\"ecu_reports\":[]},\"signatures\":[]}",
	    "{\"signed\":{\"_type\":\"device-manifest\",\"device_id\":\"d\",\"primary_ecu\":\"p\","
	    "\"counter\":1,\"time\":{\"clock\":\"2027-01-01T00:00:00Z\",\"effective\":"
	    "\"2027-01-01T00:00:00Z\"},\"bundle\":null,\"medium\":null,\"result\":{\"status\":"
	    "\"installed\",\"reason\":null,\"message\":\"\"},\"ecu_reports\":[{\"signed\":{}}]},"
	    "\"signatures\":[]}",
	};
	upt_signer *k = key();
	/* the first four fail as soon as the report is opened; the others only once their
	 * signature verified (verify first, then believe), signed here by the device key */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		upt_report_parsed *p = NULL;
		upt_err e;
		int rc = upt_report_open(bad[i], strlen(bad[i]), &p, &e);
		if ((i < 4) != (rc == UPT_E_MALFORMED))
			fail_msg("case %zu: open gave %d", i, rc);
		if (rc) {
			assert_null(p);
			continue;
		}
		upt_report_parsed_free(p);
		size_t n;
		char *t = resign(bad[i], strlen(bad[i]), k, &n);
		assert_int_equal(upt_report_open(t, n, &p, &e), UPT_OK);
		if (upt_report_verify(p, upt_signer_key(k), &e) != UPT_E_MALFORMED)
			fail_msg("case %zu verified", i);
		upt_report_parsed_free(p);
		free(t);
	}
	/* minimal valid form, but unsigned: opens, does not verify; signed, it does */
	const char *unsigned_doc =
	    "{\"signed\":{\"_type\":\"device-manifest\",\"device_id\":\"d\",\"primary_ecu\":\"p\","
	    "\"counter\":1,\"time\":{\"clock\":\"2027-01-01T00:00:00Z\",\"effective\":"
	    "\"2027-01-01T00:00:00Z\"},\"bundle\":null,\"medium\":null,\"result\":{\"status\":"
	    "\"no-bundle\",\"reason\":null,\"message\":\"\"},\"ecu_reports\":[]},\"signatures\":[]"
	    "}";
	upt_report_parsed *p = NULL;
	upt_err e;
	assert_int_equal(upt_report_open(unsigned_doc, strlen(unsigned_doc), &p, &e), UPT_OK);
	assert_int_equal(upt_report_verify(p, upt_signer_key(k), &e), UPT_E_ARBITRARY_SOFTWARE);
	upt_report_parsed_free(p);
	size_t n;
	char *t = resign(unsigned_doc, strlen(unsigned_doc), k, &n);
	assert_int_equal(upt_report_open(t, n, &p, &e), UPT_OK);
	assert_int_equal(upt_report_verify(p, upt_signer_key(k), &e), UPT_OK);
	assert_false(p->r.has_bundle);
	assert_string_equal(p->r.status, "no-bundle");
	upt_report_parsed_free(p);
	free(t);
	upt_signer_free(k);

	upt_report r = sample();
	r.status = "bogus";
	upt_buf out;
	upt_buf_init(&out, 1 << 20);
	assert_int_equal(upt_report_build(&r, NULL, &out, NULL), UPT_E_INTERNAL);
	upt_buf_clear(&out);
}

/* Replaces the first `from` in b by `to` (the result is unsigned: parse only). */
static char *edit(const upt_buf *b, const char *from, const char *to, size_t *len)
{
	const char *at = strstr((const char *)b->data, from);
	assert_non_null(at);
	char *t = malloc(b->len + strlen(to) + 1);
	assert_non_null(t);
	size_t pre = (size_t)(at - (const char *)b->data);
	int n = sprintf(t, "%.*s%s%s", (int)pre, (const char *)b->data, to, at + strlen(from));
	*len = (size_t)n;
	return t;
}

static const char *ecu_state_of(const json_t *doc, size_t i)
{
	json_t *er = json_object_get(json_object_get(doc, "signed"), "ecu_reports");
	return json_string_value(
	    json_object_get(json_object_get(json_array_get(er, i), "signed"), "state"));
}

/* docs/reports.md: every ECU report says installed, pending, confirmed or fell-back; a report
 * written by confirm has no bundle; a report from before the field reads as installed. */
static void ecu_states(void **state)
{
	(void)state;
	upt_signer *k = key();
	upt_buf out;
	upt_buf_init(&out, 1 << 20);
	upt_err e;
	upt_report_parsed *p = NULL;
	json_t *doc = NULL;

	/* an install of an A/B image: pending; the other ECU (NULL) installed */
	upt_report r = sample();
	ecus[0].state = "pending";
	assert_int_equal(upt_report_build(&r, k, &out, &e), UPT_OK);
	assert_int_equal(upt_json_parse(out.data, out.len, 1 << 20, &doc, NULL), UPT_OK);
	assert_string_equal(ecu_state_of(doc, 0), "pending");
	assert_string_equal(ecu_state_of(doc, 1), "installed");
	json_decref(doc);
	assert_int_equal(upt_report_open(out.data, out.len, &p, &e), UPT_OK);
	assert_int_equal(upt_report_verify(p, upt_signer_key(k), &e), UPT_OK);
	assert_string_equal(p->r.ecus[0].state, "pending");
	assert_string_equal(p->r.ecus[1].state, "installed");
	upt_report_parsed_free(p);

	/* the reports of confirm and confirm --failed */
	static const char *const outcome[][2] = {{"confirmed", "confirmed"},
						 {"reverted", "fell-back"}};
	for (size_t i = 0; i < 2; i++) {
		r = sample();
		r.has_bundle = false;
		r.status = outcome[i][0];
		r.message = "Confirmed.";
		ecus[0].state = outcome[i][1];
		assert_int_equal(upt_report_build(&r, k, &out, &e), UPT_OK);
		assert_int_equal(upt_json_parse(out.data, out.len, 1 << 20, &doc, NULL), UPT_OK);
		json_t *s = json_object_get(doc, "signed");
		assert_true(json_is_null(json_object_get(s, "bundle")));
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(s, "result"), "status")),
		    outcome[i][0]);
		assert_string_equal(ecu_state_of(doc, 0), outcome[i][1]);
		json_decref(doc);
		assert_int_equal(upt_report_open(out.data, out.len, &p, &e), UPT_OK);
		assert_int_equal(upt_report_verify(p, upt_signer_key(k), &e), UPT_OK);
		assert_false(p->r.has_bundle);
		assert_string_equal(p->r.status, outcome[i][0]);
		assert_string_equal(p->r.ecus[0].state, outcome[i][1]);
		upt_report_parsed_free(p);
	}

	/* an older device's report, without the field: installed */
	size_t n;
	char *u = edit(&out, ",\"state\":\"fell-back\"", "", &n);
	char *t = resign(u, n, k, &n);
	assert_int_equal(upt_report_open(t, n, &p, &e), UPT_OK);
	assert_int_equal(upt_report_verify(p, upt_signer_key(k), &e), UPT_OK);
	assert_string_equal(p->r.ecus[0].state, "installed");
	upt_report_parsed_free(p);
	free(t);
	free(u);
	/* a state outside the four, or not a string: malformed */
	static const char *const bad[] = {"\"state\":\"booted\"", "\"state\":1", "\"state\":null",
					  "\"state\":\"\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u = edit(&out, "\"state\":\"fell-back\"", bad[i], &n);
		t = resign(u, n, k, &n);
		assert_int_equal(upt_report_open(t, n, &p, &e), UPT_OK);
		if (upt_report_verify(p, upt_signer_key(k), &e) != UPT_E_MALFORMED)
			fail_msg("state case %zu verified", i);
		upt_report_parsed_free(p);
		free(t);
		free(u);
	}
	/* and the builder refuses to write one */
	r = sample();
	ecus[1].state = "booted";
	assert_int_equal(upt_report_build(&r, k, &out, &e), UPT_E_INTERNAL);

	upt_buf_clear(&out);
	upt_signer_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builds_the_pinned_form),
	    cmocka_unit_test(forgeries_fail),
	    cmocka_unit_test(parse_rejects_bad_forms),
	    cmocka_unit_test(ecu_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
