/*
 * bundle_ring: the overlapped image stream. A producer thread decompresses into a small ring
 * of UPT_IO_CHUNK buffers while the calling thread hashes and feeds the sink, so an install
 * costs max(decompress, hash + write) rather than their sum; SHA-512, when both digests are
 * listed, on a third thread reading the same slots.
 */
#ifndef UPT_BUNDLE_RING_H
#define UPT_BUNDLE_RING_H

#include <stdint.h>

#include "bundle_image.h"

#define UPT_RING_SLOTS 4 /* buffers between decompression and hashing */

/* How upt_ring_stream went. */
enum upt_ring_outcome {
	UPT_RING_STREAMED,  /* the image went through the ring (or failed on the way): see *rc */
	UPT_RING_NO_THREAD, /* no thread could be started and nothing was read: stream the
			       image on this thread instead (upt_image_stream_single) */
};

/* Streams s through the ring of bufs (UPT_RING_SLOTS buffers of UPT_IO_CHUNK bytes, the
 * caller's): *rc gets the outcome when UPT_RING_STREAMED. The sink and progress run on the
 * calling thread; the helpers are joined before this returns. */
enum upt_ring_outcome upt_ring_stream(uint8_t *const bufs[UPT_RING_SLOTS],
				      struct upt_image_stream *s, int *rc, upt_err *e);

#endif
