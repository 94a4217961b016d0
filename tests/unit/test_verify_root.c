/*
 * Unit tests of the verification engine, step 1: the roots (rotation chains, thresholds,
 * expiry) and what a key rotation makes the device forget (fast-forward recovery). One
 * scenario per attack or fault, generated with the scenario generator (our own metabuild
 * signing), each asserting the rejection class, the failing member, and that the returned
 * trust_after is the input state byte for byte except the root versions accepted in step 1.
 * Valid scenarios assert the assignments and the new trusted state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/fuzz_format.h"
#include "scenario.h"
#include "upt/fileio.h"
#include "upt/cjson.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "verify_cases.h"

/* ---- step 1: roots ---- */

static void root_missing_director(void **st)
{
	scn *s = *st;
	build(s);
	upt_trust_remove(&s->trust, "director/root.json");
	upt_verify_result r;
	assert_int_equal(scn_run(s, &r), UPT_E_CONFIG);
	assert_int_equal(upt_err_exit_status(r.code), 2);
	assert_true(upt_trust_equal(&r.trust_after, &s->trust));
	upt_verify_result_clear(&r);
}

static void root_missing_image(void **st)
{
	scn *s = *st;
	build(s);
	upt_trust_remove(&s->trust, "image-repo/root.json");
	upt_verify_result r;
	assert_int_equal(scn_run(s, &r), UPT_E_CONFIG);
	assert_true(upt_trust_equal(&r.trust_after, &s->trust));
	upt_verify_result_clear(&r);
}

static void root_trusted_garbage(void **st)
{
	scn *s = *st;
	build(s);
	assert_int_equal(upt_trust_set(&s->trust, "director/root.json", "{\"x\":1}", 7, NULL),
			 UPT_OK);
	upt_verify_result r;
	assert_int_equal(scn_run(s, &r), UPT_E_UNTRUSTED_ROOT);
	assert_true(upt_trust_equal(&r.trust_after, &s->trust));
	upt_verify_result_clear(&r);
}

static void root_trusted_not_self_signed(void **st)
{
	scn *s = *st;
	/* a provisioned root nobody with its root keys signed */
	s->hook = hook_member_signer;
	s->hook_member = DIR_ "2.root.json";
	s->hook_arg = (long long)pool_index(s, s->role[SCN_IMAGE][SCN_TARGETS].k[0]);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->hook = NULL;
	assert_int_equal(scn_trust_root(s, SCN_DIRECTOR, 2), UPT_OK);
	build(s);
	upt_verify_result r;
	assert_int_equal(scn_run(s, &r), UPT_E_UNTRUSTED_ROOT);
	assert_true(upt_trust_equal(&r.trust_after, &s->trust));
	upt_verify_result_clear(&r);
}

/* A bundle from another Director: its own root chain does not chain to ours. */
static void root_foreign_director(void **st)
{
	scn *s = *st;
	scn_keys mine = s->role[SCN_DIRECTOR][SCN_ROOT];
	for (int r = 0; r < SCN_ROLES; r++) {
		s->role[SCN_DIRECTOR][r].k[0] = scn_key(s);
	}
	/* the foreign v2 root is signed only by the foreign keys */
	s->root_keys_at[SCN_DIRECTOR][1] = s->role[SCN_DIRECTOR][SCN_ROOT];
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	(void)mine;
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, DIR_ "2.root.json");
}

/* ...and without a root file at all: the foreign keys sign nothing we trust. */
static void root_foreign_no_rotation(void **st)
{
	scn *s = *st;
	for (int r = 1; r < SCN_ROLES; r++)
		s->role[SCN_DIRECTOR][r].k[0] = scn_key(s);
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, DIR_ "timestamp.json");
}

static void root_rotation_valid(void **st)
{
	scn *s = *st;
	rotate_keys(s, SCN_DIRECTOR, SCN_ROOT);
	rotate_keys(s, SCN_DIRECTOR, SCN_TARGETS);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	rotate_keys(s, SCN_IMAGE, SCN_ROOT);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	rotate_keys(s, SCN_IMAGE, SCN_ROOT);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(r.roots_changed);
	assert_int_equal(root_version(&r.trust_after, SCN_DIRECTOR), 2);
	assert_int_equal(root_version(&r.trust_after, SCN_IMAGE), 3);
	assert_true(upt_buf_equal(upt_trust_get(&r.trust_after, "image-repo/root.json"),
				  &s->roots[SCN_IMAGE][3]));
	assert_int_equal(r.nassignments, 2);
	upt_verify_result_clear(&r);
}

