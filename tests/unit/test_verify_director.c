/*
 * Unit tests of the verification engine, step 2: the Director (device bundles, the device's
 * ECUs, multi-device and fleet (PURE-2) bundles). One scenario per attack or fault, generated
 * with the scenario generator (our own metabuild signing), each asserting the rejection class,
 * the failing member, and that the returned trust_after is the input state byte for byte
 * except the root versions accepted in step 1. Valid scenarios assert the assignments.
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

/* ---- step 2: Director, device bundles ---- */

static void device_valid(void **st)
{
	scn *s = *st;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(r.nassignments, 2);
	assert_assigned(s, &r, "ecu-main", "main-fw-1.bin");
	assert_assigned(s, &r, "ecu-aux", "aux-fw-1.bin");
	assert_false(r.kind_fleet);
	assert_string_equal(r.bundle_id, "VIN-1:1");
	assert_int_equal(r.director_targets_version, 1);
	assert_false(r.roots_changed);
	assert_false(r.clock_behind_floor);
	/* issued raised the effective time (it was behind now here: no change) and the floor */
	assert_int_equal(r.effective_time, s->now);
	assert_int_equal(r.trust_after.time_floor, s->issued);
	static const char *const stored[] = {
	    "director/root.json",	"director/timestamp.json", "director/snapshot.json",
	    "director/targets.json",	"image-repo/root.json",	   "image-repo/timestamp.json",
	    "image-repo/snapshot.json", "image-repo/targets.json"};
	for (size_t i = 0; i < sizeof(stored) / sizeof(stored[0]); i++)
		assert_true(has(&r.trust_after, stored[i]));
	/* only roles the search visited are stored: the sensor's delegation was not needed */
	assert_false(has(&r.trust_after, "image-repo/delegations/supplier.json"));
	assert_true(upt_buf_equal(upt_trust_get(&r.trust_after, "director/targets.json"),
				  scn_get(s, DIR_ "targets.json")));
	upt_verify_result_clear(&r);
}

static void device_delegated_target(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(r.nassignments, 3);
	assert_assigned(s, &r, "sensor-01", "supplier/sensor-fw-1.bin");
	assert_true(has(&r.trust_after, "image-repo/delegations/supplier.json"));
	upt_verify_result_clear(&r);
}

static void device_already_installed(void **st)
{
	scn *s = *st;
	scn_target *t = scn_target_get(s, "main-fw-1.bin");
	s->ecus[0].installed_target = "main-fw-1.bin";
	s->ecus[0].has_installed_sha256 = true;
	memcpy(s->ecus[0].installed_sha256, t->hashes.sha256, 32);
	s->ecus[0].release_counter = 1;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(find_assignment(&r, "ecu-main")->already_installed);
	assert_false(find_assignment(&r, "ecu-aux")->already_installed);
	upt_verify_result_clear(&r);
}

static void device_empty_targets(void **st)
{
	scn *s = *st;
	s->nas = 0;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(r.nassignments, 0);
	upt_verify_result_clear(&r);
}

#define FREEZE_TEST(fn, repo, role, member)                                                        \
	static void fn(void **st)                                                                  \
	{                                                                                          \
		scn *s = *st;                                                                      \
		s->expires[repo][role] = s->now - 1;                                               \
		build(s);                                                                          \
		expect(s, UPT_E_FREEZE, member);                                                   \
	}
FREEZE_TEST(freeze_director_timestamp, SCN_DIRECTOR, SCN_TIMESTAMP, DIR_ "timestamp.json")
FREEZE_TEST(freeze_director_snapshot, SCN_DIRECTOR, SCN_SNAPSHOT, DIR_ "snapshot.json")
FREEZE_TEST(freeze_director_targets, SCN_DIRECTOR, SCN_TARGETS, DIR_ "targets.json")
FREEZE_TEST(freeze_image_timestamp, SCN_IMAGE, SCN_TIMESTAMP, IMG_ "timestamp.json")
FREEZE_TEST(freeze_image_snapshot, SCN_IMAGE, SCN_SNAPSHOT, IMG_ "snapshot.json")
FREEZE_TEST(freeze_image_targets, SCN_IMAGE, SCN_TARGETS, IMG_ "targets.json")

