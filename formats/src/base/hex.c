/* hex: exact-length decoding, lowercase encoding. */
#include "upt/hex.h"

#include <string.h>

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int upt_hex_decode(const char *hex, uint8_t *out, size_t n, upt_err *e)
{
	size_t len = strnlen(hex, 2 * n + 1);
	if (len != 2 * n)
		return upt_err_set(e, UPT_E_MALFORMED,
				   "hex string of %zu digits where %zu expected", strlen(hex),
				   2 * n);
	for (size_t i = 0; i < len; i++)
		if (nibble(hex[i]) < 0)
			return upt_err_set(e, UPT_E_MALFORMED, "not a hex digit at position %zu",
					   i);
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
	return UPT_OK;
}

void upt_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}
