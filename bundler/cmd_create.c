/*
 * create: signs every role a bundle needs (versions one above the workspace's last) and packs
 * it with the assigned images (docs/bundle-format.md).
 *   device bundle: --device ID.. (default: every device with assignments); one device uses
 *     metadata/director/{timestamp,snapshot,targets}.json, several metadata/director/devices/
 *   fleet bundle: --fleet NAME: offline-snapshot + offline-updates/NAME.json, no Image-repo
 *     timestamp (PURE-2)
 * Offline and threshold signing: --sign-later stages the files in WORKSPACE/staged/ and lists
 * who must sign what (uptane-bundle sign); --resume continues once they have, --abort drops it.
 * The versions are recorded in the workspace before the bundle becomes visible, so a version
 * is never signed twice with different content (a failed run only skips numbers).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "build.h"
#include "encrypt.h"
#include "commands.h"
#include "ledger.h"
#include "pack.h"
#include "target_file.h"
#include "upt/cjson.h"
#include "upt/hash.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"
#include "workspace.h"

static const char usage[] =
    "usage: uptane-bundle create WORKSPACE -o OUT.uptane [--fleet NAME | --device ID..]\n"
    "         [--expires DURATION | --expires REPO/ROLE=DURATION].. [--level N] [--threads N]\n"
    "         [--split-size SIZE] [--key K.key..] [--sign-later] [--force-expiry]\n"
    "         [--dry-run] [--encrypt-to DEVICE=NAME.pub.. | --encrypt --ledger FILE]\n"
    "       uptane-bundle create WORKSPACE --resume [-o OUT.uptane] [--key K.key..]\n"
    "       uptane-bundle create WORKSPACE --abort\n"
    "  Signs every role the bundle needs, versions one above the last bundle's, and packs\n"
    "  it with the assigned images. --device: a device bundle for these devices (default:\n"
    "  all assigned devices); --fleet NAME: a PURE-2 fleet bundle. --expires sets how long\n"
    "  the metadata signed now stays valid (all roles, or one); DURATION: <n>h hours, <n>d\n"
    "  days or <n>y calendar years (12h, 90d, 2y). A role may not outlive its\n"
    "  repository's root (devices freeze when the root expires): renew the root first\n"
    "  (rotate --role REPO/root --expires), shorten --expires, or sign anyway with\n"
    "  --force-expiry. The summary ends with the bundle's real end of validity, the\n"
    "  earliest expiry of the files a device checks, roots included. --level (zstd,\n"
    "  default 3), --threads (compression workers), --split-size SIZE (volumes OUT.000,\n"
    "  OUT.001, ..., each at most SIZE bytes, 1M to 4294967295 (FAT32's limit, 4 GiB - 1):\n"
    "  4000M for FAT32; K, M, G are powers of 1024; the volumes written are listed).\n"
    "  --key: more private keys to sign with in this run. --sign-later: when keys held\n"
    "  elsewhere must sign, stage the files in WORKSPACE/staged and list who signs what\n"
    "  (uptane-bundle sign FILE --key K.key); --resume packs once every threshold is met.\n"
    "  --dry-run: every check of a create (images unchanged, assignments, expiries, roots),\n"
    "  then what it would sign and who must; nothing is written, no version is used up\n"
    "  (-o may be left out).\n"
    "  --encrypt-to DEVICE=NAME.pub (repeatable; hardware-id:HW=NAME.pub for a fleet\n"
    "  bundle): encrypt every image under a fresh key, wrapped for each of these X25519\n"
    "  keys (key generate --x25519); --encrypt --ledger FILE: wrapped for the encryption\n"
    "  keys the ledger registers for the bundle's devices (devices add --encryption-key).\n"
    "  Each image is stored once, whatever the number of devices. Not with --sign-later\n"
    "  or --dry-run.\n";

static const arg_opt opts[] = {
    {"output", 'o', ARG_ONE},	 {"fleet", 0, ARG_ONE},	   {"device", 0, ARG_LIST},
    {"expires", 0, ARG_LIST},	 {"level", 0, ARG_ONE},	   {"threads", 0, ARG_ONE},
    {"split-size", 0, ARG_ONE},	 {"key", 0, ARG_LIST},	   {"sign-later", 0, ARG_NONE},
    {"resume", 0, ARG_NONE},	 {"abort", 0, ARG_NONE},   {"force-expiry", 0, ARG_NONE},
    {"dry-run", 0, ARG_NONE},	 {"encrypt", 0, ARG_NONE}, {"ledger", 0, ARG_ONE},
    {"encrypt-to", 0, ARG_LIST},
};

#define PLAN_FILE "staged/plan.json"

typedef struct plan {
	json_t *doc; /* the plan.json document */
	const char **devices;
	size_t ndevices;
} plan;

