/* signing: signers per role, root building, and threshold status for offline signing. */
#include "signing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upt/metabuild.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"

int signing_signers(const json_t *entry, keyring *kr, const upt_signer *out[SIGNERS_MAX], size_t *n,
		    upt_err *e)
{
	size_t cnt = 0;
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(entry, "keys"), i, k)
	{
		const char *path = json_string_value(json_object_get(k, "path"));
		const char *keyid = json_string_value(json_object_get(k, "keyid"));
		if (!keyid)
			continue;
		const upt_signer *s = keyring_find(kr, keyid);
		if (!s && path && key_path_is_private(path)) {
			int rc = keyring_load(kr, path, &s, e);
			if (rc)
				return rc;
			if (strcmp(upt_signer_key(s)->keyid, keyid))
				return upt_err_set(e, UPT_E_USAGE,
						   "%s: key changed since it was added to the "
						   "workspace (key id %.16s..., expected %.16s...)",
						   path, upt_signer_key(s)->keyid, keyid);
		}
		if (!s)
			continue;
		bool dup = false;
		for (size_t j = 0; j < cnt; j++)
			dup |= out[j] == s;
		if (dup)
			continue;
		if (cnt == SIGNERS_MAX)
			return upt_err_set(e, UPT_E_TOO_LARGE, "more than %d keys in a role",
					   SIGNERS_MAX);
		out[cnt++] = s;
	}
	*n = cnt;
	return UPT_OK;
}

int signing_root_obj(const ws *w, const char *repo, uint64_t version, int64_t expires, json_t **out,
		     upt_err *e)
{
	static const char *const roles[] = {"root",	 "targets",	     "snapshot",
					    "timestamp", "offline-snapshot", "offline-updates"};
	upt_mb_role mr[6];
	upt_key *keys[6] = {0};
	size_t nroles = 0;
	int rc = UPT_OK;
	for (size_t i = 0; i < 6; i++) {
		const json_t *entry = ws_role(w, repo, roles[i]);
		if (!entry)
			continue;
		size_t nk;
		rc = ws_entry_keys(entry, &keys[nroles], &nk, e);
		if (rc)
			goto out;
		json_int_t t = json_integer_value(json_object_get(entry, "threshold"));
		if (t < 1 || (size_t)t > nk) {
			rc = upt_err_set(e, UPT_E_USAGE, "%s/%s: threshold %lld with %zu keys",
					 repo, roles[i], (long long)t, nk);
			goto out;
		}
		mr[nroles].name = roles[i];
		mr[nroles].keys = keys[nroles];
		mr[nroles].nkeys = nk;
		mr[nroles].threshold = (uint64_t)t;
		nroles++;
	}
	json_t *obj = upt_mb_root(version, expires, mr, nroles);
	if (!obj) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	*out = obj;
out:
	for (size_t i = 0; i < 6; i++)
		free(keys[i]);
	return rc;
}

int signing_check_expiry(const char *what, int64_t expires, int64_t now, upt_err *e)
{
	if (expires - now < WS_MIN_VALIDITY) {
		char t[UPT_RFC3339_LEN + 1];
		upt_rfc3339_format(expires, t);
		return upt_err_set(e, UPT_E_USAGE,
				   "%s would expire at %s, within 7 days: refusing to sign it "
				   "(choose a longer --expires)",
				   what, t);
	}
	return UPT_OK;
}

