/*
 * The interoperability vectors (bundles from an independent Python implementation) judged by
 * the verification engine: each vector's provisioned roots become the trust, the bundle is read
 * with the bundle reader, upt_verify runs with now = the real clock, and then every assigned
 * image is streamed against the length and hashes verification returned (step 5, so that
 * image-stage verdicts such as endless-data are compared too). Compared with expect.json:
 * exit code, reason class, state_unchanged (trust_after == input, except the roots listed in
 * roots_accepted, whose bytes must hash as listed), and the sha256 each assigned ECU gets.
 * Two-step vectors run step1 then step2 against the state step1 left.
 * Vectors live in $UPT_VECTORS (default /work/shared/vectors); absent -> skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "upt/bundle.h"
#include "upt/fileio.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"
#include "upt/verify.h"

#define VEC_MAX 64

typedef struct device {
	json_t *cfg;
	upt_ecu_ident ecus[UPT_ECUS_MAX];
	upt_device_ident id;
} device;

static char vec_dirs[VEC_MAX][PATH_MAX];
static size_t nvec;

static const char *vectors_root(void)
{
	const char *v = getenv("UPT_VECTORS");
	return v && *v ? v : "/work/shared/vectors";
}

static json_t *load_json(const char *path)
{
	json_error_t err;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		fail_msg("%s: %s", path, err.text);
	return j;
}

static void device_load(const char *dir, device *d)
{
	char path[PATH_MAX + 32];
	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "%s/device.json", dir);
	d->cfg = load_json(path);
	json_t *ecus = json_object_get(d->cfg, "ecus");
	assert_true(json_array_size(ecus) <= UPT_ECUS_MAX);
	for (size_t i = 0; i < json_array_size(ecus); i++) {
		json_t *e = json_array_get(ecus, i);
		d->ecus[i].serial = json_string_value(json_object_get(e, "serial"));
		d->ecus[i].hardware_id = json_string_value(json_object_get(e, "hardware_id"));
		d->ecus[i].release_counter =
		    (uint64_t)json_integer_value(json_object_get(e, "release_counter"));
	}
	d->id.device_id = json_string_value(json_object_get(d->cfg, "device_id"));
	d->id.ecus = d->ecus;
	d->id.necus = json_array_size(ecus);
	json_t *acc = json_object_get(d->cfg, "accept");
	for (size_t i = 0; i < json_array_size(acc); i++) {
		const char *k = json_string_value(json_array_get(acc, i));
		d->id.accept_device |= k && !strcmp(k, "device");
		d->id.accept_fleet |= k && !strcmp(k, "fleet");
	}
}

static void read_into_trust(upt_trust *t, const char *dir, const char *rel, const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	upt_buf b;
	upt_buf_init(&b, UPT_STATE_FILE_MAX);
	upt_err e;
	assert_int_equal(upt_file_read(AT_FDCWD, path, UPT_STATE_FILE_MAX, &b, &e), UPT_OK);
	assert_int_equal(upt_trust_set(t, name, b.data, b.len, NULL), UPT_OK);
	upt_buf_clear(&b);
}

/* The provisioned state: both roots and the floor the configuration gives. */
static void provision(const char *dir, const device *d, upt_trust *t)
{
	json_t *roots = json_object_get(d->cfg, "trusted_roots");
	read_into_trust(t, dir, json_string_value(json_object_get(roots, "director")),
			"director/root.json");
	read_into_trust(t, dir, json_string_value(json_object_get(roots, "image-repo")),
			"image-repo/root.json");
	const char *floor = json_string_value(json_object_get(d->cfg, "time_floor"));
	if (floor)
		assert_int_equal(upt_rfc3339_parse(floor, &t->time_floor, NULL), UPT_OK);
}

static int null_sink(void *ctx, const void *data, size_t len, upt_err *e)
{
	(void)ctx;
	(void)data;
	(void)len;
	(void)e;
	return UPT_OK;
}

/* Step 5: stream every assigned image; the first failure decides. */
static int stream_images(upt_bundle_reader *rd, const upt_verify_result *r, upt_err *e)
{
	for (;;) {
		const char *name = NULL;
		uint64_t clen = 0;
		int rc = upt_bundle_next_image(rd, &name, &clen, e);
		if (rc == UPT_E_NOT_FOUND)
			return UPT_OK;
		if (rc != UPT_OK)
			return rc;
		for (size_t i = 0; i < r->nassignments; i++) {
			const upt_assignment *a = &r->assignments[i];
			if (strcmp(a->target_name, name) != 0)
				continue;
			rc = upt_bundle_stream_image(rd, a->length, &a->hashes, null_sink, NULL,
						     NULL, e);
			if (rc != UPT_OK)
				return rc;
			break;
		}
	}
}

static void check_roots_accepted(json_t *accepted, const upt_trust *after)
{
	const char *member;
	json_t *sha;
	const char *last[2] = {NULL, NULL};
	long lastv[2] = {0, 0};
	json_object_foreach(accepted, member, sha)
	{
		int repo = strstr(member, "/director/") ? 0 : 1;
		const char *base = strrchr(member, '/') + 1;
		long v = strtol(base, NULL, 10);
		if (v > lastv[repo]) {
			lastv[repo] = v;
			last[repo] = json_string_value(sha);
		}
	}
	static const char *const names[2] = {"director/root.json", "image-repo/root.json"};
	for (int repo = 0; repo < 2; repo++) {
		if (!last[repo])
			continue;
		const upt_buf *b = upt_trust_get(after, names[repo]);
		assert_non_null(b);
		uint8_t h[32];
		char hex[65];
		assert_int_equal(upt_sha256(b->data, b->len, h, NULL), UPT_OK);
		upt_hex_encode(h, 32, hex);
		assert_string_equal(hex, last[repo]);
	}
}

