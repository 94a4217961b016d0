/*
 * meta: parses one untrusted metadata file into the typed model of meta.h.
 *
 * Responsible for: the envelope, the common fields, every role's own fields, the caps of
 * limits.h, recomputing key ids, and the canonical bytes signatures cover.
 * Not responsible for: signatures and thresholds (sig.c), anything that needs trusted state, a
 * clock or another file (verify).
 *
 * Every record points into `doc` (strings) or into blocks owned by the private arena below, so
 * one upt_meta_free releases everything.
 */
#include "upt/meta.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upt/cjson.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"

/* Allocation blocks hang off the private part, after the public record. */
struct block {
	struct block *next;
	max_align_t data[];
};

struct meta_impl {
	upt_meta pub; /* first: upt_meta * and struct meta_impl * convert */
	struct block *blocks;
};

static const char *const type_names[] = {
    [UPT_ROLE_ROOT] = "root",
    [UPT_ROLE_TIMESTAMP] = "timestamp",
    [UPT_ROLE_SNAPSHOT] = "snapshot",
    [UPT_ROLE_TARGETS] = "targets",
    [UPT_ROLE_OFFLINE_SNAPSHOT] = "offline-snapshot",
    [UPT_ROLE_OFFLINE_UPDATES] = "offline-updates",
};

const char *upt_role_type_name(upt_role_type t)
{
	if ((size_t)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "unknown";
	return type_names[t];
}

bool upt_name_valid(const char *s)
{
	if (!s)
		return false;
	size_t n = strnlen(s, UPT_NAME_MAX + 1);
	if (n == 0 || n > UPT_NAME_MAX)
		return false;
	/* "." and ".." match the character class but are path components, and names become
	 * path components (reports/<device-id>/, delegations/<role>.json). */
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isascii(c) && isalnum(c)) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

/* Adds "context: " to the message and returns rc (which upt_err_prefix cannot do when the
 * caller passed no error record). */
UPT_PRINTF(3, 4) static int ctx(int rc, upt_err *e, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (e)
		upt_err_prefix(e, "%s", buf);
	return rc;
}

/* Zeroed storage for n records (at least one), owned by mi, freed by upt_meta_free. */
static int arena_alloc(struct meta_impl *mi, size_t n, size_t size, void *out, upt_err *e)
{
	size_t total;
	if (n == 0)
		n = 1;
	if (__builtin_mul_overflow(n, size, &total) ||
	    __builtin_add_overflow(total, sizeof(struct block), &total))
		return upt_err_set(e, UPT_E_TOO_LARGE, "allocation size overflows");
	struct block *b = calloc(1, total);
	if (!b)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	b->next = mi->blocks;
	mi->blocks = b;
	*(void **)out = b->data;
	return UPT_OK;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* A key id as written anywhere: 64 hex digits, either case; stored lowercase. */
static int parse_keyid(const char *s, char out[UPT_KEYID_HEX_LEN + 1], upt_err *e)
{
	uint8_t raw[UPT_KEYID_HEX_LEN / 2];
	int rc = upt_hex_decode(s, raw, sizeof(raw), e);
	if (rc)
		return ctx(rc, e, "key id");
	memcpy(out, s, UPT_KEYID_HEX_LEN + 1);
	lower(out);
	return UPT_OK;
}

static int get_opt(const json_t *obj, const char *key, json_type type, json_t **out, upt_err *e)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return UPT_OK;
	if (json_typeof(v) != type)
		return upt_err_set(e, UPT_E_MALFORMED, "field \"%s\" has the wrong type", key);
	*out = v;
	return UPT_OK;
}

/* A list of names (hardwareIds, deviceIds): strings satisfying upt_name_valid, at most
 * UPT_HWIDS_MAX. Duplicates are harmless (membership tests) and accepted. */
static int parse_names(struct meta_impl *mi, const json_t *arr, const char *what, const char ***out,
		       size_t *nout, upt_err *e)
{
	size_t n = json_array_size(arr);
	if (n > UPT_HWIDS_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%s: %zu entries, at most %d", what, n,
				   UPT_HWIDS_MAX);
	const char **v;
	int arc = arena_alloc(mi, n, sizeof(*v), &v, e);
	if (arc)
		return arc;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!upt_name_valid(s))
			return upt_err_set(e, UPT_E_MALFORMED, "%s[%zu] is not a valid name", what,
					   i);
		v[i] = s;
	}
	*out = v;
	*nout = n;
	return UPT_OK;
}

