/* Unit tests: bundle writer, round trips through the reader, split volumes, and independent
 * consumers (Python tarfile, bsdtar, the zstd CLI) reading what we write; every way of writing:
 * single pass (begin: images straight into the output, or through the temp file, or both) and
 * all at finish (no begin). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>

#include "bundle_test_util.h"
#include "upt/bundle.h"
#include "upt/cjson.h"
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

#define CREATED "2027-01-15T00:00:00Z"
#define CREATED_T 1799971200

struct src {
	char name[64];
	char *path;
	uint8_t *data;
	size_t len;
};

static void make_src(struct src *s, const char *name, size_t len, uint32_t seed)
{
	snprintf(s->name, sizeof(s->name), "%s", name);
	char file[80];
	snprintf(file, sizeof(file), "src-%u", seed);
	s->path = path_in(tmp, file);
	s->len = len;
	s->data = malloc(len ? len : 1);
	fill_pattern(s->data, len, seed);
	assert_int_equal(write_file(s->path, s->data, len), 0);
}

static void free_src(struct src *s)
{
	free(s->path);
	free(s->data);
}

/* How write_bundle writes: all at finish (no begin); single pass with every image straight into
 * the output, every image through the temp file, or every other image each way. */
enum mode { M_FINISH, M_DIRECT, M_VIA_TMP, M_MIXED };
static const char *mode_name[] = {"at finish", "direct", "via temp file", "mixed"};

/* bundle.json for the sources: the draft (compressed_length at its bound) when w is NULL;
 * devices lists `ndev` more device ids, to make it long. */
static char *bundle_json_dev(const upt_bundle_writer *w, const struct src *s, size_t n, size_t ndev)
{
	char *j = NULL, *imgs = strdup(""), *devs = strdup("\"VIN-1\"");
	for (size_t i = 0; i < n; i++) {
		char *next = NULL;
		uint64_t clen = w ? upt_bundle_writer_compressed_length(w, s[i].name)
				  : upt_bundle_compressed_max(s[i].len);
		assert_true(asprintf(&next,
				     "%s%s{\"name\":\"%s\",\"path\":\"images/%s\",\"length\":%zu,"
				     "\"compressed_length\":%llu}",
				     imgs, i ? "," : "", s[i].name, s[i].name, s[i].len,
				     (unsigned long long)clen) > 0);
		free(imgs);
		imgs = next;
	}
	for (size_t i = 0; i < ndev; i++) {
		char *next = NULL;
		assert_true(asprintf(&next, "%s,\"VIN-%zu\"", devs, i + 2) > 0);
		free(devs);
		devs = next;
	}
	assert_true(asprintf(&j,
			     "{\"format\":\"uptane-offline-bundle\",\"version\":1,\"kind\":"
			     "\"device\",\"created\":\"" CREATED "\",\"devices\":[%s],"
			     "\"images\":[%s]}",
			     devs, imgs) > 0);
	free(imgs);
	free(devs);
	return j;
}

static char *bundle_json_for(const upt_bundle_writer *w, const struct src *s, size_t n)
{
	return bundle_json_dev(w, s, n, 0);
}

static const char *meta_names[] = {
    "metadata/director/1.root.json",
    "metadata/director/targets.json",
    "metadata/image-repo/1.root.json",
    "metadata/image-repo/targets.json",
    "metadata/image-repo/delegations/supplier.json",
};
#define NMEMB_META (sizeof(meta_names) / sizeof(meta_names[0]))

/* Writes a bundle of the sources (+ metadata) at out, in the given mode; returns bundle.json
 * (malloc'd). ndev: extra device ids in bundle.json (to make it span volumes). */
static char *write_bundle_ex(const char *out, const upt_bundle_writer_opts *o, struct src *s,
			     size_t n, enum mode mode, size_t ndev)
{
	upt_err e;
	upt_bundle_writer *w = NULL;
	assert_int_equal(upt_bundle_writer_new(out, o, &w, &e), UPT_OK);
	char *draft = bundle_json_dev(NULL, s, n, ndev);
	/* deliberately not in sorted order: the writer keeps the order added; in mixed mode,
	 * the first is queued before begin (written by it), the others written as added */
	for (size_t i = NMEMB_META; i-- > 0;) {
		if (i == NMEMB_META - 2 && mode == M_MIXED)
			assert_int_equal(upt_bundle_writer_begin(w, draft, strlen(draft), &e),
					 UPT_OK);
		if (i == NMEMB_META - 1 && (mode == M_DIRECT || mode == M_VIA_TMP))
			assert_int_equal(upt_bundle_writer_begin(w, draft, strlen(draft), &e),
					 UPT_OK);
		char doc[64];
		snprintf(doc, sizeof(doc), "{\"n\":%zu}", i);
		assert_int_equal(
		    upt_bundle_writer_add_metadata(w, meta_names[i], doc, strlen(doc), &e), UPT_OK);
	}
	free(draft);
	if (mode == M_VIA_TMP)
		upt_bundle_writer_set_direct_max(w, 0);
	for (size_t i = 0; i < n; i++) {
		if (mode == M_MIXED)
			upt_bundle_writer_set_direct_max(w, i % 2 ? 0 : UINT64_MAX);
		int rc = upt_bundle_writer_add_image(w, s[i].name, s[i].path, s[i].len, &e);
		if (rc)
			fprintf(stderr, "%s\n", e.msg);
		assert_int_equal(rc, UPT_OK);
		assert_true(upt_bundle_writer_compressed_length(w, s[i].name) > 0);
	}
	char *bj = bundle_json_dev(w, s, n, ndev);
	int rc = upt_bundle_writer_finish(w, bj, strlen(bj), &e);
	if (rc)
		fprintf(stderr, "%s\n", e.msg);
	assert_int_equal(rc, UPT_OK);
	upt_bundle_writer_free(w);
	return bj;
}

