/* workspace: layout, loading, locking and saving of the release engineer's workspace. */
#include "workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "upt/cjson.h"
#include "upt/fileio.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"
#include "upt/sig.h"

json_t *ws_doc_new(void)
{
	return json_pack("{s:s, s:i, s:{s:{}, s:{}}, s:[], s:{}, s:{}, s:{}}", "format", WS_FORMAT,
			 "version", 1, "repos", "image-repo", "director", "delegations", "targets",
			 "devices", "fleet");
}

static int lock_dir(ws *w, upt_err *e)
{
	w->lockfd = openat(w->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->lockfd < 0)
		return upt_err_set(e, UPT_E_IO, "%s/lock: %s", w->dir, strerror(errno));
	if (flock(w->lockfd, LOCK_EX | LOCK_NB) != 0)
		return upt_err_set(e, UPT_E_BUSY,
				   "%s: another uptane-bundle command is using this workspace",
				   w->dir);
	return UPT_OK;
}

static int open_dir(const char *dir, ws *w, upt_err *e)
{
	memset(w, 0, sizeof(*w));
	w->dirfd = w->lockfd = -1;
	w->dir = strdup(dir);
	if (!w->dir)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd >= 0 && !(w->absdir = realpath(dir, NULL)))
		return upt_err_set(e, UPT_E_IO, "%s: %s", dir, strerror(errno));
	if (w->dirfd < 0) {
		if (errno == ENOENT)
			return upt_err_set(e, UPT_E_NOT_FOUND,
					   "%s: no such workspace (uptane-bundle init "
					   "creates one)",
					   dir);
		return upt_err_set(e, UPT_E_IO, "%s: %s", dir, strerror(errno));
	}
	return lock_dir(w, e);
}

int ws_create(const char *dir, json_t *doc, ws *w, upt_err *e)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return upt_err_set(e, UPT_E_IO, "%s: cannot create: %s", dir, strerror(errno));
	int rc = open_dir(dir, w, e);
	if (rc)
		goto fail;
	/* A workspace is never re-initialised: its keys and versions are what devices trust. */
	DIR *d = fdopendir(dup(w->dirfd));
	if (!d) {
		rc = upt_err_set(e, UPT_E_IO, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "lock")) {
			closedir(d);
			rc = upt_err_set(e, UPT_E_USAGE,
					 "%s: exists and is not empty; a workspace is "
					 "initialised once",
					 dir);
			goto fail;
		}
	closedir(d);
	w->doc = json_incref(doc);
	rc = ws_save(w, e);
	if (rc)
		goto fail;
	return UPT_OK;
fail:
	ws_close(w);
	return rc;
}

/* TARGET (absolute, canonical) as stored: relative to BASE (the workspace, canonical) when
 * they share a first component, else unchanged. NULL: out of memory. */
static char *path_to_stored(const char *base, const char *target)
{
	if (target[0] != '/')
		return strdup(target);
	size_t common = 0; /* length of the shared leading directories, up to a '/' */
	for (size_t i = 1;; i++) {
		bool bend = base[i] == '\0' || base[i] == '/';
		bool tend = target[i] == '/';
		if (bend && tend)
			common = i;
		if (base[i] != target[i] || base[i] == '\0')
			break;
	}
	if (common == 0)
		return strdup(target);
	size_t ups = 0;
	for (const char *p = base + common; *p; p++)
		ups += *p == '/';
	const char *rest = target + common + 1;
	size_t n = ups * 3 + strlen(rest) + 1;
	char *out = malloc(n);
	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < ups; i++)
		strcat(out, "../");
	strcat(out, rest);
	return out;
}

/* Removes "." and "dir/.." components of an absolute path in place (BASE, the workspace, is
 * canonical, so a stored "../k/x.key" resolves lexically to what it named when saved). */
