/*
 * Unit tests of sealed (encrypted) image members (docs/bundle-format.md, "Encrypted images"):
 * the writer's sealing and the reader's decrypt stage (formats/src/bundle/bundle_decrypt.c) in the
 * one streaming pass. Tampered streams are built here from the chunk layout (header, then chunks of
 * 65536 + 17 bytes), with the signed sealed length and hash made to fit the tampered bytes, so
 * that only the stream's own checks can refuse them; the sink must never see a byte of a chunk
 * that did not authenticate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "bundle_test_util.h"
#include "upt/imgcrypt.h"

#define CHUNK (UPT_CRYPT_CHUNK + UPT_CRYPT_CHUNK_OVERHEAD)

struct sealed {
	uint8_t *data;
	size_t len;
};

static int buf_out(void *ctx, const void *p, size_t n, upt_err *e)
{
	(void)e;
	struct sealed *s = ctx;
	s->data = realloc(s->data, s->len + n);
	assert_non_null(s->data);
	memcpy(s->data + s->len, p, n);
	s->len += n;
	return UPT_OK;
}

/* zstd(plain) sealed under key, as the writer seals it. */
static struct sealed seal(const uint8_t *plain, size_t n, const uint8_t *key)
{
	void *z = NULL;
	size_t zn = zc(plain, n, 1, &z);
	struct sealed s = {NULL, 0};
	upt_seal *st = NULL;
	upt_err e;
	assert_int_equal(upt_seal_new(key, buf_out, &s, &st, &e), UPT_OK);
	/* in uneven pieces: the chunking must not depend on how the bytes arrive */
	for (size_t off = 0; off < zn;) {
		size_t k = zn - off < 777 ? zn - off : 777;
		assert_int_equal(upt_seal_update(st, (uint8_t *)z + off, k, &e), UPT_OK);
		off += k;
	}
	uint64_t len;
	upt_hashes h;
	assert_int_equal(upt_seal_finish(st, &len, &h, &e), UPT_OK);
	assert_int_equal(len, s.len);
	assert_int_equal(len, upt_crypt_sealed_length(zn));
	upt_seal_free(st);
	free(z);
	return s;
}

struct world {
	char *dir;
	uint8_t key[UPT_CRYPT_KEY_LEN];
	uint8_t *plain;
	size_t n;
	upt_hashes plain_hashes;
};

static int setup(void **state)
{
	assert_true(sodium_init() >= 0);
	struct world *w = calloc(1, sizeof(*w));
	w->dir = make_tmpdir();
	randombytes_buf(w->key, sizeof(w->key));
	w->n = 700000; /* several chunks; compressible, so zstd really decodes */
	w->plain = malloc(w->n);
	fill_pattern(w->plain, w->n, 7);
	assert_int_equal(upt_hash_all(w->plain, w->n, &w->plain_hashes, NULL), UPT_OK);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	rm_rf(w->dir);
	free(w->dir);
	free(w->plain);
	free(w);
	return 0;
}

/* Streams member bytes `s` as images/fw.bin with the sealed length and sha256 of `signed_as`
 * (NULL: of s itself) under key; returns the code, *c what the sink saw. */
static int stream(struct world *w, const struct sealed *s, const struct sealed *signed_as,
		  const uint8_t *key, struct collect *c, upt_err *e)
{
	char *path = path_in(w->dir, "b.uptane");
	struct tmember m[] = {
	    {"bundle.json", TM_FILE, VALID_BUNDLE_JSON, strlen(VALID_BUNDLE_JSON), NULL},
	    {"images/fw.bin", TM_FILE, s->data, s->len, NULL},
	};
	assert_int_equal(write_tar(path, m, 2), 0);
	const struct sealed *sg = signed_as ? signed_as : s;
	upt_image_decrypt d;
	memcpy(d.key, key, sizeof(d.key));
	d.length = sg->len;
	memset(&d.hashes, 0, sizeof(d.hashes));
	d.hashes.has_sha256 = true;
	assert_int_equal(upt_sha256(sg->data, sg->len, d.hashes.sha256, NULL), UPT_OK);

	upt_bundle_reader *r = NULL;
	upt_bundle_meta *meta = NULL;
	assert_int_equal(upt_bundle_reader_open(path, &r, e), UPT_OK);
	assert_int_equal(upt_bundle_read_metadata(r, &meta, e), UPT_OK);
	const char *name;
	uint64_t clen;
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, e), UPT_OK);
	c->cap = w->n;
	c->data = malloc(w->n);
	int rc =
	    upt_bundle_stream_sealed_image(r, w->n, &w->plain_hashes, &d, collect_sink, c, NULL, e);
	upt_bundle_meta_free(meta);
	upt_bundle_reader_free(r);
	free(path);
	return rc;
}

