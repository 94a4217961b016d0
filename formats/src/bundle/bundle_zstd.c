/*
 * bundle_zstd: one image member's zstd stream, decoded within the reader's caps (see
 * bundle_zstd.h).
 *
 * Decisions (docs/bundle-format.md states them):
 * - A zstd frame that needs a window over 4 MiB is UPT_E_TOO_LARGE (a resource cap, like the
 *   other caps); a truncated frame, trailing garbage or a legacy (pre-1.0) frame is
 *   UPT_E_MALFORMED (not valid zstd).
 * - The compressed-size cap is applied to the bytes consumed, so output past the signed length
 *   that shows first is reported as endless data (the image stream's check, which sees each
 *   block before the next is read).
 */
#include "bundle_zstd.h"

#include <string.h>
#include <zstd_errors.h>

#include "upt/bundle.h"
#include "upt/limits.h"

/* The compressed size cap of section 3, here because the reader enforces it; the writer never
 * goes above it. */
uint64_t upt_bundle_compressed_max(uint64_t length)
{
	uint64_t bound = UINT64_MAX;
	if (length <= SIZE_MAX) {
		/* the macro, not ZSTD_compressBound(): that one would link the whole zstd
		 * compressor (~400 KiB) into the installer; 0 means over ZSTD_MAX_INPUT_SIZE */
		size_t b = ZSTD_COMPRESSBOUND((size_t)length);
		if (b != 0)
			bound = b;
	}
	return bound <= UINT64_MAX - UPT_ZSTD_SLACK ? bound + UPT_ZSTD_SLACK : UINT64_MAX;
}

static int zstd_fail(size_t ret, upt_err *e)
{
	switch (ZSTD_getErrorCode(ret)) {
	case ZSTD_error_frameParameter_windowTooLarge:
		return upt_err_set(e, UPT_E_TOO_LARGE,
				   "zstd frame needs a decoder window over 4 MiB (windowLog > %d)",
				   UPT_ZSTD_WINDOW_LOG_MAX);
	case ZSTD_error_memory_allocation:
		return upt_err_set(e, UPT_E_NOMEM, "out of memory (zstd)");
	default:
		return upt_err_set(e, UPT_E_MALFORMED, "not valid zstd: %s",
				   ZSTD_getErrorName(ret));
	}
}

static int too_large(const struct upt_zstd_stream *z, upt_err *e)
{
	return upt_err_set(
	    e, UPT_E_TOO_LARGE,
	    "compressed image of %llu bytes exceeds ZSTD_compressBound(%llu) + 64 KiB",
	    (unsigned long long)z->member_length, (unsigned long long)z->signed_length);
}

static int truncated(const struct upt_zstd_stream *z, upt_err *e)
{
	return upt_err_set(e, UPT_E_MALFORMED,
			   z->consumed ? "truncated zstd frame"
				       : "empty image member (no zstd frame)");
}

int upt_zstd_stream_start(struct upt_zstd_stream *z, ZSTD_DCtx *dctx, uint64_t member_length,
			  uint64_t signed_length, upt_err *e)
{
	*z = (struct upt_zstd_stream){
	    .dctx = dctx,
	    .member_length = member_length,
	    .signed_length = signed_length,
	    /* The compressed-size cap (section 3) is enforced on the bytes actually consumed,
	     * not refused up front from the header: an over-long image whose member is also
	     * over the cap shows its output past the signed length first and is reported as
	     * endless data, the attack it is (the interoperability vector image-endless-data:
	     * 694896 compressed bytes for a 300000-byte target). The work stays bounded by
	     * the cap either way. */
	    .cap = upt_bundle_compressed_max(signed_length),
	    .last = 1,
	    .frame_start = true,
	};
	size_t zr = ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
	if (!ZSTD_isError(zr))
		zr = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, UPT_ZSTD_WINDOW_LOG_MAX);
	if (ZSTD_isError(zr))
		return upt_err_set(e, UPT_E_INTERNAL, "zstd set-up failed: %s",
				   ZSTD_getErrorName(zr));
	return UPT_OK;
}

/*
 * Only current zstd frames (and skippable frames) are decoded. libzstd as distributions build
 * it also decodes the pre-1.0 "legacy" formats, whose decoders do not honour
 * ZSTD_d_windowLogMax: a legacy frame could make the device allocate a window far over 4 MiB.
 * So the magic number of every frame is checked before the decoder sees the frame.
 */