void signing_warn_root(const char *cmd, const char *what, int64_t expires, int64_t now)
{
	if (expires - now >= WS_ROOT_WARN)
		return;
	char t[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(expires, t);
	fprintf(stderr,
		"uptane-bundle %s: warning: %s expires at %s, within 30 days: rotate it "
		"(uptane-bundle rotate) before devices freeze\n",
		cmd, what, t);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static const char *find_in_entry(const json_t *entry, const char *keyid)
{
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(entry, "keys"), i, k)
	{
		const char *id = json_string_value(json_object_get(k, "keyid"));
		if (id && !strcmp(id, keyid))
			return json_string_value(json_object_get(k, "path"));
	}
	return NULL;
}

void signing_key_name(const ws *w, const char *keyid, char *out, size_t outsz)
{
	const char *path = NULL;
	const char *repo;
	json_t *roles;
	json_object_foreach(json_object_get(w->doc, "repos"), repo, roles)
	{
		const char *role;
		json_t *entry;
		json_object_foreach(roles, role, entry)
		{
			if (!path)
				path = find_in_entry(entry, keyid);
		}
	}
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(w->doc, "delegations"), i, d)
	{
		if (!path)
			path = find_in_entry(d, keyid);
	}
	/* Rotated-out keys are remembered too, so old roots still name their signers. */
	json_array_foreach(json_object_get(w->doc, "retired_keys"), i, d)
	{
		const char *id = json_string_value(json_object_get(d, "keyid"));
		if (!path && id && !strcmp(id, keyid))
			path = json_string_value(json_object_get(d, "path"));
	}
	if (path) {
		const char *b = base_name(path);
		size_t n = strlen(b);
		if (n > 4 && !strcmp(b + n - 4, ".pub"))
			snprintf(out, outsz, "%.*s.key", (int)(n - 4), b);
		else
			snprintf(out, outsz, "%s", b);
	} else {
		snprintf(out, outsz, "key %.16s...", keyid);
	}
}

int signing_status(const ws *w, const upt_meta *m, const upt_key *keys, size_t nkeys,
		   const upt_role_keys *role, sig_status *st, upt_err *e)
{
	memset(st, 0, sizeof(*st));
	upt_err tmp;
	upt_err_clear(&tmp);
	uint64_t have = 0;
	int rc = upt_sig_check_threshold(m, keys, nkeys, role, &have, &tmp);
	if (rc != UPT_OK && rc != UPT_E_ARBITRARY_SOFTWARE) {
		if (e)
			*e = tmp;
		return rc;
	}
	st->have = have;
	st->need = role->threshold;
	/* Which authorised keys have not signed validly: ask each one alone. */
	size_t used = 0;
	for (size_t i = 0; i < role->nkeyids; i++) {
		upt_role_keys one = {role->name, &role->keyids[i], 1, 1};
		uint64_t c = 0;
		upt_err_clear(&tmp);
		if (upt_sig_check_threshold(m, keys, nkeys, &one, &c, &tmp) == UPT_OK && c == 1)
			continue;
		char name[128];
		signing_key_name(w, role->keyids[i], name, sizeof(name));
		int n = snprintf(st->missing + used, sizeof(st->missing) - used, "%s%s",
				 used ? ", " : "", name);
		if (n < 0 || (size_t)n >= sizeof(st->missing) - used)
			break;
		used += (size_t)n;
	}
	return UPT_OK;
}

static int root_role_status(const ws *w, const upt_meta *signer_root, const upt_meta *file,
			    sig_status *st, upt_err *e)
{
	const upt_role_keys *role = upt_meta_role(signer_root, "root");
	if (!role)
		return upt_err_set(e, UPT_E_MALFORMED, "root declares no root role");
	return signing_status(w, file, signer_root->keys, signer_root->nkeys, role, st, e);
}

int signing_root_status(const ws *w, const char *repo, uint64_t version, sig_status *st_old,
			sig_status *st_new, upt_err *e)
{
	upt_meta *cur = NULL, *prev = NULL;
	int rc = ws_load_root(w, repo, version, &cur, e);
	if (rc == UPT_OK)
		rc = root_role_status(w, cur, cur, st_new, e);
	if (rc == UPT_OK && version > 1) {
		rc = ws_load_root(w, repo, version - 1, &prev, e);
		if (rc == UPT_OK)
			rc = root_role_status(w, prev, cur, st_old, e);
	} else if (rc == UPT_OK && st_old) {
		memset(st_old, 0, sizeof(*st_old));
	}
	upt_meta_free(cur);
	upt_meta_free(prev);
	return rc;
}
