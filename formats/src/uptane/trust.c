/*
 * trust: the device's trusted metadata as a plain value (name -> bytes, plus the time floor)
 * and its directory form, state_dir/trusted/.
 *
 * Not responsible for: deciding what is trusted (verify), locking (the installer holds the
 * state lock), or the atomicity of a whole update across files (the installer's journal).
 * Each file is replaced atomically.
 */
#include "upt/trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/rfc3339.h"

#define TIME_FLOOR_FILE "time_floor"
/* More files than any sane state holds: bounds a damaged or hostile directory. */
#define TRUST_FILES_MAX (UPT_SNAPSHOT_FILES_MAX + UPT_DELEGATIONS_MAX + 64)
#define TRUST_DEPTH_MAX 4 /* components in a name: "director/offline-updates/x.json" is 3 */

static const char *const tops[] = {"director", "image-repo"};

void upt_trust_init(upt_trust *t)
{
	t->files = NULL;
	t->nfiles = 0;
	t->time_floor = 0;
}

void upt_trust_clear(upt_trust *t)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		free(t->files[i].name);
		upt_buf_clear(&t->files[i].data);
	}
	free(t->files);
	upt_trust_init(t);
}

/* Names are relative paths under director/ or image-repo/, each component a valid name, so
 * the directory form can never write outside trusted/. */
static bool name_ok(const char *name)
{
	char tmp[UPT_MEMBER_PATH_MAX + 1];
	size_t n = strnlen(name, sizeof(tmp));
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, name, n + 1);
	size_t comps = 0;
	bool top_ok = false;
	char *save = NULL;
	if (tmp[0] == '/' || tmp[n - 1] == '/' || strstr(tmp, "//"))
		return false;
	for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!upt_name_valid(c))
			return false;
		if (comps == 0)
			for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
				top_ok = top_ok || !strcmp(c, tops[i]);
		comps++;
	}
	return top_ok && comps >= 2 && comps <= TRUST_DEPTH_MAX;
}

