/* report: signed device manifests and ECU version reports (docs/reports.md, Uptane 5.4.2.1). */
#include "upt/report.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upt/cjson.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"

static const char *const statuses[] = {"installed", "verified", "up-to-date", "not-for-this-device",
				       "no-bundle", "rejected", "failed",     "confirmed",
				       "reverted",  NULL};

static const char *const ecu_states[] = {"installed", "pending", "confirmed", "fell-back", NULL};

static bool in_set(const char *const *set, const char *s)
{
	for (size_t i = 0; s && set[i]; i++)
		if (!strcmp(s, set[i]))
			return true;
	return false;
}

static bool status_ok(const char *s)
{
	return in_set(statuses, s);
}

bool upt_report_ecu_state_ok(const char *s)
{
	return in_set(ecu_states, s);
}

static json_t *time_json(int64_t t)
{
	char s[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(t, s);
	return json_string(s);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *envelope(json_t *signed_obj, const upt_signer *key, upt_err *e, int *rc)
{
	json_t *env = json_pack("{s:o, s:[]}", "signed", signed_obj, "signatures");
	if (!env) {
		*rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		return NULL;
	}
	*rc = upt_sig_add(env, key, e);
	if (*rc) {
		json_decref(env);
		return NULL;
	}
	return env;
}

static json_t *ecu_signed(const upt_report_ecu *u)
{
	json_t *hashes = json_object();
	if (hashes && u->has_sha256) {
		char hex[2 * UPT_SHA256_LEN + 1];
		upt_hex_encode(u->sha256, UPT_SHA256_LEN, hex);
		json_object_set_new(hashes, "sha256", json_string(hex));
	}
	return json_pack("{s:s, s:{s:s, s:{s:I, s:o}}, s:s, s:o, s:I, s:s}", "ecu_serial",
			 u->serial, "installed_image", "filepath", u->filepath ? u->filepath : "",
			 "fileinfo", "length", (json_int_t)u->length, "hashes", hashes,
			 "attacks_detected", u->attacks ? u->attacks : "", "latest_time",
			 time_json(u->latest_time), "report_counter", (json_int_t)u->report_counter,
			 "state", u->state ? u->state : "installed");
}

int upt_report_build(const upt_report *r, const upt_signer *key, upt_buf *out, upt_err *e)
{
	if (!status_ok(r->status) || r->necus > UPT_ECUS_MAX || r->counter > INT64_MAX ||
	    r->nskipped > UPT_BUNDLES_PER_MEDIUM_MAX)
		return upt_err_set(e, UPT_E_INTERNAL, "report record out of range");
	int rc = UPT_OK;
	json_t *ecus = json_array();
	json_t *signed_obj = NULL, *env = NULL;
	upt_buf tmp;
	upt_buf_init(&tmp, UPT_REPORT_MAX);
	if (!ecus) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r->necus; i++) {
		if (r->ecus[i].state && !upt_report_ecu_state_ok(r->ecus[i].state)) {
			rc = upt_err_set(e, UPT_E_INTERNAL, "report record: unknown ECU state");
			goto out;
		}
		json_t *s = ecu_signed(&r->ecus[i]);
		if (!s) {
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
			goto out;
		}
		json_t *ecu_env = envelope(s, key, e, &rc);
		if (!ecu_env)
			goto out;
		if (json_array_append_new(ecus, ecu_env) != 0) {
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
			goto out;
		}
	}
	json_t *bundle = json_null();
	if (r->has_bundle)
		bundle =
		    json_pack("{s:s, s:o, s:o}", "file", r->bundle_file ? r->bundle_file : "",
			      "kind", str_or_null(r->bundle_kind), "id", str_or_null(r->bundle_id));
	json_t *medium = json_null();
	if (r->has_medium)
		medium = json_pack("{s:s, s:s, s:s}", "vendor", r->medium_vendor, "product",
				   r->medium_product, "serial",
				   r->medium_serial ? r->medium_serial : "");
	signed_obj = json_pack(
	    "{s:s, s:s, s:s, s:I, s:{s:o, s:o}, s:o, s:o, s:{s:s, s:o, s:s}, s:o}", "_type",
	    "device-manifest", "device_id", r->device_id, "primary_ecu", r->primary_ecu, "counter",
	    (json_int_t)r->counter, "time", "clock", time_json(r->clock), "effective",
	    time_json(r->effective), "bundle", bundle, "medium", medium, "result", "status",
	    r->status, "reason", str_or_null(r->reason), "message", r->message ? r->message : "",
	    "ecu_reports", ecus);
	ecus = NULL; /* stolen by json_pack, also on failure */
	if (!signed_obj) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory building the report");
		goto out;
	}
	if (r->nskipped) {
		json_t *sk = json_array();
		for (size_t i = 0; sk && i < r->nskipped; i++)
			json_array_append_new(
			    sk, json_pack("{s:s, s:s, s:o, s:s}", "file", r->skipped[i].file,
					  "status", r->skipped[i].status, "reason",
					  str_or_null(r->skipped[i].reason), "message",
					  r->skipped[i].message ? r->skipped[i].message : ""));
		if (!sk || json_array_size(sk) != r->nskipped ||
		    json_object_set_new(signed_obj, "skipped", sk) != 0) {
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
			goto out;
		}
	}
	env = envelope(signed_obj, key, e, &rc);
	signed_obj = NULL;
	if (!env)
		goto out;
	rc = upt_cjson_encode(env, &tmp, e);
	if (rc == UPT_OK)
		rc = upt_buf_copy(out, &tmp, e);
out:
	json_decref(ecus);
	json_decref(signed_obj);
	json_decref(env);
	upt_buf_clear(&tmp);
	return rc;
}

