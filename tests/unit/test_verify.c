/*
 * Unit tests of the verification engine as a whole (metadata format and signatures, rollback,
 * mix-and-match, time, bundle layout and policy; test_verify_root.c, _director.c and _image.c
 * hold the steps): one scenario per attack or fault, generated with the
 * scenario generator (our own metabuild signing), each asserting the rejection class, the
 * failing member, and that the returned trust_after is the input state byte for byte except
 * the root versions accepted in step 1 (asserted explicitly). Valid scenarios assert the
 * assignments and the new trusted state.
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

/* ---- metadata format and signatures ---- */

static void wrong_type_director_timestamp(void **st)
{
	scn *s = *st;
	s->hook = hook_member_type;
	s->hook_member = DIR_ "timestamp.json";
	build(s);
	expect(s, UPT_E_MALFORMED, DIR_ "timestamp.json");
}

static void wrong_type_image_targets(void **st)
{
	scn *s = *st;
	s->hook = hook_member_type;
	s->hook_member = IMG_ "targets.json";
	build(s);
	expect(s, UPT_E_MALFORMED, IMG_ "targets.json");
}

static void wrong_type_root(void **st)
{
	scn *s = *st;
	s->hook = hook_member_type;
	s->hook_member = DIR_ "2.root.json";
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->hook = NULL;
	build(s);
	expect(s, UPT_E_MALFORMED, DIR_ "2.root.json");
}

static void e_dup_keyid_in_delegation(scn *s, json_t *o)
{
	(void)s;
	json_t *role =
	    json_array_get(json_object_get(json_object_get(o, "delegations"), "roles"), 0);
	json_t *ids = json_object_get(role, "keyids");
	json_array_append(ids, json_array_get(ids, 0));
}

static void key_listed_twice_delegation(void **st)
{
	scn *s = *st;
	edit(s, IMG_ "targets.json", e_dup_keyid_in_delegation);
	build(s);
	expect(s, UPT_E_MALFORMED, IMG_ "targets.json");
}

static void e_dup_keyid_in_root(scn *s, json_t *o)
{
	(void)s;
	json_t *ids =
	    json_object_get(json_object_get(json_object_get(o, "roles"), "timestamp"), "keyids");
	json_array_append(ids, json_array_get(ids, 0));
}

static void key_listed_twice_root(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "2.root.json", e_dup_keyid_in_root);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	s->hook = NULL;
	build(s);
	expect(s, UPT_E_MALFORMED, DIR_ "2.root.json");
}

/* a key filed under an id that is not the hash of the key */
static void e_rekey(json_t *keys)
{
	const char *id;
	json_t *k;
	json_object_foreach(keys, id, k)
	{
		char other[65];
		snprintf(other, sizeof(other), "%s", id);
		other[0] = other[0] == 'a' ? 'b' : 'a';
		json_object_set(keys, other, k);
		json_object_del(keys, id);
		return;
	}
}

static void e_keyid_mismatch_root(scn *s, json_t *o)
{
	(void)s;
	e_rekey(json_object_get(o, "keys"));
}

static void keyid_mismatch_root(void **st)
{
	scn *s = *st;
	edit(s, IMG_ "2.root.json", e_keyid_mismatch_root);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	s->hook = NULL;
	build(s);
	expect(s, UPT_E_MALFORMED, IMG_ "2.root.json");
}

static void e_keyid_mismatch_deleg(scn *s, json_t *o)
{
	(void)s;
	e_rekey(json_object_get(json_object_get(o, "delegations"), "keys"));
}

static void keyid_mismatch_delegation(void **st)
{
	scn *s = *st;
	edit(s, IMG_ "targets.json", e_keyid_mismatch_deleg);
	build(s);
	expect(s, UPT_E_MALFORMED, IMG_ "targets.json");
}

static void e_spec2(scn *s, json_t *o)
{
	(void)s;
	json_object_set_new(o, "spec_version", json_string("2.0.0"));
}

static void spec_version_unsupported(void **st)
{
	scn *s = *st;
	edit(s, IMG_ "timestamp.json", e_spec2);
	build(s);
	expect(s, UPT_E_MALFORMED, IMG_ "timestamp.json");
}

static void e_issued_late(scn *s, json_t *o)
{
	scn_set_time(o, "issued", s->now + 40 * SCN_DAY);
}

static void issued_after_expires(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "timestamp.json", e_issued_late);
	build(s);
	expect(s, UPT_E_MALFORMED, DIR_ "timestamp.json");
}