/* Runs one step; *trust is the state before (updated to the state after on success). */
static void run_step(const char *dir, const char *stepdir, device *d, upt_trust *trust)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/expect.json", stepdir);
	json_t *ex = load_json(path);
	snprintf(path, sizeof(path), "%s/bundle.uptane", stepdir);

	upt_err e;
	upt_err_clear(&e);
	upt_bundle_reader *rd = NULL;
	upt_bundle_meta *bm = NULL;
	upt_verify_result r;
	memset(&r, 0, sizeof(r));
	upt_trust_init(&r.trust_after);
	bool verified = false; /* upt_verify ran */
	int vrc = UPT_OK;
	int rc = upt_bundle_reader_open(path, &rd, &e);
	if (rc == UPT_OK)
		rc = upt_bundle_read_metadata(rd, &bm, &e);
	if (rc == UPT_OK) {
		upt_verify_input in = {trust, bm, &d->id, (int64_t)time(NULL)};
		rc = vrc = upt_verify(&in, &r);
		verified = true;
		e = r.err;
		if (rc == UPT_OK)
			rc = stream_images(rd, &r, &e);
	}
	int want_exit = (int)json_integer_value(json_object_get(ex, "exit"));
	const char *want_reason = json_string_value(json_object_get(ex, "reason"));
	fprintf(stderr, "%s: %s (%s) [%s] %s\n", stepdir, upt_err_class(rc),
		json_string_value(json_object_get(ex, "description")), e.file, rc ? e.msg : "");
	assert_int_equal(upt_err_exit_status(rc), want_exit);
	if (want_reason)
		assert_string_equal(upt_err_class(rc), want_reason);

	if (verified) {
		json_t *accepted = json_object_get(ex, "roots_accepted");
		check_roots_accepted(accepted, &r.trust_after);
		/* after a rejection by verification, trust_after is what the installer persists;
		 * after an image-stage failure it persists nothing (the input state stays) */
		if (vrc != UPT_OK && json_is_true(json_object_get(ex, "state_unchanged")) &&
		    json_object_size(accepted) == 0)
			assert_true(upt_trust_equal(&r.trust_after, trust));
		if (rc == UPT_OK) {
			json_t *inst = json_object_get(ex, "installed");
			for (size_t i = 0; i < r.nassignments; i++) {
				const upt_assignment *a = &r.assignments[i];
				char hex[65];
				upt_hex_encode(a->hashes.sha256, 32, hex);
				const char *w =
				    json_string_value(json_object_get(inst, a->ecu_serial));
				assert_non_null(w);
				assert_string_equal(hex, w);
				for (size_t j = 0; j < d->id.necus; j++)
					if (!strcmp(d->ecus[j].serial, a->ecu_serial))
						d->ecus[j].release_counter = a->release_counter;
			}
			upt_trust_clear(trust);
			*trust = r.trust_after;
			upt_trust_init(&r.trust_after);
		}
	}
	upt_verify_result_clear(&r);
	upt_bundle_meta_free(bm);
	upt_bundle_reader_free(rd);
	json_decref(ex);
	(void)dir;
}

static void vector(void **state)
{
	const char *dir = *state;
	device d;
	upt_trust trust;
	upt_trust_init(&trust);
	device_load(dir, &d);
	provision(dir, &d, &trust);
	char step[PATH_MAX + 16];
	snprintf(step, sizeof(step), "%s/step1", dir);
	struct stat st;
	if (stat(step, &st) == 0) {
		for (int i = 1; i <= 9; i++) {
			snprintf(step, sizeof(step), "%s/step%d", dir, i);
			if (stat(step, &st) != 0)
				break;
			run_step(dir, step, &d, &trust);
		}
	} else {
		run_step(dir, dir, &d, &trust);
	}
	upt_trust_clear(&trust);
	json_decref(d.cfg);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int main(void)
{
	struct CMUnitTest tests[VEC_MAX];
	const char *root = vectors_root();
	DIR *dh = opendir(root);
	if (!dh) {
		printf("ok - SKIP no vectors at %s\n", root);
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(dh)) && nvec < VEC_MAX) {
		char p[PATH_MAX];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s/device.json", root, de->d_name);
		if (de->d_name[0] == '.' || stat(p, &st) != 0)
			continue;
		snprintf(vec_dirs[nvec++], sizeof(vec_dirs[0]), "%s/%s", root, de->d_name);
	}
	closedir(dh);
	qsort(vec_dirs, nvec, sizeof(vec_dirs[0]), cmp);
	for (size_t i = 0; i < nvec; i++) {
		tests[i] = (struct CMUnitTest){strrchr(vec_dirs[i], '/') + 1, vector, NULL, NULL,
					       vec_dirs[i]};
	}
	return _cmocka_run_group_tests("verify_vectors", tests, nvec, NULL, NULL);
}
