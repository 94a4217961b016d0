/*
 * bundle_writer: writes a bundle (docs/bundle-format.md): an uncompressed pax tar of
 * bundle.json, the metadata in the order added, then the images in the order added, each
 * compressed on its own with libzstd.
 *
 * Responsible for: producing exactly what bundle_reader.c accepts (names, order, caps, zstd
 * window <= 4 MiB), in constant memory, atomically (temp names, fsync, rename). Not responsible
 * for: the content of bundle.json or the metadata (the bundler builds and signs them).
 *
 * tar needs every member's size in its header, and bundle.json (the first member) lists the
 * compressed sizes, which are known only after compressing. Two ways around that:
 * - Single pass (upt_bundle_writer_begin): bundle.json's space is reserved for a draft whose
 *   compressed_length are upper bounds; each image header is written for its bound (a
 *   placeholder), the compressed bytes go straight into the output as zstd produces them, then
 *   the header is encoded again for the real size and written over the placeholder (same
 *   length: ustar headers, see DIRECT_MAX); finish writes the real bundle.json over the draft,
 *   padded with JSON whitespace. The output is written once, and its writeback starts while
 *   compressing (sync_file_range), so the final fsync has little left to do.
 * - Temp file (no begin, or an image whose bound reaches the ustar size limit): the image is
 *   compressed into an unlinked temp file in the output directory (O_TMPFILE, else mkstemp +
 *   unlink) and copied into the output once its size is known (copy_file_range, else 1 MiB
 *   blocks): at finish without begin, right after compressing with it.
 * Which of the two an image takes is enum image_route. libarchive encodes every header (pax
 * restricted, into memory); the data, padding and the end-of-archive blocks are written here,
 * into the output volumes (bundle_volumes_out.c: path, or path.000, .001, ... rolled over so
 * that no volume exceeds split_size, patched at logical offsets).
 */
#include "upt/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getCParams: the level's own window */
#include <zstd.h>

#include "bundle_internal.h"
#include "bundle_volumes.h"
#include "upt/cjson.h"
#include "upt/imgcrypt.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"

/* Image reads: a 64 KiB heap buffer, as bsdtar uses. Reading into a 256 KiB buffer (malloc
 * hands out a fresh mmap for that size) made the kernel's page-cache copy 3-4x dearer here
 * (perf: _copy_to_iter 6.5% of create's time against 1.8%) for the same bytes. */
#define WRITER_READ (64u << 10)
#define TAR_BLOCK 512
#define TAR_END_BLOCKS 2 /* end of archive: two zero blocks */
#define HEADER_MAX 8192	 /* pax extended header (path <= 1024 bytes) + ustar header */
/* A member size of 8 GiB or more needs a pax "size=" record (the ustar field holds 11 octal
 * digits): the header for a placeholder at or above it could differ in length from the real
 * one, so such images take the temp-file path. */
#define DIRECT_MAX ((uint64_t)1 << 33)

struct wmeta {
	char *member;
	uint8_t *data; /* NULL once written to the output */
	size_t len;
};

struct wimage {
	char *name;	 /* target name */
	char *member;	 /* "images/<name>" */
	uint64_t length; /* decompressed */
	uint64_t offset; /* in the temp file (written at finish, without begin) */
	uint64_t clen;	 /* compressed */
};

struct upt_bundle_writer {
	char *path;
	int dirfd;
	upt_bundle_writer_opts opts;
	uint64_t direct_max; /* images whose bound is below go straight into the output */

	struct wmeta *meta;
	size_t nmeta, meta_cap;
	uint64_t meta_total;
	struct wimage *imgs;
	size_t nimgs, imgs_cap;

	int tmpfd;	   /* compressed images, unlinked; -1 until needed */
	uint64_t tmp_size; /* bytes in it */
	ZSTD_CCtx *cctx;
	uint8_t *inbuf;	 /* WRITER_READ */
	uint8_t *outbuf; /* UPT_IO_CHUNK */
	uint8_t hdr[HEADER_MAX], hdr2[HEADER_MAX];
	upt_seal *seal;	  /* the image being added is sealed (encrypted) through this; else NULL */
	bool plain_image; /* an unsealed image was added */

