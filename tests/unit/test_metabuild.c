/* Unit tests: building and signing every role (metabuild.c), checked by parsing the result back
 * (meta.c) and checking its signatures (sig.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/cjson.h"
#include "upt/hash.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/metabuild.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"

#define EXPIRES 1924992000 /* 2031-01-01T00:00:00Z */
#define ISSUED 1799971200  /* 2027-01-15T00:00:00Z */

static upt_signer *gen(void)
{
	upt_signer *s = NULL;
	assert_int_equal(upt_signer_generate(&s, NULL), UPT_OK);
	return s;
}

/* Signs, parses back as type and returns the record (file bytes in *file when not NULL). */
static upt_meta *sign_parse(json_t *sig, const upt_signer *const *signers, size_t n,
			    upt_role_type type, upt_buf *file)
{
	upt_buf b;
	upt_buf_init(&b, UPT_META_FILE_MAX);
	upt_err e;
	int rc = upt_mb_sign(sig, signers, n, &b, &e);
	if (rc)
		fprintf(stderr, "sign: %s\n", e.msg);
	assert_int_equal(rc, UPT_OK);
	upt_meta *m = NULL;
	rc = upt_meta_parse(b.data, b.len, type, &m, &e);
	if (rc)
		fprintf(stderr, "parse: %s\n", e.msg);
	assert_int_equal(rc, UPT_OK);
	if (file)
		*file = b;
	else
		upt_buf_clear(&b);
	return m;
}

static void threshold_ok(const upt_meta *m, const upt_meta *root, const char *role)
{
	upt_err e;
	int rc = upt_sig_check_threshold(m, root->keys, root->nkeys, upt_meta_role(root, role),
					 NULL, &e);
	if (rc)
		fprintf(stderr, "%s: %s\n", role, e.msg);
	assert_int_equal(rc, UPT_OK);
}

static void root_every_role(void **state)
{
	(void)state;
	upt_signer *k[7];
	for (int i = 0; i < 7; i++)
		k[i] = gen();
	upt_key rootkeys[2] = {*upt_signer_key(k[0]), *upt_signer_key(k[1])};
	upt_key one[5];
	for (int i = 0; i < 5; i++)
		one[i] = *upt_signer_key(k[2 + i]);
	upt_mb_role roles[] = {
	    {"root", rootkeys, 2, 2},
	    {"timestamp", &one[0], 1, 1},
	    {"snapshot", &one[1], 1, 1},
	    {"targets", &one[2], 1, 1},
	    {"offline-snapshot", &one[3], 1, 1},
	    {"offline-updates", &one[4], 1, 1},
	};
	json_t *s = upt_mb_root(5, EXPIRES, roles, 6);
	assert_non_null(s);
	const upt_signer *signers[] = {k[0], k[1]};
	upt_meta *m = sign_parse(s, signers, 2, UPT_ROLE_ROOT, NULL);
	assert_int_equal(m->version, 5);
	assert_int_equal(m->expires, EXPIRES);
	assert_int_equal(m->nkeys, 7);
	assert_int_equal(m->nroles, 6);
	assert_int_equal(m->nsigs, 2);
	assert_string_equal(json_string_value(json_object_get(m->signed_obj, "spec_version")),
			    "1.0.31");
	for (size_t i = 0; i < 6; i++) {
		const upt_role_keys *r = upt_meta_role(m, roles[i].name);
		assert_non_null(r);
		assert_int_equal(r->threshold, roles[i].threshold);
		assert_int_equal(r->nkeyids, roles[i].nkeys);
		for (size_t j = 0; j < r->nkeyids; j++) {
			assert_string_equal(r->keyids[j], roles[i].keys[j].keyid);
			/* every key the builder writes is the three-field object */
			const upt_key *key = upt_meta_key(m, r->keyids[j]);
			assert_non_null(key);
			assert_true(key->ed25519);
		}
	}
	threshold_ok(m, m, "root");
	/* one root signature short of 2 */
	upt_meta *m1 = sign_parse(s, signers, 1, UPT_ROLE_ROOT, NULL);
	uint64_t valid;
	assert_int_equal(upt_sig_check_threshold(m1, m1->keys, m1->nkeys, upt_meta_role(m1, "root"),
						 &valid, NULL),
			 UPT_E_ARBITRARY_SOFTWARE);
	assert_int_equal(valid, 1);
	upt_meta_free(m1);
	upt_meta_free(m);
	json_decref(s);

	/* a key shared by two roles is written once; a non-ed25519 key cannot be written */
	upt_mb_role shared[] = {{"root", rootkeys, 1, 1},
				{"timestamp", rootkeys, 1, 1},
				{"snapshot", rootkeys, 2, 1},
				{"targets", rootkeys, 1, 1}};
	s = upt_mb_root(1, EXPIRES, shared, 4);
	assert_non_null(s);
	assert_int_equal(json_object_size(json_object_get(s, "keys")), 2);
	json_decref(s);
	upt_key bad = rootkeys[0];
	bad.ed25519 = false;
	shared[0].keys = &bad;
	assert_null(upt_mb_root(1, EXPIRES, shared, 4));
	for (int i = 0; i < 7; i++)
		upt_signer_free(k[i]);
}

