/*
 * bundle_image: one image member streamed to the caller: zstd (bundle_zstd) -> clamp to the
 * signed length -> SHA-256/512 -> sink, and the verdict on what was delivered. The blocks are
 * made and delivered here one after the other (upt_image_stream_single), or by the overlapped
 * ring (bundle_ring) on two or three threads with the same steps.
 */
#ifndef UPT_BUNDLE_IMAGE_H
#define UPT_BUNDLE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "bundle_zstd.h"
#include "upt/bundle.h"
#include "upt/hash.h"

struct upt_image_stream {
	struct upt_zstd_stream z;
	uint64_t signed_length;
	const upt_hashes *expected;
	upt_image_sink sink;
	void *sink_ctx;
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
};

/* What follows a block of output. */
enum upt_image_block {
	UPT_BLOCK_MORE,	       /* more blocks follow */
	UPT_BLOCK_LAST,	       /* the image is complete */
	UPT_BLOCK_PAST_SIGNED, /* the image goes on past its signed length: the block holds
				  only the bytes up to it; report upt_image_stream_endless */
};

/* The next block of decompressed bytes into buf (UPT_IO_CHUNK bytes), done bytes having been
 * made before: *len of them may be delivered (never one past the signed length, Uptane
 * 5.4.4.2 step 13), *next says what follows. */
int upt_image_stream_fill(struct upt_image_stream *s, uint64_t done, uint8_t *buf, size_t *len,
			  enum upt_image_block *next, upt_err *e) UPT_MUST_CHECK;
/* Hashes a block with h and hands it to the sink and progress (done: bytes delivered before). */
int upt_image_stream_deliver(const struct upt_image_stream *s, upt_hasher *h, const uint8_t *p,
			     size_t n, uint64_t done, upt_err *e) UPT_MUST_CHECK;
/* UPT_E_ENDLESS_DATA, for UPT_BLOCK_PAST_SIGNED. */
int upt_image_stream_endless(const struct upt_image_stream *s, upt_err *e);
/* The verdict once done bytes are delivered, got their digests (from one hasher or merged). */
int upt_image_stream_check(const struct upt_image_stream *s, uint64_t done, const upt_hashes *got,
			   upt_err *e) UPT_MUST_CHECK;
/* The whole image on the calling thread, through buf (UPT_IO_CHUNK bytes). */
int upt_image_stream_single(struct upt_image_stream *s, uint8_t *buf, upt_err *e) UPT_MUST_CHECK;

#endif
