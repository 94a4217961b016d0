/* Unit tests: parsing every role from untrusted bytes (meta.c), above all what must be refused.
 * Documents are built by hand here (not with metabuild) so a shared misunderstanding between
 * the builder and the parser cannot hide. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/cjson.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/sig.h"

#define PUB1 "1d00d0ab597a4d63abbcc67ba2c9526340d37d26e873cbbf1529db2e41b91920"
#define PUB2 "c39c42225ba5bf61eb1103d1498720157ec3938a383899fc58fa35779b673f4e"
#define H256 "9f6cf9c44cf4d3860fa9996b041573f85daf3157fd3a47a80786f0972fb9c206"
#define H512                                                                                       \
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2" \
	"877"                                                                                      \
	"eec2f63b931bd47417a81a538327af927da3e"
#define SIG128                                                                                     \
	"35b362bce6a068c54d01573e8e3ee64789c614b56b9fb6579d3ba3aa631edd09e03632da45c5e0e14293e9be" \
	"164"                                                                                      \
	"d94f4be91dafe28ca6655cc65254ef7b70505"

static json_t *keyobj(const char *pub)
{
	return json_pack("{s:s,s:s,s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519", "keyval",
			 "public", pub);
}

static void keyid_of(const json_t *k, char id[65])
{
	assert_int_equal(upt_keyid(k, id, NULL), UPT_OK);
}

static json_t *common(const char *type)
{
	return json_pack("{s:s,s:s,s:i,s:s}", "_type", type, "spec_version", "1.0.31", "version", 3,
			 "expires", "2030-01-01T00:00:00Z");
}

static json_t *envelope(json_t *sig)
{
	return json_pack("{s:o,s:[]}", "signed", sig, "signatures");
}

static json_t *S(json_t *env)
{
	return json_object_get(env, "signed");
}

/* A valid root: two keys; root, timestamp, snapshot, targets (+ offline roles). */
static json_t *root_env(char id1[65], char id2[65])
{
	json_t *k1 = keyobj(PUB1), *k2 = keyobj(PUB2);
	keyid_of(k1, id1);
	keyid_of(k2, id2);
	json_t *s = common("root");
	json_t *keys = json_object();
	json_object_set_new(keys, id1, k1);
	json_object_set_new(keys, id2, k2);
	json_object_set_new(s, "keys", keys);
	json_object_set_new(s, "consistent_snapshot", json_false());
	json_object_set_new(
	    s, "roles",
	    json_pack("{s:{s:[s,s],s:i},s:{s:[s],s:i},s:{s:[s],s:i},s:{s:[s],s:i},s:{s:[s],s:i}}",
		      "root", "keyids", id1, id2, "threshold", 2, "timestamp", "keyids", id2,
		      "threshold", 1, "snapshot", "keyids", id2, "threshold", 1, "targets",
		      "keyids", id1, "threshold", 1, "offline-snapshot", "keyids", id1, "threshold",
		      1));
	return envelope(s);
}

static json_t *timestamp_env(void)
{
	json_t *s = common("timestamp");
	json_object_set_new(s, "meta",
			    json_pack("{s:{s:i,s:i,s:{s:s}}}", "snapshot.json", "version", 7,
				      "length", 1234, "hashes", "sha256", H256));
	json_object_set_new(s, "issued", json_string("2027-01-15T00:00:00Z"));
	return envelope(s);
}

static json_t *snapshot_env(const char *type)
{
	json_t *s = common(type);
	json_object_set_new(s, "meta",
			    json_pack("{s:{s:i,s:i,s:{s:s}},s:{s:i}}", "targets.json", "version", 4,
				      "length", 99, "hashes", "sha256", H256, "supplier.json",
				      "version", 2));
	return envelope(s);
}

static json_t *targets_env(const char *type)
{
	json_t *s = common(type);
	json_object_set_new(s, "targets",
			    json_pack("{s:{s:i,s:{s:s,s:s},s:{s:[s,s],s:i,s:[s]}},"
				      " s:{s:i,s:{s:s},s:{s:{s:{s:s},s:{s:s}},s:i}},"
				      " s:{s:i,s:{s:s}}}",
				      "fw/main-1.0.bin", "length", 300000, "hashes", "sha256", H256,
				      "sha512", H512, "custom", "hardwareIds", "board-a", "board-b",
				      "releaseCounter", 3, "deviceIds", "VIN-0001", "aux.bin",
				      "length", 0, "hashes", "sha256", H256, "custom",
				      "ecuIdentifiers", "ecu-1", "hardwareId", "board-a", "ecu-2",
				      "hardwareId", "board-b", "releaseCounter", 0, "plain.bin",
				      "length", 5, "hashes", "sha256", H256));
	return envelope(s);
}

static json_t *delegating_env(char id1[65], char id2[65])
{
	json_t *env = targets_env("targets");
	json_t *k1 = keyobj(PUB1), *k2 = keyobj(PUB2);
	keyid_of(k1, id1);
	keyid_of(k2, id2);
	json_t *keys = json_object();
	json_object_set_new(keys, id1, k1);
	json_object_set_new(keys, id2, k2);
	json_t *roles = json_pack(
	    "[{s:s,s:[s],s:i,s:[s],s:b},{s:s,s:[s,s],s:i,s:[s,s],s:b,s:[s]},{s:s,s:[],s:i,s:[]}]",
	    "name", "vendor-x", "keyids", id1, "threshold", 1, "paths", "vendor-x/*", "terminating",
	    0, "name", "supplier", "keyids", id1, id2, "threshold", 2, "paths", "supplier/*",
	    "fw/*.bin", "terminating", 1, "hardwareIds", "board-a", "name", "empty", "keyids",
	    "threshold", 1, "paths");
	json_object_set_new(S(env), "delegations",
			    json_pack("{s:o,s:o}", "keys", keys, "roles", roles));
	return env;
}

