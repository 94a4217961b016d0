/*
 * verify_director: step 2 of docs/threat-model.md, the Director's instructions for this device.
 *   device bundles: timestamp -> snapshot -> targets (Uptane 5.4.4.4-5.4.4.6), deviceId, ECUs;
 *   fleet bundles (PURE-2): offline-snapshot -> the one offline-updates file -> targets bound
 *   by hardware id (and optionally device id), at most one per ECU.
 * Not responsible for the Image repository or for matching against it (verify_image.c).
 */
#include "verify_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/sig.h"

#define DEVICES VFY_DIRECTOR "devices/"
#define OFFLINE_UPDATES VFY_DIRECTOR "offline-updates/"

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A multi-device bundle's set for this device, or the list of devices it is for. */
static int select_device(vfy_ctx *c, char *intended, size_t isz)
{
	bool multi = c->b->nskipped > 0; /* other devices' members, skipped by the reader */
	for (size_t i = 0; i < c->b->nfiles; i++)
		if (starts(c->b->files[i].path, DEVICES))
			multi = true;
	if (!multi) {
		snprintf(c->ddir, sizeof(c->ddir), "%s", VFY_DIRECTOR);
		return UPT_OK;
	}
	const char *id = c->dev->device_id;
	if (upt_name_valid(id)) {
		snprintf(c->ddir, sizeof(c->ddir), "%s%s/", DEVICES, id);
		for (size_t i = 0; i < c->b->nfiles; i++)
			if (starts(c->b->files[i].path, c->ddir))
				return UPT_OK;
	}
	char list[512];
	snprintf(list, sizeof(list), "%s", c->b->skipped_devices);
	for (size_t i = 0; i < c->b->nfiles; i++) {
		const char *p = c->b->files[i].path;
		if (!starts(p, DEVICES) || !ends(p, "/targets.json"))
			continue;
		char other[UPT_NAME_MAX + 1];
		size_t n = strcspn(p + strlen(DEVICES), "/");
		if (n > UPT_NAME_MAX)
			continue;
		memcpy(other, p + strlen(DEVICES), n);
		other[n] = '\0';
		upt_namelist_add(list, sizeof(list), other);
	}
	snprintf(intended, isz, "devices %s", list);
	return upt_vfy_fail(c->e, UPT_E_NOT_FOR_DEVICE, NULL,
			    "not for this device: the bundle carries Director instructions for "
			    "devices %s, not %s",
			    list, id);
}

int upt_vfy_director_select(vfy_ctx *c, char *intended, size_t isz)
{
	if (c->fleet) {
		for (size_t i = 0; i < c->b->nfiles; i++) {
			const char *p = c->b->files[i].path;
			if (!starts(p, OFFLINE_UPDATES))
				continue;
			size_t n = strlen(p + strlen(OFFLINE_UPDATES)) - strlen(".json");
			if (n > UPT_NAME_MAX)
				break;
			memcpy(c->fleet_name, p + strlen(OFFLINE_UPDATES), n);
			c->fleet_name[n] = '\0';
			return UPT_OK;
		}
		return upt_vfy_fail(c->e, UPT_E_MALFORMED, NULL,
				    "malformed: fleet bundle without an offline-updates file");
	}
	int rc = select_device(c, intended, isz);
	if (rc != UPT_OK)
		return rc;

	char member[VFY_PATH_MAX];
	snprintf(member, sizeof(member), "%stargets.json", c->ddir);
	const upt_buf *bytes = upt_vfy_member(c->b, member);
	const upt_role_keys *role = upt_meta_role(c->droot, "targets");
	if (!bytes || !role)
		return UPT_OK;
	upt_meta *m = NULL;
	if (upt_meta_parse(bytes->data, bytes->len, UPT_ROLE_TARGETS, &m, NULL) != UPT_OK)
		return UPT_OK; /* step 2 reports it in order */
	rc = UPT_OK;
	/* parsing is a pure function of the bytes: step 2 reuses this (the largest file) */
	c->dtargets_parsed = m;
	if (m->device_id && strcmp(m->device_id, c->dev->device_id) != 0 &&
	    upt_sig_check_threshold(m, c->droot->keys, c->droot->nkeys, role, NULL, NULL) ==
		UPT_OK) {
		snprintf(intended, isz, "device %s", m->device_id);
		rc = upt_vfy_fail(c->e, UPT_E_NOT_FOR_DEVICE, member,
				  "not for this device: the Director signed these instructions for "
				  "device %s, this is %s",
				  m->device_id, c->dev->device_id);
	}
	return rc;
}