/* expires exactly now counts as expired (TUF: now >= expires) */
static void freeze_at_the_second(void **st)
{
	scn *s = *st;
	s->expires[SCN_DIRECTOR][SCN_TARGETS] = s->now;
	s->issued = s->now - 10;
	build(s);
	expect(s, UPT_E_FREEZE, DIR_ "targets.json");
}

static void freeze_delegation(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	scn_deleg_get(s, "supplier")->expires = s->now - 1;
	build(s);
	expect(s, UPT_E_FREEZE, IMG_ "delegations/supplier.json");
}

static void threshold_unmet(void **st)
{
	scn *s = *st;
	scn_keys *k = &s->role[SCN_DIRECTOR][SCN_TARGETS];
	k->k[k->n++] = scn_key(s);
	k->threshold = 2;
	assert_int_equal(scn_reset_roots(s), UPT_OK);
	s->hook = hook_keep_first_signer;
	s->hook_member = DIR_ "targets.json";
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, DIR_ "targets.json");
}

static void threshold_met_by_two(void **st)
{
	scn *s = *st;
	scn_keys *k = &s->role[SCN_DIRECTOR][SCN_TARGETS];
	k->k[k->n++] = scn_key(s);
	k->threshold = 2;
	assert_int_equal(scn_reset_roots(s), UPT_OK);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	upt_verify_result_clear(&r);
}

/* The same key's signature twice must never count twice: malformed. */
static void post_dup_signature(scn *s, const char *member, upt_buf *file)
{
	if (strcmp(member, s->hook_member) != 0)
		return;
	json_t *doc = NULL;
	assert_int_equal(upt_json_parse(file->data, file->len, 1u << 20, &doc, NULL), UPT_OK);
	json_t *sigs = json_object_get(doc, "signatures");
	json_array_append(sigs, json_array_get(sigs, 0));
	upt_buf_clear(file);
	assert_int_equal(upt_cjson_encode(doc, file, NULL), UPT_OK);
	json_decref(doc);
}

static void duplicate_signature(void **st)
{
	scn *s = *st;
	scn_keys *k = &s->role[SCN_DIRECTOR][SCN_TARGETS];
	k->k[k->n++] = scn_key(s);
	k->threshold = 2;
	assert_int_equal(scn_reset_roots(s), UPT_OK);
	s->hook = hook_keep_first_signer;
	s->post = post_dup_signature;
	s->hook_member = DIR_ "targets.json";
	build(s);
	expect(s, UPT_E_MALFORMED, DIR_ "targets.json");
}

/* ---- Director targets and the device ---- */

static void ecu_not_on_device(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "main-fw-1.bin", "ecu-ghost", "board-a");
	build(s);
	expect(s, UPT_E_WRONG_ECU, DIR_ "targets.json");
}

static void ecu_twice(void **st)
{
	scn *s = *st;
	scn_target_add(s, "main-fw-2.bin", "board-a", 2, NULL);
	scn_assign_add(s, "main-fw-2.bin", "ecu-main", "board-a");
	build(s);
	expect(s, UPT_E_WRONG_ECU, DIR_ "targets.json");
}

/* one image for two ECUs of the same hardware */
static void one_target_two_ecus(void **st)
{
	scn *s = *st;
	s->ecus[3] = (upt_ecu_ident){.serial = "ecu-main-2", .hardware_id = "board-a"};
	s->necus = 4;
	scn_assign_add(s, "main-fw-1.bin", "ecu-main-2", "board-a");
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(r.nassignments, 3);
	assert_assigned(s, &r, "ecu-main", "main-fw-1.bin");
	assert_assigned(s, &r, "ecu-main-2", "main-fw-1.bin");
	upt_verify_result_clear(&r);
}

static void e_device_vin2(scn *s, json_t *o)
{
	(void)s;
	json_object_set_new(o, "deviceId", json_string("VIN-2"));
}

static void another_device(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_device_vin2);
	build(s);
	upt_verify_result r;
	expect_full(s, &s->trust, UPT_E_NOT_FOR_DEVICE, DIR_ "targets.json", 0, 0, &r);
	assert_int_equal(upt_err_exit_status(r.code), 3);
	assert_string_equal(r.intended_for, "device VIN-2");
	upt_verify_result_clear(&r);
}