static void chain_timestamp_snapshot_targets(void **state)
{
	(void)state;
	upt_signer *ts = gen(), *sn = gen(), *tg = gen();
	/* targets with every custom field (device Director and Image repo forms) */
	json_t *t = upt_mb_targets(UPT_ROLE_TARGETS, 4, EXPIRES, "VIN-0001");
	assert_non_null(t);
	upt_mb_target a = {.name = "fw/main.bin", .length = 300000};
	assert_int_equal(upt_hash_all("x", 1, &a.hashes, NULL), UPT_OK);
	const char *hw[] = {"board-a", "board-b"};
	a.hardware_ids = hw;
	a.nhardware_ids = 2;
	a.has_release_counter = true;
	a.release_counter = 7;
	assert_int_equal(upt_mb_targets_add(t, &a, NULL), UPT_OK);
	upt_ecu_binding ecus[] = {{"ecu-1", "board-a"}, {"ecu-2", "board-b"}};
	upt_mb_target b = {.name = "aux.bin", .length = 0, .ecus = ecus, .necus = 2};
	assert_int_equal(upt_sha256("", 0, b.hashes.sha256, NULL), UPT_OK);
	b.hashes.has_sha256 = true;
	assert_int_equal(upt_mb_targets_add(t, &b, NULL), UPT_OK);
	upt_mb_target plain = {.name = "plain.bin", .length = 9, .hashes = b.hashes};
	assert_int_equal(upt_mb_targets_add(t, &plain, NULL), UPT_OK);
	/* a target without custom fields has no "custom" object */
	assert_null(
	    json_object_get(json_object_get(json_object_get(t, "targets"), "plain.bin"), "custom"));

	upt_buf tfile;
	const upt_signer *tgs[] = {tg};
	upt_meta *tm = sign_parse(t, tgs, 1, UPT_ROLE_TARGETS, &tfile);
	assert_string_equal(tm->device_id, "VIN-0001");
	assert_int_equal(tm->ntargets, 3);
	const upt_target *pa = upt_meta_target(tm, "fw/main.bin");
	assert_non_null(pa);
	assert_int_equal(pa->length, 300000);
	assert_true(upt_hashes_identical(&pa->hashes, &a.hashes)); /* sha256 and sha512 */
	assert_true(pa->has_hardware_ids);
	assert_int_equal(pa->nhardware_ids, 2);
	assert_string_equal(pa->hardware_ids[0], "board-a");
	assert_true(pa->has_release_counter);
	assert_int_equal(pa->release_counter, 7);
	assert_false(pa->has_ecus || pa->has_device_ids);
	const upt_target *pb = upt_meta_target(tm, "aux.bin");
	assert_true(pb->has_ecus);
	assert_int_equal(pb->necus, 2);
	assert_false(pb->has_release_counter);

	/* snapshot pins targets; timestamp pins snapshot (length and sha256 of the bytes) */
	upt_mb_fileref tref = {"targets.json", 4, tfile.data, tfile.len};
	json_t *s = upt_mb_snapshot(UPT_ROLE_SNAPSHOT, 6, EXPIRES, &tref, 1, -1);
	assert_non_null(s);
	assert_null(json_object_get(s, "issued"));
	upt_buf sfile;
	const upt_signer *sns[] = {sn};
	upt_meta *sm = sign_parse(s, sns, 1, UPT_ROLE_SNAPSHOT, &sfile);
	const upt_fileinfo *fi = upt_meta_file(sm, "targets.json");
	assert_non_null(fi);
	assert_int_equal(fi->version, 4);
	assert_true(fi->has_length);
	assert_int_equal(fi->length, tfile.len);
	upt_hashes h;
	assert_int_equal(upt_hash_all(tfile.data, tfile.len, &h, NULL), UPT_OK);
	assert_true(upt_hashes_match(&fi->hashes, &h));

	upt_mb_fileref sref = {"snapshot.json", 6, sfile.data, sfile.len};
	json_t *tsj = upt_mb_timestamp(9, EXPIRES, &sref, ISSUED);
	const upt_signer *tss[] = {ts};
	upt_meta *tsm = sign_parse(tsj, tss, 1, UPT_ROLE_TIMESTAMP, NULL);
	assert_int_equal(tsm->version, 9);
	assert_true(tsm->has_issued);
	assert_int_equal(tsm->issued, ISSUED);
	fi = upt_meta_file(tsm, "snapshot.json");
	assert_int_equal(fi->version, 6);
	assert_int_equal(fi->length, sfile.len);
	assert_int_equal(upt_hash_all(sfile.data, sfile.len, &h, NULL), UPT_OK);
	assert_true(upt_hashes_match(&fi->hashes, &h));

	/* signatures verify against the right keys only */
	uint64_t valid;
	upt_role_keys rk = {.name = "timestamp", .nkeyids = 1, .threshold = 1};
	const char *id = upt_signer_key(ts)->keyid;
	rk.keyids = &id;
	upt_key tskey = *upt_signer_key(ts), snkey = *upt_signer_key(sn);
	assert_int_equal(upt_sig_check_threshold(tsm, &tskey, 1, &rk, &valid, NULL), UPT_OK);
	assert_int_equal(upt_sig_check_threshold(sm, &snkey, 1, &rk, &valid, NULL),
			 UPT_E_ARBITRARY_SOFTWARE);

	upt_meta_free(tsm);
	upt_meta_free(sm);
	upt_meta_free(tm);
	upt_buf_clear(&tfile);
	upt_buf_clear(&sfile);
	json_decref(tsj);
	json_decref(s);
	json_decref(t);
	upt_signer_free(ts);
	upt_signer_free(sn);
	upt_signer_free(tg);
}

