/*
 * handler_ab: two slots (block devices or files). The image goes to the inactive slot; at
 * commit the configured `activate` program switches the bootloader to it ({slot} = 0/1,
 * {device} = the slot's path). The ECU's record stays pending until `uptane-install confirm`
 * after a successful boot; `confirm --failed` (the bootloader fell back) drops it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer.h"

int ab_run(const upt_dev_ecu *u, const upt_argv *tmpl, int slot, upt_err *e)
{
	char idx[4];
	snprintf(idx, sizeof(idx), "%d", slot);
	upt_subst subst[] = {{"{slot}", idx}, {"{device}", u->slots[slot]}};
	return handler_run(u, tmpl, subst, 2, e);
}

/* Are two open/stat'ed slots the same storage? Two names for one partition (a by-partlabel
 * link and /dev/mmcblk0p2, or two device nodes) would make the "inactive" slot the running
 * one. */
static bool same_storage(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int ab_open(struct ctx *c, struct stage *s, const upt_installed_ecu *installed, upt_err *e)
{
	(void)c;
	const upt_dev_ecu *u = s->ecu;
	int active = installed ? installed->active_slot : 0;
	s->slot = 1 - active;
	snprintf(s->path, sizeof(s->path), "%s", u->slots[s->slot]);
	/* The programs must be runnable before the slot is touched: found at commit time, the
	 * image would be written and not activated (and confirm could never finish it). */
	int rc = spawn_check(u->activate.argv[0], true, UPT_E_INSTALL, e);
	if (rc == UPT_OK && u->confirm.argc)
		rc = spawn_check(u->confirm.argv[0], true, UPT_E_INSTALL, e);
	if (rc)
		return upt_err_prefix(e, "%s", u->serial);
	/* Slots are named by the configuration (often /dev/disk/by-partlabel links): followed.
	 * Never created: a slot that does not exist is a device that is missing (a node not
	 * there, a partition not found); creating a file in its place (in /dev: RAM) and then
	 * switching the bootloader to that slot would boot whatever the real slot holds. */
	struct stat st, other;
	if (stat(s->path, &st) != 0)
		return upt_err_set(e, UPT_E_INSTALL, "%s: slot %d (%s): %s", u->serial, s->slot,
				   s->path, strerror(errno));
	/* Checked before open too: opening a FIFO for writing would wait for a reader forever. */
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return upt_err_set(e, UPT_E_INSTALL,
				   "%s: slot %s is neither a block device nor a file", u->serial,
				   s->path);
	s->fd = open(s->path, O_WRONLY | O_CLOEXEC);
	if (s->fd < 0)
		return upt_err_set(e, UPT_E_INSTALL, "%s: cannot open slot %d (%s): %s", u->serial,
				   s->slot, s->path, strerror(errno));
	if (fstat(s->fd, &st) != 0)
		return upt_err_set(e, UPT_E_INSTALL, "%s: %s: %s", u->serial, s->path,
				   strerror(errno));
	if (stat(u->slots[active], &other) == 0 && same_storage(&st, &other))
		return upt_err_set(e, UPT_E_INSTALL,
				   "%s: slots %s and %s are the same storage; writing the inactive "
				   "slot would overwrite the running one",
				   u->serial, u->slots[0], u->slots[1]);
	if (S_ISBLK(st.st_mode)) {
		uint64_t size = 0;
		if (ioctl(s->fd, BLKGETSIZE64, &size) != 0)
			return upt_err_set(e, UPT_E_INSTALL, "%s: size of %s: %s", u->serial,
					   s->path, strerror(errno));
		if (size < s->length)
			return upt_err_set(
			    e, UPT_E_INSTALL,
			    "%s: the image (%llu bytes) does not fit slot %s (%llu bytes)",
			    u->serial, (unsigned long long)s->length, s->path,
			    (unsigned long long)size);
	} else if (!S_ISREG(st.st_mode)) {
		return upt_err_set(e, UPT_E_INSTALL,
				   "%s: slot %s is neither a block device nor a file", u->serial,
				   s->path);
	}
	return UPT_OK;
}

static int ab_finish(struct ctx *c, struct stage *s, upt_err *e)
{
	(void)c;
	int rc = UPT_OK;
	struct stat st;
	/* A file slot holds exactly the image; a partition keeps its size. */
	if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    ftruncate(s->fd, (off_t)s->length) != 0)
		rc = upt_err_set(e, UPT_E_INSTALL, "%s: truncate %s: %s", s->ecu->serial, s->path,
				 strerror(errno));
	if (rc != UPT_OK) {
		close(s->fd);
		s->fd = -1;
		return rc;
	}
	return stage_sync_close(c, s, e);
}

static void ab_abort(struct ctx *c, struct stage *s)
{
	(void)c;
	/* The inactive slot is not running software: nothing to restore. */
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int ab_activate(struct ctx *c, const upt_dev_ecu *u, upt_journal_ecu *j, struct events *ev,
		       upt_err *e)
{
	(void)c;
	(void)ev;
	return ab_run(u, &u->activate, j->slot, e);
}

static void ab_cleanup(struct ctx *c, const upt_dev_ecu *u)
{
	(void)c;
	(void)u;
}

const struct handler handler_ab = {
    .type = UPT_HANDLER_AB,
    .open = ab_open,
    .finish = ab_finish,
    .abort = ab_abort,
    .activate = ab_activate,
    .cleanup = ab_cleanup,
};
