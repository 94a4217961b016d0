/*
 * bundle_volumes: the files a bundle is stored in, path or path.000, path.001, ... (split
 * volumes, docs/bundle-format.md), as the reader and the writer both see them.
 *
 * Reader side (bundle_volumes.c): every volume opened once, up front, with O_NOFOLLOW and
 * checked to be a regular file (never re-opened by name), read as one stream: skipping is
 * moving the position (pread takes the offset), across volume boundaries too, and a read error
 * is kept as such so that EIO is told apart from a truncated or damaged archive.
 * Writer side (bundle_volumes_out.c): the output volumes, written under temp names beside
 * the final ones, appended to as one stream (rolled over at the split size), patched and cut
 * back at logical offsets, then published atomically. Both sides name volumes with
 * upt_volume_name.
 */
#ifndef UPT_BUNDLE_VOLUMES_H
#define UPT_BUNDLE_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "upt/err.h"

/* Split volume names: "<path>.NNN", three decimal digits (UPT_SPLIT_VOLUMES_MAX = 1000). */
#define UPT_VOLUME_SUFFIX_LEN 4

/* "<base>.NNN" for volume index (malloc'd; NULL when out of memory). */
char *upt_volume_name(const char *base, size_t index);

struct upt_volume {
	int fd;
	uint64_t size;
};

/* The input volumes as one stream. Zero-initialised is empty (nothing to close). */
struct upt_volumes {
	struct upt_volume *vols;
	size_t n;
	char *base;	     /* "X.uptane" when read as volumes X.uptane.000, ...; else NULL */
	uint64_t total;	     /* sum of the volume sizes */
	uint64_t pos;	     /* logical position in the concatenated volumes */
	size_t cur;	     /* volume that holds pos */
	uint64_t cur_start;  /* logical offset at which vols[cur] starts */
	int io_errno;	     /* set on a real read error (or a volume that shrank) */
	const char *io_what; /* with io_errno: "read error" or "volume shrank while reading" */
};

/* Opens path; "X.uptane" also finds X.uptane.000, .001... (when X.uptane itself is absent);
 * "X.uptane.000" works too. Errors as upt_bundle_reader_open documents them. */
int upt_volumes_open(struct upt_volumes *vs, const char *path, upt_err *e) UPT_MUST_CHECK;
/* Takes over descriptors already open, in volume order (closed by upt_volumes_close, also on
 * failure); each must be a regular file (UPT_E_UNSAFE_ARCHIVE). */
int upt_volumes_adopt(struct upt_volumes *vs, const int *fds, size_t n, upt_err *e) UPT_MUST_CHECK;
/* Reads up to cap bytes at the position into buf: the byte count, 0 at the end of the last
 * volume, -1 on a read error (io_errno and io_what say which; a volume that shrank is EIO). */
ssize_t upt_volumes_read(struct upt_volumes *vs, void *buf, size_t cap);
/* Moves the position forward by up to n bytes, never past the end: the bytes skipped. */
uint64_t upt_volumes_skip(struct upt_volumes *vs, uint64_t n);
/* When the archive was found to go on after the last volume read to its end: true, and e says
 * whether that volume is short (copied in part) or the next one missing (UPT_E_MALFORMED,
 * naming the volume). False when the volumes are not the reason. */
bool upt_volumes_cut_short(const struct upt_volumes *vs, upt_err *e);
void upt_volumes_close(struct upt_volumes *vs);

/* ---- writer side ---- */

struct upt_out_volume {
	char *tmp;   /* temp name while writing */
	char *final; /* name after publishing */
	int fd;
	uint64_t size;	 /* bytes written */
	uint64_t kicked; /* writeback started up to here */
};

/* The output as one stream. Zero-initialised with path and split set is empty. */
struct upt_out_volumes {
	const char *path; /* the bundle's path (not owned) */
	uint64_t split;	  /* 0: one file, path; else path.000, ... each <= split bytes */
	struct upt_out_volume *vols;
	size_t n;
	uint64_t off;	  /* logical offset: bytes written in all volumes */
	uint8_t *copybuf; /* for upt_out_copy when copy_file_range cannot copy */
};

/* Appends to the output (a new volume when the last is full). */
int upt_out_write(struct upt_out_volumes *ov, const void *p, size_t n, upt_err *e) UPT_MUST_CHECK;
/* Appends len bytes of fd from offset off: copy_file_range, else 1 MiB blocks. */
int upt_out_copy(struct upt_out_volumes *ov, int fd, uint64_t off, uint64_t len,
		 upt_err *e) UPT_MUST_CHECK;
/* Overwrites bytes already written at logical offset off (possibly across two volumes). */
int upt_out_pwrite(struct upt_out_volumes *ov, uint64_t off, const void *p, size_t n,
		   upt_err *e) UPT_MUST_CHECK;
/* Cuts the output back to off bytes: later volumes removed, the last one kept truncated. */
int upt_out_truncate(struct upt_out_volumes *ov, uint64_t off, upt_err *e) UPT_MUST_CHECK;
/* fsyncs every volume, renames them into place, removes old files the bundle would be read
 * together with (an unsplit path beside a split set, stale trailing volumes; path.000... beside
 * an unsplit one), fsyncs dirfd. */
int upt_out_publish(struct upt_out_volumes *ov, int dirfd, upt_err *e) UPT_MUST_CHECK;
/* Closes every volume; remove_tmp: removes them too (unpublished, or a partial set). */
void upt_out_drop(struct upt_out_volumes *ov, bool remove_tmp);

#endif
