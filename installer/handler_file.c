/*
 * handler_file: installs an image as a file. The image is written to a hidden staging file in
 * the target's directory and renamed over the target at commit time, so the target is always
 * the complete old or the complete new image; a failure leaves no staging file and no backup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer.h"
#include "upt/fileio.h"
#include "upt/limits.h"

static int file_open(struct ctx *c, struct stage *s, const upt_installed_ecu *installed, upt_err *e)
{
	(void)installed;
	int rc = staged_path(c, s->ecu, s->path, sizeof(s->path), e);
	if (rc)
		return rc;
	/* config_load refused a link or a non-file already; this is the same check just before
	 * the write (the path may have changed since), and never reads the mode through a
	 * link. Only the last component: links among the directories above (/opt/app ->
	 * /data/app) are the integrator's layout and are followed. A new target gets 0644. */
	struct stat st;
	s->mode = 0644;
	if (lstat(s->ecu->path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return upt_err_set(e, UPT_E_INSTALL, "%s: install.path %s %s",
					   s->ecu->serial, s->ecu->path,
					   S_ISLNK(st.st_mode)
					       ? "is a symbolic link; point it at the real file"
					       : "is not a regular file");
		s->mode = st.st_mode & 07777;
	}
	s->fd = stage_create(s->path, s->mode, e);
	if (s->fd < 0)
		return upt_err_prefix(e, "%s", s->ecu->serial);
	s->created = true;
	if (fchmod(s->fd, s->mode) != 0 || fstat(s->fd, &st) != 0)
		return upt_err_set(e, UPT_E_INSTALL, "%s: cannot set mode of %s: %s",
				   s->ecu->serial, s->path, strerror(errno));
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return UPT_OK;
}

/* Does fd hold exactly the journal's image (length and SHA-256)? */
static bool fd_is_image(int fd, const upt_journal_ecu *j)
{
	upt_hasher *h = NULL;
	upt_hashes got;
	bool ok = false;
	uint64_t total = 0;
	uint8_t *buf = malloc(UPT_IO_CHUNK);
	if (buf && upt_hasher_new(true, false, &h, NULL) == UPT_OK) {
		ssize_t n;
		while ((n = read(fd, buf, UPT_IO_CHUNK)) > 0 &&
		       upt_hasher_update(h, buf, (size_t)n, NULL) == UPT_OK)
			total += (uint64_t)n;
		ok = n == 0 && upt_hasher_final(h, &got, NULL) == UPT_OK && total == j->length &&
		     upt_ct_equal(got.sha256, j->sha256, UPT_SHA256_LEN);
	}
	upt_hasher_free(h);
	free(buf);
	return ok;
}

/* Is name (in dirfd) a regular file holding the journal's image? */
static bool file_is_image(int dirfd, const char *name, const upt_journal_ecu *j)
{
	int fd;
	if (upt_open_regular(dirfd, name, &fd, NULL, NULL) != UPT_OK)
		return false;
	bool ok = fd_is_image(fd, j);
	close(fd);
	return ok;
}

/* The staged file must be the one this install wrote and hashed: the same inode (a live
 * install), or, after a crash (inode unknown), bytes that hash to the signed image. One link
 * only: a second name elsewhere would let its holder change the activated image. */
static int check_staged(int dirfd, const char *name, const char *staged, const upt_journal_ecu *j,
			upt_err *e)
{
	int fd;
	struct stat st;
	int rc = upt_open_regular(dirfd, name, &fd, &st, e);
	if (rc)
		return rc;
	bool same = st.st_nlink == 1 && (j->staged_ino ? (uint64_t)st.st_dev == j->staged_dev &&
							     (uint64_t)st.st_ino == j->staged_ino
						       : fd_is_image(fd, j));
	close(fd);
	if (!same)
		return upt_err_set(
		    e, UPT_E_INSTALL,
		    "%s: the staged file %s is not the image that was verified (it was "
		    "replaced or linked); not activated",
		    j->serial, staged);
	return UPT_OK;
}

/* The rename happens through a descriptor of the target's directory, opened once, so the
 * checked file and the renamed file are found in the same directory whatever happens to the
 * path above it (config_load refused directories other users can write). */
static int file_activate(struct ctx *c, const upt_dev_ecu *u, upt_journal_ecu *j, struct events *ev,
			 upt_err *e)
{
	(void)ev;
	char staged[UPT_PATH_MAX];
	int rc = staged_path(c, u, staged, sizeof(staged), e);
	if (rc)
		return rc;
	char dir[UPT_PATH_MAX];
	path_parent(u->path, dir, sizeof(dir));
	const char *slash = strrchr(u->path, '/');
	const char *base = slash ? slash + 1 : u->path;
	const char *sname = strrchr(staged, '/') ? strrchr(staged, '/') + 1 : staged;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return upt_err_set(e, UPT_E_INSTALL, "%s: cannot open directory %s: %s", u->serial,
				   dir, strerror(errno));
	rc = check_staged(dfd, sname, staged, j, e);
	if (rc == UPT_E_NOT_FOUND && file_is_image(dfd, base, j)) {
		upt_err_clear(e);
		rc = UPT_OK; /* renamed before the crash, journal not yet updated */
	} else if (rc == UPT_OK && renameat(dfd, sname, dfd, base) != 0) {
		rc = upt_err_set(e, UPT_E_INSTALL, "%s: cannot rename %s to %s: %s", u->serial,
				 staged, u->path, strerror(errno));
	} else if (rc == UPT_OK && fsync(dfd) != 0) {
		rc = upt_err_set(e, UPT_E_INSTALL, "%s: fsync of %s: %s", u->serial, dir,
				 strerror(errno));
	} else if (rc) {
		if (e)
			e->code = UPT_E_INSTALL;
		rc = UPT_E_INSTALL;
	}
	close(dfd);
	return rc;
}

static void file_cleanup(struct ctx *c, const upt_dev_ecu *u)
{
	char staged[UPT_PATH_MAX];
	if (staged_path(c, u, staged, sizeof(staged), NULL) == UPT_OK)
		unlink(staged);
}

const struct handler handler_file = {
    .type = UPT_HANDLER_FILE,
    .open = file_open,
    .finish = stage_sync_close,
    .abort = stage_discard,
    .activate = file_activate,
    .cleanup = file_cleanup,
};
