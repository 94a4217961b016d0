/* sbom_ref: a target's signed SBOM reference and the workspace's copy (see sbom_ref.h). */
#include "sbom_ref.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "sbom.h"
#include "upt/buf.h"
#include "upt/fileio.h"
#include "upt/hex.h"

void sbom_ref_path(const sbom_ref *r, char out[128])
{
	char hex[2 * UPT_SHA256_LEN + 1];
	upt_hex_encode(r->sha256, UPT_SHA256_LEN, hex);
	snprintf(out, 128, "%s/%s.json", SBOM_DIR, hex);
}

int sbom_ref_add(ws *w, const char *path, json_t *entry, sbom_ref *out, size_t *components,
		 upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, SBOM_MAX);
	sbom s;
	memset(&s, 0, sizeof(s));
	sbom_ref r;
	memset(&r, 0, sizeof(r));
	int rc = upt_file_read(AT_FDCWD, path, SBOM_MAX, &b, e);
	if (rc == UPT_E_TOO_LARGE)
		rc = upt_err_set(e, rc, "%s: SBOM larger than %u bytes", path, SBOM_MAX);
	else if (rc)
		upt_err_prefix(e, "--sbom %s", path);
	if (rc == UPT_OK)
		rc = sbom_parse(path, b.data, b.len, &s, e);
	if (rc == UPT_OK)
		rc = upt_sha256(b.data, b.len, r.sha256, e);
	if (rc == UPT_OK) {
		snprintf(r.format, sizeof(r.format), "%s", sbom_format_name(s.format));
		r.length = b.len;
		char rel[128];
		sbom_ref_path(&r, rel);
		rc = ws_write(w, rel, b.data, b.len, e);
	}
	if (rc == UPT_OK) {
		char hex[2 * UPT_SHA256_LEN + 1];
		upt_hex_encode(r.sha256, UPT_SHA256_LEN, hex);
		json_t *o = json_pack("{s:s, s:I, s:s}", "format", r.format, "length",
				      (json_int_t)r.length, "sha256", hex);
		if (!o || json_object_set_new(entry, "sbom", o))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	if (rc == UPT_OK) {
		*out = r;
		*components = s.n;
	}
	sbom_free(&s);
	upt_buf_clear(&b);
	return rc;
}

int sbom_ref_to_target(const json_t *entry, upt_mb_target *mt, upt_err *e)
{
	const json_t *o = json_object_get(entry, "sbom");
	if (!o)
		return UPT_OK;
	const char *format = json_string_value(json_object_get(o, "format"));
	const char *hex = json_string_value(json_object_get(o, "sha256"));
	json_int_t len = json_integer_value(json_object_get(o, "length"));
	if (!format || (strcmp(format, "CycloneDX") && strcmp(format, "SPDX")) || !hex ||
	    len <= 0 || upt_hex_decode(hex, mt->sbom_sha256, UPT_SHA256_LEN, NULL))
		return upt_err_set(e, UPT_E_USAGE,
				   "workspace target with a bad sbom entry (run target add "
				   "--sbom again)");
	mt->sbom_format = !strcmp(format, "SPDX") ? "SPDX" : "CycloneDX";
	mt->sbom_length = (uint64_t)len;
	return UPT_OK;
}

int sbom_ref_from_custom(const json_t *custom, sbom_ref *out, bool *found, upt_err *e)
{
	*found = false;
	const json_t *o = json_object_get(custom, "sbom");
	if (!o)
		return UPT_OK;
	const json_t *hashes = json_object_get(o, "hashes");
	const char *format = json_string_value(json_object_get(o, "format"));
	const json_t *len = json_object_get(o, "length");
	const char *hex = json_string_value(json_object_get(hashes, "sha256"));
	sbom_ref r;
	memset(&r, 0, sizeof(r));
	if (!json_is_object(o) || json_object_size(o) != 3)
		return upt_err_set(e, UPT_E_MALFORMED,
				   "custom.sbom: an object of format, length and hashes expected");
	if (!format || (strcmp(format, "CycloneDX") && strcmp(format, "SPDX")))
		return upt_err_set(e, UPT_E_MALFORMED,
				   "custom.sbom.format: \"CycloneDX\" or \"SPDX\" expected");
	if (!json_is_integer(len) || json_integer_value(len) <= 0 ||
	    json_integer_value(len) > SBOM_MAX)
		return upt_err_set(e, UPT_E_MALFORMED, "custom.sbom.length: 1 to %u expected",
				   SBOM_MAX);
	if (!json_is_object(hashes) || !hex || strlen(hex) != 2 * UPT_SHA256_LEN ||
	    upt_hex_decode(hex, r.sha256, UPT_SHA256_LEN, NULL))
		return upt_err_set(e, UPT_E_MALFORMED,
				   "custom.sbom.hashes.sha256: 64 hex digits expected");
	snprintf(r.format, sizeof(r.format), "%s", format);
	r.length = (uint64_t)json_integer_value(len);
	*out = r;
	*found = true;
	return UPT_OK;
}
