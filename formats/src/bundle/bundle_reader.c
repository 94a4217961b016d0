/*
 * bundle_reader: reads a bundle (docs/bundle-format.md) from a file or split volumes.
 *
 * Responsible for: the order of the members (bundle.json first, metadata before images),
 * reading the metadata into memory within its caps, and handing out one image at a time to be
 * streamed into the caller's sink. Not responsible for: any Uptane verification (verify.c),
 * where image bytes go (the caller's sink), or trusting anything in bundle.json beyond format
 * and version.
 *
 * The layers below, one file each: the volumes read as one stream (bundle_volumes.c); the
 * rules every member obeys (bundle_members.c); one image member's zstd stream within the caps
 * (bundle_zstd.c), opened first by the decrypt stage when sealed (bundle_decrypt.c); the image
 * capped, hashed and delivered (bundle_image.c), on this thread or overlapped on helper threads
 * (bundle_ring.c).
 *
 * libarchive parses the tar headers with only the tar format and no filter enabled. The bytes
 * come from our own callbacks over the volumes rather than archive_read_open_filename(s), so
 * that every volume is opened once, skipping an unwanted image is a seek, and a read error is
 * told apart from a damaged archive.
 *
 * Decisions (the original design left them open; docs/bundle-format.md states them):
 * - "first member" is literal: the first entry of the archive must be the regular file
 *   bundle.json; not even a directory may precede it.
 * - Any libarchive warning or "retry" (damaged header: libarchive would resynchronise by
 *   scanning for the next valid header) is treated as a malformed archive.
 */
#include "upt/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "bundle_decrypt.h"
#include "bundle_image.h"
#include "bundle_internal.h"
#include "bundle_members.h"
#include "bundle_ring.h"
#include "bundle_volumes.h"
#include "upt/cjson.h"
#include "upt/limits.h"

enum reader_state {
	ST_FRESH,  /* read_metadata not called yet */
	ST_IMAGES, /* metadata read; walking images */
	ST_END,	   /* end of archive reached */
	ST_FAILED, /* the archive itself is bad or unreadable: every later call fails */
};

struct upt_bundle_reader {
	struct archive *ar;
	struct upt_volumes in;
	uint8_t *rbuf;	/* read callback buffer, UPT_IO_CHUNK */
	uint8_t *chunk; /* metadata read buffer, UPT_IO_CHUNK */

	enum reader_state state;
	int failed_code;

	/* current member */
	char path[UPT_MEMBER_PATH_MAX + 2];
	uint64_t size;
	bool image_pending; /* read_metadata stopped on this images/ header */
	bool image_current; /* next_image handed it out and stream_image may read it */

	struct upt_member_names names;

	uint64_t meta_total;
	/* upt_bundle_reader_keep_device: the device whose members are kept ("" keeps all) and the
	 * bytes plus estimated parsed size of what was kept */
	char keep_device[UPT_NAME_MAX + 1];
	uint64_t kept_cost;
	ZSTD_DCtx *dctx;
	uint8_t *ring[UPT_RING_SLOTS]; /* overlapped streaming buffers, allocated on first use */
};

/* ---- error helpers ---- */

/* The reader fails for good with code (e already says why). */
static int fail(upt_bundle_reader *r, int code)
{
	r->state = ST_FAILED;
	r->failed_code = code;
	return code;
}

/* Maps a libarchive failure: a read error the callbacks saw -> UPT_E_IO; anything else is the
 * archive's fault (truncated, not tar, damaged) -> UPT_E_MALFORMED. The reader fails for good. */
static int archive_fail(upt_bundle_reader *r, const char *path, upt_err *e)
{
	int code;
	const char *s = archive_error_string(r->ar);
	if (r->in.io_errno) {
		code = upt_err_set(e, UPT_E_IO, "cannot read the bundle: %s",
				   strerror(r->in.io_errno));
	} else if (archive_errno(r->ar) == ENOMEM) {
		code = upt_err_set(e, UPT_E_NOMEM, "out of memory reading the bundle");
	} else if (s && strstr(s, "runcated") && upt_volumes_cut_short(&r->in, e)) {
		/* the archive goes on after the last volume found: the volume is named */
		code = UPT_E_MALFORMED;
		path = NULL;
	} else {
		code = upt_err_set(e, UPT_E_MALFORMED,
				   "not a valid tar archive (truncated or damaged): %s",
				   s ? s : "unknown error");
		if (e)
			upt_bundle_printable(e->msg);
	}
	upt_bundle_err_member(e, path);
	return fail(r, code);
}

