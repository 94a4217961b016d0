/* sigtool: a tiny test-only front end to the library's sig/meta code, for
 * tests/cli/sig_interop.sh (which compiles it against the build's libuptane-formats.a).
 *
 *   sigtool keyid KEYFILE                  key id of a .pub or .key file, as our builders use it
 *   sigtool sign KEY.key IN.json OUT.json [KEYID]
 *                                          add a signature (under KEYID if given); OUT is the
 *                                          canonical JSON of the envelope
 *   sigtool verify ROOT.json ROLE TYPE FILE.json
 *                                          parse FILE as TYPE and check ROLE's threshold with
 *                                          ROOT's keys; prints "valid N"; exit 0 when met
 *   sigtool parse TYPE FILE.json           parse only; exit 0 when it parses
 * Exit status: 0 ok, 1 check failed, 2 usage or I/O.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "upt/cjson.h"
#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/sig.h"

static int type_of(const char *s, upt_role_type *t)
{
	for (int i = UPT_ROLE_ROOT; i <= UPT_ROLE_OFFLINE_UPDATES; i++)
		if (!strcmp(upt_role_type_name((upt_role_type)i), s)) {
			*t = (upt_role_type)i;
			return 0;
		}
	return -1;
}

static upt_meta *load(const char *path, upt_role_type t, upt_err *e)
{
	upt_buf b;
	upt_meta *m = NULL;
	upt_buf_init(&b, UPT_META_FILE_MAX);
	if (upt_file_read(AT_FDCWD, path, UPT_META_FILE_MAX, &b, e) == UPT_OK)
		(void)!upt_meta_parse(b.data, b.len, t, &m, e);
	upt_buf_clear(&b);
	return m;
}

int main(int argc, char **argv)
{
	upt_err e;
	upt_err_clear(&e);
	if (argc == 3 && !strcmp(argv[1], "keyid")) {
		upt_key k;
		if (upt_pubkey_load(argv[2], &k, &e)) {
			fprintf(stderr, "sigtool: %s\n", e.msg);
			return 2;
		}
		printf("%s\n", k.keyid);
		return 0;
	}
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "sign")) {
		upt_signer *s = NULL;
		upt_buf in, out;
		json_t *env = NULL;
		upt_buf_init(&in, UPT_META_FILE_MAX);
		upt_buf_init(&out, 2 * UPT_META_FILE_MAX);
		int rc = upt_signer_load(argv[2], &s, &e);
		if (rc == UPT_OK)
			rc = upt_file_read(AT_FDCWD, argv[3], UPT_META_FILE_MAX, &in, &e);
		if (rc == UPT_OK)
			rc = upt_json_parse(in.data, in.len, UPT_META_FILE_MAX, &env, &e);
		if (rc == UPT_OK)
			rc = argc == 6 ? upt_sig_add_keyid(env, s, argv[5], &e)
				       : upt_sig_add(env, s, &e);
		if (rc == UPT_OK)
			rc = upt_cjson_encode(env, &out, &e);
		if (rc == UPT_OK)
			rc = upt_file_write_atomic(AT_FDCWD, argv[4], out.data, out.len, 0644, &e);
		if (rc)
			fprintf(stderr, "sigtool: %s\n", e.msg);
		json_decref(env);
		upt_buf_clear(&in);
		upt_buf_clear(&out);
		upt_signer_free(s);
		return rc ? 2 : 0;
	}
	if (argc == 6 && !strcmp(argv[1], "verify")) {
		upt_role_type t;
		if (type_of(argv[4], &t))
			return 2;
		upt_meta *root = load(argv[2], UPT_ROLE_ROOT, &e);
		upt_meta *m = root ? load(argv[5], t, &e) : NULL;
		const upt_role_keys *r = root ? upt_meta_role(root, argv[3]) : NULL;
		int status = 2;
		if (!m || !r) {
			fprintf(stderr, "sigtool: %s\n", r || !root ? e.msg : "no such role");
		} else {
			uint64_t valid = 0;
			int rc = upt_sig_check_threshold(m, root->keys, root->nkeys, r, &valid, &e);
			printf("valid %llu\n", (unsigned long long)valid);
			if (rc)
				fprintf(stderr, "sigtool: %s\n", e.msg);
			status = rc ? 1 : 0;
		}
		upt_meta_free(m);
		upt_meta_free(root);
		return status;
	}
	if (argc == 4 && !strcmp(argv[1], "parse")) {
		upt_role_type t;
		if (type_of(argv[2], &t))
			return 2;
		upt_meta *m = load(argv[3], t, &e);
		if (!m)
			fprintf(stderr, "sigtool: %s (%s)\n", e.msg, upt_err_class(e.code));
		upt_meta_free(m);
		return m ? 0 : 1;
	}
	fprintf(stderr, "usage: sigtool keyid|sign|verify|parse ...\n");
	return 2;
}