	bool started;		    /* the output is being written */
	struct upt_out_volumes out; /* the output: volumes and the logical offset */
	int64_t mtime;		    /* of every member */
	uint64_t bj_off;	    /* bundle.json's data */
	size_t bj_len;		    /* reserved */
	bool finished;
	bool failed;
};

/* ---- helpers ---- */

static int oom(upt_err *e)
{
	return upt_err_set(e, UPT_E_NOMEM, "out of memory");
}

/* Records the file that failed (overwriting any older record). */
static void set_file(upt_err *e, const char *file)
{
	if (e)
		snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
}

static bool member_known(const upt_bundle_writer *w, const char *member)
{
	for (size_t i = 0; i < w->nmeta; i++)
		if (!strcmp(w->meta[i].member, member))
			return true;
	for (size_t i = 0; i < w->nimgs; i++)
		if (!strcmp(w->imgs[i].member, member))
			return true;
	return false;
}

void upt_bundle_writer_free(upt_bundle_writer *w)
{
	if (!w)
		return;
	upt_out_drop(&w->out, !w->finished);
	for (size_t i = 0; i < w->nmeta; i++) {
		free(w->meta[i].member);
		free(w->meta[i].data);
	}
	free(w->meta);
	for (size_t i = 0; i < w->nimgs; i++) {
		free(w->imgs[i].name);
		free(w->imgs[i].member);
	}
	free(w->imgs);
	if (w->tmpfd >= 0)
		close(w->tmpfd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	ZSTD_freeCCtx(w->cctx);
	free(w->inbuf);
	free(w->outbuf);
	free(w->path);
	free(w);
}

/* An unlinked temp file in the output directory: the compressed images never show up under
 * any name, and vanish with the process. Opened when first needed. */
static int open_tmpfile(upt_bundle_writer *w, upt_err *e)
{
	if (w->tmpfd >= 0)
		return UPT_OK;
	int fd = openat(w->dirfd, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd >= 0) {
		w->tmpfd = fd;
		return UPT_OK;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT)
		return upt_err_set(e, UPT_E_IO, "cannot create a temp file beside %s: %s", w->path,
				   strerror(errno));
	/* filesystems without O_TMPFILE (vfat): a named file, unlinked at once */
	char *tmpl = NULL;
	if (asprintf(&tmpl, "%s.images-XXXXXX", w->path) < 0)
		return oom(e);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		free(tmpl);
		return upt_err_set(e, UPT_E_IO, "cannot create a temp file beside %s: %s", w->path,
				   strerror(err));
	}
	unlink(tmpl);
	free(tmpl);
	w->tmpfd = fd;
	return UPT_OK;
}

