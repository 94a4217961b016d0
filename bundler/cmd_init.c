/*
 * init: a new workspace with both repositories' roots (version 1), each role's keys, threshold
 * and expiry. With --offline-snapshot-key and --offline-updates-key the Director root also
 * declares the PURE-2 roles, so the workspace can make fleet bundles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "signing.h"
#include "upt/metabuild.h"
#include "upt/rfc3339.h"
#include "workspace.h"

static const char usage[] =
    "usage: uptane-bundle init WORKSPACE --root-key K.. --targets-key K.. --snapshot-key K..\n"
    "         --timestamp-key K.. --director-root-key K.. --director-targets-key K..\n"
    "         --director-snapshot-key K.. --director-timestamp-key K..\n"
    "         [--offline-snapshot-key K.. --offline-updates-key K..]\n"
    "         [--threshold REPO/ROLE=N].. [--expires REPO/ROLE=DURATION]..\n"
    "  K = NAME.key to sign here, or NAME.pub when that key's holder signs elsewhere\n"
    "  (uptane-bundle sign). Repeat an option (or list several files) for several keys.\n"
    "  REPO is image-repo or director; ROLE root, targets, snapshot, timestamp,\n"
    "  offline-snapshot or offline-updates. Thresholds default to 1; expiries to root 1y,\n"
    "  timestamp 30d, the others 90d. DURATION: <n>h hours, <n>d days or <n>y calendar\n"
    "  years (12h, 90d, 2y; 2026-03-01 + 1y = 2027-03-01, 2028-02-29 + 1y = 2029-02-28).\n"
    "  Writes WORKSPACE/metadata/director/1.root.json and metadata/image-repo/1.root.json:\n"
    "  the roots to provision on devices.\n";

static const struct {
	const char *opt;
	const char *repo;
	const char *role;
	bool required;
} key_opts[] = {
    {"root-key", "image-repo", "root", true},
    {"targets-key", "image-repo", "targets", true},
    {"snapshot-key", "image-repo", "snapshot", true},
    {"timestamp-key", "image-repo", "timestamp", true},
    {"director-root-key", "director", "root", true},
    {"director-targets-key", "director", "targets", true},
    {"director-snapshot-key", "director", "snapshot", true},
    {"director-timestamp-key", "director", "timestamp", true},
    {"offline-snapshot-key", "director", "offline-snapshot", false},
    {"offline-updates-key", "director", "offline-updates", false},
};
#define NKEY_OPTS (sizeof(key_opts) / sizeof(key_opts[0]))

static const arg_opt opts[] = {
    {"root-key", 0, ARG_LIST},
    {"targets-key", 0, ARG_LIST},
    {"snapshot-key", 0, ARG_LIST},
    {"timestamp-key", 0, ARG_LIST},
    {"director-root-key", 0, ARG_LIST},
    {"director-targets-key", 0, ARG_LIST},
    {"director-snapshot-key", 0, ARG_LIST},
    {"director-timestamp-key", 0, ARG_LIST},
    {"offline-snapshot-key", 0, ARG_LIST},
    {"offline-updates-key", 0, ARG_LIST},
    {"threshold", 0, ARG_LIST},
    {"expires", 0, ARG_LIST},
};

/* "REPO/ROLE" -> its entry in doc, or a usage error. */
static int lookup_role(json_t *doc, const char *what, const char *spec, json_t **out, upt_err *e)
{
	const char *slash = strchr(spec, '/');
	char repo[32];
	if (!slash || (size_t)(slash - spec) >= sizeof(repo))
		return upt_err_set(e, UPT_E_USAGE,
				   "%s \"%s\": expected REPO/ROLE, e.g. director/"
				   "timestamp",
				   what, spec);
	memcpy(repo, spec, (size_t)(slash - spec));
	repo[slash - spec] = '\0';
	json_t *entry =
	    json_object_get(json_object_get(json_object_get(doc, "repos"), repo), slash + 1);
	if (!entry)
		return upt_err_set(e, UPT_E_USAGE,
				   "%s \"%s\": no such role in this workspace (REPO is "
				   "image-repo or director)",
				   what, spec);
	*out = entry;
	return UPT_OK;
}

