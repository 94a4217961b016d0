/*
 * Unit tests of step 4b (formats/src/uptane/verify_encryption.c): a Director target's
 * custom.encryption (docs/bundle-format.md, "Encrypted images"), signed by the scenario
 * generator. The sealed form's length and hashes and the wrapped key for this device's key id
 * reach the assignment; a device without a key, or a bundle with no wrapped key for its key, is
 * refused as policy; every malformed field is refused as malformed; targets without it stay
 * plain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "scenario.h"
#include "upt/imgcrypt.h"

#define DIR_TARGETS "metadata/director/targets.json"
#define MY_KEYID "1111111111111111111111111111111111111111111111111111111111111111"
#define OTHER_KEYID "2222222222222222222222222222222222222222222222222222222222222222"
#define SEALED_SHA256 "3333333333333333333333333333333333333333333333333333333333333333"

static char wrapped_hex[2 * UPT_WRAPPED_KEY_LEN + 1];

/* What the hook writes into main-fw-1.bin's custom.encryption; one field changed per test. */
static struct {
	const char *scheme;
	long long chunk;
	long long length;
	bool no_hashes;
	const char *hash_alg;
	const char *keyid;
	const char *wrapped;
	bool no_recipients;
	size_t extra_recipients; /* others' entries before ours */
} enc;

static int setup(void **state)
{
	scn *s = scn_new();
	if (!s)
		return -1;
	memset(wrapped_hex, 'a', 2 * UPT_WRAPPED_KEY_LEN);
	wrapped_hex[2 * UPT_WRAPPED_KEY_LEN] = '\0';
	enc.scheme = UPT_CRYPT_SCHEME;
	enc.chunk = UPT_CRYPT_CHUNK;
	enc.length = 5000;
	enc.no_hashes = false;
	enc.hash_alg = "sha256";
	enc.keyid = MY_KEYID;
	enc.wrapped = wrapped_hex;
	enc.no_recipients = false;
	enc.extra_recipients = 0;
	s->dev.decrypt_keyid = MY_KEYID;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	scn_free(*state);
	return 0;
}

static void add_encryption(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)s;
	(void)sg;
	if (strcmp(member, DIR_TARGETS) != 0)
		return;
	json_t *custom = json_object_get(
	    json_object_get(json_object_get(o, "targets"), "main-fw-1.bin"), "custom");
	json_t *e = json_pack("{s:s, s:I, s:I}", "scheme", enc.scheme, "chunk_size",
			      (json_int_t)enc.chunk, "length", (json_int_t)enc.length);
	if (!enc.no_hashes)
		json_object_set_new(e, "hashes", json_pack("{s:s}", enc.hash_alg, SEALED_SHA256));
	if (!enc.no_recipients) {
		json_t *list = json_array();
		for (size_t i = 0; i < enc.extra_recipients; i++)
			json_array_append_new(list, json_pack("{s:s, s:s}", "keyid", OTHER_KEYID,
							      "wrapped_key", wrapped_hex));
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:s}", "keyid", enc.keyid,
						"wrapped_key", enc.wrapped, "recipient", "VIN-1"));
		json_object_set_new(e, "recipients", list);
	}
	json_object_set_new(custom, "encryption", e);
}

static const upt_assignment *assignment(const upt_verify_result *r, const char *ecu)
{
	for (size_t i = 0; i < r->nassignments; i++)
		if (!strcmp(r->assignments[i].ecu_serial, ecu))
			return &r->assignments[i];
	fail_msg("no assignment for %s", ecu);
	return NULL;
}

static void expect_code(scn *s, int code, const char *words)
{
	s->hook = add_encryption;
	assert_int_equal(scn_build(s), UPT_OK);
	upt_verify_result r;
	int rc = scn_run(s, &r);
	if (rc != code)
		fprintf(stderr, "got %d: %s: %s\n", rc, r.err.file, r.err.msg);
	assert_int_equal(rc, code);
	if (code != UPT_OK) {
		assert_string_equal(r.err.file, DIR_TARGETS);
		assert_non_null(strstr(r.err.msg, words));
		assert_int_equal(r.nassignments, 0);
	}
	upt_verify_result_clear(&r);
}