static int parse_expires(const arg_val *v, json_t *out, upt_err *e)
{
	for (size_t i = 0; i < v->n; i++) {
		const char *s = v->v[i];
		const char *eq = strchr(s, '=');
		int64_t secs;
		int rc;
		if (!eq) {
			rc = upt_duration_parse(s, now_utc(), &secs, e);
			if (rc)
				return rc;
			json_object_set_new(out, "*", json_string(s));
			continue;
		}
		char *copy = NULL;
		const char *role, *dur;
		rc = parse_assign("--expires", s, &copy, &role, &dur, e);
		if (rc)
			return rc;
		const char *slash = strchr(role, '/');
		char repo[16];
		if (!slash || (size_t)(slash - role) >= sizeof(repo)) {
			free(copy);
			return upt_err_set(e, UPT_E_USAGE,
					   "--expires %s: expected DURATION or "
					   "REPO/ROLE=DURATION",
					   s);
		}
		memcpy(repo, role, (size_t)(slash - role));
		repo[slash - role] = '\0';
		rc = ws_repo_valid(repo) ? upt_duration_parse(dur, now_utc(), &secs, e)
					 : upt_err_set(e, UPT_E_USAGE,
						       "--expires %s: REPO is "
						       "image-repo or director",
						       s);
		if (rc == UPT_OK)
			json_object_set_new(out, role, json_string(dur));
		free(copy);
		if (rc)
			return rc;
	}
	return UPT_OK;
}

static int workspace_digest(const ws *w, char out[65], upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, WS_MAX);
	uint8_t d[UPT_SHA256_LEN];
	int rc = ws_read(w, WS_FILE, WS_MAX, &b, e);
	if (rc == UPT_OK)
		rc = upt_sha256(b.data, b.len, d, e);
	if (rc == UPT_OK)
		upt_hex_encode(d, sizeof(d), out);
	upt_buf_clear(&b);
	return rc;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The plan of a new create, from the command line. */
/* The compression options given (pack_parse_writer_opts) into the plan, over what it holds:
 * --resume may change --level and --threads (cmd_create refuses --split-size there). */
static int plan_writer_opts(plan *p, const args *a, upt_err *e)
{
	upt_bundle_writer_opts wo;
	int rc = pack_parse_writer_opts(a, &wo, e);
	if (rc)
		return rc;
	if (wo.level)
		json_object_set_new(p->doc, "level", json_integer(wo.level));
	if (wo.threads)
		json_object_set_new(p->doc, "threads", json_integer((json_int_t)wo.threads));
	if (wo.split_size)
		json_object_set_new(p->doc, "split_size", json_integer((json_int_t)wo.split_size));
	return UPT_OK;
}