/* Index of name, or of where it would be inserted (*found false). */
static size_t find(const upt_trust *t, const char *name, bool *found)
{
	size_t lo = 0, hi = t->nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->files[mid].name, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

const upt_buf *upt_trust_get(const upt_trust *t, const char *name)
{
	bool found;
	size_t i = find(t, name, &found);
	return found ? &t->files[i].data : NULL;
}

int upt_trust_set(upt_trust *t, const char *name, const void *data, size_t len, upt_err *e)
{
	if (!name_ok(name))
		return upt_err_set(e, UPT_E_INTERNAL, "invalid trusted file name \"%.200s\"", name);
	upt_buf b;
	upt_buf_init(&b, UPT_STATE_FILE_MAX);
	int rc = upt_buf_append(&b, data, len, e);
	if (rc) {
		upt_err_prefix(e, "%s", name);
		return rc;
	}
	bool found;
	size_t i = find(t, name, &found);
	if (found) {
		upt_buf_clear(&t->files[i].data);
		t->files[i].data = b;
		return UPT_OK;
	}
	if (t->nfiles >= TRUST_FILES_MAX) {
		upt_buf_clear(&b);
		return upt_err_set(e, UPT_E_TOO_LARGE, "more than %d trusted files",
				   TRUST_FILES_MAX);
	}
	char *copy = strdup(name);
	upt_trust_file *files = copy ? realloc(t->files, (t->nfiles + 1) * sizeof(*files)) : NULL;
	if (!files) {
		free(copy);
		upt_buf_clear(&b);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	t->files = files;
	memmove(&files[i + 1], &files[i], (t->nfiles - i) * sizeof(*files));
	files[i].name = copy;
	files[i].data = b;
	t->nfiles++;
	return UPT_OK;
}

static void remove_at(upt_trust *t, size_t i)
{
	free(t->files[i].name);
	upt_buf_clear(&t->files[i].data);
	memmove(&t->files[i], &t->files[i + 1], (t->nfiles - i - 1) * sizeof(t->files[0]));
	t->nfiles--;
}

void upt_trust_remove(upt_trust *t, const char *name)
{
	bool found;
	size_t i = find(t, name, &found);
	if (found)
		remove_at(t, i);
}

void upt_trust_remove_prefix(upt_trust *t, const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = t->nfiles; i-- > 0;)
		if (!strncmp(t->files[i].name, prefix, n))
			remove_at(t, i);
}

int upt_trust_copy(upt_trust *dst, const upt_trust *src, upt_err *e)
{
	upt_trust tmp;
	upt_trust_init(&tmp);
	tmp.time_floor = src->time_floor;
	for (size_t i = 0; i < src->nfiles; i++) {
		int rc = upt_trust_set(&tmp, src->files[i].name, src->files[i].data.data,
				       src->files[i].data.len, e);
		if (rc) {
			upt_trust_clear(&tmp);
			return rc;
		}
	}
	upt_trust_clear(dst);
	*dst = tmp;
	return UPT_OK;
}

bool upt_trust_equal(const upt_trust *a, const upt_trust *b)
{
	if (a->nfiles != b->nfiles || a->time_floor != b->time_floor)
		return false;
	for (size_t i = 0; i < a->nfiles; i++)
		if (strcmp(a->files[i].name, b->files[i].name) != 0 ||
		    !upt_buf_equal(&a->files[i].data, &b->files[i].data))
			return false;
	return true;
}

static bool is_temp(const char *name)
{
	size_t n = strlen(name);
	return n >= 4 && !strcmp(name + n - 4, ".tmp");
}

/* Reads every regular file under rel (relative to dirfd) into t, recursing into directories.
 * Names that could not have been written by save (invalid names, temp files) are skipped. */
static int load_tree(int dirfd, const char *rel, int depth, upt_trust *t, upt_err *e)
{
	int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return UPT_OK;
		return upt_err_set(e, UPT_E_IO, "%s: cannot open directory: %s", rel,
				   strerror(errno));
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return upt_err_set(e, UPT_E_IO, "%s: cannot read directory: %s", rel,
				   strerror(errno));
	}
	int rc = UPT_OK;
	struct dirent *de;
	while (rc == UPT_OK && (errno = 0, de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		char path[UPT_MEMBER_PATH_MAX + 1];
		struct stat st;
		if (!strcmp(n, ".") || !strcmp(n, "..") || is_temp(n) || !upt_name_valid(n))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", rel, n) >= sizeof(path))
			continue;
		if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = upt_err_set(e, UPT_E_IO, "%s: %s", path, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth + 1 < TRUST_DEPTH_MAX)
				rc = load_tree(dirfd, path, depth + 1, t, e);
			continue;
		}
		if (!S_ISREG(st.st_mode) || !name_ok(path))
			continue;
		upt_buf b;
		upt_buf_init(&b, UPT_STATE_FILE_MAX);
		rc = upt_file_read(dirfd, path, UPT_STATE_FILE_MAX, &b, e);
		if (rc == UPT_OK)
			rc = upt_trust_set(t, path, b.data, b.len, e);
		upt_buf_clear(&b);
	}
	if (rc == UPT_OK && errno != 0)
		rc = upt_err_set(e, UPT_E_IO, "%s: readdir: %s", rel, strerror(errno));
	closedir(d);
	return rc;
}

static int load_floor(int dirfd, int64_t *out, upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, 64);
	int rc = upt_file_read(dirfd, TIME_FLOOR_FILE, 64, &b, e);
	if (rc == UPT_E_NOT_FOUND) {
		upt_err_clear(e);
		*out = 0;
		rc = UPT_OK;
	} else if (rc == UPT_OK) {
		char s[UPT_RFC3339_LEN + 1];
		size_t n = b.len;
		if (n > 0 && b.data[n - 1] == '\n')
			n--;
		if (n != UPT_RFC3339_LEN) {
			rc = upt_err_set(e, UPT_E_INTERNAL, "%s is damaged", TIME_FLOOR_FILE);
		} else {
			memcpy(s, b.data, n);
			s[n] = '\0';
			if ((rc = upt_rfc3339_parse(s, out, e)))
				upt_err_prefix(e, "%s is damaged", TIME_FLOOR_FILE);
		}
	}
	upt_buf_clear(&b);
	return rc;
}

