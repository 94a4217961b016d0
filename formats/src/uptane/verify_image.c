/*
 * verify_image: steps 3 and 4 of docs/threat-model.md.
 *   Image repository (Uptane 5.4.4.4-5.4.4.7, TUF 5.4-5.6): timestamp when present, snapshot,
 *   top-level targets, and the delegated roles a target search visits (pre-order depth-first,
 *   listed order, visited roles skipped, terminating delegations honoured, `*` never matching
 *   `/`, hardware-id lists of delegations honoured), each loaded and verified once per run.
 *   Match (5.4.4.2 step 10): every Director target against the Image repository's.
 * Not responsible for the Director (verify_director.c) or the image bytes (the caller).
 */
#include "verify_internal.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/hex.h"

#define TS_MEMBER VFY_IMAGE "timestamp.json"
#define SN_MEMBER VFY_IMAGE "snapshot.json"
#define TG_MEMBER VFY_IMAGE "targets.json"
#define DELEG_DIR VFY_IMAGE "delegations/"
#define STACK_MAX (UPT_DELEGATION_VISITS_MAX * 16)

static bool reserved(const char *name)
{
	/* called for every role the walk pops: the first letter settles most names */
	switch (name[0]) {
	case 'r':
		return strcmp(name, "root") == 0;
	case 's':
		return strcmp(name, "snapshot") == 0;
	case 't':
		return strcmp(name, "timestamp") == 0 || strcmp(name, "targets") == 0;
	default:
		return false;
	}
}

/* Snapshot entry name -> bundle member: "targets.json" is the top-level file, "<role>.json"
 * a delegated role (docs/bundle-format.md). false for names no role can have. */
static bool entry_member(const char *entry, char *member, size_t size, char *role, size_t rsize)
{
	if (strcmp(entry, "targets.json") == 0) {
		snprintf(member, size, "%s", TG_MEMBER);
		snprintf(role, rsize, "targets");
		return true;
	}
	size_t n = strlen(entry);
	if (n <= 5 || n - 5 > UPT_NAME_MAX || strcmp(entry + n - 5, ".json") != 0)
		return false;
	char r[UPT_NAME_MAX + 1];
	memcpy(r, entry, n - 5);
	r[n - 5] = '\0';
	if (!upt_name_valid(r) || reserved(r))
		return false;
	snprintf(member, size, "%s%s.json", DELEG_DIR, r);
	snprintf(role, rsize, "%s", r);
	return true;
}

static int top_timestamp(vfy_ctx *c, const upt_fileinfo **fi_out, upt_meta **ts_out)
{
	const upt_buf *bytes = upt_vfy_member(c->b, TS_MEMBER);
	upt_meta *ts = NULL;
	bool same = false;
	int rc;

	*fi_out = NULL;
	if (!bytes) {
		if (c->image_optional_timestamp)
			return UPT_OK;
		return upt_vfy_fail(c->e, UPT_E_MALFORMED, TS_MEMBER,
				    "malformed: device bundle without %s", TS_MEMBER);
	}
	const upt_fileinfo *fi = NULL;
	rc = upt_vfy_timestamp(TS_MEMBER, "Image timestamp", "Image-repo", bytes, c->iroot,
			       c->stored, "image-repo/timestamp.json", c->t, &ts, &fi, &same, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_keep(c->next, "image-repo/timestamp.json", bytes, same, c->e);
	if (rc != UPT_OK)
		goto out;
	*fi_out = fi;
	*ts_out = ts;
	ts = NULL;
out:
	upt_meta_free(ts);
	return rc;
}

static size_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211u;
	return (size_t)h;
}

/* Role lookup by name: loaded roles are at most the Image snapshot's entries, and a search may
 * visit thousands, so a hash map rather than a scan. */
static int role_index(const vfy_ctx *c, const char *name, size_t *idx)
{
	if (!c->role_map_cap)
		return 0;
	size_t mask = c->role_map_cap - 1;
	for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
		size_t v = c->role_map[i];
		if (v == 0)
			return 0;
		if (strcmp(c->roles[v - 1].name, name) == 0) {
			*idx = v - 1;
			return 1;
		}
	}
}