/* A rule violation: the reader stops for good (the archive is hostile or broken). */
static int reject(upt_bundle_reader *r, int code, const char *path, upt_err *e, const char *msg)
{
	upt_err_set(e, code, "%s", msg);
	upt_bundle_err_member(e, path);
	return fail(r, code);
}

/* ---- the volumes as libarchive's input ---- */

static ssize_t cb_read(struct archive *a, void *ctx, const void **buf)
{
	upt_bundle_reader *r = ctx;
	*buf = r->rbuf;
	ssize_t n = upt_volumes_read(&r->in, r->rbuf, UPT_IO_CHUNK);
	if (n < 0)
		archive_set_error(a, r->in.io_errno, "%s", r->in.io_what);
	return n;
}

/* Skips forward by seeking: never past the end, so libarchive reads what it needs to report a
 * truncated archive. */
static la_int64_t cb_skip(struct archive *a, void *ctx, la_int64_t request)
{
	(void)a;
	upt_bundle_reader *r = ctx;
	if (request <= 0)
		return 0;
	return (la_int64_t)upt_volumes_skip(&r->in, (uint64_t)request);
}

void upt_bundle_reader_free(upt_bundle_reader *r)
{
	if (!r)
		return;
	if (r->ar)
		archive_read_free(r->ar);
	upt_volumes_close(&r->in);
	free(r->rbuf);
	free(r->chunk);
	upt_member_names_free(&r->names);
	ZSTD_freeDCtx(r->dctx);
	for (size_t i = 0; i < UPT_RING_SLOTS; i++)
		free(r->ring[i]);
	free(r);
}

/* The libarchive reader over r's volumes. */
static int start_archive(upt_bundle_reader *r, upt_err *e)
{
	r->rbuf = malloc(UPT_IO_CHUNK);
	r->chunk = malloc(UPT_IO_CHUNK);
	r->ar = archive_read_new();
	if (!r->rbuf || !r->chunk || !r->ar)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	/* tar only, no decompression filter: the outer file is never compressed (section 10) */
	if (archive_read_support_format_tar(r->ar) != ARCHIVE_OK ||
	    archive_read_support_filter_none(r->ar) != ARCHIVE_OK ||
	    archive_read_set_skip_callback(r->ar, cb_skip) != ARCHIVE_OK)
		return upt_err_set(e, UPT_E_INTERNAL, "libarchive set-up failed: %s",
				   archive_error_string(r->ar));
	if (archive_read_open2(r->ar, r, NULL, cb_read, cb_skip, NULL) != ARCHIVE_OK)
		return archive_fail(r, NULL, e);
	r->state = ST_FRESH;
	return UPT_OK;
}

/* The reader over r->in once the volumes are open (rc: how opening them went). */
static int open_finish(upt_bundle_reader *r, int rc, upt_bundle_reader **out, upt_err *e)
{
	if (rc == UPT_OK)
		rc = start_archive(r, e);
	if (rc) {
		upt_bundle_reader_free(r);
		return rc;
	}
	*out = r;
	return UPT_OK;
}

int upt_bundle_reader_open(const char *path, upt_bundle_reader **out, upt_err *e)
{
	if (!path || !*path)
		return upt_err_set(e, UPT_E_USAGE, "no bundle path");
	upt_bundle_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	return open_finish(r, upt_volumes_open(&r->in, path, e), out, e);
}

int upt_bundle_reader_open_fds(const int *fds, size_t n, upt_bundle_reader **out, upt_err *e)
{
	upt_bundle_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	return open_finish(r, upt_volumes_adopt(&r->in, fds, n, e), out, e);
}

/* ---- members in order ---- */

/* Reads the next header and applies the rules every member obeys (bundle_members.c).
 * UPT_E_NOT_FOUND at the end of the archive. On success r->path and r->size describe the member. */
