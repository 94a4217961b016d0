/* report: signed device manifests and ECU version reports (docs/reports.md, Uptane 5.4.2.1). */
#include "upt/report.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upt/cjson.h"
#include "upt/devconfig.h"
#include "upt/hash.h"
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

/* ---- read: identity first, every other field only after its signature verified ---- */

/* Absent or null gives NULL; otherwise a string of at most max bytes. */
static int opt_text(const json_t *o, const char *key, size_t max, const char **out, upt_err *e)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return UPT_OK;
	if (!json_is_string(v))
		return upt_err_set(e, UPT_E_MALFORMED, "field \"%s\" is not a string or null", key);
	if (json_string_length(v) > max)
		return upt_err_set(e, UPT_E_MALFORMED, "field \"%s\" is over %zu bytes", key, max);
	*out = json_string_value(v);
	return UPT_OK;
}

static int name_field(const json_t *o, const char *key, const char **out, upt_err *e)
{
	int rc = upt_json_get_str(o, key, out, e);
	if (rc == UPT_OK && !upt_devconfig_name_ok(*out))
		rc = upt_err_set(e, UPT_E_MALFORMED,
				 "field \"%s\" does not match [A-Za-z0-9._-]{1,128}", key);
	return rc;
}

static int time_field(const json_t *o, const char *key, int64_t *out, upt_err *e)
{
	const char *s;
	int rc = upt_json_get_str(o, key, &s, e);
	if (rc == UPT_OK && upt_rfc3339_parse(s, out, NULL) != UPT_OK)
		rc = upt_err_set(e, UPT_E_MALFORMED, "field \"%s\" is not YYYY-MM-DDTHH:MM:SSZ",
				 key);
	return rc;
}

/* Target names as docs/bundle-format.md allows them in a bundle. */
static bool target_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > UPT_TARGET_NAME_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._+-/", *p)))
			return false;
	return true;
}

/* The TUF envelope: {"signed": {...}, "signatures": [{"keyid", "sig"}, ...]}. */
static int open_envelope(const json_t *doc, json_t **signed_obj, json_t **sigs, upt_err *e)
{
	if (!json_is_object(doc))
		return upt_err_set(e, UPT_E_MALFORMED, "not a JSON object");
	int rc = upt_json_get_obj(doc, "signed", signed_obj, e);
	if (rc == UPT_OK)
		rc = upt_json_get_arr(doc, "signatures", sigs, e);
	if (rc == UPT_OK && json_array_size(*sigs) > UPT_SIGNATURES_MAX)
		rc = upt_err_set(e, UPT_E_MALFORMED, "more than %d signatures", UPT_SIGNATURES_MAX);
	return rc;
}

/* A signature by the device key over canonical: UPT_OK, UPT_E_MALFORMED (a signature entry
 * that is not {"keyid": HEX, "sig": HEX}, or one key id twice, as the docs/bundle-format.md
 * rules), or UPT_E_ARBITRARY_SOFTWARE (forged: no signature by that key, or one that does
 * not verify). */
static int check_sigs(const json_t *sigs, const upt_key *key, const upt_buf *canon, upt_err *e)
{
	bool listed = false, verified = false;
	for (size_t i = 0; i < json_array_size(sigs); i++) {
		const json_t *s = json_array_get(sigs, i);
		const char *keyid, *sig;
		if (!json_is_object(s) || upt_json_get_str(s, "keyid", &keyid, NULL) ||
		    upt_json_get_str(s, "sig", &sig, NULL))
			return upt_err_set(e, UPT_E_MALFORMED,
					   "signature %zu is not "
					   "{\"keyid\": HEX, \"sig\": HEX}",
					   i);
		for (size_t j = 0; j < i; j++) {
			const char *other =
			    json_string_value(json_object_get(json_array_get(sigs, j), "keyid"));
			if (other && !strcasecmp(other, keyid))
				return upt_err_set(e, UPT_E_MALFORMED,
						   "key id %.16s... signs twice", keyid);
		}
		if (strcasecmp(keyid, key->keyid) != 0)
			continue;
		listed = true;
		uint8_t raw[64];
		if (upt_hex_decode(sig, raw, sizeof(raw), NULL) == UPT_OK &&
		    upt_sig_verify(key, canon->data, canon->len, raw))
			verified = true;
	}
	if (verified)
		return UPT_OK;
	return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE,
			   listed
			       ? "signature by the registered key (keyid %.16s...) does not verify"
			       : "not signed by the registered key (keyid %.16s...)",
			   key->keyid);
}

