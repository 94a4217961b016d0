/* devstate: installed-image records and the commit journal, as values with a strict JSON form. */
#include "upt/devstate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/cjson.h"
#include "upt/hex.h"
#include "upt/rfc3339.h"

#define DAMAGED UPT_E_INTERNAL

/* ---- helpers: every field checked, every string bounded ---- */

static int str_into(const json_t *obj, const char *key, char *dst, size_t dstsz, bool required,
		    const char *what, upt_err *e)
{
	json_t *v = json_object_get(obj, key);
	if (!v && !required) {
		dst[0] = '\0';
		return UPT_OK;
	}
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) != strlen(s) || strlen(s) >= dstsz)
		return upt_err_set(e, DAMAGED, "%s: field \"%s\" missing or invalid", what, key);
	memcpy(dst, s, strlen(s) + 1);
	return UPT_OK;
}

static int u64_from(const json_t *obj, const char *key, uint64_t *out, const char *what, upt_err *e)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return upt_err_set(e, DAMAGED, "%s: field \"%s\" missing or invalid", what, key);
	*out = (uint64_t)json_integer_value(v);
	return UPT_OK;
}

static int time_from(const json_t *obj, const char *key, int64_t *out, const char *what, upt_err *e)
{
	const char *s = json_string_value(json_object_get(obj, key));
	if (!s || upt_rfc3339_parse(s, out, NULL) != UPT_OK)
		return upt_err_set(e, DAMAGED, "%s: field \"%s\" missing or invalid", what, key);
	return UPT_OK;
}

static int slot_from(const json_t *obj, const char *key, int *out, const char *what, upt_err *e)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || (json_integer_value(v) != 0 && json_integer_value(v) != 1))
		return upt_err_set(e, DAMAGED, "%s: field \"%s\" must be 0 or 1", what, key);
	*out = (int)json_integer_value(v);
	return UPT_OK;
}

