/* build: every metadata file of one bundle, versioned, signed and checked in dependency order. */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "sbom_ref.h"
#include "target_file.h"
#include "upt/rfc3339.h"
#include "upt/cjson.h"
#include "upt/limits.h"
#include "upt/metabuild.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"

enum { REPO_IMAGE = 0, REPO_DIRECTOR = 1 };
static const char *const repo_names[2] = {"image-repo", "director"};

static int add_item(build_ctx *c, item_kind kind, int chain, int layer, const char *name,
		    const char *member, const char *wspath, upt_err *e)
{
	item *ni = realloc(c->items, (c->nitems + 1) * sizeof(*ni));
	if (!ni)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	c->items = ni;
	item *it = &c->items[c->nitems];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->chain = chain;
	it->layer = layer;
	upt_buf_init(&it->bytes, UPT_META_FILE_MAX);
	if (name && !(it->name = strdup(name)))
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if ((size_t)snprintf(it->member, sizeof(it->member), "%s", member) >= sizeof(it->member) ||
	    (size_t)snprintf(it->wspath, sizeof(it->wspath), "%s", wspath) >= sizeof(it->wspath)) {
		free(it->name);
		return upt_err_set(e, UPT_E_USAGE, "%s: path too long", member);
	}
	c->nitems++;
	return UPT_OK;
}

static item *find_item(const build_ctx *c, item_kind kind, const char *name)
{
	for (size_t i = 0; i < c->nitems; i++)
		if (c->items[i].kind == kind &&
		    (!name || (c->items[i].name && !strcmp(c->items[i].name, name))))
			return &c->items[i];
	return NULL;
}

static int repo_of(item_kind k)
{
	return k <= IT_IMG_TIMESTAMP ? REPO_IMAGE : REPO_DIRECTOR;
}

static const char *role_of(const item *it)
{
	switch (it->kind) {
	case IT_IMG_TARGETS:
	case IT_DIR_TARGETS:
		return "targets";
	case IT_IMG_DELEG:
		return it->name;
	case IT_IMG_SNAPSHOT:
	case IT_DIR_SNAPSHOT:
		return "snapshot";
	case IT_IMG_TIMESTAMP:
	case IT_DIR_TIMESTAMP:
		return "timestamp";
	case IT_FLEET_UPDATES:
		return "offline-updates";
	case IT_FLEET_SNAPSHOT:
		return "offline-snapshot";
	}
	return "?";
}

static upt_role_type type_of(item_kind k)
{
	switch (k) {
	case IT_IMG_SNAPSHOT:
	case IT_DIR_SNAPSHOT:
		return UPT_ROLE_SNAPSHOT;
	case IT_IMG_TIMESTAMP:
	case IT_DIR_TIMESTAMP:
		return UPT_ROLE_TIMESTAMP;
	case IT_FLEET_UPDATES:
		return UPT_ROLE_OFFLINE_UPDATES;
	case IT_FLEET_SNAPSHOT:
		return UPT_ROLE_OFFLINE_SNAPSHOT;
	default:
		return UPT_ROLE_TARGETS;
	}
}

/* The workspace entry whose keys sign an item. */
static const json_t *signing_entry(const build_ctx *c, const item *it)
{
	if (it->kind == IT_IMG_DELEG)
		return ws_delegation(c->w, it->name);
	return ws_role(c->w, repo_names[repo_of(it->kind)], role_of(it));
}

