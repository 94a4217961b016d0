/* buf: bounded growable byte buffer. */
#include "upt/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void upt_buf_init(upt_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void upt_buf_clear(upt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

static int reserve(upt_buf *b, size_t need, upt_err *e)
{
	/* need + 1 for the terminator; need <= max was checked, max is far below SIZE_MAX / 2 */
	if (need + 1 <= b->cap)
		return UPT_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory (%zu bytes)", cap);
	b->data = p;
	b->cap = cap;
	return UPT_OK;
}

int upt_buf_append(upt_buf *b, const void *p, size_t n, upt_err *e)
{
	if (n > b->max || b->len > b->max - n)
		return upt_err_set(e, UPT_E_TOO_LARGE, "more than %zu bytes", b->max);
	int rc = reserve(b, b->len + n, e);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return UPT_OK;
}

int upt_buf_append_str(upt_buf *b, const char *s, upt_err *e)
{
	return upt_buf_append(b, s, strlen(s), e);
}

int upt_buf_copy(upt_buf *dst, const upt_buf *src, upt_err *e)
{
	upt_buf tmp;
	upt_buf_init(&tmp, dst->max);
	int rc = upt_buf_append(&tmp, src->data, src->len, e);
	if (rc) {
		upt_buf_clear(&tmp);
		return rc;
	}
	upt_buf_clear(dst);
	*dst = tmp;
	return UPT_OK;
}

int upt_buf_equal(const upt_buf *a, const upt_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

void upt_namelist_add(char *list, size_t size, const char *name)
{
	size_t n = strnlen(list, size);
	if (n + 1 >= size)
		return;
	/* several targets naming the same devices or hardware ids list each name once */
	size_t len = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += len)
		if ((p == list || (p >= list + 2 && p[-2] == ',' && p[-1] == ' ')) &&
		    (p[len] == '\0' || p[len] == ','))
			return;
	int w = snprintf(list + n, size - n, "%s%s", n ? ", " : "", name);
	if (w < 0 || (size_t)w >= size - n) {
		/* cut: end with an ellipsis so nobody mistakes it for the whole list */
		if (size > 4)
			memcpy(list + size - 4, "...", 4);
	}
}