static json_t *time_json(int64_t t)
{
	char s[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(t, s);
	return json_string(s);
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char s[2 * UPT_SHA512_LEN + 1];
	upt_hex_encode(p, n, s);
	return json_string(s);
}

static int dump(json_t *doc, upt_buf *out, upt_err *e)
{
	if (!doc)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	char *s = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(doc);
	if (!s)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	upt_buf tmp;
	upt_buf_init(&tmp, UPT_STATE_FILE_MAX);
	int rc = upt_buf_append_str(&tmp, s, e);
	if (rc == UPT_OK)
		rc = upt_buf_append(&tmp, "\n", 1, e);
	free(s);
	if (rc == UPT_OK)
		rc = upt_buf_copy(out, &tmp, e);
	upt_buf_clear(&tmp);
	return rc;
}

/* ---- installed images ---- */

void upt_installed_init(upt_installed *s)
{
	s->ecus = NULL;
	s->necus = 0;
}

void upt_installed_clear(upt_installed *s)
{
	free(s->ecus);
	upt_installed_init(s);
}

upt_installed_ecu *upt_installed_get(const upt_installed *s, const char *serial)
{
	for (size_t i = 0; i < s->necus; i++)
		if (!strcmp(s->ecus[i].serial, serial))
			return &s->ecus[i];
	return NULL;
}

upt_installed_ecu *upt_installed_upsert(upt_installed *s, const char *serial)
{
	upt_installed_ecu *u = upt_installed_get(s, serial);
	if (u)
		return u;
	if (strlen(serial) > UPT_NAME_MAX || s->necus >= UPT_ECUS_MAX * 4)
		return NULL;
	upt_installed_ecu *n = realloc(s->ecus, (s->necus + 1) * sizeof(*n));
	if (!n)
		return NULL;
	s->ecus = n;
	u = &n[s->necus++];
	memset(u, 0, sizeof(*u));
	memcpy(u->serial, serial, strlen(serial) + 1);
	return u;
}

int upt_installed_copy(upt_installed *dst, const upt_installed *src, upt_err *e)
{
	upt_installed_ecu *n = NULL;
	if (src->necus) {
		n = malloc(src->necus * sizeof(*n));
		if (!n)
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		memcpy(n, src->ecus, src->necus * sizeof(*n));
	}
	upt_installed_clear(dst);
	dst->ecus = n;
	dst->necus = src->necus;
	return UPT_OK;
}

static int hashes_from(const json_t *obj, upt_hashes *h, const char *what, upt_err *e)
{
	json_t *hs = json_object_get(obj, "hashes");
	if (!json_is_object(hs))
		return upt_err_set(e, DAMAGED, "%s: hashes missing", what);
	memset(h, 0, sizeof(*h));
	const char *k;
	json_t *v;
	json_object_foreach(hs, k, v)
	{
		const char *hex = json_string_value(v);
		if (!strcmp(k, "sha256") && hex &&
		    upt_hex_decode(hex, h->sha256, UPT_SHA256_LEN, NULL) == UPT_OK)
			h->has_sha256 = true;
		else if (!strcmp(k, "sha512") && hex &&
			 upt_hex_decode(hex, h->sha512, UPT_SHA512_LEN, NULL) == UPT_OK)
			h->has_sha512 = true;
		else
			return upt_err_set(e, DAMAGED, "%s: hash \"%s\" invalid", what, k);
	}
	if (!h->has_sha256)
		return upt_err_set(e, DAMAGED, "%s: sha256 missing", what);
	return UPT_OK;
}

static int image_from(const json_t *obj, upt_image_record *r, const char *what, upt_err *e)
{
	if (!json_is_object(obj))
		return upt_err_set(e, DAMAGED, "%s: image record is not an object", what);
	int rc = str_into(obj, "target", r->target, sizeof(r->target), true, what, e);
	if (rc == UPT_OK)
		rc = u64_from(obj, "length", &r->length, what, e);
	if (rc == UPT_OK)
		rc = hashes_from(obj, &r->hashes, what, e);
	if (rc == UPT_OK)
		rc = u64_from(obj, "release_counter", &r->release_counter, what, e);
	if (rc == UPT_OK)
		rc = time_from(obj, "installed_at", &r->installed_at, what, e);
	if (rc == UPT_OK)
		rc = str_into(obj, "bundle", r->bundle, sizeof(r->bundle), false, what, e);
	if (rc == UPT_OK)
		rc = str_into(obj, "bundle_id", r->bundle_id, sizeof(r->bundle_id), false, what, e);
	return rc;
}

static json_t *image_json(const upt_image_record *r)
{
	json_t *hs = json_object();
	if (hs && r->hashes.has_sha256)
		json_object_set_new(hs, "sha256", hex_json(r->hashes.sha256, UPT_SHA256_LEN));
	if (hs && r->hashes.has_sha512)
		json_object_set_new(hs, "sha512", hex_json(r->hashes.sha512, UPT_SHA512_LEN));
	return json_pack("{s:s, s:I, s:o, s:I, s:o, s:s, s:s}", "target", r->target, "length",
			 (json_int_t)r->length, "hashes", hs, "release_counter",
			 (json_int_t)r->release_counter, "installed_at", time_json(r->installed_at),
			 "bundle", r->bundle, "bundle_id", r->bundle_id);
}

int upt_installed_parse(const void *data, size_t len, upt_installed *out, upt_err *e)
{
	json_t *doc = NULL;
	upt_installed s;
	upt_installed_init(&s);
	int rc = upt_json_parse(data, len, UPT_STATE_FILE_MAX, &doc, e);
	if (rc) {
		upt_err_prefix(e, "installed.json damaged");
		rc = DAMAGED;
		if (e)
			e->code = DAMAGED;
		goto out;
	}
	json_t *ecus = json_object_get(doc, "ecus");
	if (!json_is_object(ecus) || json_object_size(ecus) > UPT_ECUS_MAX * 4) {
		rc = upt_err_set(e, DAMAGED, "installed.json damaged: \"ecus\" missing");
		goto out;
	}
	const char *serial;
	json_t *v;
	json_object_foreach(ecus, serial, v)
	{
		char what[UPT_NAME_MAX + 32];
		snprintf(what, sizeof(what), "installed.json ECU %s", serial);
		upt_installed_ecu *u = NULL;
		if (json_is_object(v) && upt_devconfig_name_ok(serial))
			u = upt_installed_upsert(&s, serial);
		if (!u) {
			rc = upt_err_set(e, DAMAGED, "%s: invalid", what);
			goto out;
		}
		rc = slot_from(v, "slot", &u->active_slot, what, e);
		json_t *img = json_object_get(v, "image");
		if (rc == UPT_OK && img) {
			u->has_image = true;
			rc = image_from(img, &u->image, what, e);
		}
		json_t *pend = json_object_get(v, "pending");
		if (rc == UPT_OK && pend) {
			u->has_pending = true;
			rc = slot_from(pend, "slot", &u->pending_slot, what, e);
			if (rc == UPT_OK)
				rc = image_from(json_object_get(pend, "image"), &u->pending, what,
						e);
		}
		if (rc)
			goto out;
	}
out:
	json_decref(doc);
	if (rc) {
		upt_installed_clear(&s);
		return rc;
	}
	upt_installed_clear(out);
	*out = s;
	return UPT_OK;
}

int upt_installed_serialize(const upt_installed *s, upt_buf *out, upt_err *e)
{
	json_t *ecus = json_object();
	json_t *doc = json_pack("{s:i, s:o}", "version", 1, "ecus", ecus);
	if (!doc)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < s->necus; i++) {
		const upt_installed_ecu *u = &s->ecus[i];
		json_t *o = json_pack("{s:i}", "slot", u->active_slot);
		if (o && u->has_image)
			json_object_set_new(o, "image", image_json(&u->image));
		if (o && u->has_pending)
			json_object_set_new(o, "pending",
					    json_pack("{s:i, s:o}", "slot", u->pending_slot,
						      "image", image_json(&u->pending)));
		if (!o || json_object_set_new(ecus, u->serial, o) != 0) {
			json_decref(doc);
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		}
	}
	return dump(doc, out, e);
}

