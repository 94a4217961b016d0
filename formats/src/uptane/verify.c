/*
 * verify: the Uptane verification engine's entry point (docs/threat-model.md steps 1-4): the
 * bundle's metadata layout (section 3 and 10), the accept policy, the time, the order of the
 * steps and the result. A pure function: no files, no clock, no printing.
 * The steps themselves live in verify_root.c, verify_director.c and verify_image.c.
 */
#include "verify_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "N.root.json" with N a decimal version >= 1 without leading zeros. */
static bool root_name(const char *s)
{
	if (*s < '1' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	return strcmp(s, ".root.json") == 0;
}

static bool role_file(const char *s)
{
	return strcmp(s, "timestamp.json") == 0 || strcmp(s, "snapshot.json") == 0 ||
	       strcmp(s, "targets.json") == 0;
}

/* "<name>.json" with a valid name (docs/bundle-format.md) and nothing else. */
static bool named_json(const char *s, bool allow_reserved)
{
	size_t n = strlen(s);
	if (n <= 5 || n - 5 > UPT_NAME_MAX || strcmp(s + n - 5, ".json") != 0)
		return false;
	char name[UPT_NAME_MAX + 1];
	memcpy(name, s, n - 5);
	name[n - 5] = '\0';
	if (!upt_name_valid(name))
		return false;
	return allow_reserved || (strcmp(name, "root") != 0 && strcmp(name, "timestamp") != 0 &&
				  strcmp(name, "snapshot") != 0 && strcmp(name, "targets") != 0);
}

/* A multi-device member "<id>/<role file>". */
static bool device_member(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) > UPT_NAME_MAX)
		return false;
	char id[UPT_NAME_MAX + 1];
	memcpy(id, s, (size_t)(slash - s));
	id[slash - s] = '\0';
	return upt_name_valid(id) && role_file(slash + 1);
}

typedef struct layout {
	bool single, multi, fleet_snapshot;
	size_t updates;
	const char *first_director; /* a Director role member, to name in policy errors */
} layout;

static int fail_layout(upt_err *e, const char *member, const char *why)
{
	return upt_vfy_fail(e, UPT_E_MALFORMED, member, "malformed: %s", why);
}