static int plan_from_args(const ws *w, const args *a, plan *p, upt_err *e)
{
	const char *out = args_one(a, "output");
	if (!out && args_flag(a, "dry-run"))
		out = "dry-run.uptane"; /* never written */
	if (!out)
		return upt_err_set(e, UPT_E_USAGE, "-o OUT.uptane is required");
	char absout[4096];
	if (out[0] == '/') {
		snprintf(absout, sizeof(absout), "%s", out);
	} else {
		char cwd[2048];
		if (!getcwd(cwd, sizeof(cwd)))
			return upt_err_set(e, UPT_E_IO, "getcwd: %s", strerror(errno));
		snprintf(absout, sizeof(absout), "%s/%s", cwd, out);
	}
	json_t *expires = json_object();
	json_t *devs = json_array();
	p->doc =
	    json_pack("{s:s, s:o, s:o}", "output", absout, "expires", expires, "devices", devs);
	if (!p->doc)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = parse_expires(args_get(a, "expires"), expires, e);
	if (rc)
		return rc;
	if (args_flag(a, "force-expiry"))
		json_object_set_new(p->doc, "force_expiry", json_true());
	const char *fleet = args_one(a, "fleet");
	const arg_val *dv = args_get(a, "device");
	if (fleet && dv->n)
		return upt_err_set(e, UPT_E_USAGE,
				   "--fleet and --device exclude each other (a fleet "
				   "bundle's device allow-list comes from assign --device)");
	if (fleet) {
		json_object_set_new(p->doc, "fleet", json_string(fleet));
	} else if (dv->n) {
		for (size_t i = 0; i < dv->n; i++)
			json_array_append_new(devs, json_string(dv->v[i]));
	} else {
		const json_t *all = json_object_get(w->doc, "devices");
		size_t n = json_object_size(all);
		const char **names = calloc(n ? n : 1, sizeof(*names));
		if (!names)
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		size_t k = 0;
		const char *id;
		json_t *ecus;
		json_object_foreach((json_t *)all, id, ecus)
		{
			if (json_object_size(ecus))
				names[k++] = id;
		}
		if (k)
			qsort(names, k, sizeof(*names), cmp_cstr);
		for (size_t i = 0; i < k; i++)
			json_array_append_new(devs, json_string(names[i]));
		free(names);
	}
	return plan_writer_opts(p, a, e);
}

/* A staged create's plan; -o and the compression options may be given again. */
static int plan_load(const ws *w, const args *a, plan *p, upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, UPT_META_FILE_MAX);
	int rc = ws_read(w, PLAN_FILE, UPT_META_FILE_MAX, &b, e);
	if (rc == UPT_OK)
		rc = upt_json_parse(b.data, b.len, UPT_META_FILE_MAX, &p->doc, e);
	upt_buf_clear(&b);
	if (rc)
		return upt_err_prefix(e, "%s/%s", w->dir, PLAN_FILE);
	char digest[65];
	rc = workspace_digest(w, digest, e);
	if (rc)
		return rc;
	const char *was = json_string_value(json_object_get(p->doc, "workspace_sha256"));
	if (!was || strcmp(was, digest))
		return upt_err_set(e, UPT_E_USAGE,
				   "the workspace changed since create --sign-later (targets, "
				   "assignments or keys): the staged files no longer match it; "
				   "create --abort and start again");
	if (!json_is_object(json_object_get(p->doc, "expires")) ||
	    !json_is_array(json_object_get(p->doc, "devices")) ||
	    !json_is_string(json_object_get(p->doc, "output")))
		return upt_err_set(e, UPT_E_USAGE, "%s/%s: not a plan", w->dir, PLAN_FILE);
	if (args_one(a, "output"))
		json_object_set_new(p->doc, "output", json_string(args_one(a, "output")));
	return plan_writer_opts(p, a, e);
}

static int plan_devices(plan *p, upt_err *e)
{
	const json_t *devs = json_object_get(p->doc, "devices");
	size_t n = json_array_size(devs);
	p->devices = calloc(n ? n : 1, sizeof(*p->devices));
	if (!p->devices)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(devs, i));
		if (!s || !upt_name_valid(s))
			return upt_err_set(e, UPT_E_USAGE,
					   "device id \"%.200s\": use 1 to 128 "
					   "letters, digits, '.', '_' or '-'",
					   s ? s : "");
		p->devices[i] = s;
	}
	p->ndevices = n;
	return UPT_OK;
}

