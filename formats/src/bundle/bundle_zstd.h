/*
 * bundle_zstd: the zstd decoder of one image member, as the reader may decode it: current
 * frames only (every frame's magic number is checked first: legacy pre-1.0 frames, whose
 * decoders ignore the window cap, never reach libzstd), a window of at most 4 MiB, the
 * member's length as its header gives it, and the compressed-size cap of section 3 counted on
 * the bytes consumed. The compressed bytes come from a block source (the member, or the
 * decrypt stage over it); the output goes into the caller's buffers.
 */
#ifndef UPT_BUNDLE_ZSTD_H
#define UPT_BUNDLE_ZSTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "bundle_internal.h"
#include "upt/err.h"

struct upt_zstd_stream {
	ZSTD_DCtx *dctx;
	upt_block_source src; /* the compressed bytes: set before the first read */
	void *src_ctx;
	uint64_t member_length; /* compressed bytes the member header gives */
	uint64_t signed_length; /* decompressed length the metadata signs */
	uint64_t cap; /* compressed bytes allowed: ZSTD_compressBound(signed_length) + slack */

	ZSTD_inBuffer in;
	bool eof;
	size_t last;	   /* last ZSTD_decompressStream return: 0 = frame complete and flushed */
	uint64_t consumed; /* compressed bytes taken from the member: counted here, not trusted */
	bool over_cap;	   /* the member holds more than cap bytes */
	bool frame_start;  /* the next member byte begins a frame: its magic is checked first */
	uint8_t stash[4];  /* a magic number split across two member blocks */
	size_t nstash;
};

/* Resets dctx (owned by the caller) for a member of member_length bytes that must decode to
 * signed_length bytes. UPT_E_INTERNAL when libzstd refuses the set-up. */
int upt_zstd_stream_start(struct upt_zstd_stream *z, ZSTD_DCtx *dctx, uint64_t member_length,
			  uint64_t signed_length, upt_err *e) UPT_MUST_CHECK;
/* Decodes into out, up to cap bytes: *produced bytes, *finished once every frame is complete
 * and the member's bytes are consumed. Invalid zstd (also truncated, trailing garbage, empty,
 * legacy) UPT_E_MALFORMED; a window over 4 MiB or bytes over the cap UPT_E_TOO_LARGE; the
 * source's errors as they are. */
int upt_zstd_stream_read(struct upt_zstd_stream *z, uint8_t *out, size_t cap, size_t *produced,
			 bool *finished, upt_err *e) UPT_MUST_CHECK;

#endif