/* docs/bundle-format.md: the metadata members a bundle may carry, the kind they make. */
static int scan_layout(const upt_bundle_meta *b, layout *l, upt_err *e)
{
	size_t droots = 0, iroots = 0;
	memset(l, 0, sizeof(*l));

	/* the root chain cap comes first: nothing is verified in an oversized chain */
	for (size_t i = 0; i < b->nfiles; i++) {
		const char *p = b->files[i].path;
		if (starts(p, VFY_DIRECTOR) && root_name(p + strlen(VFY_DIRECTOR)))
			droots++;
		else if (starts(p, VFY_IMAGE) && root_name(p + strlen(VFY_IMAGE)))
			iroots++;
	}
	if (droots > UPT_ROOT_CHAIN_MAX || iroots > UPT_ROOT_CHAIN_MAX)
		return upt_vfy_fail(e, UPT_E_TOO_LARGE,
				    droots > UPT_ROOT_CHAIN_MAX ? VFY_DIRECTOR : VFY_IMAGE,
				    "too-large: %zu root files for the %s (at most %d)",
				    droots > UPT_ROOT_CHAIN_MAX ? droots : iroots,
				    droots > UPT_ROOT_CHAIN_MAX ? "Director" : "Image repository",
				    UPT_ROOT_CHAIN_MAX);

	for (size_t i = 0; i < b->nfiles; i++) {
		const char *p = b->files[i].path;
		if (starts(p, VFY_DIRECTOR)) {
			const char *r = p + strlen(VFY_DIRECTOR);
			if (root_name(r))
				continue;
			if (role_file(r)) {
				l->single = true;
			} else if (starts(r, "devices/")) {
				if (!device_member(r + strlen("devices/")))
					return fail_layout(
					    e, p,
					    "unexpected member in metadata/director/devices/");
				l->multi = true;
			} else if (strcmp(r, "offline-snapshot.json") == 0) {
				l->fleet_snapshot = true;
			} else if (starts(r, "offline-updates/")) {
				if (!named_json(r + strlen("offline-updates/"), true))
					return fail_layout(e, p,
							   "offline-updates file name is not "
							   "<fleet>.json with a valid fleet name");
				if (++l->updates > 1)
					return fail_layout(e, p,
							   "more than one offline-updates file (a "
							   "fleet bundle carries exactly one)");
			} else {
				return fail_layout(e, p, "unexpected member in metadata/director/");
			}
			if (!l->first_director)
				l->first_director = p;
		} else if (starts(p, VFY_IMAGE)) {
			const char *r = p + strlen(VFY_IMAGE);
			if (root_name(r) || role_file(r))
				continue;
			if (starts(r, "delegations/") &&
			    named_json(r + strlen("delegations/"), false))
				continue;
			return fail_layout(e, p, "unexpected member in metadata/image-repo/");
		} else {
			return fail_layout(e, p, "unexpected metadata member");
		}
	}
	/* a device reading with upt_bundle_reader_keep_device saw other devices' members */
	if (b->nskipped)
		l->multi = true;
	bool device = l->single || l->multi;
	bool fleet = l->fleet_snapshot || l->updates > 0;
	if (l->single && l->multi)
		return fail_layout(e, VFY_DIRECTOR "devices/",
				   "the bundle mixes single-device (metadata/director/*.json) and "
				   "multi-device (metadata/director/devices/) layouts");
	if (device && fleet)
		return fail_layout(e, VFY_DIRECTOR "offline-snapshot.json",
				   "the bundle carries both device and fleet Director metadata");
	if (!device && !fleet)
		return fail_layout(e, VFY_DIRECTOR, "the bundle carries no Director metadata");
	if (fleet && !l->fleet_snapshot)
		return fail_layout(e, VFY_DIRECTOR "offline-snapshot.json",
				   "fleet bundle without metadata/director/offline-snapshot.json");
	if (fleet && l->updates == 0)
		return fail_layout(e, VFY_DIRECTOR "offline-updates/",
				   "fleet bundle without an offline-updates file");
	return UPT_OK;
}

static void move_trust(upt_trust *dst, upt_trust *src)
{
	upt_trust_clear(dst);
	*dst = *src;
	upt_trust_init(src);
}

static void result_init(upt_verify_result *out)
{
	memset(out, 0, sizeof(*out));
	upt_trust_init(&out->trust_after);
	upt_trust_init(&out->trust_roots_only);
	upt_err_clear(&out->err);
}

void upt_verify_result_clear(upt_verify_result *r)
{
	if (!r)
		return;
	upt_trust_clear(&r->trust_after);
	upt_trust_clear(&r->trust_roots_only);
	for (size_t i = 0; i < r->nassignments; i++) {
		free(r->assignments[i].ecu_serial);
		free(r->assignments[i].target_name);
	}
	free(r->assignments);
	result_init(r);
}

static void ctx_clear(vfy_ctx *c)
{
	upt_vfy_image_clear(c);
	upt_meta_free(c->droot);
	upt_meta_free(c->iroot);
	upt_meta_free(c->dtargets);
	upt_meta_free(c->dtargets_parsed);
	free(c->as);
	free((void *)c->ecu_order);
	free(c->ecu_used);
}

static void free_assignments(upt_verify_result *out)
{
	for (size_t i = 0; i < out->nassignments; i++) {
		free(out->assignments[i].ecu_serial);
		free(out->assignments[i].target_name);
	}
	free(out->assignments);
	out->assignments = NULL;
	out->nassignments = 0;
}

/* Common start: time, working copy of the trust. */
static int begin(const upt_verify_input *in, vfy_ctx *c, upt_trust *work, upt_verify_result *out)
{
	c->e = &out->err;
	c->b = in->bundle;
	c->dev = in->device;
	int64_t floor = in->trust->time_floor;
	/* docs/device-config.md: effective = max(clock, floor); a clock behind the floor is
	 * reported and never lowers it */
	out->clock_behind_floor = in->now < floor;
	c->t = in->now > floor ? in->now : floor;
	return upt_trust_copy(work, in->trust, c->e);
}