static int cmp_ecu(const void *a, const void *b)
{
	return strcmp((*(const upt_ecu_ident *const *)a)->serial,
		      (*(const upt_ecu_ident *const *)b)->serial);
}

static const upt_ecu_ident *find_ecu(const vfy_ctx *c, const char *serial)
{
	size_t lo = 0, hi = c->dev->necus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const upt_ecu_ident *e = c->ecu_order[mid];
		int d = strcmp(serial, e->serial);
		if (d == 0)
			return e;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool assigned(const vfy_ctx *c, const upt_ecu_ident *ecu)
{
	return c->ecu_used[ecu - c->dev->ecus];
}

static void assign(vfy_ctx *c, const upt_ecu_ident *ecu, const upt_target *t)
{
	c->ecu_used[ecu - c->dev->ecus] = true;
	c->as[c->nas].ecu = ecu;
	c->as[c->nas].dt = t;
	c->nas++;
}

static bool in_list(const char **list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static int alloc_assignments(vfy_ctx *c)
{
	size_t n = c->dev->necus ? c->dev->necus : 1;
	c->as = calloc(n, sizeof(*c->as));
	c->ecu_order = calloc(n, sizeof(*c->ecu_order));
	c->ecu_used = calloc(n, sizeof(*c->ecu_used));
	if (!c->as || !c->ecu_order || !c->ecu_used)
		return upt_err_set(c->e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < c->dev->necus; i++)
		c->ecu_order[i] = &c->dev->ecus[i];
	/* the ECU list is the caller's configuration, sorted once for lookups */
	qsort(c->ecu_order, c->dev->necus, sizeof(*c->ecu_order), cmp_ecu);
	return UPT_OK;
}

/* 5.4.4.6 step 5 (Uptane): every ECU the Director names exists on this device, once, with the
 * hardware id the device has. */
static int bind_device_targets(vfy_ctx *c)
{
	const upt_meta *m = c->dtargets;
	const char *member = c->dtargets_member;
	int rc = alloc_assignments(c);
	if (rc != UPT_OK)
		return rc;
	for (size_t i = 0; i < m->ntargets; i++) {
		const upt_target *t = &m->targets[i];
		if (!t->has_ecus || t->necus == 0)
			return upt_vfy_fail(c->e, UPT_E_MALFORMED, member,
					    "Director targets: malformed: target %s names no ECU "
					    "(custom.ecuIdentifiers)",
					    t->name);
		for (size_t j = 0; j < t->necus; j++) {
			const upt_ecu_binding *b = &t->ecus[j];
			const upt_ecu_ident *ecu = find_ecu(c, b->serial);
			if (!ecu)
				return upt_vfy_fail(
				    c->e, UPT_E_WRONG_ECU, member,
				    "Director targets: wrong-ecu: target %s is for ECU "
				    "%s, which this device (%s) does not have",
				    t->name, b->serial, c->dev->device_id);
			if (assigned(c, ecu))
				return upt_vfy_fail(
				    c->e, UPT_E_WRONG_ECU, member,
				    "Director targets: wrong-ecu: ECU %s is assigned "
				    "more than one target",
				    b->serial);
			if (strcmp(b->hardware_id, ecu->hardware_id) != 0)
				return upt_vfy_fail(
				    c->e, UPT_E_WRONG_HARDWARE, member,
				    "Director targets: wrong-hardware: target %s is "
				    "for hardware id %s, ECU %s is %s",
				    t->name, b->hardware_id, b->serial, ecu->hardware_id);
			assign(c, ecu, t);
		}
	}
	return UPT_OK;
}

/* A Director snapshot or targets file its pinner lists (5.4.4.5, 5.4.4.6): threshold of the
 * Director root's role_name, the version the pinner names (pinner_says: "the timestamp pins"),
 * not older than the trusted copy stored_name (*old: that copy, caller frees). */
static int director_role(vfy_ctx *c, const char *member, const char *what, const char *role_name,
			 const upt_meta *m, uint64_t pinned, const char *pinner_says,
			 const char *stored_name, upt_role_type type, upt_meta **old, bool *same)
{
	const upt_role_keys *role = NULL;
	int rc = upt_vfy_root_role(c->droot, "Director", role_name, member, &role, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_signed(member, what, m, c->droot, role, c->e);
	if (rc != UPT_OK)
		return rc;
	if (m->version != pinned)
		return upt_vfy_fail(c->e, UPT_E_MIX_AND_MATCH, member,
				    "%s: mix-and-match: version %" PRIu64 ", %s %" PRIu64, what,
				    m->version, pinner_says, pinned);
	rc = upt_vfy_stored(c->stored, stored_name, type, old, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_not_older(member, what, m, *old, same, c->e);
	return rc;
}

static int device_bundle(vfy_ctx *c, char *intended, size_t isz)
{
	char ts_member[VFY_PATH_MAX], sn_member[VFY_PATH_MAX];
	upt_meta *ts = NULL, *sn = NULL, *tg = NULL;
	upt_meta *old_sn = NULL, *old_tg = NULL;
	bool same_ts = false, same_sn = false, same_tg = false;
	const upt_buf *ts_bytes, *sn_bytes, *tg_bytes;
	int rc;

	snprintf(ts_member, sizeof(ts_member), "%stimestamp.json", c->ddir);
	snprintf(sn_member, sizeof(sn_member), "%ssnapshot.json", c->ddir);
	snprintf(c->dtargets_member, sizeof(c->dtargets_member), "%stargets.json", c->ddir);
	const char *tg_member = c->dtargets_member;
	ts_bytes = upt_vfy_member(c->b, ts_member);
	sn_bytes = upt_vfy_member(c->b, sn_member);
	tg_bytes = upt_vfy_member(c->b, tg_member);
	const char *missing = !ts_bytes	  ? ts_member
			      : !sn_bytes ? sn_member
			      : !tg_bytes ? tg_member
					  : NULL;
	if (missing)
		return upt_vfy_fail(c->e, UPT_E_MALFORMED, missing,
				    "malformed: device bundle without %s", missing);

	/* 5.4.4.4: Director timestamp: threshold, not older than trusted, not expired */
	const upt_fileinfo *fi = NULL;
	rc =
	    upt_vfy_timestamp(ts_member, "Director timestamp", "Director", ts_bytes, c->droot,
			      c->stored, "director/timestamp.json", c->t, &ts, &fi, &same_ts, c->e);
	if (rc != UPT_OK)
		goto out;
	upt_vfy_raise_time(c, ts);

	/* 5.4.4.5: Director snapshot: as the timestamp pins it, threshold, no rollback, fresh */
	rc = upt_vfy_pinned(sn_member, "Director snapshot", sn_bytes, fi, "the Director timestamp",
			    c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_parse(sn_member, "Director snapshot", sn_bytes, UPT_ROLE_SNAPSHOT, &sn,
				   c->e);
	if (rc == UPT_OK)
		rc = director_role(c, sn_member, "Director snapshot", "snapshot", sn, fi->version,
				   "the timestamp pins", "director/snapshot.json",
				   UPT_ROLE_SNAPSHOT, &old_sn, &same_sn);
	if (rc == UPT_OK)
		rc = upt_vfy_listing_not_older(sn_member, "Director snapshot", sn, old_sn, false,
					       c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_fresh(sn_member, "Director snapshot", sn, c->t, c->e);
	if (rc != UPT_OK)
		goto out;
	for (size_t i = 0; i < sn->nfiles; i++)
		if (strcmp(sn->files[i].name, "targets.json") != 0) {
			/* a Director has no delegations: nothing else can be in the bundle */
			rc =
			    upt_vfy_fail(c->e, UPT_E_MALFORMED, sn_member,
					 "Director snapshot: malformed: lists %s, which the bundle "
					 "does not carry",
					 sn->files[i].name);
			goto out;
		}

	/* 5.4.4.6: Director targets */
	const upt_fileinfo *tfi = upt_meta_file(sn, "targets.json");
	if (!tfi) {
		rc = upt_vfy_fail(c->e, UPT_E_MIX_AND_MATCH, tg_member,
				  "Director targets: mix-and-match: the Director snapshot does not "
				  "list targets.json");
		goto out;
	}
	rc = upt_vfy_pinned(tg_member, "Director targets", tg_bytes, tfi, "the Director snapshot",
			    c->e);
	if (rc == UPT_OK && c->dtargets_parsed) {
		tg = c->dtargets_parsed;
		c->dtargets_parsed = NULL;
	} else if (rc == UPT_OK) {
		rc = upt_vfy_parse(tg_member, "Director targets", tg_bytes, UPT_ROLE_TARGETS, &tg,
				   c->e);
	}
	if (rc == UPT_OK)
		rc = director_role(c, tg_member, "Director targets", "targets", tg, tfi->version,
				   "the Director snapshot lists", "director/targets.json",
				   UPT_ROLE_TARGETS, &old_tg, &same_tg);
	if (rc == UPT_OK)
		rc = upt_vfy_fresh(tg_member, "Director targets", tg, c->t, c->e);
	if (rc != UPT_OK)
		goto out;
	if (tg->has_delegations) {
		rc = upt_vfy_fail(c->e, UPT_E_MALFORMED, tg_member,
				  "Director targets: malformed: the Director may not delegate");
		goto out;
	}
	/* 5.2.3.1: the vehicle identifier stops an empty targets file being replayed elsewhere */
	if (!tg->device_id) {
		rc = upt_vfy_fail(c->e, UPT_E_MALFORMED, tg_member,
				  "Director targets: malformed: no deviceId");
		goto out;
	}
	if (strcmp(tg->device_id, c->dev->device_id) != 0) {
		snprintf(intended, isz, "device %s", tg->device_id);
		rc = upt_vfy_fail(c->e, UPT_E_NOT_FOR_DEVICE, tg_member,
				  "not for this device: the Director signed these instructions for "
				  "device %s, this is %s",
				  tg->device_id, c->dev->device_id);
		goto out;
	}
	c->dtargets = tg;
	tg = NULL;
	rc = bind_device_targets(c);
	if (rc == UPT_OK)
		rc = upt_vfy_keep(c->next, "director/timestamp.json", ts_bytes, same_ts, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_keep(c->next, "director/snapshot.json", sn_bytes, same_sn, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_keep(c->next, "director/targets.json", tg_bytes, same_tg, c->e);
out:
	upt_meta_free(ts);
	upt_meta_free(sn);
	upt_meta_free(tg);
	upt_meta_free(old_sn);
	upt_meta_free(old_tg);
	return rc;
}

/* PURE-2: targets bound by hardware id (and optionally device id); at most one per ECU. */
static int bind_fleet_targets(vfy_ctx *c, char *intended, size_t isz)
{
	const upt_meta *m = c->dtargets;
	const char *member = c->dtargets_member;
	char hw[256] = "", devs[256] = "";
	int rc = alloc_assignments(c);
	if (rc != UPT_OK)
		return rc;
	for (size_t i = 0; i < m->ntargets; i++) {
		const upt_target *t = &m->targets[i];
		if (!t->has_hardware_ids || t->nhardware_ids == 0)
			return upt_vfy_fail(
			    c->e, UPT_E_MALFORMED, member,
			    "offline-updates: malformed: target %s names no hardware "
			    "id (custom.hardwareIds)",
			    t->name);
		if (t->has_device_ids &&
		    !in_list(t->device_ids, t->ndevice_ids, c->dev->device_id)) {
			for (size_t j = 0; j < t->ndevice_ids; j++)
				upt_namelist_add(devs, sizeof(devs), t->device_ids[j]);
			continue;
		}
		bool any = false;
		for (size_t j = 0; j < c->dev->necus; j++) {
			const upt_ecu_ident *ecu = &c->dev->ecus[j];
			if (!in_list(t->hardware_ids, t->nhardware_ids, ecu->hardware_id))
				continue;
			if (assigned(c, ecu))
				return upt_vfy_fail(
				    c->e, UPT_E_WRONG_ECU, member,
				    "offline-updates: wrong-ecu: more than one target "
				    "for ECU %s (hardware id %s)",
				    ecu->serial, ecu->hardware_id);
			assign(c, ecu, t);
			any = true;
		}
		if (!any)
			for (size_t j = 0; j < t->nhardware_ids; j++)
				upt_namelist_add(hw, sizeof(hw), t->hardware_ids[j]);
	}
	if (c->nas > 0)
		return UPT_OK;
	if (!hw[0] && !devs[0])
		snprintf(intended, isz, "no device (fleet %s lists no targets)", c->fleet_name);
	else
		snprintf(intended, isz, "%s%s%s%s%s", hw[0] ? "hardware ids " : "", hw,
			 hw[0] && devs[0] ? "; " : "", devs[0] ? "devices " : "", devs);
	return upt_vfy_fail(c->e, UPT_E_NOT_FOR_DEVICE, member,
			    "not for this device: fleet %s is for %s", c->fleet_name, intended);
}

static int fleet_bundle(vfy_ctx *c, char *intended, size_t isz)
{
	const char *sn_member = VFY_DIRECTOR "offline-snapshot.json";
	char fname[UPT_NAME_MAX + 8];
	char stored_name[UPT_NAME_MAX + 64];
	upt_meta *sn = NULL, *ou = NULL, *old_sn = NULL, *old_ou = NULL;
	bool same_sn = false, same_ou = false;
	const upt_role_keys *role = NULL;
	int rc;

	snprintf(c->dtargets_member, sizeof(c->dtargets_member), "%s%s.json", OFFLINE_UPDATES,
		 c->fleet_name);
	snprintf(fname, sizeof(fname), "%s.json", c->fleet_name);
	snprintf(stored_name, sizeof(stored_name), "director/offline-updates/%s.json",
		 c->fleet_name);
	const char *ou_member = c->dtargets_member;
	const upt_buf *sn_bytes = upt_vfy_member(c->b, sn_member);
	const upt_buf *ou_bytes = upt_vfy_member(c->b, ou_member);
	if (!sn_bytes || !ou_bytes)
		return upt_vfy_fail(c->e, UPT_E_MALFORMED, sn_bytes ? ou_member : sn_member,
				    "malformed: fleet bundle without %s",
				    sn_bytes ? ou_member : sn_member);

	/* PURE-2: the offline snapshot, signed by the role the Director root declares for it */
	rc = upt_vfy_parse(sn_member, "offline-snapshot", sn_bytes, UPT_ROLE_OFFLINE_SNAPSHOT, &sn,
			   c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_root_role(c->droot, "Director", "offline-snapshot", sn_member, &role,
				       c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_signed(sn_member, "offline-snapshot", sn, c->droot, role, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_stored(c->stored, "director/offline-snapshot.json",
				    UPT_ROLE_OFFLINE_SNAPSHOT, &old_sn, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_not_older(sn_member, "offline-snapshot", sn, old_sn, &same_sn, c->e);
	/* dropping a fleet's file from the offline snapshot is how a fleet bundle is revoked */
	if (rc == UPT_OK)
		rc = upt_vfy_listing_not_older(sn_member, "offline-snapshot", sn, old_sn, true,
					       c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_fresh(sn_member, "offline-snapshot", sn, c->t, c->e);
	if (rc != UPT_OK)
		goto out;
	upt_vfy_raise_time(c, sn);

	/* the one offline-updates file, pinned by the offline snapshot */
	const upt_fileinfo *fi = upt_meta_file(sn, fname);
	if (!fi) {
		rc = upt_vfy_fail(c->e, UPT_E_MIX_AND_MATCH, ou_member,
				  "offline-updates: mix-and-match: fleet %s is not in the offline "
				  "snapshot (version %" PRIu64 ")",
				  c->fleet_name, sn->version);
		goto out;
	}
	rc = upt_vfy_pinned(ou_member, "offline-updates", ou_bytes, fi, "the offline snapshot",
			    c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_parse(ou_member, "offline-updates", ou_bytes, UPT_ROLE_OFFLINE_UPDATES,
				   &ou, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_root_role(c->droot, "Director", "offline-updates", ou_member, &role,
				       c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_signed(ou_member, "offline-updates", ou, c->droot, role, c->e);
	if (rc != UPT_OK)
		goto out;
	if (ou->version != fi->version) {
		rc = upt_vfy_fail(c->e, UPT_E_MIX_AND_MATCH, ou_member,
				  "offline-updates: mix-and-match: version %" PRIu64
				  ", the offline snapshot lists %" PRIu64,
				  ou->version, fi->version);
		goto out;
	}
	rc = upt_vfy_stored(c->stored, stored_name, UPT_ROLE_OFFLINE_UPDATES, &old_ou, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_not_older(ou_member, "offline-updates", ou, old_ou, &same_ou, c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_fresh(ou_member, "offline-updates", ou, c->t, c->e);
	if (rc != UPT_OK)
		goto out;
	if (ou->has_delegations) {
		rc = upt_vfy_fail(c->e, UPT_E_MALFORMED, ou_member,
				  "offline-updates: malformed: the Director may not delegate");
		goto out;
	}
	c->dtargets = ou;
	ou = NULL;
	rc = bind_fleet_targets(c, intended, isz);
	if (rc == UPT_OK)
		rc = upt_vfy_keep(c->next, "director/offline-snapshot.json", sn_bytes, same_sn,
				  c->e);
	if (rc == UPT_OK)
		rc = upt_vfy_keep(c->next, stored_name, ou_bytes, same_ou, c->e);
out:
	upt_meta_free(sn);
	upt_meta_free(ou);
	upt_meta_free(old_sn);
	upt_meta_free(old_ou);
	return rc;
}

int upt_vfy_director(vfy_ctx *c, char *intended, size_t isz)
{
	return c->fleet ? fleet_bundle(c, intended, isz) : device_bundle(c, intended, isz);
}
