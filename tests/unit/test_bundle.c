/* Unit tests: bundle reader (member rules, metadata, image streaming) and writer round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "bundle_test_util.h"
#include "upt/bundle.h"
#include "upt/err.h"
#include "upt/fileio.h"
#include "upt/limits.h"

static char *tmp;

static int setup(void **state)
{
	(void)state;
	tmp = make_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(tmp);
	free(tmp);
	tmp = NULL;
	return 0;
}

#define BJ                                                                                         \
	{                                                                                          \
		"bundle.json", TM_FILE, VALID_BUNDLE_JSON, sizeof(VALID_BUNDLE_JSON) - 1, NULL     \
	}
#define META(n, s)                                                                                 \
	{                                                                                          \
		n, TM_FILE, s, sizeof(s) - 1, NULL                                                 \
	}
#define NMEMB(a) (sizeof(a) / sizeof((a)[0]))

/* Walks the whole archive (metadata, then every image header, streaming nothing) and returns
 * the first failure; e holds its record. */
static int walk(const char *path, upt_err *e)
{
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *m = NULL;
	upt_err_clear(e);
	int rc = upt_bundle_reader_open(path, &r, e);
	if (rc)
		return rc;
	rc = upt_bundle_read_metadata(r, &m, e);
	while (rc == UPT_OK) {
		const char *name;
		uint64_t clen;
		rc = upt_bundle_next_image(r, &name, &clen, e);
	}
	if (rc == UPT_E_NOT_FOUND)
		rc = UPT_OK;
	upt_bundle_meta_free(m);
	upt_bundle_reader_free(r);
	return rc;
}

static void expect_walk(const struct tmember *m, size_t n, int want, const char *want_file)
{
	char *p = path_in(tmp, "t.uptane");
	assert_int_equal(write_tar(p, m, n), 0);
	upt_err e;
	int rc = walk(p, &e);
	if (rc != want)
		fprintf(stderr, "want %d got %d (%s) file=%s\n", want, rc, e.msg, e.file);
	assert_int_equal(rc, want);
	if (want != UPT_OK) {
		assert_int_equal(e.code, want);
		if (want_file)
			assert_string_equal(e.file, want_file);
	}
	unlink(p);
	free(p);
}

/* ---- member path rule ---- */

static void member_path_rule(void **state)
{
	(void)state;
	assert_true(upt_bundle_member_path_ok("bundle.json"));
	assert_true(upt_bundle_member_path_ok("images/a-b_c+d.1/x.bin"));
	assert_true(upt_bundle_member_path_ok("images/.hidden"));
	assert_true(upt_bundle_member_path_ok("images/a..b"));
	assert_false(upt_bundle_member_path_ok(""));
	assert_false(upt_bundle_member_path_ok(NULL));
	assert_false(upt_bundle_member_path_ok("/images/a"));
	assert_false(upt_bundle_member_path_ok("images/../a"));
	assert_false(upt_bundle_member_path_ok(".."));
	assert_false(upt_bundle_member_path_ok("images/.."));
	assert_false(upt_bundle_member_path_ok("images/./a"));
	assert_false(upt_bundle_member_path_ok("./images"));
	assert_false(upt_bundle_member_path_ok("images//a"));
	assert_false(upt_bundle_member_path_ok("images/a/"));
	assert_false(upt_bundle_member_path_ok("images/a b"));
	assert_false(upt_bundle_member_path_ok("images/a\\b"));
	assert_false(upt_bundle_member_path_ok("images/a\nb"));
	assert_false(upt_bundle_member_path_ok("images/\xc3\xa9"));
	assert_false(upt_bundle_member_path_ok("images/a:b"));
	assert_false(upt_bundle_member_path_ok("images/a*"));
	char p[UPT_MEMBER_PATH_MAX + 2];
	memset(p, 'a', sizeof(p));
	memcpy(p, "images/", 7);
	p[UPT_MEMBER_PATH_MAX] = '\0';
	assert_true(upt_bundle_member_path_ok(p)); /* exactly 1024 bytes */
	p[UPT_MEMBER_PATH_MAX] = 'a';
	p[UPT_MEMBER_PATH_MAX + 1] = '\0';
	assert_false(upt_bundle_member_path_ok(p)); /* 1025 */
}

/* ---- a valid bundle, read back ---- */

struct img {
	const char *name;
	uint8_t *raw;
	size_t rawlen;
	void *z;
	size_t zlen;
};

static void make_img(struct img *im, const char *name, size_t len, uint32_t seed)
{
	im->name = name;
	im->rawlen = len;
	im->raw = malloc(len ? len : 1);
	fill_pattern(im->raw, len, seed);
	im->zlen = zc(im->raw, len, 3, &im->z);
}

static void free_img(struct img *im)
{
	free(im->raw);
	free(im->z);
}

static int stream_expect(upt_bundle_reader *r, const struct img *im, struct collect *c, upt_err *e)
{
	upt_hashes h = hashes_of(im->raw, im->rawlen);
	return upt_bundle_stream_image(r, im->rawlen, &h, collect_sink, c, collect_progress, e);
}

static void read_valid_bundle(void **state)
{
	(void)state;
	struct img a, b;
	make_img(&a, "a.bin", 700000, 1);
	make_img(&b, "dir/b.bin", 1234, 2);
	struct tmember m[] = {
	    BJ,
	    {"metadata", TM_DIR, NULL, 0, NULL},
	    META("metadata/director/1.root.json", "{\"root\":1}"),
	    META("metadata/image-repo/targets.json", "{\"t\":2}"),
	    {"images/", TM_DIR, NULL, 0, NULL},
	    {"images/a.bin", TM_FILE, a.z, a.zlen, NULL},
	    {"images/dir/b.bin", TM_FILE, b.z, b.zlen, NULL},
	};
	char *p = path_in(tmp, "v.uptane");
	assert_int_equal(write_tar(p, m, NMEMB(m)), 0);
	upt_err e;
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *meta = NULL;
	assert_int_equal(upt_bundle_reader_open(p, &r, &e), UPT_OK);
	assert_int_equal(upt_bundle_read_metadata(r, &meta, &e), UPT_OK);
	assert_int_equal(meta->nfiles, 2);
	assert_string_equal(meta->files[0].path, "metadata/director/1.root.json");
	assert_string_equal(meta->files[1].path, "metadata/image-repo/targets.json");
	assert_int_equal(meta->bundle_json.len, sizeof(VALID_BUNDLE_JSON) - 1);
	const upt_buf *t = upt_bundle_meta_get(meta, "metadata/image-repo/targets.json");
	assert_non_null(t);
	assert_memory_equal(t->data, "{\"t\":2}", 7);
	assert_null(upt_bundle_meta_get(meta, "metadata/nope.json"));
	/* a second read_metadata is a usage error, not a re-read */
	upt_bundle_meta *again = NULL;
	assert_int_not_equal(upt_bundle_read_metadata(r, &again, &e), UPT_OK);
	assert_null(again);

	const char *name = NULL;
	uint64_t clen = 0;
	struct collect c = {.data = malloc(a.rawlen), .cap = a.rawlen};
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
	assert_string_equal(name, "a.bin");
	assert_int_equal(clen, a.zlen);
	assert_int_equal(stream_expect(r, &a, &c, &e), UPT_OK);
	assert_int_equal(c.total, a.rawlen);
	assert_memory_equal(c.data, a.raw, a.rawlen);
	assert_int_equal(c.last_progress, a.rawlen);
	/* streaming twice is refused: the bytes are consumed */
	assert_int_not_equal(stream_expect(r, &a, &c, &e), UPT_OK);
	free(c.data);

	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
	assert_string_equal(name, "dir/b.bin");
	memset(&c, 0, sizeof(c));
	assert_int_equal(stream_expect(r, &b, &c, &e), UPT_OK);
	assert_int_equal(c.total, b.rawlen);
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_E_NOT_FOUND);
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_E_NOT_FOUND);

	upt_bundle_meta_free(meta);
	upt_bundle_reader_free(r);
	free_img(&a);
	free_img(&b);
	free(p);
}