static char *write_bundle(const char *out, const upt_bundle_writer_opts *o, struct src *s, size_t n,
			  enum mode mode)
{
	return write_bundle_ex(out, o, s, n, mode, 0);
}

/* bundle.json as read: the document, then only JSON whitespace (the single pass pads the final
 * document to its draft's length: spaces and a newline), which our strict parser accepts. */
static void check_bundle_json(const upt_buf *got, const char *bj)
{
	size_t len = strlen(bj);
	assert_true(got->len >= len);
	assert_memory_equal(got->data, bj, len);
	for (size_t i = len; i < got->len; i++)
		assert_true(got->data[i] == (i + 1 == got->len ? '\n' : ' '));
	json_t *doc = NULL;
	upt_err e;
	assert_int_equal(upt_json_parse(got->data, got->len, UPT_BUNDLE_JSON_MAX, &doc, &e),
			 UPT_OK);
	assert_string_equal(json_string_value(json_object_get(doc, "created")), CREATED);
	json_decref(doc);
}

/* Reads the bundle back: metadata in order, every image streams to the right bytes, except
 * the one named skip (skipped unread). */
static void read_back(const char *path, const char *bj, struct src *s, size_t n, const char *skip)
{
	upt_err e;
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *m = NULL;
	assert_int_equal(upt_bundle_reader_open(path, &r, &e), UPT_OK);
	assert_int_equal(upt_bundle_read_metadata(r, &m, &e), UPT_OK);
	check_bundle_json(&m->bundle_json, bj);
	assert_int_equal(m->nfiles, NMEMB_META);
	for (size_t i = 0; i < NMEMB_META; i++) {
		assert_string_equal(m->files[i].path, meta_names[NMEMB_META - 1 - i]);
		char doc[64];
		snprintf(doc, sizeof(doc), "{\"n\":%zu}", NMEMB_META - 1 - i);
		assert_int_equal(m->files[i].data.len, strlen(doc));
		assert_memory_equal(m->files[i].data.data, doc, strlen(doc));
	}
	for (size_t i = 0; i < n; i++) {
		const char *name;
		uint64_t clen;
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
		assert_string_equal(name, s[i].name);
		if (skip && !strcmp(skip, name))
			continue;
		upt_hashes h = hashes_of(s[i].data, s[i].len);
		struct collect c = {.data = malloc(s[i].len + 1), .cap = s[i].len};
		int rc = upt_bundle_stream_image(r, s[i].len, &h, collect_sink, &c,
						 collect_progress, &e);
		if (rc)
			fprintf(stderr, "%s: %s\n", name, e.msg);
		assert_int_equal(rc, UPT_OK);
		assert_int_equal(c.total, s[i].len);
		assert_memory_equal(c.data, s[i].data, s[i].len);
		free(c.data);
	}
	const char *name;
	uint64_t clen;
	assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_E_NOT_FOUND);
	upt_bundle_meta_free(m);
	upt_bundle_reader_free(r);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void read_file_buf(const char *path, upt_buf *b)
{
	upt_err e;
	upt_buf_init(b, 1u << 30);
	assert_int_equal(upt_file_read(AT_FDCWD, path, 1u << 30, b, &e), UPT_OK);
}

#define NRT 6

/* Every mode: the reader gets back what went in (reading or skipping each image); the headers
 * are as specified; nothing else is left in the directory; the same input gives the same bytes;
 * and the single pass gives the same bytes whichever way each image took (straight into the
 * output, its header patched, or through the temp file). */