static bool frame_magic_ok(const uint8_t m[4])
{
	uint32_t v =
	    (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
	return v == ZSTD_MAGICNUMBER ||
	       (v & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START;
}

/* What check_frame_start found at a frame start. */
enum frame_start {
	FRAME_NEEDS_INPUT, /* fewer than 4 bytes so far: they are stashed, read the next block */
	FRAME_DECODABLE,   /* the magic number is good: the frame may go to the decoder */
};

/* At a frame start: checks the magic number, once 4 bytes are there (*next says whether they
 * are). Bytes stashed from the previous block are handed to the decoder here. */
static int check_frame_start(struct upt_zstd_stream *z, ZSTD_outBuffer *ob, enum frame_start *next,
			     upt_err *e)
{
	size_t avail = z->in.size - z->in.pos;
	/* an empty member leaves in.src NULL: NULL + 0 and memcpy from NULL are undefined */
	const uint8_t *p = avail ? (const uint8_t *)z->in.src + z->in.pos : NULL;
	if (z->nstash + avail < sizeof(z->stash)) {
		if (z->eof)
			return truncated(z, e);
		if (avail) /* consumed: the block is about to go */
			memcpy(z->stash + z->nstash, p, avail);
		z->nstash += avail;
		z->in.pos = z->in.size;
		*next = FRAME_NEEDS_INPUT;
		return UPT_OK;
	}
	uint8_t m[4];
	memcpy(m, z->stash, z->nstash);
	memcpy(m + z->nstash, p, sizeof(m) - z->nstash); /* peeked, not consumed */
	if (!frame_magic_ok(m))
		return upt_err_set(
		    e, UPT_E_MALFORMED,
		    "not a zstd frame (unknown or legacy format) at compressed byte %llu",
		    (unsigned long long)(z->consumed - avail - z->nstash));
	z->frame_start = false;
	ZSTD_inBuffer sin = {z->stash, z->nstash, 0};
	while (sin.pos < sin.size) {
		size_t before = sin.pos;
		size_t ret = ZSTD_decompressStream(z->dctx, ob, &sin);
		if (ZSTD_isError(ret))
			return zstd_fail(ret, e);
		z->last = ret;
		if (sin.pos == before)
			return upt_err_set(e, UPT_E_MALFORMED, "zstd decoder made no progress");
	}
	z->nstash = 0;
	*next = FRAME_DECODABLE;
	return UPT_OK;
}

/* The next block of compressed bytes into z->in, counted against the header and the cap;
 * z->eof at the member's end. */
static int next_input(struct upt_zstd_stream *z, upt_err *e)
{
	if (z->over_cap)
		return too_large(z, e);
	const void *p = NULL;
	size_t n = 0;
	int rc = z->src(z->src_ctx, &p, &n, e);
	if (rc)
		return rc;
	if (n == 0) {
		z->eof = true;
		return UPT_OK;
	}
	if (n > z->member_length - z->consumed)
		return upt_err_set(e, UPT_E_MALFORMED, "member longer than its header says");
	if (n > z->cap - z->consumed) {
		/* only the bytes within the cap are decoded */
		n = (size_t)(z->cap - z->consumed);
		z->over_cap = true;
	}
	z->consumed += n;
	z->in.src = p;
	z->in.size = n;
	z->in.pos = 0;
	return UPT_OK;
}

int upt_zstd_stream_read(struct upt_zstd_stream *z, uint8_t *out, size_t cap, size_t *produced,
			 bool *finished, upt_err *e)
{
	*produced = 0;
	*finished = false;
	ZSTD_outBuffer ob = {out, cap, 0};
	while (ob.pos < ob.size) {
		if (z->in.pos == z->in.size && !z->eof) {
			int rc = next_input(z, e);
			if (rc)
				return rc;
		}
		if (z->eof && z->in.pos == z->in.size && z->last == 0 && z->nstash == 0) {
			*finished = true;
			break;
		}
		if (z->frame_start) {
			enum frame_start next = FRAME_DECODABLE;
			int rc = check_frame_start(z, &ob, &next, e);
			if (rc)
				return rc;
			if (next == FRAME_NEEDS_INPUT)
				continue;
		}
		size_t in_before = z->in.pos, out_before = ob.pos;
		size_t ret = ZSTD_decompressStream(z->dctx, &ob, &z->in);
		if (ZSTD_isError(ret))
			return zstd_fail(ret, e);
		z->last = ret;
		if (ret == 0)
			z->frame_start = true; /* the next byte, if any, begins another frame */
		if (ob.pos == out_before && z->in.pos == in_before) {
			/* no progress: input ended mid-frame, or a stuck decoder */
			if (z->eof)
				return truncated(z, e);
			if (z->in.pos < z->in.size)
				return upt_err_set(e, UPT_E_MALFORMED,
						   "zstd decoder made no progress");
		}
	}
	*produced = ob.pos;
	return UPT_OK;
}