static int parse_text(const char *text, size_t len, upt_role_type t, upt_meta **out, upt_err *e)
{
	return upt_meta_parse(text, len, t, out, e);
}

/* Parses env (pretty-printed, as TUF tools write files) and returns the code; *out receives
 * the record on success when out is not NULL. */
static int try_parse(json_t *env, upt_role_type t, upt_meta **out)
{
	char *text = json_dumps(env, JSON_INDENT(2));
	assert_non_null(text);
	upt_meta *m = NULL;
	upt_err e;
	upt_err_clear(&e);
	int rc = parse_text(text, strlen(text), t, &m, &e);
	free(text);
	if (rc) {
		assert_null(m);
		assert_int_not_equal(e.msg[0], 0); /* every refusal says why */
	}
	if (out)
		*out = m;
	else
		upt_meta_free(m);
	return rc;
}

/* Replaces env.signed[key] with v (NULL removes) and expects code; restores nothing. */
static void expect_set(json_t *env, upt_role_type t, const char *key, json_t *v, int code)
{
	if (v)
		json_object_set_new(S(env), key, v);
	else
		json_object_del(S(env), key);
	assert_int_equal(try_parse(env, t, NULL), code);
}

static void root_parses(void **state)
{
	(void)state;
	char id1[65], id2[65];
	json_t *env = root_env(id1, id2);
	json_array_append_new(json_object_get(env, "signatures"),
			      json_pack("{s:s,s:s}", "keyid", id1, "sig", SIG128));
	upt_meta *m;
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, &m), UPT_OK);
	assert_int_equal(m->type, UPT_ROLE_ROOT);
	assert_int_equal(m->version, 3);
	assert_int_equal(m->expires, 1893456000); /* 2030-01-01T00:00:00Z */
	assert_false(m->has_issued);
	assert_int_equal(m->nkeys, 2);
	assert_int_equal(m->nroles, 5);
	const upt_key *k = upt_meta_key(m, id1);
	assert_non_null(k);
	assert_true(k->ed25519);
	uint8_t pub[32];
	assert_int_equal(upt_hex_decode(PUB1, pub, 32, NULL), UPT_OK);
	assert_memory_equal(k->pub, pub, 32);
	const upt_role_keys *r = upt_meta_role(m, "root");
	assert_non_null(r);
	assert_int_equal(r->threshold, 2);
	assert_int_equal(r->nkeyids, 2);
	assert_string_equal(r->keyids[0], id1);
	assert_string_equal(r->keyids[1], id2);
	assert_non_null(upt_meta_role(m, "offline-snapshot"));
	assert_null(upt_meta_role(m, "offline-updates"));
	assert_int_equal(m->nsigs, 1);
	assert_true(m->sigs[0].sig_ok);
	assert_string_equal(m->sigs[0].keyid, id1);
	/* canonical bytes are the canonical encoding of `signed` */
	upt_buf b;
	upt_buf_init(&b, 1u << 20);
	assert_int_equal(upt_cjson_encode(S(env), &b, NULL), UPT_OK);
	assert_true(upt_buf_equal(&b, &m->canonical));
	upt_buf_clear(&b);
	upt_meta_free(m);
	upt_meta_free(NULL);
	json_decref(env);
}

static void strict_json_refused(void **state)
{
	(void)state;
	upt_meta *m = NULL;
	upt_err e;
	char id1[65], id2[65];
	json_t *env = root_env(id1, id2);
	char *good = json_dumps(env, 0);
	size_t n = strlen(good);
	assert_int_equal(parse_text(good, n, UPT_ROLE_ROOT, &m, &e), UPT_OK);
	upt_meta_free(m);
	m = NULL;
	/* truncated at every tenth byte */
	for (size_t cut = 0; cut < n; cut += 10)
		assert_int_equal(parse_text(good, cut, UPT_ROLE_ROOT, &m, &e), UPT_E_MALFORMED);
	assert_null(m);

	/* duplicate keys: in `signed` (two parsers disagreeing is a signature bypass) */
	char *dup = malloc(n + 64);
	assert_true(good[n - 1] == '}');
	/* {"signatures": [], "signed": {...}} -> add a second "version" inside signed */
	char *p = strstr(good, "\"version\"");
	assert_non_null(p);
	size_t off = (size_t)(p - good);
	memcpy(dup, good, off);
	strcpy(dup + off, "\"version\": 4, ");
	strcat(dup, good + off);
	assert_int_equal(parse_text(dup, strlen(dup), UPT_ROLE_ROOT, &m, &e), UPT_E_MALFORMED);
	/* a real number where an integer belongs */
	memcpy(dup, good, off);
	strcpy(dup + off, "\"x-real\": 1.0, ");
	strcat(dup, good + off);
	assert_int_equal(parse_text(dup, strlen(dup), UPT_ROLE_ROOT, &m, &e), UPT_E_MALFORMED);
	/* an integer over int64 */
	memcpy(dup, good, off);
	strcpy(dup + off, "\"x-big\": 9223372036854775808, ");
	strcat(dup, good + off);
	assert_int_equal(parse_text(dup, strlen(dup), UPT_ROLE_ROOT, &m, &e), UPT_E_MALFORMED);
	free(dup);
	free(good);

	/* deep nesting in an unknown field */
	json_t *deep = json_string("x");
	for (int i = 0; i < UPT_JSON_DEPTH_MAX + 2; i++)
		deep = json_pack("[o]", deep);
	json_object_set_new(S(env), "x-deep", deep);
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_object_del(S(env), "x-deep");

	/* oversized input: refused before parsing, whatever it holds */
	size_t big = UPT_META_FILE_MAX + 1;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	assert_int_equal(parse_text(huge, big, UPT_ROLE_ROOT, &m, &e), UPT_E_TOO_LARGE);
	free(huge);

	/* envelope shape */
	static const char *const bad[] = {
	    "[]",
	    "null",
	    "{}",
	    "{\"signed\":{},\"signatures\":{}}",
	    "{\"signed\":[],\"signatures\":[]}",
	    "{\"signatures\":[]}",
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_text(bad[i], strlen(bad[i]), UPT_ROLE_ROOT, &m, &e),
				 UPT_E_MALFORMED);
	assert_null(m);
	json_decref(env);
}

