/*
 * Helpers for the bundle tests (a header, not a .c: tests/unit helper .c files are linked into
 * every unit binary). Builds tar archives member by member with libarchive's writer, so hostile
 * archives (links, devices, bad names, wrong order) are exact; compresses with libzstd.
 */
#ifndef UPT_BUNDLE_TEST_UTIL_H
#define UPT_BUNDLE_TEST_UTIL_H

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader, in tests only */
#include <zstd.h>

#include "upt/bundle.h"
#include "upt/hash.h"

#define VALID_BUNDLE_JSON                                                                          \
	"{\"format\":\"uptane-offline-bundle\",\"version\":1,\"kind\":\"device\",\"created\":"     \
	"\"2027-01-15T00:00:00Z\",\"devices\":[\"VIN-1\"],\"images\":[]}"

enum tm_type { TM_FILE, TM_DIR, TM_SYMLINK, TM_HARDLINK, TM_CHR, TM_BLK, TM_FIFO, TM_SPARSE };

struct tmember {
	const char *name;
	enum tm_type type;
	const void *data;
	size_t len;
	const char *link; /* symlink / hardlink target */
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *make_tmpdir(void)
{
	char *t = strdup("/tmp/upt-bundle-test.XXXXXX");
	if (!t || !mkdtemp(t)) {
		fprintf(stderr, "mkdtemp failed\n");
		abort();
	}
	return t;
}

static inline char *path_in(const char *dir, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

/* Writes a pax tar of the members (gzip: wrap it in a gzip filter, for "non-tar" tests). */
static inline int write_tar_ex(const char *path, const struct tmember *m, size_t n, bool gzip)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *en = archive_entry_new();
		archive_entry_set_pathname(en, m[i].name);
		archive_entry_set_perm(en, 0644);
		archive_entry_set_mtime(en, 1800000000, 0);
		switch (m[i].type) {
		case TM_FILE:
			archive_entry_set_filetype(en, AE_IFREG);
			archive_entry_set_size(en, (la_int64_t)m[i].len);
			break;
		case TM_SPARSE: /* 1 MiB with a hole: data only at both ends (GNU.sparse 1.0) */
			archive_entry_set_filetype(en, AE_IFREG);
			archive_entry_set_size(en, 1 << 20);
			archive_entry_sparse_add_entry(en, 0, 1);
			archive_entry_sparse_add_entry(en, (1 << 20) - 1, 1);
			break;
		case TM_DIR:
			archive_entry_set_filetype(en, AE_IFDIR);
			archive_entry_set_perm(en, 0755);
			break;
		case TM_SYMLINK:
			archive_entry_set_filetype(en, AE_IFLNK);
			archive_entry_set_symlink(en, m[i].link);
			break;
		case TM_HARDLINK:
			archive_entry_set_filetype(en, AE_IFREG);
			archive_entry_set_hardlink(en, m[i].link);
			break;
		case TM_CHR:
			archive_entry_set_filetype(en, AE_IFCHR);
			archive_entry_set_rdev(en, makedev(1, 3));
			break;
		case TM_BLK:
			archive_entry_set_filetype(en, AE_IFBLK);
			archive_entry_set_rdev(en, makedev(8, 0));
			break;
		case TM_FIFO:
			archive_entry_set_filetype(en, AE_IFIFO);
			break;
		}
		if (archive_write_header(a, en) != ARCHIVE_OK) {
			fprintf(stderr, "archive_write_header(%s): %s\n", m[i].name,
				archive_error_string(a));
			archive_entry_free(en);
			archive_write_free(a);
			return -1;
		}
		if (m[i].type == TM_SPARSE && archive_write_data(a, "xy", 2) != 2) {
			archive_entry_free(en);
			archive_write_free(a);
			return -1;
		}
		if (m[i].type == TM_FILE && m[i].len &&
		    archive_write_data(a, m[i].data, m[i].len) != (la_ssize_t)m[i].len) {
			archive_entry_free(en);
			archive_write_free(a);
			return -1;
		}
		archive_entry_free(en);
	}
	int rc = archive_write_close(a) == ARCHIVE_OK ? 0 : -1;
	archive_write_free(a);
	return rc;
}

static inline int write_tar(const char *path, const struct tmember *m, size_t n)
{
	return write_tar_ex(path, m, n, false);
}

static inline int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* zstd-compresses (one frame, content size known); *out is malloc'd. */
static inline size_t zc(const void *src, size_t n, int level, void **out)
{
	size_t cap = ZSTD_compressBound(n);
	void *buf = malloc(cap ? cap : 1);
	size_t r = ZSTD_compress(buf, cap, src, n, level);
	if (ZSTD_isError(r))
		abort();
	*out = buf;
	return r;
}

/* Deterministic, moderately compressible bytes. */
static inline void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)((x >> 16) % 23 + 'a');
	}
}

/* Sink that collects (bounded) and counts. */
struct collect {
	uint8_t *data;
	size_t len;
	size_t cap;
	uint64_t total;
	uint64_t last_progress;
	int fail_with; /* != 0: the sink fails with this code */
	unsigned calls;
};

static inline int collect_sink(void *ctx, const void *p, size_t n, upt_err *e)
{
	struct collect *c = ctx;
	c->calls++;
	if (c->fail_with)
		return upt_err_set(e, c->fail_with, "sink refuses");
	if (c->len + n <= c->cap) {
		memcpy(c->data + c->len, p, n);
		c->len += n;
	}
	c->total += n;
	return UPT_OK;
}

static inline void collect_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct collect *c = ctx;
	if (done < c->last_progress || done > total)
		abort();
	c->last_progress = done;
}

static inline upt_hashes hashes_of(const void *p, size_t n)
{
	upt_hashes h;
	if (upt_hash_all(p, n, &h, NULL))
		abort();
	return h;
}

#endif