static void sealed_target_reaches_the_assignment(void **st)
{
	scn *s = *st;
	enc.extra_recipients = 3; /* ours is not the first */
	s->hook = add_encryption;
	assert_int_equal(scn_build(s), UPT_OK);
	upt_verify_result r;
	assert_int_equal(scn_run(s, &r), UPT_OK);
	const upt_assignment *a = assignment(&r, "ecu-main");
	assert_true(a->sealed);
	assert_true(a->has_wrapped_key);
	assert_int_equal(a->sealed_length, 5000);
	assert_true(a->sealed_hashes.has_sha256);
	assert_false(a->sealed_hashes.has_sha512);
	assert_int_equal(a->sealed_hashes.sha256[0], 0x33);
	assert_int_equal(a->wrapped_key[0], 0xaa);
	assert_int_equal(a->wrapped_key[UPT_WRAPPED_KEY_LEN - 1], 0xaa);
	/* the plaintext's length and hashes are still the Image repository's */
	assert_int_equal(a->length, scn_target_get(s, "main-fw-1.bin")->length);
	/* a target without custom.encryption stays plain */
	assert_false(assignment(&r, "ecu-aux")->sealed);
	upt_verify_result_clear(&r);
}

static void no_decrypt_key_is_policy(void **st)
{
	scn *s = *st;
	s->dev.decrypt_keyid = NULL;
	expect_code(s, UPT_E_POLICY, UPT_CRYPT_NO_KEY);
}

static void not_for_my_key_is_policy(void **st)
{
	scn *s = *st;
	enc.keyid = OTHER_KEYID;
	expect_code(s, UPT_E_POLICY, UPT_CRYPT_OTHER_KEY);
}

static void plain_bundle_needs_no_key(void **st)
{
	scn *s = *st;
	s->dev.decrypt_keyid = NULL;
	assert_int_equal(scn_build(s), UPT_OK);
	upt_verify_result r;
	assert_int_equal(scn_run(s, &r), UPT_OK);
	assert_false(assignment(&r, "ecu-main")->sealed);
	upt_verify_result_clear(&r);
}

static void station_checks_sealed_form_without_key(void **st)
{
	scn *s = *st;
	s->dev.decrypt_keyid = NULL;
	s->dev.sealed_unopened_ok = true;
	s->hook = add_encryption;
	assert_int_equal(scn_build(s), UPT_OK);
	upt_verify_result r;
	assert_int_equal(scn_run(s, &r), UPT_OK);
	const upt_assignment *a = assignment(&r, "ecu-main");
	assert_true(a->sealed);
	assert_false(a->has_wrapped_key);
	assert_int_equal(a->sealed_length, 5000);
	upt_verify_result_clear(&r);
}

static void wrong_scheme(void **st)
{
	enc.scheme = "aes-256-gcm";
	expect_code(*st, UPT_E_MALFORMED, "scheme");
}

static void wrong_chunk_size(void **st)
{
	enc.chunk = 1 << 20; /* a bigger chunk would be a bigger buffer on the device */
	expect_code(*st, UPT_E_MALFORMED, "chunk_size");
}

static void length_too_small(void **st)
{
	enc.length = UPT_CRYPT_HEADER_LEN - 1;
	expect_code(*st, UPT_E_MALFORMED, "length");
}

static void length_beyond_the_sealed_bound(void **st)
{
	/* more than any sealed zstd member of the image's length can be */
	enc.length = 1LL << 40;
	expect_code(*st, UPT_E_MALFORMED, "length");
}

static void no_hashes(void **st)
{
	enc.no_hashes = true;
	expect_code(*st, UPT_E_MALFORMED, "hashes");
}

static void unknown_hash(void **st)
{
	enc.hash_alg = "md5";
	expect_code(*st, UPT_E_MALFORMED, "hashes");
}

static void no_recipients(void **st)
{
	enc.no_recipients = true;
	expect_code(*st, UPT_E_MALFORMED, "recipients");
}

static void bad_keyid(void **st)
{
	enc.keyid = "ABCD";
	expect_code(*st, UPT_E_MALFORMED, "keyid");
}

static void bad_wrapped_key(void **st)
{
	enc.wrapped = "aabb"; /* not 80 bytes */
	expect_code(*st, UPT_E_MALFORMED, "wrapped_key");
}

static void too_many_recipients(void **st)
{
	enc.extra_recipients = UPT_CRYPT_RECIPIENTS_MAX;
	expect_code(*st, UPT_E_TOO_LARGE, "recipients");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(sealed_target_reaches_the_assignment),
	    T(no_decrypt_key_is_policy),
	    T(not_for_my_key_is_policy),
	    T(plain_bundle_needs_no_key),
	    T(station_checks_sealed_form_without_key),
	    T(wrong_scheme),
	    T(wrong_chunk_size),
	    T(length_too_small),
	    T(length_beyond_the_sealed_bound),
	    T(no_hashes),
	    T(unknown_hash),
	    T(no_recipients),
	    T(bad_keyid),
	    T(bad_wrapped_key),
	    T(too_many_recipients),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