static void common_fields(void **state)
{
	(void)state;
	char id1[65], id2[65];
	json_t *env = timestamp_env();
	upt_meta *m;
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, &m), UPT_OK);
	assert_true(m->has_issued);
	assert_int_equal(m->issued, 1799971200); /* 2027-01-15 */
	upt_meta_free(m);

	/* wrong _type, for every pair of roles; unknown and missing types */
	static const char *const types[] = {"root",    "timestamp",	   "snapshot",
					    "targets", "offline-snapshot", "offline-updates"};
	for (int want = 0; want < 6; want++) {
		for (int have = 0; have < 6; have++) {
			if (have == want)
				continue;
			json_object_set_new(S(env), "_type", json_string(types[have]));
			upt_err e;
			char *text = json_dumps(env, 0);
			m = NULL;
			assert_int_equal(
			    upt_meta_parse(text, strlen(text), (upt_role_type)want, &m, &e),
			    UPT_E_MALFORMED);
			assert_non_null(strstr(e.msg, "_type"));
			free(text);
		}
	}
	assert_string_equal(upt_role_type_name(UPT_ROLE_OFFLINE_UPDATES), "offline-updates");
	expect_set(env, UPT_ROLE_TIMESTAMP, "_type", json_string("Timestamp"), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "_type", json_integer(1), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "_type", NULL, UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "_type", json_string("timestamp"), UPT_OK);

	/* spec_version 1.x only */
	expect_set(env, UPT_ROLE_TIMESTAMP, "spec_version", json_string("2.0"), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "spec_version", json_string("2.0.0"), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "spec_version", json_string("1"), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "spec_version", json_string("10.0"), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "spec_version", json_integer(1), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "spec_version", NULL, UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "spec_version", json_string("1.0"), UPT_OK);
	expect_set(env, UPT_ROLE_TIMESTAMP, "spec_version", json_string("1.0.0"), UPT_OK);

	/* version >= 1, an integer */
	expect_set(env, UPT_ROLE_TIMESTAMP, "version", json_integer(0), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "version", json_integer(-1), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "version", json_string("2"), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "version", NULL, UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "version", json_integer(INT64_MAX), UPT_OK);

	/* expires: exactly YYYY-MM-DDTHH:MM:SSZ */
	static const char *const bad_times[] = {
	    "2030-01-01T00:00:00+00:00",
	    "2030-01-01T00:00:00.5Z",
	    "2030-01-01",
	    "2030-13-01T00:00:00Z",
	    "2030-02-30T00:00:00Z",
	    "2030-01-01t00:00:00z",
	    "2030-01-01 00:00:00Z",
	    "",
	    "tomorrow",
	};
	for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++)
		expect_set(env, UPT_ROLE_TIMESTAMP, "expires", json_string(bad_times[i]),
			   UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "expires", json_integer(1893456000), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "expires", NULL, UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "expires", json_string("2030-01-01T00:00:00Z"), UPT_OK);

	/* issued: optional, same form, never later than expires */
	expect_set(env, UPT_ROLE_TIMESTAMP, "issued", json_string("2030-01-01T00:00:01Z"),
		   UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "issued", json_string("2031-01-01T00:00:00Z"),
		   UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "issued", json_string("2027-01-01"), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "issued", json_integer(5), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TIMESTAMP, "issued", json_string("2030-01-01T00:00:00Z"), UPT_OK);
	expect_set(env, UPT_ROLE_TIMESTAMP, "issued", NULL, UPT_OK);
	json_decref(env);

	/* the same checks hold for every role, e.g. root */
	env = root_env(id1, id2);
	expect_set(env, UPT_ROLE_ROOT, "spec_version", json_string("2.0"), UPT_E_MALFORMED);
	json_decref(env);
}