static void round_trip(void **state)
{
	(void)state;
	struct src s[NRT];
	make_src(&s[0], "main-fw-1.0.bin", 3 << 20, 1);
	make_src(&s[1], "empty.bin", 0, 2);
	make_src(&s[2], "one.bin", 1, 3);
	make_src(&s[3], "supplier/extra/sensor-fw+8.bin", 70000, 4);
	make_src(&s[4], "aux_fw-2.3.bin", UPT_IO_CHUNK, 5);
	/* over 100 bytes: a pax extended header before the ustar one, in the patched header too */
	char longname[200];
	memset(longname, 'n', 150);
	memcpy(longname, "supplier/", 9);
	strcpy(longname + 150, ".bin");
	make_src(&s[5], longname, 100000, 6);
	upt_bundle_writer_opts o = {.level = 3};
	upt_buf single[4];
	for (enum mode mode = M_FINISH; mode <= M_MIXED; mode++) {
		printf("# mode: %s\n", mode_name[mode]);
		char *out = path_in(tmp, "rt.uptane");
		char *bj = write_bundle(out, &o, s, NRT, mode);
		read_back(out, bj, s, NRT, NULL);
		read_back(out, bj, s, NRT, "main-fw-1.0.bin");
		read_back(out, bj, s, NRT, "supplier/extra/sensor-fw+8.bin");
		/* the headers: order, mode 0644, mtime = created, regular files, sizes as listed */
		struct archive *a = archive_read_new();
		archive_read_support_format_tar(a);
		assert_int_equal(archive_read_open_filename(a, out, 10240), ARCHIVE_OK);
		struct archive_entry *en;
		size_t i = 0;
		while (archive_read_next_header(a, &en) == ARCHIVE_OK) {
			const char *p = archive_entry_pathname(en);
			if (i == 0) {
				assert_string_equal(p, "bundle.json");
			} else if (i <= NMEMB_META) {
				assert_string_equal(p, meta_names[NMEMB_META - i]);
			} else {
				const struct src *im = &s[i - 1 - NMEMB_META];
				assert_string_equal(p + 7, im->name);
				char needle[64];
				snprintf(needle, sizeof(needle), "\"compressed_length\":%lld}",
					 (long long)archive_entry_size(en));
				char *at = strstr(bj, im->name);
				assert_non_null(at);
				assert_non_null(strstr(at, needle));
			}
			assert_int_equal(archive_entry_filetype(en), AE_IFREG);
			assert_int_equal(archive_entry_perm(en), 0644);
			assert_int_equal(archive_entry_mtime(en), CREATED_T);
			assert_int_equal(archive_entry_uid(en), 0);
			assert_int_equal(archive_entry_gid(en), 0);
			i++;
		}
		assert_int_equal(i, 1 + NMEMB_META + NRT);
		archive_read_free(a);
		/* nothing else left in the directory: the sources + the bundle */
		assert_int_equal(count_entries(tmp), NRT + 1);
		/* deterministic: the same input gives the same bytes */
		char *out2 = path_in(tmp, "rt2.uptane");
		free(write_bundle(out2, &o, s, NRT, mode));
		upt_buf b2;
		read_file_buf(out, &single[mode]);
		read_file_buf(out2, &b2);
		assert_true(upt_buf_equal(&single[mode], &b2));
		upt_buf_clear(&b2);
		assert_int_equal(unlink(out2), 0);
		free(out2);
		free(bj);
		free(out);
	}
	/* the single pass: identical bytes whichever path each image took */
	assert_true(upt_buf_equal(&single[M_DIRECT], &single[M_VIA_TMP]));
	assert_true(upt_buf_equal(&single[M_DIRECT], &single[M_MIXED]));
	/* and differs from the one written at finish (bundle.json: padded to its draft's length) */
	assert_false(upt_buf_equal(&single[M_DIRECT], &single[M_FINISH]));
	for (int m = 0; m < 4; m++)
		upt_buf_clear(&single[m]);
	for (size_t k = 0; k < NRT; k++)
		free_src(&s[k]);
}

/* Level 19 wants a 8 MiB window for big inputs; the writer caps it at 4 MiB (section 3), with
 * and without worker threads. */
static void window_capped(void **state)
{
	(void)state;
	struct src s[1];
	make_src(&s[0], "big.bin", 6u << 20, 7);
	for (unsigned threads = 1; threads <= 2; threads++) {
		char *out = path_in(tmp, threads == 1 ? "w1.uptane" : "w2.uptane");
		upt_bundle_writer_opts o = {.level = 19, .threads = threads};
		char *bj = write_bundle(out, &o, s, 1, M_DIRECT);
		read_back(out, bj, s, 1, NULL);
		/* inspect the frame headers of the image member */
		struct archive *a = archive_read_new();
		archive_read_support_format_tar(a);
		assert_int_equal(archive_read_open_filename(a, out, 10240), ARCHIVE_OK);
		struct archive_entry *en;
		bool seen = false;
		while (archive_read_next_header(a, &en) == ARCHIVE_OK) {
			if (strcmp(archive_entry_pathname(en), "images/big.bin"))
				continue;
			size_t n = (size_t)archive_entry_size(en);
			uint8_t *z = malloc(n);
			assert_int_equal(archive_read_data(a, z, n), (la_ssize_t)n);
			size_t off = 0, frames = 0;
			while (off < n) {
				ZSTD_frameHeader fh;
				assert_int_equal(ZSTD_getFrameHeader(&fh, z + off, n - off), 0);
				assert_true(fh.windowSize <= (1u << UPT_ZSTD_WINDOW_LOG_MAX));
				size_t fl = ZSTD_findFrameCompressedSize(z + off, n - off);
				assert_false(ZSTD_isError(fl));
				off += fl;
				frames++;
			}
			assert_int_equal(ZSTD_getFrameContentSize(z, n), s[0].len);
			assert_true(frames >= 1);
			free(z);
			seen = true;
		}
		assert_true(seen);
		archive_read_free(a);
		free(bj);
		free(out);
	}
	free_src(&s[0]);
}