static void root_only_old_keys(void **st)
{
	scn *s = *st;
	upt_signer *old = s->role[SCN_DIRECTOR][SCN_ROOT].k[0];
	rotate_keys(s, SCN_DIRECTOR, SCN_ROOT);
	s->hook = hook_member_signer;
	s->hook_member = DIR_ "2.root.json";
	s->hook_arg = (long long)pool_index(s, old);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->hook = NULL;
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, DIR_ "2.root.json");
}

static void root_only_new_keys(void **st)
{
	scn *s = *st;
	rotate_keys(s, SCN_DIRECTOR, SCN_ROOT);
	s->hook = hook_member_signer;
	s->hook_member = DIR_ "2.root.json";
	s->hook_arg = (long long)pool_index(s, s->role[SCN_DIRECTOR][SCN_ROOT].k[0]);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->hook = NULL;
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, DIR_ "2.root.json");
}

/* v2 raises the root threshold to 2 but only one of its keys signs */
static void root_threshold_bump_unmet(void **st)
{
	scn *s = *st;
	scn_keys *k = &s->role[SCN_IMAGE][SCN_ROOT];
	k->k[k->n++] = scn_key(s);
	k->threshold = 2;
	s->hook = hook_drop_last_signer;
	s->hook_member = IMG_ "2.root.json";
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	s->hook = NULL;
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, IMG_ "2.root.json");
}

static void root_threshold_bump_ok(void **st)
{
	scn *s = *st;
	scn_keys *k = &s->role[SCN_IMAGE][SCN_ROOT];
	k->k[k->n++] = scn_key(s);
	k->threshold = 2;
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(root_version(&r.trust_after, SCN_IMAGE), 2);
	upt_verify_result_clear(&r);
}

/* v1 needs 2 root keys; v2 lowers it to 1 but carries only one old signature */
static void root_threshold_decrease_unmet(void **st)
{
	scn *s = *st;
	scn_keys *k = &s->role[SCN_DIRECTOR][SCN_ROOT];
	k->k[k->n++] = scn_key(s);
	k->threshold = 2;
	assert_int_equal(scn_reset_roots(s), UPT_OK);
	k->threshold = 1;
	/* signers of v2: old keys (2), then new (1, the same first key): drop the second old */
	s->hook = hook_keep_first_signer;
	s->hook_member = DIR_ "2.root.json";
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->hook = NULL;
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, DIR_ "2.root.json");
}

static void root_threshold_decrease_ok(void **st)
{
	scn *s = *st;
	scn_keys *k = &s->role[SCN_DIRECTOR][SCN_ROOT];
	k->k[k->n++] = scn_key(s);
	k->threshold = 2;
	assert_int_equal(scn_reset_roots(s), UPT_OK);
	k->threshold = 1;
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(root_version(&r.trust_after, SCN_DIRECTOR), 2);
	upt_verify_result_clear(&r);
}

static void root_version_skip(void **st)
{
	scn *s = *st;
	s->hook = hook_member_version;
	s->hook_member = DIR_ "2.root.json";
	s->hook_arg = 3;
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->hook = NULL;
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "2.root.json");
}

static void root_version_repeat(void **st)
{
	scn *s = *st;
	s->hook = hook_member_version;
	s->hook_member = IMG_ "2.root.json";
	s->hook_arg = 1;
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	s->hook = NULL;
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "2.root.json");
}

static void root_final_expired(void **st)
{
	scn *s = *st;
	s->root_expires[SCN_DIRECTOR] = s->now - 1;
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	build(s);
	/* v2 verified and is kept (TUF persists it at once), then the chain ends expired */
	expect_roots(s, UPT_E_FREEZE, DIR_ "2.root.json", 2, 0);
}

static void root_intermediate_expired(void **st)
{
	scn *s = *st;
	s->root_expires[SCN_IMAGE] = s->now - 1;
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	s->root_expires[SCN_IMAGE] = s->now + 100 * SCN_DAY;
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(root_version(&r.trust_after, SCN_IMAGE), 3);
	upt_verify_result_clear(&r);
}

static void root_trusted_expired(void **st)
{
	scn *s = *st;
	build(s);
	s->now = s->now + 400 * SCN_DAY;
	expect(s, UPT_E_FREEZE, DIR_ "1.root.json");
}