/* An unwanted image is skipped (by seeking) and the next one still streams. */
static void skip_unwanted_image(void **state)
{
	(void)state;
	struct img a, b, c3;
	make_img(&a, "a.bin", 3 << 20, 11);
	make_img(&b, "b.bin", 100000, 12);
	make_img(&c3, "c.bin", 5, 13);
	struct tmember m[] = {
	    BJ,
	    {"images/a.bin", TM_FILE, a.z, a.zlen, NULL},
	    {"images/b.bin", TM_FILE, b.z, b.zlen, NULL},
	    {"images/c.bin", TM_FILE, c3.z, c3.zlen, NULL},
	};
	char *p = path_in(tmp, "s.uptane");
	assert_int_equal(write_tar(p, m, NMEMB(m)), 0);
	upt_err e;
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *meta = NULL;
	assert_int_equal(upt_bundle_reader_open(p, &r, &e), UPT_OK);
	assert_int_equal(upt_bundle_read_metadata(r, &meta, &e), UPT_OK);
	assert_int_equal(meta->nfiles, 0);
	const char *name;
	uint64_t clen;
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
	assert_string_equal(name, "a.bin");
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
	assert_string_equal(name, "b.bin");
	struct collect c = {0};
	assert_int_equal(stream_expect(r, &b, &c, &e), UPT_OK);
	assert_int_equal(c.total, b.rawlen);
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
	assert_string_equal(name, "c.bin");
	memset(&c, 0, sizeof(c));
	assert_int_equal(stream_expect(r, &c3, &c, &e), UPT_OK);
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_E_NOT_FOUND);
	upt_bundle_meta_free(meta);
	upt_bundle_reader_free(r);
	free_img(&a);
	free_img(&b);
	free_img(&c3);
	free(p);
}

/* ---- hostile members, each with its class ---- */

