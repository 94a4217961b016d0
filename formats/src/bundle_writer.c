/*
 * bundle_writer: writes a bundle (DESIGN.md sections 3 and 10): an uncompressed pax tar of
 * bundle.json, the metadata in the order added, then the images in the order added, each
 * compressed on its own with libzstd.
 *
 * Responsible for: producing exactly what bundle_reader.c accepts (names, order, caps, zstd
 * window <= 4 MiB), in constant memory, atomically (temp names, fsync, rename). Not responsible
 * for: the content of bundle.json or the metadata (the bundler builds and signs them).
 *
 * tar needs every member's size in its header, and bundle.json (first) lists compressed sizes,
 * so each image is compressed when it is added, into one unlinked temp file in the output
 * directory (O_TMPFILE, else mkstemp + unlink), and copied into the archive by finish. Split
 * volumes come from our own libarchive write callback, which rolls over to path.NNN so that no
 * volume exceeds split_size.
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
#include "upt/cjson.h"
#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"

#define WRITER_THREADS_MAX 256
#define SPLIT_SIZE_MIN 4096 /* smaller volumes are a mistake, not a FAT32 limit */

struct wmeta {
	char *member;
	uint8_t *data;
	size_t len;
};

struct wimage {
	char *name;	 /* target name */
	char *member;	 /* "images/<name>" */
	uint64_t length; /* decompressed */
	uint64_t offset; /* in the temp file */
	uint64_t clen;	 /* compressed */
};

struct wvolume {
	char *tmp;   /* temp name while writing */
	char *final; /* name after finish */
	int fd;
	uint64_t size;
};

struct upt_bundle_writer {
	char *path;
	int dirfd;
	upt_bundle_writer_opts opts;

	struct wmeta *meta;
	size_t nmeta, meta_cap;
	uint64_t meta_total;
	struct wimage *imgs;
	size_t nimgs, imgs_cap;

	int tmpfd;	   /* compressed images, unlinked */
	uint64_t tmp_size; /* bytes in it */
	ZSTD_CCtx *cctx;
	uint8_t *inbuf, *outbuf; /* UPT_IO_CHUNK each */

	/* output, during finish */
	struct wvolume *vols;
	size_t nvols;
	int write_errno;
	int write_code; /* code for a write callback failure (UPT_E_IO or UPT_E_TOO_LARGE) */
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

static void close_volume(struct wvolume *v, bool remove_tmp)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	if (remove_tmp && v->tmp)
		unlink(v->tmp);
	else if (remove_tmp && v->final)
		unlink(v->final); /* renamed before a later volume failed: no partial set stays */
	free(v->tmp);
	free(v->final);
	v->tmp = v->final = NULL;
}

static void drop_volumes(upt_bundle_writer *w, bool remove_tmp)
{
	for (size_t i = 0; i < w->nvols; i++)
		close_volume(&w->vols[i], remove_tmp);
	free(w->vols);
	w->vols = NULL;
	w->nvols = 0;
}

