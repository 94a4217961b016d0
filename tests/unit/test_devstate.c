/* Unit tests: devstate (installed.json records and the commit journal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/devstate.h"

static void fill_image(upt_image_record *r, const char *target, uint8_t seed)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->target, sizeof(r->target), "%s", target);
	r->length = 300000;
	r->hashes.has_sha256 = true;
	memset(r->hashes.sha256, seed, sizeof(r->hashes.sha256));
	r->release_counter = 4;
	r->installed_at = 1800000000;
	snprintf(r->bundle, sizeof(r->bundle), "fleet.uptane");
	snprintf(r->bundle_id, sizeof(r->bundle_id), "VIN-1:3");
}

static void installed_round_trip(void **state)
{
	(void)state;
	upt_installed s, t;
	upt_installed_init(&s);
	upt_installed_init(&t);
	upt_installed_ecu *a = upt_installed_upsert(&s, "ecu-main-01");
	assert_non_null(a);
	a->has_image = true;
	fill_image(&a->image, "main-fw-1.0.bin", 0xab);
	a->image.hashes.has_sha512 = true;
	memset(a->image.hashes.sha512, 0x5a, sizeof(a->image.hashes.sha512));
	upt_installed_ecu *b = upt_installed_upsert(&s, "mcu-01");
	assert_non_null(b);
	b->active_slot = 1;
	b->has_pending = true;
	b->pending_slot = 0;
	fill_image(&b->pending, "mcu-2.bin", 0x01);
	assert_ptr_equal(upt_installed_upsert(&s, "mcu-01"), b);
	assert_int_equal(s.necus, 2);
	a = upt_installed_get(&s, "ecu-main-01"); /* upsert may move the records */

	upt_buf out;
	upt_buf_init(&out, 1 << 20);
	assert_int_equal(upt_installed_serialize(&s, &out, NULL), UPT_OK);
	assert_int_equal(upt_installed_parse(out.data, out.len, &t, NULL), UPT_OK);
	assert_int_equal(t.necus, 2);
	upt_installed_ecu *ta = upt_installed_get(&t, "ecu-main-01");
	upt_installed_ecu *tb = upt_installed_get(&t, "mcu-01");
	assert_non_null(ta);
	assert_non_null(tb);
	assert_true(ta->has_image);
	assert_false(ta->has_pending);
	assert_string_equal(ta->image.target, "main-fw-1.0.bin");
	assert_true(upt_hashes_identical(&ta->image.hashes, &a->image.hashes));
	assert_int_equal(ta->image.installed_at, 1800000000);
	assert_int_equal(ta->image.release_counter, 4);
	assert_string_equal(ta->image.bundle_id, "VIN-1:3");
	assert_false(tb->has_image);
	assert_true(tb->has_pending);
	assert_int_equal(tb->active_slot, 1);
	assert_int_equal(tb->pending_slot, 0);
	assert_string_equal(tb->pending.target, "mcu-2.bin");

	/* deterministic: serialising the parsed copy gives the same bytes */
	upt_buf again;
	upt_buf_init(&again, 1 << 20);
	assert_int_equal(upt_installed_serialize(&t, &again, NULL), UPT_OK);
	assert_true(upt_buf_equal(&out, &again));

	upt_installed c;
	upt_installed_init(&c);
	assert_int_equal(upt_installed_copy(&c, &s, NULL), UPT_OK);
	assert_int_equal(c.necus, 2);
	upt_installed_clear(&c);
	upt_buf_clear(&out);
	upt_buf_clear(&again);
	upt_installed_clear(&s);
	upt_installed_clear(&t);
}