/* ---- parse: every field of the pinned form, nothing trusted ---- */

static int field_str(const json_t *o, const char *key, bool nullable, const char **out,
		     const char *where, upt_err *e)
{
	json_t *v = json_object_get(o, key);
	if (nullable && json_is_null(v)) {
		*out = NULL;
		return UPT_OK;
	}
	if (!json_is_string(v) || json_string_length(v) > 4096)
		return upt_err_set(e, UPT_E_MALFORMED, "%s.%s: missing or not a string", where,
				   key);
	*out = json_string_value(v);
	return UPT_OK;
}

static int field_u64(const json_t *o, const char *key, uint64_t *out, const char *where, upt_err *e)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return upt_err_set(e, UPT_E_MALFORMED, "%s.%s: missing or not an integer >= 0",
				   where, key);
	*out = (uint64_t)json_integer_value(v);
	return UPT_OK;
}

static int field_time(const json_t *o, const char *key, int64_t *out, const char *where, upt_err *e)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (!s || upt_rfc3339_parse(s, out, NULL) != UPT_OK)
		return upt_err_set(e, UPT_E_MALFORMED, "%s.%s: missing or not RFC 3339", where,
				   key);
	return UPT_OK;
}

static int parse_ecu(const json_t *env, upt_report_ecu *u, upt_err *e)
{
	const char *w = "ecu_reports[]";
	json_t *s = json_object_get(env, "signed");
	json_t *img = json_object_get(s, "installed_image");
	json_t *fi = json_object_get(img, "fileinfo");
	json_t *hashes = json_object_get(fi, "hashes");
	if (!json_is_object(s) || !json_is_object(img) || !json_is_object(fi) ||
	    !json_is_object(hashes) || !json_is_array(json_object_get(env, "signatures")))
		return upt_err_set(e, UPT_E_MALFORMED, "%s: not an ECU version report", w);
	int rc = field_str(s, "ecu_serial", false, &u->serial, w, e);
	if (rc == UPT_OK)
		rc = field_str(img, "filepath", false, &u->filepath, w, e);
	if (rc == UPT_OK)
		rc = field_u64(fi, "length", &u->length, w, e);
	if (rc == UPT_OK)
		rc = field_str(s, "attacks_detected", false, &u->attacks, w, e);
	if (rc == UPT_OK)
		rc = field_time(s, "latest_time", &u->latest_time, w, e);
	if (rc == UPT_OK)
		rc = field_u64(s, "report_counter", &u->report_counter, w, e);
	/* Absent in reports of devices from before the field: what they report is installed. */
	u->state = "installed";
	if (rc == UPT_OK && json_object_get(s, "state")) {
		rc = field_str(s, "state", false, &u->state, w, e);
		if (rc == UPT_OK && !upt_report_ecu_state_ok(u->state))
			rc = upt_err_set(e, UPT_E_MALFORMED, "%s.state: unknown state", w);
	}
	json_t *sha = json_object_get(hashes, "sha256");
	if (rc == UPT_OK && sha) {
		const char *hex = json_string_value(sha);
		if (!hex || upt_hex_decode(hex, u->sha256, UPT_SHA256_LEN, NULL) != UPT_OK)
			return upt_err_set(e, UPT_E_MALFORMED, "%s: sha256 is not 64 hex digits",
					   w);
		u->has_sha256 = true;
	}
	return rc;
}