static void not_json(void **st)
{
	scn *s = *st;
	build(s);
	assert_int_equal(scn_put(s, IMG_ "timestamp.json", "{\"signed\":", 10), UPT_OK);
	expect(s, UPT_E_MALFORMED, IMG_ "timestamp.json");
}

static void unsigned_timestamp(void **st)
{
	scn *s = *st;
	s->hook = hook_member_unsigned;
	s->hook_member = DIR_ "timestamp.json";
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, DIR_ "timestamp.json");
}

static void unknown_signer(void **st)
{
	scn *s = *st;
	sign_with(s, DIR_ "snapshot.json", scn_key(s));
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, DIR_ "snapshot.json");
}

static void wrong_role_key_director(void **st)
{
	scn *s = *st;
	sign_with(s, DIR_ "targets.json", s->role[SCN_DIRECTOR][SCN_SNAPSHOT].k[0]);
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, DIR_ "targets.json");
}

static void wrong_repo_key_image(void **st)
{
	scn *s = *st;
	/* the Director's targets key signing the Image repository's targets */
	sign_with(s, IMG_ "targets.json", s->role[SCN_DIRECTOR][SCN_TARGETS].k[0]);
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, IMG_ "targets.json");
}

static void post_flip_sig(scn *s, const char *member, upt_buf *file)
{
	if (strcmp(member, s->hook_member) != 0)
		return;
	char *p = strstr((char *)file->data, "\"sig\":\"");
	assert_non_null(p);
	p += 7;
	*p = *p == '0' ? '1' : '0';
}

static void corrupted_signature(void **st)
{
	scn *s = *st;
	s->post = post_flip_sig;
	s->hook_member = IMG_ "snapshot.json";
	build(s);
	expect(s, UPT_E_ARBITRARY_SOFTWARE, IMG_ "snapshot.json");
}

static void post_unknown_keytype(scn *s, const char *member, upt_buf *file)
{
	(void)s;
	(void)member;
	(void)file;
}

/* a role whose only key is of a type we do not know never reaches its threshold */
static void e_rsa_timestamp_key(scn *s, json_t *o)
{
	(void)s;
	json_t *k =
	    json_pack("{s:s, s:s, s:{s:s}}", "keytype", "rsa", "scheme", "rsassa-pss-sha256",
		      "keyval", "public", "-----BEGIN PUBLIC KEY-----");
	upt_key dummy;
	char id[65];
	assert_int_equal(upt_keyid(k, id, NULL), UPT_OK);
	(void)dummy;
	json_object_set_new(json_object_get(o, "keys"), id, k);
	json_t *ids =
	    json_object_get(json_object_get(json_object_get(o, "roles"), "timestamp"), "keyids");
	json_array_clear(ids);
	json_array_append_new(ids, json_string(id));
}

static void unknown_key_type(void **st)
{
	scn *s = *st;
	(void)post_unknown_keytype;
	edit(s, IMG_ "2.root.json", e_rsa_timestamp_key);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	s->hook = NULL;
	build(s);
	expect_roots(s, UPT_E_ARBITRARY_SOFTWARE, IMG_ "timestamp.json", 0, 2);
}

/* ---- rollback against the trusted state ---- */

static void rollback_director_timestamp(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 2, 1, 1);
	accept_bundle(s);
	set_versions(s, SCN_DIRECTOR, 1, 1, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "timestamp.json");
}

/* TUF 5.4.3.2: a timestamp that pins an older snapshot */
static void rollback_director_snapshot_pinned(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 2, 2, 1);
	accept_bundle(s);
	set_versions(s, SCN_DIRECTOR, 3, 1, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "timestamp.json");
}

static void rollback_director_snapshot(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 2, 2, 1);
	accept_bundle(s);
	upt_trust_remove(&s->trust, "director/timestamp.json");
	set_versions(s, SCN_DIRECTOR, 3, 1, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "snapshot.json");
}

static void rollback_director_targets_listed(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 2, 2, 2);
	accept_bundle(s);
	set_versions(s, SCN_DIRECTOR, 3, 3, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "snapshot.json");
}

static void rollback_director_targets(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 2, 2, 2);
	accept_bundle(s);
	upt_trust_remove(&s->trust, "director/timestamp.json");
	upt_trust_remove(&s->trust, "director/snapshot.json");
	set_versions(s, SCN_DIRECTOR, 3, 3, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "targets.json");
}

