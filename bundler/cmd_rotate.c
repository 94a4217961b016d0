/*
 * rotate: a new root version N+1 for one repository that gives a role new keys (or a new
 * threshold, or the PURE-2 roles to a Director root that lacks them, or just a later expiry).
 * Uptane 5.4.4.3 / TUF 5.3.4: devices accept N+1 only when it is signed by a threshold of
 * version N's root keys and a threshold of its own, so it is signed here by every old and
 * new root key held here; keys held elsewhere add theirs with `sign`. The next bundle
 * carries every root version, so devices provisioned with any of them chain up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "build.h"
#include "commands.h"
#include "signing.h"
#include "upt/cjson.h"
#include "upt/metabuild.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"
#include "workspace.h"

static const char usage[] =
    "usage: uptane-bundle rotate WORKSPACE --role REPO/ROLE [--key K..] [--threshold N]\n"
    "         [--expires DURATION]\n"
    "  Signs root version N+1 of REPO (image-repo or director) in which ROLE (root, targets,\n"
    "  snapshot, timestamp, offline-snapshot, offline-updates) has the keys K.. (default:\n"
    "  unchanged) and threshold N (default: unchanged, at most the number of keys).\n"
    "  --expires: the new root's lifetime (default the root role's, 1y); DURATION: <n>h\n"
    "  hours, <n>d days or <n>y calendar years (12h, 90d, 2y). Signed by the old and the\n"
    "  new root keys held here; others sign with uptane-bundle sign.\n";

static const arg_opt opts[] = {
    {"role", 0, ARG_ONE},
    {"key", 0, ARG_LIST},
    {"threshold", 0, ARG_ONE},
    {"expires", 0, ARG_ONE},
};

static bool role_known(const char *role)
{
	static const char *const roles[] = {"root",	 "targets",	     "snapshot",
					    "timestamp", "offline-snapshot", "offline-updates"};
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (!strcmp(roles[i], role))
			return true;
	return false;
}

static void retire_keys(ws *w, const json_t *old_entry)
{
	json_t *ret = json_object_get(w->doc, "retired_keys");
	if (!ret) {
		ret = json_array();
		json_object_set_new(w->doc, "retired_keys", ret);
	}
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(old_entry, "keys"), i, k)
	{
		json_array_append(ret, k);
	}
}

static int rotate(ws *w, const args *a, upt_err *e)
{
	const char *spec = args_one(a, "role");
	const char *slash = spec ? strchr(spec, '/') : NULL;
	char repo[16];
	if (!slash || (size_t)(slash - spec) >= sizeof(repo))
		return upt_err_set(e, UPT_E_USAGE,
				   "--role REPO/ROLE is required (e.g. image-repo/root)");
	memcpy(repo, spec, (size_t)(slash - spec));
	repo[slash - spec] = '\0';
	const char *role = slash + 1;
	if (!ws_repo_valid(repo) || !role_known(role) ||
	    (!strcmp(repo, "image-repo") && !strncmp(role, "offline-", 8)))
		return upt_err_set(e, UPT_E_USAGE,
				   "--role %s: not a role of a root (image-repo or "
				   "director / root, targets, snapshot, timestamp; director also "
				   "offline-snapshot, offline-updates)",
				   spec);
	uint64_t n;
	upt_meta *cur = NULL;
	keyring kr;
	keyring_init(&kr);
	json_t *obj = NULL, *saved = json_deep_copy(w->doc);
	upt_buf out;
	upt_buf_init(&out, UPT_META_FILE_MAX);
	int rc =
	    saved ? ws_root_latest(w, repo, &n, e) : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if (rc == UPT_OK)
		rc = ws_load_root(w, repo, n, &cur, e);
	if (rc)
		goto out;
	if (n + 1 > UPT_ROOT_CHAIN_MAX) {
		rc = upt_err_set(e, UPT_E_USAGE, "%s: already %llu root versions", repo,
				 (unsigned long long)n);
		goto out;
	}
	/* The old root keys sign first: they are what devices trust now. */
	const upt_signer *old_s[SIGNERS_MAX], *new_s[SIGNERS_MAX], *all[2 * SIGNERS_MAX];
	size_t nold = 0, nnew = 0, nall = 0;
	rc = signing_signers(ws_role(w, repo, "root"), &kr, old_s, &nold, e);
	if (rc)
		goto out;

	json_t *roles = json_object_get(json_object_get(w->doc, "repos"), repo);
	json_t *entry = json_object_get(roles, role);
	const arg_val *keys = args_get(a, "key");
	if (!entry && !keys->n) {
		rc = upt_err_set(e, UPT_E_USAGE, "%s has no role %s yet: give its --key", repo,
				 role);
		goto out;
	}
	if (!entry) {
		entry = json_pack("{s:[], s:i, s:s}", "keys", "threshold", 1, "expires",
				  ws_default_expiry(role));
		json_object_set_new(roles, role, entry);
	}
	if (keys->n) {
		if (keys->n > UPT_KEYS_PER_ROLE_MAX) {
			rc = upt_err_set(e, UPT_E_USAGE, "too many keys");
			goto out;
		}
		json_t *arr = json_array();
		for (size_t i = 0; rc == UPT_OK && i < keys->n; i++) {
			json_t *k = NULL;
			rc = ws_key_entry(keys->v[i], &k, e);
			size_t j;
			json_t *o;
			json_array_foreach(arr, j, o)
			{
				if (rc == UPT_OK && json_equal(json_object_get(o, "keyid"),
							       json_object_get(k, "keyid")))
					rc = upt_err_set(e, UPT_E_USAGE, "key %s given twice",
							 keys->v[i]);
			}
			if (rc == UPT_OK)
				json_array_append(arr, k);
			json_decref(k);
		}
		if (rc) {
			json_decref(arr);
			goto out;
		}
		retire_keys(w, entry);
		json_object_set_new(entry, "keys", arr);
	}
	size_t nk = json_array_size(json_object_get(entry, "keys"));
	uint64_t t = (uint64_t)json_integer_value(json_object_get(entry, "threshold"));
	if (args_one(a, "threshold")) {
		rc = parse_u64("--threshold", args_one(a, "threshold"), 1, nk, &t, e);
		if (rc) {
			rc = upt_err_set(e, UPT_E_USAGE,
					 "--threshold must be between 1 and the role's "
					 "%zu keys",
					 nk);
			goto out;
		}
	} else if (t > nk || t < 1) {
		t = nk < t ? nk : 1;
	}
	json_object_set_new(entry, "threshold", json_integer((json_int_t)t));

	int64_t now = now_utc(), secs, expires;
	const char *exp = args_one(a, "expires");
	rc = exp ? upt_duration_parse(exp, now, &secs, e)
		 : ws_entry_expiry(ws_role(w, repo, "root"), "root", now, &secs, e);
	if (rc)
		goto out;
	expires = now + secs;
	char what[64];
	snprintf(what, sizeof(what), "%s/%llu.root.json", repo, (unsigned long long)(n + 1));
	rc = signing_check_expiry(what, expires, now, e);
	if (rc == UPT_OK) {
		signing_warn_root("rotate", what, expires, now);
		rc = signing_signers(ws_role(w, repo, "root"), &kr, new_s, &nnew, e);
	}
	if (rc == UPT_OK)
		rc = signing_root_obj(w, repo, n + 1, expires, &obj, e);
	if (rc)
		goto out;
	for (size_t i = 0; i < nold; i++)
		all[nall++] = old_s[i];
	for (size_t i = 0; i < nnew; i++) {
		bool dup = false;
		for (size_t j = 0; j < nold; j++)
			dup |= new_s[i] == old_s[j];
		if (!dup)
			all[nall++] = new_s[i];
	}
	rc = upt_mb_sign(obj, all, nall, &out, e);
	if (rc == UPT_OK) {
		snprintf(what, sizeof(what), "metadata/%s/%llu.root.json", repo,
			 (unsigned long long)(n + 1));
		rc = ws_write(w, what, out.data, out.len, e);
	}
	if (rc == UPT_OK) {
		rc = ws_save(w, e);
		if (rc) {
			/* The workspace must describe its newest root: take the file back. */
			upt_err ig;
			if (ws_remove_tree(w, what, &ig) != UPT_OK)
				fprintf(stderr, "uptane-bundle rotate: remove %s/%s by hand\n",
					w->dir, what);
		}
	}
	if (rc)
		goto out;
	sig_status st_old, st_new;
	rc = signing_root_status(w, repo, n + 1, &st_old, &st_new, e);
	if (rc)
		goto out;
	printf("%s root version %llu: %s has %zu key(s), threshold %llu\n", repo,
	       (unsigned long long)(n + 1), role, nk, (unsigned long long)t);
	printf("  %s/%s\n", w->dir, what);
	printf("  signatures: %llu of %llu by version %llu's root keys, %llu of %llu by its own\n",
	       (unsigned long long)st_old.have, (unsigned long long)st_old.need,
	       (unsigned long long)n, (unsigned long long)st_new.have,
	       (unsigned long long)st_new.need);
	if (st_old.have < st_old.need)
		printf("  still needed from the old root keys: %s\n", st_old.missing);
	if (st_new.have < st_new.need)
		printf("  still needed from the new root keys: %s\n", st_new.missing);
	printf("  the next bundle carries it (devices check both thresholds)\n");
out:
	if (rc) {
		/* Leave the workspace as it was. */
		json_decref(w->doc);
		w->doc = saved;
		saved = NULL;
	}
	json_decref(saved);
	json_decref(obj);
	upt_buf_clear(&out);
	upt_meta_free(cur);
	keyring_clear(&kr);
	return rc;
}

static int rotate_run(const args *a)
{
	if (a->npos != 1)
		return cli_usage("rotate", usage, "expected one WORKSPACE");
	upt_err e;
	upt_err_clear(&e);
	ws w = {.dirfd = -1, .lockfd = -1};
	int rc = ws_open(a->pos[0], &w, &e);
	if (rc == UPT_OK && ws_exists(&w, "staged"))
		rc = upt_err_set(&e, UPT_E_USAGE,
				 "a create is waiting for signatures in %s/staged: "
				 "finish it (create --resume) or drop it (create --abort) first",
				 w.dir);
	if (rc == UPT_OK)
		rc = rotate(&w, a, &e);
	int status = rc ? cli_fail("rotate", &e) : 0;
	ws_close(&w);
	return status;
}

int cmd_rotate(int argc, char **argv)
{
	return cli_run("rotate", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       rotate_run);
}