int upt_bundle_writer_new(const char *path, const upt_bundle_writer_opts *opts,
			  upt_bundle_writer **out, upt_err *e)
{
	upt_bundle_writer_opts o = {0};
	if (opts)
		o = *opts;
	if (o.level == 0)
		o.level = ZSTD_CLEVEL_DEFAULT;
	if (o.level < ZSTD_minCLevel() || o.level > ZSTD_maxCLevel())
		return upt_err_set(e, UPT_E_USAGE, "zstd level %d outside %d..%d", o.level,
				   ZSTD_minCLevel(), ZSTD_maxCLevel());
	if (o.threads > UPT_WRITER_THREADS_MAX)
		return upt_err_set(e, UPT_E_USAGE, "at most %d compression threads",
				   UPT_WRITER_THREADS_MAX);
	if (o.split_size != 0 && o.split_size < UPT_SPLIT_SIZE_MIN)
		return upt_err_set(e, UPT_E_USAGE, "split size %llu below the minimum of %d bytes",
				   (unsigned long long)o.split_size, UPT_SPLIT_SIZE_MIN);
	if (!path || !*path)
		return upt_err_set(e, UPT_E_USAGE, "no output path");

	upt_bundle_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return oom(e);
	w->tmpfd = -1;
	w->dirfd = -1;
	w->opts = o;
	w->direct_max = DIRECT_MAX;
	int rc = UPT_OK;
	char *dcopy = strdup(path);
	w->path = strdup(path);
	w->out.path = w->path;
	w->out.split = o.split_size;
	w->inbuf = malloc(WRITER_READ);
	w->outbuf = malloc(UPT_IO_CHUNK);
	w->cctx = ZSTD_createCCtx();
	if (!dcopy || !w->path || !w->inbuf || !w->outbuf || !w->cctx) {
		rc = oom(e);
		goto out;
	}
	const char *dir = dirname(dcopy);
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		rc = upt_err_set(e, UPT_E_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	*out = w;
	w = NULL;
out:
	free(dcopy);
	upt_bundle_writer_free(w);
	return rc;
}

void upt_bundle_writer_set_direct_max(upt_bundle_writer *w, uint64_t limit)
{
	w->direct_max = limit < DIRECT_MAX ? limit : DIRECT_MAX;
}

/* ---- output volumes ---- */

/* ---- tar headers (libarchive, into memory) ---- */

static const uint8_t zeros[TAR_END_BLOCKS * TAR_BLOCK];

/* Zeros up to the next 512-byte boundary after a member of `size` bytes. */
static int out_pad(upt_bundle_writer *w, uint64_t size, upt_err *e)
{
	size_t n = (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);
	return upt_out_write(&w->out, zeros, n, e);
}

struct capture {
	uint8_t *buf;
	size_t cap, len;
	bool done; /* header captured: later writes (entry padding at close) are refused */
	bool overflow;
};

static la_ssize_t capture_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	struct capture *c = ctx;
	if (c->done)
		return -1;
	if (n > c->cap - c->len) {
		c->overflow = true;
		return -1;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	return (la_ssize_t)n;
}

/* The header bytes libarchive writes for a member: pax restricted (a ustar header, after an
 * extended header when the name or a size of 8 GiB or more needs one), uid/gid 0, mode 0644. */
static int encode_header(const char *member, uint64_t size, int64_t mtime, uint8_t *buf, size_t cap,
			 size_t *len, upt_err *e)
{
	struct capture c = {buf, cap, 0, false, false};
	/* time_t here is the one libarchive was built with (Makefile, TIME_ABI_OBJ): 32 bits on
	 * Debian 12 armhf, where a bundle dated after 2038 cannot get its mtime. */
	if ((int64_t)(time_t)mtime != mtime)
		return upt_err_set(e, UPT_E_USAGE,
				   "bundle time %lld: past this libarchive's time_t",
				   (long long)mtime);
	int rc = UPT_OK;
	struct archive *a = archive_write_new();
	struct archive_entry *ent = archive_entry_new();
	if (!a || !ent) {
		rc = oom(e);
		goto out;
	}
	/* unblocked (bytes_per_block 0): every byte reaches capture_write at once */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_open(a, &c, NULL, capture_write, NULL) != ARCHIVE_OK) {
		rc = upt_err_set(e, UPT_E_INTERNAL, "libarchive: %s",
				 archive_error_string(a) ? archive_error_string(a) : "error");
		goto out;
	}
	archive_entry_set_pathname(ent, member);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)size);
	archive_entry_set_mtime(ent, (time_t)mtime, 0);
	archive_entry_set_uid(ent, 0);
	archive_entry_set_gid(ent, 0);
	if (archive_write_header(a, ent) != ARCHIVE_OK || c.overflow || c.len == 0 ||
	    c.len % TAR_BLOCK) {
		rc = upt_err_set(e, UPT_E_INTERNAL, "libarchive: cannot encode a header: %s",
				 c.overflow		   ? "too long"
				 : archive_error_string(a) ? archive_error_string(a)
							   : "error");
		goto out;
	}
	c.done = true;
	*len = c.len;
out:
	if (a)
		archive_write_free(a); /* its end of archive goes nowhere: c.done */
	archive_entry_free(ent);
	if (rc)
		set_file(e, member);
	return rc;
}

/* Header, data and padding of a member: its bytes are data[0..len) when data is given, else
 * len bytes of the temp file at off (an image compressed before the output was known). */
static int write_entry(upt_bundle_writer *w, const char *member, const void *data, uint64_t off,
		       uint64_t len, upt_err *e)
{
	size_t hl;
	int rc = encode_header(member, len, w->mtime, w->hdr, sizeof(w->hdr), &hl, e);
	if (!rc)
		rc = upt_out_write(&w->out, w->hdr, hl, e);
	if (!rc)
		rc = data ? upt_out_write(&w->out, data, (size_t)len, e)
			  : upt_out_copy(&w->out, w->tmpfd, off, len, e);
	if (!rc)
		rc = out_pad(w, len, e);
	if (rc)
		set_file(e, member);
	return rc;
}