/* another device's (older) Director sequence is judged "not for us", not "rollback" */
static void another_device_older_sequence(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 5, 5, 5);
	accept_bundle(s);
	set_versions(s, SCN_DIRECTOR, 1, 1, 1);
	snprintf(s->device_id, sizeof(s->device_id), "VIN-2");
	build(s);
	snprintf(s->device_id, sizeof(s->device_id), "VIN-1");
	upt_verify_result r;
	expect_full(s, &s->trust, UPT_E_NOT_FOR_DEVICE, DIR_ "targets.json", 0, 0, &r);
	assert_string_equal(r.intended_for, "device VIN-2");
	upt_verify_result_clear(&r);
}

/* a forged deviceId (not signed by the Director's targets key) proves nothing */
static void another_device_unsigned(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_device_vin2);
	build(s);
	s->hook = NULL;
	scn_signers sg = {.n = 1};
	sg.s[0] = scn_key(s);
	assert_int_equal(scn_resign(s, DIR_ "targets.json", NULL, 0, &sg), UPT_OK);
	expect(s, UPT_E_MIX_AND_MATCH, DIR_ "targets.json");
}

static void e_no_device(scn *s, json_t *o)
{
	(void)s;
	json_object_del(o, "deviceId");
}

static void director_without_device_id(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_no_device);
	build(s);
	expect(s, UPT_E_MALFORMED, DIR_ "targets.json");
}

static void director_delegations(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_director_delegates);
	build(s);
	expect(s, UPT_E_MALFORMED, DIR_ "targets.json");
}

static void e_no_ecus(scn *s, json_t *o)
{
	(void)s;
	json_object_del(json_object_get(dtarget(o, "main-fw-1.bin"), "custom"), "ecuIdentifiers");
}

static void director_target_without_ecu(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_no_ecus);
	build(s);
	expect(s, UPT_E_MALFORMED, DIR_ "targets.json");
}

/* ---- fleet bundles (PURE-2) ---- */

static void fleet_valid(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	build(s);
	assert_null(scn_get(s, IMG_ "timestamp.json"));
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(r.kind_fleet);
	assert_string_equal(r.bundle_id, "campaign-a:1");
	assert_int_equal(r.nassignments, 2);
	assert_assigned(s, &r, "ecu-main", "main-fw-1.bin");
	assert_assigned(s, &r, "ecu-aux", "aux-fw-1.bin");
	assert_true(has(&r.trust_after, "director/offline-snapshot.json"));
	assert_true(has(&r.trust_after, "director/offline-updates/campaign-a.json"));
	assert_false(has(&r.trust_after, "director/targets.json"));
	assert_false(has(&r.trust_after, "image-repo/timestamp.json"));
	assert_int_equal(r.trust_after.time_floor, s->issued);
	upt_verify_result_clear(&r);
}

/* PURE-2: no Image timestamp to renew the Image snapshot, so its expiry is waived */
static void fleet_image_snapshot_expired(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->expires[SCN_IMAGE][SCN_SNAPSHOT] = s->now - SCN_DAY;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	upt_verify_result_clear(&r);
}

static void fleet_image_targets_expired(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->expires[SCN_IMAGE][SCN_TARGETS] = s->now - SCN_DAY;
	build(s);
	expect(s, UPT_E_FREEZE, IMG_ "targets.json");
}

/* a fleet bundle that carries an Image timestamp anyway has it verified in full */
static void fleet_image_timestamp_expired(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->image_timestamp_in_fleet = true;
	s->expires[SCN_IMAGE][SCN_TIMESTAMP] = s->now - SCN_DAY;
	build(s);
	expect(s, UPT_E_FREEZE, IMG_ "timestamp.json");
}

static void fleet_offline_snapshot_expired(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->expires[SCN_DIRECTOR][SCN_OFFSNAP] = s->now - 1;
	build(s);
	expect(s, UPT_E_FREEZE, OFFSNAP);
}

static void fleet_offline_updates_expired(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->expires[SCN_DIRECTOR][SCN_OFFUPD] = s->now - 1;
	build(s);
	expect(s, UPT_E_FREEZE, OFFUPD);
}