/* hashes: {"sha256": HEX64, "sha512": HEX128}; any other algorithm -> malformed (a hash we
 * cannot check is a check the signer asked for and we would skip). */
int upt_meta_parse_hashes(const json_t *obj, bool need_sha256, upt_hashes *out, upt_err *e)
{
	upt_hashes h;
	memset(&h, 0, sizeof(h));
	const char *alg;
	json_t *v;
	int rc;
	json_object_foreach((json_t *)obj, alg, v)
	{
		const char *hex = json_string_value(v);
		if (!hex)
			return upt_err_set(e, UPT_E_MALFORMED, "hash \"%s\" is not a string", alg);
		if (!strcmp(alg, "sha256")) {
			if ((rc = upt_hex_decode(hex, h.sha256, sizeof(h.sha256), e)))
				return ctx(rc, e, "sha256");
			h.has_sha256 = true;
		} else if (!strcmp(alg, "sha512")) {
			if ((rc = upt_hex_decode(hex, h.sha512, sizeof(h.sha512), e)))
				return ctx(rc, e, "sha512");
			h.has_sha512 = true;
		} else {
			return upt_err_set(e, UPT_E_MALFORMED, "unknown hash algorithm \"%.64s\"",
					   alg);
		}
	}
	if (need_sha256 && !h.has_sha256)
		return upt_err_set(e, UPT_E_MALFORMED, "no sha256 hash");
	*out = h;
	return UPT_OK;
}

static int parse_keys(struct meta_impl *mi, const json_t *keys, upt_err *e)
{
	upt_meta *m = &mi->pub;
	size_t n = json_object_size(keys);
	if (n > UPT_KEYS_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%zu keys, at most %d", n, UPT_KEYS_MAX);
	upt_key *k;
	int arc = arena_alloc(mi, n, sizeof(*k), &k, e);
	if (arc)
		return arc;
	size_t i = 0;
	const char *id;
	json_t *obj;
	json_object_foreach((json_t *)keys, id, obj)
	{
		char claimed[UPT_KEYID_HEX_LEN + 1];
		int rc = parse_keyid(id, claimed, e);
		if (rc)
			return ctx(rc, e, "keys");
		if (!json_is_object(obj))
			return upt_err_set(e, UPT_E_MALFORMED, "key %s is not an object", claimed);
		if ((rc = upt_key_from_json(obj, &k[i], e)))
			return ctx(rc, e, "key %s", claimed);
		/* Section 2: the id is recomputed over the object as it appears; a mismatch means
		 * the map lies about which key it holds. */
		if (strcmp(k[i].keyid, claimed) != 0)
			return upt_err_set(e, UPT_E_MALFORMED,
					   "key id %s does not match its key (hash %s)", claimed,
					   k[i].keyid);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(k[j].keyid, claimed))
				return upt_err_set(e, UPT_E_MALFORMED, "key %s listed twice",
						   claimed);
		i++;
	}
	m->keys = k;
	m->nkeys = n;
	return UPT_OK;
}

/* keyids + threshold, shared by root roles and delegations. */
static int parse_role_keys(struct meta_impl *mi, const json_t *obj, const char *name,
			   upt_role_keys *out, upt_err *e)
{
	json_t *ids;
	long long threshold;
	int rc;
	if ((rc = upt_json_get_arr(obj, "keyids", &ids, e)) ||
	    (rc = upt_json_get_int(obj, "threshold", 1, INT64_MAX, &threshold, e)))
		return ctx(rc, e, "role %s", name);
	size_t n = json_array_size(ids);
	if (n > UPT_KEYS_PER_ROLE_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "role %s: %zu key ids, at most %d", name, n,
				   UPT_KEYS_PER_ROLE_MAX);
	/* one block: n pointers, then n strings of 65 bytes */
	size_t each = sizeof(char *) + UPT_KEYID_HEX_LEN + 1;
	const char **ptrs;
	int arc = arena_alloc(mi, n, each, &ptrs, e);
	if (arc)
		return arc;
	char *store = (char *)(ptrs + (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(ids, i));
		char *dst = store + i * (UPT_KEYID_HEX_LEN + 1);
		if (!s)
			return upt_err_set(e, UPT_E_MALFORMED,
					   "role %s: key id %zu is not a string", name, i);
		if ((rc = parse_keyid(s, dst, e)))
			return ctx(rc, e, "role %s", name);
		/* A key listed twice would count twice in a naive threshold check. */
		for (size_t j = 0; j < i; j++)
			if (!strcmp(ptrs[j], dst))
				return upt_err_set(e, UPT_E_MALFORMED, "role %s lists key %s twice",
						   name, dst);
		ptrs[i] = dst;
	}
	out->name = name;
	out->keyids = ptrs;
	out->nkeyids = n;
	out->threshold = (uint64_t)threshold;
	return UPT_OK;
}

