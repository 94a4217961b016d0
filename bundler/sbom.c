/* sbom: CycloneDX and SPDX JSON documents into component lists (see sbom.h, docs/sbom.md). */
#include "sbom.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/cjson.h"

const char *sbom_format_name(enum sbom_format f)
{
	return f == SBOM_CYCLONEDX ? "CycloneDX" : "SPDX";
}

typedef struct parse_ctx {
	const char *file;
	sbom *s;
	size_t cap;
	upt_err *e;
} parse_ctx;

static int bad(parse_ctx *p, const char *field, const char *why)
{
	return upt_err_set(p->e, UPT_E_MALFORMED, "%s: %s: %s", p->file, field, why);
}

/* An optional string member: absent or null leaves *out NULL; anything but a string of 1 to
 * SBOM_FIELD_MAX bytes without NUL is an error naming the field. */
static int opt_str(parse_ctx *p, const json_t *o, const char *key, const char *where,
		   const char **out)
{
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return UPT_OK;
	char field[256];
	snprintf(field, sizeof(field), "%s.%s", where, key);
	if (!json_is_string(v))
		return bad(p, field, "not a string");
	size_t len = json_string_length(v);
	if (len == 0 || len > SBOM_FIELD_MAX || strlen(json_string_value(v)) != len)
		return bad(p, field, "empty, longer than 2048 bytes or holding a NUL byte");
	*out = json_string_value(v);
	return UPT_OK;
}

static int push(parse_ctx *p, sbom_component **out)
{
	if (p->s->n >= SBOM_COMPONENTS_MAX)
		return upt_err_set(p->e, UPT_E_TOO_LARGE, "%s: more than %d components", p->file,
				   SBOM_COMPONENTS_MAX);
	if (p->s->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		sbom_component *c = realloc(p->s->c, cap * sizeof(*c));
		if (!c)
			return upt_err_set(p->e, UPT_E_NOMEM, "out of memory");
		p->s->c = c;
		p->cap = cap;
	}
	*out = &p->s->c[p->s->n++];
	memset(*out, 0, sizeof(**out));
	return UPT_OK;
}

/* hashes as "ALG:hex ALG:hex": an array of objects whose alg and value members are named
 * akey and vkey (CycloneDX alg/content, SPDX algorithm/checksumValue). */
static int hash_list(parse_ctx *p, const json_t *arr, const char *where, const char *akey,
		     const char *vkey, char **out)
{
	*out = NULL;
	if (!arr || json_is_null(arr))
		return UPT_OK;
	if (!json_is_array(arr))
		return bad(p, where, "not an array");
	size_t i;
	json_t *h;
	size_t len = 0;
	char *s = NULL;
	json_array_foreach(arr, i, h)
	{
		char field[256];
		snprintf(field, sizeof(field), "%s[%zu]", where, i);
		const char *alg, *val;
		if (!json_is_object(h)) {
			free(s);
			return bad(p, field, "not an object");
		}
		int rc = opt_str(p, h, akey, field, &alg);
		if (rc == UPT_OK)
			rc = opt_str(p, h, vkey, field, &val);
		if (rc == UPT_OK && (!alg || !val))
			rc = upt_err_set(p->e, UPT_E_MALFORMED, "%s: %s: needs %s and %s", p->file,
					 field, akey, vkey);
		if (rc == UPT_OK && strspn(val, "0123456789abcdefABCDEF") != strlen(val))
			rc = bad(p, field, "hash value is not hexadecimal");
		if (rc) {
			free(s);
			return rc;
		}
		size_t add = strlen(alg) + strlen(val) + 2;
		char *n = realloc(s, len + add + 1);
		if (!n) {
			free(s);
			return upt_err_set(p->e, UPT_E_NOMEM, "out of memory");
		}
		s = n;
		len += (size_t)snprintf(s + len, add + 1, "%s%s:%s", len ? " " : "", alg, val);
	}
	*out = s;
	return UPT_OK;
}