static void expect_refused(struct world *w, const struct sealed *s, const char *words)
{
	struct collect c = {0};
	upt_err e;
	int rc = stream(w, s, NULL, w->key, &c, &e);
	if (rc != UPT_E_ARBITRARY_SOFTWARE || !strstr(e.msg, words))
		fprintf(stderr, "got %d: %s\n", rc, e.msg);
	assert_int_equal(rc, UPT_E_ARBITRARY_SOFTWARE);
	assert_non_null(strstr(e.msg, words));
	assert_string_equal(e.file, "images/fw.bin");
	free(c.data);
}

static void opens_what_was_sealed(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	assert_true(s.len > 3 * CHUNK); /* several chunks, the last one short */
	struct collect c = {0};
	upt_err e;
	assert_int_equal(stream(w, &s, NULL, w->key, &c, &e), UPT_OK);
	assert_int_equal(c.len, w->n);
	assert_memory_equal(c.data, w->plain, w->n);
	free(c.data);
	free(s.data);
}

/* A stream whose zstd member is an exact multiple of the chunk size: the FINAL chunk is a full
 * one (zstd skippable frame as padding). */
static void exact_multiple_of_the_chunk(void **state)
{
	struct world *w = *state;
	void *z = NULL;
	size_t zn = zc(w->plain, w->n, 1, &z);
	size_t total = (zn / UPT_CRYPT_CHUNK + 2) * UPT_CRYPT_CHUNK;
	uint8_t *padded = malloc(total);
	memcpy(padded, z, zn);
	size_t pad = total - zn - 8; /* skippable frame: magic, 4-byte size, bytes */
	uint32_t magic = 0x184D2A50u;
	memcpy(padded + zn, &magic, 4);
	uint32_t p32 = (uint32_t)pad;
	memcpy(padded + zn + 4, &p32, 4);
	memset(padded + zn + 8, 0, pad);
	struct sealed s = {NULL, 0};
	upt_seal *st = NULL;
	uint64_t len;
	upt_hashes h;
	assert_int_equal(upt_seal_new(w->key, buf_out, &s, &st, NULL), UPT_OK);
	assert_int_equal(upt_seal_update(st, padded, total, NULL), UPT_OK);
	assert_int_equal(upt_seal_finish(st, &len, &h, NULL), UPT_OK);
	upt_seal_free(st);
	assert_int_equal(s.len, UPT_CRYPT_HEADER_LEN + (total / UPT_CRYPT_CHUNK) * CHUNK);
	struct collect c = {0};
	upt_err e;
	assert_int_equal(stream(w, &s, NULL, w->key, &c, &e), UPT_OK);
	assert_memory_equal(c.data, w->plain, w->n);
	free(c.data);
	/* after a full FINAL chunk, more bytes are refused as such */
	s.data = realloc(s.data, s.len + 40);
	memset(s.data + s.len, 0x5a, 40);
	s.len += 40;
	expect_refused(w, &s, "after the final chunk");
	free(s.data);
	free(padded);
	free(z);
}

static void flipped_byte(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	s.data[UPT_CRYPT_HEADER_LEN + CHUNK + 500] ^= 0x01; /* inside the second chunk */
	struct collect c = {0};
	upt_err e;
	assert_int_equal(stream(w, &s, NULL, w->key, &c, &e), UPT_E_ARBITRARY_SOFTWARE);
	assert_non_null(strstr(e.msg, "does not authenticate"));
	assert_non_null(strstr(e.msg, "chunk 2"));
	/* at most the first chunk's bytes were decompressed and delivered */
	assert_true(c.total < w->n);
	free(c.data);
	free(s.data);
}

static void final_chunk_dropped(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	s.len = UPT_CRYPT_HEADER_LEN + ((s.len - UPT_CRYPT_HEADER_LEN) / CHUNK) * CHUNK;
	expect_refused(w, &s, "without its final chunk");
	free(s.data);
}

