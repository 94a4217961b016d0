/*
 * bundle_volumes: the files a bundle is stored in, path or path.000, path.001, ... (split
 * volumes, docs/bundle-format.md), as the reader and the writer both see them.
 *
 * Reader side (bundle_volumes.c): every volume opened once, up front, with O_NOFOLLOW and
 * checked to be a regular file (never re-opened by name), read as one stream: skipping is
 * moving the position (pread takes the offset), across volume boundaries too, and a read error
 * is kept as such so that EIO is told apart from a truncated or damaged archive.
 * Writer side: the volume names (upt_volume_name), so both sides agree on them.
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

#endif