static void root_chain_partial(void **st)
{
	scn *s = *st;
	rotate_keys(s, SCN_IMAGE, SCN_ROOT);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	/* v3 is signed by a key no root names */
	s->hook = hook_member_signer;
	s->hook_member = IMG_ "3.root.json";
	s->hook_arg = (long long)pool_index(s, s->role[SCN_DIRECTOR][SCN_TARGETS].k[0]);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	s->hook = NULL;
	build(s);
	expect_roots(s, UPT_E_ARBITRARY_SOFTWARE, IMG_ "3.root.json", 0, 2);
}

static void root_old_versions_ignored(void **st)
{
	scn *s = *st;
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	assert_int_equal(scn_trust_root(s, SCN_DIRECTOR, 2), UPT_OK);
	build(s);
	/* a damaged copy of version 1: at or below the trusted version, never read */
	assert_int_equal(scn_put(s, DIR_ "1.root.json", "garbage", 7), UPT_OK);
	upt_verify_result r;
	run_ok(s, &r);
	assert_false(r.roots_changed);
	upt_verify_result_clear(&r);
}

static void root_chain_cap(void **st)
{
	scn *s = *st;
	build(s);
	/* UPT_ROOT_CHAIN_MAX + 1 root files (contents never looked at) */
	static upt_bundle_file many[UPT_ROOT_CHAIN_MAX + SCN_FILES_MAX];
	static char names[UPT_ROOT_CHAIN_MAX + SCN_FILES_MAX][48];
	size_t n = 0;
	for (size_t i = 0; i < s->bundle.nfiles; i++)
		many[n++] = s->files[i];
	for (unsigned v = 2; v <= UPT_ROOT_CHAIN_MAX + 1; v++) {
		snprintf(names[n], sizeof(names[n]), IMG_ "%u.root.json", v);
		many[n].path = names[n];
		upt_buf_init(&many[n].data, 16);
		n++;
	}
	upt_bundle_meta big = {.bundle_json = s->bundle.bundle_json, .files = many, .nfiles = n};
	upt_verify_input in = {&s->trust, &big, &s->dev, s->now};
	upt_verify_result r;
	assert_int_equal(upt_verify(&in, &r), UPT_E_TOO_LARGE);
	assert_true(upt_trust_equal(&r.trust_after, &s->trust));
	upt_verify_result_clear(&r);
}

/* ---- fast-forward recovery and what a rotation forgets ---- */

static void ff_recovery_director(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 5, 5, 5);
	accept_bundle(s);
	/* the timestamp key was compromised and pushed versions up; the owners rotate it */
	rotate_keys(s, SCN_DIRECTOR, SCN_TIMESTAMP);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	set_versions(s, SCN_DIRECTOR, 1, 1, 5);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(upt_buf_equal(upt_trust_get(&r.trust_after, "director/timestamp.json"),
				  scn_get(s, DIR_ "timestamp.json")));
	upt_verify_result_clear(&r);
}

static void ff_no_rotation_is_rollback(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 5, 5, 5);
	accept_bundle(s);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK); /* same keys */
	set_versions(s, SCN_DIRECTOR, 1, 1, 5);
	build(s);
	expect_roots(s, UPT_E_ROLLBACK, DIR_ "timestamp.json", 2, 0);
}

/* the forgets happen in step 1 and persist even when the bundle is then refused */
static void ff_forget_on_rejection(void **st)
{
	scn *s = *st;
	accept_bundle(s);
	rotate_keys(s, SCN_IMAGE, SCN_SNAPSHOT);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	s->expires[SCN_DIRECTOR][SCN_TARGETS] = s->now - 1;
	set_versions(s, SCN_DIRECTOR, 2, 2, 2);
	build(s);
	upt_trust want;
	upt_trust_init(&want);
	assert_int_equal(upt_trust_copy(&want, &s->trust, NULL), UPT_OK);
	upt_trust_remove(&want, "image-repo/timestamp.json");
	upt_trust_remove(&want, "image-repo/snapshot.json");
	upt_verify_result r;
	expect_full(s, &want, UPT_E_FREEZE, DIR_ "targets.json", 0, 2, &r);
	assert_true(has(&r.trust_after, "image-repo/targets.json"));
	assert_true(has(&r.trust_after, "director/timestamp.json"));
	upt_verify_result_clear(&r);
	upt_trust_clear(&want);
}

/* a bundle that verifies also returns what step 1 alone accepted: the installer keeps exactly
 * that when an image then fails (the same state a rejection would leave) */