static int next_member(upt_bundle_reader *r, enum upt_member_kind *kind, upt_err *e)
{
	struct archive_entry *ent = NULL;
	int ar = archive_read_next_header(r->ar, &ent);
	if (ar == ARCHIVE_EOF) {
		r->state = ST_END;
		return UPT_E_NOT_FOUND;
	}
	/* A warning (a name libarchive cannot convert, a malformed pax attribute) still gives an
	 * entry: the member rules judge it first (a non-ASCII name is unsafe-archive, the class
	 * section 10 gives bad characters); whatever passes them is then malformed. */
	bool warned = ar == ARCHIVE_WARN;
	if (ar != ARCHIVE_OK && !warned)
		return archive_fail(r, NULL, e);
	bool dir = false;
	int rc = upt_member_check_header(ent, r->path, &dir, e);
	if (rc)
		return fail(r, rc);
	if (r->names.n >= UPT_MEMBERS_MAX)
		return reject(r, UPT_E_TOO_LARGE, r->path, e, "more than 65536 members");
	bool seen = false;
	rc = upt_member_names_add(&r->names, r->path, &seen, e);
	if (rc) {
		upt_bundle_err_member(e, r->path);
		return rc;
	}
	if (seen)
		return reject(r, UPT_E_UNSAFE_ARCHIVE, r->path, e, "duplicate member name");
	if (warned)
		return archive_fail(r, r->path, e);
	rc = upt_member_classify(ent, r->path, dir, kind, &r->size, e);
	return rc ? fail(r, rc) : UPT_OK;
}

/* Reads the current member (r->size bytes, at most max) into out, counting the bytes itself. */
static int read_member(upt_bundle_reader *r, upt_buf *out, upt_err *e)
{
	uint64_t got = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(r->ar, r->chunk, UPT_IO_CHUNK);
		if (n < 0)
			return archive_fail(r, r->path, e);
		if (n == 0)
			break;
		if ((uint64_t)n > r->size - got)
			return reject(r, UPT_E_MALFORMED, r->path, e,
				      "member longer than its header says");
		got += (uint64_t)n;
		int rc = upt_buf_append(out, r->chunk, (size_t)n, e);
		if (rc) {
			upt_bundle_err_member(e, r->path);
			return rc;
		}
	}
	if (got != r->size)
		return reject(r, UPT_E_MALFORMED, r->path, e,
			      "member shorter than its header says");
	return UPT_OK;
}

/* ---- metadata ---- */

const upt_buf *upt_bundle_meta_get(const upt_bundle_meta *m, const char *path)
{
	if (!m || !path)
		return NULL;
	for (size_t i = 0; i < m->nfiles; i++)
		if (!strcmp(m->files[i].path, path))
			return &m->files[i].data;
	return NULL;
}

void upt_bundle_meta_free(upt_bundle_meta *m)
{
	if (!m)
		return;
	upt_buf_clear(&m->bundle_json);
	for (size_t i = 0; i < m->nfiles; i++) {
		free(m->files[i].path);
		upt_buf_clear(&m->files[i].data);
	}
	free(m->files);
	free(m);
}

/* Another device's member of a multi-device bundle, when only this device's are kept. */
static bool other_device(const upt_bundle_reader *r, const char **dev, size_t *len)
{
	static const char devices[] = "metadata/director/devices/";
	if (!r->keep_device[0] || strncmp(r->path, devices, sizeof(devices) - 1) != 0)
		return false;
	*dev = r->path + sizeof(devices) - 1;
	*len = strcspn(*dev, "/");
	return !(*len == strlen(r->keep_device) && memcmp(*dev, r->keep_device, *len) == 0);
}

static void note_skipped(upt_bundle_meta *m, const char *dev, size_t len)
{
	m->nskipped++;
	char name[UPT_NAME_MAX + 1];
	if (len > UPT_NAME_MAX)
		return; /* not a device name: the layout check never sees it, nothing uses it */
	memcpy(name, dev, len);
	name[len] = '\0';
	upt_bundle_printable(name);
	upt_namelist_add(m->skipped_devices, sizeof(m->skipped_devices), name);
}

