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
	if (fchmod(s->fd, s->mode) != 0)
		return upt_err_set(e, UPT_E_INSTALL, "%s: cannot set mode of %s: %s",
				   s->ecu->serial, s->path, strerror(errno));
	return UPT_OK;
}

/* Is the target already the staged image? (recovery after a crash between rename and
 * journal update) */
static bool target_is(const char *path, const upt_journal_ecu *j)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
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
	close(fd);
	return ok;
}

static int file_activate(struct ctx *c, const upt_dev_ecu *u, upt_journal_ecu *j, struct events *ev,
			 upt_err *e)
{
	(void)ev;
	char staged[UPT_PATH_MAX];
	int rc = staged_path(c, u, staged, sizeof(staged), e);
	if (rc)
		return rc;
	if (rename(staged, u->path) != 0) {
		if (errno == ENOENT && target_is(u->path, j))
			return UPT_OK; /* renamed before the crash, journal not yet updated */
		return upt_err_set(e, UPT_E_INSTALL, "%s: cannot rename %s to %s: %s", u->serial,
				   staged, u->path, strerror(errno));
	}
	rc = upt_fsync_parent(AT_FDCWD, u->path, e);
	if (rc && e)
		e->code = UPT_E_INSTALL;
	return rc ? UPT_E_INSTALL : UPT_OK;
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
