/* scenario: the verification engine's test generator (see scenario.h). */
#include "scenario.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upt/cjson.h"
#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"

#define FILE_BUF_MAX (8u << 20)

static const char *const role_names[SCN_ROLES] = {"root",    "timestamp",	 "snapshot",
						  "targets", "offline-snapshot", "offline-updates"};
static const char *const repo_dirs[SCN_REPOS] = {"metadata/director/", "metadata/image-repo/"};

upt_signer *scn_key(scn *s)
{
	if (s->npool >= SCN_POOL_MAX)
		return NULL;
	upt_signer *k = NULL;
	if (upt_signer_generate(&k, NULL) != UPT_OK)
		return NULL;
	s->pool[s->npool++] = k;
	return k;
}

static int keys_new(scn *s, scn_keys *k, size_t n, uint64_t threshold)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < n; i++)
		if (!(k->k[k->n++] = scn_key(s)))
			return UPT_E_NOMEM;
	k->threshold = threshold;
	return UPT_OK;
}

static void hashes_of(const char *name, upt_hashes *h)
{
	memset(h, 0, sizeof(*h));
	h->has_sha256 = true;
	if (upt_sha256(name, strlen(name), h->sha256, NULL) != UPT_OK)
		abort();
}

scn_target *scn_target_add(scn *s, const char *name, const char *hw, uint64_t rc, const char *role)
{
	if (s->ntargets >= SCN_TARGETS_MAX)
		return NULL;
	scn_target *t = &s->targets[s->ntargets++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->length = 1000 + s->ntargets;
	hashes_of(name, &t->hashes);
	if (hw) {
		t->hw[0] = hw;
		t->nhw = 1;
	}
	t->has_rc = true;
	t->rc = rc;
	snprintf(t->role, sizeof(t->role), "%s", role ? role : "");
	return t;
}

scn_deleg *scn_deleg_add(scn *s, const char *name, const char *parent, const char *path)
{
	if (s->ndelegs >= SCN_DELEGS_MAX)
		return NULL;
	scn_deleg *d = &s->delegs[s->ndelegs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->parent, sizeof(d->parent), "%s", parent ? parent : "");
	if (path) {
		d->paths[0] = path;
		d->npaths = 1;
	}
	if (keys_new(s, &d->keys, 1, 1) != UPT_OK)
		return NULL;
	d->version = 1;
	d->expires = s->now + 30 * SCN_DAY;
	return d;
}

scn_assign *scn_assign_add(scn *s, const char *target, const char *ecu, const char *hw)
{
	if (s->nas >= SCN_ASSIGN_MAX)
		return NULL;
	scn_assign *a = &s->as[s->nas++];
	memset(a, 0, sizeof(*a));
	snprintf(a->target, sizeof(a->target), "%s", target);
	snprintf(a->ecu, sizeof(a->ecu), "%s", ecu ? ecu : "");
	snprintf(a->hw, sizeof(a->hw), "%s", hw ? hw : "");
	return a;
}

scn_target *scn_target_get(scn *s, const char *name)
{
	for (size_t i = 0; i < s->ntargets; i++)
		if (strcmp(s->targets[i].name, name) == 0)
			return &s->targets[i];
	return NULL;
}

scn_deleg *scn_deleg_get(scn *s, const char *name)
{
	for (size_t i = 0; i < s->ndelegs; i++)
		if (strcmp(s->delegs[i].name, name) == 0)
			return &s->delegs[i];
	return NULL;
}

static void add_signers(scn_signers *sg, const scn_keys *k, uint64_t count)
{
	for (size_t i = 0; i < k->n && i < count && sg->n < SCN_KEYS_MAX * 2; i++)
		sg->s[sg->n++] = k->k[i];
}

static int sign_into(scn *s, const char *member, json_t *obj, scn_signers *sg, upt_buf *out)
{
	if (!obj)
		return UPT_E_NOMEM;
	if (s->hook)
		s->hook(s, member, obj, sg);
	upt_buf_init(out, FILE_BUF_MAX);
	upt_err e;
	int rc = upt_mb_sign(obj, sg->s, sg->n, out, &e);
	if (rc != UPT_OK)
		fprintf(stderr, "scenario: signing %s: %s\n", member, e.msg);
	else if (s->post)
		s->post(s, member, out);
	return rc;
}

static int build_root(scn *s, enum scn_repo repo, uint64_t v, const scn_keys *prev)
{
	upt_mb_role roles[SCN_ROLES];
	upt_key keys[SCN_ROLES][SCN_KEYS_MAX];
	size_t n = repo == SCN_DIRECTOR && s->offline_roles ? SCN_ROLES : SCN_OFFSNAP;
	char member[128];
	if (v > SCN_ROOTS_MAX)
		return UPT_E_TOO_LARGE;
	for (size_t r = 0; r < n; r++) {
		const scn_keys *k = &s->role[repo][r];
		for (size_t i = 0; i < k->n; i++)
			keys[r][i] = *upt_signer_key(k->k[i]);
		roles[r] = (upt_mb_role){role_names[r], keys[r], k->n, k->threshold};
	}
	json_t *obj = upt_mb_root(v, s->root_expires[repo], roles, n);
	scn_signers sg = {.n = 0};
	if (prev)
		add_signers(&sg, prev, prev->threshold);
	add_signers(&sg, &s->role[repo][SCN_ROOT], s->role[repo][SCN_ROOT].threshold);
	snprintf(member, sizeof(member), "%s%llu.root.json", repo_dirs[repo],
		 (unsigned long long)v);
	upt_buf_clear(&s->roots[repo][v]);
	int rc = sign_into(s, member, obj, &sg, &s->roots[repo][v]);
	json_decref(obj);
	if (rc != UPT_OK)
		return rc;
	s->root_keys_at[repo][v] = s->role[repo][SCN_ROOT];
	s->nroots[repo] = v;
	return UPT_OK;
}

int scn_rotate(scn *s, enum scn_repo repo)
{
	uint64_t v = s->nroots[repo];
	return build_root(s, repo, v + 1, &s->root_keys_at[repo][v]);
}

scn *scn_new(void)
{
	scn *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	upt_trust_init(&s->trust);
	s->now = SCN_NOW;
	s->kind = SCN_DEVICE;
	s->offline_roles = true;
	s->issued = SCN_NOW - 3600;
	for (int repo = 0; repo < SCN_REPOS; repo++) {
		for (int r = 0; r < SCN_ROLES; r++) {
			if (repo == SCN_IMAGE && r >= SCN_OFFSNAP)
				continue;
			if (keys_new(s, &s->role[repo][r], 1, 1) != UPT_OK)
				goto fail;
			s->version[repo][r] = 1;
			s->expires[repo][r] = SCN_NOW + 30 * SCN_DAY;
		}
		s->root_expires[repo] = SCN_NOW + 365 * SCN_DAY;
		s->ship_roots_from[repo] = 1;
		for (int v = 0; v <= SCN_ROOTS_MAX; v++)
			upt_buf_init(&s->roots[repo][v], FILE_BUF_MAX);
	}

	snprintf(s->device_id, sizeof(s->device_id), "VIN-1");
	static const char *const serials[] = {"ecu-main", "ecu-aux", "sensor-01"};
	static const char *const hws[] = {"board-a", "board-b", "sensor-y"};
	for (size_t i = 0; i < 3; i++) {
		s->ecus[i].serial = serials[i];
		s->ecus[i].hardware_id = hws[i];
	}
	s->necus = 3;
	s->dev.device_id = s->device_id;
	s->dev.ecus = s->ecus;
	s->dev.necus = s->necus;
	s->dev.accept_device = true;
	s->dev.accept_fleet = true;

	scn_target_add(s, "main-fw-1.bin", "board-a", 1, NULL);
	scn_target_add(s, "aux-fw-1.bin", "board-b", 1, NULL);
	scn_target_add(s, "supplier/sensor-fw-1.bin", "sensor-y", 1, "supplier");
	if (!scn_deleg_add(s, "supplier", NULL, "supplier/*"))
		goto fail;
	scn_assign *a = scn_assign_add(s, "main-fw-1.bin", "ecu-main", "board-a");
	a->fleet_hw[0] = "board-a";
	a->nfleet_hw = 1;
	a = scn_assign_add(s, "aux-fw-1.bin", "ecu-aux", "board-b");
	a->fleet_hw[0] = "board-b";
	a->nfleet_hw = 1;
	snprintf(s->fleet_name, sizeof(s->fleet_name), "campaign-a");

	if (build_root(s, SCN_DIRECTOR, 1, NULL) != UPT_OK ||
	    build_root(s, SCN_IMAGE, 1, NULL) != UPT_OK || scn_trust_root(s, SCN_DIRECTOR, 1) ||
	    scn_trust_root(s, SCN_IMAGE, 1))
		goto fail;
	return s;
fail:
	scn_free(s);
	return NULL;
}

int scn_reset_roots(scn *s)
{
	for (int repo = 0; repo < SCN_REPOS; repo++) {
		s->nroots[repo] = 0;
		int rc = build_root(s, repo, 1, NULL);
		if (rc == UPT_OK)
			rc = scn_trust_root(s, repo, 1);
		if (rc != UPT_OK)
			return rc;
	}
	return UPT_OK;
}

int scn_trust_root(scn *s, enum scn_repo repo, uint64_t v)
{
	const char *name = repo == SCN_DIRECTOR ? "director/root.json" : "image-repo/root.json";
	if (v == 0 || v > s->nroots[repo])
		return UPT_E_USAGE;
	return upt_trust_set(&s->trust, name, s->roots[repo][v].data, s->roots[repo][v].len, NULL);
}

static void files_clear(scn *s)
{
	for (size_t i = 0; i < s->bundle.nfiles; i++) {
		free(s->files[i].path);
		upt_buf_clear(&s->files[i].data);
	}
	s->bundle.nfiles = 0;
	upt_buf_clear(&s->bundle.bundle_json);
}

void scn_free(scn *s)
{
	if (!s)
		return;
	files_clear(s);
	for (int repo = 0; repo < SCN_REPOS; repo++)
		for (int v = 0; v <= SCN_ROOTS_MAX; v++)
			upt_buf_clear(&s->roots[repo][v]);
	upt_trust_clear(&s->trust);
	for (size_t i = 0; i < s->npool; i++)
		upt_signer_free(s->pool[i]);
	free(s);
}

const upt_buf *scn_get(const scn *s, const char *member)
{
	for (size_t i = 0; i < s->bundle.nfiles; i++)
		if (strcmp(s->files[i].path, member) == 0)
			return &s->files[i].data;
	return NULL;
}

void scn_drop(scn *s, const char *member)
{
	for (size_t i = 0; i < s->bundle.nfiles; i++)
		if (strcmp(s->files[i].path, member) == 0) {
			free(s->files[i].path);
			upt_buf_clear(&s->files[i].data);
			memmove(&s->files[i], &s->files[i + 1],
				(s->bundle.nfiles - i - 1) * sizeof(s->files[0]));
			s->bundle.nfiles--;
			return;
		}
}

/* Takes ownership of buf's contents. */
static int put_take(scn *s, const char *member, upt_buf *buf)
{
	for (size_t i = 0; i < s->bundle.nfiles; i++)
		if (strcmp(s->files[i].path, member) == 0) {
			upt_buf_clear(&s->files[i].data);
			s->files[i].data = *buf;
			upt_buf_init(buf, buf->max);
			return UPT_OK;
		}
	if (s->bundle.nfiles >= SCN_FILES_MAX)
		return UPT_E_TOO_LARGE;
	upt_bundle_file *f = &s->files[s->bundle.nfiles];
	if (!(f->path = strdup(member)))
		return UPT_E_NOMEM;
	f->data = *buf;
	upt_buf_init(buf, buf->max);
	s->bundle.nfiles++;
	s->bundle.files = s->files;
	return UPT_OK;
}

int scn_put(scn *s, const char *member, const void *data, size_t len)
{
	upt_buf b;
	upt_buf_init(&b, FILE_BUF_MAX);
	int rc = upt_buf_append(&b, data, len, NULL);
	if (rc == UPT_OK)
		rc = put_take(s, member, &b);
	upt_buf_clear(&b);
	return rc;
}

/* The keys that sign a member by default: its role's first `threshold` keys. */
static const scn_keys *member_keys(scn *s, const char *member)
{
	const char *d = repo_dirs[SCN_DIRECTOR], *im = repo_dirs[SCN_IMAGE];
	const char *base = strrchr(member, '/');
	base = base ? base + 1 : member;
	if (strstr(base, ".root.json"))
		return &s->role[strncmp(member, d, strlen(d)) == 0 ? SCN_DIRECTOR : SCN_IMAGE]
			       [SCN_ROOT];
	if (strncmp(member, d, strlen(d)) == 0) {
		if (strstr(member, "offline-updates/"))
			return &s->role[SCN_DIRECTOR][SCN_OFFUPD];
		if (strcmp(base, "offline-snapshot.json") == 0)
			return &s->role[SCN_DIRECTOR][SCN_OFFSNAP];
		for (int r = SCN_TIMESTAMP; r <= SCN_TARGETS; r++)
			if (strncmp(base, role_names[r], strlen(role_names[r])) == 0)
				return &s->role[SCN_DIRECTOR][r];
		return NULL;
	}
	if (strncmp(member, im, strlen(im)) == 0) {
		if (strstr(member, "delegations/")) {
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)(strlen(base) - 5), base);
			scn_deleg *dl = scn_deleg_get(s, name);
			return dl ? &dl->keys : NULL;
		}
		for (int r = SCN_TIMESTAMP; r <= SCN_TARGETS; r++)
			if (strncmp(base, role_names[r], strlen(role_names[r])) == 0)
				return &s->role[SCN_IMAGE][r];
	}
	return NULL;
}