static int parse_root(struct meta_impl *mi, const json_t *sig, upt_err *e)
{
	upt_meta *m = &mi->pub;
	json_t *keys, *roles;
	int rc;
	if ((rc = upt_json_get_obj(sig, "keys", &keys, e)) ||
	    (rc = upt_json_get_obj(sig, "roles", &roles, e)) || (rc = parse_keys(mi, keys, e)))
		return rc;
	size_t n = json_object_size(roles);
	if (n > UPT_DELEGATIONS_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%zu roles, at most %d", n,
				   UPT_DELEGATIONS_MAX);
	upt_role_keys *r;
	int arc = arena_alloc(mi, n, sizeof(*r), &r, e);
	if (arc)
		return arc;
	size_t i = 0;
	const char *name;
	json_t *obj;
	json_object_foreach(roles, name, obj)
	{
		if (!upt_name_valid(name))
			return upt_err_set(e, UPT_E_MALFORMED, "role name \"%.128s\" is not valid",
					   name);
		if (!json_is_object(obj))
			return upt_err_set(e, UPT_E_MALFORMED, "role %s is not an object", name);
		rc = parse_role_keys(mi, obj, name, &r[i++], e);
		if (rc)
			return rc;
	}
	m->roles = r;
	m->nroles = n;
	/* TUF 1.0 section 4.3: a root declares the four top-level roles. */
	static const char *const required[] = {"root", "timestamp", "snapshot", "targets"};
	for (size_t j = 0; j < 4; j++)
		if (!upt_meta_role(m, required[j]))
			return upt_err_set(e, UPT_E_MALFORMED, "root declares no \"%s\" role",
					   required[j]);
	return UPT_OK;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const upt_fileinfo *)a)->name, ((const upt_fileinfo *)b)->name);
}

static int cmp_target(const void *a, const void *b)
{
	return strcmp(((const upt_target *)a)->name, ((const upt_target *)b)->name);
}

static int parse_fileinfo(const char *name, const json_t *obj, bool need_sha256, upt_fileinfo *out,
			  upt_err *e)
{
	long long version, length;
	json_t *hashes;
	if (!json_is_object(obj))
		return upt_err_set(e, UPT_E_MALFORMED, "entry is not an object");
	int rc = upt_json_get_int(obj, "version", 1, INT64_MAX, &version, e);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->name = name;
	out->version = (uint64_t)version;
	if (json_object_get(obj, "length")) {
		if ((rc = upt_json_get_int(obj, "length", 0, INT64_MAX, &length, e)))
			return rc;
		out->has_length = true;
		out->length = (uint64_t)length;
	}
	if ((rc = get_opt(obj, "hashes", JSON_OBJECT, &hashes, e)))
		return rc;
	if (hashes)
		rc = upt_meta_parse_hashes(hashes, need_sha256, &out->hashes, e);
	else if (need_sha256)
		rc = upt_err_set(e, UPT_E_MALFORMED, "no hashes");
	return rc;
}