static int item_expiry(const build_ctx *c, const item *it, int64_t *out, upt_err *e)
{
	char key[UPT_NAME_MAX + 32];
	snprintf(key, sizeof(key), "%s/%s", repo_names[repo_of(it->kind)], role_of(it));
	const json_t *o = json_object_get(c->expires, key);
	if (!o)
		o = json_object_get(c->expires, "*");
	int64_t secs;
	if (json_is_string(o)) {
		/* counted from now, when it is signed: a calendar year from today */
		int rc = upt_duration_parse(json_string_value(o), c->now, &secs, e);
		if (rc)
			return rc;
	} else if (o) {
		secs = (int64_t)json_integer_value(o); /* a plan staged by an older version */
	} else {
		/* Delegated roles without their own expiry follow the targets role. */
		int rc = ws_entry_expiry(signing_entry(c, it),
					 it->kind == IT_IMG_DELEG ? "targets" : role_of(it), c->now,
					 &secs, e);
		if (rc)
			return rc;
	}
	*out = c->now + secs;
	char what[UPT_MEMBER_PATH_MAX + 16];
	snprintf(what, sizeof(what), "%s", it->member + strlen("metadata/"));
	int rc = signing_check_expiry(what, *out, c->now, e);
	if (rc)
		return rc;
	/* A device checks every role against the time, the root too: a role signed past its
	 * root's expiry buys nothing, the bundle freezes with the root (docs/bundle-format.md). */
	int r = repo_of(it->kind);
	if (*out <= c->root[r]->expires)
		return UPT_OK;
	char t[UPT_RFC3339_LEN + 1], rt[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(*out, t);
	upt_rfc3339_format(c->root[r]->expires, rt);
	if (c->force_expiry) {
		cli_warn(
		    "create",
		    "%s (role %s/%s) expires at %s, after its root (--force-expiry): the %s "
		    "root (version %llu) expires at %s, and devices refuse the bundle from then "
		    "on",
		    what, repo_names[r], role_of(it), t, repo_names[r],
		    (unsigned long long)c->root_latest[r], rt);
		return UPT_OK;
	}
	/* The caller prefixes the member path. */
	return upt_err_set(
	    e, UPT_E_USAGE,
	    "role %s/%s would expire at %s, after its root: the %s root (version "
	    "%llu) expires at %s, and devices refuse the bundle from then on "
	    "(freeze). Renew the root first (uptane-bundle rotate %s --role %s/root "
	    "--expires DURATION) or shorten --expires; --force-expiry signs it anyway",
	    repo_names[r], role_of(it), t, repo_names[r], (unsigned long long)c->root_latest[r], rt,
	    c->w->dir, repo_names[r]);
}

static int load_roots(build_ctx *c, upt_err *e)
{
	for (int r = 0; r < 2; r++) {
		int rc = ws_root_latest(c->w, repo_names[r], &c->root_latest[r], e);
		if (rc == UPT_OK)
			rc = ws_load_root(c->w, repo_names[r], c->root_latest[r], &c->root[r], e);
		if (rc)
			return rc;
		if (c->root[r]->expires <= c->now)
			return upt_err_set(
			    e, UPT_E_USAGE,
			    "%s root version %llu has expired: devices would refuse "
			    "every bundle (freeze); uptane-bundle rotate signs a new one",
			    repo_names[r], (unsigned long long)c->root_latest[r]);
	}
	return UPT_OK;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int build_plan(build_ctx *c, upt_err *e)
{
	int rc = load_roots(c, e);
	if (rc)
		return rc;
	const json_t *doc = c->w->doc;
	if (c->fleet) {
		if (!upt_meta_role(c->root[REPO_DIRECTOR], "offline-snapshot") ||
		    !upt_meta_role(c->root[REPO_DIRECTOR], "offline-updates") ||
		    !ws_role(c->w, "director", "offline-snapshot") ||
		    !ws_role(c->w, "director", "offline-updates"))
			return upt_err_set(
			    e, UPT_E_USAGE,
			    "the Director root declares no PURE-2 roles, so devices "
			    "would refuse a fleet bundle; add them with uptane-bundle "
			    "rotate WORKSPACE --role director/offline-snapshot --key K "
			    "(and director/offline-updates)");
		if (!upt_name_valid(c->fleet_name))
			return upt_err_set(e, UPT_E_USAGE,
					   "fleet name \"%.200s\": use 1 to 128 "
					   "letters, digits, '.', '_' or '-'",
					   c->fleet_name);
		if (!json_object_size(json_object_get(doc, "fleet")))
			return upt_err_set(e, UPT_E_USAGE,
					   "nothing assigned to the fleet (uptane-bundle "
					   "assign WORKSPACE --hardware-id HW=TARGET)");
	} else {
		if (!c->ndevices)
			return upt_err_set(e, UPT_E_USAGE,
					   "no device has assignments (uptane-bundle "
					   "assign WORKSPACE --device ID --ecu SERIAL=TARGET)");
		for (size_t i = 0; i < c->ndevices; i++) {
			if (!json_object_size(
				json_object_get(json_object_get(doc, "devices"), c->devices[i])))
				return upt_err_set(e, UPT_E_USAGE,
						   "device %.200s has no assignments",
						   c->devices[i]);
			for (size_t j = 0; j < i; j++)
				if (!strcmp(c->devices[i], c->devices[j]))
					return upt_err_set(e, UPT_E_USAGE, "device %s given twice",
							   c->devices[i]);
		}
	}

	/* Image repository: chain 0. */
	rc = add_item(c, IT_IMG_TARGETS, 0, 0, NULL, "metadata/image-repo/targets.json",
		      "metadata/image-repo/targets.json", e);
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(doc, "delegations"), i, d)
	{
		const char *name = json_string_value(json_object_get(d, "name"));
		char p[UPT_MEMBER_PATH_MAX];
		if (rc || !name)
			break;
		snprintf(p, sizeof(p), "metadata/image-repo/delegations/%s.json", name);
		rc = add_item(c, IT_IMG_DELEG, 0, 0, name, p, p, e);
	}
	if (rc == UPT_OK)
		rc = add_item(c, IT_IMG_SNAPSHOT, 0, 1, NULL, "metadata/image-repo/snapshot.json",
			      "metadata/image-repo/snapshot.json", e);
	/* PURE-2 fleet bundles carry no Image-repo timestamp (docs/bundle-format.md). */
	if (rc == UPT_OK && !c->fleet)
		rc = add_item(c, IT_IMG_TIMESTAMP, 0, 2, NULL, "metadata/image-repo/timestamp.json",
			      "metadata/image-repo/timestamp.json", e);

	if (c->fleet) {
		char p[UPT_MEMBER_PATH_MAX];
		snprintf(p, sizeof(p), "metadata/director/offline-updates/%s.json", c->fleet_name);
		if (rc == UPT_OK)
			rc = add_item(c, IT_FLEET_UPDATES, 1, 0, c->fleet_name, p, p, e);
		if (rc == UPT_OK)
			rc = add_item(c, IT_FLEET_SNAPSHOT, 1, 1, c->fleet_name,
				      "metadata/director/offline-snapshot.json",
				      "metadata/director/offline-snapshot.json", e);
		return rc;
	}
	static const struct {
		item_kind k;
		const char *file;
	} dir_files[] = {{IT_DIR_TARGETS, "targets"},
			 {IT_DIR_SNAPSHOT, "snapshot"},
			 {IT_DIR_TIMESTAMP, "timestamp"}};
	for (size_t dv = 0; rc == UPT_OK && dv < c->ndevices; dv++) {
		for (int l = 0; rc == UPT_OK && l < 3; l++) {
			char member[UPT_MEMBER_PATH_MAX], wsp[UPT_MEMBER_PATH_MAX];
			snprintf(wsp, sizeof(wsp), "metadata/director/devices/%s/%s.json",
				 c->devices[dv], dir_files[l].file);
			/* One device: the single-device layout; several: one directory each. */
			if (c->ndevices == 1)
				snprintf(member, sizeof(member), "metadata/director/%s.json",
					 dir_files[l].file);
			else
				snprintf(member, sizeof(member), "%s", wsp);
			rc = add_item(c, dir_files[l].k, (int)dv + 1, l, c->devices[dv], member,
				      wsp, e);
		}
	}
	return rc;
}

/* ---- building each kind of file ---- */

static int add_image_target(json_t *obj, const char *name, const json_t *t, upt_err *e)
{
	upt_mb_target mt;
	memset(&mt, 0, sizeof(mt));
	const json_t *hws = json_object_get(t, "hardwareIds");
	const char *hw[UPT_HWIDS_MAX];
	size_t nhw = 0;
	size_t i;
	json_t *h;
	json_array_foreach(hws, i, h)
	{
		if (nhw < UPT_HWIDS_MAX && json_is_string(h))
			hw[nhw++] = json_string_value(h);
	}
	mt.name = name;
	mt.length = (uint64_t)json_integer_value(json_object_get(t, "length"));
	int rc = target_entry_hashes(t, &mt.hashes, e);
	if (rc)
		return upt_err_prefix(e, "target %s", name);
	mt.hardware_ids = hw;
	mt.nhardware_ids = nhw;
	mt.has_release_counter = true;
	mt.release_counter = (uint64_t)json_integer_value(json_object_get(t, "releaseCounter"));
	rc = sbom_ref_to_target(t, &mt, e);
	if (rc)
		return upt_err_prefix(e, "target %s", name);
	return upt_mb_targets_add(obj, &mt, e);
}

static int build_image_targets(const build_ctx *c, const item *it, uint64_t version,
			       int64_t expires, json_t **out, upt_err *e)
{
	json_t *obj = upt_mb_targets(UPT_ROLE_TARGETS, version, expires, NULL);
	if (!obj)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	const char *want = it->kind == IT_IMG_DELEG ? it->name : "targets";
	int rc = UPT_OK;
	const char *name;
	json_t *t;
	json_object_foreach(json_object_get(c->w->doc, "targets"), name, t)
	{
		const char *role = json_string_value(json_object_get(t, "role"));
		if (rc || strcmp(role ? role : "targets", want))
			continue;
		rc = add_image_target(obj, name, t, e);
	}
	size_t i;
	json_t *d;
	json_array_foreach(
	    it->kind == IT_IMG_TARGETS ? json_object_get(c->w->doc, "delegations") : NULL, i, d)
	{
		if (rc)
			break;
		upt_key *keys = NULL;
		size_t nk = 0;
		const char *paths[UPT_PATHS_PER_DELEGATION_MAX], *hws[UPT_HWIDS_MAX];
		upt_mb_delegation md;
		memset(&md, 0, sizeof(md));
		rc = ws_entry_keys(d, &keys, &nk, e);
		if (rc)
			break;
		md.name = json_string_value(json_object_get(d, "name"));
		md.keys = keys;
		md.nkeys = nk;
		md.threshold = (uint64_t)json_integer_value(json_object_get(d, "threshold"));
		size_t j;
		json_t *s;
		json_array_foreach(json_object_get(d, "paths"), j, s)
		{
			if (md.npaths < UPT_PATHS_PER_DELEGATION_MAX && json_is_string(s))
				paths[md.npaths++] = json_string_value(s);
		}
		md.paths = paths;
		json_array_foreach(json_object_get(d, "hardwareIds"), j, s)
		{
			if (md.nhardware_ids < UPT_HWIDS_MAX && json_is_string(s))
				hws[md.nhardware_ids++] = json_string_value(s);
		}
		md.hardware_ids = md.nhardware_ids ? hws : NULL;
		md.terminating = json_is_true(json_object_get(d, "terminating"));
		rc = upt_mb_targets_delegate(obj, &md, e);
		free(keys);
	}
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return UPT_OK;
}

/* Fills a file reference from a built item. */
static int fileref(const item *dep, const char *name, upt_mb_fileref *ref, upt_err *e)
{
	if (!dep || !dep->built || !dep->meta)
		return upt_err_set(e, UPT_E_INTERNAL, "%s built before what it pins", name);
	ref->name = name;
	ref->version = dep->meta->version;
	ref->bytes = dep->bytes.data;
	ref->len = dep->bytes.len;
	return UPT_OK;
}

static int build_image_snapshot(const build_ctx *c, uint64_t version, int64_t expires, json_t **out,
				upt_err *e)
{
	upt_mb_fileref *refs = calloc(c->nitems, sizeof(*refs));
	char **names = calloc(c->nitems, sizeof(*names));
	size_t n = 0;
	int rc = refs && names ? UPT_OK : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; rc == UPT_OK && i < c->nitems; i++) {
		const item *it = &c->items[i];
		if (it->kind == IT_IMG_TARGETS) {
			rc = fileref(it, "targets.json", &refs[n++], e);
		} else if (it->kind == IT_IMG_DELEG) {
			/* docs/bundle-format.md: the snapshot lists "<role>.json". */
			if (asprintf(&names[n], "%s.json", it->name) < 0) {
				names[n] = NULL;
				rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
				break;
			}
			rc = fileref(it, names[n], &refs[n], e);
			n++;
		}
	}
	json_t *obj = NULL;
	if (rc == UPT_OK) {
		obj = upt_mb_snapshot(UPT_ROLE_SNAPSHOT, version, expires, refs, n, -1);
		if (!obj)
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; names && i < c->nitems; i++)
		free(names[i]);
	free(names);
	free(refs);
	if (rc == UPT_OK)
		*out = obj;
	return rc;
}