static int canonical_of(const json_t *signed_obj, upt_buf *out, upt_err *e)
{
	out->len = 0;
	return upt_cjson_encode(signed_obj, out, e);
}

/* installed_image: null (or absent), or a filepath of "" with "hashes": {}, when the device
 * knows no image for this ECU (a factory image it never installed itself). */
static int installed_image(const json_t *s, upt_report_ecu *u, upt_err *e)
{
	json_t *img = json_object_get(s, "installed_image"), *fileinfo, *hashes;
	const char *sha;
	long long n;
	u->filepath = "";
	if (!img || json_is_null(img))
		return UPT_OK;
	if (!json_is_object(img))
		return upt_err_set(e, UPT_E_MALFORMED, "installed_image is not an object");
	int rc = upt_json_get_str(img, "filepath", &u->filepath, e);
	if (rc == UPT_OK && u->filepath[0] && !target_name_ok(u->filepath))
		rc = upt_err_set(e, UPT_E_MALFORMED, "filepath is not a target name");
	if (rc == UPT_OK)
		rc = upt_json_get_obj(img, "fileinfo", &fileinfo, e);
	if (rc == UPT_OK)
		rc = upt_json_get_int(fileinfo, "length", 0, LLONG_MAX, &n, e);
	if (rc == UPT_OK)
		rc = upt_json_get_obj(fileinfo, "hashes", &hashes, e);
	if (rc == UPT_OK && json_object_get(hashes, "sha256")) {
		rc = upt_json_get_str(hashes, "sha256", &sha, e);
		if (rc == UPT_OK &&
		    upt_hex_decode(sha, u->sha256, sizeof(u->sha256), NULL) != UPT_OK)
			rc = upt_err_set(e, UPT_E_MALFORMED, "sha256 is not 64 hex digits");
		u->has_sha256 = rc == UPT_OK;
	}
	if (rc)
		return upt_err_prefix(e, "installed_image");
	u->length = (uint64_t)n;
	return UPT_OK;
}

/* One ECU version report (aktualizr's fields), in its own envelope signed by the device key. */
static int parse_ecu(upt_report_parsed *p, const json_t *env, const upt_key *key, upt_report_ecu *u,
		     upt_err *e)
{
	json_t *s, *sigs;
	long long n;
	memset(u, 0, sizeof(*u));
	int rc = open_envelope(env, &s, &sigs, e);
	if (rc == UPT_OK)
		rc = canonical_of(s, &p->ecu_canonical, e);
	if (rc == UPT_OK)
		rc = check_sigs(sigs, key, &p->ecu_canonical, e);
	if (rc == UPT_OK)
		rc = name_field(s, "ecu_serial", &u->serial, e);
	if (rc == UPT_OK)
		rc = installed_image(s, u, e);
	if (rc == UPT_OK)
		rc = upt_json_get_str(s, "attacks_detected", &u->attacks, e);
	if (rc == UPT_OK && strlen(u->attacks) > UPT_REPORT_TEXT_MAX)
		rc = upt_err_set(e, UPT_E_MALFORMED, "attacks_detected is over %d bytes",
				 UPT_REPORT_TEXT_MAX);
	if (rc == UPT_OK)
		rc = time_field(s, "latest_time", &u->latest_time, e);
	if (rc == UPT_OK)
		rc = upt_json_get_int(s, "report_counter", 0, LLONG_MAX, &n, e);
	if (rc == UPT_OK)
		u->report_counter = (uint64_t)n;
	/* Devices from before the field report what they installed (docs/reports.md). */
	u->state = "installed";
	if (rc == UPT_OK && json_object_get(s, "state")) {
		rc = upt_json_get_str(s, "state", &u->state, e);
		if (rc == UPT_OK && !upt_report_ecu_state_ok(u->state))
			rc = upt_err_set(e, UPT_E_MALFORMED,
					 "state is not installed, pending, confirmed or fell-back");
	}
	return rc;
}