static void unknown_fields_kept_and_signed(void **state)
{
	(void)state;
	json_t *env = timestamp_env();
	upt_meta *a, *b;
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, &a), UPT_OK);
	/* re-printed (compact) and re-signed: the same signed object */
	json_array_append_new(json_object_get(env, "signatures"),
			      json_pack("{s:s,s:s}", "keyid", H256, "sig", SIG128));
	json_object_set_new(env, "x-unsigned-extra", json_true());
	char *compact = json_dumps(env, JSON_COMPACT);
	assert_int_equal(upt_meta_parse(compact, strlen(compact), UPT_ROLE_TIMESTAMP, &b, NULL),
			 UPT_OK);
	free(compact);
	assert_true(upt_meta_same_signed(a, b));
	upt_meta_free(b);
	/* an unknown field inside signed is accepted, kept in doc, and covered */
	json_object_set_new(S(env), "x-vendor", json_pack("{s:[i,s]}", "list", 1, "two"));
	json_object_set_new(json_object_get(json_object_get(S(env), "meta"), "snapshot.json"),
			    "x-note", json_string("kept"));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, &b), UPT_OK);
	assert_false(upt_meta_same_signed(a, b));
	assert_non_null(
	    strstr((const char *)b->canonical.data, "\"x-vendor\":{\"list\":[1,\"two\"]}"));
	assert_non_null(strstr((const char *)b->canonical.data, "\"x-note\":\"kept\""));
	assert_non_null(json_object_get(b->signed_obj, "x-vendor"));
	upt_meta_free(a);
	upt_meta_free(b);
	json_decref(env);
}

static void root_keys_and_roles(void **state)
{
	(void)state;
	char id1[65], id2[65];
	upt_meta *m;

	/* key id mismatch: the map claims another key's id */
	json_t *env = root_env(id1, id2);
	json_t *keys = json_object_get(S(env), "keys");
	json_object_set(keys, id1, json_object_get(keys, id2));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_decref(env);

	/* an extra field changes the id: still listed under the three-field id -> mismatch */
	env = root_env(id1, id2);
	keys = json_object_get(S(env), "keys");
	json_object_set_new(json_object_get(keys, id1), "keyid_hash_algorithms",
			    json_pack("[s,s]", "sha256", "sha512"));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	/* ... and accepted under the id of the object as it appears (securesystemslib's form) */
	char sslid[65];
	json_t *k1 = json_incref(json_object_get(keys, id1));
	keyid_of(k1, sslid);
	json_object_del(keys, id1);
	json_object_set_new(keys, sslid, k1);
	json_t *rk =
	    json_object_get(json_object_get(json_object_get(S(env), "roles"), "root"), "keyids");
	json_array_set_new(rk, 0, json_string(sslid));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, &m), UPT_OK);
	assert_non_null(upt_meta_key(m, sslid));
	assert_true(upt_meta_key(m, sslid)->ed25519);
	upt_meta_free(m);
	json_decref(env);

	/* key ids in either case; stored lowercase */
	env = root_env(id1, id2);
	keys = json_object_get(S(env), "keys");
	char up[65];
	for (int i = 0; i < 65; i++)
		up[i] = (char)(id1[i] >= 'a' && id1[i] <= 'f' ? id1[i] - 'a' + 'A' : id1[i]);
	json_object_set(keys, up, json_object_get(keys, id1));
	json_object_del(keys, id1);
	rk = json_object_get(json_object_get(json_object_get(S(env), "roles"), "root"), "keyids");
	json_array_set_new(rk, 0, json_string(up));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, &m), UPT_OK);
	assert_string_equal(m->keys[0].keyid[0] == id1[0] ? m->keys[0].keyid : m->keys[1].keyid,
			    id1);
	assert_string_equal(upt_meta_role(m, "root")->keyids[0], id1);
	upt_meta_free(m);
	/* the same key under both spellings: listed twice */
	json_object_set(keys, id1, json_object_get(keys, up));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_decref(env);

	/* a key listed twice in a role, also in another case */
	env = root_env(id1, id2);
	rk = json_object_get(json_object_get(json_object_get(S(env), "roles"), "timestamp"),
			     "keyids");
	json_array_append_new(rk, json_string(id2));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_array_set_new(rk, 1, json_string(up));
	json_array_set_new(rk, 0, json_string(id1));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_decref(env);

	/* truncated or wrong-length key material and key ids */
	env = root_env(id1, id2);
	keys = json_object_get(S(env), "keys");
	json_object_set_new(
	    json_object_get(json_object_get(keys, id1), "keyval"), "public",
	    json_string("1d00d0ab597a4d63abbcc67ba2c9526340d37d26e873cbbf1529db2e41b9192"));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_decref(env);
	env = root_env(id1, id2);
	keys = json_object_get(S(env), "keys");
	char shortid[64];
	memcpy(shortid, id1, 63);
	shortid[63] = 0;
	json_object_set(keys, shortid, json_object_get(keys, id1));
	json_object_del(keys, id1);
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_decref(env);
	env = root_env(id1, id2);
	rk = json_object_get(json_object_get(json_object_get(S(env), "roles"), "root"), "keyids");
	json_array_set_new(rk, 0, json_string(shortid));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_array_set_new(rk, 0, json_integer(1));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_decref(env);

	/* an unknown key type is kept and flagged; a role may name it */
	env = root_env(id1, id2);
	json_t *rsa =
	    json_pack("{s:s,s:s,s:{s:s}}", "keytype", "rsa", "scheme", "rsassa-pss-sha256",
		      "keyval", "public", "-----BEGIN PUBLIC KEY-----");
	char rsaid[65];
	keyid_of(rsa, rsaid);
	json_object_set_new(json_object_get(S(env), "keys"), rsaid, rsa);
	rk = json_object_get(json_object_get(json_object_get(S(env), "roles"), "root"), "keyids");
	json_array_append_new(rk, json_string(rsaid));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, &m), UPT_OK);
	assert_false(upt_meta_key(m, rsaid)->ed25519);
	assert_int_equal(upt_meta_role(m, "root")->nkeyids, 3);
	upt_meta_free(m);
	json_decref(env);

	/* thresholds, role shapes, names, the four top-level roles */
	env = root_env(id1, id2);
	json_t *roles = json_object_get(S(env), "roles");
	json_t *root = json_object_get(roles, "root");
	json_object_set_new(root, "threshold", json_integer(0));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_object_set_new(root, "threshold", json_integer(-1));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_object_set_new(root, "threshold", json_string("1"));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_object_set_new(root, "threshold", json_integer(1));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_OK);
	json_object_set_new(roles, "../evil", json_pack("{s:[],s:i}", "keyids", "threshold", 1));
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_object_del(roles, "../evil");
	json_object_del(roles, "snapshot");
	assert_int_equal(try_parse(env, UPT_ROLE_ROOT, NULL), UPT_E_MALFORMED);
	json_decref(env);
	env = root_env(id1, id2);
	expect_set(env, UPT_ROLE_ROOT, "keys", json_array(), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_ROOT, "keys", NULL, UPT_E_MALFORMED);
	json_decref(env);
	env = root_env(id1, id2);
	expect_set(env, UPT_ROLE_ROOT, "roles", NULL, UPT_E_MALFORMED);
	json_decref(env);
}