/* timestamp, snapshot, offline-snapshot: "meta": {NAME: fileinfo}. */
static int parse_meta_files(struct meta_impl *mi, const json_t *sig, upt_err *e)
{
	upt_meta *m = &mi->pub;
	json_t *meta;
	int rc = upt_json_get_obj(sig, "meta", &meta, e);
	if (rc)
		return rc;
	size_t n = json_object_size(meta);
	if (n > UPT_SNAPSHOT_FILES_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%zu meta entries, at most %d", n,
				   UPT_SNAPSHOT_FILES_MAX);
	upt_fileinfo *f;
	int arc = arena_alloc(mi, n, sizeof(*f), &f, e);
	if (arc)
		return arc;
	/* Section 10: timestamp entries carry at least sha256 (length optional). */
	bool ts = m->type == UPT_ROLE_TIMESTAMP;
	size_t i = 0;
	const char *name;
	json_t *obj;
	json_object_foreach(meta, name, obj)
	{
		/* Names become bundle member paths (delegations/<name>, offline-updates/<name>). */
		if (!upt_name_valid(name))
			return upt_err_set(e, UPT_E_MALFORMED,
					   "meta entry \"%.128s\" is not a valid name", name);
		rc = parse_fileinfo(name, obj, ts, &f[i++], e);
		if (rc)
			return ctx(rc, e, "meta %s", name);
	}
	qsort(f, n, sizeof(*f), cmp_file);
	m->files = f;
	m->nfiles = n;
	if (ts && !upt_meta_file(m, "snapshot.json"))
		return upt_err_set(e, UPT_E_MALFORMED, "timestamp lists no snapshot.json");
	return UPT_OK;
}

static int parse_custom(struct meta_impl *mi, const json_t *custom, upt_target *t, upt_err *e)
{
	json_t *v;
	int rc = get_opt(custom, "hardwareIds", JSON_ARRAY, &v, e);
	if (rc == UPT_OK && v) {
		rc = parse_names(mi, v, "hardwareIds", &t->hardware_ids, &t->nhardware_ids, e);
		t->has_hardware_ids = rc == UPT_OK;
	}
	if (rc == UPT_OK && json_object_get(custom, "releaseCounter")) {
		long long rcnt;
		rc = upt_json_get_int(custom, "releaseCounter", 0, INT64_MAX, &rcnt, e);
		t->has_release_counter = rc == UPT_OK;
		t->release_counter = (uint64_t)rcnt;
	}
	if (rc == UPT_OK)
		rc = get_opt(custom, "deviceIds", JSON_ARRAY, &v, e);
	if (rc == UPT_OK && v) {
		rc = parse_names(mi, v, "deviceIds", &t->device_ids, &t->ndevice_ids, e);
		t->has_device_ids = rc == UPT_OK;
	}
	if (rc == UPT_OK)
		rc = get_opt(custom, "ecuIdentifiers", JSON_OBJECT, &v, e);
	if (rc || !v)
		return rc;
	size_t n = json_object_size(v);
	if (n > UPT_ECUS_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "ecuIdentifiers: %zu entries, at most %d", n,
				   UPT_ECUS_MAX);
	upt_ecu_binding *b;
	int arc = arena_alloc(mi, n, sizeof(*b), &b, e);
	if (arc)
		return arc;
	size_t i = 0;
	const char *serial;
	json_t *obj;
	json_object_foreach(v, serial, obj)
	{
		const char *hw;
		if (!upt_name_valid(serial))
			return upt_err_set(e, UPT_E_MALFORMED, "ECU serial \"%.128s\" is not valid",
					   serial);
		if (!json_is_object(obj))
			return upt_err_set(e, UPT_E_MALFORMED, "ecuIdentifiers.%s is not an object",
					   serial);
		if ((rc = upt_json_get_str(obj, "hardwareId", &hw, e)))
			return ctx(rc, e, "ecuIdentifiers.%s", serial);
		if (!upt_name_valid(hw))
			return upt_err_set(e, UPT_E_MALFORMED,
					   "ecuIdentifiers.%s: hardwareId is not valid", serial);
		b[i].serial = serial;
		b[i].hardware_id = hw;
		i++;
	}
	t->ecus = b;
	t->necus = n;
	t->has_ecus = true;
	return UPT_OK;
}

static int parse_target(struct meta_impl *mi, const char *name, const json_t *obj, upt_target *t,
			upt_err *e)
{
	size_t nlen = strlen(name);
	if (nlen == 0 || nlen > UPT_TARGET_NAME_MAX)
		return upt_err_set(e, UPT_E_MALFORMED, "target name of %zu bytes (1 to %d allowed)",
				   nlen, UPT_TARGET_NAME_MAX);
	if (!json_is_object(obj))
		return upt_err_set(e, UPT_E_MALFORMED, "target %.200s is not an object", name);
	long long length;
	json_t *hashes, *custom;
	memset(t, 0, sizeof(*t));
	t->name = name;
	int rc = upt_json_get_int(obj, "length", 0, INT64_MAX, &length, e);
	if (rc == UPT_OK)
		rc = upt_json_get_obj(obj, "hashes", &hashes, e);
	if (rc == UPT_OK)
		rc = upt_meta_parse_hashes(hashes, true, &t->hashes, e);
	if (rc == UPT_OK)
		rc = get_opt(obj, "custom", JSON_OBJECT, &custom, e);
	if (rc == UPT_OK && custom)
		rc = parse_custom(mi, custom, t, e);
	if (rc)
		return ctx(rc, e, "target %.200s", name);
	t->length = (uint64_t)length;
	return UPT_OK;
}