static void offline_roles(void **state)
{
	(void)state;
	upt_signer *k = gen();
	const upt_signer *ks[] = {k};
	json_t *ou = upt_mb_targets(UPT_ROLE_OFFLINE_UPDATES, 2, EXPIRES, NULL);
	assert_null(json_object_get(ou, "deviceId"));
	upt_mb_target t = {.name = "fw.bin", .length = 1};
	assert_int_equal(upt_hash_all("x", 1, &t.hashes, NULL), UPT_OK);
	t.hashes.has_sha512 = false;
	const char *hw[] = {"board-a"};
	const char *dev[] = {"VIN-1", "VIN-2"};
	t.hardware_ids = hw;
	t.nhardware_ids = 1;
	t.device_ids = dev;
	t.ndevice_ids = 2;
	t.has_release_counter = true;
	t.release_counter = 1;
	assert_int_equal(upt_mb_targets_add(ou, &t, NULL), UPT_OK);
	upt_buf file;
	upt_meta *m = sign_parse(ou, ks, 1, UPT_ROLE_OFFLINE_UPDATES, &file);
	const upt_target *pt = upt_meta_target(m, "fw.bin");
	assert_true(pt->has_device_ids);
	assert_int_equal(pt->ndevice_ids, 2);
	assert_string_equal(pt->device_ids[1], "VIN-2");
	assert_false(pt->hashes.has_sha512);
	upt_meta_free(m);

	upt_mb_fileref ref = {"campaign-a.json", 2, file.data, file.len};
	json_t *os = upt_mb_snapshot(UPT_ROLE_OFFLINE_SNAPSHOT, 3, EXPIRES, &ref, 1, ISSUED);
	m = sign_parse(os, ks, 1, UPT_ROLE_OFFLINE_SNAPSHOT, NULL);
	assert_true(m->has_issued);
	assert_int_equal(m->issued, ISSUED);
	assert_non_null(upt_meta_file(m, "campaign-a.json"));
	upt_meta_free(m);
	/* builders refuse types that are not theirs */
	assert_null(upt_mb_snapshot(UPT_ROLE_TARGETS, 3, EXPIRES, &ref, 1, -1));
	assert_null(upt_mb_targets(UPT_ROLE_SNAPSHOT, 1, EXPIRES, NULL));
	upt_buf_clear(&file);
	json_decref(os);
	json_decref(ou);
	upt_signer_free(k);
}