/* the trusted copy expired long ago: its version still counts */
static void rollback_against_expired_trusted(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_DIRECTOR, 2, 2, 2);
	accept_bundle(s);
	upt_trust_remove(&s->trust, "director/timestamp.json");
	upt_trust_remove(&s->trust, "director/snapshot.json");
	s->now += 60 * SCN_DAY;
	for (int repo = 0; repo < SCN_REPOS; repo++)
		for (int r = 0; r < SCN_ROLES; r++)
			s->expires[repo][r] = s->now + 30 * SCN_DAY;
	scn_deleg_get(s, "supplier")->expires = s->now + 30 * SCN_DAY;
	s->issued = s->now - 60;
	set_versions(s, SCN_DIRECTOR, 3, 3, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "targets.json");
}

static void rollback_image_timestamp(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_IMAGE, 3, 1, 1);
	accept_bundle(s);
	set_versions(s, SCN_IMAGE, 2, 1, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "timestamp.json");
}

static void rollback_image_snapshot(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_IMAGE, 2, 2, 1);
	accept_bundle(s);
	upt_trust_remove(&s->trust, "image-repo/timestamp.json");
	set_versions(s, SCN_IMAGE, 3, 1, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "snapshot.json");
}

static void rollback_image_targets_listed(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_IMAGE, 2, 2, 2);
	accept_bundle(s);
	set_versions(s, SCN_IMAGE, 3, 3, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "snapshot.json");
}

static void rollback_image_targets(void **st)
{
	scn *s = *st;
	set_versions(s, SCN_IMAGE, 2, 2, 2);
	accept_bundle(s);
	upt_trust_remove(&s->trust, "image-repo/timestamp.json");
	upt_trust_remove(&s->trust, "image-repo/snapshot.json");
	set_versions(s, SCN_IMAGE, 3, 3, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "targets.json");
}

static void rollback_delegation_listed(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	scn_deleg_get(s, "supplier")->version = 2;
	accept_bundle(s);
	assert_true(has(&s->trust, "image-repo/delegations/supplier.json"));
	scn_deleg_get(s, "supplier")->version = 1;
	set_versions(s, SCN_IMAGE, 2, 2, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "snapshot.json");
}

static void rollback_delegation(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	scn_deleg_get(s, "supplier")->version = 2;
	accept_bundle(s);
	upt_trust_remove(&s->trust, "image-repo/timestamp.json");
	upt_trust_remove(&s->trust, "image-repo/snapshot.json");
	scn_deleg_get(s, "supplier")->version = 1;
	set_versions(s, SCN_IMAGE, 2, 2, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "delegations/supplier.json");
}

/* same version, other content: the trusted copy stays and the bundle is refused */
static void same_version_other_content(void **st)
{
	scn *s = *st;
	accept_bundle(s);
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "timestamp.json");
}

static void same_version_other_targets(void **st)
{
	scn *s = *st;
	accept_bundle(s);
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	set_versions(s, SCN_DIRECTOR, 2, 2, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, DIR_ "targets.json");
}

static void same_version_other_image_targets(void **st)
{
	scn *s = *st;
	accept_bundle(s);
	scn_target_add(s, "extra.bin", "board-a", 1, NULL);
	set_versions(s, SCN_IMAGE, 2, 2, 1);
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "targets.json");
}

/* the same metadata re-printed (pretty) and with an extra signature: nothing new, accepted,
 * and the trusted bytes stay */
static void same_version_reprinted(void **st)
{
	scn *s = *st;
	accept_bundle(s);
	upt_buf old;
	upt_buf_init(&old, 1u << 20);
	assert_int_equal(
	    upt_buf_copy(&old, upt_trust_get(&s->trust, "director/timestamp.json"), NULL), UPT_OK);
	build(s);
	const upt_buf *b = scn_get(s, DIR_ "timestamp.json");
	json_t *doc = NULL;
	assert_int_equal(upt_json_parse(b->data, b->len, 1u << 20, &doc, NULL), UPT_OK);
	char *pretty = json_dumps(doc, JSON_INDENT(4));
	json_decref(doc);
	assert_int_equal(scn_put(s, DIR_ "timestamp.json", pretty, strlen(pretty)), UPT_OK);
	free(pretty);
	scn_signers sg = {.n = 2};
	sg.s[0] = s->role[SCN_IMAGE][SCN_TIMESTAMP].k[0];
	sg.s[1] = scn_key(s);
	assert_int_equal(scn_resign(s, IMG_ "timestamp.json", NULL, 0, &sg), UPT_OK);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(upt_buf_equal(upt_trust_get(&r.trust_after, "director/timestamp.json"), &old));
	assert_true(upt_trust_equal(&r.trust_after, &s->trust));
	upt_verify_result_clear(&r);
	upt_buf_clear(&old);
}

