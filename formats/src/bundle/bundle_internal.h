/*
 * bundle_internal: what the container's files (bundle_*.c) share and nothing else sees: the
 * layout's names, how a hostile name is shown, and the block source every stage reads from.
 */
#ifndef UPT_BUNDLE_INTERNAL_H
#define UPT_BUNDLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "upt/err.h"

/* Member names of the layout (docs/bundle-format.md). */
#define UPT_BUNDLE_JSON_NAME "bundle.json"
#define UPT_BUNDLE_META_PREFIX "metadata/"
#define UPT_BUNDLE_IMAGE_PREFIX "images/"
#define UPT_BUNDLE_FORMAT "uptane-offline-bundle"
#define UPT_BUNDLE_VERSION 1
/* bundle.json "version" of a bundle with encrypted images (docs/bundle-format.md) */
#define UPT_BUNDLE_VERSION_ENCRYPTED 2

/* Replaces anything but printable ASCII in s: a hostile name must not reach a terminal raw. */
static inline void upt_bundle_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* e->file gets the member path (NULL: none), made printable (upt_bundle_printable). */
static inline void upt_bundle_err_member(upt_err *e, const char *path)
{
	if (!e)
		return;
	size_t i = 0;
	if (path) {
		for (; path[i] && i < sizeof(e->file) - 1; i++) {
			unsigned char c = (unsigned char)path[i];
			e->file[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
	}
	e->file[i] = '\0';
}

/* A block source: hands out the next block of a member's bytes, or of what a stage made of
 * them (*n = 0 at the end). The zstd decoder reads from one, and the decrypt stage is one over
 * another. */
typedef int (*upt_block_source)(void *ctx, const void **p, size_t *n, upt_err *e);

#endif
