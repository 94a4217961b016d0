/* osv: OSV advisories, strictly (see osv.h). */
#include "osv.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/buf.h"
#include "upt/cjson.h"
#include "upt/fileio.h"

static int bad(const char *file, const char *field, upt_err *e, const char *why)
{
	return upt_err_set(e, UPT_E_MALFORMED, "%s: %s: %s", file, field, why);
}

static int array_of(const char *file, const json_t *o, const char *key, const char *where,
		    const json_t **out, upt_err *e)
{
	char f[160];
	snprintf(f, sizeof(f), "%s.%s", where, key);
	*out = json_object_get(o, key);
	if (!*out)
		return UPT_OK;
	if (!json_is_array(*out))
		return bad(file, f, e, "not an array");
	if (json_array_size(*out) > OSV_ENTRIES_MAX)
		return bad(file, f, e, "more than 4096 entries");
	return UPT_OK;
}

/* A string of 1 to SBOM_FIELD_MAX bytes without NUL, else NULL. */
static const char *str_ok(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0 &&
		       json_string_length(v) <= SBOM_FIELD_MAX &&
		       strlen(json_string_value(v)) == json_string_length(v)
		   ? json_string_value(v)
		   : NULL;
}

static const char *str_of(const json_t *o, const char *key)
{
	return str_ok(json_object_get(o, key));
}

/* A purl base from an ecosystem and a name: what an SBOM's purl for it would start with. */
static void purl_for(const char *ecosystem, const char *name, char *out, size_t n)
{
	out[0] = 0;
	size_t eco = strcspn(ecosystem, ":");
	if (eco == 3 && !strncmp(ecosystem, "npm", 3)) {
		/* a scope's '@' is percent-encoded in a purl */
		snprintf(out, n, "pkg:npm/%s%s", name[0] == '@' ? "%40" : "",
			 name[0] == '@' ? name + 1 : name);
	} else if (eco == 6 && !strncmp(ecosystem, "Debian", 6)) {
		snprintf(out, n, "pkg:deb/debian/%s", name);
	}
}

static int parse_events(const char *file, const char *where, const json_t *evs,
			enum vo_scheme scheme, osv_range *r, upt_err *e)
{
	r->ev = calloc(json_array_size(evs) ? json_array_size(evs) : 1, sizeof(*r->ev));
	if (!r->ev)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	size_t i;
	json_t *ev;
	json_array_foreach(evs, i, ev)
	{
		char f[200];
		snprintf(f, sizeof(f), "%s.events[%zu]", where, i);
		if (!json_is_object(ev) || json_object_size(ev) != 1)
			return bad(file, f, e,
				   "an object of one introduced, fixed or last_affected expected");
		const char *key = json_object_iter_key(json_object_iter(ev));
		const char *v = str_of(ev, key);
		enum vo_event_kind k;
		if (!strcmp(key, "introduced"))
			k = VO_INTRODUCED;
		else if (!strcmp(key, "fixed"))
			k = VO_FIXED;
		else if (!strcmp(key, "last_affected"))
			k = VO_LAST_AFFECTED;
		else if (!strcmp(key, "limit"))
			return bad(file, f, e, "limit events are for GIT ranges (not supported)");
		else
			return bad(file, f, e, "unknown event (introduced, fixed, last_affected)");
		if (!v)
			return bad(file, f, e, "the version is not a string");
		if (!(k == VO_INTRODUCED && !strcmp(v, "0")) && !vo_valid(scheme, v)) {
			char why[SBOM_FIELD_MAX + 64];
			snprintf(why, sizeof(why), "\"%.200s\" is not a %s version", v,
				 vo_scheme_name(scheme));
			return bad(file, f, e, why);
		}
		r->ev[r->nev++] = (vo_event){k, v};
	}
	return UPT_OK;
}

static int parse_ranges(const char *file, const char *where, const json_t *ranges,
			const char *ecosystem, osv_package *p, upt_err *e)
{
	p->ranges =
	    calloc(json_array_size(ranges) ? json_array_size(ranges) : 1, sizeof(*p->ranges));
	if (!p->ranges)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	size_t i;
	json_t *r;
	json_array_foreach(ranges, i, r)
	{
		char f[160];
		snprintf(f, sizeof(f), "%s.ranges[%zu]", where, i);
		const char *type = str_of(r, "type");
		enum vo_scheme scheme;
		if (!json_is_object(r) || !type)
			return bad(file, f, e, "an object with a type expected");
		char tf[180];
		snprintf(tf, sizeof(tf), "%s.type", f);
		if (!strcmp(type, "SEMVER")) {
			scheme = VO_SEMVER;
		} else if (!strcmp(type, "ECOSYSTEM")) {
			char ef[200];
			snprintf(ef, sizeof(ef), "%s.package.ecosystem", where);
			if (!ecosystem)
				return bad(file, ef, e, "an ECOSYSTEM range needs the ecosystem");
			if (vo_scheme_for_ecosystem(ecosystem, &scheme, e))
				return upt_err_prefix(e, "%s: %s", file, ef);
		} else {
			char why[300];
			snprintf(why, sizeof(why),
				 "range type \"%.100s\" is not supported (SEMVER, ECOSYSTEM)",
				 type);
			return bad(file, tf, e, why);
		}
		if (p->has_scheme && p->scheme != scheme)
			return bad(file, tf, e, "ranges of one package in two version orders");
		p->scheme = scheme;
		p->has_scheme = true;
		const json_t *evs;
		int rc = array_of(file, r, "events", f, &evs, e);
		if (rc == UPT_OK && !json_array_size(evs))
			rc = bad(file, f, e, "no events");
		if (rc == UPT_OK)
			rc = parse_events(file, f, evs, scheme, &p->ranges[p->nranges++], e);
		if (rc)
			return rc;
	}
	return UPT_OK;
}

