/* Unit tests: err, buf, hex, hash, rfc3339, fileio. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upt/buf.h"
#include "upt/err.h"
#include "upt/fileio.h"
#include "upt/hash.h"
#include "upt/hex.h"
#include "upt/rfc3339.h"

static void err_prefix_and_classes(void **state)
{
	(void)state;
	upt_err e;
	upt_err_clear(&e);
	assert_int_equal(upt_err_set(&e, UPT_E_ROLLBACK, "version %d < trusted %d", 3, 4),
			 UPT_E_ROLLBACK);
	assert_int_equal(upt_err_prefix(&e, "director/targets.json"), UPT_E_ROLLBACK);
	assert_string_equal(e.msg, "director/targets.json: version 3 < trusted 4");
	assert_string_equal(upt_err_class(UPT_E_MIX_AND_MATCH), "mix-and-match");
	assert_string_equal(upt_err_class(UPT_E_UNSAFE_ARCHIVE), "unsafe-archive");
	assert_int_equal(upt_err_exit_status(UPT_E_FREEZE), 4);
	assert_int_equal(upt_err_exit_status(UPT_E_NOT_FOR_DEVICE), 3);
	assert_int_equal(upt_err_exit_status(UPT_E_IO), 7);
	assert_true(upt_err_is_rejection(UPT_E_TOO_LARGE));
	assert_false(upt_err_is_rejection(UPT_E_NOT_FOR_DEVICE));
	/* a prefix never overflows the fixed message */
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	upt_err_prefix(&e, "%s", big);
	assert_true(strlen(e.msg) < UPT_ERR_MSG_MAX);
	assert_int_equal(upt_err_set(NULL, UPT_E_IO, "no record"), UPT_E_IO);
}

static void buf_is_bounded(void **state)
{
	(void)state;
	upt_buf b;
	upt_buf_init(&b, 10);
	assert_int_equal(upt_buf_append(&b, "0123456789", 10, NULL), UPT_OK);
	assert_int_equal(b.data[10], 0);
	assert_int_equal(upt_buf_append(&b, "x", 1, NULL), UPT_E_TOO_LARGE);
	assert_int_equal(b.len, 10);
	assert_int_equal(upt_buf_append(&b, "x", SIZE_MAX, NULL), UPT_E_TOO_LARGE);
	upt_buf c;
	upt_buf_init(&c, 100);
	assert_int_equal(upt_buf_copy(&c, &b, NULL), UPT_OK);
	assert_true(upt_buf_equal(&b, &c));
	upt_buf_clear(&b);
	upt_buf_clear(&c);
	upt_buf_clear(&c);
}

static void hex_exact_lengths(void **state)
{
	(void)state;
	uint8_t out[4] = {0};
	assert_int_equal(upt_hex_decode("DEADbeef", out, 4, NULL), UPT_OK);
	assert_int_equal(out[0], 0xde);
	assert_int_equal(out[3], 0xef);
	assert_int_equal(upt_hex_decode("deadbee", out, 4, NULL), UPT_E_MALFORMED); /* truncated */
	assert_int_equal(upt_hex_decode("deadbeef00", out, 4, NULL), UPT_E_MALFORMED); /* long */
	assert_int_equal(upt_hex_decode("deadbeeg", out, 4, NULL), UPT_E_MALFORMED);
	assert_int_equal(upt_hex_decode("", out, 0, NULL), UPT_OK);
	char s[9];
	upt_hex_encode((const uint8_t *)"\x01\xab\xff\x00", 4, s);
	assert_string_equal(s, "01abff00");
}