/* ---- mix-and-match ---- */

static void director_snapshot_not_as_pinned(void **st)
{
	scn *s = *st;
	build(s);
	assert_int_equal(scn_resign(s, DIR_ "snapshot.json", e_add_field, 1, NULL), UPT_OK);
	expect(s, UPT_E_MIX_AND_MATCH, DIR_ "snapshot.json");
}

static void e_ts_length(scn *s, json_t *o)
{
	(void)s;
	json_t *e = json_object_get(json_object_get(o, "meta"), "snapshot.json");
	json_object_set_new(e, "length",
			    json_integer(json_integer_value(json_object_get(e, "length")) + 1));
}

static void director_snapshot_length(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "timestamp.json", e_ts_length);
	build(s);
	expect(s, UPT_E_MIX_AND_MATCH, DIR_ "snapshot.json");
}

static void e_ts_snapshot_version(scn *s, json_t *o)
{
	(void)s;
	json_t *e = json_object_get(json_object_get(o, "meta"), "snapshot.json");
	json_object_set_new(e, "version", json_integer(2));
}

static void director_snapshot_version(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "timestamp.json", e_ts_snapshot_version);
	build(s);
	expect(s, UPT_E_MIX_AND_MATCH, DIR_ "snapshot.json");
}

static void director_targets_version(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "targets.json", e_version2);
	build(s);
	expect(s, UPT_E_MIX_AND_MATCH, DIR_ "targets.json");
}

static void director_targets_not_as_pinned(void **st)
{
	scn *s = *st;
	build(s);
	assert_int_equal(scn_resign(s, DIR_ "targets.json", e_add_field, 1, NULL), UPT_OK);
	expect(s, UPT_E_MIX_AND_MATCH, DIR_ "targets.json");
}

static void director_snapshot_without_targets(void **st)
{
	scn *s = *st;
	edit(s, DIR_ "snapshot.json", e_drop_targets_entry);
	build(s);
	expect(s, UPT_E_MIX_AND_MATCH, DIR_ "targets.json");
}

/* a snapshot and timestamp from one build with the targets of another (older) build */
static void director_targets_from_other_bundle(void **st)
{
	scn *s = *st;
	build(s);
	upt_buf old;
	upt_buf_init(&old, 1u << 20);
	assert_int_equal(upt_buf_copy(&old, scn_get(s, DIR_ "targets.json"), NULL), UPT_OK);
	set_versions(s, SCN_DIRECTOR, 2, 2, 2);
	build(s);
	assert_int_equal(scn_put(s, DIR_ "targets.json", old.data, old.len), UPT_OK);
	upt_buf_clear(&old);
	expect(s, UPT_E_MIX_AND_MATCH, DIR_ "targets.json");
}

static void image_snapshot_not_as_pinned(void **st)
{
	scn *s = *st;
	build(s);
	assert_int_equal(scn_resign(s, IMG_ "snapshot.json", e_add_field, 1, NULL), UPT_OK);
	expect(s, UPT_E_MIX_AND_MATCH, IMG_ "snapshot.json");
}

static void image_targets_version(void **st)
{
	scn *s = *st;
	edit(s, IMG_ "targets.json", e_version2);
	build(s);
	expect(s, UPT_E_MIX_AND_MATCH, IMG_ "targets.json");
}

static void image_targets_not_as_pinned(void **st)
{
	scn *s = *st;
	build(s);
	assert_int_equal(scn_resign(s, IMG_ "targets.json", e_add_field, 1, NULL), UPT_OK);
	expect(s, UPT_E_MIX_AND_MATCH, IMG_ "targets.json");
}

static void delegation_version(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	edit(s, IMG_ "delegations/supplier.json", e_version2);
	build(s);
	expect(s, UPT_E_MIX_AND_MATCH, IMG_ "delegations/supplier.json");
}

static void delegation_not_as_pinned(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	build(s);
	assert_int_equal(scn_resign(s, IMG_ "delegations/supplier.json", e_add_field, 1, NULL),
			 UPT_OK);
	expect(s, UPT_E_MIX_AND_MATCH, IMG_ "delegations/supplier.json");
}

