/* hex: exact-length hex decoding (either case) and lowercase encoding. */
#ifndef UPT_HEX_H
#define UPT_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "upt/err.h"

/* Decodes exactly n bytes from a string of exactly 2n hex digits. UPT_E_MALFORMED on wrong
 * length or a non-hex character; out untouched on failure. */
int upt_hex_decode(const char *hex, uint8_t *out, size_t n, upt_err *e) UPT_MUST_CHECK;

/* Writes 2n lowercase digits and a NUL to out (2n + 1 bytes). */
void upt_hex_encode(const uint8_t *in, size_t n, char *out);

#endif
