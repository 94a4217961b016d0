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
		assert_int_equal(upt_trust_set(&cmp, root_names[repo], old->data, old->len, NULL),
				 UPT_OK);
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
		fprintf(stderr, "got %s (%d): [%s] %s\n", upt_err_class(rc), rc, r.err.file,
			r.err.msg);
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
	upt_bundle_meta big = {.bundle_json = s->bundle.bundle_json, .files = many, .nfiles = n};
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

static json_t *dtarget(json_t *o, const char *name)
{
	return json_object_get(json_object_get(o, "targets"), name);
}

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

static void e_director_delegates(scn *s, json_t *o)
{
	(void)s;
	json_object_set_new(o, "delegations", json_pack("{s:{}, s:[]}", "keys", "roles"));
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

/* ---- fleet bundles (PURE-2) ---- */

#define OFFSNAP DIR_ "offline-snapshot.json"
#define OFFUPD DIR_ "offline-updates/campaign-a.json"

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
	    T(ecu_not_on_device),
	    T(ecu_twice),
	    T(one_target_two_ecus),
	    T(another_device),
	    T(another_device_older_sequence),
	    T(another_device_unsigned),
	    T(director_without_device_id),
	    T(director_delegations),
	    T(director_target_without_ecu),
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
	    T(multi_valid),
	    T(multi_not_included),
	    T(multi_set_for_other_device),
	    T(multi_other_set_broken),
	    T(multi_incomplete_set),
	    T(multi_bad_device_dir),
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
	    T(fuzz_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