static int parse_delegations(struct meta_impl *mi, const json_t *del, upt_err *e)
{
	upt_meta *m = &mi->pub;
	json_t *keys, *roles;
	int rc;
	if ((rc = upt_json_get_obj(del, "keys", &keys, e)) ||
	    (rc = upt_json_get_arr(del, "roles", &roles, e)) || (rc = parse_keys(mi, keys, e)))
		return ctx(rc, e, "delegations");
	size_t n = json_array_size(roles);
	if (n > UPT_DELEGATIONS_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%zu delegated roles, at most %d", n,
				   UPT_DELEGATIONS_MAX);
	upt_delegation *d;
	int arc = arena_alloc(mi, n, sizeof(*d), &d, e);
	if (arc)
		return arc;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(roles, i);
		const char *name;
		json_t *paths, *hw, *term;
		if (!json_is_object(r))
			return upt_err_set(e, UPT_E_MALFORMED,
					   "delegations.roles[%zu] is not an object", i);
		if ((rc = upt_json_get_str(r, "name", &name, e)))
			return ctx(rc, e, "delegations.roles[%zu]", i);
		if (!upt_name_valid(name))
			return upt_err_set(e, UPT_E_MALFORMED,
					   "delegated role name \"%.128s\" is not valid", name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d[j].role.name, name))
				return upt_err_set(e, UPT_E_MALFORMED,
						   "delegated role %s listed twice", name);
		rc = parse_role_keys(mi, r, name, &d[i].role, e);
		if (rc)
			return ctx(rc, e, "delegations");
		/* TUF also defines path_hash_prefixes; we only delegate by paths, and a delegation
		 * whose scope we cannot evaluate must not be guessed at. */
		if ((rc = upt_json_get_arr(r, "paths", &paths, e)))
			return ctx(rc, e, "delegated role %s", name);
		size_t np = json_array_size(paths);
		if (np > UPT_PATHS_PER_DELEGATION_MAX)
			return upt_err_set(e, UPT_E_TOO_LARGE,
					   "delegated role %s: %zu paths, at most %d", name, np,
					   UPT_PATHS_PER_DELEGATION_MAX);
		const char **p;
		if ((rc = arena_alloc(mi, np, sizeof(*p), &p, e)))
			return rc;
		for (size_t j = 0; j < np; j++) {
			p[j] = json_string_value(json_array_get(paths, j));
			if (!p[j] || strlen(p[j]) > UPT_TARGET_NAME_MAX)
				return upt_err_set(e, UPT_E_MALFORMED,
						   "delegated role %s: path %zu is not a string of "
						   "at most %d bytes",
						   name, j, UPT_TARGET_NAME_MAX);
		}
		d[i].paths = p;
		d[i].npaths = np;
		/* terminating defaults to false, as in the TUF reference implementation */
		term = json_object_get(r, "terminating");
		if (term && !json_is_boolean(term))
			return upt_err_set(e, UPT_E_MALFORMED,
					   "delegated role %s: \"terminating\" is not a boolean",
					   name);
		d[i].terminating = json_is_true(term);
		rc = get_opt(r, "hardwareIds", JSON_ARRAY, &hw, e);
		if (rc == UPT_OK && hw) {
			rc = parse_names(mi, hw, "hardwareIds", &d[i].hardware_ids,
					 &d[i].nhardware_ids, e);
			d[i].has_hardware_ids = rc == UPT_OK;
		}
		if (rc)
			return ctx(rc, e, "delegated role %s", name);
	}
	m->has_delegations = true;
	m->delegations = d;
	m->ndelegations = n;
	return UPT_OK;
}