static void signatures(void **state)
{
	(void)state;
	json_t *env = timestamp_env();
	json_t *sigs = json_object_get(env, "signatures");
	upt_meta *m;
	json_array_append_new(sigs, json_pack("{s:s,s:s}", "keyid", H256, "sig", SIG128));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, &m), UPT_OK);
	assert_int_equal(m->nsigs, 1);
	upt_meta_free(m);
	/* the same key id twice: also when spelled in another case, also with another sig */
	char up[65];
	strcpy(up, H256);
	for (char *c = up; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	json_array_append_new(sigs, json_pack("{s:s,s:s}", "keyid", H256, "sig", SIG128));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_MALFORMED);
	json_array_set_new(sigs, 1, json_pack("{s:s,s:s}", "keyid", up, "sig", "00"));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_MALFORMED);
	/* a bad-length or non-hex sig is kept, flagged, can never verify */
	json_array_set_new(sigs, 1, json_pack("{s:s,s:s}", "keyid", H512 + 64, "sig", "abcd"));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, &m), UPT_OK);
	assert_int_equal(m->nsigs, 2);
	assert_true(m->sigs[0].sig_ok);
	assert_false(m->sigs[1].sig_ok);
	upt_meta_free(m);
	/* a signature entry without keyid or sig, or with a truncated key id */
	json_array_set_new(sigs, 1, json_pack("{s:s}", "sig", SIG128));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_MALFORMED);
	json_array_set_new(sigs, 1, json_pack("{s:s}", "keyid", H512 + 64));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_MALFORMED);
	json_array_set_new(sigs, 1, json_pack("{s:s,s:s}", "keyid", H512 + 65, "sig", SIG128));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_MALFORMED);
	json_array_set_new(sigs, 1, json_string("sig"));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_MALFORMED);
	/* more than UPT_SIGNATURES_MAX */
	json_array_clear(sigs);
	for (int i = 0; i <= UPT_SIGNATURES_MAX; i++) {
		char id[65];
		snprintf(id, sizeof(id), "%064x", i);
		json_array_append_new(sigs, json_pack("{s:s,s:s}", "keyid", id, "sig", SIG128));
	}
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_TOO_LARGE);
	json_array_remove(sigs, 0);
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_OK);
	json_decref(env);
}

