/*
 * bundle_image: one image member, decompressed, capped at its signed length, hashed and
 * handed to the sink (see bundle_image.h).
 *
 * Decision (docs/bundle-format.md states it): a complete stream that decodes to fewer bytes
 * than signed is UPT_E_ARBITRARY_SOFTWARE; one that decodes to more is UPT_E_ENDLESS_DATA,
 * and the sink never sees a byte past the signed length.
 */
#include "bundle_image.h"

#include "upt/limits.h"

int upt_image_stream_fill(struct upt_image_stream *s, uint64_t done, uint8_t *buf, size_t *len,
			  enum upt_image_block *next, upt_err *e)
{
	size_t produced = 0;
	bool finished = false;
	*len = 0;
	int rc = upt_zstd_stream_read(&s->z, buf, UPT_IO_CHUNK, &produced, &finished, e);
	if (rc)
		return rc;
	uint64_t room = s->signed_length - done;
	if (produced > room) {
		*len = (size_t)room;
		*next = UPT_BLOCK_PAST_SIGNED;
	} else {
		*len = produced;
		*next = finished ? UPT_BLOCK_LAST : UPT_BLOCK_MORE;
	}
	return UPT_OK;
}

int upt_image_stream_endless(const struct upt_image_stream *s, upt_err *e)
{
	return upt_err_set(e, UPT_E_ENDLESS_DATA,
			   "image decompresses to more than its signed length of %llu bytes",
			   (unsigned long long)s->signed_length);
}

int upt_image_stream_check(const struct upt_image_stream *s, uint64_t done, const upt_hashes *got,
			   upt_err *e)
{
	if (done < s->signed_length)
		return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
				   "image is %llu bytes, shorter than its signed length of %llu",
				   (unsigned long long)done, (unsigned long long)s->signed_length);
	if (!upt_hashes_match(s->expected, got))
		return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
				   "image bytes do not match the signed %s",
				   s->expected->has_sha256 && s->expected->has_sha512 ? "hashes"
				   : s->expected->has_sha256			      ? "sha256"
										      : "sha512");
	return UPT_OK;
}

int upt_image_stream_deliver(const struct upt_image_stream *s, upt_hasher *h, const uint8_t *p,
			     size_t n, uint64_t done, upt_err *e)
{
	int rc = upt_hasher_update(h, p, n, e);
	if (rc == UPT_OK)
		rc = s->sink(s->sink_ctx, p, n, e);
	if (rc == UPT_OK && s->progress)
		s->progress(s->sink_ctx, done + n, s->signed_length);
	return rc;
}

int upt_image_stream_single(struct upt_image_stream *s, uint8_t *buf, upt_err *e)
{
	upt_hasher *h = NULL;
	int rc = upt_hasher_new(s->expected->has_sha256, s->expected->has_sha512, &h, e);
	if (rc)
		return rc;
	uint64_t done = 0;
	for (;;) {
		size_t take = 0;
		enum upt_image_block next = UPT_BLOCK_MORE;
		rc = upt_image_stream_fill(s, done, buf, &take, &next, e);
		if (rc)
			goto out;
		if (take) {
			rc = upt_image_stream_deliver(s, h, buf, take, done, e);
			if (rc)
				goto out;
			done += take;
		}
		if (next == UPT_BLOCK_PAST_SIGNED) {
			rc = upt_image_stream_endless(s, e);
			goto out;
		}
		if (next == UPT_BLOCK_LAST)
			break;
	}
	upt_hashes got;
	rc = upt_hasher_final(h, &got, e);
	if (rc == UPT_OK)
		rc = upt_image_stream_check(s, done, &got, e);
out:
	upt_hasher_free(h);
	return rc;
}