void upt_bundle_writer_free(upt_bundle_writer *w)
{
	if (!w)
		return;
	drop_volumes(w, !w->finished);
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
 * any name, and vanish with the process. */
static int open_tmpfile(upt_bundle_writer *w, upt_err *e)
{
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
	if (o.threads > WRITER_THREADS_MAX)
		return upt_err_set(e, UPT_E_USAGE, "at most %d compression threads",
				   WRITER_THREADS_MAX);
	if (o.split_size != 0 && o.split_size < SPLIT_SIZE_MIN)
		return upt_err_set(e, UPT_E_USAGE, "split size %llu below the minimum of %d bytes",
				   (unsigned long long)o.split_size, SPLIT_SIZE_MIN);
	if (!path || !*path)
		return upt_err_set(e, UPT_E_USAGE, "no output path");

	upt_bundle_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return oom(e);
	w->tmpfd = -1;
	w->dirfd = -1;
	w->opts = o;
	int rc = UPT_OK;
	char *dcopy = strdup(path);
	w->path = strdup(path);
	w->inbuf = malloc(UPT_IO_CHUNK);
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
	rc = open_tmpfile(w, e);
	if (rc)
		goto out;
	*out = w;
	w = NULL;
out:
	free(dcopy);
	upt_bundle_writer_free(w);
	return rc;
}

int upt_bundle_writer_add_metadata(upt_bundle_writer *w, const char *member, const void *data,
				   size_t len, upt_err *e)
{
	if (w->finished || w->failed)
		return upt_err_set(e, UPT_E_USAGE, "bundle writer already finished");
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
	struct wmeta m = {strdup(member), malloc(len ? len : 1), len};
	if (!m.member || !m.data) {
		free(m.member);
		free(m.data);
		return oom(e);
	}
	if (len)
		memcpy(m.data, data, len);
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
	int rc = upt_fd_write_all(w->tmpfd, p, n, e);
	if (rc)
		return upt_err_prefix(e, "temp file beside %s", w->path);
	w->tmp_size += n;
	return UPT_OK;
}

int upt_bundle_writer_add_image(upt_bundle_writer *w, const char *target_name, const char *src_path,
				uint64_t length, upt_err *e)
{
	if (w->finished || w->failed)
		return upt_err_set(e, UPT_E_USAGE, "bundle writer already finished");
	char *member = NULL;
	if (strlen(target_name) > UPT_TARGET_NAME_MAX ||
	    asprintf(&member, "%s%s", UPT_BUNDLE_IMAGE_PREFIX, target_name) < 0)
		return upt_err_set(e, UPT_E_USAGE, "%s: target name too long", target_name);
	int rc = UPT_OK;
	int fd = -1;
	char *name = NULL;
	if (!upt_bundle_member_path_ok(member)) {
		rc = upt_err_set(
		    e, UPT_E_USAGE,
		    "%s: target name not allowed in a bundle (letters, digits, . _ + - /; "
		    "no empty, \".\" or \"..\" components)",
		    target_name);
		goto out;
	}
	if (member_known(w, member)) {
		rc = upt_err_set(e, UPT_E_USAGE, "%s: added twice", member);
		goto out;
	}
	name = strdup(target_name);
	if (!name) {
		rc = oom(e);
		goto out;
	}
	fd = open(src_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = upt_err_set(e, errno == ENOENT ? UPT_E_NOT_FOUND : UPT_E_IO, "%s: %s",
				 src_path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = upt_err_set(e, UPT_E_IO, "%s: not a regular file", src_path);
		goto out;
	}
	if ((uint64_t)st.st_size != length) {
		rc = upt_err_set(e, UPT_E_USAGE, "%s: %llu bytes, but the target says %llu",
				 src_path, (unsigned long long)st.st_size,
				 (unsigned long long)length);
		goto out;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = cctx_setup(w, length, e);
	if (rc)
		goto out;

	uint64_t offset = w->tmp_size, done = 0;
	ZSTD_EndDirective mode = ZSTD_e_continue;
	while (mode != ZSTD_e_end) {
		size_t want = length - done < UPT_IO_CHUNK ? (size_t)(length - done) : UPT_IO_CHUNK;
		size_t got = 0;
		while (got < want) {
			ssize_t n = read(fd, w->inbuf + got, want - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = upt_err_set(e, UPT_E_IO, "%s: %s", src_path, strerror(errno));
				goto out;
			}
			if (n == 0) {
				rc = upt_err_set(e, UPT_E_USAGE,
						 "%s: shorter than %llu bytes (changed?)", src_path,
						 (unsigned long long)length);
				goto out;
			}
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
			if (n != 0) {
				rc = upt_err_set(e, UPT_E_USAGE,
						 "%s: longer than %llu bytes (changed?)", src_path,
						 (unsigned long long)length);
				goto out;
			}
			mode = ZSTD_e_end;
		}
		ZSTD_inBuffer in = {w->inbuf, got, 0};
		size_t left;
		do {
			ZSTD_outBuffer ob = {w->outbuf, UPT_IO_CHUNK, 0};
			left = ZSTD_compressStream2(w->cctx, &ob, &in, mode);
			if (ZSTD_isError(left)) {
				rc = zstd_error("compression", left, e);
				goto out;
			}
			rc = tmp_write(w, w->outbuf, ob.pos, e);
			if (rc)
				goto out;
		} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	}
	uint64_t clen = w->tmp_size - offset;
	/* never write what a reader refuses as too large (section 3) */
	if (length <= SIZE_MAX && clen > ZSTD_compressBound((size_t)length) + UPT_ZSTD_SLACK) {
		rc = upt_err_set(e, UPT_E_INTERNAL, "%s: compressed larger than the reader allows",
				 target_name);
		goto out;
	}
	if (w->nimgs == w->imgs_cap) {
		size_t ncap = w->imgs_cap ? w->imgs_cap * 2 : 16;
		struct wimage *ni = realloc(w->imgs, ncap * sizeof(*ni));
		if (!ni) {
			rc = oom(e);
			goto out;
		}
		w->imgs = ni;
		w->imgs_cap = ncap;
	}
	w->imgs[w->nimgs++] = (struct wimage){name, member, length, offset, clen};
	name = member = NULL;
out:
	if (rc) {
		/* cut a partial frame off the temp file; earlier images stay */
		uint64_t keep = 0;
		if (w->nimgs)
			keep = w->imgs[w->nimgs - 1].offset + w->imgs[w->nimgs - 1].clen;
		if (w->tmp_size != keep) {
			if (ftruncate(w->tmpfd, (off_t)keep) == 0 &&
			    lseek(w->tmpfd, (off_t)keep, SEEK_SET) >= 0)
				w->tmp_size = keep;
			else
				w->failed = true;
		}
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

/* ---- output volumes ---- */

static int new_volume(upt_bundle_writer *w)
{
	if (w->opts.split_size && w->nvols >= UPT_SPLIT_VOLUMES_MAX) {
		w->write_code = UPT_E_TOO_LARGE;
		return -1;
	}
	struct wvolume *nv = realloc(w->vols, (w->nvols + 1) * sizeof(*nv));
	if (!nv) {
		w->write_code = UPT_E_NOMEM;
		return -1;
	}
	w->vols = nv;
	struct wvolume *v = &w->vols[w->nvols];
	*v = (struct wvolume){NULL, NULL, -1, 0};
	int ok;
	if (w->opts.split_size)
		ok = asprintf(&v->final, "%s.%03zu", w->path, w->nvols) >= 0;
	else
		ok = (v->final = strdup(w->path)) != NULL;
	if (!ok || asprintf(&v->tmp, "%s.tmp-XXXXXX", v->final) < 0) {
		free(v->final);
		w->write_code = UPT_E_NOMEM;
		return -1;
	}
	v->fd = mkostemp(v->tmp, O_CLOEXEC);
	if (v->fd < 0) {
		w->write_errno = errno;
		w->write_code = UPT_E_IO;
		free(v->tmp);
		free(v->final);
		return -1;
	}
	/* 0644: the bundle is public (its integrity comes from the metadata it carries) */
	(void)fchmod(v->fd, 0644);
	w->nvols++;
	return 0;
}

static la_ssize_t cb_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
	(void)a;
	upt_bundle_writer *w = ctx;
	const uint8_t *p = buf;
	size_t left = n;
	while (left) {
		if (w->nvols == 0 ||
		    (w->opts.split_size && w->vols[w->nvols - 1].size >= w->opts.split_size)) {
			if (new_volume(w))
				return -1;
		}
		struct wvolume *v = &w->vols[w->nvols - 1];
		size_t take = left;
		if (w->opts.split_size && take > w->opts.split_size - v->size)
			take = (size_t)(w->opts.split_size - v->size);
		ssize_t r = write(v->fd, p, take);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->write_errno = r < 0 ? errno : EIO;
			w->write_code = UPT_E_IO;
			return -1;
		}
		v->size += (uint64_t)r;
		p += r;
		left -= (size_t)r;
	}
	return (la_ssize_t)n;
}

static int archive_error(upt_bundle_writer *w, struct archive *a, const char *member, upt_err *e)
{
	int rc;
	if (w->write_code == UPT_E_TOO_LARGE)
		rc =
		    upt_err_set(e, UPT_E_TOO_LARGE, "more than %d volumes: use a larger split size",
				UPT_SPLIT_VOLUMES_MAX);
	else if (w->write_code == UPT_E_IO)
		rc = upt_err_set(e, UPT_E_IO, "%s: write error: %s", w->path,
				 strerror(w->write_errno ? w->write_errno : EIO));
	else if (w->write_code)
		rc = upt_err_set(e, w->write_code, "%s: out of memory", w->path);
	else
		rc = upt_err_set(e, UPT_E_INTERNAL, "%s: libarchive: %s", w->path,
				 archive_error_string(a) ? archive_error_string(a) : "error");
	set_file(e, member);
	return rc;
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

static int write_header(upt_bundle_writer *w, struct archive *a, struct archive_entry *ent,
			const char *member, uint64_t size, int64_t mtime, upt_err *e)
{
	archive_entry_clear(ent);
	archive_entry_set_pathname(ent, member);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)size);
	archive_entry_set_mtime(ent, (time_t)mtime, 0);
	archive_entry_set_uid(ent, 0);
	archive_entry_set_gid(ent, 0);
	if (archive_write_header(a, ent) != ARCHIVE_OK)
		return archive_error(w, a, member, e);
	return UPT_OK;
}

static int write_data(upt_bundle_writer *w, struct archive *a, const void *p, size_t n,
		      const char *member, upt_err *e)
{
	if (n && archive_write_data(a, p, n) != (la_ssize_t)n)
		return archive_error(w, a, member, e);
	return UPT_OK;
}

static int copy_image(upt_bundle_writer *w, struct archive *a, const struct wimage *im, upt_err *e)
{
	uint64_t off = im->offset, left = im->clen;
	while (left) {
		size_t want = left < UPT_IO_CHUNK ? (size_t)left : UPT_IO_CHUNK;
		ssize_t n = pread(w->tmpfd, w->inbuf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return upt_err_set(e, UPT_E_IO, "temp file beside %s: %s", w->path,
					   n < 0 ? strerror(errno) : "short read");
		int rc = write_data(w, a, w->inbuf, (size_t)n, im->member, e);
		if (rc)
			return rc;
		off += (uint64_t)n;
		left -= (uint64_t)n;
	}
	return UPT_OK;
}

/* Old files under the names this bundle no longer uses would be read with it: "X.uptane"
 * shadows X.uptane.000..., and a longer old split set would leave stale trailing volumes. */
static void remove_stale(upt_bundle_writer *w)
{
	char *name = NULL;
	if (w->opts.split_size)
		(void)unlinkat(AT_FDCWD, w->path, 0);
	for (size_t i = w->opts.split_size ? w->nvols : 0; i < UPT_SPLIT_VOLUMES_MAX; i++) {
		if (asprintf(&name, "%s.%03zu", w->path, i) < 0)
			return;
		int r = unlink(name);
		free(name);
		name = NULL;
		if (r != 0 && errno == ENOENT)
			break;
	}
}

int upt_bundle_writer_finish(upt_bundle_writer *w, const void *bundle_json, size_t len, upt_err *e)
{
	if (w->finished || w->failed)
		return upt_err_set(e, UPT_E_USAGE, "bundle writer already finished or failed");
	if (len > UPT_BUNDLE_JSON_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "bundle.json over 1 MiB");
	int64_t mtime = members_mtime(bundle_json, len);
	int rc = UPT_OK;
	struct archive *a = archive_write_new();
	struct archive_entry *ent = archive_entry_new();
	if (!a || !ent) {
		rc = oom(e);
		goto out;
	}
	/* pax (restricted: ustar headers unless a name or size needs an extended header),
	 * uncompressed (section 10) */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, w, NULL, cb_write, NULL) != ARCHIVE_OK) {
		rc = archive_error(w, a, NULL, e);
		goto out;
	}
	rc = write_header(w, a, ent, UPT_BUNDLE_JSON_NAME, len, mtime, e);
	if (!rc)
		rc = write_data(w, a, bundle_json, len, UPT_BUNDLE_JSON_NAME, e);
	for (size_t i = 0; !rc && i < w->nmeta; i++) {
		rc = write_header(w, a, ent, w->meta[i].member, w->meta[i].len, mtime, e);
		if (!rc)
			rc =
			    write_data(w, a, w->meta[i].data, w->meta[i].len, w->meta[i].member, e);
	}
	for (size_t i = 0; !rc && i < w->nimgs; i++) {
		rc = write_header(w, a, ent, w->imgs[i].member, w->imgs[i].clen, mtime, e);
		if (!rc)
			rc = copy_image(w, a, &w->imgs[i], e);
	}
	if (rc)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		rc = archive_error(w, a, NULL, e);
		goto out;
	}
	if (w->nvols == 0 && new_volume(w)) {
		rc = archive_error(w, a, NULL, e);
		goto out;
	}
	/* durable before visible: fsync every volume, then rename them into place */
	for (size_t i = 0; i < w->nvols; i++) {
		if (fsync(w->vols[i].fd) != 0) {
			rc = upt_err_set(e, UPT_E_IO, "%s: fsync: %s", w->vols[i].final,
					 strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < w->nvols; i++) {
		if (rename(w->vols[i].tmp, w->vols[i].final) != 0) {
			rc = upt_err_set(e, UPT_E_IO, "%s: rename: %s", w->vols[i].final,
					 strerror(errno));
			goto out;
		}
		free(w->vols[i].tmp);
		w->vols[i].tmp = NULL;
	}
	remove_stale(w);
	if (fsync(w->dirfd) != 0) {
		rc = upt_err_set(e, UPT_E_IO, "%s: fsync of the directory: %s", w->path,
				 strerror(errno));
		goto out;
	}
	w->finished = true;
out:
	if (a)
		archive_write_free(a);
	archive_entry_free(ent);
	if (rc) {
		w->failed = true;
		drop_volumes(w, true);
	} else {
		drop_volumes(w, false);
	}
	return rc;
}
