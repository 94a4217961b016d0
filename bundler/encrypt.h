/*
 * encrypt: the station's side of encrypted images (docs/bundle-format.md, "Encrypted images").
 * Who the bundle is encrypted for (create --encrypt-to LABEL=NAME.pub, or the registered
 * encryption keys of the bundle's devices with --encrypt --ledger), a fresh random image key per
 * image, and the Director's custom.encryption object for one device or hardware id: the
 * sealed member's length and hashes and the image key wrapped (crypto_box_seal) for each
 * recipient. A recipient's label is a device id or "hardware-id:HW".
 */
#ifndef UPT_BUNDLER_ENCRYPT_H
#define UPT_BUNDLER_ENCRYPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/bundle.h"
#include "upt/err.h"
#include "upt/imgcrypt.h"

#define CRYPT_HW_PREFIX "hardware-id:"

typedef struct crypt_recipient {
	char *label;
	uint8_t pub[UPT_X25519_LEN];
	char keyid[UPT_CRYPT_KEYID_HEX + 1];
} crypt_recipient;

typedef struct crypt_image {
	char *name;   /* target name */
	uint8_t *key; /* sodium memory, UPT_CRYPT_KEY_LEN */
	upt_sealed_info info;
	bool sealed; /* info is set */
} crypt_image;

typedef struct crypt_plan {
	crypt_recipient *r;
	size_t nr;
	crypt_image *img;
	size_t nimg;
} crypt_plan;

void crypt_plan_free(crypt_plan *p);
/* "LABEL=NAME.pub": LABEL a device id or hardware-id:HW; one key per label. */
int crypt_plan_add_spec(crypt_plan *p, const char *spec, upt_err *e) UPT_MUST_CHECK;
int crypt_plan_add(crypt_plan *p, const char *label, const uint8_t pub[UPT_X25519_LEN],
		   upt_err *e) UPT_MUST_CHECK;
const crypt_recipient *crypt_plan_find(const crypt_plan *p, const char *label);
/* A fresh random image key for target name (*key: owned by the plan). */
int crypt_plan_new_image(crypt_plan *p, const char *name, const uint8_t **key,
			 upt_err *e) UPT_MUST_CHECK;
crypt_image *crypt_plan_image(const crypt_plan *p, const char *name);
/* custom.encryption of target name for the recipients labels[0..n) (each must be in the plan);
 * *out NULL when the target is not encrypted. */
int crypt_plan_target_json(const crypt_plan *p, const char *name, const char *const *labels,
			   size_t n, json_t **out, upt_err *e) UPT_MUST_CHECK;

#endif