/* Whether a key of `assign` before `key` (ECU serials of a device, or fleet hardware ids)
 * names target tname too: its entry, bound to every key naming it, is built already. key is a
 * key of assign as iterated (compared by pointer). */
static bool assigned_earlier(const json_t *assign, const char *key, const char *tname)
{
	const char *k;
	json_t *as;
	json_object_foreach((json_t *)assign, k, as)
	{
		if (k == key)
			break;
		const char *t = json_string_value(json_object_get(as, "target"));
		if (t && !strcmp(t, tname))
			return true;
	}
	return false;
}

/* custom.encryption of an encrypted target (docs/bundle-format.md, "Encrypted images"): the
 * image key wrapped for each of labels (device ids or hardware-id:HW). */
static int add_encryption(const build_ctx *c, json_t *obj, const char *tname,
			  const char *const *labels, size_t n, upt_err *e)
{
	if (!c->crypt)
		return UPT_OK;
	json_t *enc = NULL;
	int rc = crypt_plan_target_json(c->crypt, tname, labels, n, &enc, e);
	if (rc || !enc)
		return rc;
	json_t *custom =
	    json_object_get(json_object_get(json_object_get(obj, "targets"), tname), "custom");
	if (!custom || json_object_set_new(custom, "encryption", enc))
		return upt_err_set(e, UPT_E_INTERNAL, "target %s: no custom object", tname);
	return UPT_OK;
}