static void targets_add_and_delegate(void **state)
{
	(void)state;
	upt_signer *d1 = gen(), *d2 = gen();
	json_t *t = upt_mb_targets(UPT_ROLE_TARGETS, 1, EXPIRES, NULL);
	upt_mb_target x = {.name = "x.bin", .length = 1};
	upt_err e;
	/* sha256 is required; names 1 to UPT_TARGET_NAME_MAX bytes */
	assert_int_equal(upt_mb_targets_add(t, &x, &e), UPT_E_USAGE);
	assert_int_equal(upt_sha256("x", 1, x.hashes.sha256, NULL), UPT_OK);
	x.hashes.has_sha256 = true;
	x.name = "";
	assert_int_equal(upt_mb_targets_add(t, &x, &e), UPT_E_USAGE);
	x.name = "x.bin";
	assert_int_equal(upt_mb_targets_add(t, &x, &e), UPT_OK);
	/* adding the same name replaces */
	x.length = 2;
	assert_int_equal(upt_mb_targets_add(t, &x, &e), UPT_OK);
	assert_int_equal(json_object_size(json_object_get(t, "targets")), 1);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_object_get(t, "targets"), "x.bin"), "length")),
			 2);
	json_t *notargets = json_object();
	assert_int_equal(upt_mb_targets_add(notargets, &x, &e), UPT_E_USAGE);

	/* delegations keep their order and fields */
	upt_key k1 = *upt_signer_key(d1), k2[2] = {*upt_signer_key(d1), *upt_signer_key(d2)};
	const char *p1[] = {"vendor-x/*"}, *p2[] = {"supplier/*", "fw/*.bin"};
	const char *hw[] = {"board-a"};
	upt_mb_delegation a = {
	    .name = "vendor-x", .keys = &k1, .nkeys = 1, .threshold = 1, .paths = p1, .npaths = 1};
	upt_mb_delegation b = {.name = "supplier",
			       .keys = k2,
			       .nkeys = 2,
			       .threshold = 2,
			       .paths = p2,
			       .npaths = 2,
			       .terminating = true,
			       .hardware_ids = hw,
			       .nhardware_ids = 1};
	assert_int_equal(upt_mb_targets_delegate(t, &a, &e), UPT_OK);
	assert_int_equal(upt_mb_targets_delegate(t, &b, &e), UPT_OK);
	assert_int_equal(upt_mb_targets_delegate(t, &a, &e), UPT_E_USAGE); /* twice */
	upt_mb_delegation bad = a;
	bad.name = "../evil";
	assert_int_equal(upt_mb_targets_delegate(t, &bad, &e), UPT_E_USAGE);
	assert_int_equal(upt_mb_targets_delegate(notargets, &a, &e), UPT_E_USAGE);
	json_decref(notargets);

	upt_signer *top = gen();
	const upt_signer *tops[] = {top};
	upt_meta *m = sign_parse(t, tops, 1, UPT_ROLE_TARGETS, NULL);
	assert_true(m->has_delegations);
	assert_int_equal(m->nkeys, 2); /* d1 listed once although delegated twice */
	assert_int_equal(m->ndelegations, 2);
	assert_string_equal(m->delegations[0].role.name, "vendor-x");
	assert_false(m->delegations[0].terminating);
	assert_false(m->delegations[0].has_hardware_ids);
	assert_string_equal(m->delegations[1].role.name, "supplier");
	assert_true(m->delegations[1].terminating);
	assert_int_equal(m->delegations[1].role.threshold, 2);
	assert_int_equal(m->delegations[1].role.nkeyids, 2);
	assert_int_equal(m->delegations[1].npaths, 2);
	assert_string_equal(m->delegations[1].paths[1], "fw/*.bin");
	assert_true(m->delegations[1].has_hardware_ids);
	assert_string_equal(m->delegations[1].hardware_ids[0], "board-a");

	/* a delegated file signed by both supplier keys meets its threshold under these keys */
	json_t *dt = upt_mb_targets(UPT_ROLE_TARGETS, 1, EXPIRES, NULL);
	const upt_signer *both[] = {d1, d2};
	upt_meta *dm = sign_parse(dt, both, 2, UPT_ROLE_TARGETS, NULL);
	assert_int_equal(
	    upt_sig_check_threshold(dm, m->keys, m->nkeys, &m->delegations[1].role, NULL, &e),
	    UPT_OK);
	upt_meta_free(dm);
	const upt_signer *onlyd1[] = {d1};
	dm = sign_parse(dt, onlyd1, 1, UPT_ROLE_TARGETS, NULL);
	assert_int_equal(
	    upt_sig_check_threshold(dm, m->keys, m->nkeys, &m->delegations[1].role, NULL, &e),
	    UPT_E_ARBITRARY_SOFTWARE);
	upt_meta_free(dm);
	json_decref(dt);
	upt_meta_free(m);
	json_decref(t);
	upt_signer_free(d1);
	upt_signer_free(d2);
	upt_signer_free(top);
}

