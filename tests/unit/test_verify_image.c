/*
 * Unit tests of the verification engine, steps 3 and 4: the Image repository (snapshots,
 * delegations: order, terminating, cycles, patterns, hardware ids) and its match with the
 * Director. One scenario per attack or fault, generated with the scenario generator (our own
 * metabuild signing), each asserting the rejection class, the failing member, and that the
 * returned trust_after is the input state byte for byte except the root versions accepted in
 * step 1. Valid scenarios assert the assignments and the new trusted state.
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

/* ---- files dropped from a snapshot ---- */

static void image_snapshot_drops_role(void **st)
{
	scn *s = *st;
	accept_bundle(s);
	/* the next Image snapshot no longer lists supplier.json */
	scn_deleg_get(s, "supplier")->unlisted = true;
	set_versions(s, SCN_IMAGE, 2, 2, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "snapshot.json");
}

static void director_snapshot_drops_targets(void **st)
{
	scn *s = *st;
	accept_bundle(s);
	set_versions(s, SCN_DIRECTOR, 2, 2, 1);
	edit(s, DIR_ "snapshot.json", e_drop_targets_entry);
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "snapshot.json");
}

/* ---- step 4: Director against Image repository ---- */

static void e_main_hash(scn *s, json_t *o)
{
	(void)s;
	json_object_set_new(
	    json_object_get(dtarget(o, "main-fw-1.bin"), "hashes"), "sha256",
	    json_string("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"));
}

static void match_hash_differs(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_main_hash);
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void e_main_length(scn *s, json_t *o)
{
	(void)s;
	json_object_set_new(dtarget(o, "main-fw-1.bin"), "length", json_integer(5));
}

static void match_length_differs(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_main_length);
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

/* the Image repository lists sha512 as well; the Director only sha256 */
static void e_drop_sha512(scn *s, json_t *o)
{
	(void)s;
	json_object_del(json_object_get(dtarget(o, "main-fw-1.bin"), "hashes"), "sha512");
}