static void meta_files(void **state)
{
	(void)state;
	upt_meta *m;
	json_t *env = snapshot_env("snapshot");
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, &m), UPT_OK);
	assert_int_equal(m->nfiles, 2);
	const upt_fileinfo *f = upt_meta_file(m, "targets.json");
	assert_non_null(f);
	assert_int_equal(f->version, 4);
	assert_true(f->has_length);
	assert_int_equal(f->length, 99);
	assert_true(f->hashes.has_sha256);
	f = upt_meta_file(m, "supplier.json");
	assert_non_null(f);
	assert_false(f->has_length);
	assert_false(f->hashes.has_sha256);
	assert_null(upt_meta_file(m, "nope.json"));
	upt_meta_free(m);
	/* offline-snapshot: the same shape, its own _type, issued */
	json_t *off = snapshot_env("offline-snapshot");
	json_object_set_new(S(off), "issued", json_string("2027-01-15T00:00:00Z"));
	assert_int_equal(try_parse(off, UPT_ROLE_OFFLINE_SNAPSHOT, &m), UPT_OK);
	assert_true(m->has_issued);
	upt_meta_free(m);
	assert_int_equal(try_parse(off, UPT_ROLE_SNAPSHOT, NULL), UPT_E_MALFORMED);
	json_decref(off);

	json_t *meta = json_object_get(S(env), "meta");
	json_t *t = json_object_get(meta, "targets.json");
	/* bad entries */
	json_object_set_new(t, "version", json_integer(0));
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_E_MALFORMED);
	json_object_set_new(t, "version", json_integer(4));
	json_object_set_new(t, "length", json_integer(-1));
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_E_MALFORMED);
	json_object_set_new(t, "length", json_string("99"));
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_E_MALFORMED);
	json_object_set_new(t, "length", json_integer(99));
	json_object_set_new(t, "hashes", json_pack("{s:s}", "md5", "00"));
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_E_MALFORMED);
	json_object_set_new(t, "hashes", json_pack("{s:s}", "sha256", H512)); /* wrong length */
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_E_MALFORMED);
	json_object_set_new(t, "hashes", json_pack("{s:s}", "sha256", H256));
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_OK);
	/* names become member paths */
	json_object_set_new(meta, "../../x.json", json_pack("{s:i}", "version", 1));
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_E_MALFORMED);
	json_object_del(meta, "../../x.json");
	json_object_set_new(meta, "a/b.json", json_pack("{s:i}", "version", 1));
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_E_MALFORMED);
	json_object_del(meta, "a/b.json");
	json_object_set_new(meta, "x.json", json_integer(1));
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_E_MALFORMED);
	json_object_del(meta, "x.json");
	/* cap */
	for (int i = 0; i < UPT_SNAPSHOT_FILES_MAX; i++) {
		char name[32];
		snprintf(name, sizeof(name), "r%d.json", i);
		json_object_set_new(meta, name, json_pack("{s:i}", "version", 1));
	}
	assert_int_equal(try_parse(env, UPT_ROLE_SNAPSHOT, NULL), UPT_E_TOO_LARGE);
	expect_set(env, UPT_ROLE_SNAPSHOT, "meta", NULL, UPT_E_MALFORMED);
	json_decref(env);

	/* timestamp: snapshot.json with at least sha256 */
	env = timestamp_env();
	meta = json_object_get(S(env), "meta");
	json_t *snap = json_object_get(meta, "snapshot.json");
	json_object_del(snap, "length");
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, &m), UPT_OK); /* length optional */
	assert_false(upt_meta_file(m, "snapshot.json")->has_length);
	upt_meta_free(m);
	json_object_set_new(snap, "hashes", json_pack("{s:s}", "sha512", H512));
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_MALFORMED);
	json_object_del(snap, "hashes");
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_MALFORMED);
	json_object_set_new(snap, "hashes", json_pack("{s:s}", "sha256", H256));
	json_object_set(meta, "other.json", snap);
	json_object_del(meta, "snapshot.json");
	assert_int_equal(try_parse(env, UPT_ROLE_TIMESTAMP, NULL), UPT_E_MALFORMED);
	json_decref(env);
}