/* ---- journal ---- */

static const char *const state_names[] = {"staged", "running", "done", "failed"};

const char *upt_journal_state_name(upt_journal_state s)
{
	return (unsigned)s < 4 ? state_names[s] : "?";
}

void upt_journal_init(upt_journal *j)
{
	memset(j, 0, sizeof(*j));
}

void upt_journal_clear(upt_journal *j)
{
	free(j->ecus);
	upt_journal_init(j);
}

int upt_journal_parse(const void *data, size_t len, upt_journal *out, upt_err *e)
{
	json_t *doc = NULL;
	upt_journal j;
	upt_journal_init(&j);
	const char *what = "journal";
	int rc = upt_json_parse(data, len, UPT_STATE_FILE_MAX, &doc, e);
	if (rc) {
		upt_err_prefix(e, "journal damaged");
		rc = DAMAGED;
		if (e)
			e->code = DAMAGED;
		goto out;
	}
	rc = str_into(doc, "bundle", j.bundle, sizeof(j.bundle), true, what, e);
	if (rc == UPT_OK)
		rc = time_from(doc, "started", &j.started, what, e);
	json_t *ecus = json_object_get(doc, "ecus");
	if (rc == UPT_OK && (!json_is_array(ecus) || json_array_size(ecus) > UPT_ECUS_MAX))
		rc = upt_err_set(e, DAMAGED, "journal: \"ecus\" invalid");
	if (rc)
		goto out;
	j.necus = json_array_size(ecus);
	j.ecus = calloc(j.necus ? j.necus : 1, sizeof(*j.ecus));
	if (!j.ecus) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; rc == UPT_OK && i < j.necus; i++) {
		json_t *o = json_array_get(ecus, i);
		upt_journal_ecu *u = &j.ecus[i];
		char type[8], state[8], sha[2 * UPT_SHA256_LEN + 1];
		rc = str_into(o, "serial", u->serial, sizeof(u->serial), true, what, e);
		if (rc == UPT_OK)
			rc = str_into(o, "handler", type, sizeof(type), true, what, e);
		if (rc == UPT_OK)
			rc = str_into(o, "state", state, sizeof(state), true, what, e);
		if (rc == UPT_OK)
			rc = str_into(o, "sha256", sha, sizeof(sha), true, what, e);
		if (rc == UPT_OK)
			rc = u64_from(o, "length", &u->length, what, e);
		if (rc == UPT_OK)
			rc = slot_from(o, "slot", &u->slot, what, e);
		if (rc)
			break;
		if (!strcmp(type, "file"))
			u->type = UPT_HANDLER_FILE;
		else if (!strcmp(type, "ab"))
			u->type = UPT_HANDLER_AB;
		else if (!strcmp(type, "exec"))
			u->type = UPT_HANDLER_EXEC;
		else
			rc = upt_err_set(e, DAMAGED, "journal: unknown handler \"%s\"", type);
		bool known = false;
		for (int s = 0; s < 4; s++)
			if (!strcmp(state, state_names[s]))
				u->state = (upt_journal_state)s, known = true;
		if (rc == UPT_OK && !known)
			rc = upt_err_set(e, DAMAGED, "journal: unknown state \"%s\"", state);
		if (rc == UPT_OK && upt_hex_decode(sha, u->sha256, UPT_SHA256_LEN, NULL) != UPT_OK)
			rc = upt_err_set(e, DAMAGED, "journal: invalid sha256");
		if (rc == UPT_OK)
			rc = image_from(json_object_get(o, "record"), &u->record, what, e);
	}
out:
	json_decref(doc);
	if (rc) {
		upt_journal_clear(&j);
		return rc;
	}
	upt_journal_clear(out);
	*out = j;
	return UPT_OK;
}

int upt_journal_serialize(const upt_journal *j, upt_buf *out, upt_err *e)
{
	json_t *ecus = json_array();
	json_t *doc = json_pack("{s:i, s:s, s:o, s:o}", "version", 1, "bundle", j->bundle,
				"started", time_json(j->started), "ecus", ecus);
	if (!doc)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < j->necus; i++) {
		const upt_journal_ecu *u = &j->ecus[i];
		json_t *o = json_pack(
		    "{s:s, s:s, s:s, s:i, s:I, s:o, s:o}", "serial", u->serial, "handler",
		    upt_handler_name(u->type), "state", upt_journal_state_name(u->state), "slot",
		    u->slot, "length", (json_int_t)u->length, "sha256",
		    hex_json(u->sha256, UPT_SHA256_LEN), "record", image_json(&u->record));
		if (!o || json_array_append_new(ecus, o) != 0) {
			json_decref(doc);
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		}
	}
	return dump(doc, out, e);
}
