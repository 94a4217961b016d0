/*
 * buf: a growable byte buffer with a maximum fixed at birth, so untrusted input can never
 * grow it without bound. Always NUL-terminated past len (data[len] == 0) for convenience; the
 * terminator is not counted in len or checked against max.
 */
#ifndef UPT_BUF_H
#define UPT_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "upt/err.h"

typedef struct upt_buf {
	uint8_t *data; /* NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* len never exceeds this */
} upt_buf;

/* Empty buffer that may grow to max bytes. No allocation. */
void upt_buf_init(upt_buf *b, size_t max);

/* Frees the storage; the buffer is empty (same max) and reusable afterwards. */
void upt_buf_clear(upt_buf *b);

/* Appends n bytes. UPT_E_TOO_LARGE when len + n > max, UPT_E_NOMEM; b untouched on failure. */
int upt_buf_append(upt_buf *b, const void *p, size_t n, upt_err *e) UPT_MUST_CHECK;
int upt_buf_append_str(upt_buf *b, const char *s, upt_err *e) UPT_MUST_CHECK;

/* Replaces the contents with a copy of src's bytes (dst keeps its own max). */
int upt_buf_copy(upt_buf *dst, const upt_buf *src, upt_err *e) UPT_MUST_CHECK;

/* Byte equality of contents. */
int upt_buf_equal(const upt_buf *a, const upt_buf *b);

/* Adds name to list, a NUL-terminated "a, b, c" in size bytes, for messages: each name once; a
 * list that does not fit ends in "..." (and takes no more names). */
void upt_namelist_add(char *list, size_t size, const char *name);

#endif