static void targets(void **state)
{
	(void)state;
	upt_meta *m;
	json_t *env = targets_env("targets");
	json_object_set_new(S(env), "deviceId", json_string("VIN-0001"));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, &m), UPT_OK);
	assert_int_equal(m->ntargets, 3);
	assert_string_equal(m->device_id, "VIN-0001");
	assert_false(m->has_delegations);
	const upt_target *t = upt_meta_target(m, "fw/main-1.0.bin");
	assert_non_null(t);
	assert_int_equal(t->length, 300000);
	assert_true(t->hashes.has_sha256);
	assert_true(t->hashes.has_sha512);
	uint8_t h[64];
	assert_int_equal(upt_hex_decode(H512, h, 64, NULL), UPT_OK);
	assert_memory_equal(t->hashes.sha512, h, 64);
	assert_true(t->has_hardware_ids);
	assert_int_equal(t->nhardware_ids, 2);
	assert_string_equal(t->hardware_ids[1], "board-b");
	assert_true(t->has_release_counter);
	assert_int_equal(t->release_counter, 3);
	assert_true(t->has_device_ids);
	assert_string_equal(t->device_ids[0], "VIN-0001");
	assert_false(t->has_ecus);
	t = upt_meta_target(m, "aux.bin");
	assert_non_null(t);
	assert_true(t->has_ecus);
	assert_int_equal(t->necus, 2);
	assert_true(t->has_release_counter);
	assert_int_equal(t->release_counter, 0);
	assert_false(t->has_hardware_ids);
	bool seen1 = false;
	for (size_t i = 0; i < t->necus; i++)
		if (!strcmp(t->ecus[i].serial, "ecu-1"))
			seen1 = !strcmp(t->ecus[i].hardware_id, "board-a");
	assert_true(seen1);
	t = upt_meta_target(m, "plain.bin");
	assert_non_null(t);
	assert_false(t->has_release_counter || t->has_ecus || t->has_hardware_ids ||
		     t->has_device_ids || t->hashes.has_sha512);
	assert_null(upt_meta_target(m, "fw/main-1.0"));
	upt_meta_free(m);
	/* offline-updates has the same shape */
	json_object_set_new(S(env), "_type", json_string("offline-updates"));
	assert_int_equal(try_parse(env, UPT_ROLE_OFFLINE_UPDATES, NULL), UPT_OK);
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_set_new(S(env), "_type", json_string("targets"));

	json_t *tobj = json_object_get(json_object_get(S(env), "targets"), "plain.bin");
	json_t *hashes = json_object_get(tobj, "hashes");
	/* hashes: sha256 required, unknown algorithms refused, exact lengths, either case */
	json_object_set_new(hashes, "sha256", json_string(H512));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	char trunc[64];
	memcpy(trunc, H256, 63);
	trunc[63] = 0;
	json_object_set_new(hashes, "sha256", json_string(trunc));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_set_new(
	    hashes, "sha256",
	    json_string("9F6CF9C44CF4D3860FA9996B041573F85DAF3157FD3A47A80786F0972FB9C206"));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, &m), UPT_OK);
	assert_int_equal(upt_hex_decode(H256, h, 32, NULL), UPT_OK);
	assert_memory_equal(upt_meta_target(m, "plain.bin")->hashes.sha256, h, 32);
	upt_meta_free(m);
	json_object_set_new(hashes, "sha384", json_string(H256));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_del(hashes, "sha384");
	json_object_del(hashes, "sha256");
	json_object_set_new(hashes, "sha512", json_string(H512));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_set_new(hashes, "sha256", json_string(H256));
	json_object_set_new(hashes, "sha512", json_integer(5));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_del(hashes, "sha512");
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_OK);
	/* length */
	json_object_set_new(tobj, "length", json_integer(-5));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_del(tobj, "length");
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_set_new(tobj, "length", json_integer(5));
	/* custom fields: types and names checked, unknown ones accepted */
	json_object_set_new(tobj, "custom", json_pack("{s:s}", "x-unknown", "ok"));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_OK);
	static const char *const bad_custom[] = {
	    "{\"hardwareIds\": \"board-a\"}",
	    "{\"hardwareIds\": [1]}",
	    "{\"hardwareIds\": [\"\"]}",
	    "{\"hardwareIds\": [\"a b\"]}",
	    "{\"hardwareIds\": [\"..\"]}",
	    "{\"releaseCounter\": -1}",
	    "{\"releaseCounter\": \"3\"}",
	    "{\"ecuIdentifiers\": []}",
	    "{\"ecuIdentifiers\": {\"ecu-1\": {}}}",
	    "{\"ecuIdentifiers\": {\"ecu-1\": {\"hardwareId\": 1}}}",
	    "{\"ecuIdentifiers\": {\"ecu/1\": {\"hardwareId\": \"a\"}}}",
	    "{\"ecuIdentifiers\": {\"ecu-1\": {\"hardwareId\": \"a\\u001b[31m\"}}}",
	    "{\"deviceIds\": [\"../VIN\"]}",
	    "{\"deviceIds\": {}}",
	};
	for (size_t i = 0; i < sizeof(bad_custom) / sizeof(bad_custom[0]); i++) {
		json_t *c = NULL;
		assert_int_equal(
		    upt_json_parse(bad_custom[i], strlen(bad_custom[i]), 4096, &c, NULL), UPT_OK);
		json_object_set_new(tobj, "custom", c);
		assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	}
	json_object_del(tobj, "custom");
	/* caps: hardware ids per list, ECUs per target */
	json_t *many = json_array();
	for (int i = 0; i <= UPT_HWIDS_MAX; i++) {
		char n[16];
		snprintf(n, sizeof(n), "hw%d", i);
		json_array_append_new(many, json_string(n));
	}
	json_object_set_new(tobj, "custom", json_pack("{s:O}", "hardwareIds", many));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_TOO_LARGE);
	json_array_remove(many, 0);
	json_object_set_new(tobj, "custom", json_pack("{s:O}", "deviceIds", many));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_OK);
	json_decref(many);
	json_t *ecus = json_object();
	for (int i = 0; i <= UPT_ECUS_MAX; i++) {
		char n[16];
		snprintf(n, sizeof(n), "ecu%d", i);
		json_object_set_new(ecus, n, json_pack("{s:s}", "hardwareId", "hw"));
	}
	json_object_set_new(tobj, "custom", json_pack("{s:o}", "ecuIdentifiers", ecus));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_TOO_LARGE);
	json_object_del(tobj, "custom");
	/* deviceId */
	expect_set(env, UPT_ROLE_TARGETS, "deviceId", json_string("../x"), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TARGETS, "deviceId", json_string(""), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TARGETS, "deviceId", json_integer(3), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TARGETS, "deviceId", NULL, UPT_OK);
	/* target names: 1 to UPT_TARGET_NAME_MAX bytes */
	json_t *tmap = json_object_get(S(env), "targets");
	json_object_set(tmap, "", tobj);
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_del(tmap, "");
	char longname[UPT_TARGET_NAME_MAX + 2];
	memset(longname, 'a', UPT_TARGET_NAME_MAX + 1);
	longname[UPT_TARGET_NAME_MAX + 1] = 0;
	json_object_set(tmap, longname, tobj);
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_del(tmap, longname);
	longname[UPT_TARGET_NAME_MAX] = 0;
	json_object_set(tmap, longname, tobj);
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_OK);
	json_object_set_new(tmap, "x", json_array());
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TARGETS, "targets", json_array(), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TARGETS, "targets", NULL, UPT_E_MALFORMED);
	/* an empty targets map is fine (nothing to install) */
	expect_set(env, UPT_ROLE_TARGETS, "targets", json_object(), UPT_OK);
	json_decref(env);
}

