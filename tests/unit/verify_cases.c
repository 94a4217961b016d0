/* verify_cases: the scenario tests' shared helpers (verify_cases.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_cases.h"
#include "../fuzz/fuzz_format.h"
#include "upt/fileio.h"
#include "upt/cjson.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/meta.h"

const char *const root_names[SCN_REPOS] = {"director/root.json", "image-repo/root.json"};

int setup(void **state)
{
	scn *s = scn_new();
	if (!s)
		return -1;
	*state = s;
	return 0;
}

int teardown(void **state)
{
	scn_free(*state);
	return 0;
}

uint64_t root_version(const upt_trust *t, enum scn_repo repo)
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
void assert_state(scn *s, const upt_trust *before, const upt_trust *after, uint64_t dv, uint64_t iv)
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
void expect_full(scn *s, const upt_trust *before, int code, const char *file, uint64_t dv,
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

void expect_roots(scn *s, int code, const char *file, uint64_t dv, uint64_t iv)
{
	expect_full(s, &s->trust, code, file, dv, iv, NULL);
}

void expect(scn *s, int code, const char *file)
{
	expect_roots(s, code, file, 0, 0);
}

void build(scn *s)
{
	assert_int_equal(scn_build(s), UPT_OK);
}

void accept_bundle(scn *s)
{
	build(s);
	assert_int_equal(scn_accept(s), UPT_OK);
}

const upt_assignment *find_assignment(const upt_verify_result *r, const char *ecu)
{
	for (size_t i = 0; i < r->nassignments; i++)
		if (strcmp(r->assignments[i].ecu_serial, ecu) == 0)
			return &r->assignments[i];
	return NULL;
}

void assert_assigned(scn *s, const upt_verify_result *r, const char *ecu, const char *target)
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
void run_ok(scn *s, upt_verify_result *r)
{
	int rc = scn_run(s, r);
	if (rc != UPT_OK)
		fprintf(stderr, "got %s: %s: %s\n", upt_err_class(rc), r->err.file, r->err.msg);
	assert_int_equal(rc, UPT_OK);
	assert_int_equal(r->err.file[0], '\0');
}

bool has(const upt_trust *t, const char *name)
{
	return upt_trust_get(t, name) != NULL;
}

/* ---- hooks ---- */

void hook_member_version(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)sg;
	if (strcmp(member, s->hook_member) == 0)
		scn_set_int(o, "version", s->hook_arg);
}

void hook_member_type(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)sg;
	if (strcmp(member, s->hook_member) == 0)
		json_object_set_new(o, "_type", json_string("snapshot"));
}

void hook_member_unsigned(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)o;
	if (strcmp(member, s->hook_member) == 0)
		sg->n = 0;
}

/* signed by key hook_arg of the pool instead */
void hook_member_signer(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)o;
	if (strcmp(member, s->hook_member) == 0) {
		sg->n = 1;
		sg->s[0] = s->pool[s->hook_arg];
	}
}

void hook_keep_first_signer(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)o;
	if (strcmp(member, s->hook_member) == 0 && sg->n > 1)
		sg->n = 1;
}

void hook_drop_last_signer(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)o;
	if (strcmp(member, s->hook_member) == 0 && sg->n > 0)
		sg->n--;
}

size_t pool_index(scn *s, const upt_signer *k)
{
	for (size_t i = 0; i < s->npool; i++)
		if (s->pool[i] == k)
			return i;
	fail_msg("key not in pool");
	return 0;
}

/* ---- generic edit hook: g_edit applied to hook_member's signed object ---- */

void (*g_edit)(scn *s, json_t *o);

void hook_edit(scn *s, const char *member, json_t *o, scn_signers *sg)
{
	(void)sg;
	if (strcmp(member, s->hook_member) == 0)
		g_edit(s, o);
}

void edit(scn *s, const char *member, void (*fn)(scn *, json_t *))
{
	s->hook = hook_edit;
	s->hook_member = member;
	g_edit = fn;
}

void sign_with(scn *s, const char *member, const upt_signer *k)
{
	s->hook = hook_member_signer;
	s->hook_member = member;
	s->hook_arg = (long long)pool_index(s, k);
}

void rotate_keys(scn *s, enum scn_repo repo, enum scn_role role)
{
	s->role[repo][role].k[0] = scn_key(s);
}

void set_versions(scn *s, enum scn_repo repo, uint64_t ts, uint64_t sn, uint64_t tg)
{
	s->version[repo][SCN_TIMESTAMP] = ts;
	s->version[repo][SCN_SNAPSHOT] = sn;
	s->version[repo][SCN_TARGETS] = tg;
}

void e_add_field(json_t *o, long long arg)
{
	json_object_set_new(o, "x-note", json_integer(arg));
}

void e_version2(scn *s, json_t *o)
{
	(void)s;
	scn_set_int(o, "version", 2);
}

void e_drop_targets_entry(scn *s, json_t *o)
{
	(void)s;
	json_object_del(json_object_get(o, "meta"), "targets.json");
}

json_t *dtarget(json_t *o, const char *name)
{
	return json_object_get(json_object_get(o, "targets"), name);
}

void e_director_delegates(scn *s, json_t *o)
{
	(void)s;
	json_object_set_new(o, "delegations", json_pack("{s:{}, s:[]}", "keys", "roles"));
}
