/*
 * bundle_volumes: a bundle's files, path or path.000, .001, ..., read as one stream (see
 * bundle_volumes.h). The bundle path itself must not be a symbolic link (O_NOFOLLOW): UPT_E_IO.
 */
#include "bundle_volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_internal.h"
#include "upt/fileio.h"
#include "upt/limits.h"

char *upt_volume_name(const char *base, size_t index)
{
	char *name = NULL;
	return asprintf(&name, "%s.%03zu", base, index) < 0 ? NULL : name;
}

static int open_volume(const char *path, struct upt_volume *v, upt_err *e)
{
	/* Checked before it is opened: a FIFO as .001 must not block us, a device node must not
	 * be opened at all (docs/threat-model.md, "Only regular files"). */
	struct stat st;
	int fd;
	int rc = upt_open_regular(AT_FDCWD, path, &fd, &st, e);
	if (rc == UPT_E_IO && st.st_mode != 0 && !S_ISREG(st.st_mode)) {
		/* A link, FIFO or device node among the volumes is a hostile bundle, not a
		 * medium to retry. */
		if (e)
			e->code = UPT_E_UNSAFE_ARCHIVE;
		return UPT_E_UNSAFE_ARCHIVE;
	}
	if (rc)
		return rc;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	v->fd = fd;
	v->size = (uint64_t)st.st_size;
	return UPT_OK;
}

static int add_volume(struct upt_volumes *vs, struct upt_volume v, upt_err *e)
{
	struct upt_volume *nv = realloc(vs->vols, (vs->n + 1) * sizeof(*nv));
	if (!nv) {
		close(v.fd);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	vs->vols = nv;
	vs->vols[vs->n++] = v;
	return UPT_OK;
}

/* True when path ends in ".NNN" (three digits); *n gets NNN. */
static bool volume_suffix(const char *path, size_t len, unsigned *n)
{
	if (len < UPT_VOLUME_SUFFIX_LEN || path[len - 4] != '.')
		return false;
	unsigned v = 0;
	for (size_t i = len - 3; i < len; i++) {
		if (path[i] < '0' || path[i] > '9')
			return false;
		v = v * 10 + (unsigned)(path[i] - '0');
	}
	*n = v;
	return true;
}

/* After base.NNN was not found: a later volume there means a gap (.002 absent, .003 there),
 * refused: the bundle would be read without the volume. UPT_OK when the set simply ends. */
static int check_no_gap(const char *base, unsigned missing, upt_err *e)
{
	unsigned next = (missing + 1) % UPT_SPLIT_VOLUMES_MAX; /* .999 has no next */
	char *name = next ? upt_volume_name(base, next) : NULL;
	if (next && !name)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	struct stat st;
	int rc = UPT_OK;
	if (name && fstatat(AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = upt_err_set(e, UPT_E_MALFORMED,
				 "%s.%03u is missing: the bundle has more volumes (%s is there)",
				 base, missing, name);
		upt_bundle_err_member(e, NULL);
	}
	free(name);
	return rc;
}

/* Opens base.000, base.001, ... while they exist (at most UPT_SPLIT_VOLUMES_MAX). */
static int open_split(struct upt_volumes *vs, const char *base, upt_err *e)
{
	vs->base = strdup(base);
	if (!vs->base)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = UPT_OK;
	for (unsigned i = 0; i < UPT_SPLIT_VOLUMES_MAX && rc == UPT_OK; i++) {
		char *name = upt_volume_name(base, i);
		if (!name)
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		struct upt_volume v;
		rc = open_volume(name, &v, e);
		if (rc == UPT_E_NOT_FOUND && i > 0) {
			free(name);
			return check_no_gap(base, i, e);
		}
		if (rc == UPT_OK)
			rc = add_volume(vs, v, e);
		if (rc == UPT_OK && v.size > UINT64_MAX - vs->total)
			rc = upt_err_set(e, UPT_E_TOO_LARGE, "%s: volumes too large", name);
		if (rc == UPT_OK)
			vs->total += v.size;
		free(name);
	}
	return rc;
}

int upt_volumes_open(struct upt_volumes *vs, const char *path, upt_err *e)
{
	size_t len = strlen(path);
	unsigned n = 0;
	if (volume_suffix(path, len, &n) && n > 0) {
		/* X.uptane.001 alone is the middle of a tar stream: say so, not "unrecognized" */
		int blen = (int)(len - UPT_VOLUME_SUFFIX_LEN);
		int rc = upt_err_set(e, UPT_E_USAGE,
				     "%s is volume %u of a split bundle: give the first volume, "
				     "%.*s.000 (or %.*s)",
				     path, n + 1, blen, path, blen, path);
		if (e)
			upt_bundle_printable(e->msg);
		return rc;
	}
	if (volume_suffix(path, len, &n)) {
		/* X.uptane.000: the first of a split set */
		char *base = strndup(path, len - UPT_VOLUME_SUFFIX_LEN);
		if (!base)
			return upt_err_set(e, UPT_E_NOMEM, "out of memory");
		int rc = open_split(vs, base, e);
		free(base);
		return rc;
	}
	struct upt_volume v;
	int rc = open_volume(path, &v, e);
	if (rc == UPT_OK) {
		rc = add_volume(vs, v, e);
		if (rc == UPT_OK)
			vs->total = v.size;
	} else if (rc == UPT_E_NOT_FOUND) {
		/* X.uptane absent: X.uptane.000, .001, ... (docs/bundle-format.md) */
		rc = open_split(vs, path, e);
		if (rc == UPT_E_NOT_FOUND)
			upt_err_set(e, UPT_E_NOT_FOUND, "%s: no such file (nor %s.000)", path,
				    path);
	}
	return rc;
}

int upt_volumes_adopt(struct upt_volumes *vs, const int *fds, size_t n, upt_err *e)
{
	vs->vols = calloc(n ? n : 1, sizeof(*vs->vols));
	if (!vs->vols) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) /* closed by upt_volumes_close from here on */
		vs->vols[i].fd = fds[i];
	vs->n = n;
	int rc = UPT_OK;
	for (size_t i = 0; i < n && rc == UPT_OK; i++) {
		struct stat st = {0};
		if (fstat(fds[i], &st) != 0 || !S_ISREG(st.st_mode))
			rc = upt_err_set(e, UPT_E_UNSAFE_ARCHIVE,
					 "volume %zu is not a regular file", i);
		vs->vols[i].size = (uint64_t)st.st_size;
		vs->total += (uint64_t)st.st_size;
	}
	if (rc == UPT_OK && n == 0)
		rc = upt_err_set(e, UPT_E_NOT_FOUND, "no volumes");
	return rc;
}

ssize_t upt_volumes_read(struct upt_volumes *vs, void *buf, size_t cap)
{
	while (vs->cur < vs->n) {
		struct upt_volume *v = &vs->vols[vs->cur];
		uint64_t off = vs->pos - vs->cur_start;
		if (off >= v->size) {
			vs->cur_start += v->size;
			vs->cur++;
			continue;
		}
		uint64_t left = v->size - off;
		size_t want = left < cap ? (size_t)left : cap;
		ssize_t n;
		do
			n = pread(v->fd, buf, want, (off_t)off);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			vs->io_errno = errno;
			vs->io_what = "read error";
			return -1;
		}
		if (n == 0) {
			/* the volume shrank under us: the medium changed */
			vs->io_errno = EIO;
			vs->io_what = "volume shrank while reading";
			return -1;
		}
		vs->pos += (uint64_t)n;
		return n;
	}
	return 0;
}