static void delegations(void **state)
{
	(void)state;
	char id1[65], id2[65];
	upt_meta *m;
	json_t *env = delegating_env(id1, id2);
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, &m), UPT_OK);
	assert_true(m->has_delegations);
	assert_int_equal(m->nkeys, 2);
	assert_int_equal(m->ndelegations, 3);
	/* listed order is kept (it is the search order) */
	assert_string_equal(m->delegations[0].role.name, "vendor-x");
	assert_string_equal(m->delegations[1].role.name, "supplier");
	assert_string_equal(m->delegations[2].role.name, "empty");
	assert_false(m->delegations[0].terminating);
	assert_false(m->delegations[0].has_hardware_ids);
	assert_true(m->delegations[1].terminating);
	assert_int_equal(m->delegations[1].role.threshold, 2);
	assert_int_equal(m->delegations[1].role.nkeyids, 2);
	assert_string_equal(m->delegations[1].role.keyids[1], id2);
	assert_int_equal(m->delegations[1].npaths, 2);
	assert_string_equal(m->delegations[1].paths[1], "fw/*.bin");
	assert_true(m->delegations[1].has_hardware_ids);
	assert_string_equal(m->delegations[1].hardware_ids[0], "board-a");
	assert_int_equal(m->delegations[2].npaths, 0);
	assert_false(m->delegations[2].terminating); /* absent: false */
	upt_meta_free(m);

	json_t *roles = json_object_get(json_object_get(S(env), "delegations"), "roles");
	json_t *r0 = json_array_get(roles, 0);
	/* role names must be valid names */
	static const char *const bad_names[] = {"..", ".", "a/b", "", "x y", "role\n"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		json_object_set_new(r0, "name", json_string(bad_names[i]));
		assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	}
	/* a role delegated twice */
	json_object_set_new(r0, "name", json_string("supplier"));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_set_new(r0, "name", json_string("vendor-x"));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_OK);
	/* a key listed twice in a delegated role */
	json_array_append_new(json_object_get(r0, "keyids"), json_string(id1));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_array_remove(json_object_get(r0, "keyids"), 1);
	/* field types */
	json_object_set_new(r0, "terminating", json_string("yes"));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_set_new(r0, "terminating", json_false());
	json_object_set_new(r0, "paths", json_string("vendor-x/*"));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_set_new(r0, "paths", json_pack("[i]", 1));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_del(r0, "paths"); /* path_hash_prefixes-only delegations are not supported */
	json_object_set_new(r0, "path_hash_prefixes", json_pack("[s]", "ab"));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_set_new(r0, "paths", json_pack("[s]", "vendor-x/*"));
	json_object_set_new(r0, "hardwareIds", json_pack("[s]", "a/b"));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_del(r0, "hardwareIds");
	json_object_set_new(r0, "threshold", json_integer(0));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_object_set_new(r0, "threshold", json_integer(1));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_OK);
	/* caps: paths per delegation, key ids per role */
	json_t *paths = json_array();
	for (int i = 0; i <= UPT_PATHS_PER_DELEGATION_MAX; i++)
		json_array_append_new(paths, json_string("p/*"));
	json_object_set_new(r0, "paths", paths);
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_TOO_LARGE);
	json_object_set_new(r0, "paths", json_pack("[s]", "vendor-x/*"));
	json_t *ids = json_array();
	for (int i = 0; i <= UPT_KEYS_PER_ROLE_MAX; i++) {
		char id[65];
		snprintf(id, sizeof(id), "%064x", i);
		json_array_append_new(ids, json_string(id));
	}
	json_object_set_new(r0, "keyids", ids);
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_TOO_LARGE);
	json_object_set_new(r0, "keyids", json_pack("[s]", id1));
	/* key id mismatch in the delegating file's keys */
	json_t *keys = json_object_get(json_object_get(S(env), "delegations"), "keys");
	json_object_set(keys, id1, json_object_get(keys, id2));
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	json_decref(env);
	/* shape */
	env = delegating_env(id1, id2);
	json_object_del(json_object_get(S(env), "delegations"), "keys");
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, NULL), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TARGETS, "delegations", json_array(), UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TARGETS, "delegations", json_pack("{s:{},s:{}}", "keys", "roles"),
		   UPT_E_MALFORMED);
	expect_set(env, UPT_ROLE_TARGETS, "delegations",
		   json_pack("{s:{},s:[i]}", "keys", "roles", 1), UPT_E_MALFORMED);
	/* an empty delegations object still says "this file delegates" (Director: refused) */
	expect_set(env, UPT_ROLE_TARGETS, "delegations", json_pack("{s:{},s:[]}", "keys", "roles"),
		   UPT_OK);
	upt_meta *d;
	assert_int_equal(try_parse(env, UPT_ROLE_TARGETS, &d), UPT_OK);
	assert_true(d->has_delegations);
	assert_int_equal(d->ndelegations, 0);
	upt_meta_free(d);
	json_decref(env);
}

static void names(void **state)
{
	(void)state;
	assert_true(upt_name_valid("VIN-0001"));
	assert_true(upt_name_valid("a.b_c-D9"));
	assert_true(upt_name_valid("..."));
	assert_true(upt_name_valid(".hidden"));
	char n[UPT_NAME_MAX + 2];
	memset(n, 'x', sizeof(n));
	n[UPT_NAME_MAX] = 0;
	assert_true(upt_name_valid(n));
	n[UPT_NAME_MAX] = 'x';
	n[UPT_NAME_MAX + 1] = 0;
	assert_false(upt_name_valid(n));
	static const char *const bad[] = {"",	  ".",	      "..",  "a/b", "/",   "a b",
					  "a\\b", "\xc3\xa9", "a\n", "a:b", "a+b", "*"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(upt_name_valid(bad[i]));
	assert_false(upt_name_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(root_parses),	   cmocka_unit_test(strict_json_refused),
	    cmocka_unit_test(common_fields),	   cmocka_unit_test(unknown_fields_kept_and_signed),
	    cmocka_unit_test(root_keys_and_roles), cmocka_unit_test(signatures),
	    cmocka_unit_test(meta_files),	   cmocka_unit_test(targets),
	    cmocka_unit_test(delegations),	   cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
