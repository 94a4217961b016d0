/*
 * fuzz_format: the input framing of fuzz_verify (and what the scenario generator writes as its
 * seeds): a sequence of records
 *   kind (1 byte) | name length (1 byte) | name | data length (3 bytes, big endian) | data
 * kind 'T': a trusted-state file (name = trust name), 'B': a bundle member (name = member
 * path), 'F': the time floor, 'N': now (data = 8 bytes big endian, name empty).
 * Decoding never allocates beyond the input size; malformed framing ends the record list.
 */
#ifndef UPT_FUZZ_FORMAT_H
#define UPT_FUZZ_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "upt/buf.h"

typedef struct fz_record {
	char kind;
	char name[256];
	const uint8_t *data;
	size_t len;
} fz_record;

/* Reads the record at *pos; 0 at the end or on bad framing. */
static inline int fz_next(const uint8_t *in, size_t size, size_t *pos, fz_record *r)
{
	size_t p = *pos;
	if (size - p < 2)
		return 0;
	r->kind = (char)in[p];
	size_t nl = in[p + 1];
	p += 2;
	if (size - p < nl + 3)
		return 0;
	memcpy(r->name, in + p, nl);
	r->name[nl] = '\0';
	p += nl;
	size_t dl = ((size_t)in[p] << 16) | ((size_t)in[p + 1] << 8) | in[p + 2];
	p += 3;
	if (size - p < dl)
		return 0;
	r->data = in + p;
	r->len = dl;
	*pos = p + dl;
	return 1;
}

static inline int64_t fz_int64(const fz_record *r)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8 && i < r->len; i++)
		v = (v << 8) | r->data[i];
	return (int64_t)v;
}

/* Appends one record (for seed writers). */
static inline int fz_put(upt_buf *out, char kind, const char *name, const void *data, size_t len)
{
	size_t nl = strlen(name);
	uint8_t h[2] = {(uint8_t)kind, (uint8_t)nl};
	uint8_t l[3] = {(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
	if (nl > 255 || len > 0xffffff)
		return -1;
	return upt_buf_append(out, h, 2, NULL) || upt_buf_append(out, name, nl, NULL) ||
	       upt_buf_append(out, l, 3, NULL) || upt_buf_append(out, data, len, NULL);
}

static inline int fz_put_int64(upt_buf *out, char kind, int64_t v)
{
	uint8_t b[8];
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v = (int64_t)((uint64_t)v >> 8);
	}
	return fz_put(out, kind, "", b, 8);
}

#endif