uint64_t upt_volumes_skip(struct upt_volumes *vs, uint64_t n)
{
	if (n > vs->total - vs->pos)
		n = vs->total - vs->pos;
	vs->pos += n; /* upt_volumes_read finds the volume that holds pos */
	return n;
}

bool upt_volumes_cut_short(const struct upt_volumes *vs, upt_err *e)
{
	if (!vs->base || vs->pos < vs->total)
		return false;
	/* The bundler fills every volume but the last to the split size: a last one as full as
	 * the first means the next is not there (a stick copied in part); a shorter one was cut
	 * short itself. Name the volume rather than "truncated tar archive". */
	size_t last = vs->n - 1;
	if (last > 0 && vs->vols[last].size < vs->vols[0].size)
		upt_err_set(e, UPT_E_MALFORMED,
			    "%s.%03zu is incomplete: the archive ends inside it (%llu bytes, the "
			    "volumes before it %llu): copy it again",
			    vs->base, last, (unsigned long long)vs->vols[last].size,
			    (unsigned long long)vs->vols[0].size);
	else
		upt_err_set(e, UPT_E_MALFORMED,
			    "%s.%03zu is missing: the bundle has more volumes (it goes on after "
			    "%s.%03zu)",
			    vs->base, last + 1, vs->base, last);
	if (e)
		upt_bundle_printable(e->msg);
	return true;
}

void upt_volumes_close(struct upt_volumes *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		close(vs->vols[i].fd);
	free(vs->vols);
	free(vs->base);
	*vs = (struct upt_volumes){0};
}