/* A fleet target is wrapped for the keys of its hardware ids and for every device key given
 * (a fleet narrowed to a list of devices); a hardware id without a key is refused unless
 * device keys are given. */
static int add_fleet_encryption(const build_ctx *c, json_t *obj, const char *tname,
				const char *const *hws, size_t nhw, upt_err *e)
{
	const char **labels = calloc(nhw + c->crypt->nr + 1, sizeof(*labels));
	char(*hwl)[UPT_NAME_MAX + sizeof(CRYPT_HW_PREFIX)] = calloc(nhw + 1, sizeof(*hwl));
	int rc = labels && hwl ? UPT_OK : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	size_t n = 0, ndev = 0;
	for (size_t i = 0; rc == UPT_OK && i < c->crypt->nr; i++)
		if (strncmp(c->crypt->r[i].label, CRYPT_HW_PREFIX, strlen(CRYPT_HW_PREFIX))) {
			labels[n++] = c->crypt->r[i].label;
			ndev++;
		}
	for (size_t i = 0; rc == UPT_OK && i < nhw; i++) {
		snprintf(hwl[i], sizeof(hwl[i]), CRYPT_HW_PREFIX "%s", hws[i]);
		if (crypt_plan_find(c->crypt, hwl[i]))
			labels[n++] = hwl[i];
		else if (ndev == 0)
			rc = upt_err_set(e, UPT_E_USAGE,
					 "hardware id %s has no encryption key: give --encrypt-to "
					 "%s=NAME.pub",
					 hws[i], hwl[i]);
	}
	if (rc == UPT_OK)
		rc = add_encryption(c, obj, tname, labels, n, e);
	free(labels);
	free(hwl);
	return rc;
}