static void split_volumes_mode(enum mode mode)
{
	printf("# mode: %s\n", mode_name[mode]);
	struct src s[3];
	make_src(&s[0], "a.bin", 700000, 11);
	make_src(&s[1], "b.bin", 300000, 12);
	make_src(&s[2], "c.bin", 5000, 13);
	char *out = path_in(tmp, "sp.uptane");
	const uint64_t split = 100000;
	upt_bundle_writer_opts o = {.level = 1, .split_size = split};
	char *bj = write_bundle(out, &o, s, 3, mode);
	struct stat st;
	assert_int_not_equal(stat(out, &st), 0); /* only volumes */
	size_t nvol = 0;
	uint64_t total = 0;
	for (;; nvol++) {
		char *v = NULL;
		assert_true(asprintf(&v, "%s.%03zu", out, nvol) > 0);
		int r = stat(v, &st);
		free(v);
		if (r)
			break;
		assert_true((uint64_t)st.st_size <= split);
		total += (uint64_t)st.st_size;
	}
	assert_true(nvol >= 4);
	printf("# %zu volumes, %llu bytes\n", nvol, (unsigned long long)total);
	/* all volumes but the last are full */
	assert_true(total > (nvol - 1) * split);
	read_back(out, bj, s, 3, NULL);
	char *first = NULL;
	assert_true(asprintf(&first, "%s.000", out) > 0);
	read_back(first, bj, s, 3, "a.bin");
	/* cat'ed together they are one ordinary tar (what libarchive's multi-volume reading and
	 * `cat X.uptane.* | tar t` see) */
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "cat %s.0* > %s/joined.tar && tar -tf %s/joined.tar >/dev/null",
			     out, tmp, tmp) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	/* rewriting with fewer volumes leaves no stale trailing volume */
	upt_bundle_writer_opts o2 = {.level = 1, .split_size = 400000};
	char *bj2 = write_bundle(out, &o2, s, 1, mode);
	char *stale = NULL;
	assert_true(asprintf(&stale, "%s.%03zu", out, nvol - 1) > 0);
	assert_int_not_equal(stat(stale, &st), 0);
	read_back(out, bj2, s, 1, NULL);
	free(bj2);
	free(stale);
	/* an unsplit bundle replaces a split one (X.uptane would shadow X.uptane.000 anyway) */
	upt_bundle_writer_opts o3 = {.level = 1};
	free(write_bundle(out, &o3, s, 2, mode));
	assert_int_equal(stat(out, &st), 0);
	assert_int_not_equal(stat(first, &st), 0);
	/* and a split one replaces an unsplit one (which would shadow it) */
	char *bj3 = write_bundle(out, &o2, s, 3, mode);
	assert_int_not_equal(stat(out, &st), 0);
	assert_int_equal(stat(first, &st), 0);
	read_back(out, bj3, s, 3, NULL);
	free(bj3);
	free(first);
	free(bj);
	free(out);
	for (size_t k = 0; k < 3; k++)
		free_src(&s[k]);
}

static void split_volumes(void **state)
{
	(void)state;
	split_volumes_mode(M_FINISH);
	split_volumes_mode(M_DIRECT);
	split_volumes_mode(M_MIXED);
}

/* Single pass over volumes: the patches (bundle.json, each image header) land at a logical
 * offset that may straddle two volumes. Volume sizes from 4096 up in 32-byte steps move every
 * boundary across those ranges; each bundle must read back, and the straddling cases must have
 * happened (offsets from libarchive's reader on the volumes concatenated). */
