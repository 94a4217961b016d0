/*
 * sbom import WORKSPACE --ledger FILE: the SBOMs a workspace signed into the ledger
 * (docs/sbom.md). Every Image-repo targets file of the workspace (top-level and delegated) is
 * read; for each target whose signed custom carries an sbom reference, the workspace's copy
 * (sboms/<sha256>.json) must have exactly the signed length and SHA-256 and parse; its
 * components are stored under the target's SHA-256. One transaction: any error, nothing stored.
 *
 * "Signed" is checked, not assumed: the workspace's Image repository is first verified as a
 * device verifies it (docs/threat-model.md steps 1 and 3, from image-repo/1.root.json, every
 * target with an SBOM looked up through the delegations; without the timestamp, see
 * verify_repo), so a custom.sbom edited in the
 * workspace's targets files fails here. Authenticity, not freshness: expiries are not checked
 * (an SBOM stays the image's SBOM after the metadata that signed it expired).
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "ledger.h"
#include "ledger_sbom.h"
#include "sbom.h"
#include "sbom_ref.h"
#include "upt/cjson.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/trust.h"
#include "upt/verify.h"
#include "workspace.h"

static const char usage[] =
    "usage: uptane-bundle sbom import WORKSPACE --ledger FILE\n"
    "  import: the SBOMs of WORKSPACE's signed Image-repo targets (target add --sbom, then\n"
    "  create) into the ledger: each is checked against the length and SHA-256 its target's\n"
    "  signed custom.sbom names, and its components (name, version, purl, cpe, supplier,\n"
    "  hashes) are stored under the target's SHA-256, which device reports name.\n"
    "  Any error: nothing is stored. Then: N imported, N replaced, N unchanged.\n";

static const arg_opt opts[] = {{"ledger", 0, ARG_ONE}};

#define SBOM_TARGETS_MAX UPT_TARGETS_MAX

typedef struct import_ctx {
	ws *w;
	ledger *l;
	bool verified; /* false: the first pass, collecting the names to verify */
	const char *names[SBOM_TARGETS_MAX];
	size_t nnames;
	size_t added, replaced, unchanged;
} import_ctx;

static int import_one(import_ctx *c, const char *meta, const char *name, const json_t *t,
		      upt_err *e)
{
	sbom_ref ref;
	bool found = false;
	int rc = sbom_ref_from_custom(json_object_get(t, "custom"), &ref, &found, e);
	if (rc)
		return upt_err_prefix(e, "%s: target %s", meta, name);
	if (!found)
		return UPT_OK;
	if (!c->verified) {
		if (c->nnames == SBOM_TARGETS_MAX)
			return upt_err_set(e, UPT_E_TOO_LARGE, "more than %d targets with an SBOM",
					   SBOM_TARGETS_MAX);
		c->names[c->nnames++] = name;
		return UPT_OK;
	}
	const char *tsha =
	    json_string_value(json_object_get(json_object_get(t, "hashes"), "sha256"));
	uint8_t raw[UPT_SHA256_LEN];
	if (!tsha || strlen(tsha) != 2 * UPT_SHA256_LEN ||
	    upt_hex_decode(tsha, raw, UPT_SHA256_LEN, NULL))
		return upt_err_set(e, UPT_E_MALFORMED,
				   "%s: target %s: hashes.sha256: not 64 hex digits", meta, name);
	char rel[128];
	sbom_ref_path(&ref, rel);
	upt_buf b;
	upt_buf_init(&b, SBOM_MAX);
	rc = ws_read(c->w, rel, SBOM_MAX, &b, e);
	uint8_t got[UPT_SHA256_LEN];
	if (rc)
		upt_err_prefix(e, "target %s: its SBOM %s", name, rel);
	if (rc == UPT_OK)
		rc = upt_sha256(b.data, b.len, got, e);
	if (rc == UPT_OK && (b.len != ref.length || memcmp(got, ref.sha256, UPT_SHA256_LEN)))
		rc =
		    upt_err_set(e, UPT_E_MALFORMED,
				"%s/%s: %zu bytes whose SHA-256 is not the one target %s signs in "
				"%s (custom.sbom.length %llu, custom.sbom.hashes.sha256): the SBOM "
				"was changed after signing",
				c->w->dir, rel, b.len, name, meta, (unsigned long long)ref.length);
	sbom s;
	memset(&s, 0, sizeof(s));
	char path[1200];
	snprintf(path, sizeof(path), "%s/%s", c->w->dir, rel);
	if (rc == UPT_OK)
		rc = sbom_parse(path, b.data, b.len, &s, e);
	if (rc == UPT_OK && strcmp(sbom_format_name(s.format), ref.format))
		rc = upt_err_set(e, UPT_E_MALFORMED, "%s: is %s, custom.sbom.format says %s", path,
				 sbom_format_name(s.format), ref.format);
	enum ledger_sbom_result res = LEDGER_SBOM_UNCHANGED;
	char hex[LEDGER_SHA256_HEX];
	upt_hex_encode(ref.sha256, UPT_SHA256_LEN, hex);
	if (rc == UPT_OK)
		rc = ledger_sbom_put(c->l, tsha, name, hex, &s, &res, e);
	if (rc == UPT_OK) {
		c->added += res == LEDGER_SBOM_ADDED;
		c->replaced += res == LEDGER_SBOM_REPLACED;
		c->unchanged += res == LEDGER_SBOM_UNCHANGED;
		printf("%s %s: %s %s, %zu components\n",
		       res == LEDGER_SBOM_ADDED	     ? "imported"
		       : res == LEDGER_SBOM_REPLACED ? "replaced"
						     : "unchanged",
		       name, sbom_format_name(s.format), s.spec, s.n);
	}
	sbom_free(&s);
	upt_buf_clear(&b);
	return rc;
}