/* The end of every run: the result's code and time, the working state freed. */
static int finish(upt_verify_result *out, vfy_ctx *c, upt_trust *work, upt_trust *next, int rc)
{
	out->effective_time = c->t;
	out->err.code = rc;
	out->code = rc;
	ctx_clear(c);
	upt_trust_clear(work);
	upt_trust_clear(next);
	return rc;
}

int upt_verify(const upt_verify_input *in, upt_verify_result *out)
{
	vfy_ctx c;
	upt_trust work, next;
	layout l;
	char intended[sizeof(out->intended_for)] = "";
	int rc;

	result_init(out);
	memset(&c, 0, sizeof(c));
	upt_trust_init(&work);
	upt_trust_init(&next);
	if (!in || !in->trust || !in->bundle || !in->device || !in->device->device_id) {
		rc = upt_err_set(&out->err, UPT_E_INTERNAL, "verify: incomplete input");
		out->code = rc;
		return rc;
	}
	rc = begin(in, &c, &work, out);
	if (rc != UPT_OK)
		goto out;

	rc = scan_layout(in->bundle, &l, c.e);
	if (rc != UPT_OK)
		goto out;
	c.fleet = l.fleet_snapshot;
	if ((c.fleet && !in->device->accept_fleet) || (!c.fleet && !in->device->accept_device)) {
		rc = upt_vfy_fail(
		    c.e, UPT_E_POLICY, l.first_director,
		    "policy: this device does not accept %s bundles (\"accept\" in its "
		    "configuration)",
		    c.fleet ? "fleet" : "device");
		goto out;
	}

	/* step 1: roots, Director then Image repository (5.4.4.3) */
	rc = upt_vfy_roots(in->bundle, "director", &work, c.t, &c.droot, &out->roots_changed, c.e);
	if (rc == UPT_OK)
		rc = upt_vfy_roots(in->bundle, "image-repo", &work, c.t, &c.iroot,
				   &out->roots_changed, c.e);
	if (rc != UPT_OK)
		goto out;
	rc = upt_trust_copy(&next, &work, c.e);
	if (rc != UPT_OK)
		goto out;
	c.stored = &work;
	c.next = &next;

	/* step 2: the Director's instructions for this device */
	rc = upt_vfy_director_select(&c, intended, sizeof(intended));
	if (rc == UPT_OK)
		rc = upt_vfy_director(&c, intended, sizeof(intended));
	if (rc != UPT_OK)
		goto out;

	/* step 3: Image repository (PURE-2: no timestamp, snapshot expiry waived for fleets) */
	c.image_optional_timestamp = c.fleet;
	c.image_no_snapshot_expiry = c.fleet;
	rc = upt_vfy_image_top(&c);
	/* step 4: every Director target against the Image repository */
	if (rc == UPT_OK)
		rc = upt_vfy_match(&c, out);
	/* step 4b: an encrypted target names its sealed form and a key this device opens */
	if (rc == UPT_OK)
		rc = upt_vfy_encryption(&c, out);
	if (rc == UPT_OK)
		rc = upt_vfy_image_commit(&c);
	if (rc != UPT_OK)
		goto out;

	if (c.has_issued && c.issued > next.time_floor)
		next.time_floor = c.issued;
	out->kind_fleet = c.fleet;
	out->director_targets_version = c.dtargets->version;
	snprintf(out->bundle_id, sizeof(out->bundle_id), "%s:%" PRIu64,
		 c.fleet ? c.fleet_name : in->device->device_id, c.dtargets->version);
	move_trust(&out->trust_after, &next);
	/* work is step 1's result, unchanged since (c.stored is const) */
	move_trust(&out->trust_roots_only, &work);
	out->trust_roots_only.time_floor = in->trust->time_floor;
out:
	if (rc != UPT_OK) {
		free_assignments(out);
		/* the input state plus the roots accepted in step 1 (and their forgets) */
		move_trust(&out->trust_after, &work);
		out->trust_after.time_floor = in->trust->time_floor;
		out->kind_fleet = c.fleet;
		if (rc == UPT_E_NOT_FOR_DEVICE)
			snprintf(out->intended_for, sizeof(out->intended_for), "%s", intended);
	}
	return finish(out, &c, &work, &next, rc);
}