static int write_member(upt_bundle_writer *w, const char *member, const void *data, size_t len,
			upt_err *e)
{
	return write_entry(w, member, data, 0, len, e);
}

static int write_from_tmp(upt_bundle_writer *w, const char *member, uint64_t off, uint64_t len,
			  upt_err *e)
{
	return write_entry(w, member, NULL, off, len, e);
}

/* The mtime of every member: bundle.json's "created" when it parses (so a rebuilt bundle is
 * byte-identical), else 0. */
static int64_t members_mtime(const void *bundle_json, size_t len)
{
	json_t *doc = NULL;
	int64_t t = 0;
	if (upt_json_parse(bundle_json, len, UPT_BUNDLE_JSON_MAX, &doc, NULL) != UPT_OK)
		return 0;
	const char *created = json_string_value(json_object_get(doc, "created"));
	if (!created || upt_rfc3339_parse(created, &t, NULL) != UPT_OK || t < 0)
		t = 0;
	json_decref(doc);
	return t;
}

/* The output starts: bundle.json's header for len bytes and its bytes (the draft, or the final
 * document without begin), then the metadata queued so far. */
static int start_output(upt_bundle_writer *w, const void *bundle_json, size_t len, upt_err *e)
{
	w->mtime = members_mtime(bundle_json, len);
	size_t hl;
	int rc = encode_header(UPT_BUNDLE_JSON_NAME, len, w->mtime, w->hdr, sizeof(w->hdr), &hl, e);
	if (!rc)
		rc = upt_out_write(&w->out, w->hdr, hl, e);
	w->bj_off = w->out.off;
	w->bj_len = len;
	if (!rc)
		rc = upt_out_write(&w->out, bundle_json, len, e);
	if (!rc)
		rc = out_pad(w, len, e);
	if (rc)
		set_file(e, UPT_BUNDLE_JSON_NAME);
	w->started = true;
	for (size_t i = 0; !rc && i < w->nmeta; i++) {
		rc = write_member(w, w->meta[i].member, w->meta[i].data, w->meta[i].len, e);
		free(w->meta[i].data);
		w->meta[i].data = NULL;
	}
	return rc;
}

int upt_bundle_writer_begin(upt_bundle_writer *w, const void *draft_json, size_t len, upt_err *e)
{
	if (w->finished || w->failed || w->started)
		return upt_err_set(e, UPT_E_USAGE, "bundle writer already started or finished");
	if (w->nimgs)
		return upt_err_set(e, UPT_E_USAGE, "begin must come before the first image");
	if (len > UPT_BUNDLE_JSON_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "bundle.json over 1 MiB");
	int rc = start_output(w, draft_json, len, e);
	if (rc)
		w->failed = true;
	return rc;
}