static int stage(const ws *w, const build_ctx *c, plan *p, upt_err *e)
{
	char digest[65];
	int rc = workspace_digest(w, digest, e);
	if (rc)
		return rc;
	json_object_set_new(p->doc, "workspace_sha256", json_string(digest));
	for (size_t i = 0; rc == UPT_OK && i < c->nitems; i++) {
		const item *it = &c->items[i];
		char path[UPT_MEMBER_PATH_MAX + 16];
		snprintf(path, sizeof(path), "staged/%s", it->member);
		if (it->built)
			rc = ws_write(w, path, it->bytes.data, it->bytes.len, e);
	}
	char *s = rc == UPT_OK ? json_dumps(p->doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (rc == UPT_OK && !s)
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if (rc == UPT_OK)
		rc = ws_write(w, PLAN_FILE, s, strlen(s), e);
	free(s);
	return rc;
}

typedef struct commit_ctx {
	const ws *w;
	const build_ctx *c;
} commit_ctx;

/* Records the signed files as the workspace's latest, before the bundle becomes visible. */
static int commit(void *ctx, upt_err *e)
{
	const commit_ctx *cc = ctx;
	for (size_t i = 0; i < cc->c->nitems; i++) {
		const item *it = &cc->c->items[i];
		int rc = ws_write(cc->w, it->wspath, it->bytes.data, it->bytes.len, e);
		if (rc)
			return rc;
	}
	return UPT_OK;
}

static void warn_roots(const build_ctx *c)
{
	static const char *const names[2] = {"image-repo", "director"};
	for (int r = 0; r < 2; r++)
		if (c->root[r]->expires - c->now < WS_ROOT_WARN) {
			char t[UPT_RFC3339_LEN + 1];
			upt_rfc3339_format(c->root[r]->expires, t);
			cli_warn("create",
				 "the %s root (version %llu) expires at %s, within 30 days: "
				 "rotate it (uptane-bundle rotate) before devices freeze",
				 names[r], (unsigned long long)c->root_latest[r], t);
		}
}

typedef struct member_set {
	pack_member *m;
	size_t n;
	upt_buf *roots;
	char (*paths)[64];
	size_t nroots;
} member_set;

static void members_free(member_set *ms)
{
	for (size_t i = 0; i < ms->nroots; i++)
		upt_buf_clear(&ms->roots[i]);
	free(ms->roots);
	free(ms->paths);
	free(ms->m);
	memset(ms, 0, sizeof(*ms));
}

/* Bundle order: per repository (Director first), every root 1..N, then each chain's files
 * newest layer first (timestamp, snapshot, targets, delegations; docs/bundle-format.md). */
static int collect_members(const ws *w, const build_ctx *c, member_set *ms, upt_err *e)
{
	static const char *const repos[2] = {"director", "image-repo"};
	size_t nroots = (size_t)(c->root_latest[0] + c->root_latest[1]);
	memset(ms, 0, sizeof(*ms));
	ms->m = calloc(c->nitems + nroots, sizeof(*ms->m));
	ms->roots = calloc(nroots, sizeof(*ms->roots));
	ms->paths = calloc(nroots, sizeof(*ms->paths));
	if (!ms->m || !ms->roots || !ms->paths) {
		members_free(ms);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	int rc = UPT_OK;
	for (int r = 0; rc == UPT_OK && r < 2; r++) {
		/* Every root version 1..N, so a device provisioned with any of them can chain up.
		 */
		uint64_t latest = c->root_latest[r == 0 ? 1 : 0];
		for (uint64_t v = 1; rc == UPT_OK && v <= latest; v++) {
			size_t k = ms->nroots++;
			snprintf(ms->paths[k], sizeof(ms->paths[k]), "metadata/%s/%llu.root.json",
				 repos[r], (unsigned long long)v);
			upt_buf_init(&ms->roots[k], UPT_META_FILE_MAX);
			rc = ws_read(w, ms->paths[k], UPT_META_FILE_MAX, &ms->roots[k], e);
			ms->m[ms->n].path = ms->paths[k];
			ms->m[ms->n].data = ms->roots[k].data;
			ms->m[ms->n].len = ms->roots[k].len;
			ms->n++;
		}
		int maxchain = 0;
		for (size_t i = 0; i < c->nitems; i++)
			if (c->items[i].chain > maxchain)
				maxchain = c->items[i].chain;
		for (int ch = 0; ch <= maxchain; ch++)
			for (int layer = 2; layer >= 0; layer--)
				for (size_t i = 0; rc == UPT_OK && i < c->nitems; i++) {
					const item *it = &c->items[i];
					bool dir =
					    strncmp(it->member, "metadata/director/", 18) == 0;
					if (dir != (r == 0) || it->chain != ch ||
					    it->layer != layer)
						continue;
					ms->m[ms->n].path = it->member;
					ms->m[ms->n].data = it->bytes.data;
					ms->m[ms->n].len = it->bytes.len;
					ms->n++;
				}
	}
	if (rc)
		members_free(ms);
	return rc;
}

/* Every metadata file signed now with version and expiry, the newest roots, and the bundle's
 * real end of validity (what a device checks against its clock). */
static void print_validity(const build_ctx *c)
{
	for (size_t i = 0; i < c->nitems; i++) {
		char t[UPT_RFC3339_LEN + 1];
		if (!c->items[i].meta) { /* a dry run short of signatures: not built */
			printf("  %-48s not signed yet\n",
			       c->items[i].member + strlen("metadata/"));
			continue;
		}
		upt_rfc3339_format(c->items[i].meta->expires, t);
		printf("  %-48s version %llu, expires %s\n",
		       c->items[i].member + strlen("metadata/"),
		       (unsigned long long)c->items[i].meta->version, t);
	}
	/* What a device checks against its clock: every file above and the newest roots. */
	static const char *const repos[2] = {"image-repo", "director"};
	int64_t end = INT64_MAX;
	char first[UPT_MEMBER_PATH_MAX + 1] = "";
	for (int k = 0; k < 2; k++) {
		char t[UPT_RFC3339_LEN + 1], name[64];
		upt_rfc3339_format(c->root[k]->expires, t);
		snprintf(name, sizeof(name), "%s/%llu.root.json", repos[k],
			 (unsigned long long)c->root_latest[k]);
		printf("  %-48s version %llu, expires %s\n", name,
		       (unsigned long long)c->root_latest[k], t);
		if (c->root[k]->expires < end) {
			end = c->root[k]->expires;
			snprintf(first, sizeof(first), "%s", name);
		}
	}
	for (size_t i = 0; i < c->nitems; i++)
		if (c->items[i].meta && c->items[i].meta->expires < end) {
			end = c->items[i].meta->expires;
			snprintf(first, sizeof(first), "%s",
				 c->items[i].member + strlen("metadata/"));
		}
	char t[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(end, t);
	printf("valid until %s (the earliest expiry: %s)\n", t, first);
}

static void print_summary(const build_ctx *c, const pack_job *job, const pack_result *r,
			  size_t nimg)
{
	printf("wrote ");
	pack_print_written(stdout, job->out, job->opts.split_size);
	if (c->fleet) {
		printf(": fleet bundle %s", c->fleet_name);
	} else {
		printf(": device bundle for");
		for (size_t i = 0; i < c->ndevices; i++)
			printf("%s %s", i ? "," : "", c->devices[i]);
	}
	printf("; %zu image(s), %llu bytes, %llu compressed\n", nimg,
	       (unsigned long long)r->image_bytes, (unsigned long long)r->compressed_bytes);
	pack_print_volumes(stdout, job->out, job->opts.split_size);
	print_validity(c);
}

/* create --dry-run: every check of a create passed (targets, images, assignments, expiries);
 * what it would sign, and who still must. Nothing is written, no version is used up. */
static void print_dry_run(ws *w, const build_ctx *c, size_t nimg, bool pending)
{
	printf("dry run: a create now would sign (nothing written, no version used):\n");
	printf("  %s bundle", c->fleet ? "fleet" : "device");
	if (c->fleet)
		printf(" %s", c->fleet_name);
	for (size_t i = 0; !c->fleet && i < c->ndevices; i++)
		printf("%s %s", i ? "," : " for", c->devices[i]);
	printf("; %zu image(s), each unchanged since target add\n", nimg);
	print_validity(c);
	if (pending) {
		printf("signatures this run cannot make (keys held elsewhere; create "
		       "--sign-later stages the files):\n");
		upt_err tmp;
		upt_err_clear(&tmp);
		bool ignore;
		if (build_roots_status(w, &ignore, stdout, &tmp) != UPT_OK)
			cli_warn("create", "%s", tmp.msg);
		build_print_pending(c, stdout, w->dir, false);
	} else {
		printf("every threshold is met with the keys at hand\n");
	}
}

/* Who an encrypted bundle is for: --encrypt-to LABEL=NAME.pub, and with --encrypt --ledger
 * the registered encryption key of each device of the bundle not named there. */
static int create_recipients(const args *a, const build_ctx *c, crypt_plan *crypt, upt_err *e)
{
	const arg_val *to = args_get(a, "encrypt-to");
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < to->n; i++)
		rc = crypt_plan_add_spec(crypt, to->v[i], e);
	if (rc || !args_flag(a, "encrypt"))
		return rc;
	const char *path = args_one(a, "ledger");
	if (!path)
		return upt_err_set(e, UPT_E_USAGE,
				   "--encrypt needs --ledger FILE (the devices' registered "
				   "encryption keys), or name the keys with --encrypt-to");
	ledger *l = NULL;
	rc = ledger_open(path, LEDGER_READ, &l, e);
	for (size_t i = 0; rc == UPT_OK && !c->fleet && i < c->ndevices; i++) {
		const char *dev = c->devices[i];
		if (crypt_plan_find(crypt, dev))
			continue;
		uint8_t pub[UPT_X25519_LEN];
		bool found = false;
		rc = ledger_encryption_key_get(l, dev, pub, &found, e);
		if (rc == UPT_OK && !found)
			rc =
			    upt_err_set(e, UPT_E_USAGE,
					"device %s has no encryption key in %s (devices add %s ... "
					"--encryption-key NAME.pub, or --encrypt-to %s=NAME.pub)",
					dev, path, dev, dev);
		if (rc == UPT_OK)
			rc = crypt_plan_add(crypt, dev, pub, e);
	}
	ledger_close(l);
	return rc;
}

static int run_create(ws *w, const args *a, bool resume, upt_err *e)
{
	plan p = {0};
	build_ctx c;
	memset(&c, 0, sizeof(c));
	keyring kr;
	keyring_init(&kr);
	member_set ms = {0};
	crypt_plan crypt = {0};
	pack_job job;
	memset(&job, 0, sizeof(job));
	pack_image *imgs = NULL;
	const char **names = NULL;
	size_t nnames = 0;
	bool sign_later = args_flag(a, "sign-later");
	int rc = resume ? plan_load(w, a, &p, e) : plan_from_args(w, a, &p, e);
	if (rc == UPT_OK)
		rc = plan_devices(&p, e);
	const arg_val *extra = args_get(a, "key");
	for (size_t i = 0; rc == UPT_OK && i < extra->n; i++)
		rc = keyring_load(&kr, extra->v[i], NULL, e);
	if (rc)
		goto out;

	c.w = w;
	c.kr = &kr;
	c.now = now_utc();
	c.fleet_name = json_string_value(json_object_get(p.doc, "fleet"));
	c.fleet = c.fleet_name != NULL;
	c.devices = p.devices;
	c.ndevices = p.ndevices;
	c.expires = json_object_get(p.doc, "expires");
	c.resume = resume;
	c.force_expiry =
	    args_flag(a, "force-expiry") || json_is_true(json_object_get(p.doc, "force_expiry"));
	rc = build_plan(&c, e);
	if (rc == UPT_OK)
		rc = build_images(&c, &names, &nnames, e);
	if (rc)
		goto out;
	imgs = calloc(nnames ? nnames : 1, sizeof(*imgs));
	if (!imgs) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	/* Every image readable and unchanged since target add, before anything is signed. */
	for (size_t i = 0; i < nnames; i++) {
		const json_t *t = json_object_get(json_object_get(w->doc, "targets"), names[i]);
		if (!t) {
			rc = upt_err_set(e, UPT_E_USAGE,
					 "assigned target %s is not in the workspace", names[i]);
			goto out;
		}
		rc = target_file_check(names[i], t, e);
		if (rc)
			goto out;
		imgs[i].name = names[i];
		imgs[i].src = json_string_value(json_object_get(t, "source"));
		imgs[i].length = (uint64_t)json_integer_value(json_object_get(t, "length"));
	}
	job.out = json_string_value(json_object_get(p.doc, "output"));
	job.opts.level = (int)json_integer_value(json_object_get(p.doc, "level"));
	job.opts.threads = (unsigned)json_integer_value(json_object_get(p.doc, "threads"));
	job.opts.split_size = (uint64_t)json_integer_value(json_object_get(p.doc, "split_size"));
	job.images = imgs;
	job.nimages = nnames;
	/* encrypted: the images are sealed first, the Director metadata signs what came out */
	if (args_flag(a, "encrypt") || args_get(a, "encrypt-to")->n) {
		rc = create_recipients(a, &c, &crypt, e);
		if (rc == UPT_OK)
			rc = pack_seal_images(&job, &crypt, &job.sealed, e);
		if (rc)
			goto out;
		c.crypt = &crypt;
	}
	bool roots_ok;
	rc = build_roots_status(w, &roots_ok, NULL, e);
	if (rc == UPT_OK)
		rc = build_run(&c, e);
	if (rc)
		goto out;
	if (args_flag(a, "dry-run")) {
		print_dry_run(w, &c, nnames, !roots_ok || !build_complete(&c));
		goto out;
	}
	if (!roots_ok || !build_complete(&c)) {
		if (sign_later || resume) {
			rc = stage(w, &c, &p, e);
			if (rc)
				goto out;
			printf(
			    "%s: waiting for signatures; sign these files (uptane-bundle sign FILE "
			    "--key K.key), then run create %s --resume:\n",
			    resume ? "still" : "staged", w->dir);
		} else {
			fprintf(stderr,
				"uptane-bundle create: signatures missing; keys held elsewhere "
				"must sign (create --sign-later stages the files):\n");
		}
		FILE *f = sign_later || resume ? stdout : stderr;
		upt_err tmp;
		upt_err_clear(&tmp);
		bool ignore;
		if (build_roots_status(w, &ignore, f, &tmp) != UPT_OK)
			cli_warn("create", "%s", tmp.msg);
		build_print_pending(&c, f, w->dir, sign_later || resume);
		if (!sign_later || resume)
			rc = upt_err_set(e, UPT_E_USAGE, "not packed: thresholds not met yet");
		goto out;
	}
	/* Staged files may have waited a while: nothing that expires within 7 days goes out. */
	for (size_t i = 0; i < c.nitems; i++) {
		rc = signing_check_expiry(c.items[i].member, c.items[i].meta->expires, c.now, e);
		if (rc) {
			upt_err_prefix(e, "staged too long (create --abort and start again)");
			goto out;
		}
	}
	warn_roots(&c);
	rc = collect_members(w, &c, &ms, e);
	if (rc)
		goto out;
	job.fleet = c.fleet;
	job.fleet_name = c.fleet_name;
	job.devices = c.devices;
	job.ndevices = c.ndevices;
	job.created = c.now;
	job.members = ms.m;
	job.nmembers = ms.n;
	commit_ctx cc = {w, &c};
	job.before_finish = commit;
	job.ctx = &cc;
	pack_result res;
	rc = pack_write(&job, &res, e);
	job.sealed = NULL; /* pack_write freed it */
	if (rc)
		goto out;
	if (resume || ws_exists(w, "staged")) {
		upt_err tmp;
		if (ws_remove_tree(w, "staged", &tmp) != UPT_OK)
			cli_warn("create", "could not remove %s/staged: %s", w->dir, tmp.msg);
	}
	print_summary(&c, &job, &res, nnames);
out:
	upt_bundle_writer_free(job.sealed);
	crypt_plan_free(&crypt);
	members_free(&ms);
	free(imgs);
	free(names);
	build_free(&c);
	keyring_clear(&kr);
	free(p.devices);
	json_decref(p.doc);
	return rc;
}

int cmd_create(int argc, char **argv)
{
	args a;
	upt_err e;
	upt_err_clear(&e);
	ws w = {.dirfd = -1, .lockfd = -1};
	int status;
	if (!cli_start(&a, "create", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       &status))
		goto out;
	int rc;
	if (a.npos != 1) {
		status = cli_usage("create", usage, "expected one WORKSPACE");
		goto out;
	}
	bool resume = args_flag(&a, "resume"), abort_ = args_flag(&a, "abort");
	if (args_flag(&a, "dry-run") && (resume || abort_ || args_flag(&a, "sign-later"))) {
		status = cli_usage("create", usage,
				   "--dry-run signs and stages nothing: not with --sign-later, "
				   "--resume or --abort");
		goto out;
	}
	bool encrypt = args_flag(&a, "encrypt") || args_get(&a, "encrypt-to")->n;
	if (encrypt &&
	    (resume || abort_ || args_flag(&a, "sign-later") || args_flag(&a, "dry-run"))) {
		status = cli_usage("create", usage,
				   "encrypted bundles are signed and packed in one run: "
				   "--encrypt and --encrypt-to not with --sign-later, --resume, "
				   "--abort or --dry-run");
		goto out;
	}
	if (args_one(&a, "ledger") && !args_flag(&a, "encrypt")) {
		status = cli_usage("create", usage, "--ledger goes with --encrypt");
		goto out;
	}
	if ((resume || abort_) &&
	    (args_flag(&a, "sign-later") || args_one(&a, "fleet") || args_get(&a, "device")->n ||
	     args_get(&a, "expires")->n || args_one(&a, "split-size") || (resume && abort_))) {
		status =
		    cli_usage("create", usage,
			      "--resume and --abort take the staged plan as "
			      "it is (only -o, --level, --threads and --key may be given again)");
		goto out;
	}
	rc = ws_open(a.pos[0], &w, &e);
	if (rc)
		goto fail;
	bool staged = ws_exists(&w, "staged");
	if (abort_) {
		if (!staged) {
			rc = upt_err_set(&e, UPT_E_USAGE, "nothing staged to abort");
			goto fail;
		}
		rc = ws_remove_tree(&w, "staged", &e);
		if (rc)
			goto fail;
		printf("discarded the staged create in %s/staged\n", w.dir);
		status = 0;
		goto out;
	}
	if (staged && !resume) {
		rc = upt_err_set(&e, UPT_E_USAGE,
				 "a create is waiting for signatures in %s/staged: "
				 "finish it with create --resume, or drop it with create --abort",
				 w.dir);
		goto fail;
	}
	if (!staged && resume) {
		rc = upt_err_set(&e, UPT_E_USAGE, "nothing to resume (no %s/staged)", w.dir);
		goto fail;
	}
	rc = run_create(&w, &a, resume, &e);
	if (rc)
		goto fail;
	status = 0;
	goto out;
fail:
	status = cli_fail("create", &e);
out:
	ws_close(&w);
	args_free(&a);
	return status;
}