static void delegation_unlisted(void **st)
{
	scn *s = *st;
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	scn_deleg_get(s, "supplier")->unlisted = true;
	build(s);
	expect(s, UPT_E_MIX_AND_MATCH, IMG_ "delegations/supplier.json");
}

/* ---- time ---- */

static void clock_set_back(void **st)
{
	scn *s = *st;
	/* the RTC says now, the floor (signed evidence) says 60 days later: everything that
	 * expires in 30 days has expired */
	s->trust.time_floor = s->now + 60 * SCN_DAY;
	build(s);
	upt_verify_result r;
	expect_full(s, &s->trust, UPT_E_FREEZE, DIR_ "timestamp.json", 0, 0, &r);
	assert_true(r.clock_behind_floor);
	assert_int_equal(r.effective_time, s->now + 60 * SCN_DAY);
	upt_verify_result_clear(&r);
}

static void clock_behind_floor_valid(void **st)
{
	scn *s = *st;
	s->trust.time_floor = s->now + 10 * SCN_DAY;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_true(r.clock_behind_floor);
	assert_int_equal(r.effective_time, s->now + 10 * SCN_DAY);
	/* issued (an hour ago) never lowers the floor */
	assert_int_equal(r.trust_after.time_floor, s->now + 10 * SCN_DAY);
	upt_verify_result_clear(&r);
}

/* a verified issued later than the clock raises the time for the rest of the run */
static void issued_raises_time(void **st)
{
	scn *s = *st;
	s->issued = s->now + 20 * SCN_DAY;
	s->expires[SCN_DIRECTOR][SCN_TARGETS] = s->now + 10 * SCN_DAY;
	build(s);
	upt_verify_result r;
	expect_full(s, &s->trust, UPT_E_FREEZE, DIR_ "targets.json", 0, 0, &r);
	assert_int_equal(r.effective_time, s->now + 20 * SCN_DAY);
	assert_false(r.clock_behind_floor);
	upt_verify_result_clear(&r);
}

static void issued_raises_floor(void **st)
{
	scn *s = *st;
	s->issued = s->now + SCN_DAY;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(r.effective_time, s->now + SCN_DAY);
	assert_int_equal(r.trust_after.time_floor, s->now + SCN_DAY);
	upt_verify_result_clear(&r);
}

static void issued_absent(void **st)
{
	scn *s = *st;
	s->issued = -1;
	s->trust.time_floor = 1000;
	build(s);
	upt_verify_result r;
	run_ok(s, &r);
	assert_int_equal(r.trust_after.time_floor, 1000);
	assert_int_equal(r.effective_time, s->now);
	upt_verify_result_clear(&r);
}

/* an unverified issued (timestamp signed by nobody) raises nothing */
static void issued_unverified(void **st)
{
	scn *s = *st;
	s->issued = s->now + 20 * SCN_DAY;
	s->hook = hook_member_unsigned;
	s->hook_member = DIR_ "timestamp.json";
	build(s);
	upt_verify_result r;
	expect_full(s, &s->trust, UPT_E_ARBITRARY_SOFTWARE, DIR_ "timestamp.json", 0, 0, &r);
	assert_int_equal(r.effective_time, s->now);
	upt_verify_result_clear(&r);
}

/* the floor moves only on success: a later failure leaves the trusted floor alone */
static void issued_then_rejected(void **st)
{
	scn *s = *st;
	s->issued = s->now + SCN_DAY;
	s->ecus[0].release_counter = 5;
	build(s);
	expect(s, UPT_E_ROLLBACK, IMG_ "targets.json");
}

static void fleet_issued_raises_time(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->issued = s->now + 20 * SCN_DAY;
	s->expires[SCN_DIRECTOR][SCN_OFFUPD] = s->now + 10 * SCN_DAY;
	build(s);
	expect(s, UPT_E_FREEZE, OFFUPD);
}

/* ---- bundle layout and policy ---- */

static void policy_device_refused(void **st)
{
	scn *s = *st;
	s->dev.accept_device = false;
	build(s);
	expect(s, UPT_E_POLICY, NULL);
}

static void policy_fleet_refused(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	s->dev.accept_fleet = false;
	build(s);
	expect(s, UPT_E_POLICY, NULL);
}

static void layout_mixed(void **st)
{
	scn *s = *st;
	s->kind = SCN_MULTI;
	build(s);
	const upt_buf *b = scn_get(s, DIR_ "devices/VIN-1/timestamp.json");
	assert_int_equal(scn_put(s, DIR_ "timestamp.json", b->data, b->len), UPT_OK);
	expect(s, UPT_E_MALFORMED, NULL);
}