static void installed_damage_is_an_error(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "",
	    "[]",
	    "{}",
	    "{\"ecus\": []}",
	    "{\"ecus\": {\"a/b\": {\"slot\": 0}}}",
	    "{\"ecus\": {\"a\": {\"slot\": 2}}}",
	    "{\"ecus\": {\"a\": {\"slot\": 0, \"image\": {\"target\": \"x\"}}}}",
	    "{\"ecus\": {\"a\": {\"slot\": 0, \"image\": {\"target\": \"x\", \"length\": 1, "
	    "\"hashes\": {\"md5\": \"00\"}, \"release_counter\": 0, \"installed_at\": "
	    "\"2027-01-01T00:00:00Z\"}}}}",
	    "{\"ecus\": {\"a\": {\"slot\": 0, \"image\": {\"target\": \"x\", \"length\": 1, "
	    "\"hashes\": {\"sha256\": \"00\"}, \"release_counter\": 0, \"installed_at\": "
	    "\"2027-01-01T00:00:00Z\"}}}}",
	    "{\"ecus\": {\"a\": {\"slot\": 0, \"pending\": {\"slot\": 1}}}}",
	    "{\"ecus\": {\"a\": {\"slot\": 0}, \"a\": {\"slot\": 1}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		upt_installed t;
		upt_installed_init(&t);
		upt_err e;
		upt_err_clear(&e);
		int rc = upt_installed_parse(bad[i], strlen(bad[i]), &t, &e);
		if (rc != UPT_E_INTERNAL)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		assert_int_equal(t.necus, 0);
	}
	upt_installed t;
	upt_installed_init(&t);
	const char *ok = "{\"version\": 1, \"ecus\": {\"a\": {\"slot\": 1}}}";
	assert_int_equal(upt_installed_parse(ok, strlen(ok), &t, NULL), UPT_OK);
	assert_int_equal(t.necus, 1);
	assert_false(t.ecus[0].has_image);
	upt_installed_clear(&t);
}

static void journal_round_trip(void **state)
{
	(void)state;
	upt_journal j, k;
	upt_journal_init(&j);
	upt_journal_init(&k);
	snprintf(j.bundle, sizeof(j.bundle), "x.uptane");
	j.started = 1800000001;
	j.necus = 3;
	j.ecus = calloc(3, sizeof(*j.ecus));
	assert_non_null(j.ecus);
	const upt_handler_type types[] = {UPT_HANDLER_FILE, UPT_HANDLER_AB, UPT_HANDLER_EXEC};
	const upt_journal_state states[] = {UPT_JOURNAL_DONE, UPT_JOURNAL_STAGED,
					    UPT_JOURNAL_RUNNING};
	for (size_t i = 0; i < 3; i++) {
		snprintf(j.ecus[i].serial, sizeof(j.ecus[i].serial), "ecu-%zu", i);
		j.ecus[i].type = types[i];
		j.ecus[i].state = states[i];
		j.ecus[i].slot = (int)(i & 1);
		j.ecus[i].length = 1000 + i;
		memset(j.ecus[i].sha256, (int)i + 1, 32);
		fill_image(&j.ecus[i].record, "t.bin", (uint8_t)(i + 1));
	}
	upt_buf out;
	upt_buf_init(&out, 1 << 20);
	assert_int_equal(upt_journal_serialize(&j, &out, NULL), UPT_OK);
	assert_int_equal(upt_journal_parse(out.data, out.len, &k, NULL), UPT_OK);
	assert_string_equal(k.bundle, "x.uptane");
	assert_int_equal(k.started, 1800000001);
	assert_int_equal(k.necus, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(k.ecus[i].serial, j.ecus[i].serial);
		assert_int_equal(k.ecus[i].type, types[i]);
		assert_int_equal(k.ecus[i].state, states[i]);
		assert_int_equal(k.ecus[i].slot, (int)(i & 1));
		assert_int_equal(k.ecus[i].length, 1000 + i);
		assert_memory_equal(k.ecus[i].sha256, j.ecus[i].sha256, 32);
		assert_string_equal(k.ecus[i].record.target, "t.bin");
		assert_true(
		    upt_hashes_identical(&k.ecus[i].record.hashes, &j.ecus[i].record.hashes));
	}
	/* a torn journal (cut anywhere) never parses as a different journal */
	for (size_t cut = 0; cut < out.len - 2; cut += 7) {
		upt_journal t;
		upt_journal_init(&t);
		assert_int_equal(upt_journal_parse(out.data, cut, &t, NULL), UPT_E_INTERNAL);
	}
	const char *bad =
	    "{\"bundle\":\"b\",\"started\":\"2027-01-01T00:00:00Z\",\"ecus\":[{\"serial\":"
	    "\"a\",\"handler\":\"file\",\"state\":\"half\",\"slot\":0,\"length\":1,"
	    "\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\","
	    "\"record\":{\"target\":\"x\",\"length\":1,\"hashes\":{\"sha256\":"
	    "\"0000000000000000000000000000000000000000000000000000000000000000\"},"
	    "\"release_counter\":0,\"installed_at\":\"2027-01-01T00:00:00Z\"}}]}";
	upt_journal t;
	upt_journal_init(&t);
	assert_int_equal(upt_journal_parse(bad, strlen(bad), &t, NULL), UPT_E_INTERNAL);
	upt_buf_clear(&out);
	upt_journal_clear(&j);
	upt_journal_clear(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(installed_round_trip),
	    cmocka_unit_test(installed_damage_is_an_error),
	    cmocka_unit_test(journal_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