/* Director targets of one device: one entry per target, bound to the ECUs that install it. */
static int build_director_targets(const build_ctx *c, const char *dev, uint64_t version,
				  int64_t expires, json_t **out, upt_err *e)
{
	json_t *obj = upt_mb_targets(UPT_ROLE_TARGETS, version, expires, dev);
	if (!obj)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	const json_t *ecus = json_object_get(json_object_get(c->w->doc, "devices"), dev);
	const json_t *targets = json_object_get(c->w->doc, "targets");
	int rc = UPT_OK;
	const char *serial;
	json_t *as;
	json_object_foreach((json_t *)ecus, serial, as)
	{
		const char *tname = json_string_value(json_object_get(as, "target"));
		if (rc || !tname)
			continue;
		/* Done already when an earlier ECU installs the same target. */
		if (assigned_earlier(ecus, serial, tname))
			continue;
		const json_t *t = json_object_get(targets, tname);
		if (!t) {
			rc = upt_err_set(e, UPT_E_USAGE, "device %s ECU %s: unknown target %s", dev,
					 serial, tname);
			break;
		}
		upt_ecu_binding b[UPT_ECUS_MAX];
		size_t nb = 0;
		const char *s2;
		json_t *as2;
		json_object_foreach((json_t *)ecus, s2, as2)
		{
			const char *t2 = json_string_value(json_object_get(as2, "target"));
			if (t2 && !strcmp(t2, tname) && nb < UPT_ECUS_MAX) {
				b[nb].serial = s2;
				b[nb].hardware_id =
				    json_string_value(json_object_get(as2, "hardwareId"));
				nb++;
			}
		}
		upt_mb_target mt;
		memset(&mt, 0, sizeof(mt));
		mt.name = tname;
		mt.length = (uint64_t)json_integer_value(json_object_get(t, "length"));
		rc = target_entry_hashes(t, &mt.hashes, e);
		if (rc)
			break;
		mt.has_release_counter = true;
		mt.release_counter =
		    (uint64_t)json_integer_value(json_object_get(t, "releaseCounter"));
		mt.ecus = b;
		mt.necus = nb;
		rc = upt_mb_targets_add(obj, &mt, e);
		if (rc == UPT_OK)
			rc = add_encryption(c, obj, tname, &dev, 1, e);
	}
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return UPT_OK;
}

/* Offline-updates: one entry per target, bound to the hardware ids assigned to it. */
static int build_fleet_updates(const build_ctx *c, uint64_t version, int64_t expires, json_t **out,
			       upt_err *e)
{
	json_t *obj = upt_mb_targets(UPT_ROLE_OFFLINE_UPDATES, version, expires, NULL);
	if (!obj)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	const json_t *fleet = json_object_get(c->w->doc, "fleet");
	const json_t *targets = json_object_get(c->w->doc, "targets");
	int rc = UPT_OK;
	const char *hw;
	json_t *as;
	json_object_foreach((json_t *)fleet, hw, as)
	{
		const char *tname = json_string_value(json_object_get(as, "target"));
		if (rc || !tname)
			continue;
		if (assigned_earlier(fleet, hw, tname))
			continue;
		const json_t *t = json_object_get(targets, tname);
		if (!t) {
			rc = upt_err_set(e, UPT_E_USAGE, "hardware id %s: unknown target %s", hw,
					 tname);
			break;
		}
		const char *hws[UPT_HWIDS_MAX];
		size_t nhw = 0;
		const json_t *devs = json_object_get(as, "devices");
		const char *h2;
		json_t *as2;
		json_object_foreach((json_t *)fleet, h2, as2)
		{
			const char *t2 = json_string_value(json_object_get(as2, "target"));
			if (!t2 || strcmp(t2, tname) || nhw >= UPT_HWIDS_MAX)
				continue;
			/* One target, one allow-list: differing lists would widen one of them. */
			if (!json_equal(json_object_get(as2, "devices"), (json_t *)devs) &&
			    (json_object_get(as2, "devices") || devs)) {
				rc = upt_err_set(
				    e, UPT_E_USAGE,
				    "target %s is assigned to hardware ids %s and %s with "
				    "different --device lists; assign them together",
				    tname, hw, h2);
				break;
			}
			hws[nhw++] = h2;
		}
		if (rc)
			break;
		const char *dv[UPT_HWIDS_MAX];
		size_t ndv = 0;
		size_t i;
		json_t *d;
		json_array_foreach(devs, i, d)
		{
			if (ndv < UPT_HWIDS_MAX && json_is_string(d))
				dv[ndv++] = json_string_value(d);
		}
		upt_mb_target mt;
		memset(&mt, 0, sizeof(mt));
		mt.name = tname;
		mt.length = (uint64_t)json_integer_value(json_object_get(t, "length"));
		rc = target_entry_hashes(t, &mt.hashes, e);
		if (rc)
			break;
		mt.hardware_ids = hws;
		mt.nhardware_ids = nhw;
		mt.has_release_counter = true;
		mt.release_counter =
		    (uint64_t)json_integer_value(json_object_get(t, "releaseCounter"));
		mt.device_ids = ndv ? dv : NULL;
		mt.ndevice_ids = ndv;
		rc = upt_mb_targets_add(obj, &mt, e);
		if (rc == UPT_OK && c->crypt)
			rc = add_fleet_encryption(c, obj, tname, hws, nhw, e);
	}
	if (rc) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return UPT_OK;
}