static void layout_device_and_fleet(void **st)
{
	scn *s = *st;
	s->kind = SCN_FLEET;
	build(s);
	upt_buf off, upd;
	upt_buf_init(&off, 1u << 20);
	upt_buf_init(&upd, 1u << 20);
	assert_int_equal(upt_buf_copy(&off, scn_get(s, OFFSNAP), NULL), UPT_OK);
	assert_int_equal(upt_buf_copy(&upd, scn_get(s, OFFUPD), NULL), UPT_OK);
	s->kind = SCN_DEVICE;
	build(s);
	assert_int_equal(scn_put(s, OFFSNAP, off.data, off.len), UPT_OK);
	assert_int_equal(scn_put(s, OFFUPD, upd.data, upd.len), UPT_OK);
	upt_buf_clear(&off);
	upt_buf_clear(&upd);
	expect(s, UPT_E_MALFORMED, NULL);
}

static void layout_no_director(void **st)
{
	scn *s = *st;
	build(s);
	scn_drop(s, DIR_ "timestamp.json");
	scn_drop(s, DIR_ "snapshot.json");
	scn_drop(s, DIR_ "targets.json");
	expect(s, UPT_E_MALFORMED, NULL);
}

static void layout_unknown_member(void **st)
{
	scn *s = *st;
	build(s);
	assert_int_equal(scn_put(s, IMG_ "root.json", "{}", 2), UPT_OK);
	expect(s, UPT_E_MALFORMED, IMG_ "root.json");
}

static void layout_root_leading_zero(void **st)
{
	scn *s = *st;
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	build(s);
	const upt_buf *b = scn_get(s, DIR_ "2.root.json");
	assert_int_equal(scn_put(s, DIR_ "02.root.json", b->data, b->len), UPT_OK);
	expect(s, UPT_E_MALFORMED, DIR_ "02.root.json");
}

static void layout_reserved_delegation_name(void **st)
{
	scn *s = *st;
	build(s);
	assert_int_equal(scn_put(s, IMG_ "delegations/targets.json", "{}", 2), UPT_OK);
	expect(s, UPT_E_MALFORMED, IMG_ "delegations/targets.json");
}

static void missing_director_targets(void **st)
{
	scn *s = *st;
	build(s);
	scn_drop(s, DIR_ "targets.json");
	expect(s, UPT_E_MALFORMED, DIR_ "targets.json");
}

static void missing_image_timestamp(void **st)
{
	scn *s = *st;
	s->omit_image_timestamp = true;
	build(s);
	expect(s, UPT_E_MALFORMED, IMG_ "timestamp.json");
}

static void missing_image_snapshot(void **st)
{
	scn *s = *st;
	build(s);
	scn_drop(s, IMG_ "snapshot.json");
	expect(s, UPT_E_MALFORMED, IMG_ "snapshot.json");
}

static void missing_image_targets(void **st)
{
	scn *s = *st;
	build(s);
	scn_drop(s, IMG_ "targets.json");
	expect(s, UPT_E_MALFORMED, IMG_ "snapshot.json");
}

/* ---- fuzz seeds: the framing of tests/fuzz/fuzz_verify.c, and the seed corpora ---- */

static void serialize(const scn *s, upt_buf *out)
{
	for (size_t i = 0; i < s->trust.nfiles; i++)
		assert_int_equal(fz_put(out, 'T', s->trust.files[i].name,
					s->trust.files[i].data.data, s->trust.files[i].data.len),
				 0);
	for (size_t i = 0; i < s->bundle.nfiles; i++)
		assert_int_equal(
		    fz_put(out, 'B', s->files[i].path, s->files[i].data.data, s->files[i].data.len),
		    0);
	assert_int_equal(fz_put_int64(out, 'F', s->trust.time_floor), 0);
	assert_int_equal(fz_put_int64(out, 'N', s->now), 0);
}

