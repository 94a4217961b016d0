/*
 * handler_exec: hands the verified image to a configured program ({image} = the staged file in
 * state_dir/staging/) at commit time, after every image of the bundle verified. Its exit
 * status decides success. journal.c records that it started before it runs, so recovery
 * never runs it a second time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer.h"

static int exec_open(struct ctx *c, struct stage *s, const upt_installed_ecu *installed, upt_err *e)
{
	(void)installed;
	int rc = staged_path(c, s->ecu, s->path, sizeof(s->path), e);
	if (rc)
		return rc;
	/* Before anything is staged or activated: a program that cannot run would otherwise be
	 * found at commit time, after other ECUs were activated (exit 6 instead of 5). */
	rc = spawn_check(s->ecu->command.argv[0], true, UPT_E_INSTALL, e);
	if (rc == UPT_OK)
		s->fd = stage_create(s->path, 0600, e);
	if (rc || s->fd < 0)
		return upt_err_prefix(e, "%s", s->ecu->serial);
	s->created = true;
	return UPT_OK;
}

static int exec_activate(struct ctx *c, const upt_dev_ecu *u, upt_journal_ecu *j, struct events *ev,
			 upt_err *e)
{
	(void)ev;
	(void)j;
	char staged[UPT_PATH_MAX];
	int rc = staged_path(c, u, staged, sizeof(staged), e);
	if (rc)
		return rc;
	struct stat st;
	if (lstat(staged, &st) != 0 || !S_ISREG(st.st_mode))
		return upt_err_set(e, UPT_E_INSTALL, "%s: staged image %s is missing", u->serial,
				   staged);
	upt_subst subst[] = {{"{image}", staged}};
	return handler_run(u, &u->command, subst, 1, e);
}

static void exec_cleanup(struct ctx *c, const upt_dev_ecu *u)
{
	char staged[UPT_PATH_MAX];
	if (staged_path(c, u, staged, sizeof(staged), NULL) == UPT_OK)
		unlink(staged);
}

const struct handler handler_exec = {
    .type = UPT_HANDLER_EXEC,
    .open = exec_open,
    .finish = stage_sync_close,
    .abort = stage_discard,
    .activate = exec_activate,
    .cleanup = exec_cleanup,
};