static void split_patches(void **state)
{
	(void)state;
	struct src s[3];
	make_src(&s[0], "a.bin", 3000, 51);
	make_src(&s[1], "b.bin", 9000, 52);
	make_src(&s[2], "c.bin", 200, 53);
	/* incompressible, so the images span volumes too */
	for (size_t k = 0; k < 3; k++) {
		uint64_t x = 88172645463325252ull + k;
		for (size_t i = 0; i < s[k].len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s[k].data[i] = (uint8_t)(x >> 32);
		}
		assert_int_equal(write_file(s[k].path, s[k].data, s[k].len), 0);
	}
	char *out = path_in(tmp, "sp.uptane");
	size_t straddled_json = 0, straddled_hdr = 0;
	for (uint64_t split = 4096; split < 4096 + 1024; split += 32) {
		upt_bundle_writer_opts o = {.level = 1, .split_size = split};
		/* 400 device ids: bundle.json of about 4.5 KiB, across the first boundary */
		char *bj = write_bundle_ex(out, &o, s, 3, split % 64 ? M_MIXED : M_DIRECT, 400);
		read_back(out, bj, s, 3, NULL);
		char *cmd = NULL;
		assert_true(asprintf(&cmd, "cat %s.0* > %s/joined.tar", out, tmp) > 0);
		assert_int_equal(system(cmd), 0);
		free(cmd);
		char *joined = path_in(tmp, "joined.tar");
		struct archive *a = archive_read_new();
		archive_read_support_format_tar(a);
		assert_int_equal(archive_read_open_filename(a, joined, 10240), ARCHIVE_OK);
		struct archive_entry *en;
		while (archive_read_next_header(a, &en) == ARCHIVE_OK) {
			uint64_t h = (uint64_t)archive_read_header_position(a);
			uint64_t sz = (uint64_t)archive_entry_size(en);
			if (!strcmp(archive_entry_pathname(en), "bundle.json")) {
				if ((h + 512) / split != (h + 512 + sz - 1) / split)
					straddled_json++;
			} else if (!strncmp(archive_entry_pathname(en), "images/", 7)) {
				if (h / split != (h + 511) / split)
					straddled_hdr++;
			}
		}
		archive_read_free(a);
		unlink(joined);
		free(joined);
		free(bj);
	}
	printf("# bundle.json across volumes %zu times, an image header %zu times\n",
	       straddled_json, straddled_hdr);
	assert_true(straddled_json > 0);
	assert_true(straddled_hdr > 0);
	free(out);
	for (size_t k = 0; k < 3; k++)
		free_src(&s[k]);
}

/* Nothing appears under the output name before finish; an abandoned writer leaves nothing. */
static void atomic_and_clean(void **state)
{
	(void)state;
	struct src s[1];
	make_src(&s[0], "a.bin", 500000, 21);
	char *out = path_in(tmp, "at.uptane");
	upt_err e;
	struct stat st;
	for (int single = 0; single < 2; single++) {
		for (int split = 0; split < 2; split++) {
			upt_bundle_writer_opts o = {.split_size = split ? 65536 : 0};
			upt_bundle_writer *w = NULL;
			assert_int_equal(upt_bundle_writer_new(out, &o, &w, &e), UPT_OK);
			if (single) {
				char *draft = bundle_json_for(NULL, s, 1);
				assert_int_equal(
				    upt_bundle_writer_begin(w, draft, strlen(draft), &e), UPT_OK);
				free(draft);
			}
			assert_int_equal(
			    upt_bundle_writer_add_metadata(w, "metadata/a.json", "{}", 2, &e),
			    UPT_OK);
			assert_int_equal(
			    upt_bundle_writer_add_image(w, "a.bin", s[0].path, s[0].len, &e),
			    UPT_OK);
			/* at finish: the source only (the temp file is unlinked); single pass: the
			 * volumes under temp names, and nothing under the output's names */
			size_t n = count_entries(tmp);
			assert_true(single ? n > 1 : n == 1);
			assert_int_not_equal(stat(out, &st), 0);
			char *v0 = NULL;
			assert_true(asprintf(&v0, "%s.000", out) > 0);
			assert_int_not_equal(stat(v0, &st), 0);
			free(v0);
			upt_bundle_writer_free(w);
			assert_int_equal(count_entries(tmp), 1);
			assert_int_not_equal(stat(out, &st), 0);
		}
	}
	/* an existing bundle stays intact until the new one is complete */
	upt_bundle_writer_opts o = {0};
	for (enum mode mode = M_FINISH; mode <= M_DIRECT; mode++) {
		char *bj = write_bundle(out, &o, s, 1, mode);
		upt_buf before, after;
		read_file_buf(out, &before);
		upt_bundle_writer *w = NULL;
		assert_int_equal(upt_bundle_writer_new(out, &o, &w, &e), UPT_OK);
		if (mode == M_DIRECT)
			assert_int_equal(upt_bundle_writer_begin(w, bj, strlen(bj), &e), UPT_OK);
		assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", s[0].path, s[0].len, &e),
				 UPT_OK);
		upt_bundle_writer_free(w);
		read_file_buf(out, &after);
		assert_true(upt_buf_equal(&before, &after));
		upt_buf_clear(&before);
		upt_buf_clear(&after);
		assert_int_equal(count_entries(tmp), 2);
		free(bj);
	}
	free(out);
	free_src(&s[0]);
}

