/*
 * bundle_members: the rules every member of a bundle obeys (see bundle_members.h).
 *
 * Decisions (docs/bundle-format.md states them):
 * - Directories are allowed and otherwise ignored, but their names obey the same rules
 *   (allowlist, top-level name, no duplicates) as files.
 */
#include "bundle_members.h"

#include <stdlib.h>
#include <string.h>

#include "bundle_internal.h"
#include "upt/bundle.h"
#include "upt/cjson.h"
#include "upt/hash.h"

bool upt_bundle_member_path_ok(const char *path)
{
	if (!path || !*path || path[0] == '/')
		return false;
	size_t comp = 0; /* length of the current component */
	size_t dots = 0; /* how many of its characters are '.' */
	size_t i = 0;
	for (; path[i]; i++) {
		if (i >= UPT_MEMBER_PATH_MAX)
			return false;
		char c = path[i];
		if (c == '/') {
			if (comp == 0 || comp == dots)
				return false; /* empty, "." or ".." (or "...": also refused) */
			comp = dots = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			return false;
		comp++;
		if (c == '.')
			dots++;
	}
	return comp > 0 && comp != dots;
}

static int refuse(int code, const char *path, upt_err *e, const char *msg)
{
	upt_err_set(e, code, "%s", msg);
	upt_bundle_err_member(e, path);
	return code;
}

int upt_member_check_header(struct archive_entry *ent, char *path, bool *dir, upt_err *e)
{
	const char *raw = archive_entry_pathname(ent);
	if (!raw)
		return refuse(UPT_E_UNSAFE_ARCHIVE, NULL, e, "member name is not readable");
	size_t len = strlen(raw);
	mode_t type = archive_entry_filetype(ent);
	*dir = type == AE_IFDIR;
	/* a directory's name may carry one trailing '/' */
	size_t plen = *dir && len > 0 && raw[len - 1] == '/' ? len - 1 : len;
	if (plen > UPT_MEMBER_PATH_MAX)
		return refuse(UPT_E_UNSAFE_ARCHIVE, raw, e, "member path longer than 1024 bytes");
	memcpy(path, raw, plen);
	path[plen] = '\0';

	if (archive_entry_hardlink(ent))
		return refuse(UPT_E_UNSAFE_ARCHIVE, path, e, "hard link member");
	if (type == AE_IFLNK || archive_entry_symlink(ent))
		return refuse(UPT_E_UNSAFE_ARCHIVE, path, e, "symbolic link member");
	if (type != AE_IFREG && !*dir)
		return refuse(UPT_E_UNSAFE_ARCHIVE, path, e,
			      "member is not a regular file or directory (device, fifo, socket)");
	if (archive_entry_sparse_count(ent) > 0)
		return refuse(UPT_E_UNSAFE_ARCHIVE, path, e, "sparse member");
	if (!upt_bundle_member_path_ok(path))
		return refuse(
		    UPT_E_UNSAFE_ARCHIVE, path, e,
		    "member path not allowed (absolute, \"..\", \".\", empty component, or a "
		    "character other than letters, digits, . _ + - /)");
	return UPT_OK;
}

int upt_member_names_add(struct upt_member_names *names, const char *name, bool *seen, upt_err *e)
{
	uint8_t h[UPT_SHA256_LEN];
	int rc = upt_sha256(name, strlen(name), h, e);
	if (rc)
		return rc;
	uint64_t key = 0;
	for (int i = 0; i < 8; i++)
		key = key << 8 | h[i];
	if (key == 0)
		key = 1; /* 0 marks a free slot; a collision only ever rejects, never admits */
	if ((names->n + 1) * 2 > names->cap) {
		size_t ncap = names->cap ? names->cap * 2 : 64;
		uint64_t *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		for (size_t i = 0; i < names->cap; i++) {
			if (!names->slots[i])
				continue;
			size_t j = (size_t)(names->slots[i] & (ncap - 1));
			while (nt[j])
				j = (j + 1) & (ncap - 1);
			nt[j] = names->slots[i];
		}
		free(names->slots);
		names->slots = nt;
		names->cap = ncap;
	}
	size_t j = (size_t)(key & (names->cap - 1));
	while (names->slots[j]) {
		if (names->slots[j] == key) {
			*seen = true;
			return UPT_OK;
		}
		j = (j + 1) & (names->cap - 1);
	}
	names->slots[j] = key;
	names->n++;
	*seen = false;
	return UPT_OK;
}

void upt_member_names_free(struct upt_member_names *names)
{
	free(names->slots);
	*names = (struct upt_member_names){0};
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

int upt_member_classify(struct archive_entry *ent, const char *path, bool dir,
			enum upt_member_kind *kind, uint64_t *size, upt_err *e)
{
	if (dir) {
		if (strcmp(path, "metadata") && strcmp(path, "images") &&
		    !has_prefix(path, UPT_BUNDLE_META_PREFIX) &&
		    !has_prefix(path, UPT_BUNDLE_IMAGE_PREFIX))
			return refuse(UPT_E_MALFORMED, path, e,
				      "top-level name other than bundle.json, metadata/, images/");
		*size = 0;
		*kind = UPT_MEMBER_DIR;
		return UPT_OK;
	}
	if (!strcmp(path, UPT_BUNDLE_JSON_NAME))
		*kind = UPT_MEMBER_BUNDLE_JSON;
	else if (has_prefix(path, UPT_BUNDLE_META_PREFIX))
		*kind = UPT_MEMBER_META;
	else if (has_prefix(path, UPT_BUNDLE_IMAGE_PREFIX))
		*kind = UPT_MEMBER_IMAGE;
	else
		return refuse(UPT_E_MALFORMED, path, e,
			      "top-level name other than bundle.json, metadata/, images/");
	if (!archive_entry_size_is_set(ent) || archive_entry_size(ent) < 0)
		return refuse(UPT_E_MALFORMED, path, e, "member without a valid size");
	*size = (uint64_t)archive_entry_size(ent);
	return UPT_OK;
}

int upt_member_check_bundle_json(const upt_buf *b, upt_err *e)
{
	json_t *doc = NULL;
	int rc = upt_json_parse(b->data, b->len, UPT_BUNDLE_JSON_MAX, &doc, e);
	if (rc)
		return rc == UPT_E_TOO_LARGE ? rc : UPT_E_MALFORMED;
	const char *format = NULL;
	long long version = 0;
	if (!json_is_object(doc)) {
		rc = upt_err_set(e, UPT_E_MALFORMED, "not a JSON object");
		goto out;
	}
	rc = upt_json_get_str(doc, "format", &format, e);
	if (rc)
		goto out;
	if (strcmp(format, UPT_BUNDLE_FORMAT)) {
		rc = upt_err_set(e, UPT_E_MALFORMED, "format is not \"" UPT_BUNDLE_FORMAT "\"");
		goto out;
	}
	rc = upt_json_get_int(doc, "version", INT64_MIN, INT64_MAX, &version, e);
	if (rc)
		goto out;
	/* 2: the same container with encrypted images (docs/bundle-format.md) */
	if (version != UPT_BUNDLE_VERSION && version != UPT_BUNDLE_VERSION_ENCRYPTED) {
		rc = upt_err_set(
		    e, UPT_E_MALFORMED,
		    version > UPT_BUNDLE_VERSION_ENCRYPTED
			? "bundle format version %lld: made by a newer bundler (this "
			  "installer reads versions 1 and 2)"
			: "bundle format version %lld is not valid (this installer reads "
			  "versions 1 and 2)",
		    version);
		goto out;
	}
out:
	json_decref(doc);
	return rc;
}