static int build_signed(const build_ctx *c, const item *it, json_t **out, upt_err *e)
{
	uint64_t last;
	int64_t expires;
	int rc = ws_meta_version(c->w, it->wspath, &last, e);
	if (rc == UPT_OK)
		rc = item_expiry(c, it, &expires, e);
	if (rc)
		return rc;
	uint64_t v = last + 1;
	upt_mb_fileref ref;
	item *dep;
	switch (it->kind) {
	case IT_IMG_TARGETS:
	case IT_IMG_DELEG:
		return build_image_targets(c, it, v, expires, out, e);
	case IT_IMG_SNAPSHOT:
		return build_image_snapshot(c, v, expires, out, e);
	case IT_IMG_TIMESTAMP:
		rc = fileref(find_item(c, IT_IMG_SNAPSHOT, NULL), "snapshot.json", &ref, e);
		if (rc == UPT_OK && !(*out = upt_mb_timestamp(v, expires, &ref, -1)))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		return rc;
	case IT_DIR_TARGETS:
		return build_director_targets(c, it->name, v, expires, out, e);
	case IT_DIR_SNAPSHOT:
		/* A device's Director snapshot lists "targets.json" (docs/bundle-format.md). */
		rc = fileref(find_item(c, IT_DIR_TARGETS, it->name), "targets.json", &ref, e);
		if (rc == UPT_OK &&
		    !(*out = upt_mb_snapshot(UPT_ROLE_SNAPSHOT, v, expires, &ref, 1, -1)))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		return rc;
	case IT_DIR_TIMESTAMP:
		/* "issued": the device's time floor rises only from signed evidence. */
		rc = fileref(find_item(c, IT_DIR_SNAPSHOT, it->name), "snapshot.json", &ref, e);
		if (rc == UPT_OK && !(*out = upt_mb_timestamp(v, expires, &ref, c->now)))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		return rc;
	case IT_FLEET_UPDATES:
		return build_fleet_updates(c, v, expires, out, e);
	case IT_FLEET_SNAPSHOT: {
		char name[UPT_NAME_MAX + 8];
		snprintf(name, sizeof(name), "%s.json", it->name);
		dep = find_item(c, IT_FLEET_UPDATES, NULL);
		rc = fileref(dep, name, &ref, e);
		if (rc == UPT_OK && !(*out = upt_mb_snapshot(UPT_ROLE_OFFLINE_SNAPSHOT, v, expires,
							     &ref, 1, c->now)))
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		return rc;
	}
	}
	return upt_err_set(e, UPT_E_INTERNAL, "unknown item");
}

/* Adds the signatures this run can make to a staged file still short of its threshold. */
static int sign_more(build_ctx *c, item *it, upt_err *e)
{
	const upt_signer *signers[SIGNERS_MAX];
	size_t n = 0;
	int rc = signing_signers(signing_entry(c, it), c->kr, signers, &n, e);
	if (rc || !n)
		return rc;
	json_t *doc = NULL;
	rc = upt_json_parse(it->bytes.data, it->bytes.len, UPT_META_FILE_MAX, &doc, e);
	for (size_t i = 0; rc == UPT_OK && i < n; i++)
		rc = upt_sig_add(doc, signers[i], e);
	upt_buf out;
	upt_buf_init(&out, UPT_META_FILE_MAX);
	if (rc == UPT_OK)
		rc = upt_cjson_encode(doc, &out, e);
	if (rc == UPT_OK)
		rc = upt_buf_copy(&it->bytes, &out, e);
	upt_buf_clear(&out);
	json_decref(doc);
	return rc;
}

/* Parses an item's bytes and counts its valid signatures. */
static int check_item(build_ctx *c, item *it, upt_err *e)
{
	upt_meta_free(it->meta);
	it->meta = NULL;
	int rc = upt_meta_parse(it->bytes.data, it->bytes.len, type_of(it->kind), &it->meta, e);
	if (rc)
		return upt_err_prefix(e, "%s", it->member);
	const upt_key *keys;
	size_t nkeys;
	const upt_role_keys *role = NULL;
	if (it->kind == IT_IMG_DELEG) {
		const item *t = find_item(c, IT_IMG_TARGETS, NULL);
		if (!t || !t->meta)
			return upt_err_set(e, UPT_E_INTERNAL, "delegation before targets");
		keys = t->meta->keys;
		nkeys = t->meta->nkeys;
		for (size_t i = 0; i < t->meta->ndelegations; i++)
			if (!strcmp(t->meta->delegations[i].role.name, it->name))
				role = &t->meta->delegations[i].role;
	} else {
		const upt_meta *root = c->root[repo_of(it->kind)];
		keys = root->keys;
		nkeys = root->nkeys;
		role = upt_meta_role(root, role_of(it));
	}
	if (!role)
		return upt_err_set(e, UPT_E_USAGE,
				   "%s: role %s is not declared by its delegating "
				   "file",
				   it->member, role_of(it));
	if (it->staged && it->meta->version <= 0)
		return upt_err_set(e, UPT_E_USAGE, "%s: bad version", it->member);
	rc = signing_status(c->w, it->meta, keys, nkeys, role, &it->st, e);
	if (rc)
		return upt_err_prefix(e, "%s", it->member);
	it->complete = it->st.have >= it->st.need;
	return UPT_OK;
}