static void ff_roots_only_on_success(void **st)
{
	scn *s = *st;
	accept_bundle(s);
	rotate_keys(s, SCN_IMAGE, SCN_SNAPSHOT);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	set_versions(s, SCN_DIRECTOR, 2, 2, 2);
	build(s);
	upt_trust want;
	upt_trust_init(&want);
	assert_int_equal(upt_trust_copy(&want, &s->trust, NULL), UPT_OK);
	upt_trust_remove(&want, "image-repo/timestamp.json");
	upt_trust_remove(&want, "image-repo/snapshot.json");
	upt_verify_result r;
	run_ok(s, &r);
	assert_state(s, &want, &r.trust_roots_only, 0, 2);
	assert_int_equal(r.trust_roots_only.time_floor, s->trust.time_floor);
	assert_true(has(&r.trust_roots_only, "director/timestamp.json"));
	/* the full result moved on: the new Director timestamp and the new snapshot */
	assert_false(upt_buf_equal(upt_trust_get(&r.trust_after, "director/timestamp.json"),
				   upt_trust_get(&r.trust_roots_only, "director/timestamp.json")));
	assert_true(has(&r.trust_after, "image-repo/snapshot.json"));
	upt_verify_result_clear(&r);
	upt_trust_clear(&want);
}

/* a threshold change alone forgets nothing */
static void ff_threshold_only(void **st)
{
	scn *s = *st;
	scn_keys *k = &s->role[SCN_DIRECTOR][SCN_TIMESTAMP];
	k->k[k->n++] = scn_key(s);
	assert_int_equal(scn_reset_roots(s), UPT_OK);
	set_versions(s, SCN_DIRECTOR, 5, 5, 5);
	accept_bundle(s);
	k->threshold = 2;
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	set_versions(s, SCN_DIRECTOR, 1, 1, 5);
	build(s);
	expect_roots(s, UPT_E_ROLLBACK, DIR_ "timestamp.json", 2, 0);
}

static void ff_targets_key_forgets_nothing(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_IMAGE, 5, 5, 5);
	accept_bundle(s);
	rotate_keys(s, SCN_IMAGE, SCN_TARGETS);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	set_versions(s, SCN_IMAGE, 1, 1, 6);
	build(s);
	expect_roots(s, UPT_E_ROLLBACK, IMG_ "timestamp.json", 0, 2);
}

static void ff_offline_snapshot_key(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 9;
	accept_bundle(s);
	rotate_keys(s, SCN_DIRECTOR, SCN_OFFSNAP);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 1;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(upt_buf_equal(upt_trust_get(&r.trust_after, "director/offline-snapshot.json"),
				  scn_get(s, OFFSNAP)));
	upt_verify_result_clear(&r);
}

static void ff_offline_snapshot_without_rotation(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 9;
	accept_bundle(s);
	rotate_keys(s, SCN_DIRECTOR, SCN_OFFUPD);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 1;
	build(s);
	expect_roots(s, UPT_E_ROLLBACK, OFFSNAP, 2, 0);
}

/* the Director's device timestamp key rotation leaves the fleet channel's state alone */
static void ff_device_keys_keep_offline(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 9;
	accept_bundle(s);
	rotate_keys(s, SCN_DIRECTOR, SCN_TIMESTAMP);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 1;
	build(s);
	expect_roots(s, UPT_E_ROLLBACK, OFFSNAP, 2, 0);
}

/* ---- more roots and walks ---- */

static void rollback_image_snapshot_pinned(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_IMAGE, 2, 2, 1);
	accept_bundle(s);
	set_versions(s, SCN_IMAGE, 3, 1, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "timestamp.json");
}

/* a rotation that removes the offline roles ends fleet bundles */
static void fleet_roles_removed_by_rotation(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->offline_roles = false;
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	build(s);
	expect_roots(s, UPT_E_ARBITRARY_SOFTWARE, OFFSNAP, 2, 0);
}

/* N+1 missing: the chain stops at N (TUF 5.3.3), a later file is never read */
static void root_chain_gap(void **st)
{
	scn *s = *st;
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	build(s);
	scn_drop(s, DIR_ "2.root.json");
	upt_verify_result r;
	run_ok(s, &r);
	assert_false(r.roots_changed);
	assert_int_equal(root_version(&r.trust_after, SCN_DIRECTOR), 1);
	upt_verify_result_clear(&r);
}