static void hostile_names(void **state)
{
	(void)state;
	const char z[] = "x";
	{
		struct tmember m[] = {BJ, {"images/../../outside.bin", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images/../../outside.bin");
	}
	{
		struct tmember m[] = {BJ, {"metadata/../x.json", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "metadata/../x.json");
	}
	{
		struct tmember m[] = {BJ, {"/metadata/x.json", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "/metadata/x.json");
	}
	{
		struct tmember m[] = {BJ, {"metadata/a b.json", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "metadata/a b.json");
	}
	{
		struct tmember m[] = {BJ, {"images/a\x01", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images/a?"); /* shown sanitised */
	}
	{
		struct tmember m[] = {BJ, {"images/a;rm", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images/a;rm");
	}
	{
		struct tmember m[] = {BJ, {"metadata//a.json", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "metadata//a.json");
	}
	{
		struct tmember m[] = {BJ, {"metadata/./a.json", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "metadata/./a.json");
	}
	{
		/* a hostile name after a valid image is caught when the walk reaches it */
		struct img a;
		make_img(&a, "a", 10, 3);
		struct tmember m[] = {BJ,
				      {"images/a", TM_FILE, a.z, a.zlen, NULL},
				      {"images/b/../../c", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images/b/../../c");
		free_img(&a);
	}
	/* path over 1024 bytes (pax extended header carries it) */
	char longp[UPT_MEMBER_PATH_MAX + 2];
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "images/", 7);
	longp[UPT_MEMBER_PATH_MAX + 1] = '\0';
	{
		struct tmember m[] = {BJ, {longp, TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, NULL);
	}
	longp[UPT_MEMBER_PATH_MAX] = '\0'; /* exactly 1024: fine */
	{
		struct img a;
		make_img(&a, "a", 10, 3);
		struct tmember m[] = {BJ, {longp, TM_FILE, a.z, a.zlen, NULL}};
		expect_walk(m, NMEMB(m), UPT_OK, NULL);
		free_img(&a);
	}
}

static void hostile_types(void **state)
{
	(void)state;
	const char z[] = "x";
	{
		struct tmember m[] = {BJ, {"images/l", TM_SYMLINK, NULL, 0, "/etc/passwd"}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images/l");
	}
	{
		struct tmember m[] = {BJ, {"metadata/l.json", TM_SYMLINK, NULL, 0, "a.json"}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "metadata/l.json");
	}
	{
		struct tmember m[] = {BJ,
				      META("metadata/a.json", "{}"),
				      {"metadata/h.json", TM_HARDLINK, NULL, 0, "metadata/a.json"}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "metadata/h.json");
	}
	{
		struct tmember m[] = {BJ, {"images/c", TM_CHR, NULL, 0, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images/c");
	}
	{
		struct tmember m[] = {BJ, {"images/b", TM_BLK, NULL, 0, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images/b");
	}
	{
		struct tmember m[] = {BJ, {"metadata/f", TM_FIFO, NULL, 0, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "metadata/f");
	}
	{
		struct tmember m[] = {BJ, {"images/s", TM_SPARSE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images/s");
	}
}

static void hostile_duplicates_and_layout(void **state)
{
	(void)state;
	const char z[] = "x";
	{
		struct tmember m[] = {BJ, META("metadata/a.json", "{}"),
				      META("metadata/a.json", "[]")};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "metadata/a.json");
	}
	{
		struct tmember m[] = {BJ, META("metadata/a.json", "{}"), BJ};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "bundle.json");
	}
	{
		struct img a;
		make_img(&a, "a", 10, 3);
		struct tmember m[] = {BJ,
				      {"images/a", TM_FILE, a.z, a.zlen, NULL},
				      {"images/a", TM_FILE, a.z, a.zlen, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images/a");
		/* metadata after an image */
		struct tmember m2[] = {BJ,
				       META("metadata/a.json", "{}"),
				       {"images/a", TM_FILE, a.z, a.zlen, NULL},
				       META("metadata/b.json", "{}")};
		expect_walk(m2, NMEMB(m2), UPT_E_MALFORMED, "metadata/b.json");
		/* a directory after the images is harmless */
		struct tmember m3[] = {BJ,
				       {"images/a", TM_FILE, a.z, a.zlen, NULL},
				       {"images/d", TM_DIR, NULL, 0, NULL}};
		expect_walk(m3, NMEMB(m3), UPT_OK, NULL);
		free_img(&a);
	}
	{
		struct tmember m[] = {BJ, {"other.txt", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "other.txt");
	}
	{
		struct tmember m[] = {BJ, {"metadata", TM_FILE, z, 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "metadata");
	}
	{
		struct tmember m[] = {BJ, {"stuff", TM_DIR, NULL, 0, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "stuff");
	}
	{
		struct tmember m[] = {
		    BJ, {"images", TM_DIR, NULL, 0, NULL}, {"images", TM_DIR, NULL, 0, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_UNSAFE_ARCHIVE, "images");
	}
}

static void bundle_json_rules(void **state)
{
	(void)state;
	{
		struct tmember m[] = {META("metadata/a.json", "{}")};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "metadata/a.json");
	}
	{
		struct tmember m[] = {META("metadata/a.json", "{}"), BJ};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "metadata/a.json");
	}
	{
		/* "first member" is literal: not even a directory before it */
		struct tmember m[] = {{"metadata", TM_DIR, NULL, 0, NULL}, BJ};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "metadata");
	}
	/* 2: the same container with encrypted images (docs/bundle-format.md); 3: newer */
	for (int v = 2; v <= 3; v++) {
		char bj[128];
		snprintf(bj, sizeof(bj), "{\"format\":\"uptane-offline-bundle\",\"version\":%d}",
			 v);
		struct tmember m[] = {{"bundle.json", TM_FILE, bj, strlen(bj), NULL}};
		char *p = path_in(tmp, "v.uptane");
		assert_int_equal(write_tar(p, m, 1), 0);
		upt_err e;
		assert_int_equal(walk(p, &e), v == 2 ? UPT_OK : UPT_E_MALFORMED);
		if (v == 3) {
			assert_string_equal(e.file, "bundle.json");
			assert_non_null(strstr(e.msg, "newer bundler"));
		}
		free(p);
	}
	{
		struct tmember m[] = {META("bundle.json", "{\"format\":\"other\",\"version\":1}")};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "bundle.json");
	}
	{
		struct tmember m[] = {
		    META("bundle.json", "{\"format\":\"uptane-offline-bundle\"}")};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "bundle.json");
	}
	{
		struct tmember m[] = {META(
		    "bundle.json", "{\"format\":\"uptane-offline-bundle\",\"version\":\"1\"}")};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "bundle.json");
	}
	{
		struct tmember m[] = {META("bundle.json",
					   "{\"format\":\"uptane-offline-bundle\",\"version\":1,"
					   "\"version\":1}")};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "bundle.json");
	}
	{
		struct tmember m[] = {META("bundle.json", "not json")};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "bundle.json");
	}
	{
		struct tmember m[] = {META("bundle.json", "[1]")};
		expect_walk(m, NMEMB(m), UPT_E_MALFORMED, "bundle.json");
	}
	{
		/* only format and version are checked: unknown fields and odd hints are fine */
		struct tmember m[] = {META("bundle.json",
					   "{\"format\":\"uptane-offline-bundle\","
					   "\"version\":1,\"images\":\"lies\",\"x\":[]}")};
		expect_walk(m, NMEMB(m), UPT_OK, NULL);
	}
	{
		size_t n = UPT_BUNDLE_JSON_MAX + 1;
		char *big = malloc(n);
		memset(big, ' ', n);
		struct tmember m[] = {{"bundle.json", TM_FILE, big, n, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_TOO_LARGE, "bundle.json");
		free(big);
	}
}

static void metadata_caps(void **state)
{
	(void)state;
	size_t n = UPT_META_FILE_MAX + 1;
	char *big = calloc(1, n);
	{
		struct tmember m[] = {BJ, {"metadata/big.json", TM_FILE, big, n, NULL}};
		expect_walk(m, NMEMB(m), UPT_E_TOO_LARGE, "metadata/big.json");
	}
	{
		struct tmember m[] = {BJ, {"metadata/ok.json", TM_FILE, big, n - 1, NULL}};
		expect_walk(m, NMEMB(m), UPT_OK, NULL);
	}
	{
		/* 16 files of exactly 1 MiB reach the total cap; one more byte is over it */
		struct tmember m[18];
		char names[18][32];
		m[0] = (struct tmember)BJ;
		for (int i = 0; i < 16; i++) {
			snprintf(names[i], sizeof(names[i]), "metadata/f%02d.json", i);
			m[i + 1] =
			    (struct tmember){names[i], TM_FILE, big, UPT_META_FILE_MAX, NULL};
		}
		expect_walk(m, 17, UPT_OK, NULL);
		m[17] = (struct tmember){"metadata/last.json", TM_FILE, big, 1, NULL};
		expect_walk(m, 18, UPT_E_TOO_LARGE, "metadata/last.json");
	}
	free(big);
}

/* A device keeps only its own share of a multi-device bundle, and that share, bytes plus parsed
 * trees, fits in UPT_META_DEVICE_MAX: 16 MiB of other devices' files cost it nothing. */
static int read_as_device(const struct tmember *m, size_t n, const char *device,
			  upt_bundle_meta **out, upt_err *e)
{
	char *p = path_in(tmp, "dev.uptane");
	assert_int_equal(write_tar(p, m, n), 0);
	upt_bundle_reader *r = NULL;
	upt_err_clear(e);
	int rc = upt_bundle_reader_open(p, &r, e);
	assert_int_equal(rc, UPT_OK);
	upt_bundle_reader_keep_device(r, device);
	rc = upt_bundle_read_metadata(r, out, e);
	upt_bundle_reader_free(r);
	free(p);
	return rc;
}

static void device_keeps_its_share(void **state)
{
	(void)state;
	size_t big = UPT_META_FILE_MAX;
	char *spaces = malloc(big);
	memset(spaces, ' ', big);
	spaces[0] = '{';
	spaces[big - 1] = '}';
	struct tmember m[24];
	char names[24][64];
	size_t n = 0;
	m[n++] = (struct tmember)BJ;
	m[n++] = (struct tmember)META("metadata/director/1.root.json", "{}");
	m[n++] = (struct tmember)META("metadata/director/devices/VIN-1/targets.json", "{\"a\":1}");
	for (int i = 0; i < 15; i++) { /* 15 MiB for devices VIN-10 .. VIN-24 */
		snprintf(names[i], sizeof(names[i]),
			 "metadata/director/devices/VIN-%d/targets.json", 10 + i);
		m[n++] = (struct tmember){names[i], TM_FILE, spaces, big, NULL};
	}
	upt_bundle_meta *meta = NULL;
	upt_err e;
	assert_int_equal(read_as_device(m, n, "VIN-1", &meta, &e), UPT_OK);
	assert_int_equal(meta->nfiles, 2);
	assert_string_equal(meta->files[1].path, "metadata/director/devices/VIN-1/targets.json");
	assert_int_equal(meta->nskipped, 15);
	assert_non_null(strstr(meta->skipped_devices, "VIN-10, VIN-11, "));
	upt_bundle_meta_free(meta);
	/* the station reads it all */
	expect_walk(m, n, UPT_OK, NULL);

	/* the device's own share over the cap: 8 x 1 MiB of whitespace is 8 MiB of bytes */
	n = 1;
	for (int i = 0; i < 9; i++) {
		snprintf(names[i], sizeof(names[i]), "metadata/image-repo/delegations/r%d.json", i);
		m[n++] = (struct tmember){names[i], TM_FILE, spaces, big, NULL};
	}
	meta = NULL;
	assert_int_equal(read_as_device(m, n, "VIN-1", &meta, &e), UPT_E_TOO_LARGE);
	assert_null(meta);
	assert_string_equal(e.file, "metadata/image-repo/delegations/r7.json");
	assert_non_null(strstr(e.msg, "too large for the device"));
	expect_walk(m, n, UPT_OK, NULL); /* 9 MiB is fine at the station */

	/* small files whose trees are large: 6 x 200 KB of empty objects is ~7 MiB parsed */
	char *junk = malloc(200u << 10);
	size_t junk_len = 0;
	junk[junk_len++] = '[';
	while (junk_len + 6 < (200u << 10)) {
		memcpy(junk + junk_len, "{},", 3);
		junk_len += 3;
	}
	memcpy(junk + junk_len, "{}]", 3);
	junk_len += 3;
	n = 1;
	for (int i = 0; i < 8; i++) {
		snprintf(names[i], sizeof(names[i]), "metadata/image-repo/delegations/j%d.json", i);
		m[n++] = (struct tmember){names[i], TM_FILE, junk, junk_len, NULL};
	}
	assert_int_equal(read_as_device(m, n, "VIN-1", &meta, &e), UPT_E_TOO_LARGE);
	assert_null(meta);
	free(junk);
	free(spaces);
}

/* ---- not a tar, truncated ---- */

static void not_tar_and_truncated(void **state)
{
	(void)state;
	upt_err e;
	char *p = path_in(tmp, "n.uptane");
	/* empty file */
	assert_int_equal(write_file(p, "", 0), 0);
	assert_int_equal(walk(p, &e), UPT_E_MALFORMED);
	/* random bytes */
	uint8_t rnd[4096];
	fill_pattern(rnd, sizeof(rnd), 99);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(rnd[i] * 37 + i);
	assert_int_equal(write_file(p, rnd, sizeof(rnd)), 0);
	assert_int_equal(walk(p, &e), UPT_E_MALFORMED);
	/* a gzip-compressed tar: no decompression filter is enabled */
	struct tmember m[] = {BJ, META("metadata/a.json", "{}")};
	assert_int_equal(write_tar_ex(p, m, NMEMB(m), true), 0);
	assert_int_equal(walk(p, &e), UPT_E_MALFORMED);
	/* a valid one, then truncated at several points */
	struct img a;
	make_img(&a, "a", 1500000, 5); /* > 512 KiB: streamed by the overlapped pipeline */
	struct tmember v[] = {
	    BJ, META("metadata/a.json", "{\"a\":1}"), {"images/a", TM_FILE, a.z, a.zlen, NULL}};
	assert_int_equal(write_tar(p, v, NMEMB(v)), 0);
	assert_int_equal(walk(p, &e), UPT_OK);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	/* inside bundle.json's data, inside the metadata header, inside the metadata data */
	const off_t cuts[] = {600, 1100, 1024 + 512 + 3};
	for (size_t i = 0; i < NMEMB(cuts); i++) {
		assert_int_equal(write_tar(p, v, NMEMB(v)), 0);
		assert_int_equal(truncate(p, cuts[i]), 0);
		assert_int_equal(walk(p, &e), UPT_E_MALFORMED);
	}
	/* inside the image data: found when streaming it */
	assert_int_equal(write_tar(p, v, NMEMB(v)), 0);
	assert_int_equal(truncate(p, st.st_size - 10240 - (off_t)a.zlen / 2), 0);
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *meta = NULL;
	assert_int_equal(upt_bundle_reader_open(p, &r, &e), UPT_OK);
	assert_int_equal(upt_bundle_read_metadata(r, &meta, &e), UPT_OK);
	const char *name;
	uint64_t clen;
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
	struct collect c = {0};
	assert_int_equal(stream_expect(r, &a, &c, &e), UPT_E_MALFORMED);
	assert_string_equal(e.file, "images/a");
	assert_true(c.total < a.rawlen);
	/* the reader stays failed */
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_E_MALFORMED);
	upt_bundle_meta_free(meta);
	upt_bundle_reader_free(r);
	free_img(&a);
	free(p);
}

static void open_errors(void **state)
{
	(void)state;
	upt_err e;
	upt_bundle_reader *r = NULL;
	char *p = path_in(tmp, "absent.uptane");
	assert_int_equal(upt_bundle_reader_open(p, &r, &e), UPT_E_NOT_FOUND);
	assert_null(r);
	/* a directory, a symlink: not opened, and refused as hostile (not retried as I/O) */
	assert_int_equal(upt_bundle_reader_open(tmp, &r, &e), UPT_E_UNSAFE_ARCHIVE);
	char *l = path_in(tmp, "link.uptane");
	struct tmember m[] = {BJ};
	assert_int_equal(write_tar(p, m, 1), 0);
	assert_int_equal(symlink(p, l), 0);
	assert_int_equal(upt_bundle_reader_open(l, &r, &e), UPT_E_UNSAFE_ARCHIVE);
	assert_null(r);
	free(l);
	free(p);
}

/* A volume that shrinks under the reader is an I/O problem (medium changed), not a malformed
 * archive: exit 7 "try again", not 4. */
static void shrinking_file_is_io(void **state)
{
	(void)state;
	struct img a;
	make_img(&a, "a", 1 << 20, 8);
	struct tmember v[] = {BJ, {"images/a", TM_FILE, a.z, a.zlen, NULL}};
	char *p = path_in(tmp, "io.uptane");
	assert_int_equal(write_tar(p, v, NMEMB(v)), 0);
	upt_err e;
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *meta = NULL;
	assert_int_equal(upt_bundle_reader_open(p, &r, &e), UPT_OK);
	assert_int_equal(upt_bundle_read_metadata(r, &meta, &e), UPT_OK);
	const char *name;
	uint64_t clen;
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
	assert_int_equal(truncate(p, 4096), 0);
	struct collect c = {0};
	assert_int_equal(stream_expect(r, &a, &c, &e), UPT_E_IO);
	assert_string_equal(e.file, "images/a");
	upt_bundle_meta_free(meta);
	upt_bundle_reader_free(r);
	free_img(&a);
	free(p);
}

/* ---- image streaming ---- */

/* Builds a bundle with one image member holding z (zlen bytes), opens it and positions the
 * reader on the image. */
static upt_bundle_reader *open_on_image(const void *z, size_t zlen)
{
	struct tmember v[] = {BJ, {"images/x.bin", TM_FILE, z, zlen, NULL}};
	char *p = path_in(tmp, "img.uptane");
	if (write_tar(p, v, NMEMB(v)))
		abort();
	upt_err e;
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *meta = NULL;
	if (upt_bundle_reader_open(p, &r, &e) || upt_bundle_read_metadata(r, &meta, &e))
		abort();
	upt_bundle_meta_free(meta);
	const char *name;
	uint64_t clen;
	if (upt_bundle_next_image(r, &name, &clen, &e) || clen != zlen)
		abort();
	free(p);
	return r;
}

static int stream_raw(const void *z, size_t zlen, uint64_t signed_len, const upt_hashes *h,
		      struct collect *c, upt_err *e)
{
	upt_bundle_reader *r = open_on_image(z, zlen);
	upt_err_clear(e);
	c->len = 0;
	c->total = 0;
	c->calls = 0;
	c->last_progress = 0;
	int rc = upt_bundle_stream_image(r, signed_len, h, collect_sink, c, collect_progress, e);
	if (rc)
		assert_string_equal(e->file, "images/x.bin");
	upt_bundle_reader_free(r);
	return rc;
}

static void stream_endless_and_short(void **state)
{
	(void)state;
	struct img a;
	make_img(&a, "a", 1000000, 21);
	upt_err e;
	/* longer than signed: the sink sees exactly the signed length, never one byte more */
	for (size_t cut = 1; cut <= 600000; cut *= 7) {
		size_t sl = a.rawlen - cut;
		upt_hashes h = hashes_of(a.raw, sl);
		struct collect c = {0};
		assert_int_equal(stream_raw(a.z, a.zlen, sl, &h, &c, &e), UPT_E_ENDLESS_DATA);
		assert_int_equal(c.total, sl);
	}
	{
		upt_hashes h = hashes_of("", 0);
		struct collect c = {0};
		/* the first zstd block is already over the compressed cap of a 0-byte target */
		assert_int_equal(stream_raw(a.z, a.zlen, 0, &h, &c, &e), UPT_E_TOO_LARGE);
		assert_int_equal(c.total, 0);
		/* a small image that is still too long */
		void *z = NULL;
		size_t zl = zc("0123456789", 10, 3, &z);
		assert_int_equal(stream_raw(z, zl, 0, &h, &c, &e), UPT_E_ENDLESS_DATA);
		assert_int_equal(c.total, 0);
		assert_int_equal(c.calls, 0);
		assert_int_equal(stream_raw(z, zl, 9, &h, &c, &e), UPT_E_ENDLESS_DATA);
		assert_int_equal(c.total, 9);
		free(z);
	}
	{
		/* the excess in a second, concatenated frame */
		void *z2 = NULL;
		size_t zl2 = zc("tail", 4, 3, &z2);
		uint8_t *cat = malloc(a.zlen + zl2);
		memcpy(cat, a.z, a.zlen);
		memcpy(cat + a.zlen, z2, zl2);
		upt_hashes h = hashes_of(a.raw, a.rawlen);
		struct collect c = {0};
		assert_int_equal(stream_raw(cat, a.zlen + zl2, a.rawlen, &h, &c, &e),
				 UPT_E_ENDLESS_DATA);
		assert_int_equal(c.total, a.rawlen);
		free(cat);
		free(z2);
	}
	{
		/* shorter than signed */
		upt_hashes h = hashes_of(a.raw, a.rawlen);
		struct collect c = {0};
		assert_int_equal(stream_raw(a.z, a.zlen, a.rawlen + 1, &h, &c, &e),
				 UPT_E_ARBITRARY_SOFTWARE);
		assert_int_equal(c.total, a.rawlen);
		assert_non_null(strstr(e.msg, "shorter"));
	}
	free_img(&a);
}

/* Both paths: the single-threaded one (small) and the overlapped pipeline (large). */
static void stream_hashes_n(size_t n)
{
	struct img a;
	make_img(&a, "a", n, 22);
	upt_err e;
	upt_hashes good = hashes_of(a.raw, a.rawlen);
	struct collect c = {0};
	assert_int_equal(stream_raw(a.z, a.zlen, a.rawlen, &good, &c, &e), UPT_OK);
	upt_hashes h = good;
	h.sha256[5] ^= 1;
	assert_int_equal(stream_raw(a.z, a.zlen, a.rawlen, &h, &c, &e), UPT_E_ARBITRARY_SOFTWARE);
	h = good;
	h.sha512[63] ^= 0x80;
	assert_int_equal(stream_raw(a.z, a.zlen, a.rawlen, &h, &c, &e), UPT_E_ARBITRARY_SOFTWARE);
	/* only sha512 listed: checked alone */
	h = good;
	h.has_sha256 = false;
	assert_int_equal(stream_raw(a.z, a.zlen, a.rawlen, &h, &c, &e), UPT_OK);
	h.sha512[0] ^= 1;
	assert_int_equal(stream_raw(a.z, a.zlen, a.rawlen, &h, &c, &e), UPT_E_ARBITRARY_SOFTWARE);
	/* only sha256 listed */
	h = good;
	h.has_sha512 = false;
	memset(h.sha512, 0, sizeof(h.sha512));
	assert_int_equal(stream_raw(a.z, a.zlen, a.rawlen, &h, &c, &e), UPT_OK);
	/* nothing listed: nothing could be checked, so it is refused */
	h.has_sha256 = false;
	assert_int_equal(stream_raw(a.z, a.zlen, a.rawlen, &h, &c, &e), UPT_E_MALFORMED);
	assert_int_equal(stream_raw(a.z, a.zlen, a.rawlen, NULL, &c, &e), UPT_E_MALFORMED);
	/* a different image with the right length */
	struct img b;
	make_img(&b, "b", n, 23);
	assert_int_equal(stream_raw(b.z, b.zlen, b.rawlen, &good, &c, &e),
			 UPT_E_ARBITRARY_SOFTWARE);
	free_img(&b);
	free_img(&a);
}

static void stream_hashes(void **state)
{
	(void)state;
	stream_hashes_n(300000);
	stream_hashes_n(3000000);
}

static size_t zc_window(const void *src, size_t n, int wlog, bool pledge, void **out)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, wlog);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 19);
	if (pledge)
		ZSTD_CCtx_setPledgedSrcSize(cc, n);
	size_t cap = ZSTD_compressBound(n) + 1024;
	uint8_t *buf = malloc(cap);
	ZSTD_outBuffer ob = {buf, cap, 0};
	ZSTD_inBuffer ib = {src, n, 0};
	/* continue first, so the size is not known when the frame header is written */
	if (ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)))
		abort();
	size_t left;
	do
		left = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
	while (left && !ZSTD_isError(left));
	if (ZSTD_isError(left))
		abort();
	ZSTD_freeCCtx(cc);
	*out = buf;
	return ob.pos;
}

static void stream_window_too_large(void **state)
{
	(void)state;
	size_t n = 9u << 20;
	uint8_t *raw = malloc(n);
	fill_pattern(raw, 1u << 20, 31);
	for (size_t i = 1; i < 9; i++) /* repeats 8 MiB apart only fit a big window */
		memcpy(raw + (i << 20), raw, 1u << 20);
	upt_hashes h = hashes_of(raw, n);
	upt_err e;
	void *z = NULL;
	size_t zl = zc_window(raw, n, 27, false, &z);
	/* the frame header must announce the large window */
	ZSTD_frameHeader fh;
	assert_int_equal(ZSTD_getFrameHeader(&fh, z, zl), 0);
	assert_true(fh.windowSize > (1u << UPT_ZSTD_WINDOW_LOG_MAX));
	struct collect c = {0};
	assert_int_equal(stream_raw(z, zl, n, &h, &c, &e), UPT_E_TOO_LARGE);
	assert_int_equal(c.total, 0);
	assert_non_null(strstr(e.msg, "window"));
	free(z);
	/* the same data with a 4 MiB window decodes */
	zl = zc_window(raw, n, UPT_ZSTD_WINDOW_LOG_MAX, true, &z);
	memset(&c, 0, sizeof(c));
	assert_int_equal(stream_raw(z, zl, n, &h, &c, &e), UPT_OK);
	assert_int_equal(c.total, n);
	free(z);
	free(raw);
}

static void stream_invalid_zstd(void **state)
{
	(void)state;
	struct img a;
	make_img(&a, "a", 200000, 41);
	upt_hashes h = hashes_of(a.raw, a.rawlen);
	upt_err e;
	struct collect c = {0};
	/* random bytes */
	uint8_t junk[1000];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(stream_raw(junk, sizeof(junk), a.rawlen, &h, &c, &e), UPT_E_MALFORMED);
	/* a truncated frame */
	assert_int_equal(stream_raw(a.z, a.zlen / 2, a.rawlen, &h, &c, &e), UPT_E_MALFORMED);
	assert_int_equal(stream_raw(a.z, 3, a.rawlen, &h, &c, &e), UPT_E_MALFORMED);
	/* an empty member */
	assert_int_equal(stream_raw("", 0, a.rawlen, &h, &c, &e), UPT_E_MALFORMED);
	/* a corrupted frame (checksum or block damage) */
	uint8_t *bad = malloc(a.zlen);
	memcpy(bad, a.z, a.zlen);
	bad[a.zlen / 2] ^= 0x55;
	bad[a.zlen - 2] ^= 0x55;
	int rc = stream_raw(bad, a.zlen, a.rawlen, &h, &c, &e);
	assert_true(rc == UPT_E_MALFORMED || rc == UPT_E_ARBITRARY_SOFTWARE);
	/* trailing garbage after a complete frame */
	uint8_t *tail = malloc(a.zlen + 16);
	memcpy(tail, a.z, a.zlen);
	memset(tail + a.zlen, 0x42, 16);
	assert_int_equal(stream_raw(tail, a.zlen + 16, a.rawlen, &h, &c, &e), UPT_E_MALFORMED);
	free(tail);
	free(bad);
	free_img(&a);
}

static void stream_frames_and_caps(void **state)
{
	(void)state;
	upt_err e;
	/* several frames (and a skippable frame) concatenated make one image */
	uint8_t raw[3000];
	fill_pattern(raw, sizeof(raw), 51);
	void *z1, *z2, *z3;
	size_t l1 = zc(raw, 1000, 1, &z1), l2 = zc(raw + 1000, 0, 1, &z2),
	       l3 = zc(raw + 1000, 2000, 19, &z3);
	uint8_t skippable[12] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
	uint8_t *cat = malloc(l1 + l2 + l3 + sizeof(skippable));
	size_t o = 0;
	memcpy(cat + o, z1, l1), o += l1;
	memcpy(cat + o, skippable, sizeof(skippable)), o += sizeof(skippable);
	memcpy(cat + o, z2, l2), o += l2;
	memcpy(cat + o, z3, l3), o += l3;
	upt_hashes h = hashes_of(raw, sizeof(raw));
	struct collect c = {.data = malloc(sizeof(raw)), .cap = sizeof(raw)};
	assert_int_equal(stream_raw(cat, o, sizeof(raw), &h, &c, &e), UPT_OK);
	assert_memory_equal(c.data, raw, sizeof(raw));
	free(c.data);
	/* compressed member over ZSTD_compressBound(signed) + 64 KiB: valid zstd (a skippable
	 * frame pads it) yet refused once the cap is consumed, never read to its end */
	size_t cap = ZSTD_compressBound(sizeof(raw)) + UPT_ZSTD_SLACK;
	size_t big = cap + 1;
	uint8_t *pad = calloc(1, big);
	memcpy(pad, cat, o);
	size_t skip = big - o - 8;
	uint8_t sk[8] = {0x5e,
			 0x2a,
			 0x4d,
			 0x18,
			 (uint8_t)skip,
			 (uint8_t)(skip >> 8),
			 (uint8_t)(skip >> 16),
			 (uint8_t)(skip >> 24)};
	memcpy(pad + o, sk, 8);
	memset(&c, 0, sizeof(c));
	assert_int_equal(stream_raw(pad, big, sizeof(raw), &h, &c, &e), UPT_E_TOO_LARGE);
	assert_non_null(strstr(e.msg, "ZSTD_compressBound"));
	/* exactly at the cap it is fine */
	skip--;
	sk[4] = (uint8_t)skip;
	sk[5] = (uint8_t)(skip >> 8);
	sk[6] = (uint8_t)(skip >> 16);
	memcpy(pad + o, sk, 8);
	assert_int_equal(stream_raw(pad, cap, sizeof(raw), &h, &c, &e), UPT_OK);
	/* zero padding inside the cap is not valid zstd */
	memset(pad + o, 0, 8);
	assert_int_equal(stream_raw(pad, cap, sizeof(raw), &h, &c, &e), UPT_E_MALFORMED);
	/* a sink failure stops the stream with the sink's code */
	memset(&c, 0, sizeof(c));
	c.fail_with = UPT_E_INSTALL;
	assert_int_equal(stream_raw(cat, o, sizeof(raw), &h, &c, &e), UPT_E_INSTALL);
	assert_int_equal(c.calls, 1);
	free(pad);
	free(cat);
	free(z1);
	free(z2);
	free(z3);
}

/* Image-level failures (hash, endless data, sink) leave the archive walk intact: the next image
 * streams; both the single-threaded and the overlapped path. */
static void errors_then_next_image(void **state)
{
	(void)state;
	for (size_t n = 100000; n <= 2000000; n *= 20) {
		struct img a, b;
		make_img(&a, "a", n, 71);
		make_img(&b, "b", n, 72);
		struct tmember v[] = {BJ,
				      {"images/a", TM_FILE, a.z, a.zlen, NULL},
				      {"images/b", TM_FILE, b.z, b.zlen, NULL},
				      {"images/c", TM_FILE, a.z, a.zlen, NULL}};
		char *p = path_in(tmp, "n.uptane");
		assert_int_equal(write_tar(p, v, NMEMB(v)), 0);
		upt_err e;
		upt_bundle_reader *r = NULL;
		upt_bundle_meta *m = NULL;
		assert_int_equal(upt_bundle_reader_open(p, &r, &e), UPT_OK);
		assert_int_equal(upt_bundle_read_metadata(r, &m, &e), UPT_OK);
		const char *name;
		uint64_t clen;
		struct collect c = {0};
		upt_hashes ha = hashes_of(a.raw, a.rawlen), hb = hashes_of(b.raw, b.rawlen);
		/* a: endless data (signed shorter) */
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
		assert_int_equal(
		    upt_bundle_stream_image(r, a.rawlen / 2, &ha, collect_sink, &c, NULL, &e),
		    UPT_E_ENDLESS_DATA);
		assert_int_equal(c.total, a.rawlen / 2);
		assert_string_equal(e.file, "images/a");
		/* b: the sink fails at once */
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
		memset(&c, 0, sizeof(c));
		c.fail_with = UPT_E_INSTALL;
		assert_int_equal(
		    upt_bundle_stream_image(r, b.rawlen, &hb, collect_sink, &c, NULL, &e),
		    UPT_E_INSTALL);
		assert_int_equal(c.calls, 1);
		assert_string_equal(e.file, "images/b");
		/* c: fine */
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
		assert_string_equal(name, "c");
		memset(&c, 0, sizeof(c));
		assert_int_equal(
		    upt_bundle_stream_image(r, a.rawlen, &ha, collect_sink, &c, NULL, &e), UPT_OK);
		assert_int_equal(c.total, a.rawlen);
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_E_NOT_FOUND);
		upt_bundle_meta_free(m);
		upt_bundle_reader_free(r);
		free(p);
		free_img(&a);
		free_img(&b);
	}
}

/* Every frame must carry the current zstd (or skippable) magic: legacy formats are refused
 * before the decoder sees them (their decoders ignore the window cap). The magic is also
 * checked when it straddles two read blocks. */
static size_t skippable(uint8_t *p, size_t total)
{
	size_t n = total - 8;
	uint8_t h[8] = {0x50,
			0x2a,
			0x4d,
			0x18,
			(uint8_t)n,
			(uint8_t)(n >> 8),
			(uint8_t)(n >> 16),
			(uint8_t)(n >> 24)};
	memcpy(p, h, 8);
	memset(p + 8, 0xee, n);
	return total;
}

static void stream_frame_magic(void **state)
{
	(void)state;
	upt_err e;
	uint8_t raw[5000];
	fill_pattern(raw, sizeof(raw), 81);
	upt_hashes h = hashes_of(raw, sizeof(raw));
	void *z = NULL;
	size_t zl = zc(raw, sizeof(raw), 3, &z);
	struct collect c = {0};
	/* legacy magics (v0.5 .. v0.7), alone or after a valid frame */
	static const uint8_t legacy[][4] = {
	    {0x25, 0xb5, 0x2f, 0xfd}, {0x26, 0xb5, 0x2f, 0xfd}, {0x27, 0xb5, 0x2f, 0xfd}};
	uint8_t *buf = malloc(300000 + zl * 2);
	for (size_t i = 0; i < NMEMB(legacy); i++) {
		memcpy(buf, z, zl);
		memcpy(buf, legacy[i], 4);
		assert_int_equal(stream_raw(buf, zl, sizeof(raw), &h, &c, &e), UPT_E_MALFORMED);
		assert_non_null(strstr(e.msg, "legacy"));
		memcpy(buf, z, zl);
		memcpy(buf + zl, z, zl);
		memcpy(buf + zl, legacy[i], 4);
		assert_int_equal(stream_raw(buf, 2 * zl, 2 * sizeof(raw), &h, &c, &e),
				 UPT_E_MALFORMED);
		assert_non_null(strstr(e.msg, "legacy"));
	}
	/* an empty image member: rejected, and without arithmetic on the decoder's NULL input
	 * pointer (UBSan's pointer-overflow check catches NULL + 0) */
	upt_hashes eh = hashes_of("", 0);
	assert_int_equal(stream_raw(buf, 0, sizeof(raw), &eh, &c, &e), UPT_E_MALFORMED);
	assert_non_null(strstr(e.msg, "empty image member"));
	/* a frame whose magic straddles the reader's 256 KiB blocks: the image data starts at
	 * archive offset 1536 (two headers and bundle.json), so a skippable frame of
	 * 262142 - 1536 bytes puts the next magic across the block boundary at 262144 (the
	 * image is large enough for the padding to stay within the compressed-size cap) */
	size_t bn = 1000000;
	uint8_t *big = malloc(bn);
	fill_pattern(big, bn, 82);
	void *bz = NULL;
	size_t bzl = zc(big, bn, 3, &bz);
	upt_hashes hh = hashes_of(big, bn);
	uint8_t *sbuf = malloc(262144 + bzl);
	for (size_t shift = 0; shift <= 4; shift++) {
		size_t sk = 262144 - 1536 - shift;
		skippable(sbuf, sk);
		memcpy(sbuf + sk, bz, bzl);
		assert_int_equal(stream_raw(sbuf, sk + bzl, bn, &hh, &c, &e), UPT_OK);
		assert_int_equal(c.total, bn);
		memcpy(sbuf + sk, legacy[2], 4);
		assert_int_equal(stream_raw(sbuf, sk + bzl, bn, &hh, &c, &e), UPT_E_MALFORMED);
		assert_non_null(strstr(e.msg, "legacy"));
		/* a member ending in 1..3 bytes of a magic */
		memcpy(sbuf + sk, bz, 4);
		assert_int_equal(stream_raw(sbuf, sk + (shift % 3) + 1, bn, &hh, &c, &e),
				 UPT_E_MALFORMED);
		assert_non_null(strstr(e.msg, "truncated"));
	}
	free(sbuf);
	free(bz);
	free(big);
	free(buf);
	free(z);
}

/* ---- split volumes (made by cutting one archive) ---- */

static void read_split_volumes(void **state)
{
	(void)state;
	struct img a, b;
	make_img(&a, "a", 400000, 61);
	make_img(&b, "b", 300000, 62);
	struct tmember v[] = {BJ,
			      META("metadata/a.json", "{\"a\":1}"),
			      {"images/a", TM_FILE, a.z, a.zlen, NULL},
			      {"images/b", TM_FILE, b.z, b.zlen, NULL}};
	char *whole = path_in(tmp, "whole.tar");
	assert_int_equal(write_tar(whole, v, NMEMB(v)), 0);
	upt_buf all;
	upt_buf_init(&all, 1u << 30);
	upt_err e;
	assert_int_equal(upt_file_read(AT_FDCWD, whole, 1u << 30, &all, &e), UPT_OK);
	/* odd volume sizes so boundaries fall inside headers and data */
	const size_t vol = 77777;
	char *base = path_in(tmp, "split.uptane");
	size_t nvol = 0;
	for (size_t off = 0; off < all.len; off += vol, nvol++) {
		char *name = NULL;
		assert_true(asprintf(&name, "%s.%03zu", base, nvol) > 0);
		size_t n = all.len - off < vol ? all.len - off : vol;
		assert_int_equal(write_file(name, all.data + off, n), 0);
		free(name);
	}
	assert_true(nvol >= 5);
	char *first = NULL;
	assert_true(asprintf(&first, "%s.000", base) > 0);
	for (int variant = 0; variant < 3; variant++) {
		upt_bundle_reader *r = NULL;
		upt_bundle_meta *meta = NULL;
		assert_int_equal(upt_bundle_reader_open(variant == 1 ? first : base, &r, &e),
				 UPT_OK);
		assert_int_equal(upt_bundle_read_metadata(r, &meta, &e), UPT_OK);
		assert_int_equal(meta->nfiles, 1);
		const char *name;
		uint64_t clen;
		struct collect c = {0};
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
		if (variant != 2) { /* variant 2 skips image a across volume boundaries */
			assert_int_equal(stream_expect(r, &a, &c, &e), UPT_OK);
			assert_int_equal(c.total, a.rawlen);
		}
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
		assert_string_equal(name, "b");
		memset(&c, 0, sizeof(c));
		assert_int_equal(stream_expect(r, &b, &c, &e), UPT_OK);
		assert_int_equal(c.total, b.rawlen);
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_E_NOT_FOUND);
		upt_bundle_meta_free(meta);
		upt_bundle_reader_free(r);
	}
	/* a later volume given alone: which one it is, and the first to give instead */
	char *second = NULL, *want = NULL;
	upt_bundle_reader *r2 = NULL;
	assert_true(asprintf(&second, "%s.001", base) > 0);
	assert_int_equal(upt_bundle_reader_open(second, &r2, &e), UPT_E_USAGE);
	assert_null(r2);
	assert_true(asprintf(&want,
			     "split.uptane.001 is volume 2 of a split bundle: give the first "
			     "volume, %s.000 (or %s)",
			     base, base) > 0);
	assert_non_null(strstr(e.msg, want));
	free(want);
	/* the last volume missing: named where the archive goes on, not "truncated" */
	char *last = NULL, *aside = NULL;
	assert_true(asprintf(&last, "%s.%03zu", base, nvol - 1) > 0);
	assert_true(asprintf(&aside, "%s.aside", base) > 0);
	assert_int_equal(rename(last, aside), 0);
	assert_int_not_equal(walk(base, &e), UPT_OK);
	assert_int_equal(e.code, UPT_E_MALFORMED);
	assert_true(asprintf(&want, "%s is missing: the bundle has more volumes", last) > 0);
	assert_non_null(strstr(e.msg, want));
	assert_null(strstr(e.msg, "truncated"));
	free(want);
	assert_int_equal(rename(aside, last), 0);
	/* a missing middle volume: named when the volumes are opened */
	char *mid = NULL;
	assert_true(asprintf(&mid, "%s.%03zu", base, nvol / 2) > 0);
	assert_int_equal(unlink(mid), 0);
	assert_int_not_equal(walk(base, &e), UPT_OK);
	assert_int_equal(e.code, UPT_E_MALFORMED);
	assert_true(asprintf(&want, "%s is missing: the bundle has more volumes", mid) > 0);
	assert_non_null(strstr(e.msg, want));
	free(want);
	free(mid);
	free(last);
	free(aside);
	free(second);
	free(first);
	free(base);
	upt_buf_clear(&all);
	free(whole);
	free_img(&a);
	free_img(&b);
}

/* Archives from an independent producer (Python tarfile, tests/data/bundle/mkhostile.py): each
 * is refused with its class and names its member; the valid ones (ustar, GNU, pax dialects,
 * long names through GNU longname and pax headers) are read. */
static void python_tarfile_archives(void **state)
{
	(void)state;
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "/usr/bin/python3 tests/data/bundle/mkhostile.py %s", tmp) > 0);
	int st = system(cmd);
	free(cmd);
	if (st != 0) {
		fprintf(stderr, "mkhostile.py failed (run from the source tree top)\n");
		fail();
	}
	char *mf = path_in(tmp, "manifest.tsv");
	FILE *f = fopen(mf, "r");
	assert_non_null(f);
	char line[2048];
	unsigned n = 0, refused = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *name = strtok(line, "\t"), *want = strtok(NULL, "\t"),
		     *member = strtok(NULL, "\t");
		assert_non_null(member);
		char *p = path_in(tmp, name);
		upt_err e;
		int rc = walk(p, &e);
		const char *got = rc ? upt_err_class(rc) : "ok";
		printf("# %-28s %-15s %s%s%s\n", name, got, rc ? e.file : "", rc ? ": " : "",
		       rc ? e.msg : "");
		if (strcmp(got, want))
			fprintf(stderr, "%s: want %s, got %s (%s)\n", name, want, got, e.msg);
		assert_string_equal(got, want);
		if (rc && strcmp(member, "-"))
			assert_string_equal(e.file, member);
		refused += rc != 0;
		n++;
		free(p);
	}
	fclose(f);
	free(mf);
	printf("# %u archives from Python tarfile, %u refused\n", n, refused);
	assert_true(n >= 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(member_path_rule),
	    cmocka_unit_test_setup_teardown(read_valid_bundle, setup, teardown),
	    cmocka_unit_test_setup_teardown(skip_unwanted_image, setup, teardown),
	    cmocka_unit_test_setup_teardown(hostile_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(hostile_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(hostile_duplicates_and_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(bundle_json_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(metadata_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(device_keeps_its_share, setup, teardown),
	    cmocka_unit_test_setup_teardown(not_tar_and_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(shrinking_file_is_io, setup, teardown),
	    cmocka_unit_test_setup_teardown(stream_endless_and_short, setup, teardown),
	    cmocka_unit_test_setup_teardown(stream_hashes, setup, teardown),
	    cmocka_unit_test_setup_teardown(stream_window_too_large, setup, teardown),
	    cmocka_unit_test_setup_teardown(stream_invalid_zstd, setup, teardown),
	    cmocka_unit_test_setup_teardown(stream_frames_and_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(errors_then_next_image, setup, teardown),
	    cmocka_unit_test_setup_teardown(stream_frame_magic, setup, teardown),
	    cmocka_unit_test_setup_teardown(read_split_volumes, setup, teardown),
	    cmocka_unit_test_setup_teardown(python_tarfile_archives, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