/* A new component of object o at field: its name (required) and its version (member vkey). */
static int component_new(parse_ctx *p, const json_t *o, const char *field, const char *vkey,
			 sbom_component **out)
{
	if (!json_is_object(o))
		return bad(p, field, "not an object");
	int rc = push(p, out);
	if (rc == UPT_OK)
		rc = opt_str(p, o, "name", field, &(*out)->name);
	if (rc == UPT_OK && !(*out)->name)
		rc = bad(p, field, "no name");
	if (rc == UPT_OK)
		rc = opt_str(p, o, vkey, field, &(*out)->version);
	return rc;
}

static int cdx_components(parse_ctx *p, const json_t *arr, const char *where, int depth)
{
	if (!arr)
		return UPT_OK;
	if (!json_is_array(arr))
		return bad(p, where, "not an array");
	if (depth > SBOM_NEST_MAX)
		return bad(p, where, "components nested more than 16 deep");
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
	{
		char field[200];
		snprintf(field, sizeof(field), "%.150s[%zu]", where, i);
		sbom_component *c = NULL;
		int rc = component_new(p, o, field, "version", &c);
		if (rc == UPT_OK)
			rc = opt_str(p, o, "purl", field, &c->purl);
		if (rc == UPT_OK)
			rc = opt_str(p, o, "cpe", field, &c->cpe);
		const json_t *sup = json_object_get(o, "supplier");
		if (rc == UPT_OK && sup && !json_is_object(sup))
			rc = bad(p, field, "supplier is not an object");
		if (rc == UPT_OK && sup) {
			char sf[220];
			snprintf(sf, sizeof(sf), "%s.supplier", field);
			rc = opt_str(p, sup, "name", sf, &c->supplier);
		}
		if (rc == UPT_OK) {
			char hf[220];
			snprintf(hf, sizeof(hf), "%s.hashes", field);
			rc = hash_list(p, json_object_get(o, "hashes"), hf, "alg", "content",
				       &c->hashes);
		}
		if (rc == UPT_OK) {
			char nf[220];
			snprintf(nf, sizeof(nf), "%s.components", field);
			rc = cdx_components(p, json_object_get(o, "components"), nf, depth + 1);
		}
		if (rc)
			return rc;
	}
	return UPT_OK;
}

/* SPDX supplier: "Person: NAME", "Organization: NAME" or NOASSERTION (none). */
static const char *spdx_supplier(const char *s)
{
	if (!s || !strcmp(s, "NOASSERTION"))
		return NULL;
	const char *colon = strchr(s, ':');
	if (colon && (!strncmp(s, "Person:", 7) || !strncmp(s, "Organization:", 13)))
		s = colon + 1 + strspn(colon + 1, " ");
	return *s ? s : NULL;
}

static int spdx_refs(parse_ctx *p, const json_t *o, const char *field, sbom_component *c)
{
	const json_t *refs = json_object_get(o, "externalRefs");
	if (!refs)
		return UPT_OK;
	char rf[200];
	snprintf(rf, sizeof(rf), "%s.externalRefs", field);
	if (!json_is_array(refs))
		return bad(p, rf, "not an array");
	size_t i;
	json_t *r;
	json_array_foreach(refs, i, r)
	{
		char f[256];
		snprintf(f, sizeof(f), "%s[%zu]", rf, i);
		const char *type, *loc;
		if (!json_is_object(r))
			return bad(p, f, "not an object");
		int rc = opt_str(p, r, "referenceType", f, &type);
		if (rc == UPT_OK)
			rc = opt_str(p, r, "referenceLocator", f, &loc);
		if (rc == UPT_OK && (!type || !loc))
			rc = bad(p, f, "needs referenceType and referenceLocator");
		if (rc)
			return rc;
		if (!strcmp(type, "purl") && !c->purl)
			c->purl = loc;
		else if ((!strcmp(type, "cpe23Type") || !strcmp(type, "cpe22Type")) && !c->cpe)
			c->cpe = loc;
	}
	return UPT_OK;
}