static void cut_inside_the_final_chunk(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	s.len -= 5;
	expect_refused(w, &s, "does not authenticate");
	free(s.data);
}

static void chunks_swapped(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	uint8_t *tmp = malloc(CHUNK);
	uint8_t *a = s.data + UPT_CRYPT_HEADER_LEN, *b = a + CHUNK;
	memcpy(tmp, a, CHUNK);
	memcpy(a, b, CHUNK);
	memcpy(b, tmp, CHUNK);
	free(tmp);
	expect_refused(w, &s, "does not authenticate");
	free(s.data);
}

static void bytes_after_the_final_chunk(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	s.data = realloc(s.data, s.len + 40);
	memset(s.data + s.len, 0x5a, 40);
	s.len += 40;
	/* a short final chunk: the extra bytes join it, and it no longer authenticates */
	expect_refused(w, &s, "does not authenticate");
	free(s.data);
}

static void header_only(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	s.len = UPT_CRYPT_HEADER_LEN;
	expect_refused(w, &s, "without its final chunk");
	s.len = 10;
	expect_refused(w, &s, "shorter than the stream header");
	free(s.data);
}

static void another_key(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	uint8_t other[UPT_CRYPT_KEY_LEN];
	randombytes_buf(other, sizeof(other));
	struct collect c = {0};
	upt_err e;
	assert_int_equal(stream(w, &s, NULL, other, &c, &e), UPT_E_ARBITRARY_SOFTWARE);
	assert_non_null(strstr(e.msg, "does not authenticate"));
	assert_int_equal(c.total, 0);
	free(c.data);
	free(s.data);
}

static void sealed_hash_differs(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	struct sealed other = seal(w->plain, w->n, w->key); /* same length, other bytes */
	assert_int_equal(s.len, other.len);
	struct collect c = {0};
	upt_err e;
	assert_int_equal(stream(w, &s, &other, w->key, &c, &e), UPT_E_ARBITRARY_SOFTWARE);
	assert_non_null(strstr(e.msg, "do not match the hashes the Director signed"));
	free(c.data);
	free(s.data);
	free(other.data);
}

static void member_not_the_signed_length(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	struct sealed longer = {calloc(1, s.len + 1), s.len + 1};
	memcpy(longer.data, s.data, s.len);
	struct collect c = {0};
	upt_err e;
	assert_int_equal(stream(w, &s, &longer, w->key, &c, &e), UPT_E_ARBITRARY_SOFTWARE);
	assert_non_null(strstr(e.msg, "the Director signs"));
	assert_int_equal(c.calls, 0); /* refused before a byte was read */
	free(c.data);
	free(s.data);
	free(longer.data);
}

/* Damage anywhere, signed over so that only the stream can tell: a flipped bit at a random
 * place, or the member cut at a random length; always refused, and the sink never gets more
 * than the image. A fixed seed: a failure repeats. */
static void random_damage(void **state)
{
	struct world *w = *state;
	struct sealed s = seal(w->plain, w->n, w->key);
	uint32_t x = 12345;
	for (int i = 0; i < 60; i++) {
		x = x * 1103515245u + 12345u;
		struct sealed d = {malloc(s.len), s.len};
		memcpy(d.data, s.data, s.len);
		size_t at = (size_t)(x >> 8) % s.len;
		if (i % 2)
			d.data[at] ^= (uint8_t)(1u << (x % 8));
		else
			d.len = at;
		struct collect c = {0};
		upt_err e;
		int rc = stream(w, &d, NULL, w->key, &c, &e);
		if (rc != UPT_E_ARBITRARY_SOFTWARE)
			fprintf(stderr, "case %d (%s at %zu): %d %s\n", i, i % 2 ? "flip" : "cut",
				at, rc, e.msg);
		assert_int_equal(rc, UPT_E_ARBITRARY_SOFTWARE);
		assert_true(c.total <= w->n);
		free(c.data);
		free(d.data);
	}
	free(s.data);
}