static int parse_package(const char *file, const char *where, const json_t *a, osv_package *p,
			 upt_err *e)
{
	char f[160];
	snprintf(f, sizeof(f), "%s.package", where);
	const json_t *pkg = json_object_get(a, "package");
	if (!json_is_object(a) || !json_is_object(pkg))
		return bad(file, f, e, "no package object");
	const char *eco = str_of(pkg, "ecosystem"), *name = str_of(pkg, "name"),
		   *purl = str_of(pkg, "purl");
	if (!name && !purl)
		return bad(file, f, e, "neither name nor purl");
	p->name = name;
	if (purl && !sbom_purl_base(purl, p->purl_base, sizeof(p->purl_base)))
		return bad(file, f, e, "purl is not a package URL");
	if (!purl && eco)
		purl_for(eco, name, p->purl_base, sizeof(p->purl_base));
	if (eco && !purl && !p->purl_base[0]) {
		/* an ecosystem we know no order and no purl form for: say so, do not guess */
		enum vo_scheme s;
		if (vo_scheme_for_ecosystem(eco, &s, e))
			return upt_err_prefix(e, "%s: %s.ecosystem", file, f);
	}
	const json_t *ranges, *versions;
	int rc = array_of(file, a, "ranges", where, &ranges, e);
	if (rc == UPT_OK)
		rc = array_of(file, a, "versions", where, &versions, e);
	if (rc == UPT_OK && ranges)
		rc = parse_ranges(file, where, ranges, eco, p, e);
	if (rc == UPT_OK && purl && !p->has_scheme) {
		enum vo_scheme s;
		p->has_scheme = vo_scheme_for_purl(purl, &s, NULL) == UPT_OK;
		p->scheme = s;
	}
	if (rc)
		return rc;
	p->versions =
	    calloc(json_array_size(versions) ? json_array_size(versions) : 1, sizeof(*p->versions));
	if (!p->versions)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	size_t i;
	json_t *v;
	json_array_foreach(versions, i, v)
	{
		if (!str_ok(v)) {
			snprintf(f, sizeof(f), "%s.versions[%zu]", where, i);
			return bad(file, f, e, "not a version string");
		}
		p->versions[p->nversions++] = json_string_value(v);
	}
	if (!p->nranges && !p->nversions)
		return bad(file, where, e, "neither ranges nor versions: which versions?");
	return UPT_OK;
}

int osv_load(const char *file, osv *out, upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, OSV_MAX);
	json_t *doc = NULL;
	int rc = upt_file_read(AT_FDCWD, file, OSV_MAX, &b, e);
	if (rc == UPT_OK)
		rc = upt_json_parse(b.data, b.len, OSV_MAX, &doc, e);
	upt_buf_clear(&b);
	if (rc)
		return upt_err_prefix(e, "%s", file);
	osv o;
	memset(&o, 0, sizeof(o));
	o.doc = doc;
	const json_t *aff = NULL;
	o.id = str_of(doc, "id");
	if (!json_is_object(doc) || !o.id)
		rc = bad(file, "id", e, "not an OSV advisory (no id)");
	if (rc == UPT_OK)
		rc = array_of(file, doc, "affected", "(advisory)", &aff, e);
	if (rc == UPT_OK && !json_array_size(aff))
		rc = bad(file, "affected", e, "no affected packages");
	if (rc == UPT_OK) {
		o.pkg = calloc(json_array_size(aff), sizeof(*o.pkg));
		if (!o.pkg)
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; rc == UPT_OK && i < json_array_size(aff); i++) {
		char where[64];
		snprintf(where, sizeof(where), "affected[%zu]", i);
		rc = parse_package(file, where, json_array_get(aff, i), &o.pkg[i], e);
		o.npkg++;
	}
	if (rc) {
		osv_free(&o);
		return rc;
	}
	*out = o;
	return UPT_OK;
}

void osv_free(osv *o)
{
	for (size_t i = 0; i < o->npkg; i++) {
		for (size_t j = 0; j < o->pkg[i].nranges; j++)
			free(o->pkg[i].ranges[j].ev);
		free(o->pkg[i].ranges);
		free(o->pkg[i].versions);
	}
	free(o->pkg);
	json_decref(o->doc);
	memset(o, 0, sizeof(*o));
}

enum osv_match osv_affects(const osv_package *p, const char *version)
{
	if (!version)
		return OSV_UNDECIDED;
	for (size_t i = 0; i < p->nversions; i++)
		if (!strcmp(p->versions[i], version))
			return OSV_YES;
	if (!p->nranges)
		return OSV_NO;
	if (!vo_valid(p->scheme, version))
		return OSV_UNDECIDED;
	for (size_t i = 0; i < p->nranges; i++)
		if (vo_in_range(p->scheme, p->ranges[i].ev, p->ranges[i].nev, version))
			return OSV_YES;
	return OSV_NO;
}
