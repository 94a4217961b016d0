/* config: reads device.json and resolves its relative paths against the file's directory. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer.h"
#include "upt/fileio.h"
#include "upt/imgcrypt.h"
#include "upt/limits.h"
#include "upt/sig.h"

/* What the parser cannot see (it reads no files): the paths as they are on this device.
 * Checked before any command does anything, so a wrong set-up is a configuration error (exit
 * 2) before a bundle is looked at, never a surprise in the middle of a commit.
 * - A file ECU's install.path must not be a symbolic link: the staging file renamed over it
 *   would replace the link by a regular file, silently changing the layout the link made
 *   (and the mode would be read through it). Only the last component is checked: links among
 *   the directories above it are the integrator's layout and are fine (the rename happens in
 *   the directory they lead to). An existing target must be a regular file (a rename over a
 *   device node or a directory is never what was meant). A missing one is created.
 * - Nobody but root may write the directories a file target's staging file lives in, or the
 *   A/B slots: the verified image is staged there and activated later (a rename, a bootloader
 *   switch); a user who can write the directory can swap the staged file for other bytes in
 *   between, and a user who can write a slot can change the image after verification. So the
 *   target's directory and every directory above it (resolved, so links are judged by what
 *   they lead to) must be owned by root (or by the user the installer runs as) and not
 *   writable by group or others, unless sticky (as /tmp: others cannot rename or remove our
 *   entries there). A slot must not be writable by others, nor by a group other than root or
 *   disk (Debian's block devices are root:disk 0660).
 * - Programs (activate, confirm, command) run as root: one that exists must be a regular,
 *   executable file not writable by every user. A missing one is refused when an install
 *   would run it (handler open), so status and confirm of other ECUs keep working. */