static int add_role(json_t *doc, const char *repo, const char *role, const arg_val *files,
		    upt_err *e)
{
	json_t *keys = json_array();
	if (!keys)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < files->n; i++) {
		json_t *k = NULL;
		int rc = ws_key_entry(files->v[i], &k, e);
		if (rc) {
			json_decref(keys);
			return rc;
		}
		size_t j;
		json_t *o;
		json_array_foreach(keys, j, o)
		{
			if (json_equal(json_object_get(o, "keyid"), json_object_get(k, "keyid"))) {
				json_decref(k);
				json_decref(keys);
				return upt_err_set(e, UPT_E_USAGE, "%s/%s: key %s given twice",
						   repo, role, files->v[i]);
			}
		}
		json_array_append_new(keys, k);
	}
	json_t *entry = json_pack("{s:o, s:i, s:s}", "keys", keys, "threshold", 1, "expires",
				  ws_default_expiry(role));
	if (!entry)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	json_object_set_new(json_object_get(json_object_get(doc, "repos"), repo), role, entry);
	return UPT_OK;
}

static int apply_settings(json_t *doc, const args *a, upt_err *e)
{
	const arg_val *v = args_get(a, "threshold");
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < v->n; i++) {
		char *copy = NULL;
		const char *spec, *val;
		json_t *entry;
		uint64_t t;
		rc = parse_assign("--threshold", v->v[i], &copy, &spec, &val, e);
		if (rc == UPT_OK)
			rc = lookup_role(doc, "--threshold", spec, &entry, e);
		if (rc == UPT_OK) {
			size_t nk = json_array_size(json_object_get(entry, "keys"));
			rc = parse_u64("--threshold", val, 1, nk, &t, e);
			if (rc)
				rc = upt_err_set(e, UPT_E_USAGE,
						 "--threshold %s: must be between 1 and "
						 "the role's %zu keys",
						 v->v[i], nk);
		}
		if (rc == UPT_OK)
			json_object_set_new(entry, "threshold", json_integer((json_int_t)t));
		free(copy);
	}
	v = args_get(a, "expires");
	for (size_t i = 0; rc == UPT_OK && i < v->n; i++) {
		char *copy = NULL;
		const char *spec, *val;
		json_t *entry;
		int64_t secs;
		rc = parse_assign("--expires", v->v[i], &copy, &spec, &val, e);
		if (rc == UPT_OK)
			rc = lookup_role(doc, "--expires", spec, &entry, e);
		if (rc == UPT_OK)
			rc = upt_duration_parse(val, now_utc(), &secs, e);
		if (rc == UPT_OK && secs < WS_MIN_VALIDITY)
			rc = upt_err_set(e, UPT_E_USAGE,
					 "--expires %s: metadata must stay valid at "
					 "least 7 days",
					 v->v[i]);
		if (rc == UPT_OK)
			json_object_set_new(entry, "expires", json_string(val));
		free(copy);
	}
	return rc;
}

/* Signs version 1 of repo's root with every root key held here and writes it. */
static int write_root(ws *w, const char *repo, int64_t now, keyring *kr, upt_err *e)
{
	const json_t *entry = ws_role(w, repo, "root");
	int64_t secs, expires;
	json_t *obj = NULL;
	const upt_signer *signers[SIGNERS_MAX];
	size_t nsigners = 0;
	upt_buf out;
	upt_buf_init(&out, UPT_META_FILE_MAX);
	char what[64];
	snprintf(what, sizeof(what), "%s/1.root.json", repo);
	int rc = ws_entry_expiry(entry, "root", now, &secs, e);
	if (rc == UPT_OK) {
		expires = now + secs;
		rc = signing_check_expiry(what, expires, now, e);
		if (rc == UPT_OK)
			signing_warn_root("init", what, expires, now);
	}
	if (rc == UPT_OK)
		rc = signing_root_obj(w, repo, 1, expires, &obj, e);
	if (rc == UPT_OK)
		rc = signing_signers(entry, kr, signers, &nsigners, e);
	if (rc == UPT_OK)
		rc = upt_mb_sign(obj, signers, nsigners, &out, e);
	if (rc == UPT_OK) {
		snprintf(what, sizeof(what), "metadata/%s/1.root.json", repo);
		rc = ws_write(w, what, out.data, out.len, e);
	}
	json_decref(obj);
	upt_buf_clear(&out);
	return rc;
}