static int add_meta_file(upt_bundle_reader *r, upt_bundle_meta *m, size_t *cap, upt_err *e)
{
	const char *dev;
	size_t dlen;
	if (other_device(r, &dev, &dlen)) {
		note_skipped(m, dev, dlen); /* the next header skips its bytes unread */
		return UPT_OK;
	}
	if (r->size > UPT_META_FILE_MAX)
		return reject(r, UPT_E_TOO_LARGE, r->path, e, "metadata file larger than 1 MiB");
	if (r->size > UPT_META_TOTAL_MAX - r->meta_total)
		return reject(r, UPT_E_TOO_LARGE, r->path, e,
			      "metadata larger than 16 MiB in total");
	if (m->nfiles == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		upt_bundle_file *nf = realloc(m->files, ncap * sizeof(*nf));
		if (!nf)
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		m->files = nf;
		*cap = ncap;
	}
	upt_bundle_file *f = &m->files[m->nfiles];
	f->path = strdup(r->path);
	if (!f->path)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	upt_buf_init(&f->data, (size_t)r->size);
	m->nfiles++;
	r->meta_total += r->size;
	int rc = read_member(r, &f->data, e);
	if (rc || !r->keep_device[0])
		return rc;
	/* On a device all kept metadata may be parsed at once during verification: bound the
	 * bytes and their trees together, before any tree is built (docs/threat-model.md). */
	size_t cost;
	rc = upt_json_scan(f->data.data, f->data.len, &cost, e);
	if (rc) {
		upt_bundle_err_member(e, r->path);
		return fail(r, rc);
	}
	r->kept_cost += f->data.len + cost;
	if (r->kept_cost > UPT_META_DEVICE_MAX)
		return reject(r, UPT_E_TOO_LARGE, r->path, e,
			      "metadata too large for the device: with its parsed form it would "
			      "take more than 8 MiB");
	return UPT_OK;
}

void upt_bundle_reader_keep_device(upt_bundle_reader *r, const char *device_id)
{
	snprintf(r->keep_device, sizeof(r->keep_device), "%s", device_id ? device_id : "");
}

int upt_bundle_read_metadata(upt_bundle_reader *r, upt_bundle_meta **out, upt_err *e)
{
	if (r->state != ST_FRESH)
		return upt_err_set(e, r->state == ST_FAILED ? r->failed_code : UPT_E_INTERNAL,
				   "bundle metadata already read");
	upt_bundle_meta *m = calloc(1, sizeof(*m));
	if (!m)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	upt_buf_init(&m->bundle_json, UPT_BUNDLE_JSON_MAX);
	size_t cap = 0;
	enum upt_member_kind kind;

	/* bundle.json: literally the first member (see the file comment) */
	int rc = next_member(r, &kind, e);
	if (rc == UPT_E_NOT_FOUND) {
		rc = reject(r, UPT_E_MALFORMED, UPT_BUNDLE_JSON_NAME, e,
			    "empty archive: bundle.json missing");
		goto out;
	}
	if (rc)
		goto out;
	if (kind != UPT_MEMBER_BUNDLE_JSON) {
		rc = reject(r, UPT_E_MALFORMED, r->path, e,
			    "bundle.json must be the first member of the bundle");
		goto out;
	}
	if (r->size > UPT_BUNDLE_JSON_MAX) {
		rc = reject(r, UPT_E_TOO_LARGE, r->path, e, "bundle.json larger than 1 MiB");
		goto out;
	}
	rc = read_member(r, &m->bundle_json, e);
	if (rc)
		goto out;
	rc = upt_member_check_bundle_json(&m->bundle_json, e);
	if (rc) {
		upt_bundle_err_member(e, UPT_BUNDLE_JSON_NAME);
		fail(r, rc);
		goto out;
	}

	/* every metadata/ member, up to the first images/ member */
	for (;;) {
		rc = next_member(r, &kind, e);
		if (rc == UPT_E_NOT_FOUND) {
			rc = UPT_OK;
			break;
		}
		if (rc)
			goto out;
		if (kind == UPT_MEMBER_DIR)
			continue;
		if (kind == UPT_MEMBER_IMAGE) {
			r->image_pending = true;
			break;
		}
		/* UPT_MEMBER_BUNDLE_JSON again is caught as a duplicate */
		rc = add_meta_file(r, m, &cap, e);
		if (rc)
			goto out;
	}
	if (r->state != ST_END)
		r->state = ST_IMAGES;
	*out = m;
	m = NULL;
out:
	upt_bundle_meta_free(m);
	return rc;
}

