/* encrypt: recipients, image keys and custom.encryption (see encrypt.h). */
#include "encrypt.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/meta.h"

void crypt_plan_free(crypt_plan *p)
{
	for (size_t i = 0; i < p->nr; i++)
		free(p->r[i].label);
	for (size_t i = 0; i < p->nimg; i++) {
		free(p->img[i].name);
		if (p->img[i].key)
			sodium_free(p->img[i].key);
	}
	free(p->r);
	free(p->img);
	memset(p, 0, sizeof(*p));
}

const crypt_recipient *crypt_plan_find(const crypt_plan *p, const char *label)
{
	for (size_t i = 0; i < p->nr; i++)
		if (!strcmp(p->r[i].label, label))
			return &p->r[i];
	return NULL;
}

static bool label_ok(const char *label)
{
	size_t n = strlen(CRYPT_HW_PREFIX);
	return upt_name_valid(strncmp(label, CRYPT_HW_PREFIX, n) ? label : label + n);
}

int crypt_plan_add(crypt_plan *p, const char *label, const uint8_t pub[UPT_X25519_LEN], upt_err *e)
{
	if (!label_ok(label))
		return upt_err_set(e, UPT_E_USAGE,
				   "\"%.200s\": not a device id or hardware-id:HW ([A-Za-z0-9._-])",
				   label);
	if (crypt_plan_find(p, label))
		return upt_err_set(e, UPT_E_USAGE, "%.200s: encryption key given twice", label);
	if (p->nr >= UPT_CRYPT_RECIPIENTS_MAX)
		return upt_err_set(e, UPT_E_USAGE, "more than %d encryption recipients",
				   UPT_CRYPT_RECIPIENTS_MAX);
	crypt_recipient *nr = realloc(p->r, (p->nr + 1) * sizeof(*nr));
	if (!nr)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	p->r = nr;
	crypt_recipient *r = &p->r[p->nr];
	memcpy(r->pub, pub, UPT_X25519_LEN);
	int rc = upt_crypt_keyid(pub, r->keyid, e);
	if (rc)
		return rc;
	r->label = strdup(label);
	if (!r->label)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	p->nr++;
	return UPT_OK;
}

int crypt_plan_add_spec(crypt_plan *p, const char *spec, upt_err *e)
{
	const char *eq = strrchr(spec, '=');
	if (!eq || eq == spec || !eq[1])
		return upt_err_set(e, UPT_E_USAGE,
				   "--encrypt-to %.200s: expected DEVICE=NAME.pub or "
				   "hardware-id:HW=NAME.pub",
				   spec);
	char label[UPT_NAME_MAX + 32];
	if ((size_t)(eq - spec) >= sizeof(label))
		return upt_err_set(e, UPT_E_USAGE, "--encrypt-to: name too long");
	memcpy(label, spec, (size_t)(eq - spec));
	label[eq - spec] = '\0';
	uint8_t pub[UPT_X25519_LEN];
	int rc = upt_x25519_load_public(eq + 1, pub, e);
	if (rc == UPT_OK)
		rc = crypt_plan_add(p, label, pub, e);
	if (rc)
		upt_err_prefix(e, "--encrypt-to %.200s", spec);
	return rc;
}

int crypt_plan_new_image(crypt_plan *p, const char *name, const uint8_t **key, upt_err *e)
{
	if (sodium_init() < 0)
		return upt_err_set(e, UPT_E_INTERNAL, "libsodium failed to initialise");
	crypt_image *ni = realloc(p->img, (p->nimg + 1) * sizeof(*ni));
	if (!ni)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	p->img = ni;
	crypt_image *im = &p->img[p->nimg];
	memset(im, 0, sizeof(*im));
	im->name = strdup(name);
	im->key = sodium_malloc(UPT_CRYPT_KEY_LEN);
	if (!im->name || !im->key) {
		free(im->name);
		if (im->key)
			sodium_free(im->key);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	randombytes_buf(im->key, UPT_CRYPT_KEY_LEN); /* fresh for every image and bundle */
	p->nimg++;
	*key = im->key;
	return UPT_OK;
}

crypt_image *crypt_plan_image(const crypt_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nimg; i++)
		if (!strcmp(p->img[i].name, name))
			return &p->img[i];
	return NULL;
}

static json_t *hashes_json(const upt_hashes *h)
{
	json_t *o = json_object();
	char hex[2 * UPT_SHA512_LEN + 1];
	if (o && h->has_sha256) {
		upt_hex_encode(h->sha256, UPT_SHA256_LEN, hex);
		json_object_set_new(o, "sha256", json_string(hex));
	}
	if (o && h->has_sha512) {
		upt_hex_encode(h->sha512, UPT_SHA512_LEN, hex);
		json_object_set_new(o, "sha512", json_string(hex));
	}
	return o;
}

int crypt_plan_target_json(const crypt_plan *p, const char *name, const char *const *labels,
			   size_t n, json_t **out, upt_err *e)
{
	*out = NULL;
	const crypt_image *im = crypt_plan_image(p, name);
	if (!im)
		return UPT_OK;
	if (!im->sealed)
		return upt_err_set(e, UPT_E_INTERNAL, "image %s not sealed yet", name);
	if (n == 0)
		return upt_err_set(e, UPT_E_USAGE, "image %s: nobody to encrypt it for", name);
	json_t *list = json_array();
	json_t *o = json_pack("{s:s, s:i, s:I, s:o}", "scheme", UPT_CRYPT_SCHEME, "chunk_size",
			      (int)UPT_CRYPT_CHUNK, "length", (json_int_t)im->info.length, "hashes",
			      hashes_json(&im->info.hashes));
	if (!list || !o) {
		json_decref(list);
		json_decref(o);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < n; i++) {
		const crypt_recipient *r = crypt_plan_find(p, labels[i]);
		if (!r) {
			rc = upt_err_set(
			    e, UPT_E_USAGE,
			    "%s has no encryption key: give --encrypt-to %s=NAME.pub, or register "
			    "it (devices add --encryption-key) and use --encrypt --ledger",
			    labels[i], labels[i]);
			break;
		}
		uint8_t wrapped[UPT_WRAPPED_KEY_LEN];
		char hex[2 * UPT_WRAPPED_KEY_LEN + 1];
		rc = upt_crypt_wrap(r->pub, im->key, wrapped, e);
		if (rc)
			break;
		upt_hex_encode(wrapped, sizeof(wrapped), hex);
		json_t *ent = json_pack("{s:s, s:s, s:s}", "keyid", r->keyid, "wrapped_key", hex,
					"recipient", r->label);
		if (!ent || json_array_append_new(list, ent))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	if (rc) {
		json_decref(list);
		json_decref(o);
		return rc;
	}
	json_object_set_new(o, "recipients", list);
	*out = o;
	return UPT_OK;
}