void upt_report_parsed_free(upt_report_parsed *p)
{
	if (!p)
		return;
	free(p->ecus);
	free(p->skips);
	json_decref(p->doc);
	upt_buf_clear(&p->canonical);
	free(p);
}

int upt_report_parse(const void *bytes, size_t len, upt_report_parsed **out, upt_err *e)
{
	upt_report_parsed *p = calloc(1, sizeof(*p));
	if (!p)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	upt_buf_init(&p->canonical, UPT_REPORT_MAX);
	upt_report *r = &p->r;
	const char *w = "report";
	int rc = upt_json_parse(bytes, len, UPT_REPORT_MAX, &p->doc, e);
	if (rc)
		goto out;
	json_t *s = json_object_get(p->doc, "signed");
	if (!json_is_object(s) || !json_is_array(json_object_get(p->doc, "signatures"))) {
		rc = upt_err_set(e, UPT_E_MALFORMED, "report: not a signed envelope");
		goto out;
	}
	const char *type = json_string_value(json_object_get(s, "_type"));
	if (!type || strcmp(type, "device-manifest")) {
		rc = upt_err_set(e, UPT_E_MALFORMED, "report: _type is not \"device-manifest\"");
		goto out;
	}
	json_t *tm = json_object_get(s, "time");
	json_t *res = json_object_get(s, "result");
	json_t *ecus = json_object_get(s, "ecu_reports");
	json_t *bundle = json_object_get(s, "bundle");
	json_t *medium = json_object_get(s, "medium");
	if (!json_is_object(tm) || !json_is_object(res) || !json_is_array(ecus) ||
	    json_array_size(ecus) > UPT_ECUS_MAX || !bundle || !medium ||
	    !(json_is_object(bundle) || json_is_null(bundle)) ||
	    !(json_is_object(medium) || json_is_null(medium))) {
		rc = upt_err_set(
		    e, UPT_E_MALFORMED,
		    "report: time, result, bundle, medium or ecu_reports missing or invalid");
		goto out;
	}
	rc = field_str(s, "device_id", false, &r->device_id, w, e);
	if (rc == UPT_OK)
		rc = field_str(s, "primary_ecu", false, &r->primary_ecu, w, e);
	if (rc == UPT_OK)
		rc = field_u64(s, "counter", &r->counter, w, e);
	if (rc == UPT_OK)
		rc = field_time(tm, "clock", &r->clock, "report.time", e);
	if (rc == UPT_OK)
		rc = field_time(tm, "effective", &r->effective, "report.time", e);
	if (rc == UPT_OK)
		rc = field_str(res, "status", false, &r->status, "report.result", e);
	if (rc == UPT_OK)
		rc = field_str(res, "reason", true, &r->reason, "report.result", e);
	if (rc == UPT_OK)
		rc = field_str(res, "message", false, &r->message, "report.result", e);
	if (rc == UPT_OK && !status_ok(r->status))
		rc = upt_err_set(e, UPT_E_MALFORMED, "report.result.status: unknown status");
	if (rc == UPT_OK && json_is_object(bundle)) {
		r->has_bundle = true;
		rc = field_str(bundle, "file", false, &r->bundle_file, "report.bundle", e);
		if (rc == UPT_OK)
			rc = field_str(bundle, "kind", true, &r->bundle_kind, "report.bundle", e);
		if (rc == UPT_OK)
			rc = field_str(bundle, "id", true, &r->bundle_id, "report.bundle", e);
	}
	if (rc == UPT_OK && json_is_object(medium)) {
		r->has_medium = true;
		rc = field_str(medium, "vendor", false, &r->medium_vendor, "report.medium", e);
		if (rc == UPT_OK)
			rc = field_str(medium, "product", false, &r->medium_product,
				       "report.medium", e);
		if (rc == UPT_OK)
			rc = field_str(medium, "serial", false, &r->medium_serial, "report.medium",
				       e);
	}
	if (rc)
		goto out;
	size_t n = json_array_size(ecus);
	p->ecus = calloc(n ? n : 1, sizeof(*p->ecus));
	if (!p->ecus) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; rc == UPT_OK && i < n; i++)
		rc = parse_ecu(json_array_get(ecus, i), &p->ecus[i], e);
	r->ecus = p->ecus;
	r->necus = n;
	json_t *sk = json_object_get(s, "skipped");
	if (rc == UPT_OK && sk) {
		size_t m = json_is_array(sk) ? json_array_size(sk) : 0;
		if (!json_is_array(sk) || m > UPT_BUNDLES_PER_MEDIUM_MAX) {
			rc = upt_err_set(e, UPT_E_MALFORMED, "report.skipped: invalid");
			goto out;
		}
		p->skips = calloc(m ? m : 1, sizeof(*p->skips));
		if (!p->skips) {
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; rc == UPT_OK && i < m; i++) {
			json_t *o = json_array_get(sk, i);
			upt_report_skip *k = &p->skips[i];
			rc = field_str(o, "file", false, &k->file, "report.skipped[]", e);
			if (rc == UPT_OK)
				rc = field_str(o, "status", false, &k->status, "report.skipped[]",
					       e);
			if (rc == UPT_OK)
				rc =
				    field_str(o, "reason", true, &k->reason, "report.skipped[]", e);
			if (rc == UPT_OK)
				rc = field_str(o, "message", false, &k->message, "report.skipped[]",
					       e);
		}
		r->skipped = p->skips;
		r->nskipped = m;
	}
	if (rc == UPT_OK)
		rc = upt_cjson_encode(s, &p->canonical, e);