static void fleet_two_targets_one_ecu(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	scn_target_add(s, "main-fw-2.bin", "board-a", 2, NULL);
	scn_assign *a = scn_assign_add(s, "main-fw-2.bin", NULL, NULL);
	a->fleet_hw[0] = "board-a";
	a->nfleet_hw = 1;
	build(s);
	expect(s, UPT_E_WRONG_ECU, OFFUPD);
}

static void e_rename_fleet(scn *s, json_t *o)
{
	(void)s;
	json_t *meta = json_object_get(o, "meta");
	json_object_set(meta, "campaign-x.json", json_object_get(meta, "campaign-a.json"));
	json_object_del(meta, "campaign-a.json");
}

static void fleet_not_in_offline_snapshot(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	edit(s, OFFSNAP, e_rename_fleet);
	build(s);
	expect(s, UPT_E_MIX_AND_MATCH, OFFUPD);
}

static void fleet_offline_updates_not_as_pinned(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	build(s);
	assert_int_equal(scn_resign(s, OFFUPD, e_add_field, 1, NULL), UPT_OK);
	expect(s, UPT_E_MIX_AND_MATCH, OFFUPD);
}

static void fleet_offline_updates_version(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	edit(s, OFFUPD, e_version2);
	build(s);
	expect(s, UPT_E_MIX_AND_MATCH, OFFUPD);
}

static void fleet_wrong_role_key(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	sign_with(s, OFFUPD, s->role[SCN_DIRECTOR][SCN_OFFSNAP].k[0]);
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, OFFUPD);
}

static void fleet_snapshot_wrong_role_key(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	/* the device Director's snapshot key may not sign the offline snapshot */
	sign_with(s, OFFSNAP, s->role[SCN_DIRECTOR][SCN_SNAPSHOT].k[0]);
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, OFFSNAP);
}

static void fleet_roles_undeclared(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->offline_roles = false;
	assert_int_equal(scn_reset_roots(s), UPT_OK);
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, OFFSNAP);
}

static void fleet_device_ids_exclude(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	for (size_t i = 0; i < s->nas; i++) {
		s->as[i].devices[0] = "VIN-7";
		s->as[i].ndevices = 1;
	}
	build(s);
	upt_verify_result r;
	expect_full(s, &s->trust, UPT_E_NOT_FOR_DEVICE, OFFUPD, 0, 0, &r);
	assert_string_equal(r.intended_for, "devices VIN-7");
	upt_verify_result_clear(&r);
}

static void fleet_device_ids_include(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->as[0].devices[0] = "VIN-7";
	s->as[0].devices[1] = "VIN-1";
	s->as[0].ndevices = 2;
	s->as[1].devices[0] = "VIN-7";
	s->as[1].ndevices = 1;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(r.nassignments, 1);
	assert_assigned(s, &r, "ecu-main", "main-fw-1.bin");
	upt_verify_result_clear(&r);
}

static void fleet_no_hardware_match(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	scn_target_add(s, "z-fw.bin", "board-z", 1, NULL);
	s->nas = 0;
	scn_assign *a = scn_assign_add(s, "z-fw.bin", NULL, NULL);
	a->fleet_hw[0] = "board-z";
	a->nfleet_hw = 1;
	build(s);
	upt_verify_result r;
	expect_full(s, &s->trust, UPT_E_NOT_FOR_DEVICE, OFFUPD, 0, 0, &r);
	assert_string_equal(r.intended_for, "hardware ids board-z");
	upt_verify_result_clear(&r);
}

/* the ECU's hardware id must be in the Image repo's list too */
static void fleet_image_hardware_differs(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	scn_target_get(s, "aux-fw-1.bin")->hw[0] = "board-q";
	build(s);
	expect(s, UPT_E_TARGET_MISMATCH, OFFUPD);
}

static void fleet_two_updates_files(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	build(s);
	const upt_buf *b = scn_get(s, OFFUPD);
	assert_int_equal(scn_put(s, DIR_ "offline-updates/campaign-b.json", b->data, b->len),
			 UPT_OK);
	expect(s, UPT_E_MALFORMED, DIR_ "offline-updates/campaign-b.json");
}

static void fleet_without_offline_snapshot(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	build(s);
	scn_drop(s, OFFSNAP);
	expect(s, UPT_E_MALFORMED, OFFSNAP);
}

static void e_no_hw(scn *s, json_t *o)
{
	(void)s;
	json_object_del(json_object_get(dtarget(o, "main-fw-1.bin"), "custom"), "hardwareIds");
}

