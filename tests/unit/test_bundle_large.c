/*
 * A 5 GiB image (sparse source: zeros with marks at both ends and around the 4 GiB line)
 * written into a bundle and streamed back: 64-bit lengths end to end (writer length check,
 * zstd content size, bundle.json, signed length, byte counters, progress), constant memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/resource.h>
#include <time.h>

#include "bundle_test_util.h"
#include "upt/bundle.h"
#include "upt/hash.h"

#define BIG (5ull << 30)

static const uint64_t marks[] = {0, (4ull << 30) - 1, 4ull << 30, BIG - 3};

struct hash_sink {
	upt_hasher *h;
	uint64_t n;
	uint64_t last_progress;
	unsigned progress_calls;
};

static int hash_sink(void *ctx, const void *p, size_t n, upt_err *e)
{
	struct hash_sink *s = ctx;
	s->n += n;
	return upt_hasher_update(s->h, p, n, e);
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	struct hash_sink *s = ctx;
	assert_true(done >= s->last_progress);
	assert_int_equal(total, BIG);
	s->last_progress = done;
	s->progress_calls++;
}

static void stamp(const char *what)
{
	static struct timespec t0;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (t0.tv_sec)
		printf("# %s: %.1f s\n", what,
		       (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9);
	t0 = t;
}

static void five_gib_image(void **state)
{
	(void)state;
	stamp("start");
	char *tmp = make_tmpdir();
	char *src = path_in(tmp, "zeros.img");
	int fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)BIG), 0);
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		size_t len = i == 1 ? 1 : 3; /* the byte just below 4 GiB, then one at 4 GiB */
		assert_int_equal(pwrite(fd, "UPT", len, (off_t)marks[i]), (ssize_t)len);
	}
	close(fd);
	/* the expected hash, computed independently of the bundle code and of the file */
	upt_hasher *h = NULL;
	assert_int_equal(upt_hasher_new(true, false, &h, NULL), UPT_OK);
	const size_t step = 1 << 20;
	uint8_t *buf = calloc(1, step);
	for (uint64_t off = 0; off < BIG; off += step) {
		memset(buf, 0, step);
		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
			size_t len = i == 1 ? 1 : 3;
			for (size_t k = 0; k < len; k++)
				if (marks[i] + k >= off && marks[i] + k < off + step)
					buf[marks[i] + k - off] = (uint8_t) "UPT"[k];
		}
		assert_int_equal(upt_hasher_update(h, buf, step, NULL), UPT_OK);
	}
	free(buf);
	upt_hashes want;
	assert_int_equal(upt_hasher_final(h, &want, NULL), UPT_OK);
	upt_hasher_free(h);
	stamp("expected hash");

	char *out = path_in(tmp, "big.uptane");
	upt_err e;
	upt_bundle_writer *w = NULL;
	upt_bundle_writer_opts o = {.level = 1, .threads = 2};
	assert_int_equal(upt_bundle_writer_new(out, &o, &w, &e), UPT_OK);
	/* single pass: the bound of a 5 GiB image (just over 5 GiB) is below the 8 GiB ustar
	 * limit, so the image goes straight into the output under a patched header */
#define FMT                                                                                        \
	"{\"format\":\"uptane-offline-bundle\",\"version\":1,\"images\":"                          \
	"[{\"name\":\"zeros.img\",\"length\":%llu,\"compressed_length\":%llu}]}"
	uint64_t bound = upt_bundle_compressed_max(BIG);
	assert_true(bound > BIG && bound < (1ull << 33));
	char *draft = NULL;
	assert_true(asprintf(&draft, FMT, (unsigned long long)BIG, (unsigned long long)bound) > 0);
	assert_int_equal(upt_bundle_writer_begin(w, draft, strlen(draft), &e), UPT_OK);
	free(draft);
	assert_int_equal(upt_bundle_writer_add_image(w, "zeros.img", src, BIG, &e), UPT_OK);
	uint64_t clen = upt_bundle_writer_compressed_length(w, "zeros.img");
	char *bj = NULL;
	assert_true(asprintf(&bj, FMT, (unsigned long long)BIG, (unsigned long long)clen) > 0);
	assert_int_equal(upt_bundle_writer_finish(w, bj, strlen(bj), &e), UPT_OK);
	upt_bundle_writer_free(w);
	printf("# 5 GiB image -> %llu compressed bytes\n", (unsigned long long)clen);
	stamp("written");

	upt_bundle_reader *r = NULL;
	upt_bundle_meta *m = NULL;
	assert_int_equal(upt_bundle_reader_open(out, &r, &e), UPT_OK);
	assert_int_equal(upt_bundle_read_metadata(r, &m, &e), UPT_OK);
	const char *name;
	uint64_t got_clen;
	assert_int_equal(upt_bundle_next_image(r, &name, &got_clen, &e), UPT_OK);
	assert_int_equal(got_clen, clen);
	struct hash_sink s = {0};
	assert_int_equal(upt_hasher_new(true, false, &s.h, NULL), UPT_OK);
	upt_hashes only256 = want;
	only256.has_sha512 = false;
	int rc = upt_bundle_stream_image(r, BIG, &only256, hash_sink, &s, progress, &e);
	if (rc)
		fprintf(stderr, "%s\n", e.msg);
	assert_int_equal(rc, UPT_OK);
	assert_int_equal(s.n, BIG);
	assert_int_equal(s.last_progress, BIG);
	upt_hashes got;
	assert_int_equal(upt_hasher_final(s.h, &got, NULL), UPT_OK);
	upt_hasher_free(s.h);
	assert_memory_equal(got.sha256, want.sha256, UPT_SHA256_LEN);
	upt_bundle_meta_free(m);
	upt_bundle_reader_free(r);
	stamp("streamed");

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("# max RSS %ld KiB\n", ru.ru_maxrss);
	free(bj);
	free(out);
	free(src);
	rm_rf(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(five_gib_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