/* One signed targets file of the Image repository (others in the directory are skipped); the
 * bytes are those verify_repo checked. */
static int import_meta(import_ctx *c, const char *rel, const upt_buf *b, json_t **keep, upt_err *e)
{
	json_t *doc = NULL;
	int rc = upt_json_parse(b->data, b->len, UPT_META_FILE_MAX, &doc, e);
	if (rc)
		upt_err_prefix(e, "%s", rel);
	const json_t *sig = json_object_get(doc, "signed");
	const char *type = json_string_value(json_object_get(sig, "_type"));
	if (rc == UPT_OK && type && !strcmp(type, "targets")) {
		const char *name;
		json_t *t;
		json_object_foreach(json_object_get(sig, "targets"), name, t)
		{
			rc = import_one(c, rel, name, t, e);
			if (rc)
				break;
		}
	}
	*keep = doc; /* the names collected point into it */
	return rc;
}

static bool is_targets_file(const char *rel)
{
	const char *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	size_t len = strlen(base);
	return len > 5 && !strcmp(base + len - 5, ".json") && !strstr(base, "root.json") &&
	       strcmp(base, "timestamp.json") && strcmp(base, "snapshot.json");
}

/* The workspace's Image repository as a device verifies it, for the collected names. */
static int verify_repo(import_ctx *c, char **files, upt_buf *data, size_t n, upt_err *e)
{
	upt_bundle_file *bf = calloc(n ? n : 1, sizeof(*bf));
	if (!bf)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	upt_bundle_meta bm = {.files = bf};
	upt_buf_init(&bm.bundle_json, 16);
	upt_trust t;
	upt_trust_init(&t);
	int rc = UPT_OK;
	const upt_buf *anchor = NULL;
	for (size_t i = 0; i < n; i++) {
		/* Not the timestamp: a fleet bundle signs a new snapshot and no timestamp (PURE-2),
		 * so the workspace's timestamp may pin an older snapshot. The snapshot's own
		 * signature is what vouches for the targets files. */
		if (!strcmp(files[i], "metadata/image-repo/timestamp.json"))
			continue;
		bf[bm.nfiles].path = files[i]; /* "metadata/image-repo/...": the bundle's layout */
		bf[bm.nfiles++].data = data[i];
		if (!strcmp(files[i], "metadata/image-repo/1.root.json"))
			anchor = &data[i];
	}
	if (!anchor)
		rc = upt_err_set(e, UPT_E_CONFIG,
				 "%s: no metadata/image-repo/1.root.json (not a workspace?)",
				 c->w->dir);
	if (rc == UPT_OK)
		rc = upt_trust_set(&t, "image-repo/root.json", anchor->data, anchor->len, e);
	if (rc == UPT_OK) {
		/* time 0: before every expiry (authenticity, not freshness) */
		upt_verify_input in = {&t, &bm, NULL, 0};
		upt_verify_result r;
		int code = upt_verify_image_repo_no_timestamp(&in, c->names, c->nnames, &r);
		if (code != UPT_OK)
			rc = upt_err_set(
			    e, code == UPT_E_NOMEM ? code : UPT_E_MALFORMED,
			    "%s: the workspace's Image repository does not verify: %s%s%s",
			    c->w->dir, r.err.file, r.err.file[0] ? ": " : "", r.err.msg);
		upt_verify_result_clear(&r);
	}
	upt_trust_clear(&t);
	free(bf);
	return rc;
}