static void match_hash_sets_differ(void **st)
{
	scn *s = *st;
	scn_target *t = scn_target_get(s, "main-fw-1.bin");
	t->hashes.has_sha512 = true;
	memset(t->hashes.sha512, 0x5a, sizeof(t->hashes.sha512));
	edit(s, DIR_ "targets.json", e_drop_sha512);
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void match_both_hashes(void **st)
{
	scn *s = *st;
	scn_target *t = scn_target_get(s, "main-fw-1.bin");
	t->hashes.has_sha512 = true;
	memset(t->hashes.sha512, 0x5a, sizeof(t->hashes.sha512));
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(find_assignment(&r, "ecu-main")->hashes.has_sha512);
	upt_verify_result_clear(&r);
}

static void match_not_in_image(void **st)
{
	scn *s = *st;
	s->nas = 0;
	scn_assign_add(s, "ghost-fw.bin", "ecu-main", "board-a");
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void match_image_hardware_differs(void **st)
{
	scn *s = *st;
	scn_target_get(s, "main-fw-1.bin")->hw[0] = "board-z";
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void match_image_no_hardware(void **st)
{
	scn *s = *st;
	scn_target_get(s, "main-fw-1.bin")->nhw = 0;
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void director_hardware_differs(void **st)
{
	scn *s = *st;
	snprintf(s->as[0].hw, sizeof(s->as[0].hw), "board-b");
	build(s);
	expect(s, UPT_E_WRONG_HARDWARE, DIR_ "targets.json");
}

static void e_main_rc(scn *s, json_t *o)
{
	(void)s;
	json_object_set_new(json_object_get(dtarget(o, "main-fw-1.bin"), "custom"),
			    "releaseCounter", json_integer(7));
}

static void match_release_counter_differs(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_main_rc);
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void e_main_no_rc(scn *s, json_t *o)
{
	(void)s;
	json_object_del(json_object_get(dtarget(o, "main-fw-1.bin"), "custom"), "releaseCounter");
}

static void match_release_counter_missing(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_main_no_rc);
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

/* a compromised Director cannot roll an ECU back: the Image repo's counter decides */
static void release_counter_rollback(void **st)
{
	scn *s = *st;
	s->ecus[0].release_counter = 2;
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "targets.json");
}

static void release_counter_rollback_delegated(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	s->ecus[2].release_counter = 9;
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "delegations/supplier.json");
}

static void release_counter_equal(void **st)
{
	scn *s = *st;
	s->ecus[0].release_counter = 1;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(find_assignment(&r, "ecu-main")->release_counter, 1);
	upt_verify_result_clear(&r);
}

/* ---- delegations: order, terminating, cycles, patterns, hardware ids ---- */

/* two roles both claim "shared/x.bin" with different bytes: the first listed decides */
static void two_roles_one_target(scn *s, bool director_uses_second)
{
	scn_deleg_add(s, "role-a", NULL, "shared/*");
	scn_deleg_add(s, "role-b", NULL, "shared/*");
	scn_target *a = scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-a");
	scn_target *b = scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-b");
	b->length = a->length;
	b->hashes.sha256[0] ^= 1;
	scn_assign_add(s, "shared/x.bin", "sensor-01", "sensor-y");
	(void)director_uses_second;
}

static void deleg_order_first_wins(void **st)
{
	scn *s = *st;
	two_roles_one_target(s, false);
	/* the generator's Director copies the first scn_target of that name: role-a's */
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(has(&r.trust_after, "image-repo/delegations/role-a.json"));
	assert_false(has(&r.trust_after, "image-repo/delegations/role-b.json"));
	upt_verify_result_clear(&r);
}

static void e_pin_role_b(scn *s, json_t *o)
{
	char hex[65];
	for (size_t i = 0; i < s->ntargets; i++)
		if (strcmp(s->targets[i].role, "role-b") == 0)
			upt_hex_encode(s->targets[i].hashes.sha256, 32, hex);
	json_object_set_new(json_object_get(dtarget(o, "shared/x.bin"), "hashes"), "sha256",
			    json_string(hex));
}

/* the Director pins role-b's copy, but role-a (listed first) is what the search finds */
static void deleg_order_second_not_used(void **st)
{
	scn *s = *st;
	two_roles_one_target(s, true);
	edit(s, DIR_ "targets.json", e_pin_role_b);
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void deleg_terminating_stops_search(void **st)
{
	scn *s = *st;
	scn_deleg_add(s, "role-a", NULL, "shared/*")->terminating = true;
	scn_deleg_add(s, "role-b", NULL, "shared/*");
	scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-b");
	scn_assign_add(s, "shared/x.bin", "sensor-01", "sensor-y");
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void deleg_not_terminating_continues(void **st)
{
	scn *s = *st;
	scn_deleg_add(s, "role-a", NULL, "shared/*");
	scn_deleg_add(s, "role-b", NULL, "shared/*");
	scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-b");
	scn_assign_add(s, "shared/x.bin", "sensor-01", "sensor-y");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(has(&r.trust_after, "image-repo/delegations/role-a.json"));
	assert_true(has(&r.trust_after, "image-repo/delegations/role-b.json"));
	upt_verify_result_clear(&r);
}

/* a terminating role's own delegations are still searched */
static void deleg_terminating_subtree(void **st)
{
	scn *s = *st;
	scn_deleg_add(s, "role-a", NULL, "shared/*")->terminating = true;
	scn_deleg_add(s, "role-a1", "role-a", "shared/*");
	scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-a1");
	scn_assign_add(s, "shared/x.bin", "sensor-01", "sensor-y");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(has(&r.trust_after, "image-repo/delegations/role-a1.json"));
	upt_verify_result_clear(&r);
}

/* a terminating delegation deeper down also ends the search: its parent's later siblings
 * are not searched */
static void deleg_terminating_nested(void **st)
{
	scn *s = *st;
	scn_deleg_add(s, "role-a", NULL, "shared/*");
	scn_deleg_add(s, "role-a1", "role-a", "shared/*")->terminating = true;
	scn_deleg_add(s, "role-b", NULL, "shared/*");
	scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-b");
	scn_assign_add(s, "shared/x.bin", "sensor-01", "sensor-y");
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

/* pre-order depth-first: role-a's subtree before role-b */
static void deleg_depth_first(void **st)
{
	scn *s = *st;
	scn_deleg_add(s, "role-a", NULL, "shared/*");
	scn_deleg_add(s, "role-b", NULL, "shared/*");
	scn_deleg_add(s, "role-a1", "role-a", "shared/*");
	scn_target *a1 = scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-a1");
	scn_target *b = scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-b");
	b->hashes.sha256[0] ^= 1;
	b->length = a1->length;
	scn_assign_add(s, "shared/x.bin", "sensor-01", "sensor-y");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_false(has(&r.trust_after, "image-repo/delegations/role-b.json"));
	upt_verify_result_clear(&r);
}

static void e_b_delegates_back(scn *s, json_t *o)
{
	scn_deleg *a = scn_deleg_get(s, "role-a");
	upt_key k = *upt_signer_key(a->keys.k[0]);
	const char *path = "shared/*";
	upt_mb_delegation d = {"role-a", &k, 1, 1, &path, 1, false, NULL, 0};
	assert_int_equal(upt_mb_targets_delegate(o, &d, NULL), UPT_OK);
}

static void deleg_cycle(void **st)
{
	scn *s = *st;
	scn_deleg_add(s, "role-a", NULL, "shared/*");
	scn_deleg_add(s, "role-b", "role-a", "shared/*");
	scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-b");
	scn_assign_add(s, "shared/x.bin", "sensor-01", "sensor-y");
	scn_assign_add(s, "shared/none.bin", "ecu-main", "board-a");
	s->nas = 1;
	snprintf(s->as[0].target, sizeof(s->as[0].target), "shared/none.bin");
	snprintf(s->as[0].ecu, sizeof(s->as[0].ecu), "sensor-01");
	snprintf(s->as[0].hw, sizeof(s->as[0].hw), "sensor-y");
	/* role-b delegates back to role-a: the walk must end (visited roles skipped) */
	edit(s, IMG_ "delegations/role-b.json", e_b_delegates_back);
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void deleg_cycle_found(void **st)
{
	scn *s = *st;
	scn_deleg_add(s, "role-a", NULL, "shared/*");
	scn_deleg_add(s, "role-b", "role-a", "shared/*");
	scn_target_add(s, "shared/x.bin", "sensor-y", 1, "role-b");
	scn_assign_add(s, "shared/x.bin", "sensor-01", "sensor-y");
	edit(s, IMG_ "delegations/role-b.json", e_b_delegates_back);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	upt_verify_result_clear(&r);
}

/* `*` never matches `/` */
static void deleg_star_not_slash(void **st)
{
	scn *s = *st;
	scn_target_add(s, "supplier/extra/sensor-fw-2.bin", "sensor-y", 2, "supplier");
	scn_assign_add(s, "supplier/extra/sensor-fw-2.bin", "sensor-01", "sensor-y");
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void deleg_star_per_component(void **st)
{
	scn *s = *st;
	scn_deleg *d = scn_deleg_get(s, "supplier");
	d->paths[1] = "supplier/*/*";
	d->npaths = 2;
	scn_target_add(s, "supplier/extra/sensor-fw-2.bin", "sensor-y", 2, "supplier");
	scn_assign_add(s, "supplier/extra/sensor-fw-2.bin", "sensor-01", "sensor-y");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	upt_verify_result_clear(&r);
}

/* a role may only vouch for what its delegation's patterns cover */
static void deleg_path_outside(void **st)
{
	scn *s = *st;
	scn_target_add(s, "vendor/sensor-fw-3.bin", "sensor-y", 3, "supplier");
	scn_assign_add(s, "vendor/sensor-fw-3.bin", "sensor-01", "sensor-y");
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void deleg_question_mark(void **st)
{
	scn *s = *st;
	scn_deleg_get(s, "supplier")->paths[0] = "supplier/sensor-fw-?.bin";
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	upt_verify_result_clear(&r);
}

static void deleg_hardware_restricted(void **st)
{
	scn *s = *st;
	scn_deleg *d = scn_deleg_get(s, "supplier");
	d->hw[0] = "board-z";
	d->nhw = 1;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, DIR_ "targets.json");
}

static void deleg_hardware_allowed(void **st)
{
	scn *s = *st;
	scn_deleg *d = scn_deleg_get(s, "supplier");
	d->hw[0] = "board-z";
	d->hw[1] = "sensor-y";
	d->nhw = 2;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	upt_verify_result_clear(&r);
}

static void deleg_nested(void **st)
{
	scn *s = *st;
	scn_deleg_add(s, "sub", "supplier", "supplier/sub/*");
	scn_deleg_get(s, "supplier")->paths[1] = "supplier/*/*";
	scn_deleg_get(s, "supplier")->npaths = 2;
	scn_target_add(s, "supplier/sub/fw.bin", "sensor-y", 4, "sub");
	scn_assign_add(s, "supplier/sub/fw.bin", "sensor-01", "sensor-y");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(has(&r.trust_after, "image-repo/delegations/supplier.json"));
	assert_true(has(&r.trust_after, "image-repo/delegations/sub.json"));
	upt_verify_result_clear(&r);
}

static void deleg_wrong_key(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	sign_with(s, IMG_ "delegations/supplier.json", s->role[SCN_IMAGE][SCN_TARGETS].k[0]);
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, IMG_ "delegations/supplier.json");
}

static void deleg_threshold_unmet(void **st)
{
	scn *s = *st;
	scn_deleg *d = scn_deleg_get(s, "supplier");
	d->keys.k[d->keys.n++] = scn_key(s);
	d->keys.threshold = 2;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	s->hook = hook_keep_first_signer;
	s->hook_member = IMG_ "delegations/supplier.json";
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, IMG_ "delegations/supplier.json");
}

static void deleg_missing_from_bundle(void **st)
{
	scn *s = *st;
	build(s);
	scn_drop(s, IMG_ "delegations/supplier.json");
	expect(s, UPT_E_MALFORMED, IMG_ "snapshot.json");
}

/* a broken role nobody needs is never loaded (TUF clients load roles lazily) */
static void deleg_unused_broken(void **st)
{
	scn *s = *st;
	sign_with(s, IMG_ "delegations/supplier.json", scn_key(s));
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	upt_verify_result_clear(&r);
}

/* the top-level targets role is searched first */
static void deleg_top_level_first(void **st)
{
	scn *s = *st;
	scn_target *top = scn_target_add(s, "supplier/sensor-fw-1.bin", "sensor-y", 1, NULL);
	/* move the top-level copy first so the Director pins it */
	scn_target tmp = s->targets[2];
	s->targets[2] = *top;
	*top = tmp;
	top->hashes.sha256[0] ^= 1;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_false(has(&r.trust_after, "image-repo/delegations/supplier.json"));
	upt_verify_result_clear(&r);
}

/* roles the search did not visit stay trusted while the snapshot lists them unchanged */
static void deleg_unvisited_kept(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	accept_bundle(s);
	assert_true(has(&s->trust, "image-repo/delegations/supplier.json"));
	s->nas = 1;
	set_versions(s, SCN_DIRECTOR, 2, 2, 2);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(has(&r.trust_after, "image-repo/delegations/supplier.json"));
	upt_verify_result_clear(&r);
	/* a newer supplier version in the snapshot: the stale trusted copy goes */
	scn_deleg_get(s, "supplier")->version = 2;
	set_versions(s, SCN_IMAGE, 2, 2, 1);
	set_versions(s, SCN_DIRECTOR, 3, 3, 3);
	build(s);
	run_ok(s, &r);
	assert_false(has(&r.trust_after, "image-repo/delegations/supplier.json"));
	upt_verify_result_clear(&r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(image_snapshot_drops_role),
	    T(director_snapshot_drops_targets),
	    T(match_hash_differs),
	    T(match_length_differs),
	    T(match_hash_sets_differ),
	    T(match_both_hashes),
	    T(match_not_in_image),
	    T(match_image_hardware_differs),
	    T(match_image_no_hardware),
	    T(director_hardware_differs),
	    T(match_release_counter_differs),
	    T(match_release_counter_missing),
	    T(release_counter_rollback),
	    T(release_counter_rollback_delegated),
	    T(release_counter_equal),
	    T(deleg_order_first_wins),
	    T(deleg_order_second_not_used),
	    T(deleg_terminating_stops_search),
	    T(deleg_not_terminating_continues),
	    T(deleg_terminating_subtree),
	    T(deleg_terminating_nested),
	    T(deleg_depth_first),
	    T(deleg_cycle),
	    T(deleg_cycle_found),
	    T(deleg_star_not_slash),
	    T(deleg_star_per_component),
	    T(deleg_path_outside),
	    T(deleg_question_mark),
	    T(deleg_hardware_restricted),
	    T(deleg_hardware_allowed),
	    T(deleg_nested),
	    T(deleg_wrong_key),
	    T(deleg_threshold_unmet),
	    T(deleg_missing_from_bundle),
	    T(deleg_unused_broken),
	    T(deleg_top_level_first),
	    T(deleg_unvisited_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
