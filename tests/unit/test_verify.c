/*
 * Unit tests of the verification engine: one scenario per attack or fault, generated with the
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "upt/cjson.h"
#include "upt/limits.h"
#include "upt/meta.h"

#define DIR_ "metadata/director/"
#define IMG_ "metadata/image-repo/"

static const char *const root_names[SCN_REPOS] = {"director/root.json", "image-repo/root.json"};

static int setup(void **state)
{
	scn *s = scn_new();
	if (!s)
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	scn_free(*state);
	return 0;
}

static uint64_t root_version(const upt_trust *t, enum scn_repo repo)
{
	const upt_buf *b = upt_trust_get(t, root_names[repo]);
	assert_non_null(b);
	upt_meta *m = NULL;
	assert_int_equal(upt_meta_parse(b->data, b->len, UPT_ROLE_ROOT, &m, NULL), UPT_OK);
	uint64_t v = m->version;
	upt_meta_free(m);
	return v;
}

/* trust_after == before, except the roots, which must be at versions dv / iv (0: as before). */
static void assert_state(scn *s, const upt_trust *before, const upt_trust *after, uint64_t dv,
			 uint64_t iv)
{
	uint64_t want[SCN_REPOS] = {dv, iv};
	upt_trust cmp;
	upt_trust_init(&cmp);
	assert_int_equal(upt_trust_copy(&cmp, after, NULL), UPT_OK);
	for (int repo = 0; repo < SCN_REPOS; repo++) {
		uint64_t v = want[repo] ? want[repo] : root_version(before, repo);
		assert_int_equal(root_version(after, repo), v);
		const upt_buf *b = upt_trust_get(after, root_names[repo]);
		if (v <= s->nroots[repo] && want[repo])
			assert_true(upt_buf_equal(b, &s->roots[repo][v]));
		const upt_buf *old = upt_trust_get(before, root_names[repo]);
		assert_int_equal(upt_trust_set(&cmp, root_names[repo], old->data, old->len, NULL), UPT_OK);
	}
	if (!upt_trust_equal(&cmp, before)) {
		for (size_t i = 0; i < after->nfiles; i++)
			fprintf(stderr, "after: %s\n", after->files[i].name);
		for (size_t i = 0; i < before->nfiles; i++)
			fprintf(stderr, "before: %s\n", before->files[i].name);
		fail_msg("trust_after differs from the input state");
	}
	upt_trust_clear(&cmp);
}

/* Runs, asserts code, member and state; *keep (optional) receives the result to inspect. */
static void expect_full(scn *s, const upt_trust *before, int code, const char *file, uint64_t dv,
			uint64_t iv, upt_verify_result *keep)
{
	upt_verify_result r;
	int rc = scn_run(s, &r);
	if (rc != code || getenv("UPT_TEST_VERBOSE"))
		fprintf(stderr, "got %s (%d): [%s] %s\n", upt_err_class(rc), rc, r.err.file, r.err.msg);
	assert_int_equal(rc, code);
	assert_int_equal(r.code, code);
	assert_int_equal(r.err.code, code);
	assert_true(strlen(r.err.msg) > 10);
	if (file)
		assert_string_equal(r.err.file, file);
	assert_int_equal(r.nassignments, 0);
	assert_null(r.assignments);
	assert_state(s, before, &r.trust_after, dv, iv);
	assert_int_equal(r.trust_after.time_floor, s->trust.time_floor);
	assert_int_equal(r.roots_changed, dv != 0 || iv != 0);
	if (keep)
		*keep = r;
	else
		upt_verify_result_clear(&r);
}

static void expect_roots(scn *s, int code, const char *file, uint64_t dv, uint64_t iv)
{
	expect_full(s, &s->trust, code, file, dv, iv, NULL);
}

static void expect(scn *s, int code, const char *file)
{
	expect_roots(s, code, file, 0, 0);
}

static void build(scn *s)
{
	assert_int_equal(scn_build(s), UPT_OK);
}

static void accept_bundle(scn *s)
{
	build(s);
	assert_int_equal(scn_accept(s), UPT_OK);
}

static const upt_assignment *find_assignment(const upt_verify_result *r, const char *ecu)
{
	for (size_t i = 0; i < r->nassignments; i++)
		if (strcmp(r->assignments[i].ecu_serial, ecu) == 0)
			return &r->assignments[i];
	return NULL;
}

static void assert_assigned(scn *s, const upt_verify_result *r, const char *ecu, const char *target)
{
	const upt_assignment *a = find_assignment(r, ecu);
	assert_non_null(a);
	assert_string_equal(a->target_name, target);
	const scn_target *t = scn_target_get(s, target);
	assert_non_null(t);
	assert_int_equal(a->length, t->length);
	assert_true(upt_hashes_identical(&a->hashes, &t->hashes));
	assert_int_equal(a->release_counter, t->rc);
}

/* Runs and expects success; returns the result (caller clears). */
static void run_ok(scn *s, upt_verify_result *r)
{
	int rc = scn_run(s, r);
	if (rc != UPT_OK)
		fprintf(stderr, "got %s: %s: %s\n", upt_err_class(rc), r->err.file, r->err.msg);
	assert_int_equal(rc, UPT_OK);
	assert_int_equal(r->err.file[0], '\0');
}

