/*
 * bundle_decrypt: the decrypt stage (bundle_decrypt.c), between a sealed member's bytes and
 * the zstd decoder (bundle_zstd.h): a block source over the member's block source.
 */
#ifndef UPT_BUNDLE_DECRYPT_H
#define UPT_BUNDLE_DECRYPT_H

#include <stddef.h>

#include "bundle_internal.h"
#include "upt/err.h"
#include "upt/imgcrypt.h"

/* The source hands out the member's next block (*n = 0 at its end). _next gives the
 * next block of opened bytes; *n = 0 once the FINAL chunk opened, nothing followed it and the
 * sealed bytes' length and hashes matched d. Failures: UPT_E_ARBITRARY_SOFTWARE. */
typedef struct upt_decrypt_stage upt_decrypt_stage;
int upt_decrypt_stage_new(const upt_image_decrypt *d, upt_decrypt_stage **out,
			  upt_err *e) UPT_MUST_CHECK;
int upt_decrypt_stage_next(upt_decrypt_stage *s, upt_block_source src, void *ctx, const void **p,
			   size_t *n, upt_err *e) UPT_MUST_CHECK;
void upt_decrypt_stage_free(upt_decrypt_stage *s);

#endif