/* ---- images ---- */

int upt_bundle_next_image(upt_bundle_reader *r, const char **target_name,
			  uint64_t *compressed_length, upt_err *e)
{
	if (r->state == ST_FAILED)
		return upt_err_set(e, r->failed_code, "the bundle was already refused");
	if (r->state == ST_FRESH)
		return upt_err_set(e, UPT_E_INTERNAL, "bundle metadata not read yet");
	if (r->state == ST_END)
		return upt_err_set(e, UPT_E_NOT_FOUND, "no more images in the bundle");
	r->image_current = false;
	if (!r->image_pending) {
		enum upt_member_kind kind;
		for (;;) {
			/* libarchive skips the unread rest (cb_skip: a seek) */
			int rc = next_member(r, &kind, e);
			if (rc == UPT_E_NOT_FOUND)
				return upt_err_set(e, UPT_E_NOT_FOUND,
						   "no more images in the bundle");
			if (rc)
				return rc;
			if (kind == UPT_MEMBER_DIR)
				continue;
			if (kind != UPT_MEMBER_IMAGE)
				/* section 3: all metadata/ precedes all images/ */
				return reject(r, UPT_E_MALFORMED, r->path, e,
					      "metadata member after an image");
			break;
		}
	}
	r->image_pending = false;
	r->image_current = true;
	*target_name = r->path + strlen(UPT_BUNDLE_IMAGE_PREFIX);
	*compressed_length = r->size;
	return UPT_OK;
}

/* ---- streaming the current image ---- */

/* Next block of the current member's bytes, zero-copy out of libarchive's buffer; *n = 0 at
 * the member's end. */
static int member_block(void *ctx, const void **p, size_t *n, upt_err *e)
{
	upt_bundle_reader *r = ctx;
	la_int64_t off = 0;
	int ar = archive_read_data_block(r->ar, p, n, &off);
	if (ar == ARCHIVE_EOF) {
		*n = 0;
		return UPT_OK;
	}
	if (ar != ARCHIVE_OK)
		return archive_fail(r, r->path, e);
	return UPT_OK;
}

/* A sealed member's bytes as the decrypt stage opens them, for the zstd decoder. */
struct opened_member {
	upt_decrypt_stage *decrypt;
	upt_bundle_reader *r;
};

static int opened_block(void *ctx, const void **p, size_t *n, upt_err *e)
{
	struct opened_member *om = ctx;
	return upt_decrypt_stage_next(om->decrypt, member_block, om->r, p, n, e);
}

/* The image may be handed out for reading: once, after next_image, on a reader not failed. */
static int take_current(upt_bundle_reader *r, upt_err *e)
{
	if (r->state == ST_FAILED)
		return upt_err_set(e, r->failed_code, "the bundle was already refused");
	if (!r->image_current)
		return upt_err_set(e, UPT_E_INTERNAL,
				   "no current image (call upt_bundle_next_image)");
	return UPT_OK;
}

static int sealed_length_differs(const upt_bundle_reader *r, uint64_t length, upt_err *e)
{
	return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
			   "sealed image member is %llu bytes, the Director signs %llu",
			   (unsigned long long)r->size, (unsigned long long)length);
}