/* decode the framing as fuzz_verify does and verify: same verdict as the direct run */
static int run_framed(const upt_buf *in)
{
	static upt_bundle_file files[SCN_FILES_MAX];
	static char paths[SCN_FILES_MAX][256];
	upt_trust trust;
	upt_trust_init(&trust);
	upt_bundle_meta bm;
	memset(&bm, 0, sizeof(bm));
	static const upt_ecu_ident ecus[] = {
	    {.serial = "ecu-main", .hardware_id = "board-a"},
	    {.serial = "ecu-aux", .hardware_id = "board-b"},
	    {.serial = "sensor-01", .hardware_id = "sensor-y"},
	};
	upt_device_ident dev = {"VIN-1", ecus, 3, true, true, NULL, false};
	int64_t now = 0;
	size_t pos = 0, n = 0;
	fz_record r;
	while (fz_next(in->data, in->len, &pos, &r)) {
		if (r.kind == 'T')
			assert_int_equal(upt_trust_set(&trust, r.name, r.data, r.len, NULL),
					 UPT_OK);
		else if (r.kind == 'B') {
			snprintf(paths[n], sizeof(paths[n]), "%s", r.name);
			files[n].path = paths[n];
			files[n].data =
			    (upt_buf){(uint8_t *)(uintptr_t)r.data, r.len, r.len, r.len};
			n++;
		} else if (r.kind == 'F')
			trust.time_floor = fz_int64(&r);
		else if (r.kind == 'N')
			now = fz_int64(&r);
	}
	assert_int_equal(pos, in->len);
	bm.files = files;
	bm.nfiles = n;
	upt_verify_input vin = {&trust, &bm, &dev, now};
	upt_verify_result res;
	int rc = upt_verify(&vin, &res);
	upt_verify_result_clear(&res);
	upt_trust_clear(&trust);
	return rc;
}

static int meta_type_of(const char *member)
{
	if (strstr(member, ".root.json"))
		return UPT_ROLE_ROOT;
	if (strstr(member, "offline-snapshot"))
		return UPT_ROLE_OFFLINE_SNAPSHOT;
	if (strstr(member, "offline-updates/"))
		return UPT_ROLE_OFFLINE_UPDATES;
	if (strstr(member, "timestamp.json"))
		return UPT_ROLE_TIMESTAMP;
	if (strstr(member, "snapshot.json"))
		return UPT_ROLE_SNAPSHOT;
	return UPT_ROLE_TARGETS;
}

static void write_seed(const char *dir, const char *sub, const char *name, const void *p, size_t n)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/corpus_%s", dir, sub);
	assert_int_equal(upt_mkdir_p(AT_FDCWD, path, 0755, NULL), UPT_OK);
	snprintf(path, sizeof(path), "%s/corpus_%s/%s", dir, sub, name);
	assert_int_equal(upt_file_write_atomic(AT_FDCWD, path, p, n, 0644, NULL), UPT_OK);
}

/* Writes s as seeds (verify: the whole world; meta and json: each file). */
static void seed(scn *s, const char *name, int want)
{
	upt_buf b;
	upt_buf_init(&b, 64u << 20);
	serialize(s, &b);
	upt_verify_result r;
	int direct = scn_run(s, &r);
	if (direct != want)
		fprintf(stderr, "seed %s: %s: %s\n", name, r.err.file, r.err.msg);
	upt_verify_result_clear(&r);
	assert_int_equal(direct, want);
	assert_int_equal(run_framed(&b), direct);
	const char *dir = getenv("UPT_FUZZ_SEEDS");
	if (dir) {
		write_seed(dir, "verify", name, b.data, b.len);
		for (size_t i = 0; i < s->bundle.nfiles; i++) {
			char fname[256], *p;
			snprintf(fname, sizeof(fname), "%s-%s", name, s->files[i].path + 9);
			for (p = fname; *p; p++)
				if (*p == '/')
					*p = '_';
			upt_buf m;
			upt_buf_init(&m, 8u << 20);
			uint8_t t = (uint8_t)meta_type_of(s->files[i].path);
			assert_int_equal(upt_buf_append(&m, &t, 1, NULL), UPT_OK);
			assert_int_equal(
			    upt_buf_append(&m, s->files[i].data.data, s->files[i].data.len, NULL),
			    UPT_OK);
			write_seed(dir, "meta", fname, m.data, m.len);
			write_seed(dir, "json", fname, s->files[i].data.data, s->files[i].data.len);
			upt_buf_clear(&m);
		}
	}
	upt_buf_clear(&b);
}