static bool has(const upt_trust *t, const char *name)
{
	return upt_trust_get(t, name) != NULL;
}

/* ---- hooks ---- */

static void hook_member_expired(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)sg;
	if (strcmp(member, s->hook_member) == 0)
		scn_set_time(o, "expires", s->now - 60);
}

static void hook_member_version(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)sg;
	if (strcmp(member, s->hook_member) == 0)
		scn_set_int(o, "version", s->hook_arg);
}

static void hook_member_type(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)sg;
	if (strcmp(member, s->hook_member) == 0)
		json_object_set_new(o, "_type", json_string("snapshot"));
}

static void hook_member_unsigned(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)o;
	if (strcmp(member, s->hook_member) == 0)
		sg->n = 0;
}

/* signed by key hook_arg of the pool instead */
static void hook_member_signer(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)o;
	if (strcmp(member, s->hook_member) == 0) {
		sg->n = 1;
		sg->s[0] = s->pool[s->hook_arg];
	}
}

static void hook_keep_first_signer(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)o;
	if (strcmp(member, s->hook_member) == 0 && sg->n > 1)
		sg->n = 1;
}

static void hook_drop_last_signer(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)o;
	if (strcmp(member, s->hook_member) == 0 && sg->n > 0)
		sg->n--;
}

static size_t pool_index(scn *s, const upt_signer *k)
{
	for (size_t i = 0; i < s->npool; i++)
		if (s->pool[i] == k)
			return i;
	fail_msg("key not in pool");
	return 0;
}

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
	assert_int_equal(upt_trust_set(&s->trust, "director/root.json", "{\"x\":1}", 7, NULL), UPT_OK);
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

static void rotate_keys(scn *s, enum scn_repo repo, enum scn_role role)
{
	s->role[repo][role].k[0] = scn_key(s);
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
	upt_bundle_meta big = {s->bundle.bundle_json, many, n};
	upt_verify_input in = {&s->trust, &big, &s->dev, s->now};
	upt_verify_result r;
	assert_int_equal(upt_verify(&in, &r), UPT_E_TOO_LARGE);
	assert_true(upt_trust_equal(&r.trust_after, &s->trust));
	upt_verify_result_clear(&r);
}

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
		"director/root.json", "director/timestamp.json", "director/snapshot.json",
		"director/targets.json", "image-repo/root.json", "image-repo/timestamp.json",
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


/* ---- generic edit hook: g_edit applied to hook_member's signed object ---- */

static void (*g_edit)(scn *s, json_t *o);

static void hook_edit(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)sg;
	if (strcmp(member, s->hook_member) == 0)
		g_edit(s, o);
}

static void edit(scn *s, const char *member, void (*fn)(scn *, json_t *))
{
	s->hook = hook_edit;
	s->hook_member = member;
	g_edit = fn;
}

static void sign_with(scn *s, const char *member, const upt_signer *k)
{
	s->hook = hook_member_signer;
	s->hook_member = member;
	s->hook_arg = (long long)pool_index(s, k);
}

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
	json_t *role = json_array_get(json_object_get(json_object_get(o, "delegations"), "roles"), 0);
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
	json_t *ids = json_object_get(json_object_get(json_object_get(o, "roles"), "timestamp"), "keyids");
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
	json_t *k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "rsa", "scheme", "rsassa-pss-sha256",
			      "keyval", "public", "-----BEGIN PUBLIC KEY-----");
	upt_key dummy;
	char id[65];
	assert_int_equal(upt_keyid(k, id, NULL), UPT_OK);
	(void)dummy;
	json_object_set_new(json_object_get(o, "keys"), id, k);
	json_t *ids = json_object_get(json_object_get(json_object_get(o, "roles"), "timestamp"), "keyids");
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

static void set_versions(scn *s, enum scn_repo repo, uint64_t ts, uint64_t sn, uint64_t tg)
{
	s->version[repo][SCN_TIMESTAMP] = ts;
	s->version[repo][SCN_SNAPSHOT] = sn;
	s->version[repo][SCN_TARGETS] = tg;
}

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
	assert_int_equal(upt_buf_copy(&old, upt_trust_get(&s->trust, "director/timestamp.json"), NULL),
			 UPT_OK);
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

static void e_add_field(json_t *o, long long arg)
{
	json_object_set_new(o, "x-note", json_integer(arg));
}

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
	json_object_set_new(e, "length", json_integer(json_integer_value(json_object_get(e, "length")) + 1));
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

static void e_version2(scn *s, json_t *o)
{
	(void)s;
	scn_set_int(o, "version", 2);
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

static void e_drop_targets_entry(scn *s, json_t *o)
{
	(void)s;
	json_object_del(json_object_get(o, "meta"), "targets.json");
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
	assert_int_equal(scn_resign(s, IMG_ "delegations/supplier.json", e_add_field, 1, NULL), UPT_OK);
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
		T(image_snapshot_drops_role),
		T(director_snapshot_drops_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