static void fleet_target_without_hardware(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	edit(s, OFFUPD, e_no_hw);
	build(s);
	expect(s, UPT_E_MALFORMED, OFFUPD);
}

static void fleet_delegations(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	edit(s, OFFUPD, e_director_delegates);
	build(s);
	expect(s, UPT_E_MALFORMED, OFFUPD);
}

static void fleet_rollback_offline_snapshot(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 2;
	accept_bundle(s);
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 1;
	build(s);
	expect(s, UPT_E_ROLLBACK, OFFSNAP);
}

static void fleet_rollback_per_file(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 3, 3, 3);
	s->kind = SCN_FLEET;
	snprintf(s->offsnap_extra[0].name, sizeof(s->offsnap_extra[0].name), "campaign-b");
	s->offsnap_extra[0].version = 3;
	s->noffsnap_extra = 1;
	accept_bundle(s);
	s->offsnap_extra[0].version = 2;
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 2;
	build(s);
	expect(s, UPT_E_ROLLBACK, OFFSNAP);
}

/* dropping a fleet's file from the offline snapshot revokes that fleet bundle: legal */
static void fleet_dropped_file_legal(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 3, 3, 3);
	s->kind = SCN_FLEET;
	snprintf(s->offsnap_extra[0].name, sizeof(s->offsnap_extra[0].name), "campaign-b");
	s->offsnap_extra[0].version = 3;
	s->noffsnap_extra = 1;
	accept_bundle(s);
	s->noffsnap_extra = 0;
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 2;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	upt_verify_result_clear(&r);
}

static void fleet_rollback_offline_updates_listed(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->version[SCN_DIRECTOR][SCN_OFFUPD] = 2;
	accept_bundle(s);
	s->version[SCN_DIRECTOR][SCN_OFFUPD] = 1;
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 2;
	build(s);
	expect(s, UPT_E_ROLLBACK, OFFSNAP);
}

static void fleet_rollback_offline_updates(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->version[SCN_DIRECTOR][SCN_OFFUPD] = 2;
	accept_bundle(s);
	upt_trust_remove(&s->trust, "director/offline-snapshot.json");
	s->version[SCN_DIRECTOR][SCN_OFFUPD] = 1;
	s->version[SCN_DIRECTOR][SCN_OFFSNAP] = 2;
	build(s);
	expect(s, UPT_E_ROLLBACK, OFFUPD);
}

/* a fleet bundle after a device bundle: separate Director channels, both kept */
static void fleet_after_device(void **st)
{
	scn *s = *st;
	accept_bundle(s);
	s->kind = SCN_FLEET;
	set_versions(s, SCN_IMAGE, 2, 2, 2);
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(has(&r.trust_after, "director/targets.json"));
	assert_true(has(&r.trust_after, "director/offline-snapshot.json"));
	assert_true(upt_buf_equal(upt_trust_get(&r.trust_after, "image-repo/timestamp.json"),
				  upt_trust_get(&s->trust, "image-repo/timestamp.json")));
	upt_verify_result_clear(&r);
}

/* ---- multi-device bundles ---- */

static void multi_valid(void **st)
{
	scn *s = *st;
	s->kind = SCN_MULTI;
	snprintf(s->others[0], sizeof(s->others[0]), "VIN-2");
	snprintf(s->others[1], sizeof(s->others[1]), "VIN-3");
	s->nothers = 2;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(r.nassignments, 2);
	assert_string_equal(r.bundle_id, "VIN-1:1");
	assert_true(upt_buf_equal(upt_trust_get(&r.trust_after, "director/targets.json"),
				  scn_get(s, DIR_ "devices/VIN-1/targets.json")));
	upt_verify_result_clear(&r);
}

static void multi_not_included(void **st)
{
	scn *s = *st;
	s->kind = SCN_MULTI;
	s->multi_without_self = true;
	snprintf(s->others[0], sizeof(s->others[0]), "VIN-2");
	snprintf(s->others[1], sizeof(s->others[1]), "VIN-3");
	s->nothers = 2;
	build(s);
	upt_verify_result r;
	expect_full(s, &s->trust, UPT_E_NOT_FOR_DEVICE, NULL, 0, 0, &r);
	assert_string_equal(r.intended_for, "devices VIN-2, VIN-3");
	upt_verify_result_clear(&r);
}