static int ring_buffers(upt_bundle_reader *r, upt_err *e)
{
	for (unsigned i = 0; i < UPT_RING_SLOTS; i++) {
		if (r->ring[i])
			continue;
		r->ring[i] = malloc(UPT_IO_CHUNK);
		if (!r->ring[i])
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	return UPT_OK;
}

/* The image stream set up over the current member (through the decrypt stage when sealed). */
static int stream_setup(upt_bundle_reader *r, struct upt_image_stream *s,
			const upt_image_decrypt *sealed, struct opened_member *om, upt_err *e)
{
	if (!r->dctx && !(r->dctx = ZSTD_createDCtx()))
		return upt_err_set(e, UPT_E_NOMEM, "out of memory (zstd)");
	if (!s->expected || (!s->expected->has_sha256 && !s->expected->has_sha512))
		return upt_err_set(e, UPT_E_MALFORMED, "the target lists no hash to check");
	int rc = upt_zstd_stream_start(&s->z, r->dctx, r->size, s->signed_length, e);
	if (rc)
		return rc;
	s->z.src = member_block;
	s->z.src_ctx = r;
	if (!sealed)
		return UPT_OK;
	/* the member is exactly the signed sealed length: checked before a byte is read */
	if (r->size != sealed->length)
		return sealed_length_differs(r, sealed->length, e);
	rc = upt_decrypt_stage_new(sealed, &om->decrypt, e);
	if (rc)
		return rc;
	s->z.src = opened_block;
	s->z.src_ctx = om;
	return UPT_OK;
}

static int stream_image(upt_bundle_reader *r, uint64_t signed_length, const upt_hashes *expected,
			const upt_image_decrypt *sealed, upt_image_sink sink, void *ctx,
			void (*progress)(void *ctx, uint64_t done, uint64_t total), upt_err *e)
{
	int rc = take_current(r, e);
	if (rc)
		return rc;
	if (!sink)
		return upt_err_set(e, UPT_E_INTERNAL, "no sink for the image");
	/* one pass only: the member's bytes are consumed */
	r->image_current = false;
	if (e)
		e->file[0] = '\0';
	struct upt_image_stream s = {
	    .signed_length = signed_length,
	    .expected = expected,
	    .sink = sink,
	    .sink_ctx = ctx,
	    .progress = progress,
	};
	struct opened_member om = {NULL, r};
	rc = stream_setup(r, &s, sealed, &om, e);
	if (rc == UPT_OK) {
		/* small images are not worth a thread */
		enum upt_ring_outcome how = UPT_RING_NO_THREAD;
		if (signed_length > 2 * UPT_IO_CHUNK && ring_buffers(r, e) == UPT_OK)
			how = upt_ring_stream(r->ring, &s, &rc, e);
		if (how == UPT_RING_NO_THREAD)
			rc = upt_image_stream_single(&s, r->chunk, e);
	}
	upt_decrypt_stage_free(om.decrypt);
	if (rc)
		upt_err_set_file(e, r->path);
	return rc;
}

int upt_bundle_check_sealed_image(upt_bundle_reader *r, uint64_t length, const upt_hashes *hashes,
				  upt_err *e)
{
	int rc = take_current(r, e);
	if (rc)
		return rc;
	r->image_current = false;
	if (r->size != length) {
		sealed_length_differs(r, length, e);
		upt_err_set_file(e, r->path);
		return UPT_E_ARBITRARY_SOFTWARE;
	}
	upt_hasher *h = NULL;
	rc = upt_hasher_new(hashes->has_sha256, hashes->has_sha512, &h, e);
	for (;;) {
		const void *p = NULL;
		size_t n = 0;
		if (rc == UPT_OK)
			rc = member_block(r, &p, &n, e);
		if (rc || n == 0)
			break;
		rc = upt_hasher_update(h, p, n, e);
	}
	upt_hashes got;
	if (rc == UPT_OK)
		rc = upt_hasher_final(h, &got, e);
	if (rc == UPT_OK && !upt_hashes_match(hashes, &got))
		rc = upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
				 "sealed image bytes do not match the hashes the Director signed "
				 "(custom.encryption)");
	upt_hasher_free(h);
	if (rc)
		upt_err_set_file(e, r->path);
	return rc;
}

int upt_bundle_stream_image(upt_bundle_reader *r, uint64_t signed_length,
			    const upt_hashes *expected, upt_image_sink sink, void *ctx,
			    void (*progress)(void *ctx, uint64_t done, uint64_t total), upt_err *e)
{
	return stream_image(r, signed_length, expected, NULL, sink, ctx, progress, e);
}

int upt_bundle_stream_sealed_image(upt_bundle_reader *r, uint64_t signed_length,
				   const upt_hashes *expected, const upt_image_decrypt *sealed,
				   upt_image_sink sink, void *ctx,
				   void (*progress)(void *ctx, uint64_t done, uint64_t total),
				   upt_err *e)
{
	return stream_image(r, signed_length, expected, sealed, sink, ctx, progress, e);
}
