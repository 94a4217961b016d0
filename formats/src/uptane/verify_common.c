/*
 * verify_common: the checks every role of both repositories shares, each naming the file and
 * the attack class it detects. Not responsible for the order of checks: the callers follow
 * the Uptane/TUF order (hashes, signatures, version, expiry).
 */
#include "verify_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "upt/hex.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"

const upt_buf *upt_vfy_member(const upt_bundle_meta *b, const char *path)
{
	for (size_t i = 0; i < b->nfiles; i++)
		if (b->files[i].path && strcmp(b->files[i].path, path) == 0)
			return &b->files[i].data;
	return NULL;
}

int upt_vfy_fail(upt_err *e, int code, const char *member, const char *fmt, ...)
{
	char msg[UPT_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	upt_err_set(e, code, "%s", msg);
	if (e) {
		e->file[0] = '\0';
		upt_err_set_file(e, member);
	}
	return code;
}

/* Errors from meta/sig carry their own message; we add which file and what it is. */
static int context(upt_err *e, int rc, const char *member, const char *what)
{
	if (!e)
		return rc;
	e->code = rc;
	upt_err_prefix(e, "%s", what);
	e->file[0] = '\0';
	upt_err_set_file(e, member);
	return rc;
}

int upt_vfy_parse(const char *member, const char *what, const upt_buf *bytes, upt_role_type type,
		  upt_meta **out, upt_err *e)
{
	int rc = upt_meta_parse(bytes->data, bytes->len, type, out, e);
	if (rc != UPT_OK)
		return context(e, rc, member, what);
	return UPT_OK;
}

/* The first 8 bytes of a digest, for messages. */
static void hexcut(const uint8_t *p, char out[17])
{
	upt_hex_encode(p, 8, out);
}

int upt_vfy_pinned(const char *member, const char *what, const upt_buf *bytes,
		   const upt_fileinfo *fi, const char *pinner, upt_err *e)
{
	if (fi->has_length && fi->length != (uint64_t)bytes->len)
		return upt_vfy_fail(e, UPT_E_MIX_AND_MATCH, member,
				    "%s: mix-and-match: %zu bytes, but %s lists %" PRIu64
				    " (the file does not belong with the rest of this bundle)",
				    what, bytes->len, pinner, fi->length);
	if (!fi->hashes.has_sha256 && !fi->hashes.has_sha512)
		return UPT_OK;
	upt_hashes got;
	upt_hasher *h = NULL;
	int rc = upt_hasher_new(fi->hashes.has_sha256, fi->hashes.has_sha512, &h, e);
	if (rc == UPT_OK)
		rc = upt_hasher_update(h, bytes->data, bytes->len, e);
	if (rc == UPT_OK)
		rc = upt_hasher_final(h, &got, e);
	upt_hasher_free(h);
	if (rc != UPT_OK)
		return context(e, rc, member, what);
	if (!upt_hashes_match(&fi->hashes, &got)) {
		char hex[17];
		if (fi->hashes.has_sha256)
			hexcut(got.sha256, hex);
		else
			hexcut(got.sha512, hex);
		return upt_vfy_fail(
		    e, UPT_E_MIX_AND_MATCH, member,
		    "%s: mix-and-match: hash %s... is not the one %s lists (the file "
		    "does not belong with the rest of this bundle)",
		    what, hex, pinner);
	}
	return UPT_OK;
}

int upt_vfy_signed(const char *member, const char *what, const upt_meta *m,
		   const upt_meta *keys_from, const upt_role_keys *role, upt_err *e)
{
	int rc = upt_sig_check_threshold(m, keys_from->keys, keys_from->nkeys, role, NULL, e);
	if (rc == UPT_OK)
		return UPT_OK;
	if (rc == UPT_E_ARBITRARY_SOFTWARE && e) {
		char msg[UPT_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", e->msg);
		return upt_vfy_fail(
		    e, rc, member,
		    "%s: arbitrary-software: not signed by the '%s' role's keys (%s)", what,
		    role->name, msg);
	}
	return context(e, rc, member, what);
}

int upt_vfy_root_role(const upt_meta *root, const char *repo, const char *role_name,
		      const char *member, const upt_role_keys **out, upt_err *e)
{
	const upt_role_keys *r = upt_meta_role(root, role_name);
	if (!r)
		return upt_vfy_fail(e, UPT_E_ARBITRARY_SOFTWARE, member,
				    "%s: arbitrary-software: the %s root (version %" PRIu64
				    ") declares no '%s' role, so nothing may sign as it",
				    member, repo, root->version, role_name);
	*out = r;
	return UPT_OK;
}

int upt_vfy_fresh(const char *member, const char *what, const upt_meta *m, int64_t t, upt_err *e)
{
	/* TUF 5.4.4: expired when expires <= the (effective) time. */
	if (m->expires > t)
		return UPT_OK;
	char exp[UPT_RFC3339_LEN + 1], now[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(m->expires, exp);
	upt_rfc3339_format(t, now);
	return upt_vfy_fail(e, UPT_E_FREEZE, member,
			    "%s: freeze: version %" PRIu64 " expired at %s (effective time %s); "
			    "a newer bundle is needed",
			    what, m->version, exp, now);
}

int upt_vfy_stored(const upt_trust *stored, const char *name, upt_role_type type, upt_meta **out,
		   upt_err *e)
{
	*out = NULL;
	const upt_buf *b = upt_trust_get(stored, name);
	if (!b)
		return UPT_OK;
	int rc = upt_meta_parse(b->data, b->len, type, out, e);
	if (rc != UPT_OK) {
		char msg[UPT_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", e ? e->msg : "");
		return upt_vfy_fail(e, UPT_E_INTERNAL, NULL,
				    "trusted state: %s does not parse (%s): the state directory is "
				    "corrupt",
				    name, msg);
	}
	return UPT_OK;
}

int upt_vfy_not_older(const char *member, const char *what, const upt_meta *m, const upt_meta *old,
		      bool *same, upt_err *e)
{
	*same = false;
	if (!old)
		return UPT_OK;
	if (m->version < old->version)
		return upt_vfy_fail(e, UPT_E_ROLLBACK, member,
				    "%s: rollback: version %" PRIu64 " is older than the trusted "
				    "version %" PRIu64 ": this bundle is older than the one the "
				    "device runs",
				    what, m->version, old->version);
	if (m->version == old->version) {
		if (!upt_meta_same_signed(m, old))
			return upt_vfy_fail(
			    e, UPT_E_ROLLBACK, member,
			    "%s: rollback: version %" PRIu64 " differs from the "
			    "trusted file of the same version (kept the trusted one)",
			    what, m->version);
		*same = true;
	}
	return UPT_OK;
}

int upt_vfy_listing_not_older(const char *member, const char *what, const upt_meta *m,
			      const upt_meta *old, bool dropped_ok, upt_err *e)
{
	if (!old)
		return UPT_OK;
	for (size_t i = 0; i < old->nfiles; i++) {
		const upt_fileinfo *was = &old->files[i];
		const upt_fileinfo *now = upt_meta_file(m, was->name);
		if (!now) {
			if (dropped_ok)
				continue;
			return upt_vfy_fail(e, UPT_E_ROLLBACK, member,
					    "%s: rollback: %s (version %" PRIu64 " in the trusted "
					    "snapshot) was dropped",
					    what, was->name, was->version);
		}
		if (now->version < was->version)
			return upt_vfy_fail(e, UPT_E_ROLLBACK, member,
					    "%s: rollback: lists %s version %" PRIu64
					    ", older than "
					    "the trusted %" PRIu64,
					    what, was->name, now->version, was->version);
	}
	return UPT_OK;
}

int upt_vfy_keep(upt_trust *next, const char *name, const upt_buf *bytes, bool same, upt_err *e)
{
	if (same && upt_trust_get(next, name))
		return UPT_OK;
	return upt_trust_set(next, name, bytes->data, bytes->len, e);
}

int upt_vfy_timestamp(const char *member, const char *what, const char *repo, const upt_buf *bytes,
		      const upt_meta *root, const upt_trust *stored, const char *stored_name,
		      int64_t t, upt_meta **ts_out, const upt_fileinfo **fi_out, bool *same,
		      upt_err *e)
{
	upt_meta *ts = NULL, *old = NULL;
	const upt_role_keys *role = NULL;
	bool same_ts = false;
	int rc;

	/* 5.4.4.4 (TUF 5.4): threshold, not older than trusted, not expired */
	rc = upt_vfy_parse(member, what, bytes, UPT_ROLE_TIMESTAMP, &ts, e);
	if (rc == UPT_OK)
		rc = upt_vfy_root_role(root, repo, "timestamp", member, &role, e);
	if (rc == UPT_OK)
		rc = upt_vfy_signed(member, what, ts, root, role, e);
	if (rc == UPT_OK)
		rc = upt_vfy_stored(stored, stored_name, UPT_ROLE_TIMESTAMP, &old, e);
	if (rc == UPT_OK)
		rc = upt_vfy_not_older(member, what, ts, old, &same_ts, e);
	if (rc != UPT_OK)
		goto out;
	const upt_fileinfo *fi = upt_meta_file(ts, "snapshot.json");
	if (!fi || !fi->hashes.has_sha256) {
		rc = upt_vfy_fail(e, UPT_E_MALFORMED, member,
				  "%s: malformed: no snapshot.json entry with sha256", what);
		goto out;
	}
	const upt_fileinfo *old_fi = old ? upt_meta_file(old, "snapshot.json") : NULL;
	if (old_fi && fi->version < old_fi->version) {
		/* TUF 5.4.3.2: the snapshot version a timestamp pins never goes down */
		rc = upt_vfy_fail(e, UPT_E_ROLLBACK, member,
				  "%s: rollback: pins snapshot version %" PRIu64
				  ", older than the trusted %" PRIu64,
				  what, fi->version, old_fi->version);
		goto out;
	}
	rc = upt_vfy_fresh(member, what, ts, t, e);
	if (rc != UPT_OK)
		goto out;
	*fi_out = fi;
	*same = same_ts;
	*ts_out = ts;
	ts = NULL;
out:
	upt_meta_free(ts);
	upt_meta_free(old);
	return rc;
}

void upt_vfy_raise_time(vfy_ctx *c, const upt_meta *m)
{
	if (!m->has_issued)
		return;
	if (!c->has_issued || m->issued > c->issued) {
		c->has_issued = true;
		c->issued = m->issued;
	}
	if (m->issued > c->t)
		c->t = m->issued;
}