static int image_repo(const upt_verify_input *in, bool timestamp_optional,
		      const char *const *target_names, size_t ntargets, upt_verify_result *out)
{
	vfy_ctx c;
	upt_trust work, next;
	bool changed = false;
	int rc;

	result_init(out);
	memset(&c, 0, sizeof(c));
	upt_trust_init(&work);
	upt_trust_init(&next);
	if (!in || !in->trust || !in->bundle) {
		rc = upt_err_set(&out->err, UPT_E_INTERNAL, "verify: incomplete input");
		out->code = rc;
		return rc;
	}
	rc = begin(in, &c, &work, out);
	size_t iroots = 0;
	for (size_t i = 0; rc == UPT_OK && i < in->bundle->nfiles; i++)
		if (starts(in->bundle->files[i].path, VFY_IMAGE) &&
		    root_name(in->bundle->files[i].path + strlen(VFY_IMAGE)))
			iroots++;
	if (rc == UPT_OK && iroots > UPT_ROOT_CHAIN_MAX)
		rc = upt_vfy_fail(c.e, UPT_E_TOO_LARGE, VFY_IMAGE,
				  "too-large: %zu root files for the Image repository (at most %d)",
				  iroots, UPT_ROOT_CHAIN_MAX);
	if (rc == UPT_OK)
		rc = upt_vfy_roots(in->bundle, "image-repo", &work, c.t, &c.iroot, &changed, c.e);
	out->roots_changed = changed;
	if (rc == UPT_OK)
		rc = upt_trust_copy(&next, &work, c.e);
	if (rc != UPT_OK)
		goto out;
	c.stored = &work;
	c.next = &next;
	c.image_optional_timestamp = timestamp_optional;
	rc = upt_vfy_image_top(&c);
	if (rc == UPT_OK && ntargets) {
		out->assignments = calloc(ntargets, sizeof(*out->assignments));
		if (!out->assignments)
			rc = upt_err_set(c.e, UPT_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; rc == UPT_OK && i < ntargets; i++) {
		const upt_target *t = NULL;
		const char *signer = NULL;
		rc = upt_vfy_image_find(&c, target_names[i], NULL, &t, &signer);
		if (rc == UPT_OK && !t)
			rc = upt_vfy_fail(c.e, UPT_E_NOT_FOUND, NULL,
					  "no Image-repository role signs %.200s", target_names[i]);
		if (rc != UPT_OK)
			break;
		upt_assignment *a = &out->assignments[out->nassignments++];
		a->target_name = strdup(t->name);
		if (!a->target_name)
			rc = upt_err_set(c.e, UPT_E_NOMEM, "out of memory");
		a->length = t->length;
		a->hashes = t->hashes;
		a->release_counter = t->has_release_counter ? t->release_counter : 0;
	}
	if (rc == UPT_OK)
		rc = upt_vfy_image_commit(&c);
	if (rc == UPT_OK)
		move_trust(&out->trust_after, &next);
out:
	if (rc != UPT_OK) {
		free_assignments(out);
		move_trust(&out->trust_after, &work);
	}
	return finish(out, &c, &work, &next, rc);
}

int upt_verify_image_repo(const upt_verify_input *in, const char *const *target_names,
			  size_t ntargets, upt_verify_result *out)
{
	return image_repo(in, false, target_names, ntargets, out);
}

int upt_verify_image_repo_no_timestamp(const upt_verify_input *in, const char *const *target_names,
				       size_t ntargets, upt_verify_result *out)
{
	return image_repo(in, true, target_names, ntargets, out);
}