static void sign_writes_canonical_envelope(void **state)
{
	(void)state;
	upt_signer *a = gen(), *b = gen();
	json_t *t = upt_mb_targets(UPT_ROLE_TARGETS, 1, EXPIRES, NULL);
	json_object_set_new(t, "x-unicode", json_string("\xc3\xa9 \"q\" \\ /"));
	const upt_signer *signers[] = {a, b, a}; /* a twice: one signature */
	upt_buf out;
	upt_buf_init(&out, UPT_META_FILE_MAX);
	assert_int_equal(upt_mb_sign(t, signers, 3, &out, NULL), UPT_OK);
	/* the file bytes are the canonical form of the envelope */
	json_t *env = NULL;
	assert_int_equal(upt_json_parse(out.data, out.len, UPT_META_FILE_MAX, &env, NULL), UPT_OK);
	upt_buf again;
	upt_buf_init(&again, UPT_META_FILE_MAX);
	assert_int_equal(upt_cjson_encode(env, &again, NULL), UPT_OK);
	assert_true(upt_buf_equal(&out, &again));
	assert_int_equal(json_array_size(json_object_get(env, "signatures")), 2);
	assert_true(json_equal(json_object_get(env, "signed"), t));
	upt_buf_clear(&again);
	json_decref(env);
	/* control characters: still a parseable file, signatures over the canonical bytes */
	json_object_set_new(t, "x-control", json_string("tab\there\nnewline \x01"));
	assert_int_equal(upt_mb_sign(t, signers, 1, &out, NULL), UPT_OK);
	upt_meta *m = NULL;
	assert_int_equal(upt_meta_parse(out.data, out.len, UPT_ROLE_TARGETS, &m, NULL), UPT_OK);
	assert_non_null(strstr((const char *)m->canonical.data, "tab\there\nnewline \x01"));
	upt_key ka = *upt_signer_key(a);
	const char *ida = ka.keyid;
	upt_role_keys r = {.name = "t", .keyids = &ida, .nkeyids = 1, .threshold = 1};
	assert_int_equal(upt_sig_check_threshold(m, &ka, 1, &r, NULL, NULL), UPT_OK);
	upt_meta_free(m);
	json_object_del(t, "x-control");
	/* unsigned envelope (threshold signing elsewhere) */
	assert_int_equal(upt_mb_sign(t, NULL, 0, &out, NULL), UPT_OK);
	assert_non_null(strstr((const char *)out.data, "{\"signatures\":[],\"signed\":{"));
	/* too small an output cap: error, out untouched */
	upt_buf small;
	upt_buf_init(&small, 100);
	assert_int_equal(upt_buf_append_str(&small, "keep", NULL), UPT_OK);
	assert_int_equal(upt_mb_sign(t, signers, 1, &small, NULL), UPT_E_TOO_LARGE);
	assert_string_equal((const char *)small.data, "keep");
	upt_buf_clear(&small);
	/* not an object */
	json_t *arr = json_array();
	assert_int_equal(upt_mb_sign(arr, signers, 1, &out, NULL), UPT_E_USAGE);
	json_decref(arr);
	/* a real in the signed object cannot be canonical */
	json_object_set_new(t, "x-real", json_real(1.5));
	assert_int_equal(upt_mb_sign(t, signers, 1, &out, NULL), UPT_E_MALFORMED);
	upt_buf_clear(&out);
	json_decref(t);
	upt_signer_free(a);
	upt_signer_free(b);
}

/* Mutating before signing (what the verification engine's generator does) is supported:
 * the builders return plain json the caller owns. */
static void mutate_then_sign(void **state)
{
	(void)state;
	upt_signer *a = gen();
	const upt_signer *signers[] = {a};
	json_t *t = upt_mb_targets(UPT_ROLE_TARGETS, 1, EXPIRES, NULL);
	json_object_set_new(t, "_type", json_string("snapshot"));
	upt_buf out;
	upt_buf_init(&out, UPT_META_FILE_MAX);
	assert_int_equal(upt_mb_sign(t, signers, 1, &out, NULL), UPT_OK);
	upt_meta *m = NULL;
	upt_err e;
	assert_int_equal(upt_meta_parse(out.data, out.len, UPT_ROLE_TARGETS, &m, &e),
			 UPT_E_MALFORMED);
	assert_null(m);
	upt_buf_clear(&out);
	json_decref(t);
	upt_signer_free(a);
	char s[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(EXPIRES, s);
	assert_string_equal(s, "2031-01-01T00:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(root_every_role),
	    cmocka_unit_test(chain_timestamp_snapshot_targets),
	    cmocka_unit_test(offline_roles),
	    cmocka_unit_test(targets_add_and_delegate),
	    cmocka_unit_test(sign_writes_canonical_envelope),
	    cmocka_unit_test(mutate_then_sign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
