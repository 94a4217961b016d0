/*
 * The interoperability vectors (bundles made by an independent Python implementation) read by
 * our bundle reader: every metadata member read, every image streamed and checked against the
 * length and hashes the Image repository's targets (top-level and delegated) sign, parsed here
 * with jansson directly (no dependency on meta.c), and against the Director's where it lists
 * the image. Outcomes per vector:
 *   valid and other non-container scenarios: every image streams OK against both;
 *   image-endless-data: the main image is UPT_E_ENDLESS_DATA, the sink got exactly its length;
 *   match-hash-differs: the bundle carries the Director's bytes: OK against the Director's
 *     hashes, UPT_E_ARBITRARY_SOFTWARE against the Image repository's;
 *   tar-dotdot: UPT_E_UNSAFE_ARCHIVE naming the member.
 * Vectors live in $UPT_VECTORS (default /work/shared/vectors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "upt/bundle.h"
#include "upt/hash.h"
#include "upt/hex.h"

struct target {
	char *name;
	uint64_t length;
	upt_hashes h;
};

struct targets {
	struct target *t;
	size_t n;
};

static void targets_free(struct targets *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		free(ts->t[i].name);
	free(ts->t);
	ts->t = NULL;
	ts->n = 0;
}

static const struct target *targets_find(const struct targets *ts, const char *name)
{
	for (size_t i = 0; i < ts->n; i++)
		if (!strcmp(ts->t[i].name, name))
			return &ts->t[i];
	return NULL;
}

/* Adds signed.targets of one TUF targets-like file (targets, delegation, Director targets,
 * offline-updates). */
static void add_targets(struct targets *ts, const upt_buf *file)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)file->data, file->len, JSON_REJECT_DUPLICATES, &je);
	assert_non_null(doc);
	json_t *tmap = json_object_get(json_object_get(doc, "signed"), "targets");
	assert_true(json_is_object(tmap));
	const char *name;
	json_t *v;
	json_object_foreach(tmap, name, v)
	{
		struct target t = {0};
		t.name = strdup(name);
		json_t *len = json_object_get(v, "length");
		assert_true(json_is_integer(len));
		t.length = (uint64_t)json_integer_value(len);
		json_t *hs = json_object_get(v, "hashes");
		const char *s256 = json_string_value(json_object_get(hs, "sha256"));
		const char *s512 = json_string_value(json_object_get(hs, "sha512"));
		assert_non_null(s256);
		assert_int_equal(upt_hex_decode(s256, t.h.sha256, UPT_SHA256_LEN, NULL), UPT_OK);
		t.h.has_sha256 = true;
		if (s512) {
			assert_int_equal(upt_hex_decode(s512, t.h.sha512, UPT_SHA512_LEN, NULL),
					 UPT_OK);
			t.h.has_sha512 = true;
		}
		ts->t = realloc(ts->t, (ts->n + 1) * sizeof(*ts->t));
		ts->t[ts->n++] = t;
	}
	json_decref(doc);
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int count_sink(void *ctx, const void *p, size_t n, upt_err *e)
{
	(void)p;
	(void)e;
	*(uint64_t *)ctx += n;
	return UPT_OK;
}

static char *read_reason(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/expect.json", dir);
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	assert_non_null(doc);
	const char *r = json_string_value(json_object_get(doc, "reason"));
	char *out = strdup(r ? r : "");
	json_decref(doc);
	return out;
}

static unsigned images_streamed;
static unsigned bundles_read;

