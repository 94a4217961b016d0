/*
 * metabuild: builds the `signed` objects of every role and signs envelopes into canonical file
 * bytes. What it writes, meta.c parses back (the unit tests round-trip every role).
 *
 * Not responsible for: choosing versions, expiries or keys (the bundler's policy), or checking
 * that a builder's inputs make sense as Uptane (the verifier checks what is signed).
 */
#include "upt/metabuild.h"

#include <stdlib.h>
#include <string.h>

#include "upt/cjson.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"

#define SPEC_VERSION "1.0.31"

/* json_object_set_new that tolerates a NULL value (out of memory) by failing. */
static int set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		return -1;
	return json_object_set_new(obj, key, v);
}

static json_t *time_str(int64_t t)
{
	char s[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(t, s);
	return json_string(s);
}

static json_t *common(upt_role_type type, uint64_t version, int64_t expires)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (set_new(o, "_type", json_string(upt_role_type_name(type))) ||
	    set_new(o, "spec_version", json_string(SPEC_VERSION)) ||
	    set_new(o, "version", json_integer((json_int_t)version)) ||
	    set_new(o, "expires", time_str(expires))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Adds the keys to keys_map (keyed by the id of the object written) and returns the array of
 * their ids, in order, without repeats. NULL on out of memory or a key that is not ed25519. */
static json_t *add_keys(json_t *keys_map, const upt_key *keys, size_t nkeys)
{
	json_t *ids = json_array();
	if (!ids)
		return NULL;
	for (size_t i = 0; i < nkeys; i++) {
		char id[UPT_KEYID_HEX_LEN + 1];
		json_t *obj = upt_key_to_json(&keys[i]);
		/* The id is recomputed over what we write, so a key whose id came from another
		 * form (extra fields) cannot end up under an id that does not hash to it. */
		if (!obj || upt_keyid(obj, id, NULL) != UPT_OK) {
			json_decref(obj);
			json_decref(ids);
			return NULL;
		}
		bool dup = false;
		for (size_t j = 0; j < json_array_size(ids) && !dup; j++)
			dup = !strcmp(json_string_value(json_array_get(ids, j)), id);
		if (set_new(keys_map, id, obj)) {
			json_decref(ids);
			return NULL;
		}
		if (!dup && json_array_append_new(ids, json_string(id)) != 0) {
			json_decref(ids);
			return NULL;
		}
	}
	return ids;
}

json_t *upt_mb_root(uint64_t version, int64_t expires, const upt_mb_role *roles, size_t nroles)
{
	json_t *o = common(UPT_ROLE_ROOT, version, expires);
	json_t *keys = json_object();
	json_t *rmap = json_object();
	if (!o || !keys || !rmap)
		goto fail;
	for (size_t i = 0; i < nroles; i++) {
		json_t *ids = add_keys(keys, roles[i].keys, roles[i].nkeys);
		json_t *r = json_object();
		if (!ids || !r) {
			json_decref(ids);
			json_decref(r);
			goto fail;
		}
		/* set_new consumes its value even when it fails */
		if (set_new(r, "keyids", ids) ||
		    set_new(r, "threshold", json_integer((json_int_t)roles[i].threshold))) {
			json_decref(r);
			goto fail;
		}
		if (set_new(rmap, roles[i].name, r))
			goto fail;
	}
	/* TUF clients expect consistent_snapshot; bundles name files without version prefixes. */
	if (set_new(o, "consistent_snapshot", json_false()))
		goto fail;
	int bad = set_new(o, "keys", keys);
	keys = NULL;
	bad = bad || set_new(o, "roles", rmap);
	rmap = NULL;
	if (bad)
		goto fail;
	return o;
fail:
	json_decref(keys);
	json_decref(rmap);
	json_decref(o);
	return NULL;
}

static json_t *hashes_json(const upt_hashes *h)
{
	char hex[2 * UPT_SHA512_LEN + 1];
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (h->has_sha256) {
		upt_hex_encode(h->sha256, sizeof(h->sha256), hex);
		if (set_new(o, "sha256", json_string(hex)))
			goto fail;
	}
	if (h->has_sha512) {
		upt_hex_encode(h->sha512, sizeof(h->sha512), hex);
		if (set_new(o, "sha512", json_string(hex)))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* {"version": V, "length": N, "hashes": {"sha256": ...}} of a file the caller passes. */
static json_t *fileinfo(const upt_mb_fileref *f)
{
	upt_hashes h;
	memset(&h, 0, sizeof(h));
	h.has_sha256 = true;
	if (upt_sha256(f->bytes, f->len, h.sha256, NULL) != UPT_OK)
		return NULL;
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (set_new(o, "version", json_integer((json_int_t)f->version)) ||
	    set_new(o, "length", json_integer((json_int_t)f->len)) ||
	    set_new(o, "hashes", hashes_json(&h))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *meta_role(upt_role_type type, uint64_t version, int64_t expires,
			 const upt_mb_fileref *files, size_t nfiles, int64_t issued)
{
	json_t *o = common(type, version, expires);
	json_t *meta = json_object();
	if (!o || !meta)
		goto fail;
	for (size_t i = 0; i < nfiles; i++)
		if (set_new(meta, files[i].name, fileinfo(&files[i])))
			goto fail;
	if (issued >= 0 && set_new(o, "issued", time_str(issued)))
		goto fail;
	int bad = set_new(o, "meta", meta);
	meta = NULL;
	if (bad)
		goto fail;
	return o;
fail:
	json_decref(meta);
	json_decref(o);
	return NULL;
}

json_t *upt_mb_timestamp(uint64_t version, int64_t expires, const upt_mb_fileref *snapshot,
			 int64_t issued)
{
	return meta_role(UPT_ROLE_TIMESTAMP, version, expires, snapshot, 1, issued);
}

json_t *upt_mb_snapshot(upt_role_type type, uint64_t version, int64_t expires,
			const upt_mb_fileref *files, size_t nfiles, int64_t issued)
{
	if (type != UPT_ROLE_SNAPSHOT && type != UPT_ROLE_OFFLINE_SNAPSHOT)
		return NULL;
	return meta_role(type, version, expires, files, nfiles, issued);
}

json_t *upt_mb_targets(upt_role_type type, uint64_t version, int64_t expires, const char *device_id)
{
	if (type != UPT_ROLE_TARGETS && type != UPT_ROLE_OFFLINE_UPDATES)
		return NULL;
	json_t *o = common(type, version, expires);
	if (!o)
		return NULL;
	if (set_new(o, "targets", json_object()) ||
	    (device_id && set_new(o, "deviceId", json_string(device_id)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *str_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* {"format", "length", "hashes": {"sha256": hex}}: pinned, other tools read it (docs/sbom.md). */
static json_t *sbom_json(const upt_mb_target *t)
{
	char hex[2 * UPT_SHA256_LEN + 1];
	upt_hex_encode(t->sbom_sha256, UPT_SHA256_LEN, hex);
	return json_pack("{s:s, s:I, s:{s:s}}", "format", t->sbom_format, "length",
			 (json_int_t)t->sbom_length, "hashes", "sha256", hex);
}

int upt_mb_targets_add(json_t *signed_targets, const upt_mb_target *t, upt_err *e)
{
	json_t *targets = json_object_get(signed_targets, "targets");
	if (!json_is_object(targets))
		return upt_err_set(e, UPT_E_USAGE, "not a targets object");
	size_t nlen = t->name ? strlen(t->name) : 0;
	if (nlen == 0 || nlen > UPT_TARGET_NAME_MAX)
		return upt_err_set(e, UPT_E_USAGE, "target name of %zu bytes (1 to %d allowed)",
				   nlen, UPT_TARGET_NAME_MAX);
	if (!t->hashes.has_sha256)
		return upt_err_set(e, UPT_E_USAGE, "target %s has no sha256", t->name);
	json_t *o = json_object();
	json_t *custom = json_object();
	if (!o || !custom)
		goto nomem;
	if (set_new(o, "length", json_integer((json_int_t)t->length)) ||
	    set_new(o, "hashes", hashes_json(&t->hashes)))
		goto nomem;
	if (t->nhardware_ids &&
	    set_new(custom, "hardwareIds", str_array(t->hardware_ids, t->nhardware_ids)))
		goto nomem;
	if (t->has_release_counter &&
	    set_new(custom, "releaseCounter", json_integer((json_int_t)t->release_counter)))
		goto nomem;
	if (t->necus) {
		json_t *ecus = json_object();
		if (set_new(custom, "ecuIdentifiers", ecus))
			goto nomem;
		for (size_t i = 0; i < t->necus; i++)
			if (set_new(ecus, t->ecus[i].serial,
				    json_pack("{s:s}", "hardwareId", t->ecus[i].hardware_id)))
				goto nomem;
	}
	if (t->device_ids && set_new(custom, "deviceIds", str_array(t->device_ids, t->ndevice_ids)))
		goto nomem;
	if (t->sbom_format && set_new(custom, "sbom", sbom_json(t)))
		goto nomem;
	json_t *c = custom;
	custom = NULL;
	if (json_object_size(c) ? set_new(o, "custom", c) : (json_decref(c), 0))
		goto nomem;
	json_t *tobj = o;
	o = NULL;
	if (set_new(targets, t->name, tobj))
		goto nomem;
	return UPT_OK;
nomem:
	json_decref(custom);
	json_decref(o);
	return upt_err_set(e, UPT_E_NOMEM, "out of memory");
}

int upt_mb_targets_delegate(json_t *signed_targets, const upt_mb_delegation *d, upt_err *e)
{
	if (!json_is_object(json_object_get(signed_targets, "targets")))
		return upt_err_set(e, UPT_E_USAGE, "not a targets object");
	if (!upt_name_valid(d->name))
		return upt_err_set(e, UPT_E_USAGE, "delegated role name \"%s\" is not valid",
				   d->name ? d->name : "");
	json_t *del = json_object_get(signed_targets, "delegations");
	if (!del) {
		del = json_pack("{s:{}, s:[]}", "keys", "roles");
		if (set_new(signed_targets, "delegations", del))
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	json_t *keys = json_object_get(del, "keys");
	json_t *roles = json_object_get(del, "roles");
	if (!json_is_object(keys) || !json_is_array(roles))
		return upt_err_set(e, UPT_E_USAGE, "delegations object is damaged");
	for (size_t i = 0; i < json_array_size(roles); i++) {
		const char *n =
		    json_string_value(json_object_get(json_array_get(roles, i), "name"));
		if (n && !strcmp(n, d->name))
			return upt_err_set(e, UPT_E_USAGE, "role %s is already delegated", d->name);
	}
	json_t *ids = add_keys(keys, d->keys, d->nkeys);
	if (!ids)
		return upt_err_set(e, UPT_E_USAGE,
				   "cannot add the keys of %s (not ed25519, or out "
				   "of memory)",
				   d->name);
	json_t *r = json_object();
	if (!r) {
		json_decref(ids);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	if (set_new(r, "name", json_string(d->name)) || set_new(r, "keyids", ids) ||
	    set_new(r, "threshold", json_integer((json_int_t)d->threshold)) ||
	    set_new(r, "paths", str_array(d->paths, d->npaths)) ||
	    set_new(r, "terminating", json_boolean(d->terminating)) ||
	    (d->hardware_ids &&
	     set_new(r, "hardwareIds", str_array(d->hardware_ids, d->nhardware_ids)))) {
		json_decref(r);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	if (json_array_append_new(roles, r))
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	return UPT_OK;
}

static bool has_control(const upt_buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] < 0x20)
			return true;
	return false;
}

int upt_mb_sign(const json_t *signed_obj, const upt_signer *const *signers, size_t nsigners,
		upt_buf *out, upt_err *e)
{
	upt_buf canon, sigs, file;
	upt_buf_init(&canon, UPT_META_FILE_MAX);
	upt_buf_init(&sigs, UPT_META_FILE_MAX);
	upt_buf_init(&file, out->max);
	json_t *arr = json_array();
	int rc = arr ? UPT_OK : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if (rc == UPT_OK && !json_is_object(signed_obj))
		rc = upt_err_set(e, UPT_E_USAGE, "signed is not an object");
	if (rc == UPT_OK)
		rc = upt_cjson_encode(signed_obj, &canon, e);
	for (size_t i = 0; rc == UPT_OK && i < nsigners; i++) {
		uint8_t sig[64];
		char hex[129];
		rc = upt_sign(signers[i], canon.data, canon.len, sig, e);
		if (rc)
			break;
		upt_hex_encode(sig, sizeof(sig), hex);
		const char *id = upt_signer_key(signers[i])->keyid;
		/* one signature per key, as meta.c demands */
		for (size_t j = 0; j < json_array_size(arr); j++)
			if (!strcmp(
				json_string_value(json_object_get(json_array_get(arr, j), "keyid")),
				id))
				json_array_remove(arr, j--);
		if (json_array_append_new(arr, json_pack("{s:s, s:s}", "keyid", id, "sig", hex)))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	/* Canonical JSON writes control characters in strings raw, which no JSON parser (ours
	 * included) accepts: such a file is written in jansson's sorted compact form, which
	 * escapes them. The signatures still cover the canonical bytes; files need not be
	 * canonical (docs/bundle-format.md). */
	if (rc == UPT_OK && has_control(&canon)) {
		json_t *env = json_pack("{s:O, s:O}", "signatures", arr, "signed", signed_obj);
		char *text = env ? json_dumps(env, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		rc = text ? upt_buf_append_str(&file, text, e)
			  : upt_err_set(e, UPT_E_NOMEM, "out of memory");
		free(text);
		json_decref(env);
		goto done;
	}
	/* The envelope's canonical form is {"signatures":[...],"signed":{...}} ("signatures"
	 * sorts first), so the signed bytes are reused instead of encoded twice. */
	if (rc == UPT_OK)
		rc = upt_cjson_encode(arr, &sigs, e);
	if (rc == UPT_OK)
		rc = upt_buf_append_str(&file, "{\"signatures\":", e);
	if (rc == UPT_OK)
		rc = upt_buf_append(&file, sigs.data, sigs.len, e);
	if (rc == UPT_OK)
		rc = upt_buf_append_str(&file, ",\"signed\":", e);
	if (rc == UPT_OK)
		rc = upt_buf_append(&file, canon.data, canon.len, e);
	if (rc == UPT_OK)
		rc = upt_buf_append_str(&file, "}", e);
done:
	json_decref(arr);
	upt_buf_clear(&canon);
	upt_buf_clear(&sigs);
	if (rc) {
		upt_buf_clear(&file);
		return rc;
	}
	upt_buf_clear(out);
	out->data = file.data;
	out->len = file.len;
	out->cap = file.cap;
	return UPT_OK;
}
