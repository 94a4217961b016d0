/*
 * libFuzzer target: the bundle reader end to end (tar and pax members, the member rules,
 * bundle.json, metadata caps, zstd frames, split volumes). The input is framed records
 * (fuzz_format.h): 'V' records are the volumes in order (memfds, so the reader's own pread and
 * volume-crossing code runs), 'D' (name) keeps only that device's share, 'L' (8 bytes) and 'H'
 * (32 bytes) are the signed length and SHA-256 every image is streamed against. Every image
 * found is streamed; whatever the input, the reader must end with a code, never crash, hang or
 * hand the sink more than the signed length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_format.h"
#include "upt/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VOLUMES 8

struct sink_state {
	uint64_t got, limit;
};

static int sink(void *ctx, const void *p, size_t n, upt_err *e)
{
	(void)p;
	(void)e;
	struct sink_state *s = ctx;
	s->got += n;
	if (s->got > s->limit)
		abort(); /* the reader promised never to pass the signed length */
	return UPT_OK;
}

static int volume(const fz_record *r)
{
	int fd = memfd_create("vol", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < r->len;) {
		ssize_t n = write(fd, r->data + off, r->len - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[MAX_VOLUMES];
	size_t nfds = 0, pos = 0;
	char device[256] = "";
	uint64_t length = 0;
	upt_hashes want = {.has_sha256 = true};
	fz_record r;
	while (fz_next(data, size, &pos, &r)) {
		if (r.kind == 'V' && nfds < MAX_VOLUMES)
			fds[nfds++] = volume(&r);
		else if (r.kind == 'D')
			memcpy(device, r.name, sizeof(device));
		else if (r.kind == 'L')
			length = (uint64_t)fz_int64(&r) & ((1u << 26) - 1); /* at most 64 MiB */
		else if (r.kind == 'H' && r.len == sizeof(want.sha256))
			memcpy(want.sha256, r.data, r.len);
	}
	upt_bundle_reader *br = NULL;
	upt_bundle_meta *m = NULL;
	upt_err e;
	if (upt_bundle_reader_open_fds(fds, nfds, &br, &e) != UPT_OK)
		return 0;
	if (device[0])
		upt_bundle_reader_keep_device(br, device);
	int rc = upt_bundle_read_metadata(br, &m, &e);
	for (int images = 0; rc == UPT_OK && images < 16; images++) {
		const char *name;
		uint64_t clen;
		rc = upt_bundle_next_image(br, &name, &clen, &e);
		if (rc)
			break;
		struct sink_state s = {0, length};
		/* a failed stream leaves the reader usable for the next image, or failed for good
		 */
		int stream_rc = upt_bundle_stream_image(br, length, &want, sink, &s, NULL, &e);
		(void)stream_rc;
	}
	upt_bundle_meta_free(m);
	upt_bundle_reader_free(br);
	return 0;
}