static int role_map_add(vfy_ctx *c, size_t idx)
{
	if (2 * (c->nroles + 1) > c->role_map_cap) {
		size_t cap = c->role_map_cap ? 2 * c->role_map_cap : 64;
		size_t *m = calloc(cap, sizeof(*m));
		if (!m)
			return upt_err_set(c->e, UPT_E_NOMEM, "out of memory");
		free(c->role_map);
		c->role_map = m;
		c->role_map_cap = cap;
		for (size_t j = 0; j < c->nroles; j++)
			if (j != idx)
				(void)role_map_add(c, j); /* fits: cap > 2 * nroles */
	}
	size_t mask = c->role_map_cap - 1;
	size_t i = name_hash(c->roles[idx].name) & mask;
	while (c->role_map[i])
		i = (i + 1) & mask;
	c->role_map[i] = idx + 1;
	return UPT_OK;
}

/* Loads a targets role the walk reached: listed in the snapshot (else mix-and-match), carried
 * by the bundle, as the snapshot pins it, parseable. Signatures come next (role_verify). */
static int role_load(vfy_ctx *c, const char *name, const char *parent_member, size_t *idx)
{
	char entry[UPT_NAME_MAX + 8];
	char member[VFY_PATH_MAX];
	char role[UPT_NAME_MAX + 1];
	char what[UPT_NAME_MAX + 32];
	bool top = parent_member == NULL;
	upt_meta *m = NULL;

	if (!top && (!upt_name_valid(name) || reserved(name)))
		return upt_vfy_fail(c->e, UPT_E_MALFORMED, parent_member,
				    "malformed: delegates to a role named '%.128s', which is not a "
				    "valid role name",
				    name);
	snprintf(entry, sizeof(entry), "%s.json", top ? "targets" : name);
	if (!entry_member(entry, member, sizeof(member), role, sizeof(role)))
		return upt_vfy_fail(c->e, UPT_E_MALFORMED, parent_member, "malformed: role %s",
				    name);
	snprintf(what, sizeof(what), top ? "Image targets" : "Image role '%s'", name);
	/* 5.4.4.6 step 1 / 5.4.4.7: a file the snapshot does not pin belongs to another mix */
	const upt_fileinfo *fi = upt_meta_file(c->isnap, entry);
	if (!fi)
		return upt_vfy_fail(c->e, UPT_E_MIX_AND_MATCH, member,
				    "%s: mix-and-match: not listed in the Image snapshot (version "
				    "%" PRIu64 ")",
				    what, c->isnap->version);
	const upt_buf *bytes = upt_vfy_member(c->b, member);
	if (!bytes)
		return upt_vfy_fail(
		    c->e, UPT_E_MALFORMED, member,
		    "%s: malformed: listed in the Image snapshot but not in the bundle", what);
	int rc = upt_vfy_pinned(member, what, bytes, fi, "the Image snapshot", c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_parse(member, what, bytes, UPT_ROLE_TARGETS, &m, c->e);
	if (rc != UPT_OK)
		return rc;
	vfy_role *grown = realloc(c->roles, (c->nroles + 1) * sizeof(*c->roles));
	if (!grown) {
		upt_meta_free(m);
		return upt_err_set(c->e, UPT_E_NOMEM, "out of memory");
	}
	c->roles = grown;
	vfy_role *r = &c->roles[c->nroles];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", top ? "targets" : name);
	snprintf(r->member, sizeof(r->member), "%s", member);
	r->m = m;
	r->bytes = bytes;
	*idx = c->nroles++;
	return role_map_add(c, *idx);
}

static void role_trust_name(const vfy_role *r, char *out, size_t size)
{
	if (strcmp(r->member, TG_MEMBER) == 0)
		snprintf(out, size, "image-repo/targets.json");
	else
		snprintf(out, size, "image-repo/delegations/%s.json", r->name);
}

/* Signatures by the delegating file's keys for this role (5.4.4.7, TUF 5.6.7.1), then, once
 * per run, version as the snapshot lists (mix-and-match), against the trusted copy (rollback),
 * expiry (freeze). */
static int role_verify(vfy_ctx *c, vfy_role *r, const upt_meta *keys_from, const upt_role_keys *rk)
{
	char what[UPT_NAME_MAX + 32];
	char entry[UPT_NAME_MAX + 8];
	char tname[UPT_NAME_MAX + 64];
	bool top = strcmp(r->member, TG_MEMBER) == 0;
	upt_meta *old = NULL;
	int rc;

	for (size_t i = 0; i < r->nparents_ok; i++)
		if (r->parents_ok[i] == keys_from)
			return UPT_OK;
	snprintf(what, sizeof(what), top ? "Image targets" : "Image role '%s'", r->name);
	rc = upt_vfy_signed(r->member, what, r->m, keys_from, rk, c->e);
	if (rc != UPT_OK)
		return rc;
	const upt_meta **grown = realloc(r->parents_ok, (r->nparents_ok + 1) * sizeof(*grown));
	if (!grown)
		return upt_err_set(c->e, UPT_E_NOMEM, "out of memory");
	r->parents_ok = grown;
	r->parents_ok[r->nparents_ok++] = keys_from;
	if (r->checked)
		return UPT_OK;

	snprintf(entry, sizeof(entry), "%s.json", r->name);
	const upt_fileinfo *fi = upt_meta_file(c->isnap, entry);
	if (!fi || r->m->version != fi->version)
		return upt_vfy_fail(c->e, UPT_E_MIX_AND_MATCH, r->member,
				    "%s: mix-and-match: version %" PRIu64
				    ", the Image snapshot lists %" PRIu64,
				    what, r->m->version, fi ? fi->version : 0);
	role_trust_name(r, tname, sizeof(tname));
	rc = upt_vfy_stored(c->stored, tname, UPT_ROLE_TARGETS, &old, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_not_older(r->member, what, r->m, old, &r->same_as_stored, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_fresh(r->member, what, r->m, c->t, c->e);
	upt_meta_free(old);
	if (rc == UPT_OK)
		r->checked = true;
	return rc;
}

int upt_vfy_image_top(vfy_ctx *c)
{
	const upt_fileinfo *fi = NULL;
	upt_meta *ts = NULL, *sn = NULL, *old = NULL;
	const upt_role_keys *role = NULL;
	bool same = false;
	int rc;

	rc = top_timestamp(c, &fi, &ts);
	if (rc != UPT_OK)
		return rc;
	const upt_buf *bytes = upt_vfy_member(c->b, SN_MEMBER);
	if (!bytes) {
		rc = upt_vfy_fail(c->e, UPT_E_MALFORMED, SN_MEMBER, "malformed: bundle without %s",
				  SN_MEMBER);
		goto out;
	}
	/* 5.4.4.5 (TUF 5.5): as the timestamp pins it, threshold, version, no rollback */
	if (fi)
		rc = upt_vfy_pinned(SN_MEMBER, "Image snapshot", bytes, fi, "the Image timestamp",
				    c->e);
	if (rc == UPT_OK)
		rc =
		    upt_vfy_parse(SN_MEMBER, "Image snapshot", bytes, UPT_ROLE_SNAPSHOT, &sn, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_root_role(c->iroot, "Image-repo", "snapshot", SN_MEMBER, &role, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_signed(SN_MEMBER, "Image snapshot", sn, c->iroot, role, c->e);
	if (rc != UPT_OK)
		goto out;
	if (fi && sn->version != fi->version) {
		rc = upt_vfy_fail(c->e, UPT_E_MIX_AND_MATCH, SN_MEMBER,
				  "Image snapshot: mix-and-match: version %" PRIu64
				  ", the Image timestamp pins %" PRIu64,
				  sn->version, fi->version);
		goto out;
	}
	rc = upt_vfy_stored(c->stored, "image-repo/snapshot.json", UPT_ROLE_SNAPSHOT, &old, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_not_older(SN_MEMBER, "Image snapshot", sn, old, &same, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_listing_not_older(SN_MEMBER, "Image snapshot", sn, old, false, c->e);
	/* PURE-2 waives the Image snapshot's expiry for fleet bundles (no timestamp to renew it) */
	if (rc == UPT_OK && !c->image_no_snapshot_expiry)
		rc = upt_vfy_fresh(SN_MEMBER, "Image snapshot", sn, c->t, c->e);
	if (rc != UPT_OK)
		goto out;
	/* docs/bundle-format.md: a role listed in the snapshot but absent from the bundle */
	for (size_t i = 0; i < sn->nfiles; i++) {
		char member[VFY_PATH_MAX], rname[UPT_NAME_MAX + 1];
		if (!entry_member(sn->files[i].name, member, sizeof(member), rname,
				  sizeof(rname))) {
			rc = upt_vfy_fail(c->e, UPT_E_MALFORMED, SN_MEMBER,
					  "Image snapshot: malformed: lists '%.128s', which is no "
					  "targets role",
					  sn->files[i].name);
			goto out;
		}
		if (!upt_vfy_member(c->b, member)) {
			rc = upt_vfy_fail(
			    c->e, UPT_E_MALFORMED, SN_MEMBER,
			    "Image snapshot: malformed: lists %s, which the bundle does "
			    "not carry (%s)",
			    sn->files[i].name, member);
			goto out;
		}
	}
	rc = upt_vfy_keep(c->next, "image-repo/snapshot.json", bytes, same, c->e);
	if (rc != UPT_OK)
		goto out;
	c->isnap = sn;
	sn = NULL;

	/* top-level targets: the walk starts here; load and verify it now so that a broken
	 * targets file is reported even when the Director assigns nothing */
	size_t idx = 0;
	rc = role_load(c, "targets", NULL, &idx);
	if (rc == UPT_OK)
		rc = upt_vfy_root_role(c->iroot, "Image-repo", "targets", TG_MEMBER, &role, c->e);
	if (rc == UPT_OK)
		rc = role_verify(c, &c->roles[idx], c->iroot, role);
out:
	upt_meta_free(ts);
	upt_meta_free(sn);
	upt_meta_free(old);
	return rc;
}

static bool in_list(const char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* TUF 5.6.7.2: shell-style patterns where `*` never matches `/` (FNM_PATHNAME), plus the
 * delegation's hardware-id list (docs/bundle-format.md). */
static bool delegation_applies(const upt_delegation *d, const char *name, const char *hwid)
{
	if (d->has_hardware_ids && hwid && !in_list(d->hardware_ids, d->nhardware_ids, hwid))
		return false;
	for (size_t i = 0; i < d->npaths; i++)
		if (fnmatch(d->paths[i], name, FNM_PATHNAME) == 0)
			return true;
	return false;
}

int upt_vfy_image_find(vfy_ctx *c, const char *name, const char *hwid, const upt_target **found,
		       const char **signer)
{
	size_t n = 0, visits = 0;
	int rc = UPT_OK;

	*found = NULL;
	*signer = NULL;
	c->search++;
	if (!c->stack) {
		c->stack = malloc(16 * sizeof(*c->stack));
		if (!c->stack)
			return upt_err_set(c->e, UPT_E_NOMEM, "out of memory");
		c->stack_cap = 16;
	}
	vfy_walk_item *stack = c->stack;
	stack[n++] = (vfy_walk_item){NULL, 0};
	/* TUF 5.6.7.2 (Uptane 5.4.4.7): pre-order depth-first from the top-level targets */
	while (n > 0) {
		vfy_walk_item it = stack[--n];
		const char *pmember = it.d ? c->roles[it.parent].member : NULL;
		/* valid names are checked when a role is first loaded; a reserved name must not
		 * find the top-level targets under its name */
		if (it.d && reserved(it.d->role.name)) {
			rc = upt_vfy_fail(c->e, UPT_E_MALFORMED, pmember,
					  "malformed: delegates to a role named '%.128s', which is "
					  "not a valid role name",
					  it.d->role.name);
			goto out;
		}
		const char *rname = it.d ? it.d->role.name : "targets";
		size_t idx = 0;
		bool loaded = role_index(c, rname, &idx);
		/* a role already visited in this search is skipped (cycles end here) */
		if (loaded && c->roles[idx].visited_in == c->search)
			continue;
		if (visits >= UPT_DELEGATION_VISITS_MAX) {
			rc = upt_vfy_fail(c->e, UPT_E_TOO_LARGE, pmember,
					  "too-large: searching %s visits more than %d roles", name,
					  UPT_DELEGATION_VISITS_MAX);
			goto out;
		}
		if (!loaded) {
			rc = role_load(c, rname, pmember, &idx);
			if (rc != UPT_OK)
				goto out;
		}
		if (it.d) {
			rc = role_verify(c, &c->roles[idx], c->roles[it.parent].m, &it.d->role);
		} else {
			const upt_role_keys *role = NULL;
			rc = upt_vfy_root_role(c->iroot, "Image-repo", "targets", TG_MEMBER, &role,
					       c->e);
			if (rc == UPT_OK)
				rc = role_verify(c, &c->roles[idx], c->iroot, role);
		}
		if (rc != UPT_OK)
			goto out;
		vfy_role *r = &c->roles[idx];
		const upt_target *t = upt_meta_target(r->m, name);
		if (t) {
			*found = t;
			*signer = r->member;
			goto out;
		}
		r->visited_in = c->search;
		visits++;
		/* children in listed order; after a terminating delegation nothing else is
		 * searched but that role's subtree (5.6.7.2.1.2) */
		size_t first = n;
		for (size_t i = 0; i < r->m->ndelegations; i++) {
			const upt_delegation *d = &r->m->delegations[i];
			if (!delegation_applies(d, name, hwid))
				continue;
			if (n == c->stack_cap) {
				if (c->stack_cap >= STACK_MAX) {
					rc = upt_vfy_fail(
					    c->e, UPT_E_TOO_LARGE, r->member,
					    "too-large: the delegations searched for %s "
					    "hold more than %d pending roles",
					    name, STACK_MAX);
					goto out;
				}
				vfy_walk_item *g =
				    realloc(stack, 2 * c->stack_cap * sizeof(*stack));
				if (!g) {
					rc = upt_err_set(c->e, UPT_E_NOMEM, "out of memory");
					goto out;
				}
				c->stack = stack = g;
				c->stack_cap *= 2;
			}
			stack[n++] = (vfy_walk_item){d, idx};
			if (d->terminating) {
				memmove(stack, stack + first, (n - first) * sizeof(*stack));
				n -= first;
				first = 0;
				break;
			}
		}
		/* pushed in listed order: reverse so that the first listed is popped first */
		for (size_t i = first, j = n; i + 1 < j; i++, j--) {
			vfy_walk_item tmp = stack[i];
			stack[i] = stack[j - 1];
			stack[j - 1] = tmp;
		}
	}
out:
	return rc;
}

static void hexcut(const uint8_t *p, char out[17])
{
	upt_hex_encode(p, 8, out);
}

static const char *algs(const upt_hashes *h)
{
	if (h->has_sha256 && h->has_sha512)
		return "sha256+sha512";
	return h->has_sha512 ? "sha512" : "sha256";
}

/* 5.4.4.2 step 10: the Director's target must be exactly what the Image repository signed. */
static int match_one(vfy_ctx *c, const vfy_dassign *a, upt_assignment *out)
{
	const upt_target *dt = a->dt;
	const upt_ecu_ident *ecu = a->ecu;
	const char *dm = c->dtargets_member;
	const upt_target *it = NULL;
	const char *signer = NULL;
	int rc = upt_vfy_image_find(c, dt->name, ecu->hardware_id, &it, &signer);
	if (rc != UPT_OK)
		return rc;
	if (!it)
		return upt_vfy_fail(
		    c->e, UPT_E_TARGET_MISMATCH, dm,
		    "target-mismatch: the Director assigns %.200s to ECU %s, but no "
		    "Image-repository role signs it for hardware id %s",
		    dt->name, ecu->serial, ecu->hardware_id);
	if (it->length != dt->length)
		return upt_vfy_fail(c->e, UPT_E_TARGET_MISMATCH, dm,
				    "target-mismatch: %.200s is %" PRIu64
				    " bytes for the Director, "
				    "%" PRIu64 " in %s",
				    dt->name, dt->length, it->length, signer);
	if (dt->hashes.has_sha256 != it->hashes.has_sha256 ||
	    dt->hashes.has_sha512 != it->hashes.has_sha512)
		return upt_vfy_fail(
		    c->e, UPT_E_TARGET_MISMATCH, dm,
		    "target-mismatch: %.200s lists %s hashes for the Director, %s in "
		    "%s (the sets must be identical)",
		    dt->name, algs(&dt->hashes), algs(&it->hashes), signer);
	if (!upt_hashes_identical(&dt->hashes, &it->hashes)) {
		char dh[17] = "-", ih[17] = "-";
		if (dt->hashes.has_sha256)
			hexcut(dt->hashes.sha256, dh);
		if (it->hashes.has_sha256)
			hexcut(it->hashes.sha256, ih);
		return upt_vfy_fail(c->e, UPT_E_TARGET_MISMATCH, dm,
				    "target-mismatch: %.200s has other hashes for the Director "
				    "(sha256 %s...) than in %s (sha256 %s...)",
				    dt->name, dh, signer, ih);
	}
	if (!it->has_hardware_ids ||
	    !in_list(it->hardware_ids, it->nhardware_ids, ecu->hardware_id))
		return upt_vfy_fail(c->e, UPT_E_TARGET_MISMATCH, dm,
				    "target-mismatch: %.200s is not for hardware id %s (ECU %s) in "
				    "%s",
				    dt->name, ecu->hardware_id, ecu->serial, signer);
	if (dt->has_release_counter != it->has_release_counter ||
	    dt->release_counter != it->release_counter)
		return upt_vfy_fail(c->e, UPT_E_TARGET_MISMATCH, dm,
				    "target-mismatch: %.200s has release counter %" PRIu64
				    "%s for the Director, %" PRIu64 "%s in %s",
				    dt->name, dt->release_counter,
				    dt->has_release_counter ? "" : " (none)", it->release_counter,
				    it->has_release_counter ? "" : " (none)", signer);
	/* Uptane 5.4.4.2 step 10 / 5.2.3.1: the Image repository's release counter guards
	 * against rollback even when the Director is compromised */
	uint64_t counter = it->has_release_counter ? it->release_counter : 0;
	if (counter < ecu->release_counter)
		return upt_vfy_fail(c->e, UPT_E_ROLLBACK, signer,
				    "rollback: %.200s has release counter %" PRIu64 ", ECU %s runs "
				    "release %" PRIu64,
				    dt->name, counter, ecu->serial, ecu->release_counter);
	out->ecu_serial = strdup(ecu->serial);
	out->target_name = strdup(dt->name);
	if (!out->ecu_serial || !out->target_name)
		return upt_err_set(c->e, UPT_E_NOMEM, "out of memory");
	out->length = dt->length;
	out->hashes = dt->hashes;
	out->release_counter = counter;
	out->already_installed =
	    ecu->installed_target && ecu->has_installed_sha256 &&
	    strcmp(ecu->installed_target, dt->name) == 0 && dt->hashes.has_sha256 &&
	    upt_ct_equal(ecu->installed_sha256, dt->hashes.sha256, UPT_SHA256_LEN);
	return UPT_OK;
}

int upt_vfy_match(vfy_ctx *c, upt_verify_result *out)
{
	upt_assignment *as = calloc(c->nas ? c->nas : 1, sizeof(*as));
	if (!as)
		return upt_err_set(c->e, UPT_E_NOMEM, "out of memory");
	int rc = UPT_OK;
	size_t i;
	for (i = 0; i < c->nas && rc == UPT_OK; i++)
		rc = match_one(c, &c->as[i], &as[i]);
	if (rc != UPT_OK) {
		for (size_t j = 0; j < i; j++) {
			free(as[j].ecu_serial);
			free(as[j].target_name);
		}
		free(as);
		return rc;
	}
	out->assignments = as;
	out->nassignments = c->nas;
	return UPT_OK;
}

int upt_vfy_image_commit(vfy_ctx *c)
{
	const char *prefix = "image-repo/delegations/";
	char tname[UPT_NAME_MAX + 64];
	int rc = UPT_OK;

	for (size_t i = 0; i < c->nroles && rc == UPT_OK; i++) {
		if (!c->roles[i].checked)
			continue;
		role_trust_name(&c->roles[i], tname, sizeof(tname));
		rc = upt_vfy_keep(c->next, tname, c->roles[i].bytes, c->roles[i].same_as_stored,
				  c->e);
	}
	/* Trusted delegations this run did not visit stay only while the new snapshot still
	 * lists them at the same version (they are then still current). */
	for (size_t i = 0; i < c->stored->nfiles && rc == UPT_OK; i++) {
		const char *name = c->stored->files[i].name;
		size_t pl = strlen(prefix), n = strlen(name);
		if (strncmp(name, prefix, pl) != 0 || n <= pl + 5)
			continue;
		char role[UPT_NAME_MAX + 8];
		snprintf(role, sizeof(role), "%.*s", (int)(n - pl - 5), name + pl);
		size_t idx = 0;
		if (role_index(c, role, &idx) && c->roles[idx].checked)
			continue;
		char entry[UPT_NAME_MAX + 16];
		snprintf(entry, sizeof(entry), "%s.json", role);
		const upt_fileinfo *fi = upt_meta_file(c->isnap, entry);
		upt_meta *old = NULL;
		if (fi && upt_vfy_stored(c->stored, name, UPT_ROLE_TARGETS, &old, NULL) == UPT_OK &&
		    old && old->version == fi->version) {
			upt_meta_free(old);
			continue;
		}
		upt_meta_free(old);
		upt_trust_remove(c->next, name);
		/* removal shifts nothing in c->stored: it is a different trust */
	}
	return rc;
}

void upt_vfy_image_clear(vfy_ctx *c)
{
	for (size_t i = 0; i < c->nroles; i++) {
		upt_meta_free(c->roles[i].m);
		free(c->roles[i].parents_ok);
	}
	free(c->roles);
	c->roles = NULL;
	c->nroles = 0;
	free(c->role_map);
	c->role_map = NULL;
	c->role_map_cap = 0;
	free(c->stack);
	c->stack = NULL;
	c->stack_cap = 0;
	upt_meta_free(c->isnap);
	c->isnap = NULL;
}