int upt_bundle_writer_add_metadata(upt_bundle_writer *w, const char *member, const void *data,
				   size_t len, upt_err *e)
{
	if (w->finished || w->failed)
		return upt_err_set(e, UPT_E_USAGE, "bundle writer already finished");
	/* the reader wants every metadata member before the first image (section 3); sealed
	 * images (only before begin) wait in the temp file and are written after every metadata
	 * member, so the metadata that lists their length and hashes may come after them */
	if (w->nimgs && (w->started || w->plain_image))
		return upt_err_set(e, UPT_E_USAGE, "%s: metadata added after an image", member);
	/* refuse to write what the reader refuses (section 3) */
	if (strncmp(member, UPT_BUNDLE_META_PREFIX, strlen(UPT_BUNDLE_META_PREFIX)) ||
	    !upt_bundle_member_path_ok(member))
		return upt_err_set(e, UPT_E_USAGE, "%s: not a valid metadata member name", member);
	if (member_known(w, member))
		return upt_err_set(e, UPT_E_USAGE, "%s: added twice", member);
	if (len > UPT_META_FILE_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%s: metadata file over 1 MiB", member);
	if (len > UPT_META_TOTAL_MAX - w->meta_total)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%s: metadata over 16 MiB in total", member);
	if (w->nmeta == w->meta_cap) {
		size_t ncap = w->meta_cap ? w->meta_cap * 2 : 32;
		struct wmeta *nm = realloc(w->meta, ncap * sizeof(*nm));
		if (!nm)
			return oom(e);
		w->meta = nm;
		w->meta_cap = ncap;
	}
	/* queued until the output starts, written at once after */
	struct wmeta m = {strdup(member), w->started ? NULL : malloc(len ? len : 1), len};
	if (!m.member || (!w->started && !m.data)) {
		free(m.member);
		free(m.data);
		return oom(e);
	}
	if (w->started) {
		uint64_t start = w->out.off;
		int rc = write_member(w, member, data, len, e);
		if (rc) {
			if (upt_out_truncate(&w->out, start, NULL))
				w->failed = true;
			free(m.member);
			return rc;
		}
	} else if (len) {
		memcpy(m.data, data, len);
	}
	w->meta[w->nmeta++] = m;
	w->meta_total += len;
	return UPT_OK;
}

static int zstd_error(const char *what, size_t r, upt_err *e)
{
	return upt_err_set(e, UPT_E_INTERNAL, "zstd %s: %s", what, ZSTD_getErrorName(r));
}

/* Compression parameters: the window never exceeds what every reader accepts (section 3). */
static int cctx_setup(upt_bundle_writer *w, uint64_t length, upt_err *e)
{
	size_t r = ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_and_parameters);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->opts.level);
	/* A cap, not a setting: a level whose own window is smaller keeps it (forcing 4 MiB on
	 * level 3, whose window is 2 MiB, costs about a quarter more CPU for 1-4% size). */
	ZSTD_compressionParameters cp = ZSTD_getCParams(w->opts.level, length, 0);
	if (!ZSTD_isError(r) && cp.windowLog > UPT_ZSTD_WINDOW_LOG_MAX)
		r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_windowLog, UPT_ZSTD_WINDOW_LOG_MAX);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setPledgedSrcSize(w->cctx, length);
	if (ZSTD_isError(r))
		return zstd_error("set-up", r, e);
	if (w->opts.threads > 1) {
		r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, (int)w->opts.threads);
		/* a libzstd built without threads: compress on this thread, same output format */
		(void)r;
	}
	return UPT_OK;
}

static int tmp_write(upt_bundle_writer *w, const void *p, size_t n, upt_err *e)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t r = write(w->tmpfd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return upt_err_set(e, UPT_E_IO, "temp file beside %s: %s", w->path,
					   r < 0 ? strerror(errno) : "short write");
		w->tmp_size += (uint64_t)r;
		b += r;
		n -= (size_t)r;
	}
	return UPT_OK;
}

/* Compresses exactly `length` bytes of fd (the file must end there) into the output
 * (to_output) or the temp file; *clen: compressed bytes, never more than max (the reader's
 * cap, and the placeholder's size). */
