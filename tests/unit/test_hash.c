/* Unit tests: hash.c on OpenSSL's low-level SHA API (FIPS 180-4 known answers, streaming at
 * every split, the spent hasher). The digests are the published FIPS 180-4 examples, checked
 * again with Python's hashlib. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/err.h"
#include "upt/hash.h"
#include "upt/hex.h"

static void hex_of(const uint8_t *p, size_t n, char *out)
{
	upt_hex_encode(p, n, out);
}

/* FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values"). */
static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
			     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static void known_answers(void **state)
{
	(void)state;
	upt_hashes h;
	char hex[129];
	assert_int_equal(upt_hash_all("", 0, &h, NULL), UPT_OK);
	assert_true(h.has_sha256 && h.has_sha512);
	hex_of(h.sha256, UPT_SHA256_LEN, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of(h.sha512, UPT_SHA512_LEN, hex);
	assert_string_equal(hex,
			    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
			    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
	assert_int_equal(upt_hash_all(msg448, strlen(msg448), &h, NULL), UPT_OK);
	hex_of(h.sha256, UPT_SHA256_LEN, hex);
	assert_string_equal(hex,
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_int_equal(upt_hash_all(msg896, strlen(msg896), &h, NULL), UPT_OK);
	hex_of(h.sha512, UPT_SHA512_LEN, hex);
	assert_string_equal(hex,
			    "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
			    "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
	uint8_t one[UPT_SHA256_LEN];
	assert_int_equal(upt_sha256(msg448, strlen(msg448), one, NULL), UPT_OK);
	hex_of(one, UPT_SHA256_LEN, hex);
	assert_string_equal(hex,
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* One million 'a' (FIPS 180-4 long message), fed in uneven pieces that straddle the 64- and
 * 128-byte block boundaries, as the install pipeline feeds decompressor output. */
static void million_a_streamed(void **state)
{
	(void)state;
	static uint8_t a[1000000];
	memset(a, 'a', sizeof(a));
	upt_hasher *h = NULL;
	assert_int_equal(upt_hasher_new(true, true, &h, NULL), UPT_OK);
	size_t steps[] = {1, 63, 64, 65, 127, 128, 129, 4095, 262144, 7};
	size_t off = 0;
	for (size_t i = 0; off < sizeof(a); i++) {
		size_t n = steps[i % (sizeof(steps) / sizeof(steps[0]))];
		if (n > sizeof(a) - off)
			n = sizeof(a) - off;
		assert_int_equal(upt_hasher_update(h, a + off, n, NULL), UPT_OK);
		off += n;
	}
	upt_hashes got;
	assert_int_equal(upt_hasher_final(h, &got, NULL), UPT_OK);
	upt_hasher_free(h);
	char hex[129];
	hex_of(got.sha256, UPT_SHA256_LEN, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	hex_of(got.sha512, UPT_SHA512_LEN, hex);
	assert_string_equal(hex,
			    "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
			    "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
	upt_hashes once;
	assert_int_equal(upt_hash_all(a, sizeof(a), &once, NULL), UPT_OK);
	assert_true(upt_hashes_identical(&got, &once));
}

/* Every split point of a 300-byte message gives the one-shot digest (SHA-256 alone, SHA-512
 * alone, both): the block buffering of a partial update is where a streaming hash goes wrong. */
static void every_split(void **state)
{
	(void)state;
	uint8_t m[300];
	for (size_t i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)(i * 7 + 3);
	upt_hashes want;
	assert_int_equal(upt_hash_all(m, sizeof(m), &want, NULL), UPT_OK);
	for (int which = 0; which < 3; which++) {
		bool w256 = which != 1, w512 = which != 0;
		for (size_t cut = 0; cut <= sizeof(m); cut++) {
			upt_hasher *h = NULL;
			upt_hashes got;
			assert_int_equal(upt_hasher_new(w256, w512, &h, NULL), UPT_OK);
			assert_int_equal(upt_hasher_update(h, m, cut, NULL), UPT_OK);
			assert_int_equal(upt_hasher_update(h, m + cut, sizeof(m) - cut, NULL),
					 UPT_OK);
			assert_int_equal(upt_hasher_final(h, &got, NULL), UPT_OK);
			upt_hasher_free(h);
			assert_int_equal(got.has_sha256, w256);
			assert_int_equal(got.has_sha512, w512);
			if (w256)
				assert_memory_equal(got.sha256, want.sha256, UPT_SHA256_LEN);
			if (w512)
				assert_memory_equal(got.sha512, want.sha512, UPT_SHA512_LEN);
			assert_true(upt_hashes_match(&got, &want));
		}
	}
}

/* hash.h: the hasher is spent after final. Using it again is an error, never a digest of a
 * finished (padded) state, and the output of the failed call is untouched. */
static void spent_hasher_refuses(void **state)
{
	(void)state;
	upt_hasher *h = NULL;
	upt_hashes got, again;
	upt_err e;
	assert_int_equal(upt_hasher_new(true, true, &h, NULL), UPT_OK);
	assert_int_equal(upt_hasher_update(h, "abc", 3, NULL), UPT_OK);
	assert_int_equal(upt_hasher_final(h, &got, NULL), UPT_OK);
	assert_int_equal(upt_hasher_update(h, "d", 1, &e), UPT_E_INTERNAL);
	memset(&again, 0x5a, sizeof(again));
	upt_hashes before = again;
	assert_int_equal(upt_hasher_final(h, &again, &e), UPT_E_INTERNAL);
	assert_memory_equal(&again, &before, sizeof(again));
	upt_hasher_free(h);
	upt_hasher_free(NULL);
	char hex[65];
	hex_of(got.sha256, UPT_SHA256_LEN, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* a hasher asked for nothing yields nothing, which matches nothing */
	assert_int_equal(upt_hasher_new(false, false, &h, NULL), UPT_OK);
	assert_int_equal(upt_hasher_update(h, "abc", 3, NULL), UPT_OK);
	assert_int_equal(upt_hasher_final(h, &again, NULL), UPT_OK);
	upt_hasher_free(h);
	assert_false(again.has_sha256 || again.has_sha512);
	assert_false(upt_hashes_match(&got, &again));
}

static void ct_equal(void **state)
{
	(void)state;
	uint8_t a[64], b[64];
	memset(a, 1, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(upt_ct_equal(a, b, sizeof(a)));
	assert_true(upt_ct_equal(a, b, 0));
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		assert_false(upt_ct_equal(a, b, sizeof(a)));
		b[i] ^= 0x80;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(known_answers), cmocka_unit_test(million_a_streamed),
	    cmocka_unit_test(every_split),   cmocka_unit_test(spent_hasher_refuses),
	    cmocka_unit_test(ct_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