/* bundle: null (absent in no report of ours, accepted), or what the device read of it. */
static int bundle_field(const json_t *s, upt_report *r, upt_err *e)
{
	json_t *v = json_object_get(s, "bundle");
	if (!v || json_is_null(v))
		return UPT_OK;
	if (!json_is_object(v))
		return upt_err_set(e, UPT_E_MALFORMED, "bundle is not an object or null");
	r->has_bundle = true;
	int rc = opt_text(v, "file", UPT_REPORT_BUNDLE_FIELD_MAX, &r->bundle_file, e);
	if (rc == UPT_OK)
		rc = opt_text(v, "kind", 16, &r->bundle_kind, e);
	if (rc == UPT_OK && r->bundle_kind && strcmp(r->bundle_kind, "device") &&
	    strcmp(r->bundle_kind, "fleet"))
		rc = upt_err_set(e, UPT_E_MALFORMED, "bundle.kind is not device or fleet");
	if (rc == UPT_OK)
		rc = opt_text(v, "id", UPT_REPORT_BUNDLE_FIELD_MAX, &r->bundle_id, e);
	return rc;
}

/* medium: null, or the stick's USB identity as far as the device could read it. */
static int medium_field(const json_t *s, upt_report *r, upt_err *e)
{
	json_t *v = json_object_get(s, "medium");
	if (!v || json_is_null(v))
		return UPT_OK;
	if (!json_is_object(v))
		return upt_err_set(e, UPT_E_MALFORMED, "medium is not an object or null");
	r->has_medium = true;
	int rc = opt_text(v, "vendor", UPT_NAME_MAX, &r->medium_vendor, e);
	if (rc == UPT_OK)
		rc = opt_text(v, "product", UPT_NAME_MAX, &r->medium_product, e);
	if (rc == UPT_OK)
		rc = opt_text(v, "serial", UPT_REPORT_BUNDLE_FIELD_MAX, &r->medium_serial, e);
	return rc;
}

static int result_field(const json_t *s, upt_report *r, upt_err *e)
{
	json_t *res;
	int rc = upt_json_get_obj(s, "result", &res, e);
	if (rc == UPT_OK)
		rc = name_field(res, "status", &r->status, e);
	if (rc == UPT_OK && !in_set(statuses, r->status))
		rc = upt_err_set(e, UPT_E_MALFORMED, "result.status \"%s\" is not a report status",
				 r->status);
	if (rc == UPT_OK)
		rc = opt_text(res, "reason", UPT_NAME_MAX, &r->reason, e);
	if (rc == UPT_OK && r->reason && !upt_devconfig_name_ok(r->reason))
		rc = upt_err_set(e, UPT_E_MALFORMED, "result.reason is not a class name");
	if (rc == UPT_OK)
		rc = opt_text(res, "message", UPT_REPORT_TEXT_MAX, &r->message, e);
	return rc;
}

/* skipped (optional): the other bundles of the stick and why they were not installed. */
static int skipped_field(upt_report_parsed *p, upt_err *e)
{
	json_t *sk = json_object_get(p->signed_obj, "skipped");
	if (!sk)
		return UPT_OK;
	size_t m = json_is_array(sk) ? json_array_size(sk) : 0;
	if (!json_is_array(sk) || m > UPT_BUNDLES_PER_MEDIUM_MAX)
		return upt_err_set(e, UPT_E_MALFORMED,
				   "skipped is not a list of at most %d bundles",
				   UPT_BUNDLES_PER_MEDIUM_MAX);
	p->skips = calloc(m ? m : 1, sizeof(*p->skips));
	if (!p->skips)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < m; i++) {
		json_t *o = json_array_get(sk, i);
		upt_report_skip *k = &p->skips[i];
		rc = json_is_object(o) ? UPT_OK : upt_err_set(e, UPT_E_MALFORMED, "not an object");
		if (rc == UPT_OK)
			rc = upt_json_get_str(o, "file", &k->file, e);
		if (rc == UPT_OK)
			rc = upt_json_get_str(o, "status", &k->status, e);
		if (rc == UPT_OK)
			rc = opt_text(o, "reason", UPT_NAME_MAX, &k->reason, e);
		if (rc == UPT_OK)
			rc = opt_text(o, "message", UPT_REPORT_TEXT_MAX, &k->message, e);
		if (rc)
			return upt_err_prefix(e, "skipped[%zu]", i);
	}
	p->r.skipped = p->skips;
	p->r.nskipped = m;
	return UPT_OK;
}