static int parse_targets(struct meta_impl *mi, const json_t *sig, upt_err *e)
{
	upt_meta *m = &mi->pub;
	json_t *targets, *del, *dev;
	int rc = upt_json_get_obj(sig, "targets", &targets, e);
	if (rc)
		return rc;
	size_t n = json_object_size(targets);
	if (n > UPT_TARGETS_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%zu targets, at most %d", n,
				   UPT_TARGETS_MAX);
	upt_target *t;
	int arc = arena_alloc(mi, n, sizeof(*t), &t, e);
	if (arc)
		return arc;
	size_t i = 0;
	const char *name;
	json_t *obj;
	json_object_foreach(targets, name, obj)
	{
		rc = parse_target(mi, name, obj, &t[i++], e);
		if (rc)
			return rc;
	}
	/* sorted by name, so upt_meta_target is a binary search over up to UPT_TARGETS_MAX */
	qsort(t, n, sizeof(*t), cmp_target);
	m->targets = t;
	m->ntargets = n;
	rc = get_opt(sig, "delegations", JSON_OBJECT, &del, e);
	if (rc == UPT_OK && del)
		rc = parse_delegations(mi, del, e);
	if (rc == UPT_OK)
		rc = get_opt(sig, "deviceId", JSON_STRING, &dev, e);
	if (rc == UPT_OK && dev) {
		if (!upt_name_valid(json_string_value(dev)))
			return upt_err_set(e, UPT_E_MALFORMED, "deviceId is not a valid name");
		m->device_id = json_string_value(dev);
	}
	return rc;
}

static int parse_signatures(struct meta_impl *mi, const json_t *sigs, upt_err *e)
{
	upt_meta *m = &mi->pub;
	size_t n = json_array_size(sigs);
	if (n > UPT_SIGNATURES_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "%zu signatures, at most %d", n,
				   UPT_SIGNATURES_MAX);
	upt_signature *s;
	int arc = arena_alloc(mi, n, sizeof(*s), &s, e);
	if (arc)
		return arc;
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(sigs, i);
		const char *keyid, *hex;
		int rc;
		if (!json_is_object(o))
			return upt_err_set(e, UPT_E_MALFORMED, "signatures[%zu] is not an object",
					   i);
		if ((rc = upt_json_get_str(o, "keyid", &keyid, e)) ||
		    (rc = upt_json_get_str(o, "sig", &hex, e)) ||
		    (rc = parse_keyid(keyid, s[i].keyid, e)))
			return ctx(rc, e, "signatures[%zu]", i);
		/* TUF 5.4.4 / Uptane: each key counts once; a repeated key id is at best a
		 * mistake and at worst an attempt to make a naive counter count twice. */
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s[j].keyid, s[i].keyid))
				return upt_err_set(e, UPT_E_MALFORMED, "key %s signs twice",
						   s[i].keyid);
		/* A signature of the wrong length is kept but can never verify. */
		s[i].sig_ok = upt_hex_decode(hex, s[i].sig, sizeof(s[i].sig), NULL) == UPT_OK;
	}
	m->sigs = s;
	m->nsigs = n;
	return UPT_OK;
}

static int parse_common(upt_meta *m, const json_t *sig, upt_role_type expected, upt_err *e)
{
	const char *type, *spec, *expires, *issued;
	long long version;
	int rc = upt_json_get_str(sig, "_type", &type, e);
	if (rc)
		return rc;
	/* The type is part of what the signature covers: metadata signed for one role must not
	 * be accepted in place of another (TUF 5.x: "_type" check). */
	if (strcmp(type, upt_role_type_name(expected)) != 0)
		return upt_err_set(e, UPT_E_MALFORMED, "wrong _type \"%.32s\" (expected \"%s\")",
				   type, upt_role_type_name(expected));
	m->type = expected;
	rc = upt_json_get_str(sig, "spec_version", &spec, e);
	if (rc)
		return rc;
	if (strncmp(spec, "1.", 2) != 0)
		return upt_err_set(e, UPT_E_MALFORMED,
				   "unsupported spec_version \"%.32s\" (1.x required)", spec);
	rc = upt_json_get_int(sig, "version", 1, INT64_MAX, &version, e);
	if (rc)
		return rc;
	m->version = (uint64_t)version;
	rc = upt_json_get_str(sig, "expires", &expires, e);
	if (rc == UPT_OK && (rc = upt_rfc3339_parse(expires, &m->expires, e)))
		return ctx(rc, e, "expires");
	if (rc)
		return rc;
	json_t *iss;
	rc = get_opt(sig, "issued", JSON_STRING, &iss, e);
	if (rc || !iss)
		return rc;
	issued = json_string_value(iss);
	if ((rc = upt_rfc3339_parse(issued, &m->issued, e)))
		return ctx(rc, e, "issued");
	m->has_issued = true;
	/* Section 10: issued feeds the time floor; one later than expires is nonsense that
	 * would freeze the device out with a file that is itself already expired. */
	if (m->issued > m->expires)
		return upt_err_set(e, UPT_E_MALFORMED, "issued %s is later than expires %s", issued,
				   expires);
	return UPT_OK;
}