static void path_normalize(char *p)
{
	char *out = p;
	const char *in = p;
	while (*in) {
		while (*in == '/')
			in++;
		const char *end = strchr(in, '/');
		size_t len = end ? (size_t)(end - in) : strlen(in);
		if (len == 0)
			break;
		if (len == 1 && in[0] == '.') {
			/* nothing */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			while (out > p && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, len);
			out += len;
		}
		in += len;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

/* OBJ's string FIELD, a path: absolute -> as stored (to_stored), or stored -> absolute. */
static int map_path(json_t *obj, const char *field, const char *base, bool to_stored, upt_err *e)
{
	const char *p = json_string_value(json_object_get(obj, field));
	if (!p)
		return UPT_OK;
	char *out = NULL;
	if (to_stored) {
		out = path_to_stored(base, p);
	} else if (p[0] != '/') {
		size_t n = strlen(base) + strlen(p) + 2;
		if ((out = malloc(n))) {
			snprintf(out, n, "%s/%s", base, p);
			path_normalize(out);
		}
	} else {
		return UPT_OK;
	}
	if (!out || json_object_set_new(obj, field, json_string(out)) != 0) {
		free(out);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	free(out);
	return UPT_OK;
}

static int map_keys(json_t *entry, const char *base, bool to_stored, upt_err *e)
{
	size_t i;
	json_t *key;
	int rc = UPT_OK;
	json_array_foreach(json_object_get(entry, "keys"), i, key)
	{
		if (rc == UPT_OK)
			rc = map_path(key, "path", base, to_stored, e);
	}
	return rc;
}

/* Every path workspace.json holds: the keys of each role and delegation, the target sources. */
static int map_paths(json_t *doc, const char *base, bool to_stored, upt_err *e)
{
	const char *name, *role;
	json_t *repo, *entry;
	size_t i;
	int rc = UPT_OK;
	json_object_foreach(json_object_get(doc, "repos"), name, repo)
	{
		json_object_foreach(repo, role, entry)
		{
			if (rc == UPT_OK)
				rc = map_keys(entry, base, to_stored, e);
		}
	}
	json_array_foreach(json_object_get(doc, "delegations"), i, entry)
	{
		if (rc == UPT_OK)
			rc = map_keys(entry, base, to_stored, e);
	}
	json_object_foreach(json_object_get(doc, "targets"), name, entry)
	{
		if (rc == UPT_OK)
			rc = map_path(entry, "source", base, to_stored, e);
	}
	return rc;
}

int ws_open(const char *dir, ws *w, upt_err *e)
{
	int rc = open_dir(dir, w, e);
	upt_buf b;
	upt_buf_init(&b, WS_MAX);
	if (rc)
		goto out;
	rc = upt_file_read(w->dirfd, WS_FILE, WS_MAX, &b, e);
	if (rc == UPT_E_NOT_FOUND) {
		rc = upt_err_set(e, UPT_E_USAGE,
				 "%s: not a workspace (no %s; uptane-bundle init "
				 "creates one)",
				 dir, WS_FILE);
		goto out;
	}
	if (rc)
		goto out;
	json_t *doc = NULL;
	rc = upt_json_parse(b.data, b.len, WS_MAX, &doc, e);
	if (rc) {
		upt_err_prefix(e, "%s/%s", dir, WS_FILE);
		goto out;
	}
	const char *fmt = json_string_value(json_object_get(doc, "format"));
	if (!fmt || strcmp(fmt, WS_FORMAT) ||
	    json_integer_value(json_object_get(doc, "version")) != 1 ||
	    !json_is_object(json_object_get(doc, "repos")) ||
	    !json_is_array(json_object_get(doc, "delegations")) ||
	    !json_is_object(json_object_get(doc, "targets")) ||
	    !json_is_object(json_object_get(doc, "devices")) ||
	    !json_is_object(json_object_get(doc, "fleet"))) {
		json_decref(doc);
		rc = upt_err_set(e, UPT_E_USAGE, "%s/%s: not a version 1 workspace", dir, WS_FILE);
		goto out;
	}
	rc = map_paths(doc, w->absdir, false, e);
	if (rc) {
		json_decref(doc);
		goto out;
	}
	w->doc = doc;
out:
	upt_buf_clear(&b);
	if (rc)
		ws_close(w);
	return rc;
}

int ws_save(ws *w, upt_err *e)
{
	json_t *stored = json_deep_copy(w->doc);
	if (!stored)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int mrc = map_paths(stored, w->absdir, true, e);
	char *s = mrc ? NULL : json_dumps(stored, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(stored);
	if (mrc)
		return mrc;
	if (!s)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	size_t n = strlen(s);
	char *s2 = realloc(s, n + 2);
	if (!s2) {
		free(s);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	s2[n] = '\n';
	int rc = upt_file_write_atomic(w->dirfd, WS_FILE, s2, n + 1, 0644, e);
	free(s2);
	if (rc)
		return upt_err_prefix(e, "%s/%s", w->dir, WS_FILE);
	return UPT_OK;
}

void ws_close(ws *w)
{
	if (w->lockfd >= 0)
		close(w->lockfd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	json_decref(w->doc);
	free(w->dir);
	free(w->absdir);
	memset(w, 0, sizeof(*w));
	w->dirfd = w->lockfd = -1;
}

bool ws_repo_valid(const char *repo)
{
	return !strcmp(repo, "image-repo") || !strcmp(repo, "director");
}

json_t *ws_role(const ws *w, const char *repo, const char *role)
{
	return json_object_get(json_object_get(json_object_get(w->doc, "repos"), repo), role);
}

json_t *ws_delegation(const ws *w, const char *name)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(w->doc, "delegations"), i, d)
	{
		const char *n = json_string_value(json_object_get(d, "name"));
		if (n && !strcmp(n, name))
			return d;
	}
	return NULL;
}

int ws_key_entry(const char *path, json_t **out, upt_err *e)
{
	upt_key k;
	int rc = key_load_public(path, &k, e);
	if (rc)
		return rc;
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		return upt_err_set(e, UPT_E_IO, "%s: %s", path, strerror(errno));
	char pub[65];
	upt_hex_encode(k.pub, 32, pub);
	json_t *j = json_pack("{s:s, s:s, s:s}", "path", abs, "keyid", k.keyid, "public", pub);
	if (!j)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	*out = j;
	return UPT_OK;
}

int ws_entry_keys(const json_t *entry, upt_key **out, size_t *n, upt_err *e)
{
	const json_t *arr = json_object_get(entry, "keys");
	size_t cnt = json_array_size(arr);
	upt_key *keys = calloc(cnt ? cnt : 1, sizeof(*keys));
	if (!keys)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		const char *pub =
		    json_string_value(json_object_get(json_array_get(arr, i), "public"));
		json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519", "scheme",
					"ed25519", "keyval", "public", pub ? pub : "");
		int rc = obj ? upt_key_from_json(obj, &keys[i], e)
			     : upt_err_set(e, UPT_E_NOMEM, "out of memory");
		json_decref(obj);
		if (rc == UPT_OK && !keys[i].ed25519)
			rc = upt_err_set(e, UPT_E_MALFORMED, "not an ed25519 key");
		if (rc) {
			free(keys);
			return upt_err_prefix(e, "%s: key entry %zu", WS_FILE, i);
		}
	}
	*out = keys;
	*n = cnt;
	return UPT_OK;
}

const char *ws_default_expiry(const char *role)
{
	if (!strcmp(role, "root"))
		return "365d";
	if (!strcmp(role, "timestamp"))
		return "30d";
	return "90d";
}

int ws_entry_expiry(const json_t *entry, const char *role, int64_t now, int64_t *secs, upt_err *e)
{
	const char *s = json_string_value(json_object_get(entry, "expires"));
	return upt_duration_parse(s ? s : ws_default_expiry(role), now, secs, e);
}

int ws_read(const ws *w, const char *rel, size_t max, upt_buf *out, upt_err *e)
{
	return upt_file_read(w->dirfd, rel, max, out, e);
}

bool ws_exists(const ws *w, const char *rel)
{
	struct stat st;
	return fstatat(w->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int ws_write(const ws *w, const char *rel, const void *data, size_t len, upt_err *e)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", rel);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		int rc = upt_mkdir_p(w->dirfd, dir, 0755, e);
		if (rc)
			return upt_err_prefix(e, "%s/%s", w->dir, dir);
	}
	int rc = upt_file_write_atomic(w->dirfd, rel, data, len, 0644, e);
	if (rc)
		return upt_err_prefix(e, "%s/%s", w->dir, rel);
	return UPT_OK;
}

int ws_meta_version(const ws *w, const char *rel, uint64_t *version, upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, UPT_META_FILE_MAX);
	json_t *doc = NULL;
	int rc = ws_read(w, rel, UPT_META_FILE_MAX, &b, e);
	if (rc == UPT_E_NOT_FOUND) {
		*version = 0;
		rc = UPT_OK;
		goto out;
	}
	if (rc == UPT_OK)
		rc = upt_json_parse(b.data, b.len, UPT_META_FILE_MAX, &doc, e);
	json_t *sig = NULL;
	long long v = 0;
	if (rc == UPT_OK)
		rc = upt_json_get_obj(doc, "signed", &sig, e);
	if (rc == UPT_OK)
		rc = upt_json_get_int(sig, "version", 1, INT64_MAX - 1, &v, e);
	if (rc) {
		upt_err_prefix(e, "%s/%s", w->dir, rel);
		goto out;
	}
	*version = (uint64_t)v;
out:
	json_decref(doc);
	upt_buf_clear(&b);
	return rc;
}

int ws_root_latest(const ws *w, const char *repo, uint64_t *n, upt_err *e)
{
	uint64_t v = 0;
	for (;;) {
		char rel[128];
		snprintf(rel, sizeof(rel), "metadata/%s/%llu.root.json", repo,
			 (unsigned long long)(v + 1));
		if (!ws_exists(w, rel))
			break;
		if (++v >= UPT_ROOT_CHAIN_MAX)
			return upt_err_set(e, UPT_E_TOO_LARGE, "%s: more than %d root versions",
					   repo, UPT_ROOT_CHAIN_MAX);
	}
	if (v == 0)
		return upt_err_set(e, UPT_E_USAGE, "%s/metadata/%s/1.root.json: missing", w->dir,
				   repo);
	*n = v;
	return UPT_OK;
}

int ws_load_root(const ws *w, const char *repo, uint64_t version, upt_meta **out, upt_err *e)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "metadata/%s/%llu.root.json", repo, (unsigned long long)version);
	upt_buf b;
	upt_buf_init(&b, UPT_META_FILE_MAX);
	int rc = ws_read(w, rel, UPT_META_FILE_MAX, &b, e);
	if (rc == UPT_OK)
		rc = upt_meta_parse(b.data, b.len, UPT_ROLE_ROOT, out, e);
	if (rc)
		upt_err_prefix(e, "%s/%s", w->dir, rel);
	upt_buf_clear(&b);
	return rc;
}

