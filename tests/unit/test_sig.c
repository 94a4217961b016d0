/* Unit tests: ed25519 keys, key ids, key files and the threshold check (sig.c).
 * Interoperability with securesystemslib both ways is tests/cli/sig_interop.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upt/cjson.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/sig.h"

/* A key pair and its files as Debian's securesystemslib 0.26 writes them
 * (interface.generate_and_write_unencrypted_ed25519_keypair): independent test vectors. */
#define SSL_PUB "eed507076ff41bbb3e7ae99857ca60973dcd180ddba22f4bf5b02305a8d01c72"
#define SSL_SEED "a84bb94353ee939179caebfd432a06b0536c550fa1d5d3a0ceb2e29681aa888d"
#define SSL_KEYID "727b5252fb8b51abaf5f6ffed042d191a5993397ebe65d7872c0b9e19f79d84c"
#define SSL_PRIVFILE                                                                               \
	"{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyid\": \"" SSL_KEYID              \
	"\", \"keyid_hash_algorithms\": [\"sha256\", \"sha512\"], \"keyval\": {\"public\": "       \
	"\"" SSL_PUB "\", \"private\": \"" SSL_SEED "\"}}"
#define SSL_PUBFILE                                                                                \
	"{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyid_hash_algorithms\": "          \
	"[\"sha256\", \"sha512\"], \"keyval\": {\"public\": \"" SSL_PUB "\"}}"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/upt-test-sig.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tpath(const char *name)
{
	static char p[4][256];
	static int n;
	char *s = p[n++ % 4];
	snprintf(s, 256, "%s/%s", tmpdir, name);
	return s;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static upt_signer *gen(void)
{
	upt_signer *s = NULL;
	assert_int_equal(upt_signer_generate(&s, NULL), UPT_OK);
	return s;
}

static json_t *parse_json(const char *s)
{
	json_t *v = NULL;
	assert_int_equal(upt_json_parse(s, strlen(s), 1u << 20, &v, NULL), UPT_OK);
	return v;
}

static void sign_verify(void **state)
{
	(void)state;
	upt_signer *a = gen(), *b = gen();
	uint8_t sig[64];
	const char msg[] = "the canonical bytes";
	assert_int_equal(upt_sign(a, msg, sizeof(msg), sig, NULL), UPT_OK);
	assert_true(upt_sig_verify(upt_signer_key(a), msg, sizeof(msg), sig));
	assert_false(upt_sig_verify(upt_signer_key(b), msg, sizeof(msg), sig));	    /* wrong key */
	assert_false(upt_sig_verify(upt_signer_key(a), msg, sizeof(msg) - 1, sig)); /* other msg */
	sig[10] ^= 1;
	assert_false(upt_sig_verify(upt_signer_key(a), msg, sizeof(msg), sig)); /* forgery */
	sig[10] ^= 1;
	upt_key k = *upt_signer_key(a);
	k.ed25519 = false; /* an unknown key type never verifies, whatever its bytes */
	assert_false(upt_sig_verify(&k, msg, sizeof(msg), sig));
	assert_false(upt_sig_verify(NULL, msg, sizeof(msg), sig));
	upt_signer_free(a);
	upt_signer_free(b);
	upt_signer_free(NULL);
}

static void key_ids(void **state)
{
	(void)state;
	/* securesystemslib's id covers keyid_hash_algorithms: the object as it appears */
	json_t *v = parse_json(SSL_PUBFILE);
	upt_key k;
	char id[UPT_KEYID_HEX_LEN + 1];
	assert_int_equal(upt_keyid(v, id, NULL), UPT_OK);
	assert_string_equal(id, SSL_KEYID);
	assert_int_equal(upt_key_from_json(v, &k, NULL), UPT_OK);
	assert_string_equal(k.keyid, SSL_KEYID);
	assert_true(k.ed25519);
	uint8_t pub[32];
	assert_int_equal(upt_hex_decode(SSL_PUB, pub, 32, NULL), UPT_OK);
	assert_memory_equal(k.pub, pub, 32);
	/* the three-field object we write has its own id, and round-trips */
	json_t *ours = upt_key_to_json(&k);
	assert_non_null(ours);
	assert_int_equal(json_object_size(ours), 3);
	upt_key k2;
	assert_int_equal(upt_key_from_json(ours, &k2, NULL), UPT_OK);
	assert_string_not_equal(k2.keyid, SSL_KEYID);
	assert_memory_equal(k2.pub, pub, 32);
	json_decref(ours);
	json_decref(v);
	/* uppercase public hex is read */
	v = json_pack("{s:s,s:s,s:{s:s}}", "keytype", "ed25519", "scheme", "ed25519", "keyval",
		      "public", "EED507076FF41BBB3E7AE99857CA60973DCD180DDBA22F4BF5B02305A8D01C72");
	assert_int_equal(upt_key_from_json(v, &k, NULL), UPT_OK);
	assert_memory_equal(k.pub, pub, 32);
	json_decref(v);
}

static void malformed_keys(void **state)
{
	(void)state;
	/* truncated, odd length, too long, a non-hex digit */
	char pubs[4][140];
	snprintf(pubs[0], sizeof(pubs[0]), "%.63s", SSL_PUB);
	snprintf(pubs[1], sizeof(pubs[1]), "%.62s", SSL_PUB);
	snprintf(pubs[2], sizeof(pubs[2]), "%s00", SSL_PUB);
	snprintf(pubs[3], sizeof(pubs[3]), "%.63sg", SSL_PUB);
	for (int i = 0; i < 4; i++) {
		json_t *v = json_pack("{s:s,s:s,s:{s:s}}", "keytype", "ed25519", "scheme",
				      "ed25519", "keyval", "public", pubs[i]);
		upt_key k;
		upt_err e;
		assert_int_equal(upt_key_from_json(v, &k, &e), UPT_E_MALFORMED);
		json_decref(v);
	}
	/* missing fields */
	json_t *v = parse_json("{\"keytype\":\"ed25519\",\"keyval\":{\"public\":\"" SSL_PUB "\"}}");
	upt_key k;
	assert_int_equal(upt_key_from_json(v, &k, NULL), UPT_E_MALFORMED);
	json_decref(v);
	v = parse_json("{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{}}");
	assert_int_equal(upt_key_from_json(v, &k, NULL), UPT_E_MALFORMED);
	json_decref(v);
	v = parse_json("[1]");
	assert_int_equal(upt_key_from_json(v, &k, NULL), UPT_E_MALFORMED);
	json_decref(v);
	/* unknown key types are kept, flagged, and get their id */
	v = parse_json("{\"keytype\":\"rsa\",\"scheme\":\"rsassa-pss-sha256\",\"keyval\":"
		       "{\"public\":\"-----BEGIN PUBLIC KEY-----\"}}");
	assert_int_equal(upt_key_from_json(v, &k, NULL), UPT_OK);
	assert_false(k.ed25519);
	assert_int_equal(strlen(k.keyid), 64);
	assert_null(upt_key_to_json(&k));
	json_decref(v);
	/* an ed25519 public key under another scheme is not an ed25519 key */
	v = parse_json("{\"keytype\":\"ed25519\",\"scheme\":\"ed25519-sha512-ph\",\"keyval\":"
		       "{\"public\":\"" SSL_PUB "\"}}");
	assert_int_equal(upt_key_from_json(v, &k, NULL), UPT_OK);
	assert_false(k.ed25519);
	json_decref(v);
}

static void key_files(void **state)
{
	(void)state;
	upt_signer *s = gen();
	mode_t old = umask(0); /* the modes must not depend on the caller's umask */
	assert_int_equal(upt_signer_write(s, tpath("k1"), NULL), UPT_OK);
	umask(old);
	struct stat st;
	assert_int_equal(stat(tpath("k1.key"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(tpath("k1.pub"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* never overwrites: a second key under the same name fails and leaves the first */
	upt_signer *s2 = gen();
	upt_err e;
	assert_int_equal(upt_signer_write(s2, tpath("k1"), &e), UPT_E_USAGE);
	assert_non_null(strstr(e.msg, "exists"));
	upt_signer *l = NULL;
	assert_int_equal(upt_signer_load(tpath("k1.key"), &l, &e), UPT_OK);
	assert_string_equal(upt_signer_key(l)->keyid, upt_signer_key(s)->keyid);
	assert_memory_equal(upt_signer_key(l)->pub, upt_signer_key(s)->pub, 32);
	/* a .pub in the way: nothing written, not even the .key */
	write_file(tpath("k2.pub"), "x");
	assert_int_not_equal(upt_signer_write(s2, tpath("k2"), &e), UPT_OK);
	assert_int_not_equal(access(tpath("k2.key"), F_OK), 0);

	/* the loaded key signs what the original verifies */
	uint8_t sig[64];
	assert_int_equal(upt_sign(l, "m", 1, sig, NULL), UPT_OK);
	assert_true(upt_sig_verify(upt_signer_key(s), "m", 1, sig));

	/* public key loads from .pub and from .key, with the same id as the signer */
	upt_key k;
	assert_int_equal(upt_pubkey_load(tpath("k1.pub"), &k, NULL), UPT_OK);
	assert_string_equal(k.keyid, upt_signer_key(s)->keyid);
	assert_int_equal(upt_pubkey_load(tpath("k1.key"), &k, NULL), UPT_OK);
	assert_string_equal(k.keyid, upt_signer_key(s)->keyid);
	/* a public key file is not a signer */
	upt_signer *bad = NULL;
	assert_int_equal(upt_signer_load(tpath("k1.pub"), &bad, &e), UPT_E_MALFORMED);
	assert_null(bad);
	assert_int_equal(upt_signer_load(tpath("nope.key"), &bad, &e), UPT_E_NOT_FOUND);
	upt_signer_free(l);
	upt_signer_free(s);
	upt_signer_free(s2);
}

static int load_text(const char *text, upt_signer **out)
{
	write_file(tpath("t.key"), text);
	int rc = upt_signer_load(tpath("t.key"), out, NULL);
	unlink(tpath("t.key"));
	return rc;
}

static void foreign_and_bad_key_files(void **state)
{
	(void)state;
	/* securesystemslib's private key file (extra keyid fields) loads; the signer's id is
	 * that of the three-field object our builders write */
	upt_signer *s = NULL;
	assert_int_equal(load_text(SSL_PRIVFILE, &s), UPT_OK);
	uint8_t pub[32];
	assert_int_equal(upt_hex_decode(SSL_PUB, pub, 32, NULL), UPT_OK);
	assert_memory_equal(upt_signer_key(s)->pub, pub, 32);
	json_t *o = upt_key_to_json(upt_signer_key(s));
	char id[65];
	assert_int_equal(upt_keyid(o, id, NULL), UPT_OK);
	assert_string_equal(upt_signer_key(s)->keyid, id);
	json_decref(o);
	upt_signer_free(s);
	s = NULL;
	/* its public key file loads too */
	upt_key k;
	write_file(tpath("ssl.pub"), SSL_PUBFILE);
	assert_int_equal(upt_pubkey_load(tpath("ssl.pub"), &k, NULL), UPT_OK);
	assert_memory_equal(k.pub, pub, 32);
	assert_string_equal(k.keyid, id);

	/* the 64-byte (seed || public) form */
	assert_int_equal(load_text("{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":"
				   "{\"public\":\"" SSL_PUB "\",\"private\":\"" SSL_SEED SSL_PUB
				   "\"}}",
				   &s),
			 UPT_OK);
	assert_memory_equal(upt_signer_key(s)->pub, pub, 32);
	upt_signer_free(s);
	s = NULL;

	static const char *const bad[] = {
	    /* public half not the seed's */
	    "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":"
	    "\"0000000000000000000000000000000000000000000000000000000000000000\","
	    "\"private\":\"" SSL_SEED "\"}}",
	    /* 64-byte form whose second half is another public key */
	    "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":\"" SSL_PUB
	    "\",\"private\":\"" SSL_SEED SSL_SEED "\"}}",
	    /* truncated seed */
	    "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":\"" SSL_PUB
	    "\",\"private\":\"a84bb94353ee939179caebfd432a06b0536c550fa1d5d3a0ceb2e29681aa888\"}}",
	    /* truncated public key */
	    "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":"
	    "\"eed507076ff41bbb3e7ae99857ca60973dcd180ddba22f4bf5b02305a8d01c7\","
	    "\"private\":\"" SSL_SEED "\"}}",
	    /* not ed25519 */
	    "{\"keytype\":\"rsa\",\"scheme\":\"rsassa-pss-sha256\",\"keyval\":{\"public\":"
	    "\"" SSL_PUB "\",\"private\":\"" SSL_SEED "\"}}",
	    /* not JSON, not an object, duplicate keys */
	    "not json",
	    "[]",
	    "{\"keytype\":\"ed25519\",\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":"
	    "{\"public\":\"" SSL_PUB "\",\"private\":\"" SSL_SEED "\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = NULL;
		assert_int_equal(load_text(bad[i], &s), UPT_E_MALFORMED);
		assert_null(s);
	}
	/* oversized key file: refused before parsing */
	char *big = malloc(UPT_KEYFILE_MAX + 2);
	memset(big, ' ', UPT_KEYFILE_MAX + 1);
	big[UPT_KEYFILE_MAX + 1] = 0;
	big[0] = '{';
	int rc = load_text(big, &s);
	free(big);
	assert_int_equal(rc, UPT_E_TOO_LARGE);
	/* public key files: the same refusals */
	write_file(tpath("bad.pub"), "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":"
				     "{\"public\":\"eed507\"}}");
	assert_int_equal(upt_pubkey_load(tpath("bad.pub"), &k, NULL), UPT_E_MALFORMED);
	write_file(tpath("bad.pub"), "{\"keytype\":\"rsa\",\"scheme\":\"rsa\",\"keyval\":"
				     "{\"public\":\"PEM\"}}");
	assert_int_equal(upt_pubkey_load(tpath("bad.pub"), &k, NULL), UPT_E_MALFORMED);
	write_file(tpath("bad.pub"), "{\"keytype\":\"ed25519\"}");
	assert_int_equal(upt_pubkey_load(tpath("bad.pub"), &k, NULL), UPT_E_MALFORMED);
	assert_int_equal(upt_pubkey_load(tpath("missing.pub"), &k, NULL), UPT_E_NOT_FOUND);
	assert_int_equal(symlink(tpath("ssl.pub"), tpath("link.pub")), 0);
	assert_int_equal(upt_pubkey_load(tpath("link.pub"), &k, NULL), UPT_E_IO);
	assert_int_equal(upt_pubkey_load(tmpdir, &k, NULL), UPT_E_IO); /* a directory */
	/* a symlink is not followed */
	write_file(tpath("real.key"), SSL_PRIVFILE);
	assert_int_equal(symlink(tpath("real.key"), tpath("link.key")), 0);
	assert_int_equal(upt_signer_load(tpath("link.key"), &s, NULL), UPT_E_IO);
	assert_null(s);
}

/* --- threshold ------------------------------------------------------------------------ */

/* A root `signed` whose four roles all use the given key ids and threshold. */
static json_t *root_signed(json_t *keys, const char *const *ids, size_t nids, int threshold)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < nids; i++)
		json_array_append_new(arr, json_string(ids[i]));
	json_t *roles = json_object();
	const char *names[] = {"root", "timestamp", "snapshot", "targets"};
	for (int i = 0; i < 4; i++)
		json_object_set_new(roles, names[i],
				    json_pack("{s:O,s:i}", "keyids", arr, "threshold", threshold));
	json_decref(arr);
	return json_pack("{s:s,s:s,s:i,s:s,s:b,s:o,s:o}", "_type", "root", "spec_version", "1.0.31",
			 "version", 1, "expires", "2030-01-01T00:00:00Z", "consistent_snapshot", 0,
			 "keys", keys, "roles", roles);
}

static upt_meta *parse_env(json_t *env)
{
	char *text = json_dumps(env, JSON_INDENT(1));
	assert_non_null(text);
	upt_meta *m = NULL;
	upt_err e;
	int rc = upt_meta_parse(text, strlen(text), UPT_ROLE_ROOT, &m, &e);
	if (rc)
		fprintf(stderr, "parse: %s\n", e.msg);
	assert_int_equal(rc, UPT_OK);
	free(text);
	return m;
}

static void add_key(json_t *keys, const upt_signer *s)
{
	json_object_set_new(keys, upt_signer_key(s)->keyid, upt_key_to_json(upt_signer_key(s)));
}

static int check(const upt_meta *m, uint64_t *valid, upt_err *e)
{
	return upt_sig_check_threshold(m, m->keys, m->nkeys, upt_meta_role(m, "root"), valid, e);
}

static void threshold_counts(void **state)
{
	(void)state;
	upt_signer *a = gen(), *b = gen(), *c = gen();
	json_t *keys = json_object();
	add_key(keys, a);
	add_key(keys, b);
	add_key(keys, c);
	const char *ids[] = {upt_signer_key(a)->keyid, upt_signer_key(b)->keyid,
			     upt_signer_key(c)->keyid};
	json_t *env = json_pack("{s:o,s:[]}", "signed", root_signed(keys, ids, 3, 2), "signatures");
	upt_err e;
	uint64_t valid = 99;

	/* no signature: 0 of 2 */
	upt_meta *m = parse_env(env);
	assert_int_equal(check(m, &valid, &e), UPT_E_ARBITRARY_SOFTWARE);
	assert_int_equal(valid, 0);
	upt_meta_free(m);

	/* one short */
	assert_int_equal(upt_sig_add(env, a, NULL), UPT_OK);
	m = parse_env(env);
	assert_int_equal(check(m, &valid, &e), UPT_E_ARBITRARY_SOFTWARE);
	assert_int_equal(valid, 1);
	assert_non_null(strstr(e.msg, "1 of 2 required signatures"));
	upt_meta_free(m);

	/* signing again with the same key replaces, never adds a second entry */
	assert_int_equal(upt_sig_add(env, a, NULL), UPT_OK);
	assert_int_equal(json_array_size(json_object_get(env, "signatures")), 1);

	/* met exactly */
	assert_int_equal(upt_sig_add(env, b, NULL), UPT_OK);
	m = parse_env(env);
	assert_int_equal(check(m, &valid, &e), UPT_OK);
	assert_int_equal(valid, 2);
	upt_meta_free(m);

	/* above */
	assert_int_equal(upt_sig_add(env, c, NULL), UPT_OK);
	m = parse_env(env);
	assert_int_equal(check(m, &valid, &e), UPT_OK);
	assert_int_equal(valid, 3);

	/* a caller-built role that lists a key twice still counts it once */
	const upt_role_keys *r = upt_meta_role(m, "root");
	const char *twice[] = {r->keyids[0], r->keyids[0]};
	upt_role_keys dup = {.name = "dup", .keyids = twice, .nkeyids = 2, .threshold = 2};
	assert_int_equal(upt_sig_check_threshold(m, m->keys, m->nkeys, &dup, &valid, &e),
			 UPT_E_ARBITRARY_SOFTWARE);
	assert_int_equal(valid, 1);
	/* threshold 0 fails closed */
	upt_role_keys zero = {.name = "zero", .keyids = twice, .nkeyids = 1, .threshold = 0};
	assert_int_equal(upt_sig_check_threshold(m, m->keys, m->nkeys, &zero, &valid, &e),
			 UPT_E_ARBITRARY_SOFTWARE);
	/* keys not passed (e.g. the delegating file's keys lack them): nothing counts */
	assert_int_equal(upt_sig_check_threshold(m, NULL, 0, r, &valid, &e),
			 UPT_E_ARBITRARY_SOFTWARE);
	assert_int_equal(valid, 0);
	upt_meta_free(m);

	/* the signed bytes change after signing: no signature verifies */
	json_object_set_new(json_object_get(env, "signed"), "version", json_integer(2));
	m = parse_env(env);
	assert_int_equal(check(m, &valid, &e), UPT_E_ARBITRARY_SOFTWARE);
	assert_int_equal(valid, 0);
	upt_meta_free(m);

	json_decref(env);
	upt_signer_free(a);
	upt_signer_free(b);
	upt_signer_free(c);
}

/* One public key listed under two ids (plain, and with securesystemslib's
 * keyid_hash_algorithms, which changes the id) with one signature under each: the key counts
 * once, so threshold 2 is not met; two distinct keys still meet it. */
static void same_pubkey_two_ids_counts_once(void **state)
{
	(void)state;
	upt_signer *a = gen(), *b = gen();
	json_t *plain = upt_key_to_json(upt_signer_key(a));
	json_t *alt = json_deep_copy(plain);
	json_object_set_new(alt, "keyid_hash_algorithms", json_pack("[s,s]", "sha256", "sha512"));
	char alt_id[UPT_KEYID_HEX_LEN + 1];
	upt_err e;
	assert_int_equal(upt_keyid(alt, alt_id, &e), UPT_OK);
	assert_string_not_equal(alt_id, upt_signer_key(a)->keyid);
	json_t *keys = json_object();
	json_object_set_new(keys, upt_signer_key(a)->keyid, plain);
	json_object_set_new(keys, alt_id, alt);
	const char *ids[] = {upt_signer_key(a)->keyid, alt_id};
	json_t *env = json_pack("{s:o,s:[]}", "signed", root_signed(keys, ids, 2, 2), "signatures");
	assert_int_equal(upt_sig_add(env, a, NULL), UPT_OK);
	assert_int_equal(upt_sig_add_keyid(env, a, alt_id, NULL), UPT_OK);
	assert_int_equal(json_array_size(json_object_get(env, "signatures")), 2);
	uint64_t valid = 99;
	upt_meta *m = NULL;
	char *text = json_dumps(env, 0);
	int rc = upt_meta_parse(text, strlen(text), UPT_ROLE_ROOT, &m, &e);
	free(text);
	if (rc == UPT_OK) { /* refusing the root outright would do as well */
		assert_int_equal(check(m, &valid, &e), UPT_E_ARBITRARY_SOFTWARE);
		assert_int_equal(valid, 1);
		upt_meta_free(m);
	}
	json_decref(env);

	/* control: two distinct keys, one signature each, meet threshold 2 */
	keys = json_object();
	add_key(keys, a);
	add_key(keys, b);
	const char *ids2[] = {upt_signer_key(a)->keyid, upt_signer_key(b)->keyid};
	env = json_pack("{s:o,s:[]}", "signed", root_signed(keys, ids2, 2, 2), "signatures");
	assert_int_equal(upt_sig_add(env, a, NULL), UPT_OK);
	assert_int_equal(upt_sig_add(env, b, NULL), UPT_OK);
	m = parse_env(env);
	assert_int_equal(check(m, &valid, &e), UPT_OK);
	assert_int_equal(valid, 2);
	upt_meta_free(m);
	json_decref(env);
	upt_signer_free(a);
	upt_signer_free(b);
}

/* The same key's signature twice in one parsed file (a hand-built record, since the parser
 * already refuses the file): counted once. */
static void same_key_twice_counts_once(void **state)
{
	(void)state;
	upt_signer *a = gen();
	json_t *keys = json_object();
	add_key(keys, a);
	const char *ids[] = {upt_signer_key(a)->keyid};
	json_t *env = json_pack("{s:o,s:[]}", "signed", root_signed(keys, ids, 1, 2), "signatures");
	assert_int_equal(upt_sig_add(env, a, NULL), UPT_OK);
	upt_meta *m = parse_env(env);
	upt_signature two[2] = {m->sigs[0], m->sigs[0]};
	upt_signature *saved = m->sigs;
	m->sigs = two;
	m->nsigs = 2;
	uint64_t valid;
	assert_int_equal(check(m, &valid, NULL), UPT_E_ARBITRARY_SOFTWARE);
	assert_int_equal(valid, 1);
	m->sigs = saved;
	m->nsigs = 1;
	upt_meta_free(m);
	/* and the parser refuses the file outright */
	json_t *sigs = json_object_get(env, "signatures");
	json_array_append(sigs, json_array_get(sigs, 0));
	char *text = json_dumps(env, 0);
	upt_err e;
	m = NULL;
	assert_int_equal(upt_meta_parse(text, strlen(text), UPT_ROLE_ROOT, &m, &e),
			 UPT_E_MALFORMED);
	assert_null(m);
	free(text);
	json_decref(env);
	upt_signer_free(a);
}

static void unknown_key_types_never_count(void **state)
{
	(void)state;
	upt_signer *a = gen(), *b = gen();
	/* b's real ed25519 public key, declared under another scheme: a checker that looked
	 * only at the key bytes would count b's valid signature */
	json_t *bkey = upt_key_to_json(upt_signer_key(b));
	json_t *odd = json_pack("{s:s,s:s,s:O}", "keytype", "ed25519", "scheme",
				"ed25519-experimental", "keyval", json_object_get(bkey, "keyval"));
	json_decref(bkey);
	char oddid[65], rsaid[65];
	assert_int_equal(upt_keyid(odd, oddid, NULL), UPT_OK);
	json_t *rsa = parse_json("{\"keytype\":\"rsa\",\"scheme\":\"rsassa-pss-sha256\","
				 "\"keyval\":{\"public\":\"PEM\"}}");
	assert_int_equal(upt_keyid(rsa, rsaid, NULL), UPT_OK);
	const char *ids[] = {upt_signer_key(a)->keyid, oddid, rsaid};

	for (int threshold = 1; threshold <= 2; threshold++) {
		json_t *keys = json_object();
		add_key(keys, a);
		json_object_set(keys, oddid, odd);
		json_object_set(keys, rsaid, rsa);
		json_t *env = json_pack("{s:o,s:[]}", "signed",
					root_signed(keys, ids, 3, threshold), "signatures");
		assert_int_equal(upt_sig_add(env, a, NULL), UPT_OK);
		assert_int_equal(upt_sig_add_keyid(env, b, oddid, NULL), UPT_OK);
		/* and b's valid signature bytes under the rsa key id */
		json_t *sigs = json_object_get(env, "signatures");
		json_array_append_new(sigs,
				      json_pack("{s:s,s:O}", "keyid", rsaid, "sig",
						json_object_get(json_array_get(sigs, 1), "sig")));
		upt_meta *m = parse_env(env);
		assert_false(upt_meta_key(m, oddid)->ed25519);
		assert_false(upt_meta_key(m, rsaid)->ed25519);
		uint64_t valid;
		upt_err e;
		int rc = check(m, &valid, &e);
		assert_int_equal(valid, 1);
		if (threshold == 1) {
			/* met by a alone: the unknown keys neither help nor hurt */
			assert_int_equal(rc, UPT_OK);
		} else {
			/* met only by counting an unknown-type key: fails */
			assert_int_equal(rc, UPT_E_ARBITRARY_SOFTWARE);
			assert_non_null(strstr(e.msg, "1 of 2"));
		}
		upt_meta_free(m);
		json_decref(env);
	}
	json_decref(odd);
	json_decref(rsa);
	upt_signer_free(a);
	upt_signer_free(b);
}

static void bad_signature_encodings_never_verify(void **state)
{
	(void)state;
	upt_signer *a = gen(), *b = gen();
	json_t *keys = json_object();
	add_key(keys, a);
	add_key(keys, b);
	const char *ids[] = {upt_signer_key(a)->keyid, upt_signer_key(b)->keyid};
	json_t *env = json_pack("{s:o,s:[]}", "signed", root_signed(keys, ids, 2, 1), "signatures");
	assert_int_equal(upt_sig_add(env, a, NULL), UPT_OK);
	json_t *entry = json_array_get(json_object_get(env, "signatures"), 0);
	char sig[140];
	strcpy(sig, json_string_value(json_object_get(entry, "sig")));
	/* truncated (126 digits), extended (130), a non-hex digit, empty */
	char variants[4][200];
	snprintf(variants[0], 200, "%.126s", sig);
	snprintf(variants[1], 200, "%.128s00", sig);
	snprintf(variants[2], 200, "%.127sz", sig);
	variants[3][0] = 0;
	for (int i = 0; i < 4; i++) {
		json_object_set_new(entry, "sig", json_string(variants[i]));
		upt_meta *m = parse_env(env); /* kept: the file is not malformed by it */
		assert_false(m->sigs[0].sig_ok);
		uint64_t valid;
		assert_int_equal(check(m, &valid, NULL), UPT_E_ARBITRARY_SOFTWARE);
		assert_int_equal(valid, 0);
		upt_meta_free(m);
	}
	/* uppercase hex is read */
	for (char *p = sig; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	json_object_set_new(entry, "sig", json_string(sig));
	upt_meta *m = parse_env(env);
	assert_true(m->sigs[0].sig_ok);
	assert_int_equal(check(m, NULL, NULL), UPT_OK);
	upt_meta_free(m);
	/* a valid signature by a under b's key id does not count */
	assert_int_equal(upt_sig_add_keyid(env, a, upt_signer_key(b)->keyid, NULL), UPT_OK);
	json_array_remove(json_object_get(env, "signatures"), 0);
	m = parse_env(env);
	uint64_t valid;
	assert_int_equal(check(m, &valid, NULL), UPT_E_ARBITRARY_SOFTWARE);
	assert_int_equal(valid, 0);
	upt_meta_free(m);
	json_decref(env);
	upt_signer_free(a);
	upt_signer_free(b);
}

static void sig_add_errors(void **state)
{
	(void)state;
	upt_signer *a = gen();
	json_t *env = parse_json("{\"signatures\":[]}");
	assert_int_equal(upt_sig_add(env, a, NULL), UPT_E_MALFORMED);
	json_decref(env);
	env = parse_json("{\"signed\":{},\"signatures\":{}}");
	assert_int_equal(upt_sig_add(env, a, NULL), UPT_E_MALFORMED);
	json_decref(env);
	env = parse_json("{\"signed\":{\"a\":1}}"); /* no signatures yet: created */
	assert_int_equal(upt_sig_add(env, a, NULL), UPT_OK);
	assert_int_equal(json_array_size(json_object_get(env, "signatures")), 1);
	json_decref(env);
	upt_signer_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sign_verify),
	    cmocka_unit_test(key_ids),
	    cmocka_unit_test(malformed_keys),
	    cmocka_unit_test(key_files),
	    cmocka_unit_test(foreign_and_bad_key_files),
	    cmocka_unit_test(threshold_counts),
	    cmocka_unit_test(same_pubkey_two_ids_counts_once),
	    cmocka_unit_test(same_key_twice_counts_once),
	    cmocka_unit_test(unknown_key_types_never_count),
	    cmocka_unit_test(bad_signature_encodings_never_verify),
	    cmocka_unit_test(sig_add_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
