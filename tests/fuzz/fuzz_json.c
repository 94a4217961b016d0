/*
 * libFuzzer target: the strict JSON parser and the OLPC canonical encoder (cjson). Anything the
 * parser accepts must encode, and the canonical form must be a fixed point: parsing it again
 * and re-encoding gives the same bytes. (OLPC canonical JSON writes control characters raw,
 * which is not JSON: such output cannot be parsed again, and is only checked for that.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "upt/cjson.h"
#include "upt/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL, *w = NULL;
	upt_buf a, b;
	upt_buf_init(&a, 4u * UPT_META_FILE_MAX);
	upt_buf_init(&b, 4u * UPT_META_FILE_MAX);
	if (upt_json_parse(data, size, UPT_META_FILE_MAX, &v, NULL) != UPT_OK)
		goto out;
	if (upt_cjson_encode(v, &a, NULL) != UPT_OK)
		goto out; /* e.g. the canonical form exceeds the buffer cap */
	if (upt_json_parse(a.data, a.len, 4u * UPT_META_FILE_MAX, &w, NULL) != UPT_OK) {
		/* our canonical output must parse unless it holds a raw control character */
		for (size_t i = 0; i < a.len; i++)
			if (a.data[i] < 0x20)
				goto out;
		abort();
	}
	if (upt_cjson_encode(w, &b, NULL) != UPT_OK || !upt_buf_equal(&a, &b))
		abort(); /* and be a fixed point */
out:
	json_decref(v);
	json_decref(w);
	upt_buf_clear(&a);
	upt_buf_clear(&b);
	return 0;
}