static int sign_member(scn *s, const char *member, json_t *obj, upt_buf *out)
{
	scn_signers sg = {.n = 0};
	const scn_keys *k = member_keys(s, member);
	if (k)
		add_signers(&sg, k, k->threshold);
	return sign_into(s, member, obj, &sg, out);
}

static int emit(scn *s, const char *member, json_t *obj, upt_buf *keep)
{
	upt_buf b;
	int rc = sign_member(s, member, obj, &b);
	json_decref(obj);
	if (rc == UPT_OK && keep)
		rc = upt_buf_copy(keep, &b, NULL);
	if (rc == UPT_OK)
		rc = put_take(s, member, &b);
	upt_buf_clear(&b);
	return rc;
}

static void target_of(scn *s, const char *name, upt_mb_target *t)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	scn_target *it = scn_target_get(s, name);
	if (it) {
		t->length = it->length;
		t->hashes = it->hashes;
		t->has_release_counter = it->has_rc;
		t->release_counter = it->rc;
	} else {
		t->length = 1;
		hashes_of(name, &t->hashes);
	}
}

static int device_set(scn *s, const char *prefix, const char *device_id)
{
	char member[256];
	upt_buf tg, sn;
	upt_buf_init(&tg, FILE_BUF_MAX);
	upt_buf_init(&sn, FILE_BUF_MAX);
	const uint64_t *ver = s->version[SCN_DIRECTOR];
	const int64_t *exp = s->expires[SCN_DIRECTOR];
	int rc = UPT_OK;

	json_t *obj =
	    upt_mb_targets(UPT_ROLE_TARGETS, ver[SCN_TARGETS], exp[SCN_TARGETS], device_id);
	for (size_t i = 0; i < s->nas && rc == UPT_OK; i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen = seen || strcmp(s->as[j].target, s->as[i].target) == 0;
		if (seen || !s->as[i].ecu[0])
			continue;
		upt_ecu_binding ecus[SCN_ASSIGN_MAX];
		size_t n = 0;
		for (size_t j = i; j < s->nas; j++)
			if (strcmp(s->as[j].target, s->as[i].target) == 0 && s->as[j].ecu[0])
				ecus[n++] = (upt_ecu_binding){s->as[j].ecu, s->as[j].hw};
		upt_mb_target t;
		target_of(s, s->as[i].target, &t);
		t.ecus = ecus;
		t.necus = n;
		rc = upt_mb_targets_add(obj, &t, NULL);
	}
	snprintf(member, sizeof(member), "%stargets.json", prefix);
	if (rc == UPT_OK)
		rc = emit(s, member, obj, &tg);
	else
		json_decref(obj);
	if (rc == UPT_OK) {
		upt_mb_fileref f = {"targets.json", ver[SCN_TARGETS], tg.data, tg.len};
		snprintf(member, sizeof(member), "%ssnapshot.json", prefix);
		rc = emit(s, member,
			  upt_mb_snapshot(UPT_ROLE_SNAPSHOT, ver[SCN_SNAPSHOT], exp[SCN_SNAPSHOT],
					  &f, 1, -1),
			  &sn);
	}
	if (rc == UPT_OK) {
		upt_mb_fileref f = {"snapshot.json", ver[SCN_SNAPSHOT], sn.data, sn.len};
		snprintf(member, sizeof(member), "%stimestamp.json", prefix);
		rc = emit(s, member,
			  upt_mb_timestamp(ver[SCN_TIMESTAMP], exp[SCN_TIMESTAMP], &f, s->issued),
			  NULL);
	}
	upt_buf_clear(&tg);
	upt_buf_clear(&sn);
	return rc;
}

