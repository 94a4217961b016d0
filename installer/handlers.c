/* handlers: the table of install handlers (DESIGN.md section 6) and where staged images live. */
#include <stdio.h>
#include <string.h>

#include "installer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

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
