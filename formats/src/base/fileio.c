/* fileio: bounded reads of untrusted files; atomic, durable replacement of state files. */
#include "upt/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int upt_fd_read_all(int fd, size_t max, upt_buf *out, upt_err *e)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return upt_err_set(e, UPT_E_IO, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return upt_err_set(e, UPT_E_IO, "not a regular file");
	/* Cap before allocating; the loop below still refuses a file that grows while read. */
	if ((uint64_t)st.st_size > (uint64_t)max)
		return upt_err_set(e, UPT_E_TOO_LARGE,
				   "file of %lld bytes is over the limit of %zu",
				   (long long)st.st_size, max);
	upt_buf tmp;
	upt_buf_init(&tmp, max);
	int rc = upt_buf_append(&tmp, "", 0, e); /* allocates, so data is never NULL */
	uint8_t chunk[16384];
	while (rc == UPT_OK) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = upt_err_set(e, UPT_E_IO, "read error: %s", strerror(errno));
		else if (n == 0)
			break;
		else
			rc = upt_buf_append(&tmp, chunk, (size_t)n, e);
	}
	if (rc) {
		upt_buf_clear(&tmp);
		return rc;
	}
	upt_buf_clear(out);
	out->data = tmp.data;
	out->len = tmp.len;
	out->cap = tmp.cap;
	return UPT_OK;
}

static const char *file_kind(mode_t mode)
{
	return S_ISDIR(mode)	? "a directory"
	       : S_ISFIFO(mode) ? "a FIFO"
	       : S_ISCHR(mode)	? "a character device"
	       : S_ISBLK(mode)	? "a block device"
	       : S_ISSOCK(mode) ? "a socket"
				: "not a regular file";
}

int upt_open_regular(int dirfd, const char *path, int *fd, struct stat *st, upt_err *e)
{
	*fd = -1;
	if (st)
		st->st_mode = 0;
	int pfd = openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0) {
		int err = errno;
		return err == ENOENT
			   ? upt_err_set(e, UPT_E_NOT_FOUND, "%s: no such file", path)
			   : upt_err_set(e, UPT_E_IO, "%s: cannot open: %s", path, strerror(err));
	}
	struct stat before;
	if (fstat(pfd, &before) != 0) {
		int err = errno;
		close(pfd);
		return upt_err_set(e, UPT_E_IO, "%s: cannot stat: %s", path, strerror(err));
	}
	if (!S_ISREG(before.st_mode)) {
		close(pfd);
		if (st)
			*st = before;
		return upt_err_set(e, UPT_E_IO, "%s: %s; only regular files are read", path,
				   S_ISLNK(before.st_mode) ? "is a symbolic link, not followed"
							   : file_kind(before.st_mode));
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	int rfd = open(proc, flags);
	if (rfd < 0 && (errno == ENOENT || errno == ENOTDIR))
		rfd = openat(dirfd, path, flags | O_NOFOLLOW); /* no /proc: compared below */
	int err = errno;
	close(pfd);
	if (rfd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: cannot open: %s", path, strerror(err));
	struct stat now;
	if (fstat(rfd, &now) != 0 || now.st_dev != before.st_dev || now.st_ino != before.st_ino ||
	    !S_ISREG(now.st_mode)) {
		close(rfd);
		return upt_err_set(e, UPT_E_IO, "%s: replaced while being opened; refusing it",
				   path);
	}
	if (st)
		*st = now;
	*fd = rfd;
	return UPT_OK;
}

int upt_file_read(int dirfd, const char *path, size_t max, upt_buf *out, upt_err *e)
{
	int fd;
	int rc = upt_open_regular(dirfd, path, &fd, NULL, e);
	if (rc)
		return rc;
	rc = upt_fd_read_all(fd, max, out, e);
	close(fd);
	if (rc) {
		upt_err_prefix(e, "%s", path); /* returns INTERNAL when e is NULL: keep rc */
		return rc;
	}
	return UPT_OK;
}

int upt_fd_write_all(int fd, const void *p, size_t n, upt_err *e)
{
	const uint8_t *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return upt_err_set(e, UPT_E_IO, "write error: %s", strerror(errno));
		c += w;
		n -= (size_t)w;
	}
	return UPT_OK;
}

static int split_parent(const char *path, char *dir, size_t dirsz)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, dirsz, ".");
		return 0;
	}
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/file" -> "/" */
	if (n >= dirsz)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

int upt_fsync_parent(int dirfd, const char *path, upt_err *e)
{
	char dir[4096];
	if (split_parent(path, dir, sizeof(dir)) != 0)
		return upt_err_set(e, UPT_E_IO, "path too long: %s", path);
	int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: cannot open directory: %s", dir,
				   strerror(errno));
	int rc = UPT_OK;
	if (fsync(fd) != 0)
		rc = upt_err_set(e, UPT_E_IO, "%s: fsync failed: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

int upt_file_write_atomic(int dirfd, const char *path, const void *data, size_t n, mode_t mode,
			  upt_err *e)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return upt_err_set(e, UPT_E_IO, "path too long: %s", path);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: cannot create: %s", tmp, strerror(errno));
	int rc = upt_fd_write_all(fd, data, n, e);
	if (rc == UPT_OK && fsync(fd) != 0)
		rc = upt_err_set(e, UPT_E_IO, "fsync failed: %s", strerror(errno));
	if (close(fd) != 0 && rc == UPT_OK)
		rc = upt_err_set(e, UPT_E_IO, "close failed: %s", strerror(errno));
	if (rc == UPT_OK && renameat(dirfd, tmp, dirfd, path) != 0)
		rc = upt_err_set(e, UPT_E_IO, "rename failed: %s", strerror(errno));
	if (rc) {
		unlinkat(dirfd, tmp, 0);
		upt_err_prefix(e, "%s", path);
		return rc;
	}
	return upt_fsync_parent(dirfd, path, e);
}

int upt_file_write_new(int dirfd, const char *path, const void *data, size_t n, mode_t mode,
		       upt_err *e)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: cannot create: %s", path, strerror(errno));
	int rc = upt_fd_write_all(fd, data, n, e);
	if (rc == UPT_OK && fsync(fd) != 0)
		rc = upt_err_set(e, UPT_E_IO, "fsync failed: %s", strerror(errno));
	if (close(fd) != 0 && rc == UPT_OK)
		rc = upt_err_set(e, UPT_E_IO, "close failed: %s", strerror(errno));
	if (rc) {
		unlinkat(dirfd, path, 0);
		upt_err_prefix(e, "%s", path);
	}
	return rc;
}

int upt_mkdir_p(int dirfd, const char *path, mode_t mode, upt_err *e)
{
	char p[4096];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(p))
		return upt_err_set(e, UPT_E_IO, "bad directory path");
	memcpy(p, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char saved = p[i];
		p[i] = '\0';
		if (mkdirat(dirfd, p, mode) != 0 && errno != EEXIST)
			return upt_err_set(e, UPT_E_IO, "%s: cannot create directory: %s", p,
					   strerror(errno));
		struct stat st;
		if (fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
			return upt_err_set(e, UPT_E_IO, "%s: exists and is not a directory", p);
		p[i] = saved;
	}
	return UPT_OK;
}