static int fleet_set(scn *s)
{
	char member[256];
	upt_buf ou;
	upt_buf_init(&ou, FILE_BUF_MAX);
	const uint64_t *ver = s->version[SCN_DIRECTOR];
	const int64_t *exp = s->expires[SCN_DIRECTOR];
	int rc = UPT_OK;

	json_t *obj =
	    upt_mb_targets(UPT_ROLE_OFFLINE_UPDATES, ver[SCN_OFFUPD], exp[SCN_OFFUPD], NULL);
	for (size_t i = 0; i < s->nas && rc == UPT_OK; i++) {
		const scn_assign *a = &s->as[i];
		upt_mb_target t;
		target_of(s, a->target, &t);
		t.hardware_ids = a->fleet_hw;
		t.nhardware_ids = a->nfleet_hw;
		t.device_ids = a->ndevices ? a->devices : NULL;
		t.ndevice_ids = a->ndevices;
		rc = upt_mb_targets_add(obj, &t, NULL);
	}
	snprintf(member, sizeof(member), "%soffline-updates/%s.json", repo_dirs[SCN_DIRECTOR],
		 s->fleet_name);
	if (rc == UPT_OK)
		rc = emit(s, member, obj, &ou);
	else
		json_decref(obj);
	if (rc == UPT_OK) {
		upt_mb_fileref f[1 + SCN_LIST_MAX];
		char names[1 + SCN_LIST_MAX][80];
		size_t n = 0;
		snprintf(names[n], sizeof(names[n]), "%s.json", s->fleet_name);
		f[n] = (upt_mb_fileref){names[n], ver[SCN_OFFUPD], ou.data, ou.len};
		n++;
		for (size_t i = 0; i < s->noffsnap_extra; i++, n++) {
			snprintf(names[n], sizeof(names[n]), "%s.json", s->offsnap_extra[i].name);
			f[n] = (upt_mb_fileref){names[n], s->offsnap_extra[i].version, "other", 5};
		}
		snprintf(member, sizeof(member), "%soffline-snapshot.json",
			 repo_dirs[SCN_DIRECTOR]);
		rc = emit(s, member,
			  upt_mb_snapshot(UPT_ROLE_OFFLINE_SNAPSHOT, ver[SCN_OFFSNAP],
					  exp[SCN_OFFSNAP], f, n, s->issued),
			  NULL);
	}
	upt_buf_clear(&ou);
	return rc;
}