static void writer_refuses(void **state)
{
	(void)state;
	struct src s[1];
	make_src(&s[0], "a.bin", 10000, 31);
	char *out = path_in(tmp, "bad.uptane");
	upt_err e;
	upt_err_clear(&e);
	upt_bundle_writer *w = NULL;
	upt_bundle_writer_opts bad_level = {.level = 99};
	assert_int_equal(upt_bundle_writer_new(out, &bad_level, &w, &e), UPT_E_USAGE);
	upt_bundle_writer_opts tiny = {.split_size = 100};
	assert_int_equal(upt_bundle_writer_new(out, &tiny, &w, &e), UPT_E_USAGE);
	char *nodir = path_in(tmp, "no/such/dir.uptane");
	assert_int_equal(upt_bundle_writer_new(nodir, NULL, &w, &e), UPT_E_IO);
	free(nodir);
	assert_null(w);

	assert_int_equal(upt_bundle_writer_new(out, NULL, &w, &e), UPT_OK);
	/* names the reader would refuse are refused here */
	assert_int_equal(upt_bundle_writer_add_metadata(w, "images/x.json", "{}", 2, &e),
			 UPT_E_USAGE);
	assert_int_equal(upt_bundle_writer_add_metadata(w, "metadata/../x", "{}", 2, &e),
			 UPT_E_USAGE);
	assert_int_equal(upt_bundle_writer_add_metadata(w, "metadata/a b", "{}", 2, &e),
			 UPT_E_USAGE);
	assert_int_equal(upt_bundle_writer_add_image(w, "../a.bin", s[0].path, s[0].len, &e),
			 UPT_E_USAGE);
	assert_int_equal(upt_bundle_writer_add_image(w, "a//b", s[0].path, s[0].len, &e),
			 UPT_E_USAGE);
	assert_int_equal(upt_bundle_writer_add_image(w, "", s[0].path, s[0].len, &e), UPT_E_USAGE);
	/* caps */
	char *big = calloc(1, UPT_META_FILE_MAX + 1);
	assert_int_equal(
	    upt_bundle_writer_add_metadata(w, "metadata/big", big, UPT_META_FILE_MAX + 1, &e),
	    UPT_E_TOO_LARGE);
	free(big);
	/* the length must be the file's */
	assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", s[0].path, s[0].len + 1, &e),
			 UPT_E_USAGE);
	assert_string_equal(e.file, s[0].path);
	assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", s[0].path, s[0].len - 1, &e),
			 UPT_E_USAGE);
	assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", tmp, 0, &e), UPT_E_IO);
	char *absent = path_in(tmp, "absent");
	assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", absent, 0, &e), UPT_E_NOT_FOUND);
	free(absent);
	assert_int_equal(upt_bundle_writer_compressed_length(w, "a.bin"), 0);
	/* after the failures the writer still works */
	assert_int_equal(upt_bundle_writer_add_metadata(w, "metadata/a.json", "{}", 2, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_add_metadata(w, "metadata/a.json", "{}", 2, &e),
			 UPT_E_USAGE);
	assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", s[0].path, s[0].len, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", s[0].path, s[0].len, &e),
			 UPT_E_USAGE);
	char *bj = bundle_json_for(w, s, 1);
	assert_int_equal(upt_bundle_writer_finish(w, bj, strlen(bj), &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_finish(w, bj, strlen(bj), &e), UPT_E_USAGE);
	upt_bundle_writer_free(w);
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *m = NULL;
	assert_int_equal(upt_bundle_reader_open(out, &r, &e), UPT_OK);
	assert_int_equal(upt_bundle_read_metadata(r, &m, &e), UPT_OK);
	assert_int_equal(m->nfiles, 1);
	upt_bundle_meta_free(m);
	upt_bundle_reader_free(r);
	free(bj);

	/* more than 1000 volumes: refused, and nothing is left behind */
	char *many = path_in(tmp, "many.uptane");
	struct src big_src;
	make_src(&big_src, "r.bin", 5u << 20, 32);
	/* incompressible, so the bundle needs > 1000 volumes of 4 KiB */
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < big_src.len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		big_src.data[i] = (uint8_t)(x >> 32);
	}
	assert_int_equal(write_file(big_src.path, big_src.data, big_src.len), 0);
	upt_bundle_writer_opts o = {.split_size = 4096, .level = 1};
	assert_int_equal(upt_bundle_writer_new(many, &o, &w, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_add_image(w, "r.bin", big_src.path, big_src.len, &e),
			 UPT_OK);
	size_t before = count_entries(tmp);
	assert_int_equal(upt_bundle_writer_finish(w, "{}", 2, &e), UPT_E_TOO_LARGE);
	upt_bundle_writer_free(w);
	assert_int_equal(count_entries(tmp), before);
	free_src(&big_src);
	free(many);
	free(out);
	free_src(&s[0]);
}

static void fill_random(struct src *s, uint64_t seed)
{
	uint64_t x = 88172645463325252ull ^ seed;
	for (size_t i = 0; i < s->len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		s->data[i] = (uint8_t)(x >> 32);
	}
	assert_int_equal(write_file(s->path, s->data, s->len), 0);
}