/* The writer's sealed image read back: the same single pass as an unencrypted image. */
static void writer_round_trip(void **state)
{
	struct world *w = *state;
	char *src = path_in(w->dir, "fw.bin"), *out = path_in(w->dir, "w.uptane");
	assert_int_equal(write_file(src, w->plain, w->n), 0);
	upt_bundle_writer *bw = NULL;
	upt_bundle_writer_opts o = {0, 0, 0};
	upt_sealed_info info;
	upt_err e;
	assert_int_equal(upt_bundle_writer_new(out, &o, &bw, &e), UPT_OK);
	assert_int_equal(
	    upt_bundle_writer_add_sealed_image(bw, "fw.bin", src, w->n, w->key, &info, &e), UPT_OK);
	/* the metadata that signs info comes after the sealed image, and is written first */
	assert_int_equal(upt_bundle_writer_add_metadata(bw, "metadata/x.json", "{}", 2, &e),
			 UPT_OK);
	assert_int_equal(
	    upt_bundle_writer_finish(bw, VALID_BUNDLE_JSON, strlen(VALID_BUNDLE_JSON), &e), UPT_OK);
	upt_bundle_writer_free(bw);

	upt_bundle_reader *r = NULL;
	upt_bundle_meta *meta = NULL;
	assert_int_equal(upt_bundle_reader_open(out, &r, &e), UPT_OK);
	assert_int_equal(upt_bundle_read_metadata(r, &meta, &e), UPT_OK);
	assert_non_null(upt_bundle_meta_get(meta, "metadata/x.json"));
	const char *name;
	uint64_t clen;
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
	assert_int_equal(clen, info.length);
	upt_image_decrypt d;
	memcpy(d.key, w->key, sizeof(d.key));
	d.length = info.length;
	d.hashes = info.hashes;
	struct collect c = {.data = malloc(w->n), .cap = w->n};
	assert_int_equal(upt_bundle_stream_sealed_image(r, w->n, &w->plain_hashes, &d, collect_sink,
							&c, NULL, &e),
			 UPT_OK);
	assert_memory_equal(c.data, w->plain, w->n);
	free(c.data);
	upt_bundle_meta_free(meta);
	upt_bundle_reader_free(r);

	/* only before begin (its length must be known before the metadata is written), and
	 * metadata still may not follow an unsealed image */
	assert_int_equal(upt_bundle_writer_new(out, &o, &bw, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_add_image(bw, "plain.bin", src, w->n, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_add_metadata(bw, "metadata/x.json", "{}", 2, &e),
			 UPT_E_USAGE);
	assert_int_equal(
	    upt_bundle_writer_begin(bw, VALID_BUNDLE_JSON, strlen(VALID_BUNDLE_JSON), &e),
	    UPT_E_USAGE);
	upt_bundle_writer_free(bw);
	assert_int_equal(upt_bundle_writer_new(out, &o, &bw, &e), UPT_OK);
	assert_int_equal(
	    upt_bundle_writer_begin(bw, VALID_BUNDLE_JSON, strlen(VALID_BUNDLE_JSON), &e), UPT_OK);
	assert_int_equal(
	    upt_bundle_writer_add_sealed_image(bw, "fw.bin", src, w->n, w->key, &info, &e),
	    UPT_E_USAGE);
	upt_bundle_writer_free(bw);
	free(src);
	free(out);
}

static void sealed_length_bound(void **state)
{
	(void)state;
	assert_int_equal(upt_crypt_sealed_length(0), UPT_CRYPT_HEADER_LEN + 17);
	assert_int_equal(upt_crypt_sealed_length(1), UPT_CRYPT_HEADER_LEN + 1 + 17);
	assert_int_equal(upt_crypt_sealed_length(UPT_CRYPT_CHUNK),
			 UPT_CRYPT_HEADER_LEN + UPT_CRYPT_CHUNK + 17);
	assert_int_equal(upt_crypt_sealed_length(UPT_CRYPT_CHUNK + 1),
			 UPT_CRYPT_HEADER_LEN + UPT_CRYPT_CHUNK + 1 + 34);
	assert_int_equal(upt_crypt_sealed_length(UINT64_MAX), UINT64_MAX);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(opens_what_was_sealed),
	    T(exact_multiple_of_the_chunk),
	    T(flipped_byte),
	    T(final_chunk_dropped),
	    T(cut_inside_the_final_chunk),
	    T(chunks_swapped),
	    T(bytes_after_the_final_chunk),
	    T(header_only),
	    T(another_key),
	    T(sealed_hash_differs),
	    T(member_not_the_signed_length),
	    T(random_damage),
	    T(writer_round_trip),
	    T(sealed_length_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
