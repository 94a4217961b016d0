/*
 * image_keys: the image keys of an encrypted bundle (docs/bundle-format.md, "Encrypted
 * images"). The device's decrypt_key is loaded for the attempt (its key id chooses, during
 * verification, the wrapped key meant for this device); once verification passed, every
 * assigned sealed target's image key is unwrapped here, before any image byte is read: a
 * stick whose keys this device cannot open is refused as policy with nothing written.
 * Image keys live in sodium memory and are wiped when the attempt ends.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "installer.h"
#include "upt/imgcrypt.h"
#include "upt/verify.h"

struct image_keys {
	upt_decrypt_key *key;	/* NULL: no decrypt_key configured */
	upt_image_decrypt *img; /* per assignment of the verified result, sodium memory */
	const upt_assignment *as;
	size_t n;
};

int image_keys_load(const upt_devconfig *cfg, struct image_keys **out, upt_err *e)
{
	struct image_keys *k = calloc(1, sizeof(*k));
	if (!k)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if (cfg->decrypt_key) {
		int rc = upt_decrypt_key_load(cfg->decrypt_key, &k->key, e);
		if (rc) {
			free(k);
			if (e)
				e->code = UPT_E_CONFIG;
			upt_err_prefix(e, "decrypt_key %s", cfg->decrypt_key);
			return UPT_E_CONFIG;
		}
	}
	*out = k;
	return UPT_OK;
}

const char *image_keys_keyid(const struct image_keys *k)
{
	return k && k->key ? upt_decrypt_key_id(k->key) : NULL;
}

int image_keys_unwrap(struct image_keys *k, const upt_verify_result *vr, upt_err *e)
{
	size_t sealed = 0;
	for (size_t i = 0; i < vr->nassignments; i++)
		sealed += vr->assignments[i].sealed && !vr->assignments[i].already_installed;
	if (sealed == 0)
		return UPT_OK;
	if (!k->key) /* verification refuses this first; kept as a guard */
		return upt_err_set(
		    e, UPT_E_POLICY,
		    "policy: the bundle's images are encrypted and " UPT_CRYPT_NO_KEY);
	k->img = sodium_malloc(vr->nassignments * sizeof(*k->img));
	if (!k->img)
		return upt_err_set(e, UPT_E_NOMEM, "out of secure memory");
	memset(k->img, 0, vr->nassignments * sizeof(*k->img));
	k->as = vr->assignments;
	k->n = vr->nassignments;
	for (size_t i = 0; i < vr->nassignments; i++) {
		const upt_assignment *a = &vr->assignments[i];
		if (!a->sealed || a->already_installed)
			continue;
		if (!a->has_wrapped_key) /* the device never sets sealed_unopened_ok */
			return upt_err_set(e, UPT_E_INTERNAL, "no wrapped key for %s",
					   a->target_name);
		int rc = upt_crypt_unwrap(k->key, a->wrapped_key, k->img[i].key, e);
		if (rc) {
			upt_err_set(e, UPT_E_POLICY,
				    "policy: %.200s is " UPT_CRYPT_OTHER_KEY
				    ": its image key is listed for this key id but does not open "
				    "with it (the stick was made for another key of this device)",
				    a->target_name);
			return UPT_E_POLICY;
		}
		k->img[i].length = a->sealed_length;
		k->img[i].hashes = a->sealed_hashes;
	}
	return UPT_OK;
}

const upt_image_decrypt *image_keys_for(const struct image_keys *k, const upt_assignment *a)
{
	if (!k || !k->img || !a->sealed || a < k->as || a >= k->as + k->n)
		return NULL;
	return &k->img[a - k->as];
}

void image_keys_free(struct image_keys *k)
{
	if (!k)
		return;
	if (k->img)
		sodium_free(k->img); /* wipes */
	upt_decrypt_key_free(k->key);
	free(k);
}