static int add_delegations(scn *s, json_t *obj, const char *parent)
{
	for (size_t i = 0; i < s->ndelegs; i++) {
		const scn_deleg *d = &s->delegs[i];
		if (strcmp(d->parent, parent) != 0)
			continue;
		upt_key keys[SCN_KEYS_MAX];
		for (size_t k = 0; k < d->keys.n; k++)
			keys[k] = *upt_signer_key(d->keys.k[k]);
		upt_mb_delegation md = {d->name,  keys,	     d->keys.n,	     d->keys.threshold,
					d->paths, d->npaths, d->terminating, d->nhw ? d->hw : NULL,
					d->nhw};
		int rc = upt_mb_targets_delegate(obj, &md, NULL);
		if (rc != UPT_OK)
			return rc;
	}
	return UPT_OK;
}

static int add_targets(scn *s, json_t *obj, const char *role)
{
	for (size_t i = 0; i < s->ntargets; i++) {
		const scn_target *t = &s->targets[i];
		if (strcmp(t->role, role) != 0)
			continue;
		upt_mb_target mt;
		memset(&mt, 0, sizeof(mt));
		mt.name = t->name;
		mt.length = t->length;
		mt.hashes = t->hashes;
		mt.hardware_ids = t->hw;
		mt.nhardware_ids = t->nhw;
		mt.has_release_counter = t->has_rc;
		mt.release_counter = t->rc;
		int rc = upt_mb_targets_add(obj, &mt, NULL);
		if (rc != UPT_OK)
			return rc;
	}
	return UPT_OK;
}

