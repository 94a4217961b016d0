/* handlers: the table of install handlers (docs/device-config.md) and where staged images live. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "installer.h"

const struct handler *handler_for(upt_handler_type t)
{
	switch (t) {
	case UPT_HANDLER_FILE:
		return &handler_file;
	case UPT_HANDLER_AB:
		return &handler_ab;
	case UPT_HANDLER_EXEC:
		return &handler_exec;
	}
	return &handler_file;
}

/* Defaults, for programs that normally take seconds: a bootloader switch (fw_setenv,
 * grub-editenv, efibootmgr) writes a few KiB, so 5 minutes leaves two orders of magnitude for
 * slow flash erases; an exec flasher pushes a whole image over a slow bus (16 MiB at 115200
 * baud take 25 minutes), so 30 minutes. Anything slower configures its own. */
unsigned handler_timeout(const upt_dev_ecu *u)
{
	if (u->timeout_s)
		return u->timeout_s;
	return u->type == UPT_HANDLER_EXEC ? HANDLER_EXEC_TIMEOUT_S : HANDLER_AB_TIMEOUT_S;
}

int handler_run(const upt_dev_ecu *u, const upt_argv *tmpl, const upt_subst *subst, size_t n,
		upt_err *e)
{
	upt_argv argv;
	int rc = upt_argv_expand(tmpl, subst, n, &argv, e);
	if (rc)
		return rc;
	rc = spawn_run(&argv, handler_timeout(u), e);
	upt_argv_free(&argv);
	if (rc)
		upt_err_prefix(e, "%s", u->serial);
	return rc;
}

/* file: a hidden staging file beside the target, so that activation is a rename within one
 * filesystem. exec: the state directory's staging/. Names are fixed per ECU, so start-up
 * finds and removes what an interrupted attempt left. */
int staged_path(const struct ctx *c, const upt_dev_ecu *u, char *out, size_t n, upt_err *e)
{
	int len;
	if (u->type == UPT_HANDLER_FILE) {
		const char *slash = strrchr(u->path, '/');
		const char *base = slash ? slash + 1 : u->path;
		int dirlen = slash ? (int)(slash - u->path) : 0;
		if (!base[0])
			return upt_err_set(e, UPT_E_CONFIG, "%s: install path names a directory",
					   u->serial);
		len = slash ? snprintf(out, n, "%.*s/.%s.uptane-new", dirlen, u->path, base)
			    : snprintf(out, n, ".%s.uptane-new", base);
	} else {
		len = snprintf(out, n, "%s/staging/%s.image", c->cfg->state_dir, u->serial);
	}
	if (len < 0 || (size_t)len >= n)
		return upt_err_set(e, UPT_E_CONFIG, "%s: staging path too long", u->serial);
	return UPT_OK;
}

int stage_create(const char *path, mode_t mode, upt_err *e)
{
	/* A fresh file, never an existing one: O_NOFOLLOW alone would still open (and truncate)
	 * a hard link someone placed at the staging name. What was there is a leftover of an
	 * interrupted attempt (recovery has run before any staging starts). */
	if (unlink(path) != 0 && errno != ENOENT) {
		upt_err_set(e, UPT_E_INSTALL, "cannot remove the leftover %s: %s", path,
			    strerror(errno));
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		upt_err_set(e, UPT_E_INSTALL, "cannot create %s: %s", path, strerror(errno));
	return fd;
}

void path_parent(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(out, n, ".");
	else if (slash == path)
		snprintf(out, n, "/");
	else
		snprintf(out, n, "%.*s", (int)(slash - path), path);
}

static int sync_parent_dir(const struct stage *s, upt_err *e)
{
	char dir[UPT_PATH_MAX];
	path_parent(s->path, dir, sizeof(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, UPT_E_INSTALL, "%s: open %s: %s", s->ecu->serial, dir,
				   strerror(errno));
	int rc = UPT_OK;
	if (fsync(fd) != 0)
		rc = upt_err_set(e, UPT_E_INSTALL, "%s: fsync of %s: %s", s->ecu->serial, dir,
				 strerror(errno));
	close(fd);
	return rc;
}

int stage_sync_close(struct ctx *c, struct stage *s, upt_err *e)
{
	(void)c;
	int rc = UPT_OK;
	if (fsync(s->fd) != 0)
		rc = upt_err_set(e, UPT_E_INSTALL, "%s: fsync %s: %s", s->ecu->serial, s->path,
				 strerror(errno));
	if (close(s->fd) != 0 && rc == UPT_OK)
		rc = upt_err_set(e, UPT_E_INSTALL, "%s: close %s: %s", s->ecu->serial, s->path,
				 strerror(errno));
	s->fd = -1;
	/* A staging file made by open: the journal will name it, so its directory entry must be
	 * durable before the commit point too. POSIX promises that only after an fsync of the
	 * directory (ext4 commits it with the file's fsync, other filesystems need not). */
	if (rc == UPT_OK && s->created)
		rc = sync_parent_dir(s, e);
	return rc;
}

void stage_discard(struct ctx *c, struct stage *s)
{
	(void)c;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->created)
		unlink(s->path);
	s->created = false;
}
