/*
 * verify_root: step 1 of docs/threat-model.md, root rotation (Uptane 5.4.4.3, TUF 5.3) for one
 * repository. Every accepted root goes into the working trust at once (TUF requires persisting
 * it even when a later check fails), together with the fast-forward forgets it triggers.
 * Not responsible for the chain cap (verify.c counts root files before any is verified).
 */
#include "verify_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "upt/sig.h"

static bool keys_equal(const upt_role_keys *a, const upt_role_keys *b)
{
	if (!a || !b)
		return a == b;
	if (a->nkeyids != b->nkeyids)
		return false;
	for (size_t i = 0; i < a->nkeyids; i++) {
		bool found = false;
		for (size_t j = 0; j < b->nkeyids && !found; j++)
			found = strcmp(a->keyids[i], b->keyids[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

static bool role_keys_changed(const upt_meta *old, const upt_meta *nr, const char *role)
{
	return !keys_equal(upt_meta_role(old, role), upt_meta_role(nr, role));
}

/* TUF 5.3.11 / docs/threat-model.md: a new root that changes the timestamp or snapshot key
 * ids forgets both stored files (fast-forward attack recovery); changed offline-snapshot key
 * ids forget the stored offline snapshot. A threshold change alone forgets nothing. */
static void forget(upt_trust *work, const char *repo, const upt_meta *old, const upt_meta *nr)
{
	char name[64];
	if (role_keys_changed(old, nr, "timestamp") || role_keys_changed(old, nr, "snapshot")) {
		snprintf(name, sizeof(name), "%s/timestamp.json", repo);
		upt_trust_remove(work, name);
		snprintf(name, sizeof(name), "%s/snapshot.json", repo);
		upt_trust_remove(work, name);
	}
	if (strcmp(repo, "director") == 0 && role_keys_changed(old, nr, "offline-snapshot"))
		upt_trust_remove(work, "director/offline-snapshot.json");
}

int upt_vfy_roots(const upt_bundle_meta *b, const char *repo, upt_trust *work, int64_t t,
		  upt_meta **root_out, bool *changed, upt_err *e)
{
	bool director = strcmp(repo, "director") == 0;
	const char *dir = director ? VFY_DIRECTOR : VFY_IMAGE;
	const char *what = director ? "Director" : "Image-repo";
	char tname[64];
	char member[VFY_PATH_MAX];
	char last[VFY_PATH_MAX] = "";
	upt_meta *cur = NULL;
	upt_meta *nr = NULL;
	int rc;

	snprintf(tname, sizeof(tname), "%s/root.json", repo);
	const upt_buf *tb = upt_trust_get(work, tname);
	if (!tb)
		return upt_vfy_fail(e, UPT_E_CONFIG, NULL,
				    "no provisioned %s root (%s) in the trusted state: check "
				    "trusted_roots in the device configuration",
				    what, tname);

	/* The provisioned root is the trust anchor; it must at least be a root signed by its own
	 * threshold, or nothing can be verified (untrusted-root, no trust on first use). */
	rc = upt_meta_parse(tb->data, tb->len, UPT_ROLE_ROOT, &cur, e);
	if (rc != UPT_OK) {
		char msg[UPT_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", e ? e->msg : "");
		return upt_vfy_fail(
		    e, UPT_E_UNTRUSTED_ROOT, NULL,
		    "untrusted-root: the trusted %s root is unusable (%s); the device "
		    "must be provisioned again",
		    what, msg);
	}
	const upt_role_keys *self = upt_meta_role(cur, "root");
	if (!self ||
	    upt_sig_check_threshold(cur, cur->keys, cur->nkeys, self, NULL, NULL) != UPT_OK) {
		rc = upt_vfy_fail(e, UPT_E_UNTRUSTED_ROOT, NULL,
				  "untrusted-root: the trusted %s root (version %" PRIu64
				  ") is not signed by its own root keys; the device must be "
				  "provisioned again",
				  what, cur->version);
		goto out;
	}

	while (cur->version < UINT64_MAX) {
		/* 5.4.4.3 step 2: N+1.root.json while present; older files are ignored */
		uint64_t v = cur->version + 1;
		snprintf(member, sizeof(member), "%s%" PRIu64 ".root.json", dir, v);
		const upt_buf *bytes = upt_vfy_member(b, member);
		if (!bytes)
			break;
		char label[64];
		snprintf(label, sizeof(label), "%s root %" PRIu64, what, v);
		rc = upt_vfy_parse(member, label, bytes, UPT_ROLE_ROOT, &nr, e);
		if (rc != UPT_OK)
			goto out;
		/* 5.4.4.3 step 3: a threshold of the trusted root's keys and of its own */
		const upt_role_keys *own = NULL;
		rc = upt_vfy_root_role(nr, what, "root", member, &own, e);
		if (rc == UPT_OK)
			rc = upt_vfy_signed(member, label, nr, cur, self, e);
		if (rc == UPT_OK &&
		    upt_sig_check_threshold(nr, nr->keys, nr->nkeys, own, NULL, e) != UPT_OK) {
			char msg[UPT_ERR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", e ? e->msg : "");
			rc = upt_vfy_fail(
			    e, UPT_E_ARBITRARY_SOFTWARE, member,
			    "%s: arbitrary-software: not signed by its own new root keys (%s)",
			    label, msg);
		}
		if (rc != UPT_OK)
			goto out;
		/* 5.4.4.3 step 4: version exactly N+1 */
		if (nr->version != v) {
			rc = upt_vfy_fail(e, UPT_E_ROLLBACK, member,
					  "%s: rollback: file %s carries version %" PRIu64
					  ", expected exactly %" PRIu64,
					  label, member, nr->version, v);
			goto out;
		}
		/* Accepted: persist at once; its expiry matters only if it stays the last. */
		rc = upt_trust_set(work, tname, bytes->data, bytes->len, e);
		if (rc != UPT_OK)
			goto out;
		forget(work, repo, cur, nr);
		*changed = true;
		upt_meta_free(cur);
		cur = nr;
		nr = NULL;
		self = own;
		snprintf(last, sizeof(last), "%s", member);
	}

	/* 5.4.4.3 step 5 (TUF 5.3.10): the final root must not be expired (freeze) */
	if (!last[0]) {
		snprintf(member, sizeof(member), "%s%" PRIu64 ".root.json", dir, cur->version);
		if (upt_vfy_member(b, member))
			snprintf(last, sizeof(last), "%s", member);
	}
	char label[64];
	snprintf(label, sizeof(label), "%s root", what);
	rc = upt_vfy_fresh(last[0] ? last : NULL, label, cur, t, e);
	if (rc != UPT_OK)
		goto out;
	*root_out = cur;
	cur = NULL;
out:
	upt_meta_free(nr);
	upt_meta_free(cur);
	return rc;
}