out:
	if (rc) {
		upt_report_parsed_free(p);
		return rc;
	}
	*out = p;
	return UPT_OK;
}

/* One valid signature by key over the canonical form of env["signed"]. */
static int check_envelope(const json_t *env, const upt_key *key, const char *what, upt_err *e)
{
	json_t *sigs = json_object_get(env, "signatures");
	upt_buf canon;
	upt_buf_init(&canon, UPT_REPORT_MAX);
	int rc = upt_cjson_encode(json_object_get(env, "signed"), &canon, e);
	bool good = false;
	for (size_t i = 0; rc == UPT_OK && i < json_array_size(sigs); i++) {
		json_t *s = json_array_get(sigs, i);
		const char *id = json_string_value(json_object_get(s, "keyid"));
		const char *hex = json_string_value(json_object_get(s, "sig"));
		if (!id || !hex) {
			rc = upt_err_set(e, UPT_E_MALFORMED,
					 "%s: signature entry without keyid/sig", what);
			break;
		}
		for (size_t j = 0; j < i; j++) {
			const char *other =
			    json_string_value(json_object_get(json_array_get(sigs, j), "keyid"));
			if (other && !strcasecmp(other, id))
				rc = upt_err_set(e, UPT_E_MALFORMED,
						 "%s: key id %.16s listed twice", what, id);
		}
		uint8_t sig[64];
		if (rc == UPT_OK && !strcasecmp(id, key->keyid) &&
		    upt_hex_decode(hex, sig, sizeof(sig), NULL) == UPT_OK &&
		    upt_sig_verify(key, canon.data, canon.len, sig))
			good = true;
	}
	upt_buf_clear(&canon);
	if (rc == UPT_OK && !good)
		rc = upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
				 "%s: no valid signature by the registered device key %.16s", what,
				 key->keyid);
	return rc;
}

int upt_report_verify(const upt_report_parsed *p, const upt_key *device_key, upt_err *e)
{
	if (!device_key->ed25519)
		return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE, "device key is not an ed25519 key");
	int rc = check_envelope(p->doc, device_key, "device manifest", e);
	json_t *ecus = json_object_get(json_object_get(p->doc, "signed"), "ecu_reports");
	for (size_t i = 0; rc == UPT_OK && i < json_array_size(ecus); i++)
		rc = check_envelope(json_array_get(ecus, i), device_key, "ECU version report", e);
	return rc;
}