static int spdx_packages(parse_ctx *p, const json_t *arr)
{
	if (!arr)
		return UPT_OK;
	if (!json_is_array(arr))
		return bad(p, "packages", "not an array");
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
	{
		char field[64];
		snprintf(field, sizeof(field), "packages[%zu]", i);
		sbom_component *c = NULL;
		const char *sup = NULL;
		int rc = component_new(p, o, field, "versionInfo", &c);
		if (rc == UPT_OK)
			rc = opt_str(p, o, "supplier", field, &sup);
		if (rc == UPT_OK)
			c->supplier = spdx_supplier(sup);
		if (rc == UPT_OK)
			rc = spdx_refs(p, o, field, c);
		if (rc == UPT_OK) {
			char hf[100];
			snprintf(hf, sizeof(hf), "%s.checksums", field);
			rc = hash_list(p, json_object_get(o, "checksums"), hf, "algorithm",
				       "checksumValue", &c->hashes);
		}
		if (rc)
			return rc;
	}
	return UPT_OK;
}

static int detect(parse_ctx *p, const json_t *doc)
{
	if (!json_is_object(doc))
		return bad(p, "(document)", "not a JSON object");
	const json_t *bom = json_object_get(doc, "bomFormat");
	const json_t *spdx = json_object_get(doc, "spdxVersion");
	if (bom && spdx)
		return bad(p, "(document)", "both bomFormat and spdxVersion: which is it?");
	if (bom) {
		const char *v = json_string_value(json_object_get(doc, "specVersion"));
		if (!json_is_string(bom) || strcmp(json_string_value(bom), "CycloneDX"))
			return bad(p, "bomFormat", "not \"CycloneDX\"");
		if (!v || (strcmp(v, "1.4") && strcmp(v, "1.5") && strcmp(v, "1.6")))
			return bad(p, "specVersion", "CycloneDX 1.4, 1.5 or 1.6 expected");
		p->s->format = SBOM_CYCLONEDX;
		snprintf(p->s->spec, sizeof(p->s->spec), "%s", v);
		return UPT_OK;
	}
	if (spdx) {
		if (!json_is_string(spdx) || strcmp(json_string_value(spdx), "SPDX-2.3"))
			return bad(p, "spdxVersion", "\"SPDX-2.3\" expected (the JSON format)");
		p->s->format = SBOM_SPDX;
		snprintf(p->s->spec, sizeof(p->s->spec), "2.3");
		return UPT_OK;
	}
	return bad(p, "(document)", "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON");
}

int sbom_parse(const char *file, const void *data, size_t len, sbom *out, upt_err *e)
{
	if (len > SBOM_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%s: SBOM of %zu bytes (at most %u)", file,
				   len, SBOM_MAX);
	json_t *doc = NULL;
	int rc = upt_json_parse_bounded(data, len, SBOM_MAX, SBOM_TREE_MAX, &doc, e);
	if (rc)
		return upt_err_prefix(e, "%s", file);
	sbom s;
	memset(&s, 0, sizeof(s));
	s.doc = doc;
	parse_ctx p = {.file = file, .s = &s, .e = e};
	rc = detect(&p, doc);
	if (rc == UPT_OK && s.format == SBOM_CYCLONEDX)
		rc = cdx_components(&p, json_object_get(doc, "components"), "components", 0);
	else if (rc == UPT_OK)
		rc = spdx_packages(&p, json_object_get(doc, "packages"));
	if (rc) {
		sbom_free(&s);
		return rc;
	}
	*out = s;
	return UPT_OK;
}

void sbom_free(sbom *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->c[i].hashes);
	free(s->c);
	json_decref(s->doc);
	memset(s, 0, sizeof(*s));
}

bool sbom_purl_base(const char *s, char *out, size_t n)
{
	if (!s || strncmp(s, "pkg:", 4) || !strchr(s + 4, '/'))
		return false;
	/* version after '@', qualifiers after '?', subpath after '#'; an '@' in the namespace
	 * is percent-encoded (%40), so the first '@' after the last '/' of the name part
	 * starts the version */
	size_t end = strcspn(s, "?#");
	const char *slash = s;
	for (const char *q = s; q < s + end; q++)
		if (*q == '/')
			slash = q;
	const char *at = memchr(slash, '@', (size_t)(s + end - slash));
	if (at)
		end = (size_t)(at - s);
	if (end + 1 > n)
		return false;
	memcpy(out, s, end);
	out[end] = 0;
	return true;
}