static void fuzz_seeds(void **st)
{
	scn *s = *st;
	build(s);
	seed(s, "device", UPT_OK);
	scn_assign_add(s, "supplier/sensor-fw-1.bin", "sensor-01", "sensor-y");
	scn_deleg_add(s, "sub", "supplier", "supplier/sub/*")->terminating = true;
	scn_deleg_get(s, "supplier")->paths[1] = "supplier/*/*";
	scn_deleg_get(s, "supplier")->npaths = 2;
	build(s);
	seed(s, "delegated", UPT_OK);
	rotate_keys(s, SCN_DIRECTOR, SCN_TIMESTAMP);
	assert_int_equal(scn_rotate(s, SCN_DIRECTOR), UPT_OK);
	rotate_keys(s, SCN_IMAGE, SCN_ROOT);
	assert_int_equal(scn_rotate(s, SCN_IMAGE), UPT_OK);
	build(s);
	seed(s, "rotation", UPT_OK);
	assert_int_equal(scn_accept(s), UPT_OK);
	set_versions(s, SCN_DIRECTOR, 2, 2, 2);
	build(s);
	seed(s, "stored-state", UPT_OK);
	assert_int_equal(scn_accept(s), UPT_OK);
	set_versions(s, SCN_DIRECTOR, 1, 1, 1);
	build(s);
	seed(s, "rollback", UPT_E_ROLLBACK);
	set_versions(s, SCN_DIRECTOR, 3, 3, 3);
	s->kind = SCN_FLEET;
	snprintf(s->offsnap_extra[0].name, sizeof(s->offsnap_extra[0].name), "campaign-b");
	s->offsnap_extra[0].version = 3;
	s->noffsnap_extra = 1;
	s->as[0].devices[0] = "VIN-1";
	s->as[0].ndevices = 1;
	s->as[2].fleet_hw[0] = "sensor-y";
	s->as[2].nfleet_hw = 1;
	build(s);
	seed(s, "fleet", UPT_OK);
	s->kind = SCN_MULTI;
	snprintf(s->others[0], sizeof(s->others[0]), "VIN-2");
	s->nothers = 1;
	build(s);
	seed(s, "multi", UPT_OK);
	s->multi_without_self = true;
	build(s);
	seed(s, "multi-other", UPT_E_NOT_FOR_DEVICE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(wrong_type_director_timestamp),
	    T(wrong_type_image_targets),
	    T(wrong_type_root),
	    T(key_listed_twice_delegation),
	    T(key_listed_twice_root),
	    T(keyid_mismatch_root),
	    T(keyid_mismatch_delegation),
	    T(spec_version_unsupported),
	    T(issued_after_expires),
	    T(not_json),
	    T(unsigned_timestamp),
	    T(unknown_signer),
	    T(wrong_role_key_director),
	    T(wrong_repo_key_image),
	    T(corrupted_signature),
	    T(unknown_key_type),
	    T(rollback_director_timestamp),
	    T(rollback_director_snapshot_pinned),
	    T(rollback_director_snapshot),
	    T(rollback_director_targets_listed),
	    T(rollback_director_targets),
	    T(rollback_against_expired_trusted),
	    T(rollback_image_timestamp),
	    T(rollback_image_snapshot),
	    T(rollback_image_targets_listed),
	    T(rollback_image_targets),
	    T(rollback_delegation_listed),
	    T(rollback_delegation),
	    T(same_version_other_content),
	    T(same_version_other_targets),
	    T(same_version_other_image_targets),
	    T(same_version_reprinted),
	    T(director_snapshot_not_as_pinned),
	    T(director_snapshot_length),
	    T(director_snapshot_version),
	    T(director_targets_version),
	    T(director_targets_not_as_pinned),
	    T(director_snapshot_without_targets),
	    T(director_targets_from_other_bundle),
	    T(image_snapshot_not_as_pinned),
	    T(image_targets_version),
	    T(image_targets_not_as_pinned),
	    T(delegation_version),
	    T(delegation_not_as_pinned),
	    T(delegation_unlisted),
	    T(clock_set_back),
	    T(clock_behind_floor_valid),
	    T(issued_raises_time),
	    T(issued_raises_floor),
	    T(issued_absent),
	    T(issued_unverified),
	    T(issued_then_rejected),
	    T(fleet_issued_raises_time),
	    T(policy_device_refused),
	    T(policy_fleet_refused),
	    T(layout_mixed),
	    T(layout_device_and_fleet),
	    T(layout_no_director),
	    T(layout_unknown_member),
	    T(layout_root_leading_zero),
	    T(layout_reserved_delegation_name),
	    T(missing_director_targets),
	    T(missing_image_timestamp),
	    T(missing_image_snapshot),
	    T(missing_image_targets),
	    T(fuzz_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