/* The offline, threshold-signed Image targets role and its delegations are signed again only
 * when what they say changes (targets, delegations) or their expiry needs renewing
 * (docs/bundle-format.md, "Versions"): a fleet bundle made after a device bundle, with no
 * target changed, needs no second signer. Devices accept the same version with the same bytes.
 * *reused: the workspace's copy was taken as it is (it->bytes, checked). Renewal: when the copy
 * would stay valid for less than half of what a new signature would get. */
static int reuse_image_targets(build_ctx *c, item *it, bool *reused, upt_err *e)
{
	*reused = false;
	if (it->kind != IT_IMG_TARGETS && it->kind != IT_IMG_DELEG)
		return UPT_OK;
	upt_buf old, was, now;
	upt_buf_init(&old, UPT_META_FILE_MAX);
	upt_buf_init(&was, UPT_META_FILE_MAX);
	upt_buf_init(&now, UPT_META_FILE_MAX);
	upt_meta *om = NULL;
	json_t *odoc = NULL, *nobj = NULL;
	int64_t want = 0;
	int rc = ws_read(c->w, it->wspath, UPT_META_FILE_MAX, &old, e);
	if (rc == UPT_E_NOT_FOUND) { /* never signed yet */
		upt_err_clear(e);
		rc = UPT_OK;
		goto out;
	}
	if (rc == UPT_OK)
		rc = upt_meta_parse(old.data, old.len, type_of(it->kind), &om, e);
	if (rc == UPT_OK)
		rc = upt_json_parse(old.data, old.len, UPT_META_FILE_MAX, &odoc, e);
	if (rc == UPT_OK)
		rc = item_expiry(c, it, &want, e);
	/* What a new signature would say, at the old version and expiry: the same bytes when
	 * nothing changed. */
	if (rc == UPT_OK)
		rc = build_image_targets(c, it, om->version, om->expires, &nobj, e);
	if (rc == UPT_OK)
		rc = upt_cjson_encode(json_object_get(odoc, "signed"), &was, e);
	if (rc == UPT_OK)
		rc = upt_cjson_encode(nobj, &now, e);
	if (rc || !upt_buf_equal(&was, &now))
		goto out;
	if (om->expires - c->now < (want - c->now) / 2) {
		char t[UPT_RFC3339_LEN + 1];
		upt_rfc3339_format(om->expires, t);
		printf("%s: unchanged, signed again to renew its expiry (version %llu expires "
		       "%s)\n",
		       it->member + strlen("metadata/"), (unsigned long long)om->version, t);
		goto out;
	}
	rc = upt_buf_copy(&it->bytes, &old, e);
	if (rc == UPT_OK)
		rc = check_item(c, it, e);
	/* Signed under keys the current root no longer names (a rotated root): sign anew. */
	if (rc == UPT_OK && !it->complete) {
		upt_buf_clear(&it->bytes);
		upt_buf_init(&it->bytes, UPT_META_FILE_MAX);
		goto out;
	}
	*reused = rc == UPT_OK;
out:
	json_decref(nobj);
	json_decref(odoc);
	upt_meta_free(om);
	upt_buf_clear(&old);
	upt_buf_clear(&was);
	upt_buf_clear(&now);
	return rc;
}

static int build_item(build_ctx *c, item *it, upt_err *e)
{
	char staged[UPT_MEMBER_PATH_MAX + 16];
	snprintf(staged, sizeof(staged), "staged/%s", it->member);
	int rc;
	if (c->resume && ws_exists(c->w, staged)) {
		rc = ws_read(c->w, staged, UPT_META_FILE_MAX, &it->bytes, e);
		if (rc)
			return rc;
		it->staged = true;
		rc = check_item(c, it, e);
		if (rc == UPT_OK && !it->complete) {
			rc = sign_more(c, it, e);
			if (rc == UPT_OK)
				rc = check_item(c, it, e);
		}
		it->built = rc == UPT_OK;
		return rc;
	}
	bool reused;
	rc = reuse_image_targets(c, it, &reused, e);
	if (rc)
		return upt_err_prefix(e, "%s", it->member);
	if (reused) {
		it->built = true;
		return UPT_OK;
	}
	json_t *obj = NULL;
	const upt_signer *signers[SIGNERS_MAX];
	size_t n = 0;
	rc = build_signed(c, it, &obj, e);
	if (rc == UPT_OK)
		rc = signing_signers(signing_entry(c, it), c->kr, signers, &n, e);
	if (rc == UPT_OK)
		rc = upt_mb_sign(obj, signers, n, &it->bytes, e);
	json_decref(obj);
	if (rc)
		return upt_err_prefix(e, "%s", it->member);
	rc = check_item(c, it, e);
	it->built = rc == UPT_OK;
	return rc;
}