static void hash_known_answers(void **state)
{
	(void)state;
	upt_hashes h;
	assert_int_equal(upt_hash_all("abc", 3, &h, NULL), UPT_OK);
	char hex[129];
	upt_hex_encode(h.sha256, 32, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	upt_hex_encode(h.sha512, 64, hex);
	assert_string_equal(hex,
			    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	/* streaming in pieces gives the same */
	upt_hasher *s = NULL;
	upt_hashes h2;
	assert_int_equal(upt_hasher_new(true, false, &s, NULL), UPT_OK);
	assert_int_equal(upt_hasher_update(s, "a", 1, NULL), UPT_OK);
	assert_int_equal(upt_hasher_update(s, "bc", 2, NULL), UPT_OK);
	assert_int_equal(upt_hasher_final(s, &h2, NULL), UPT_OK);
	upt_hasher_free(s);
	assert_true(h2.has_sha256 && !h2.has_sha512);
	assert_true(upt_hashes_match(&h2, &h));	 /* expected lists sha256 only */
	assert_false(upt_hashes_match(&h, &h2)); /* expected lists sha512, actual lacks it */
	assert_false(upt_hashes_identical(&h, &h2));
	h2.sha256[31] ^= 1;
	assert_false(upt_hashes_match(&h2, &h));
	upt_hashes none = {0};
	assert_false(upt_hashes_match(&none, &h)); /* an entry without hashes never matches */
}

static void rfc3339_strict(void **state)
{
	(void)state;
	int64_t t = 0;
	assert_int_equal(upt_rfc3339_parse("2027-01-01T00:00:00Z", &t, NULL), UPT_OK);
	assert_int_equal(t, 1798761600);
	char s[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(t, s);
	assert_string_equal(s, "2027-01-01T00:00:00Z");
	assert_int_equal(upt_rfc3339_parse("2024-02-29T23:59:59Z", &t, NULL), UPT_OK);
	upt_rfc3339_format(t, s);
	assert_string_equal(s, "2024-02-29T23:59:59Z");
	const char *bad[] = {"2023-02-29T00:00:00Z",   "2027-13-01T00:00:00Z",
			     "2027-01-01T24:00:00Z",   "2027-01-01T00:00:00+00:00",
			     "2027-01-01T00:00:00.5Z", "2027-01-01 00:00:00Z",
			     "2027-1-01T00:00:00Z",    "",
			     "2027-01-01T00:00:60Z",   "2027-04-31T00:00:00Z"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(upt_rfc3339_parse(bad[i], &t, NULL), UPT_E_MALFORMED);
}

/* TIME and DURATION: the one command-line syntax of both tools (upt/rfc3339.h). */
static void time_and_duration_syntax(void **state)
{
	(void)state;
	int64_t t = 0, t2 = 0;
	upt_err e;
	/* a date is its midnight UTC; the RFC 3339 form as metadata has it */
	assert_int_equal(upt_time_parse("2027-01-01", &t, NULL), UPT_OK);
	assert_int_equal(t, 1798761600);
	assert_int_equal(upt_time_parse("2027-01-01T00:00:00Z", &t2, NULL), UPT_OK);
	assert_int_equal(t2, t);
	assert_int_equal(upt_time_parse("2027-01-01T12:30:05Z", &t2, NULL), UPT_OK);
	assert_int_equal(t2, t + 12 * 3600 + 30 * 60 + 5);
	assert_int_equal(upt_time_parse("2024-02-29", &t, NULL), UPT_OK);
	const char *bad[] = {"2023-02-29",
			     "2027-1-01",
			     "2027-01-01T00:00Z",
			     "2027-01-01 00:00:00Z",
			     "2027-01-01T00:00:00+00:00",
			     "yesterday",
			     "",
			     "1798761600",
			     "27-01-01"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		upt_err_clear(&e);
		assert_int_equal(upt_time_parse(bad[i], &t, &e), UPT_E_USAGE);
		assert_int_equal(t, 42); /* untouched */
		assert_non_null(strstr(e.msg, "expected a date YYYY-MM-DD or a time "
					      "YYYY-MM-DDTHH:MM:SSZ"));
	}

	/* hours and days are fixed lengths; years are calendar years from the start */
	int64_t from, secs, end;
	assert_int_equal(upt_time_parse("2026-03-01", &from, NULL), UPT_OK);
	assert_int_equal(upt_duration_parse("12h", from, &secs, NULL), UPT_OK);
	assert_int_equal(secs, 12 * 3600);
	assert_int_equal(upt_duration_parse("90d", from, &secs, NULL), UPT_OK);
	assert_int_equal(secs, 90 * 86400);
	assert_int_equal(upt_duration_parse("1y", from, &secs, NULL), UPT_OK);
	assert_int_equal(upt_time_parse("2027-03-01", &end, NULL), UPT_OK);
	assert_int_equal(from + secs, end); /* 365 days */
	assert_int_equal(upt_time_parse("2027-03-01T06:00:00Z", &from, NULL), UPT_OK);
	assert_int_equal(upt_duration_parse("1y", from, &secs, NULL), UPT_OK);
	assert_int_equal(secs, 366 * 86400); /* across 2028-02-29, time of day kept */
	/* 29 February plus a year is 28 February (as support periods end) */
	assert_int_equal(upt_time_parse("2028-02-29", &from, NULL), UPT_OK);
	assert_int_equal(upt_duration_parse("1y", from, &secs, NULL), UPT_OK);
	assert_int_equal(upt_time_parse("2029-02-28", &end, NULL), UPT_OK);
	assert_int_equal(from + secs, end);
	assert_int_equal(upt_duration_parse("4y", from, &secs, NULL), UPT_OK);
	assert_int_equal(upt_time_parse("2032-02-29", &end, NULL), UPT_OK);
	assert_int_equal(from + secs, end);
	assert_int_equal(upt_time_add_years(from, 1), from + 365 * 86400);
	assert_int_equal(upt_duration_parse("100y", from, &secs, NULL), UPT_OK);

	const char *bad_d[] = {"12x",  "d", "-5d",  "0d",     "90",	  "10w",  "1m",
			       "1.5y", "",  "101y", "36601d", "9999999h", "1y2d", " 3d"};
	for (size_t i = 0; i < sizeof(bad_d) / sizeof(bad_d[0]); i++) {
		secs = 42;
		upt_err_clear(&e);
		assert_int_equal(upt_duration_parse(bad_d[i], from, &secs, &e), UPT_E_USAGE);
		assert_int_equal(secs, 42);
		assert_non_null(strstr(e.msg, "duration"));
	}
	upt_err_clear(&e);
	assert_int_equal(upt_duration_parse("10w", from, &secs, &e), UPT_E_USAGE);
	assert_non_null(strstr(e.msg, "h (hours), d (days) or y (calendar years)"));
	upt_err_clear(&e);
	assert_int_equal(upt_duration_parse("101y", from, &secs, &e), UPT_E_USAGE);
	assert_non_null(strstr(e.msg, "at most 100 years"));
}

static void fileio_bounded_and_atomic(void **state)
{
	(void)state;
	char dir[] = "/tmp/upt-fileio-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	upt_err e;
	upt_buf b;
	upt_buf_init(&b, 16);
	assert_int_equal(upt_file_write_atomic(dfd, "a.json", "hello", 5, 0600, &e), UPT_OK);
	assert_int_equal(upt_file_read(dfd, "a.json", 16, &b, &e), UPT_OK);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "hello", 5);
	/* no temp file left behind */
	assert_int_equal(faccessat(dfd, "a.json.tmp", F_OK, 0), -1);
	/* cap before allocating */
	assert_int_equal(upt_file_write_atomic(dfd, "big", "0123456789abcdefXYZ", 19, 0600, &e),
			 UPT_OK);
	assert_int_equal(upt_file_read(dfd, "big", 16, &b, &e), UPT_E_TOO_LARGE);
	assert_int_equal(b.len, 5); /* untouched on failure */
	/* never follow a symlink, never read a directory */
	assert_int_equal(symlinkat("a.json", dfd, "link"), 0);
	assert_int_equal(upt_file_read(dfd, "link", 16, &b, &e), UPT_E_IO);
	assert_non_null(strstr(e.msg, "symbolic link"));
	assert_int_equal(upt_mkdir_p(dfd, "x/y/z", 0700, &e), UPT_OK);
	assert_int_equal(upt_file_read(dfd, "x", 16, &b, &e), UPT_E_IO);
	assert_int_equal(upt_file_read(dfd, "missing", 16, &b, &e), UPT_E_NOT_FOUND);
	/* mkdir_p refuses a file in the way */
	assert_int_equal(upt_mkdir_p(dfd, "a.json/sub", 0700, &e), UPT_E_IO);
	/* empty file reads as an empty, terminated buffer */
	assert_int_equal(upt_file_write_atomic(dfd, "empty", "", 0, 0600, &e), UPT_OK);
	assert_int_equal(upt_file_read(dfd, "empty", 16, &b, &e), UPT_OK);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	upt_buf_clear(&b);
	close(dfd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(err_prefix_and_classes),
	    cmocka_unit_test(buf_is_bounded),
	    cmocka_unit_test(hex_exact_lengths),
	    cmocka_unit_test(hash_known_answers),
	    cmocka_unit_test(rfc3339_strict),
	    cmocka_unit_test(time_and_duration_syntax),
	    cmocka_unit_test(fileio_bounded_and_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