int upt_meta_parse(const void *bytes, size_t len, upt_role_type expected, upt_meta **out,
		   upt_err *e)
{
	if ((size_t)expected >= sizeof(type_names) / sizeof(type_names[0]))
		return upt_err_set(e, UPT_E_INTERNAL, "unknown role type %d", (int)expected);
	if (len > UPT_META_FILE_MAX)
		return upt_err_set(e, UPT_E_TOO_LARGE, "metadata file of %zu bytes, at most %u",
				   len, UPT_META_FILE_MAX);
	struct meta_impl *mi = calloc(1, sizeof(*mi));
	if (!mi)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	upt_meta *m = &mi->pub;
	/* The canonical form is never longer than the parsed text (no whitespace, escapes
	 * decoded), so the file cap also bounds it. */
	upt_buf_init(&m->canonical, UPT_META_FILE_MAX);
	json_t *sigs;
	json_t *sig;
	int rc = upt_json_parse(bytes, len, UPT_META_FILE_MAX, &m->doc, e);
	if (rc)
		goto out;
	if (!json_is_object(m->doc)) {
		rc = upt_err_set(e, UPT_E_MALFORMED, "metadata is not a JSON object");
		goto out;
	}
	rc = upt_json_get_obj(m->doc, "signed", &sig, e);
	if (rc == UPT_OK)
		rc = upt_json_get_arr(m->doc, "signatures", &sigs, e);
	if (rc)
		goto out;
	m->signed_obj = sig;
	rc = parse_common(m, sig, expected, e);
	if (rc == UPT_OK)
		rc = parse_signatures(mi, sigs, e);
	if (rc)
		goto out;
	switch (expected) {
	case UPT_ROLE_ROOT:
		rc = parse_root(mi, sig, e);
		break;
	case UPT_ROLE_TIMESTAMP:
	case UPT_ROLE_SNAPSHOT:
	case UPT_ROLE_OFFLINE_SNAPSHOT:
		rc = parse_meta_files(mi, sig, e);
		break;
	case UPT_ROLE_TARGETS:
	case UPT_ROLE_OFFLINE_UPDATES:
		rc = parse_targets(mi, sig, e);
		break;
	}
	if (rc == UPT_OK)
		rc = upt_cjson_encode(sig, &m->canonical, e);
out:
	if (rc) {
		upt_meta_free(m);
		return rc;
	}
	*out = m;
	return UPT_OK;
}

void upt_meta_free(upt_meta *m)
{
	if (!m)
		return;
	struct meta_impl *mi = (struct meta_impl *)m;
	struct block *b = mi->blocks;
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
	upt_buf_clear(&m->canonical);
	json_decref(m->doc);
	free(mi);
}

const upt_role_keys *upt_meta_role(const upt_meta *root, const char *name)
{
	for (size_t i = 0; i < root->nroles; i++)
		if (!strcmp(root->roles[i].name, name))
			return &root->roles[i];
	return NULL;
}

const upt_key *upt_meta_key(const upt_meta *m, const char *keyid)
{
	for (size_t i = 0; i < m->nkeys; i++)
		if (!strcasecmp(m->keys[i].keyid, keyid))
			return &m->keys[i];
	return NULL;
}

const upt_fileinfo *upt_meta_file(const upt_meta *m, const char *name)
{
	if (!m->nfiles || !name)
		return NULL;
	upt_fileinfo key = {.name = name};
	return bsearch(&key, m->files, m->nfiles, sizeof(key), cmp_file);
}

const upt_target *upt_meta_target(const upt_meta *m, const char *name)
{
	if (!m->ntargets || !name)
		return NULL;
	upt_target key = {.name = name};
	return bsearch(&key, m->targets, m->ntargets, sizeof(key), cmp_target);
}

bool upt_meta_same_signed(const upt_meta *a, const upt_meta *b)
{
	return a && b && upt_buf_equal(&a->canonical, &b->canonical);
}