static int image_repo(scn *s)
{
	const char *dir = repo_dirs[SCN_IMAGE];
	const uint64_t *ver = s->version[SCN_IMAGE];
	const int64_t *exp = s->expires[SCN_IMAGE];
	upt_buf bytes[SCN_DELEGS_MAX + 1], sn;
	char names[SCN_DELEGS_MAX + 1][80];
	upt_mb_fileref f[SCN_DELEGS_MAX + 1];
	size_t n = 0;
	char member[256];
	int rc = UPT_OK;

	upt_buf_init(&sn, FILE_BUF_MAX);
	for (size_t i = 0; i <= SCN_DELEGS_MAX; i++)
		upt_buf_init(&bytes[i], FILE_BUF_MAX);

	json_t *obj = upt_mb_targets(UPT_ROLE_TARGETS, ver[SCN_TARGETS], exp[SCN_TARGETS], NULL);
	rc = add_targets(s, obj, "");
	if (rc == UPT_OK)
		rc = add_delegations(s, obj, "");
	snprintf(member, sizeof(member), "%stargets.json", dir);
	if (rc == UPT_OK)
		rc = emit(s, member, obj, &bytes[0]);
	else
		json_decref(obj);
	snprintf(names[n], sizeof(names[n]), "targets.json");
	f[n] = (upt_mb_fileref){names[n], ver[SCN_TARGETS], bytes[0].data, bytes[0].len};
	n++;
	for (size_t i = 0; i < s->ndelegs && rc == UPT_OK; i++) {
		const scn_deleg *d = &s->delegs[i];
		obj = upt_mb_targets(UPT_ROLE_TARGETS, d->version, d->expires, NULL);
		rc = add_targets(s, obj, d->name);
		if (rc == UPT_OK)
			rc = add_delegations(s, obj, d->name);
		snprintf(member, sizeof(member), "%sdelegations/%s.json", dir, d->name);
		if (rc == UPT_OK)
			rc = emit(s, member, obj, &bytes[i + 1]);
		else
			json_decref(obj);
		if (d->unlisted)
			continue;
		snprintf(names[n], sizeof(names[n]), "%s.json", d->name);
		f[n] = (upt_mb_fileref){names[n], d->version, bytes[i + 1].data, bytes[i + 1].len};
		n++;
	}
	snprintf(member, sizeof(member), "%ssnapshot.json", dir);
	if (rc == UPT_OK)
		rc = emit(s, member,
			  upt_mb_snapshot(UPT_ROLE_SNAPSHOT, ver[SCN_SNAPSHOT], exp[SCN_SNAPSHOT],
					  f, n, -1),
			  &sn);
	bool want_ts =
	    s->kind == SCN_FLEET ? s->image_timestamp_in_fleet : !s->omit_image_timestamp;
	if (rc == UPT_OK && want_ts) {
		upt_mb_fileref tf = {"snapshot.json", ver[SCN_SNAPSHOT], sn.data, sn.len};
		snprintf(member, sizeof(member), "%stimestamp.json", dir);
		rc = emit(s, member,
			  upt_mb_timestamp(ver[SCN_TIMESTAMP], exp[SCN_TIMESTAMP], &tf, -1), NULL);
	}
	for (size_t i = 0; i <= SCN_DELEGS_MAX; i++)
		upt_buf_clear(&bytes[i]);
	upt_buf_clear(&sn);
	return rc;
}