static void print_root_status(const ws *w, const char *repo)
{
	sig_status st;
	upt_err e;
	upt_err_clear(&e);
	if (signing_root_status(w, repo, 1, NULL, &st, &e) != UPT_OK) {
		cli_warn("init", "%s", e.msg);
		return;
	}
	if (st.have >= st.need)
		printf("  %s/metadata/%s/1.root.json  (signed, %llu of %llu)\n", w->dir, repo,
		       (unsigned long long)st.have, (unsigned long long)st.need);
	else
		printf("  %s/metadata/%s/1.root.json  (needs %llu more signature(s) from: %s; "
		       "uptane-bundle sign FILE --key K.key)\n",
		       w->dir, repo, (unsigned long long)(st.need - st.have), st.missing);
}

int cmd_init(int argc, char **argv)
{
	args a;
	upt_err e;
	upt_err_clear(&e);
	ws w = {.dirfd = -1, .lockfd = -1};
	keyring kr;
	keyring_init(&kr);
	json_t *doc = NULL;
	int status = 2;
	if (!cli_start(&a, "init", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       &status))
		goto out;
	int rc;
	if (a.npos != 1) {
		status = cli_usage("init", usage, "expected one WORKSPACE");
		goto out;
	}
	for (size_t i = 0; i < NKEY_OPTS; i++)
		if (key_opts[i].required && !args_get(&a, key_opts[i].opt)->n) {
			status = cli_usage("init", usage, "--%s is required", key_opts[i].opt);
			goto out;
		}
	if (!args_get(&a, "offline-snapshot-key")->n != !args_get(&a, "offline-updates-key")->n) {
		status = cli_usage("init", usage,
				   "the PURE-2 fleet roles come together: give both "
				   "--offline-snapshot-key and --offline-updates-key, or neither");
		goto out;
	}
	doc = ws_doc_new();
	if (!doc) {
		rc = upt_err_set(&e, UPT_E_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < NKEY_OPTS; i++) {
		const arg_val *v = args_get(&a, key_opts[i].opt);
		if (!v->n)
			continue;
		rc = add_role(doc, key_opts[i].repo, key_opts[i].role, v, &e);
		if (rc)
			goto fail;
	}
	rc = apply_settings(doc, &a, &e);
	if (rc)
		goto fail;
	rc = ws_create(a.pos[0], doc, &w, &e);
	if (rc)
		goto fail;
	int64_t now = now_utc();
	rc = write_root(&w, "image-repo", now, &kr, &e);
	if (rc == UPT_OK)
		rc = write_root(&w, "director", now, &kr, &e);
	if (rc) {
		/* Leave no half-made workspace behind: it was empty before. */
		upt_err ignore;
		if (ws_remove_tree(&w, "metadata", &ignore) == UPT_OK &&
		    ws_remove_tree(&w, WS_FILE, &ignore) == UPT_OK &&
		    ws_remove_tree(&w, "lock", &ignore) == UPT_OK)
			(void)rmdir(a.pos[0]);
		goto fail;
	}
	printf("workspace %s: Image repository and Director%s; roots to provision on devices:\n",
	       w.dir,
	       ws_role(&w, "director", "offline-snapshot") ? " (with PURE-2 fleet roles)" : "");
	print_root_status(&w, "image-repo");
	print_root_status(&w, "director");
	status = 0;
	goto out;
fail:
	status = cli_fail("init", &e);
out:
	ws_close(&w);
	json_decref(doc);
	keyring_clear(&kr);
	args_free(&a);
	return status;
}
