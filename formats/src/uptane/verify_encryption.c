/*
 * verify_encryption: step 4b of docs/threat-model.md, encrypted targets
 * (docs/bundle-format.md, "Encrypted images").
 *
 * The Image repository signs the plaintext's length and hashes (checked in step 4 and again over
 * the decompressed bytes); a Director target that is encrypted also signs, in
 * custom.encryption, the sealed member's length and hashes and the image key wrapped for each
 * recipient key. Both are checked: the sealed form as the bytes arrive (bundle_decrypt.c), the
 * plaintext after decompression. Here: the object's shape and caps, and the one wrapped key
 * meant for this device's decrypt_key, chosen by key id before any image byte is read. Not
 * responsible for opening the wrapped key (the installer holds the private key; a key id that
 * matches but a seal that does not open is refused there, as policy, before streaming).
 */
#include "verify_internal.h"

#include <stdio.h>
#include <string.h>

#include "upt/hex.h"
#include "upt/imgcrypt.h"

static int bad(vfy_ctx *c, const char *target, const char *what)
{
	return upt_vfy_fail(c->e, UPT_E_MALFORMED, c->dtargets_member,
			    "Director targets: malformed: %.200s custom.encryption: %s", target,
			    what);
}

static bool lower_hex(const char *s, size_t len)
{
	if (!s || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The recipient entry whose keyid is this device's, after checking every entry's shape. */
static int pick_recipient(vfy_ctx *c, const char *target, const json_t *list, const json_t **mine)
{
	size_t n = json_array_size(list);
	if (!json_is_array(list) || n == 0)
		return bad(c, target, "recipients must be a non-empty array");
	if (n > UPT_CRYPT_RECIPIENTS_MAX)
		return upt_vfy_fail(c->e, UPT_E_TOO_LARGE, c->dtargets_member,
				    "Director targets: %.200s custom.encryption lists %zu "
				    "recipients, at most %d",
				    target, n, UPT_CRYPT_RECIPIENTS_MAX);
	*mine = NULL;
	const char *id = c->dev->decrypt_keyid;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(list, i);
		const char *keyid = json_string_value(json_object_get(r, "keyid"));
		const char *wrapped = json_string_value(json_object_get(r, "wrapped_key"));
		if (!lower_hex(keyid, UPT_CRYPT_KEYID_HEX) ||
		    !lower_hex(wrapped, 2 * UPT_WRAPPED_KEY_LEN))
			return bad(c, target,
				   "a recipient needs keyid (64 hex digits) and wrapped_key (160 "
				   "hex digits)");
		if (id && strcmp(keyid, id) == 0 && !*mine)
			*mine = r;
	}
	return UPT_OK;
}

static int check_one(vfy_ctx *c, const upt_target *dt, const json_t *enc, upt_assignment *as)
{
	const char *t = dt->name;
	if (!json_is_object(enc))
		return bad(c, t, "not an object");
	const char *scheme = json_string_value(json_object_get(enc, "scheme"));
	if (!scheme || strcmp(scheme, UPT_CRYPT_SCHEME) != 0)
		return bad(c, t, "scheme is not \"" UPT_CRYPT_SCHEME "\"");
	const json_t *chunk = json_object_get(enc, "chunk_size");
	if (!json_is_integer(chunk) || json_integer_value(chunk) != UPT_CRYPT_CHUNK)
		return bad(c, t, "chunk_size is not 65536");
	/* the sealed form of the largest compressed member the reader accepts for this length */
	uint64_t max = upt_crypt_sealed_length(upt_bundle_compressed_max(dt->length));
	const json_t *len = json_object_get(enc, "length");
	if (!json_is_integer(len) || json_integer_value(len) < UPT_CRYPT_HEADER_LEN ||
	    (uint64_t)json_integer_value(len) > max)
		return bad(c, t, "length missing or out of range for the image's length");
	const json_t *hashes = json_object_get(enc, "hashes");
	if (!json_is_object(hashes))
		return bad(c, t, "no hashes");
	upt_hashes h;
	upt_err why;
	if (upt_meta_parse_hashes(hashes, true, &h, &why) != UPT_OK)
		return upt_vfy_fail(c->e, UPT_E_MALFORMED, c->dtargets_member,
				    "Director targets: malformed: %.200s custom.encryption.hashes: "
				    "%s",
				    t, why.msg);
	const json_t *mine = NULL;
	int rc = pick_recipient(c, t, json_object_get(enc, "recipients"), &mine);
	if (rc)
		return rc;
	as->sealed_length = (uint64_t)json_integer_value(len);
	as->sealed_hashes = h;
	if (!c->dev->decrypt_keyid && c->dev->sealed_unopened_ok) {
		as->sealed = true;
		return UPT_OK;
	}
	if (!c->dev->decrypt_keyid)
		return upt_vfy_fail(c->e, UPT_E_POLICY, c->dtargets_member,
				    "policy: %.200s is encrypted and " UPT_CRYPT_NO_KEY
				    ": it cannot open encrypted images (see docs/device-config.md, "
				    "decrypt_key)",
				    t);
	if (!mine)
		return upt_vfy_fail(c->e, UPT_E_POLICY, c->dtargets_member,
				    "policy: %.200s is " UPT_CRYPT_OTHER_KEY
				    " (key id %.16s...), only for other keys: this stick was made "
				    "for another device, or for another key of this one",
				    t, c->dev->decrypt_keyid);
	rc = upt_hex_decode(json_string_value(json_object_get(mine, "wrapped_key")),
			    as->wrapped_key, sizeof(as->wrapped_key), c->e);
	if (rc)
		return bad(c, t, "wrapped_key is not hex");
	as->sealed = true;
	as->has_wrapped_key = true;
	return UPT_OK;
}

int upt_vfy_encryption(vfy_ctx *c, upt_verify_result *out)
{
	const json_t *targets = json_object_get(c->dtargets->signed_obj, "targets");
	for (size_t i = 0; i < out->nassignments && i < c->nas; i++) {
		const upt_target *dt = c->as[i].dt;
		const json_t *custom =
		    json_object_get(json_object_get(targets, dt->name), "custom");
		const json_t *enc = json_object_get(custom, "encryption");
		if (!enc)
			continue;
		int rc = check_one(c, dt, enc, &out->assignments[i]);
		if (rc)
			return rc;
	}
	return UPT_OK;
}