static int ship_roots(scn *s, enum scn_repo repo)
{
	char member[128];
	for (uint64_t v = s->ship_roots_from[repo]; v >= 1 && v <= s->nroots[repo]; v++) {
		snprintf(member, sizeof(member), "%s%llu.root.json", repo_dirs[repo],
			 (unsigned long long)v);
		int rc = scn_put(s, member, s->roots[repo][v].data, s->roots[repo][v].len);
		if (rc != UPT_OK)
			return rc;
	}
	return UPT_OK;
}

int scn_build(scn *s)
{
	files_clear(s);
	s->bundle.files = s->files;
	s->dev.necus = s->necus;
	upt_buf_init(&s->bundle.bundle_json, UPT_BUNDLE_JSON_MAX);
	int rc = upt_buf_append_str(&s->bundle.bundle_json,
				    "{\"format\":\"uptane-offline-bundle\",\"version\":1}", NULL);
	if (rc == UPT_OK)
		rc = ship_roots(s, SCN_DIRECTOR);
	if (rc == UPT_OK) {
		char prefix[160];
		switch (s->kind) {
		case SCN_DEVICE:
			rc = device_set(s, repo_dirs[SCN_DIRECTOR], s->device_id);
			break;
		case SCN_MULTI:
			if (!s->multi_without_self) {
				snprintf(prefix, sizeof(prefix), "%sdevices/%s/",
					 repo_dirs[SCN_DIRECTOR], s->device_id);
				rc = device_set(s, prefix, s->device_id);
			}
			for (size_t i = 0; i < s->nothers && rc == UPT_OK; i++) {
				snprintf(prefix, sizeof(prefix), "%sdevices/%s/",
					 repo_dirs[SCN_DIRECTOR], s->others[i]);
				rc = device_set(s, prefix, s->others[i]);
			}
			break;
		case SCN_FLEET:
			rc = fleet_set(s);
			break;
		}
	}
	if (rc == UPT_OK)
		rc = ship_roots(s, SCN_IMAGE);
	if (rc == UPT_OK)
		rc = image_repo(s);
	if (rc != UPT_OK)
		fprintf(stderr, "scenario: build failed (%d)\n", rc);
	return rc;
}