int upt_trust_load_dir(int dirfd, upt_trust *out, upt_err *e)
{
	upt_trust t;
	upt_trust_init(&t);
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < sizeof(tops) / sizeof(tops[0]); i++)
		rc = load_tree(dirfd, tops[i], 1, &t, e);
	if (rc == UPT_OK)
		rc = load_floor(dirfd, &t.time_floor, e);
	if (rc) {
		upt_trust_clear(&t);
		return rc;
	}
	upt_trust_clear(out);
	*out = t;
	return UPT_OK;
}

static int mkparent(int dirfd, const char *name, upt_err *e)
{
	char dir[UPT_MEMBER_PATH_MAX + 1];
	const char *slash = strrchr(name, '/');
	size_t n = slash ? (size_t)(slash - name) : 0;
	if (n == 0 || n >= sizeof(dir))
		return UPT_OK;
	memcpy(dir, name, n);
	dir[n] = '\0';
	return upt_mkdir_p(dirfd, dir, 0755, e);
}

/* fresh: dirfd is a new empty directory (upt_trust_save_new_dir) */
static int save_dir(int dirfd, const upt_trust *t, bool fresh, upt_err *e)
{
	int (*write_file)(int, const char *, const void *, size_t, mode_t, upt_err *) =
	    fresh ? upt_file_write_new : upt_file_write_atomic;
	upt_trust old;
	upt_trust_init(&old);
	int rc = UPT_OK;
	/* What is on disk now: unchanged files are not rewritten (fewer writes to flash, and a
	 * crash mid-save touches only what changes). */
	for (size_t i = 0; !fresh && rc == UPT_OK && i < sizeof(tops) / sizeof(tops[0]); i++)
		rc = load_tree(dirfd, tops[i], 1, &old, e);
	for (size_t i = 0; rc == UPT_OK && i < t->nfiles; i++) {
		const upt_trust_file *f = &t->files[i];
		const upt_buf *cur = upt_trust_get(&old, f->name);
		if (cur && upt_buf_equal(cur, &f->data))
			continue;
		if (!name_ok(f->name)) {
			rc = upt_err_set(e, UPT_E_INTERNAL, "invalid trusted file name \"%.200s\"",
					 f->name);
			break;
		}
		rc = mkparent(dirfd, f->name, e);
		if (rc == UPT_OK)
			rc = write_file(dirfd, f->name, f->data.data, f->data.len, 0644, e);
	}
	for (size_t i = 0; rc == UPT_OK && i < old.nfiles; i++) {
		const char *name = old.files[i].name;
		if (upt_trust_get(t, name))
			continue;
		if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
			rc = upt_err_set(e, UPT_E_IO, "%s: cannot remove: %s", name,
					 strerror(errno));
		else
			rc = upt_fsync_parent(dirfd, name, e);
	}
	if (rc == UPT_OK) {
		int64_t floor = 0;
		char s[UPT_RFC3339_LEN + 2];
		upt_err ignore;
		if (fresh || load_floor(dirfd, &floor, &ignore) != UPT_OK ||
		    floor != t->time_floor ||
		    faccessat(dirfd, TIME_FLOOR_FILE, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
			upt_rfc3339_format(t->time_floor, s);
			s[UPT_RFC3339_LEN] = '\n';
			s[UPT_RFC3339_LEN + 1] = '\0';
			rc = write_file(dirfd, TIME_FLOOR_FILE, s, UPT_RFC3339_LEN + 1, 0644, e);
		}
	}
	upt_trust_clear(&old);
	return rc;
}

int upt_trust_save_dir(int dirfd, const upt_trust *t, upt_err *e)
{
	return save_dir(dirfd, t, false, e);
}

int upt_trust_save_new_dir(int dirfd, const upt_trust *t, upt_err *e)
{
	return save_dir(dirfd, t, true, e);
}