int build_run(build_ctx *c, upt_err *e)
{
	int nchains = 0;
	for (size_t i = 0; i < c->nitems; i++)
		if (c->items[i].chain + 1 > nchains)
			nchains = c->items[i].chain + 1;
	bool *blocked = calloc((size_t)nchains + 1, sizeof(*blocked));
	if (!blocked)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = UPT_OK;
	for (int layer = 0; rc == UPT_OK && layer < 3; layer++) {
		for (size_t i = 0; rc == UPT_OK && i < c->nitems; i++) {
			item *it = &c->items[i];
			if (it->layer == layer && !blocked[it->chain])
				rc = build_item(c, it, e);
		}
		/* A file short of its threshold stops its chain: what follows pins its bytes. */
		for (size_t i = 0; i < c->nitems; i++)
			if (c->items[i].layer == layer && c->items[i].built &&
			    !c->items[i].complete)
				blocked[c->items[i].chain] = true;
	}
	free(blocked);
	return rc;
}

bool build_complete(const build_ctx *c)
{
	for (size_t i = 0; i < c->nitems; i++)
		if (!c->items[i].built || !c->items[i].complete)
			return false;
	return true;
}

void build_print_pending(const build_ctx *c, FILE *f, const char *prefix, bool staged)
{
	for (size_t i = 0; i < c->nitems; i++) {
		const item *it = &c->items[i];
		if (it->built && !it->complete)
			fprintf(f, "  %s%s%s: %llu of %llu signatures; needs %llu more from: %s\n",
				staged ? prefix : "", staged ? "/staged/" : "",
				staged ? it->member : it->member + strlen("metadata/"),
				(unsigned long long)it->st.have, (unsigned long long)it->st.need,
				(unsigned long long)(it->st.need - it->st.have), it->st.missing);
	}
	for (size_t i = 0; i < c->nitems; i++) {
		const item *it = &c->items[i];
		if (!it->built)
			fprintf(f, "  %s: signed once the files above are complete\n",
				it->member + strlen("metadata/"));
	}
}

int build_images(const build_ctx *c, const char ***out, size_t *n, upt_err *e)
{
	const json_t *doc = c->w->doc;
	size_t cap = 16, cnt = 0;
	const char **v = malloc(cap * sizeof(*v));
	if (!v)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	const char *k;
	json_t *as;
#define PUSH(s)                                                                                    \
	do {                                                                                       \
		if (cnt == cap) {                                                                  \
			const char **nv = realloc(v, 2 * cap * sizeof(*nv));                       \
			if (!nv) {                                                                 \
				free(v);                                                           \
				return upt_err_set(e, UPT_E_NOMEM, "out of memory");               \
			}                                                                          \
			v = nv;                                                                    \
			cap *= 2;                                                                  \
		}                                                                                  \
		v[cnt++] = (s);                                                                    \
	} while (0)
	if (c->fleet) {
		json_object_foreach(json_object_get(doc, "fleet"), k, as)
		{
			const char *t = json_string_value(json_object_get(as, "target"));
			if (t)
				PUSH(t);
		}
	} else {
		for (size_t i = 0; i < c->ndevices; i++)
			json_object_foreach(
			    json_object_get(json_object_get(doc, "devices"), c->devices[i]), k, as)
			{
				const char *t = json_string_value(json_object_get(as, "target"));
				if (t)
					PUSH(t);
			}
	}
#undef PUSH
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_cstr);
	size_t u = 0;
	for (size_t i = 0; i < cnt; i++)
		if (!u || strcmp(v[u - 1], v[i]))
			v[u++] = v[i];
	*out = v;
	*n = u;
	return UPT_OK;
}

int build_roots_status(const ws *w, bool *all_ok, FILE *print, upt_err *e)
{
	*all_ok = true;
	for (int r = 0; r < 2; r++) {
		uint64_t latest;
		int rc = ws_root_latest(w, repo_names[r], &latest, e);
		if (rc)
			return rc;
		for (uint64_t v = 1; v <= latest; v++) {
			sig_status old, cur;
			rc = signing_root_status(w, repo_names[r], v, &old, &cur, e);
			if (rc)
				return rc;
			if (cur.have < cur.need || (v > 1 && old.have < old.need)) {
				*all_ok = false;
				if (!print)
					continue;
				fprintf(print, "  %s/metadata/%s/%llu.root.json:", w->dir,
					repo_names[r], (unsigned long long)v);
				if (v > 1 && old.have < old.need)
					fprintf(print,
						" needs %llu more from the previous root's keys "
						"(%s);",
						(unsigned long long)(old.need - old.have),
						old.missing);
				if (cur.have < cur.need)
					fprintf(
					    print, " needs %llu more from its own root keys (%s)",
					    (unsigned long long)(cur.need - cur.have), cur.missing);
				fputc('\n', print);
			}
		}
	}
	return UPT_OK;
}

void build_free(build_ctx *c)
{
	for (size_t i = 0; i < c->nitems; i++) {
		free(c->items[i].name);
		upt_buf_clear(&c->items[i].bytes);
		upt_meta_free(c->items[i].meta);
	}
	free(c->items);
	c->items = NULL;
	c->nitems = 0;
	for (int r = 0; r < 2; r++) {
		upt_meta_free(c->root[r]);
		c->root[r] = NULL;
	}
}
