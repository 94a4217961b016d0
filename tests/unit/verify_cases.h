/*
 * verify_cases: what the verification engine's scenario tests share (test_verify.c,
 * test_verify_root.c, test_verify_director.c, test_verify_image.c): cmocka set-up around a
 * scenario (scenario.h), the expectation helpers (rejection class, failing member, trusted
 * state byte for byte except the accepted roots), signing hooks and common edits.
 */
#ifndef UPT_TEST_VERIFY_CASES_H
#define UPT_TEST_VERIFY_CASES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "scenario.h"
#include "upt/verify.h"

#define DIR_ "metadata/director/"
#define IMG_ "metadata/image-repo/"
#define OFFSNAP DIR_ "offline-snapshot.json"
#define OFFUPD DIR_ "offline-updates/campaign-a.json"

extern const char *const root_names[SCN_REPOS];

int setup(void **state);
int teardown(void **state);
uint64_t root_version(const upt_trust *t, enum scn_repo repo);
void assert_state(scn *s, const upt_trust *before, const upt_trust *after, uint64_t dv,
		  uint64_t iv);
void expect_full(scn *s, const upt_trust *before, int code, const char *file, uint64_t dv,
		 uint64_t iv, upt_verify_result *keep);
void expect_roots(scn *s, int code, const char *file, uint64_t dv, uint64_t iv);
void expect(scn *s, int code, const char *file);
void build(scn *s);
void accept_bundle(scn *s);
const upt_assignment *find_assignment(const upt_verify_result *r, const char *ecu);
void assert_assigned(scn *s, const upt_verify_result *r, const char *ecu, const char *target);
void run_ok(scn *s, upt_verify_result *r);
bool has(const upt_trust *t, const char *name);
void hook_member_version(scn *s, const char *member, json_t *o, scn_signers *sg);
void hook_member_type(scn *s, const char *member, json_t *o, scn_signers *sg);
void hook_member_unsigned(scn *s, const char *member, json_t *o, scn_signers *sg);
void hook_member_signer(scn *s, const char *member, json_t *o, scn_signers *sg);
void hook_keep_first_signer(scn *s, const char *member, json_t *o, scn_signers *sg);
void hook_drop_last_signer(scn *s, const char *member, json_t *o, scn_signers *sg);
size_t pool_index(scn *s, const upt_signer *k);

extern void (*g_edit)(scn *s, json_t *o);
void hook_edit(scn *s, const char *member, json_t *o, scn_signers *sg);
void edit(scn *s, const char *member, void (*fn)(scn *, json_t *));
void sign_with(scn *s, const char *member, const upt_signer *k);
void rotate_keys(scn *s, enum scn_repo repo, enum scn_role role);
void set_versions(scn *s, enum scn_repo repo, uint64_t ts, uint64_t sn, uint64_t tg);
void e_add_field(json_t *o, long long arg);
void e_version2(scn *s, json_t *o);
void e_drop_targets_entry(scn *s, json_t *o);
json_t *dtarget(json_t *o, const char *name);
void e_director_delegates(scn *s, json_t *o);

#endif