static int remove_at(int parent, const char *name, upt_err *e)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? UPT_OK
				       : upt_err_set(e, UPT_E_IO, "%s: %s", name, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent, name, 0) != 0)
			return upt_err_set(e, UPT_E_IO, "%s: %s", name, strerror(errno));
		return UPT_OK;
	}
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: %s", name, strerror(errno));
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return upt_err_set(e, UPT_E_IO, "%s: %s", name, strerror(errno));
	}
	int rc = UPT_OK;
	struct dirent *de;
	while (rc == UPT_OK && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = remove_at(dirfd(d), de->d_name, e);
	closedir(d);
	if (rc == UPT_OK && unlinkat(parent, name, AT_REMOVEDIR) != 0)
		rc = upt_err_set(e, UPT_E_IO, "%s: %s", name, strerror(errno));
	return rc;
}

int ws_remove_tree(const ws *w, const char *rel, upt_err *e)
{
	return remove_at(w->dirfd, rel, e);
}

typedef struct strlist {
	char **v;
	size_t n;
} strlist;

static int list_push(strlist *l, const char *s, upt_err *e)
{
	char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	l->v = nv;
	if (!(l->v[l->n] = strdup(s)))
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	l->n++;
	return UPT_OK;
}

static int walk(int base, const char *rel, strlist *l, int depth, upt_err *e)
{
	if (depth > 32)
		return upt_err_set(e, UPT_E_USAGE, "%s: directories nested too deep", rel);
	int fd = openat(base, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, errno == ENOENT ? UPT_E_NOT_FOUND : UPT_E_IO, "%s: %s", rel,
				   strerror(errno));
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return upt_err_set(e, UPT_E_IO, "%s: %s", rel, strerror(errno));
	}
	int rc = UPT_OK;
	struct dirent *de;
	while (rc == UPT_OK && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char path[PATH_MAX];
		int n = snprintf(path, sizeof(path), "%s/%s", rel, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			rc = upt_err_set(e, UPT_E_USAGE, "%s: path too long", rel);
			break;
		}
		struct stat st;
		if (fstatat(base, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = upt_err_set(e, UPT_E_IO, "%s: %s", path, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode))
			rc = walk(base, path, l, depth + 1, e);
		else if (S_ISREG(st.st_mode))
			rc = list_push(l, path, e);
		else
			rc = upt_err_set(e, UPT_E_USAGE, "%s: not a regular file or directory",
					 path);
	}
	closedir(d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dir_list(int dirfd, const char *rel, char ***out, size_t *n, upt_err *e)
{
	strlist l = {0};
	int rc = walk(dirfd, rel, &l, 0, e);
	if (rc) {
		ws_list_free(l.v, l.n);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	*out = l.v;
	*n = l.n;
	return UPT_OK;
}

int ws_list(const ws *w, const char *rel, char ***out, size_t *n, upt_err *e)
{
	return dir_list(w->dirfd, rel, out, n, e);
}

void ws_list_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

bool ws_target_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > UPT_TARGET_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
		return false;
	const char *comp = name;
	for (size_t i = 0; i <= n; i++) {
		char c = name[i];
		if (c == '/' || c == '\0') {
			size_t len = (size_t)(name + i - comp);
			if (len == 0 || (len == 1 && comp[0] == '.') ||
			    (len == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			comp = name + i + 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

bool ws_path_match(const char *p, const char *s)
{
	/* Iterative glob with one backtrack point: linear enough for names <= 1000 bytes. */
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && *p != '*' && (*p == *s || (*p == '?' && *s != '/'))) {
			p++;
			s++;
		} else if (star && *resume != '/') {
			/* '*' never swallows a '/' */
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}