static void e_device_vin9(scn *s, json_t *o)
{
	(void)s;
	json_object_set_new(o, "deviceId", json_string("VIN-9"));
}

/* our directory, but the Director signed it for another device */
static void multi_set_for_other_device(void **st)
{
	scn *s = *st;
	s->kind = SCN_MULTI;
	edit(s, DIR_ "devices/VIN-1/targets.json", e_device_vin9);
	build(s);
	upt_verify_result r;
	expect_full(s, &s->trust, UPT_E_NOT_FOR_DEVICE, DIR_ "devices/VIN-1/targets.json", 0, 0,
		    &r);
	assert_string_equal(r.intended_for, "device VIN-9");
	upt_verify_result_clear(&r);
}

/* another device's set is never looked at: a broken one does not matter */
static void multi_other_set_broken(void **st)
{
	scn *s = *st;
	s->kind = SCN_MULTI;
	snprintf(s->others[0], sizeof(s->others[0]), "VIN-2");
	s->nothers = 1;
	build(s);
	assert_int_equal(scn_put(s, DIR_ "devices/VIN-2/targets.json", "junk", 4), UPT_OK);
	upt_verify_result r;
	run_ok(s, &r);
	upt_verify_result_clear(&r);
}

static void multi_incomplete_set(void **st)
{
	scn *s = *st;
	s->kind = SCN_MULTI;
	build(s);
	scn_drop(s, DIR_ "devices/VIN-1/snapshot.json");
	expect(s, UPT_E_MALFORMED, DIR_ "devices/VIN-1/snapshot.json");
}

static void multi_bad_device_dir(void **st)
{
	scn *s = *st;
	s->kind = SCN_MULTI;
	build(s);
	assert_int_equal(scn_put(s, DIR_ "devices/VIN-1/extra.json", "{}", 2), UPT_OK);
	expect(s, UPT_E_MALFORMED, DIR_ "devices/VIN-1/extra.json");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(device_valid),
	    T(device_delegated_target),
	    T(device_already_installed),
	    T(device_empty_targets),
	    T(freeze_director_timestamp),
	    T(freeze_director_snapshot),
	    T(freeze_director_targets),
	    T(freeze_image_timestamp),
	    T(freeze_image_snapshot),
	    T(freeze_image_targets),
	    T(freeze_at_the_second),
	    T(freeze_delegation),
	    T(threshold_unmet),
	    T(threshold_met_by_two),
	    T(duplicate_signature),
	    T(ecu_not_on_device),
	    T(ecu_twice),
	    T(one_target_two_ecus),
	    T(another_device),
	    T(another_device_older_sequence),
	    T(another_device_unsigned),
	    T(director_without_device_id),
	    T(director_delegations),
	    T(director_target_without_ecu),
	    T(fleet_valid),
	    T(fleet_image_snapshot_expired),
	    T(fleet_image_targets_expired),
	    T(fleet_image_timestamp_expired),
	    T(fleet_offline_snapshot_expired),
	    T(fleet_offline_updates_expired),
	    T(fleet_two_targets_one_ecu),
	    T(fleet_not_in_offline_snapshot),
	    T(fleet_offline_updates_not_as_pinned),
	    T(fleet_offline_updates_version),
	    T(fleet_wrong_role_key),
	    T(fleet_snapshot_wrong_role_key),
	    T(fleet_roles_undeclared),
	    T(fleet_device_ids_exclude),
	    T(fleet_device_ids_include),
	    T(fleet_no_hardware_match),
	    T(fleet_image_hardware_differs),
	    T(fleet_two_updates_files),
	    T(fleet_without_offline_snapshot),
	    T(fleet_target_without_hardware),
	    T(fleet_delegations),
	    T(fleet_rollback_offline_snapshot),
	    T(fleet_rollback_per_file),
	    T(fleet_dropped_file_legal),
	    T(fleet_rollback_offline_updates_listed),
	    T(fleet_rollback_offline_updates),
	    T(fleet_after_device),
	    T(multi_valid),
	    T(multi_not_included),
	    T(multi_set_for_other_device),
	    T(multi_other_set_broken),
	    T(multi_incomplete_set),
	    T(multi_bad_device_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
