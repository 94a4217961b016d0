/* config: reads device.json and resolves its relative paths against the file's directory. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "installer.h"
#include "upt/fileio.h"
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
 * - Programs (activate, confirm, command) run as root: one that exists must be a regular,
 *   executable file not writable by every user. A missing one is refused when an install
 *   would run it (handler open), so status and confirm of other ECUs keep working. */
static int config_check_paths(const upt_devconfig *cfg, upt_err *e)
{
	for (size_t i = 0; i < cfg->necus; i++) {
		const upt_dev_ecu *u = &cfg->ecus[i];
		int rc = UPT_OK;
		struct stat st;
		switch (u->type) {
		case UPT_HANDLER_FILE:
			if (lstat(u->path, &st) != 0)
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