static int compress_image(upt_bundle_writer *w, int fd, const char *src_path, uint64_t length,
			  bool to_output, uint64_t max, uint64_t *clen, upt_err *e)
{
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	int rc = cctx_setup(w, length, e);
	if (rc)
		return rc;
	uint64_t done = 0, produced = 0;
	ZSTD_EndDirective mode = ZSTD_e_continue;
	while (mode != ZSTD_e_end) {
		size_t want = length - done < WRITER_READ ? (size_t)(length - done) : WRITER_READ;
		size_t got = 0;
		while (got < want) {
			ssize_t n = read(fd, w->inbuf + got, want - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return upt_err_set(e, UPT_E_IO, "%s: %s", src_path,
						   strerror(errno));
			if (n == 0)
				return upt_err_set(e, UPT_E_USAGE,
						   "%s: shorter than %llu bytes (changed?)",
						   src_path, (unsigned long long)length);
			got += (size_t)n;
		}
		done += got;
		if (done == length) {
			/* the file must end here: the signed length is what the device checks */
			uint8_t probe;
			ssize_t n;
			do
				n = read(fd, &probe, 1);
			while (n < 0 && errno == EINTR);
			if (n != 0)
				return upt_err_set(e, UPT_E_USAGE,
						   "%s: longer than %llu bytes (changed?)",
						   src_path, (unsigned long long)length);
			mode = ZSTD_e_end;
		}
		ZSTD_inBuffer in = {w->inbuf, got, 0};
		size_t left;
		do {
			ZSTD_outBuffer ob = {w->outbuf, UPT_IO_CHUNK, 0};
			left = ZSTD_compressStream2(w->cctx, &ob, &in, mode);
			if (ZSTD_isError(left))
				return zstd_error("compression", left, e);
			/* never write what a reader refuses as too large (section 3) */
			if (ob.pos > max - produced)
				return upt_err_set(e, UPT_E_INTERNAL,
						   "%s: compressed larger than the reader allows",
						   src_path);
			produced += ob.pos;
			rc = w->seal	 ? upt_seal_update(w->seal, w->outbuf, ob.pos, e)
			     : to_output ? upt_out_write(&w->out, w->outbuf, ob.pos, e)
					 : tmp_write(w, w->outbuf, ob.pos, e);
			if (rc)
				return rc;
		} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	}
	*clen = produced;
	return UPT_OK;
}

/* Single pass: a header for the bound, the compressed bytes as they come, the header for the
 * real size over the placeholder (the same length, else UPT_E_INTERNAL), the padding. */
static int image_direct(upt_bundle_writer *w, const char *member, int fd, const char *src_path,
			uint64_t length, uint64_t bound, uint64_t *clen, upt_err *e)
{
	uint64_t hdr_off = w->out.off;
	size_t hl, hl2;
	int rc = encode_header(member, bound, w->mtime, w->hdr, sizeof(w->hdr), &hl, e);
	if (!rc)
		rc = upt_out_write(&w->out, w->hdr, hl, e);
	if (!rc)
		rc = compress_image(w, fd, src_path, length, true, bound, clen, e);
	if (!rc)
		rc = encode_header(member, *clen, w->mtime, w->hdr2, sizeof(w->hdr2), &hl2, e);
	if (!rc && hl2 != hl)
		rc = upt_err_set(e, UPT_E_INTERNAL,
				 "%s: header for %llu bytes is %zu bytes, its placeholder %zu",
				 member, (unsigned long long)*clen, hl2, hl);
	if (!rc)
		rc = upt_out_pwrite(&w->out, hdr_off, w->hdr2, hl2, e);
	if (!rc)
		rc = out_pad(w, *clen, e);
	return rc;
}

/* Via the temp file: compressed there from its start, then copied into the output. */
static int image_via_tmp(upt_bundle_writer *w, const char *member, int fd, const char *src_path,
			 uint64_t length, uint64_t bound, uint64_t *clen, upt_err *e)
{
	int rc = open_tmpfile(w, e);
	if (rc)
		return rc;
	if (ftruncate(w->tmpfd, 0) != 0 || lseek(w->tmpfd, 0, SEEK_SET) < 0)
		return upt_err_set(e, UPT_E_IO, "temp file beside %s: %s", w->path,
				   strerror(errno));
	w->tmp_size = 0;
	rc = compress_image(w, fd, src_path, length, false, bound, clen, e);
	if (!rc)
		rc = write_from_tmp(w, member, 0, *clen, e);
	/* the space back at once (the next image starts it again from 0) */
	if (ftruncate(w->tmpfd, 0) == 0)
		w->tmp_size = 0;
	return rc;
}

/* The sealer's output: the temp file (sealed images are queued, see enum image_route). */
static int seal_write(void *ctx, const void *p, size_t n, upt_err *e)
{
	return tmp_write(ctx, p, n, e);
}

/* Compresses then seals into the temp file: *clen is the sealed member's length. */
static int compress_sealed(upt_bundle_writer *w, int fd, const char *src_path, uint64_t length,
			   uint64_t bound, const uint8_t key[UPT_CRYPT_KEY_LEN],
			   upt_sealed_info *info, uint64_t *clen, upt_err *e)
{
	int rc = upt_seal_new(key, seal_write, w, &w->seal, e);
	uint64_t zlen = 0;
	if (rc == UPT_OK)
		rc = compress_image(w, fd, src_path, length, false, bound, &zlen, e);
	if (rc == UPT_OK)
		rc = upt_seal_finish(w->seal, &info->length, &info->hashes, e);
	upt_seal_free(w->seal);
	w->seal = NULL;
	*clen = info->length;
	return rc;
}

/* Where an image's compressed bytes go. */
enum image_route {
	ROUTE_QUEUED,  /* before begin (every sealed image): appended to the temp file, copied
			  into the output at finish */
	ROUTE_DIRECT,  /* after begin: straight into the output under a placeholder header */
	ROUTE_VIA_TMP, /* after begin, a bound of direct_max or more (a header that could
			  change length): the temp file, copied into the output at once */
};

static enum image_route image_route(const upt_bundle_writer *w, uint64_t bound)
{
	if (!w->started)
		return ROUTE_QUEUED;
	return bound < w->direct_max ? ROUTE_DIRECT : ROUTE_VIA_TMP;
}

static int add_image(upt_bundle_writer *w, const char *target_name, const char *src_path,
		     uint64_t length, const uint8_t *key, upt_sealed_info *info, upt_err *e);

int upt_bundle_writer_add_image(upt_bundle_writer *w, const char *target_name, const char *src_path,
				uint64_t length, upt_err *e)
{
	return add_image(w, target_name, src_path, length, NULL, NULL, e);
}

int upt_bundle_writer_add_sealed_image(upt_bundle_writer *w, const char *target_name,
				       const char *src_path, uint64_t length,
				       const uint8_t key[UPT_CRYPT_KEY_LEN], upt_sealed_info *info,
				       upt_err *e)
{
	if (w->started)
		return upt_err_set(e, UPT_E_USAGE,
				   "%s: a sealed image is added before upt_bundle_writer_begin",
				   target_name);
	return add_image(w, target_name, src_path, length, key, info, e);
}

/* *member: "images/<target_name>" (malloc'd), a name the reader accepts and not added yet;
 * and room for one more image. */
static int image_member(upt_bundle_writer *w, const char *target_name, char **member, upt_err *e)
{
	if (strlen(target_name) > UPT_TARGET_NAME_MAX ||
	    asprintf(member, "%s%s", UPT_BUNDLE_IMAGE_PREFIX, target_name) < 0) {
		*member = NULL;
		return upt_err_set(e, UPT_E_USAGE, "%s: target name too long", target_name);
	}
	if (!upt_bundle_member_path_ok(*member))
		return upt_err_set(
		    e, UPT_E_USAGE,
		    "%s: target name not allowed in a bundle (letters, digits, . _ + - /; "
		    "no empty, \".\" or \"..\" components)",
		    target_name);
	if (member_known(w, *member))
		return upt_err_set(e, UPT_E_USAGE, "%s: added twice", *member);
	if (w->nimgs == w->imgs_cap) {
		size_t ncap = w->imgs_cap ? w->imgs_cap * 2 : 16;
		struct wimage *ni = realloc(w->imgs, ncap * sizeof(*ni));
		if (!ni)
			return oom(e);
		w->imgs = ni;
		w->imgs_cap = ncap;
	}
	return UPT_OK;
}

/* *fd: the image's source, a regular file of exactly length bytes. */
static int open_source(const char *src_path, uint64_t length, int *fd, upt_err *e)
{
	*fd = open(src_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (*fd < 0 || fstat(*fd, &st) != 0)
		return upt_err_set(e, errno == ENOENT ? UPT_E_NOT_FOUND : UPT_E_IO, "%s: %s",
				   src_path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return upt_err_set(e, UPT_E_IO, "%s: not a regular file", src_path);
	if ((uint64_t)st.st_size != length)
		return upt_err_set(e, UPT_E_USAGE, "%s: %llu bytes, but the target says %llu",
				   src_path, (unsigned long long)st.st_size,
				   (unsigned long long)length);
	return UPT_OK;
}

/* A failed image leaves nothing of itself: the output or the temp file is cut back to where
 * it began (earlier members stay); when that fails, the writer is failed. */
static void forget_partial(upt_bundle_writer *w, uint64_t out_start, uint64_t tmp_start)
{
	if (w->started && w->out.off != out_start && upt_out_truncate(&w->out, out_start, NULL))
		w->failed = true;
	if (!w->started && w->tmp_size != tmp_start) {
		if (ftruncate(w->tmpfd, (off_t)tmp_start) == 0 &&
		    lseek(w->tmpfd, (off_t)tmp_start, SEEK_SET) >= 0)
			w->tmp_size = tmp_start;
		else
			w->failed = true;
	}
}

static int add_image(upt_bundle_writer *w, const char *target_name, const char *src_path,
		     uint64_t length, const uint8_t *key, upt_sealed_info *info, upt_err *e)
{
	if (w->finished || w->failed)
		return upt_err_set(e, UPT_E_USAGE, "bundle writer already finished");
	char *member = NULL, *name = NULL;
	int fd = -1;
	uint64_t out_start = w->out.off, tmp_start = w->tmp_size;
	int rc = image_member(w, target_name, &member, e);
	if (rc && !member)
		return rc; /* a name too long: no member to speak of */
	if (rc == UPT_OK) {
		name = strdup(target_name);
		rc = name ? open_source(src_path, length, &fd, e) : oom(e);
	}
	uint64_t bound = upt_bundle_compressed_max(length), clen = 0;
	if (rc == UPT_OK) {
		switch (image_route(w, bound)) {
		case ROUTE_QUEUED:
			rc = open_tmpfile(w, e);
			if (rc == UPT_OK && key)
				rc = compress_sealed(w, fd, src_path, length, bound, key, info,
						     &clen, e);
			else if (rc == UPT_OK)
				rc =
				    compress_image(w, fd, src_path, length, false, bound, &clen, e);
			break;
		case ROUTE_DIRECT:
			rc = image_direct(w, member, fd, src_path, length, bound, &clen, e);
			break;
		case ROUTE_VIA_TMP:
			rc = image_via_tmp(w, member, fd, src_path, length, bound, &clen, e);
			break;
		}
	}
	if (rc == UPT_OK) {
		w->imgs[w->nimgs++] = (struct wimage){name, member, length, tmp_start, clen};
		w->plain_image = w->plain_image || !key;
		name = member = NULL;
	} else {
		forget_partial(w, out_start, tmp_start);
		set_file(e, src_path);
	}
	if (fd >= 0)
		close(fd);
	free(name);
	free(member);
	return rc;
}

uint64_t upt_bundle_writer_compressed_length(const upt_bundle_writer *w, const char *target_name)
{
	for (size_t i = 0; w && i < w->nimgs; i++)
		if (!strcmp(w->imgs[i].name, target_name))
			return w->imgs[i].clen;
	return 0;
}

/* After begin: the final bundle.json over the draft, padded to the reserved length with
 * spaces and a final newline (JSON whitespace, which every JSON parser skips at the end). */
static int patch_bundle_json(upt_bundle_writer *w, const void *bundle_json, size_t len, upt_err *e)
{
	if (len > w->bj_len)
		return upt_err_set(e, UPT_E_USAGE,
				   "bundle.json of %zu bytes is longer than its draft (%zu bytes)",
				   len, w->bj_len);
	if (members_mtime(bundle_json, len) != w->mtime)
		return upt_err_set(
		    e, UPT_E_USAGE,
		    "bundle.json's \"created\" differs from its draft's (the members' "
		    "mtime)");
	uint8_t *b = malloc(w->bj_len ? w->bj_len : 1);
	if (!b)
		return oom(e);
	memcpy(b, bundle_json, len);
	if (len < w->bj_len) {
		memset(b + len, ' ', w->bj_len - len);
		b[w->bj_len - 1] = '\n';
	}
	int rc = upt_out_pwrite(&w->out, w->bj_off, b, w->bj_len, e);
	free(b);
	return rc;
}

int upt_bundle_writer_finish(upt_bundle_writer *w, const void *bundle_json, size_t len, upt_err *e)
{
	if (w->finished || w->failed)
		return upt_err_set(e, UPT_E_USAGE, "bundle writer already finished or failed");
	if (len > UPT_BUNDLE_JSON_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "bundle.json over 1 MiB");
	int rc;
	if (w->started) {
		rc = patch_bundle_json(w, bundle_json, len, e);
	} else {
		rc = start_output(w, bundle_json, len, e);
		for (size_t i = 0; !rc && i < w->nimgs; i++)
			rc = write_from_tmp(w, w->imgs[i].member, w->imgs[i].offset,
					    w->imgs[i].clen, e);
	}
	if (!rc)
		rc = upt_out_write(&w->out, zeros, sizeof(zeros), e);
	if (rc)
		goto out;
	rc = upt_out_publish(&w->out, w->dirfd, e);
	if (rc)
		goto out;
	w->finished = true;
out:
	if (rc) {
		w->failed = true;
		upt_out_drop(&w->out, true);
	} else {
		upt_out_drop(&w->out, false);
	}
	return rc;
}