/* The device manifest's fields (docs/reports.md), after its signature verified. */
static int parse_manifest(upt_report_parsed *p, const upt_key *key, upt_err *e)
{
	upt_report *r = &p->r;
	const json_t *s = p->signed_obj;
	json_t *t, *v, *ecus;
	int rc = name_field(s, "primary_ecu", &r->primary_ecu, e);
	if (rc == UPT_OK)
		rc = upt_json_get_obj(s, "time", &t, e);
	if (rc == UPT_OK)
		rc = time_field(t, "effective", &r->effective, e);
	if (rc == UPT_OK) {
		/* the device's own clock may be unset: reported as is, null allowed */
		v = json_object_get(t, "clock");
		p->has_clock = v && !json_is_null(v);
		if (p->has_clock)
			rc = time_field(t, "clock", &r->clock, e);
	}
	if (rc == UPT_OK)
		rc = bundle_field(s, r, e);
	if (rc == UPT_OK)
		rc = medium_field(s, r, e);
	if (rc == UPT_OK)
		rc = result_field(s, r, e);
	if (rc == UPT_OK)
		rc = upt_json_get_arr(s, "ecu_reports", &ecus, e);
	if (rc)
		return rc;
	size_t n = json_array_size(ecus);
	if (n > UPT_ECUS_MAX)
		return upt_err_set(e, UPT_E_MALFORMED, "more than %d ECU reports", UPT_ECUS_MAX);
	/* a second verify (another key) reads the fields again */
	free(p->ecus);
	free(p->skips);
	p->skips = NULL;
	p->ecus = calloc(n ? n : 1, sizeof(*p->ecus));
	if (!p->ecus)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		rc = parse_ecu(p, json_array_get(ecus, i), key, &p->ecus[i], e);
		if (rc)
			return upt_err_prefix(e, "ecu_reports[%zu]", i);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(p->ecus[k].serial, p->ecus[i].serial))
				return upt_err_set(e, UPT_E_MALFORMED, "ECU %s reported twice",
						   p->ecus[i].serial);
	}
	r->ecus = p->ecus;
	r->necus = n;
	return skipped_field(p, e);
}

void upt_report_parsed_free(upt_report_parsed *p)
{
	if (!p)
		return;
	free(p->ecus);
	free(p->skips);
	json_decref(p->doc);
	upt_buf_clear(&p->canonical);
	upt_buf_clear(&p->ecu_canonical);
	free(p);
}

int upt_report_open(const void *bytes, size_t len, upt_report_parsed **out, upt_err *e)
{
	const char *type;
	long long counter;
	uint8_t digest[UPT_SHA256_LEN];
	*out = NULL;
	upt_report_parsed *p = calloc(1, sizeof(*p));
	if (!p)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	upt_buf_init(&p->canonical, UPT_REPORT_MAX);
	upt_buf_init(&p->ecu_canonical, UPT_REPORT_MAX);
	/* A truncated file is the common case here: a stick pulled while the device wrote. */
	int rc = upt_json_parse(bytes, len, UPT_REPORT_MAX, &p->doc, e);
	if (rc == UPT_OK)
		rc = open_envelope(p->doc, &p->signed_obj, &p->sigs, e);
	if (rc == UPT_OK)
		rc = upt_json_get_str(p->signed_obj, "_type", &type, e);
	if (rc == UPT_OK && strcmp(type, "device-manifest") != 0)
		rc = upt_err_set(e, UPT_E_MALFORMED, "_type is not device-manifest");
	if (rc == UPT_OK)
		rc = name_field(p->signed_obj, "device_id", &p->r.device_id, e);
	if (rc == UPT_OK)
		rc = upt_json_get_int(p->signed_obj, "counter", 0, LLONG_MAX, &counter, e);
	/* what the signature covers, and the report's identity (duplicate or replay) */
	if (rc == UPT_OK)
		rc = canonical_of(p->signed_obj, &p->canonical, e);
	if (rc == UPT_OK)
		rc = upt_sha256(p->canonical.data, p->canonical.len, digest, e);
	if (rc) {
		upt_report_parsed_free(p);
		return rc;
	}
	p->r.counter = (uint64_t)counter;
	upt_hex_encode(digest, sizeof(digest), p->digest);
	*out = p;
	return UPT_OK;
}

int upt_report_verify(upt_report_parsed *p, const upt_key *device_key, upt_err *e)
{
	if (!device_key->ed25519)
		return upt_err_set(e, UPT_E_ARBITRARY_SOFTWARE, "device key is not an ed25519 key");
	int rc = check_sigs(p->sigs, device_key, &p->canonical, e);
	if (rc == UPT_OK)
		rc = parse_manifest(p, device_key, e);
	return rc;
}