/* only the final root's expiry matters: an expired trusted root is rotated away */
static void root_trusted_expired_rotated(void **st)
{
	scn *s = *st;
	s->root_expires[SCN_IMAGE] = s->now - SCN_DAY;
	assert_int_equal(scn_reset_roots(s), UPT_OK);
	s->root_expires[SCN_IMAGE] = s->now + 100 * SCN_DAY;
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(root_version(&r.trust_after, SCN_IMAGE), 2);
	upt_verify_result_clear(&r);
}

/* a role reached through two delegating files is verified with the keys of the one the
 * search came through: the first-listed parent names a key that did not sign it */
static void e_c_wrong_key_under_a(scn *s, json_t *o)
{
	json_t *roles = json_object_get(json_object_get(o, "delegations"), "roles");
	json_t *keys = json_object_get(json_object_get(o, "delegations"), "keys");
	upt_signer *k = scn_key(s);
	upt_key pub = *upt_signer_key(k);
	json_t *kobj = upt_key_to_json(&pub);
	json_object_set_new(keys, pub.keyid, kobj);
	json_t *ids = json_object_get(json_array_get(roles, 0), "keyids");
	json_array_clear(ids);
	json_array_append_new(ids, json_string(pub.keyid));
}

static void deleg_parent_keys(scn *s)
{
	scn_deleg_add(s, "role-a", NULL, "shared/*");
	scn_deleg_add(s, "role-b", NULL, "shared/*");
	scn_deleg *c = scn_deleg_add(s, "role-c", "role-a", "shared/*");
	scn_deleg *c2 = scn_deleg_add(s, "role-c", "role-b", "shared/*");
	c2->keys = c->keys; /* the same role file (emitted twice, identical), delegated by both */
	scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-c");
	scn_assign_add(s, "shared/x.bin", "sensor-01", "sensor-y");
}

static void deleg_parent_keys_first_wrong(void **st)
{
	scn *s = *st;
	deleg_parent_keys(s);
	edit(s, IMG_ "delegations/role-a.json", e_c_wrong_key_under_a);
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, IMG_ "delegations/role-c.json");
}

static void deleg_parent_keys_ok(void **st)
{
	scn *s = *st;
	deleg_parent_keys(s);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(has(&r.trust_after, "image-repo/delegations/role-c.json"));
	upt_verify_result_clear(&r);
}

/* a delegation to a role named like a top-level role is refused */
static void e_delegate_to_snapshot(scn *s, json_t *o)
{
	upt_key k = *upt_signer_key(scn_key(s));
	const char *path = "supplier/*";
	upt_mb_delegation d = {"snapshot", &k, 1, 1, &path, 1, false, NULL, 0};
	json_t *roles = json_object_get(json_object_get(o, "delegations"), "roles");
	json_array_clear(roles);
	assert_int_equal(upt_mb_targets_delegate(o, &d, NULL), UPT_OK);
}

static void deleg_reserved_name(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	edit(s, IMG_ "targets.json", e_delegate_to_snapshot);
	build(s);
	expect(s, UPT_E_MALFORMED, IMG_ "targets.json");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(root_missing_director),
	    T(root_missing_image),
	    T(root_trusted_garbage),
	    T(root_trusted_not_self_signed),
	    T(root_foreign_director),
	    T(root_foreign_no_rotation),
	    T(root_rotation_valid),
	    T(root_only_old_keys),
	    T(root_only_new_keys),
	    T(root_threshold_bump_unmet),
	    T(root_threshold_bump_ok),
	    T(root_threshold_decrease_unmet),
	    T(root_threshold_decrease_ok),
	    T(root_version_skip),
	    T(root_version_repeat),
	    T(root_final_expired),
	    T(root_intermediate_expired),
	    T(root_trusted_expired),
	    T(root_chain_partial),
	    T(root_old_versions_ignored),
	    T(root_chain_cap),
	    T(ff_recovery_director),
	    T(ff_no_rotation_is_rollback),
	    T(ff_forget_on_rejection),
	    T(ff_roots_only_on_success),
	    T(ff_threshold_only),
	    T(ff_targets_key_forgets_nothing),
	    T(ff_offline_snapshot_key),
	    T(ff_offline_snapshot_without_rotation),
	    T(ff_device_keys_keep_offline),
	    T(rollback_image_snapshot_pinned),
	    T(fleet_roles_removed_by_rotation),
	    T(root_chain_gap),
	    T(root_trusted_expired_rotated),
	    T(deleg_parent_keys_first_wrong),
	    T(deleg_parent_keys_ok),
	    T(deleg_reserved_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
