/*
 * bundle_volumes_out: the writer's output volumes, path or path.000, .001, ... (see
 * bundle_volumes.h): appended to as one stream rolled over so that no volume exceeds the split
 * size, patched and cut back at logical offsets (a logical offset maps to (offset / split,
 * offset % split), so patches may straddle two volumes), and published atomically: temp names
 * beside the final ones, fsync, rename, fsync of the directory.
 */
#include "bundle_volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upt/limits.h"

#define WRITEBACK_STEP (8u << 20) /* start writeback of every 8 MiB written */
#define COPY_CHUNK (1u << 20)	  /* temp file -> output: bytes per copy */

static void close_volume(struct upt_out_volume *v, bool remove_tmp)
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

void upt_out_drop(struct upt_out_volumes *ov, bool remove_tmp)
{
	for (size_t i = 0; i < ov->n; i++)
		close_volume(&ov->vols[i], remove_tmp);
	free(ov->vols);
	ov->vols = NULL;
	ov->n = 0;
	free(ov->copybuf);
	ov->copybuf = NULL;
}

static int write_error(const struct upt_out_volumes *ov, int err, upt_err *e)
{
	return upt_err_set(e, UPT_E_IO, "%s: write error: %s", ov->path, strerror(err ? err : EIO));
}

static int new_volume(struct upt_out_volumes *ov, upt_err *e)
{
	if (ov->split && ov->n >= UPT_SPLIT_VOLUMES_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE,
				   "more than %d volumes: use a larger split size",
				   UPT_SPLIT_VOLUMES_MAX);
	struct upt_out_volume *nv = realloc(ov->vols, (ov->n + 1) * sizeof(*nv));
	if (!nv)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	ov->vols = nv;
	struct upt_out_volume *v = &ov->vols[ov->n];
	*v = (struct upt_out_volume){NULL, NULL, -1, 0, 0};
	int ok;
	if (ov->split)
		ok = (v->final = upt_volume_name(ov->path, ov->n)) != NULL;
	else
		ok = (v->final = strdup(ov->path)) != NULL;
	if (!ok || asprintf(&v->tmp, "%s.tmp-XXXXXX", v->final) < 0) {
		free(v->final);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	v->fd = mkostemp(v->tmp, O_CLOEXEC);
	if (v->fd < 0) {
		int err = errno;
		free(v->tmp);
		free(v->final);
		return upt_err_set(e, UPT_E_IO, "%s: %s", ov->path, strerror(err));
	}
	/* 0644: the bundle is public (its integrity comes from the metadata it carries) */
	(void)fchmod(v->fd, 0644);
	ov->n++;
	return UPT_OK;
}

/* Starts the writeback of what the volume got since the last start, once WRITEBACK_STEP bytes
 * are waiting (or any, when `all`): the disk writes while zstd compresses, and the final fsync
 * finds little left. A hint only: write errors surface at fsync. */
static void kick_writeback(struct upt_out_volume *v, bool all)
{
	uint64_t waiting = v->size - v->kicked;
	if (waiting == 0 || (!all && waiting < WRITEBACK_STEP))
		return;
	(void)sync_file_range(v->fd, (off_t)v->kicked, (off_t)waiting, SYNC_FILE_RANGE_WRITE);
	v->kicked = v->size;
}

/* The volume the next byte at the end of the output goes to (a new one when the last is
 * full), and how many bytes still fit in it. */
static int out_tail(struct upt_out_volumes *ov, struct upt_out_volume **v, uint64_t *room,
		    upt_err *e)
{
	if (ov->n == 0 || (ov->split && ov->vols[ov->n - 1].size >= ov->split)) {
		int rc = new_volume(ov, e);
		if (rc)
			return rc;
	}
	*v = &ov->vols[ov->n - 1];
	*room = ov->split ? ov->split - (*v)->size : UINT64_MAX;
	return UPT_OK;
}

static void out_advance(struct upt_out_volumes *ov, struct upt_out_volume *v, uint64_t n)
{
	v->size += n;
	ov->off += n;
	kick_writeback(v, ov->split && v->size >= ov->split);
}

/* Appends to the output. */
int upt_out_write(struct upt_out_volumes *ov, const void *p, size_t n, upt_err *e)
{
	const uint8_t *b = p;
	while (n) {
		struct upt_out_volume *v;
		uint64_t room;
		int rc = out_tail(ov, &v, &room, e);
		if (rc)
			return rc;
		size_t take = n < room ? n : (size_t)room;
		ssize_t r = write(v->fd, b, take);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return write_error(ov, r < 0 ? errno : EIO, e);
		out_advance(ov, v, (uint64_t)r);
		b += r;
		n -= (size_t)r;
	}
	return UPT_OK;
}

/* Overwrites bytes already written at logical offset off (possibly across two volumes). */
int upt_out_pwrite(struct upt_out_volumes *ov, uint64_t off, const void *p, size_t n, upt_err *e)
{
	const uint8_t *b = p;
	if (off > ov->off || n > ov->off - off)
		return upt_err_set(e, UPT_E_INTERNAL, "%s: patch past the end of the output",
				   ov->path);
	while (n) {
		uint64_t split = ov->split;
		size_t i = split ? (size_t)(off / split) : 0;
		uint64_t voff = split ? off % split : off;
		if (i >= ov->n || voff >= ov->vols[i].size)
			return upt_err_set(e, UPT_E_INTERNAL, "%s: patch outside the volumes",
					   ov->path);
		uint64_t avail = ov->vols[i].size - voff;
		size_t take = n < avail ? n : (size_t)avail;
		ssize_t r = pwrite(ov->vols[i].fd, b, take, (off_t)voff);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return write_error(ov, r < 0 ? errno : EIO, e);
		off += (uint64_t)r;
		b += r;
		n -= (size_t)r;
	}
	return UPT_OK;
}

/* Cuts the output back to `off` bytes (a failed member goes away, earlier ones stay): later
 * volumes are removed, the last one kept is truncated. */
int upt_out_truncate(struct upt_out_volumes *ov, uint64_t off, upt_err *e)
{
	uint64_t split = ov->split;
	size_t keep = ov->n;
	uint64_t last = off;
	if (split) {
		keep = off ? (size_t)((off - 1) / split + 1) : 0;
		last = off ? off - (uint64_t)(keep - 1) * split : 0;
	}
	if (off > ov->off || keep > ov->n)
		return upt_err_set(e, UPT_E_INTERNAL, "%s: truncation past the end", ov->path);
	while (ov->n > keep)
		close_volume(&ov->vols[--ov->n], true);
	if (keep) {
		struct upt_out_volume *v = &ov->vols[keep - 1];
		if (ftruncate(v->fd, (off_t)last) != 0 || lseek(v->fd, (off_t)last, SEEK_SET) < 0)
			return upt_err_set(e, UPT_E_IO, "%s: truncate: %s", ov->path,
					   strerror(errno));
		v->size = last;
		if (v->kicked > last)
			v->kicked = last;
	}
	ov->off = off;
	return UPT_OK;
}

/* Appends len bytes of fd from offset off: copy_file_range (in the kernel, no copy through
 * user space), else COPY_CHUNK blocks. */
int upt_out_copy(struct upt_out_volumes *ov, int fd, uint64_t off, uint64_t len, upt_err *e)
{
	bool in_kernel = true;
	while (len) {
		struct upt_out_volume *v;
		uint64_t room;
		int rc = out_tail(ov, &v, &room, e);
		if (rc)
			return rc;
		size_t take = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
		if (take > room)
			take = (size_t)room;
		ssize_t r;
		if (in_kernel) {
			loff_t from = (loff_t)off;
			r = copy_file_range(fd, &from, v->fd, NULL, take, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP || errno == EBADF)) {
				in_kernel = false;
				continue;
			}
			if (r < 0)
				return write_error(ov, errno, e);
			if (r == 0)
				return upt_err_set(e, UPT_E_IO, "temp file beside %s: short read",
						   ov->path);
			out_advance(ov, v, (uint64_t)r);
		} else {
			if (!ov->copybuf && !(ov->copybuf = malloc(COPY_CHUNK)))
				return upt_err_set(e, UPT_E_NOMEM, "out of memory");
			r = pread(fd, ov->copybuf, take, (off_t)off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return upt_err_set(e, UPT_E_IO, "temp file beside %s: %s", ov->path,
						   r < 0 ? strerror(errno) : "short read");
			rc = upt_out_write(ov, ov->copybuf, (size_t)r, e);
			if (rc)
				return rc;
		}
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return UPT_OK;
}

/* Old files under the names this bundle no longer uses would be read with it: "X.uptane"
 * shadows X.uptane.000..., and a longer old split set would leave stale trailing volumes. */
static void remove_stale(struct upt_out_volumes *ov)
{
	char *name = NULL;
	if (ov->split)
		(void)unlinkat(AT_FDCWD, ov->path, 0);
	for (size_t i = ov->split ? ov->n : 0; i < UPT_SPLIT_VOLUMES_MAX; i++) {
		if (!(name = upt_volume_name(ov->path, i)))
			return;
		int r = unlink(name);
		free(name);
		name = NULL;
		if (r != 0 && errno == ENOENT)
			break;
	}
}

int upt_out_publish(struct upt_out_volumes *ov, int dirfd, upt_err *e)
{
	/* durable before visible: fsync every volume, then rename them into place */
	for (size_t i = 0; i < ov->n; i++)
		if (fsync(ov->vols[i].fd) != 0)
			return upt_err_set(e, UPT_E_IO, "%s: fsync: %s", ov->vols[i].final,
					   strerror(errno));
	for (size_t i = 0; i < ov->n; i++) {
		if (rename(ov->vols[i].tmp, ov->vols[i].final) != 0)
			return upt_err_set(e, UPT_E_IO, "%s: rename: %s", ov->vols[i].final,
					   strerror(errno));
		free(ov->vols[i].tmp);
		ov->vols[i].tmp = NULL;
	}
	remove_stale(ov);
	if (fsync(dirfd) != 0)
		return upt_err_set(e, UPT_E_IO, "%s: fsync of the directory: %s", ov->path,
				   strerror(errno));
	return UPT_OK;
}
