/*
 * sign: adds signatures to one metadata file, for threshold signing by people on separate
 * machines: a root version from init or rotate (WORKSPACE/metadata/REPO/N.root.json), or a
 * file create --sign-later staged (WORKSPACE/staged/metadata/...). The signature covers the
 * canonical JSON of `signed` (docs/bundle-format.md); the file is rewritten atomically in
 * canonical form. The file is parsed as metadata first, so a damaged file is refused rather
 * than signed. Whether the key is one the role trusts is for the threshold check to say
 * (create prints what is still missing); a root file tells here already.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "keys.h"
#include "upt/cjson.h"
#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/sig.h"

static const char usage[] =
    "usage: uptane-bundle sign FILE.json --key K.key..\n"
    "  Adds the signature of each private key K.key to FILE.json (a root from init or\n"
    "  rotate, or a file staged by create --sign-later), replacing an older signature by\n"
    "  the same key. Copy the file to the machine holding the key and back, or sign a\n"
    "  copy of the workspace there and copy the file back.\n";

static const arg_opt opts[] = {
    {"key", 0, ARG_LIST},
};

static int type_of(const json_t *doc, upt_role_type *out, upt_err *e)
{
	static const upt_role_type all[] = {
	    UPT_ROLE_ROOT,    UPT_ROLE_TIMESTAMP,	 UPT_ROLE_SNAPSHOT,
	    UPT_ROLE_TARGETS, UPT_ROLE_OFFLINE_SNAPSHOT, UPT_ROLE_OFFLINE_UPDATES};
	const char *t = json_string_value(json_object_get(json_object_get(doc, "signed"), "_type"));
	for (size_t i = 0; t && i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(t, upt_role_type_name(all[i]))) {
			*out = all[i];
			return UPT_OK;
		}
	return upt_err_set(e, UPT_E_USAGE, "not Uptane metadata (no known signed._type)");
}

static int sign_file(const char *path, const arg_val *keys, upt_err *e)
{
	upt_buf in, out;
	upt_buf_init(&in, UPT_META_FILE_MAX);
	upt_buf_init(&out, UPT_META_FILE_MAX);
	json_t *doc = NULL;
	upt_meta *m = NULL, *after = NULL;
	keyring kr;
	keyring_init(&kr);
	upt_role_type type = UPT_ROLE_ROOT;
	int rc = upt_file_read(AT_FDCWD, path, UPT_META_FILE_MAX, &in, e);
	if (rc == UPT_OK)
		rc = upt_json_parse(in.data, in.len, UPT_META_FILE_MAX, &doc, e);
	if (rc == UPT_OK)
		rc = type_of(doc, &type, e);
	if (rc == UPT_OK)
		rc = upt_meta_parse(in.data, in.len, type, &m, e);
	if (rc) {
		upt_err_prefix(e, "%s", path);
		goto out;
	}
	for (size_t i = 0; rc == UPT_OK && i < keys->n; i++) {
		const upt_signer *s;
		rc = keyring_load(&kr, keys->v[i], &s, e);
		if (rc)
			break;
		const upt_key *k = upt_signer_key(s);
		/* A root may list the key in another form (securesystemslib's, hence another id):
		 * sign under the id the file uses. */
		const char *keyid = k->keyid;
		for (size_t j = 0; j < m->nkeys; j++)
			if (m->keys[j].ed25519 && !memcmp(m->keys[j].pub, k->pub, 32))
				keyid = m->keys[j].keyid;
		rc = upt_sig_add_keyid(doc, s, keyid, e);
		if (rc)
			break;
		if (type == UPT_ROLE_ROOT) {
			const upt_role_keys *r = upt_meta_role(m, "root");
			bool listed = false;
			for (size_t j = 0; r && j < r->nkeyids; j++)
				listed |= !strcmp(r->keyids[j], keyid);
			if (!listed)
				printf("%s: note: %s is not one of this root's own root keys (fine "
				       "when it "
				       "is a key of the previous root version)\n",
				       path, keys->v[i]);
		}
		printf("%s: signed with %s (key id %.16s...)\n", path, keys->v[i], keyid);
	}
	if (rc == UPT_OK)
		rc = upt_cjson_encode(doc, &out, e);
	/* What is written must parse back as the same metadata. */
	if (rc == UPT_OK)
		rc = upt_meta_parse(out.data, out.len, type, &after, e);
	if (rc == UPT_OK)
		rc = upt_file_write_atomic(AT_FDCWD, path, out.data, out.len, 0644, e);
	if (rc == UPT_OK)
		printf("%s: %zu signature(s) now\n", path, after->nsigs);
out:
	upt_meta_free(after);
	upt_meta_free(m);
	json_decref(doc);
	keyring_clear(&kr);
	upt_buf_clear(&in);
	upt_buf_clear(&out);
	return rc;
}

static int sign_run(const args *a)
{
	const arg_val *keys = args_get(a, "key");
	if (a->npos != 1 || !keys->n)
		return cli_usage("sign", usage, "expected FILE.json and --key K.key");
	for (size_t i = 0; i < keys->n; i++)
		if (!key_path_is_private(keys->v[i]))
			return cli_usage("sign", usage,
					 "%s: signing needs the private key file (NAME.key)",
					 keys->v[i]);
	upt_err e;
	upt_err_clear(&e);
	return sign_file(a->pos[0], keys, &e) ? cli_fail("sign", &e) : 0;
}

int cmd_sign(int argc, char **argv)
{
	return cli_run("sign", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, sign_run);
}