/* The single pass refuses what would break its promises, and a failed image leaves nothing of
 * itself: the writer goes on and the bundle holds exactly the other members. */
static void single_pass_refuses(void **state)
{
	(void)state;
	struct src s[2];
	make_src(&s[0], "a.bin", 10000, 61);
	make_src(&s[1], "r.bin", 5u << 20, 62);
	fill_random(&s[1], 62); /* incompressible: needs > 1000 volumes of 4 KiB */
	char *out = path_in(tmp, "sr.uptane");
	upt_err e;
	upt_bundle_writer *w = NULL;
	char *draft = bundle_json_for(NULL, s, 1);

	/* begin: once, before any image; a draft over the reader's 1 MiB cap is refused */
	assert_int_equal(upt_bundle_writer_new(out, NULL, &w, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", s[0].path, s[0].len, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_begin(w, draft, strlen(draft), &e), UPT_E_USAGE);
	/* metadata after an image: refused (the reader wants all metadata first) */
	assert_int_equal(upt_bundle_writer_add_metadata(w, "metadata/a.json", "{}", 2, &e),
			 UPT_E_USAGE);
	upt_bundle_writer_free(w);
	assert_int_equal(upt_bundle_writer_new(out, NULL, &w, &e), UPT_OK);
	char *huge = malloc(UPT_BUNDLE_JSON_MAX + 1);
	memset(huge, ' ', UPT_BUNDLE_JSON_MAX + 1);
	assert_int_equal(upt_bundle_writer_begin(w, huge, UPT_BUNDLE_JSON_MAX + 1, &e),
			 UPT_E_TOO_LARGE);
	free(huge);
	upt_bundle_writer_free(w);
	assert_int_equal(upt_bundle_writer_new(out, NULL, &w, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_begin(w, draft, strlen(draft), &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_begin(w, draft, strlen(draft), &e), UPT_E_USAGE);
	assert_int_equal(upt_bundle_writer_add_metadata(w, "metadata/a.json", "{}", 2, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", s[0].path, s[0].len, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_add_metadata(w, "metadata/b.json", "{}", 2, &e),
			 UPT_E_USAGE);
	/* a final bundle.json longer than its draft: refused, nothing left behind */
	char *longer = NULL;
	assert_true(asprintf(&longer, "%s ", draft) > 0);
	assert_int_equal(upt_bundle_writer_finish(w, longer, strlen(longer), &e), UPT_E_USAGE);
	assert_int_equal(upt_bundle_writer_finish(w, draft, strlen(draft), &e), UPT_E_USAGE);
	upt_bundle_writer_free(w);
	free(longer);
	assert_int_equal(count_entries(tmp), 2);
	/* another "created" than the draft's (the members' mtime): refused */
	assert_int_equal(upt_bundle_writer_new(out, NULL, &w, &e), UPT_OK);
	assert_int_equal(upt_bundle_writer_begin(w, draft, strlen(draft), &e), UPT_OK);
	char *other = strdup(draft);
	memcpy(strstr(other, "2027-01-15"), "2027-01-16", 10);
	assert_int_equal(upt_bundle_writer_finish(w, other, strlen(other), &e), UPT_E_USAGE);
	upt_bundle_writer_free(w);
	free(other);
	assert_int_equal(count_entries(tmp), 2);

	/* an image failing half-way (over 1000 volumes) is cut off, straight or via the temp
	 * file; the writer goes on, and the bundle holds the metadata and the good image only */
	for (int via_tmp = 0; via_tmp < 2; via_tmp++) {
		struct src both[2] = {s[1], s[0]};
		char *d2 = bundle_json_for(NULL, both, 2);
		upt_bundle_writer_opts o = {.split_size = 4096, .level = 1};
		assert_int_equal(upt_bundle_writer_new(out, &o, &w, &e), UPT_OK);
		assert_int_equal(upt_bundle_writer_begin(w, d2, strlen(d2), &e), UPT_OK);
		if (via_tmp)
			upt_bundle_writer_set_direct_max(w, 0);
		assert_int_equal(upt_bundle_writer_add_metadata(w, "metadata/a.json", "{}", 2, &e),
				 UPT_OK);
		assert_int_equal(upt_bundle_writer_add_image(w, "r.bin", s[1].path, s[1].len, &e),
				 UPT_E_TOO_LARGE);
		assert_string_equal(e.file, s[1].path);
		assert_int_equal(upt_bundle_writer_compressed_length(w, "r.bin"), 0);
		assert_int_equal(upt_bundle_writer_add_image(w, "a.bin", s[0].path, s[0].len, &e),
				 UPT_OK);
		char *bj = bundle_json_for(w, s, 1);
		assert_true(strlen(bj) <= strlen(d2));
		assert_int_equal(upt_bundle_writer_finish(w, bj, strlen(bj), &e), UPT_OK);
		upt_bundle_writer_free(w);
		upt_bundle_reader *r = NULL;
		upt_bundle_meta *m = NULL;
		assert_int_equal(upt_bundle_reader_open(out, &r, &e), UPT_OK);
		assert_int_equal(upt_bundle_read_metadata(r, &m, &e), UPT_OK);
		check_bundle_json(&m->bundle_json, bj);
		assert_int_equal(m->nfiles, 1);
		const char *name;
		uint64_t clen;
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_OK);
		assert_string_equal(name, "a.bin");
		upt_hashes h = hashes_of(s[0].data, s[0].len);
		struct collect c = {.data = malloc(s[0].len), .cap = s[0].len};
		assert_int_equal(
		    upt_bundle_stream_image(r, s[0].len, &h, collect_sink, &c, NULL, &e), UPT_OK);
		assert_memory_equal(c.data, s[0].data, s[0].len);
		free(c.data);
		assert_int_equal(upt_bundle_next_image(r, &name, &clen, &e), UPT_E_NOT_FOUND);
		upt_bundle_meta_free(m);
		upt_bundle_reader_free(r);
		/* the sources and the volumes, no temp volume left */
		DIR *dir = opendir(tmp);
		struct dirent *de;
		while ((de = readdir(dir)))
			assert_null(strstr(de->d_name, ".tmp-"));
		closedir(dir);
		free(bj);
		free(d2);
	}
	free(draft);
	free(out);
	for (size_t k = 0; k < 2; k++)
		free_src(&s[k]);
}

/* Independent consumers read what the writer writes, single file and split volumes
 * (concatenated), every mode: Python tarfile and the zstd CLI (window limited to 4 MiB) through
 * check_written.py, Python's json for the (padded) bundle.json, and bsdtar -tv. */
static void independent_consumers(void **state)
{
	(void)state;
	struct src s[3];
	make_src(&s[0], "main-fw-1.0.bin", 5u << 20, 41);
	make_src(&s[1], "supplier/sensor-fw-7.bin", 20000, 42);
	make_src(&s[2], "zero.bin", 0, 43);
	for (enum mode mode = M_FINISH; mode <= M_MIXED; mode++) {
		for (int split = 0; split < 2; split++) {
			printf("# mode: %s%s\n", mode_name[mode], split ? ", split" : "");
			char *out = path_in(tmp, split ? "ic-split.uptane" : "ic.uptane");
			upt_bundle_writer_opts o = {
			    .level = 19, .threads = 2, .split_size = split ? 300000 : 0};
			free(write_bundle(out, &o, s, 3, mode));
			char *cmd = NULL;
			assert_true(
			    asprintf(&cmd,
				     "/usr/bin/python3 tests/data/bundle/check_written.py %s "
				     "%s main-fw-1.0.bin=src-41 supplier/sensor-fw-7.bin=src-42 "
				     "zero.bin=src-43",
				     out, tmp) > 0);
			assert_int_equal(system(cmd), 0);
			free(cmd);
			/* one file to hand to the others: the bundle, or its volumes joined */
			assert_true(asprintf(&cmd, "cat %s%s > %s/joined.tar", out,
					     split ? ".0*" : "", tmp) > 0);
			assert_int_equal(system(cmd), 0);
			free(cmd);
			assert_true(asprintf(&cmd,
					     "/usr/bin/python3 -c 'import json, sys, tarfile\n"
					     "t = tarfile.open(sys.argv[1], \"r:\")\n"
					     "m = t.getmembers()\n"
					     "assert m[0].name == \"bundle.json\"\n"
					     "d = json.loads(t.extractfile(m[0]).read())\n"
					     "c = {i[\"path\"]: i[\"compressed_length\"] for i in "
					     "d[\"images\"]}\n"
					     "assert c == {x.name: x.size for x in m if "
					     "x.name.startswith(\"images/\")}, "
					     "c' %s/joined.tar",
					     tmp) > 0);
			assert_int_equal(system(cmd), 0);
			free(cmd);
			assert_true(asprintf(&cmd,
					     "bsdtar -tvf %s/joined.tar > %s/list.txt && "
					     "[ $(wc -l < %s/list.txt) -eq 9 ] && "
					     "grep -q ' images/zero.bin$' %s/list.txt",
					     tmp, tmp, tmp, tmp) > 0);
			assert_int_equal(system(cmd), 0);
			free(cmd);
			char *j = path_in(tmp, "joined.tar"), *l = path_in(tmp, "list.txt");
			unlink(j);
			unlink(l);
			free(j);
			free(l);
			free(out);
		}
	}
	for (size_t k = 0; k < 3; k++)
		free_src(&s[k]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(window_capped, setup, teardown),
	    cmocka_unit_test_setup_teardown(split_volumes, setup, teardown),
	    cmocka_unit_test_setup_teardown(split_patches, setup, teardown),
	    cmocka_unit_test_setup_teardown(atomic_and_clean, setup, teardown),
	    cmocka_unit_test_setup_teardown(writer_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(single_pass_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(independent_consumers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