static bool owner_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static int check_target_dirs(const char *target, upt_err *e)
{
	char *copy = strdup(target);
	if (!copy)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	char dir[PATH_MAX];
	bool resolved = realpath(dirname(copy), dir) != NULL;
	free(copy);
	if (!resolved)
		return UPT_OK; /* no such directory: the install fails there, saying so */
	for (;;) {
		struct stat st;
		if (lstat(dir, &st) != 0)
			return upt_err_set(e, UPT_E_CONFIG, "%s: cannot check directory %s: %s",
					   target, dir, strerror(errno));
		bool writable = (st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX);
		if (!owner_trusted(st.st_uid) || writable)
			return upt_err_set(
			    e, UPT_E_CONFIG,
			    "install.path %s: directory %s is %s (owner uid %u, mode %04o), so "
			    "another user could swap the verified image before it is activated; "
			    "make it root's and not writable by others (chown root %s; chmod go-w "
			    "%s)",
			    target, dir,
			    writable ? "writable by group or others" : "not owned by root",
			    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), dir, dir);
		if (!strcmp(dir, "/"))
			return UPT_OK;
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

static int check_slot(const char *slot, upt_err *e)
{
	struct stat st;
	if (stat(slot, &st) != 0)
		return UPT_OK; /* missing: the install fails there, saying so */
	struct group *disk = getgrnam("disk");
	bool group_ok = st.st_gid == 0 || (disk && st.st_gid == disk->gr_gid);
	bool writable = (st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && !group_ok);
	if (!owner_trusted(st.st_uid) || writable)
		return upt_err_set(
		    e, UPT_E_CONFIG,
		    "install.slots: %s is %s (owner uid %u, group %u, mode %04o), so "
		    "another user could change the image after it was verified; make "
		    "it root's, group root or disk, not writable by others",
		    slot, writable ? "writable by other users" : "not owned by root",
		    (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
	return UPT_OK;
}

static int config_check_paths(const upt_devconfig *cfg, upt_err *e)
{
	for (size_t i = 0; i < cfg->necus; i++) {
		const upt_dev_ecu *u = &cfg->ecus[i];
		int rc = UPT_OK;
		struct stat st;
		switch (u->type) {
		case UPT_HANDLER_FILE:
			rc = check_target_dirs(u->path, e);
			if (rc || lstat(u->path, &st) != 0)
				break;
			if (S_ISLNK(st.st_mode))
				rc = upt_err_set(
				    e, UPT_E_CONFIG,
				    "install.path %s is a symbolic link; point it at the real file",
				    u->path);
			else if (!S_ISREG(st.st_mode))
				rc = upt_err_set(e, UPT_E_CONFIG,
						 "install.path %s exists and is not a regular file",
						 u->path);
			break;
		case UPT_HANDLER_AB:
			for (int k = 0; rc == UPT_OK && k < 2; k++)
				rc = check_slot(u->slots[k], e);
			if (rc == UPT_OK)
				rc = spawn_check(u->activate.argv[0], false, UPT_E_CONFIG, e);
			if (rc == UPT_OK && u->confirm.argc)
				rc = spawn_check(u->confirm.argv[0], false, UPT_E_CONFIG, e);
			break;
		case UPT_HANDLER_EXEC:
			rc = spawn_check(u->command.argv[0], false, UPT_E_CONFIG, e);
			break;
		}
		if (rc)
			return upt_err_prefix(e, "ecus[%zu] (%s)", i, u->serial);
	}
	return UPT_OK;
}

/* The report key is loaded now, with the rest of the configuration: a device that cannot sign
 * its reports would otherwise install, print a warning nobody reads on an unattended device,
 * and never tell the manufacturer what it runs. A key that is missing, unreadable or not an
 * ed25519 private key is a configuration error (exit 2) before anything is read from a stick. */
static int config_check_report_key(const upt_devconfig *cfg, upt_err *e)
{
	upt_signer *key = NULL;
	int rc = upt_signer_load(cfg->report_key, &key, e);
	upt_signer_free(key);
	if (rc == UPT_OK)
		return UPT_OK;
	if (e)
		e->code = UPT_E_CONFIG;
	upt_err_prefix(e, "report_key %s (every report is signed with it)", cfg->report_key);
	return UPT_E_CONFIG;
}

/* The decrypt key, when configured, is loaded now for the same reason: a device whose key file
 * is missing, readable by others or not an X25519 private key would otherwise learn it only
 * when an encrypted stick arrives. */
static int config_check_decrypt_key(const upt_devconfig *cfg, upt_err *e)
{
	if (!cfg->decrypt_key)
		return UPT_OK;
	upt_decrypt_key *key = NULL;
	int rc = upt_decrypt_key_load(cfg->decrypt_key, &key, e);
	upt_decrypt_key_free(key);
	if (rc == UPT_OK)
		return UPT_OK;
	if (e)
		e->code = UPT_E_CONFIG;
	upt_err_prefix(e, "decrypt_key %s (encrypted images are opened with it)", cfg->decrypt_key);
	return UPT_E_CONFIG;
}

int config_load(const char *path, upt_devconfig **out, upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, UPT_CONFIG_MAX);
	char *copy = strdup(path);
	char base[PATH_MAX];
	int rc = UPT_OK;
	if (!copy)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	/* Absolute base: the journal and reports name these paths, and a later run may start in
	 * another working directory. */
	if (!realpath(dirname(copy), base)) {
		rc = upt_err_set(e, UPT_E_CONFIG, "%s: cannot resolve its directory: %s", path,
				 strerror(errno));
		goto out;
	}
	rc = upt_file_read(AT_FDCWD, path, UPT_CONFIG_MAX, &b, e);
	if (rc) {
		upt_err_prefix(e, "cannot read the device configuration");
		rc = UPT_E_CONFIG;
		if (e)
			e->code = UPT_E_CONFIG;
		goto out;
	}
	rc = upt_devconfig_parse(b.data, b.len, base, out, e);
	if (rc == UPT_OK) {
		rc = config_check_paths(*out, e);
		if (rc == UPT_OK)
			rc = config_check_report_key(*out, e);
		if (rc == UPT_OK)
			rc = config_check_decrypt_key(*out, e);
		if (rc) {
			upt_devconfig_free(*out);
			*out = NULL;
		}
	}
	if (rc)
		upt_err_prefix(e, "%s", path);
out:
	free(copy);
	upt_buf_clear(&b);
	return rc;
}