int scn_resign(scn *s, const char *member, void (*edit)(json_t *, long long), long long arg,
	       const scn_signers *sg)
{
	const upt_buf *b = scn_get(s, member);
	json_t *doc = NULL;
	if (!b)
		return UPT_E_NOT_FOUND;
	int rc = upt_json_parse(b->data, b->len, FILE_BUF_MAX, &doc, NULL);
	if (rc != UPT_OK)
		return rc;
	json_t *obj = json_incref(json_object_get(doc, "signed"));
	json_decref(doc);
	if (edit)
		edit(obj, arg);
	upt_buf out;
	scn_hook hook = s->hook;
	s->hook = NULL;
	if (sg) {
		scn_signers copy = *sg;
		rc = sign_into(s, member, obj, &copy, &out);
	} else {
		rc = sign_member(s, member, obj, &out);
	}
	s->hook = hook;
	json_decref(obj);
	if (rc == UPT_OK)
		rc = put_take(s, member, &out);
	upt_buf_clear(&out);
	return rc;
}

int scn_run(scn *s, upt_verify_result *r)
{
	upt_verify_input in = {&s->trust, &s->bundle, &s->dev, s->now};
	s->dev.necus = s->necus;
	return upt_verify(&in, r);
}

int scn_accept(scn *s)
{
	upt_verify_result r;
	int rc = scn_run(s, &r);
	if (rc != UPT_OK) {
		fprintf(stderr, "scenario: setup bundle rejected: %s: %s\n", r.err.file, r.err.msg);
	} else {
		upt_trust_clear(&s->trust);
		s->trust = r.trust_after;
		upt_trust_init(&r.trust_after);
	}
	upt_verify_result_clear(&r);
	return rc;
}

void scn_set_int(json_t *obj, const char *key, long long v)
{
	json_object_set_new(obj, key, json_integer(v));
}

void scn_set_time(json_t *obj, const char *key, int64_t t)
{
	char buf[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(t, buf);
	json_object_set_new(obj, key, json_string(buf));
}

static int write_file(const char *dir, const char *rel, const upt_buf *b)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	int rc = upt_mkdir_p(AT_FDCWD, path, 0755, NULL);
	*slash = '/';
	if (rc == UPT_OK)
		rc = upt_file_write_atomic(AT_FDCWD, path, b->data, b->len, 0644, NULL);
	return rc;
}

int scn_write(const scn *s, const char *dir)
{
	int rc = UPT_OK;
	for (size_t i = 0; i < s->bundle.nfiles && rc == UPT_OK; i++)
		rc = write_file(dir, s->files[i].path, &s->files[i].data);
	for (size_t i = 0; i < s->trust.nfiles && rc == UPT_OK; i++) {
		char rel[1100];
		snprintf(rel, sizeof(rel), "trusted/%s", s->trust.files[i].name);
		rc = write_file(dir, rel, &s->trust.files[i].data);
	}
	return rc;
}