static void check_vector(const char *dir, const char *scenario)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/bundle.uptane", dir);
	char *reason = read_reason(dir);
	upt_err e;
	upt_err_clear(&e);
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *m = NULL;
	assert_int_equal(upt_bundle_reader_open(path, &r, &e), UPT_OK);
	int rc = upt_bundle_read_metadata(r, &m, &e);
	if (!strcmp(reason, "unsafe-archive")) {
		/* tar-dotdot: refused while reading the headers, before any image is read */
		if (rc == UPT_OK) {
			const char *name;
			uint64_t clen;
			while ((rc = upt_bundle_next_image(r, &name, &clen, &e)) == UPT_OK)
				;
		}
		printf("# %s: %s (%s) %s\n", scenario, upt_err_class(rc), e.file, e.msg);
		assert_int_equal(rc, UPT_E_UNSAFE_ARCHIVE);
		assert_string_equal(e.file, "images/../../outside.bin");
		goto out;
	}
	if (rc)
		printf("# %s: %s: %s: %s\n", scenario, upt_err_class(rc), e.file, e.msg);
	assert_int_equal(rc, UPT_OK);
	bundles_read++;

	struct targets image = {0}, director = {0};
	for (size_t i = 0; i < m->nfiles; i++) {
		const char *p = m->files[i].path;
		if (!strcmp(p, "metadata/image-repo/targets.json") ||
		    has_prefix(p, "metadata/image-repo/delegations/"))
			add_targets(&image, &m->files[i].data);
		else if (!strcmp(p, "metadata/director/targets.json") ||
			 (has_prefix(p, "metadata/director/devices/") &&
			  strstr(p, "/targets.json")) ||
			 has_prefix(p, "metadata/director/offline-updates/"))
			add_targets(&director, &m->files[i].data);
	}
	assert_true(image.n > 0);
	assert_true(director.n > 0);

	const char *name;
	uint64_t clen;
	unsigned n = 0;
	while ((rc = upt_bundle_next_image(r, &name, &clen, &e)) == UPT_OK) {
		const struct target *it = targets_find(&image, name);
		const struct target *dt = targets_find(&director, name);
		assert_non_null(it);
		int want = UPT_OK;
		const struct target *use = it;
		if (!strcmp(reason, "endless-data"))
			want = UPT_E_ENDLESS_DATA;
		if (!strcmp(reason, "target-mismatch")) {
			/* stream against the Director's entry: the bytes are the Director's; the
			 * Image repository's hashes are checked on the same bytes below */
			assert_non_null(dt);
			use = dt;
		}
		uint64_t got = 0;
		rc = upt_bundle_stream_image(r, use->length, &use->h, count_sink, &got, NULL, &e);
		printf("# %s: %s: %s%s%s\n", scenario, name, upt_err_class(rc), rc ? ": " : "",
		       rc ? e.msg : "");
		assert_int_equal(rc, want);
		if (want == UPT_E_ENDLESS_DATA) {
			assert_int_equal(got, use->length);
			assert_string_equal(e.file, "images/main-fw-1.0.bin");
		} else {
			assert_int_equal(got, use->length);
		}
		if (dt && use != dt) {
			assert_int_equal(dt->length, it->length);
			assert_true(upt_hashes_identical(&dt->h, &it->h));
		}
		n++;
		images_streamed++;
	}
	assert_int_equal(rc, UPT_E_NOT_FOUND);
	assert_true(n > 0);

	if (!strcmp(reason, "target-mismatch")) {
		/* the same bytes against the Image repository's hashes: arbitrary software */
		upt_bundle_reader_free(r);
		upt_bundle_meta_free(m);
		r = NULL;
		m = NULL;
		assert_int_equal(upt_bundle_reader_open(path, &r, &e), UPT_OK);
		assert_int_equal(upt_bundle_read_metadata(r, &m, &e), UPT_OK);
		unsigned bad = 0;
		while (upt_bundle_next_image(r, &name, &clen, &e) == UPT_OK) {
			const struct target *it = targets_find(&image, name);
			uint64_t got = 0;
			rc = upt_bundle_stream_image(r, it->length, &it->h, count_sink, &got, NULL,
						     &e);
			if (rc == UPT_E_ARBITRARY_SOFTWARE)
				bad++;
			else
				assert_int_equal(rc, UPT_OK);
		}
		assert_true(bad > 0);
	}
	targets_free(&image);
	targets_free(&director);
out:
	upt_bundle_meta_free(m);
	upt_bundle_reader_free(r);
	free(reason);
}

static void all_vectors(void **state)
{
	(void)state;
	const char *root = getenv("UPT_VECTORS");
	if (!root)
		root = "/work/shared/vectors";
	DIR *d = opendir(root);
	if (!d) {
		printf("# no vectors at %s: skipped\n", root);
		skip();
	}
	unsigned seen = 0;
	struct dirent *de;
	char dir[2048], sub[2100], path[2200];
	struct stat st;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", root, de->d_name);
		snprintf(path, sizeof(path), "%s/bundle.uptane", dir);
		if (stat(path, &st) == 0) {
			check_vector(dir, de->d_name);
			seen++;
		}
		for (int step = 1; step <= 9; step++) {
			snprintf(sub, sizeof(sub), "%s/step%d", dir, step);
			snprintf(path, sizeof(path), "%s/bundle.uptane", sub);
			if (stat(path, &st) != 0)
				continue;
			char label[512];
			snprintf(label, sizeof(label), "%s/step%d", de->d_name, step);
			check_vector(sub, label);
			seen++;
		}
	}
	closedir(d);
	printf("# %u vector bundles, %u read, %u images streamed\n", seen, bundles_read,
	       images_streamed);
	assert_true(seen >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(all_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