static int sbom_import(const char *dir, const char *ledger_path, upt_err *e)
{
	ws w = {.dirfd = -1, .lockfd = -1};
	import_ctx c = {.w = &w};
	char **files = NULL;
	size_t n = 0;
	upt_buf *data = NULL;
	json_t **docs = NULL;
	int rc = ws_open(dir, &w, e);
	if (rc == UPT_OK)
		rc = ws_list(&w, "metadata/image-repo", &files, &n, e);
	if (rc == UPT_OK) {
		data = calloc(n ? n : 1, sizeof(*data));
		docs = calloc(n ? n : 1, sizeof(*docs));
		if (!data || !docs)
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; rc == UPT_OK && i < n; i++) {
		upt_buf_init(&data[i], UPT_META_FILE_MAX);
		rc = ws_read(&w, files[i], UPT_META_FILE_MAX, &data[i], e);
	}
	/* first the names of the targets with an SBOM, then the verification, then the import
	 * from the very bytes verified */
	for (int pass = 0; pass < 2 && rc == UPT_OK; pass++) {
		for (size_t i = 0; rc == UPT_OK && i < n; i++) {
			if (!is_targets_file(files[i]))
				continue;
			json_t *doc = NULL;
			rc = import_meta(&c, files[i], &data[i], &doc, e);
			if (pass == 0)
				docs[i] = doc;
			else
				json_decref(doc);
		}
		if (rc == UPT_OK && pass == 0 && !c.nnames)
			rc = upt_err_set(
			    e, UPT_E_USAGE,
			    "%s: no signed target names an SBOM (target add --sbom, then "
			    "create)",
			    dir);
		if (rc == UPT_OK && pass == 0)
			rc = verify_repo(&c, files, data, n, e);
		if (rc == UPT_OK && pass == 0) {
			c.verified = true;
			rc = ledger_open(ledger_path, LEDGER_WRITE, &c.l, e);
			if (rc == UPT_OK)
				rc = ledger_begin(c.l, e);
		}
	}
	if (rc == UPT_OK)
		rc = ledger_commit(c.l, e);
	if (rc == UPT_OK)
		printf("%zu imported, %zu replaced, %zu unchanged\n", c.added, c.replaced,
		       c.unchanged);
	ledger_close(c.l);
	for (size_t i = 0; i < n; i++) {
		if (data)
			upt_buf_clear(&data[i]);
		if (docs)
			json_decref(docs[i]);
	}
	free(data);
	free(docs);
	ws_list_free(files, n);
	ws_close(&w);
	return rc;
}

static int sbom_run(const args *a)
{
	if (a->npos != 2 || strcmp(a->pos[0], "import"))
		return cli_usage("sbom", usage, "expected: sbom import WORKSPACE --ledger FILE");
	if (!args_one(a, "ledger"))
		return cli_usage("sbom", usage, "--ledger FILE is required");
	upt_err e;
	upt_err_clear(&e);
	return sbom_import(a->pos[1], args_one(a, "ledger"), &e) ? cli_fail("sbom", &e) : 0;
}

int cmd_sbom(int argc, char **argv)
{
	return cli_run("sbom", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, sbom_run);
}
