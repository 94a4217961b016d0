/*
 * state_dir: the installer's state directory (docs/device-config.md).
 *
 *   state_dir/lock          flock: one installer at a time
 *   state_dir/trusted/      trusted metadata (upt_trust directory form), time_floor,
 *                           installed.json (installed images per ECU)
 *   state_dir/trusted.new/  the next trusted/ while a commit is in progress (journal.c)
 *   state_dir/trusted.ready the next trusted/, complete and synced, about to replace trusted/
 *   state_dir/trusted.old/  the previous trusted/ during the swap
 *   state_dir/journal       commit journal (journal.c)
 *   state_dir/reports/      counter, <counter>.json (never in trusted/)
 *   state_dir/staging/      staged images of exec ECUs
 *
 * Every file is replaced atomically (temp, fsync, rename, fsync directory); a whole new
 * trusted/ is switched in by two renames whose every intermediate state the next start
 * completes (state_finish_swap), so trusted/ is always either the old or the new state.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer.h"
#include "upt/report.h"
#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/meta.h"

#define TRUSTED "trusted"
#define TRUSTED_NEW "trusted.new"
#define TRUSTED_READY "trusted.ready"
#define TRUSTED_OLD "trusted.old"
#define TRUSTED_INIT "trusted.init"

static bool exists(int at, const char *name)
{
	struct stat st;
	return fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int fsync_fd_dir(int fd, const char *what, upt_err *e)
{
	if (fsync(fd) != 0)
		return upt_err_set(e, UPT_E_IO, "%s: fsync failed: %s", what, strerror(errno));
	return UPT_OK;
}

int rm_tree(int at, const char *name, upt_err *e)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? UPT_OK
				       : upt_err_set(e, UPT_E_IO, "%s: %s", name, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(at, name, 0) != 0 && errno != ENOENT)
			return upt_err_set(e, UPT_E_IO, "%s: cannot remove: %s", name,
					   strerror(errno));
		return UPT_OK;
	}
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: cannot open: %s", name, strerror(errno));
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return upt_err_set(e, UPT_E_IO, "%s: cannot read: %s", name, strerror(errno));
	}
	int rc = UPT_OK;
	struct dirent *de;
	while (rc == UPT_OK && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = rm_tree(dirfd(d), de->d_name, e);
	}
	closedir(d);
	if (rc == UPT_OK && unlinkat(at, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = upt_err_set(e, UPT_E_IO, "%s: cannot remove: %s", name, strerror(errno));
	return rc;
}

int fsync_tree(int at, const char *name, upt_err *e)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: cannot open: %s", name, strerror(errno));
	int rc = UPT_OK;
	int fd2 = dup(fd);
	DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (!d) {
		if (fd2 >= 0)
			close(fd2);
		rc = upt_err_set(e, UPT_E_IO, "%s: cannot read: %s", name, strerror(errno));
	}
	struct dirent *de;
	while (d && rc == UPT_OK && (de = readdir(d)) != NULL) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			rc = fsync_tree(fd, de->d_name, e);
	}
	if (d)
		closedir(d);
	if (rc == UPT_OK)
		rc = fsync_fd_dir(fd, name, e);
	close(fd);
	return rc;
}

int64_t state_initial_floor(const struct ctx *c, int64_t stored)
{
	int64_t f = stored;
	if (c->cfg->has_time_floor && c->cfg->time_floor > f)
		f = c->cfg->time_floor;
	if ((int64_t)UPT_BUILD_TIME > f)
		f = (int64_t)UPT_BUILD_TIME;
	return f;
}

/* Reads a provisioned root: a missing file is a configuration error (exit 2); one that is not
 * a root is no usable root (untrusted-root). */
static int read_root(const char *path, const char *repo, upt_buf *out, upt_err *e)
{
	int rc = upt_file_read(AT_FDCWD, path, UPT_META_FILE_MAX, out, e);
	if (rc) {
		upt_err_prefix(e, "provisioned %s root (trusted_roots in the configuration)", repo);
		if (e)
			e->code = UPT_E_CONFIG;
		return UPT_E_CONFIG;
	}
	upt_meta *m = NULL;
	rc = upt_meta_parse(out->data, out->len, UPT_ROLE_ROOT, &m, e);
	upt_meta_free(m);
	if (rc) {
		upt_err_prefix(e, "provisioned %s root %s is not a usable root", repo, path);
		if (e)
			e->code = UPT_E_UNTRUSTED_ROOT;
		return UPT_E_UNTRUSTED_ROOT;
	}
	return UPT_OK;
}

static int dir_open(int at, const char *name, upt_err *e, int *out)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, UPT_E_IO, "state directory %s: cannot open: %s", name,
				   strerror(errno));
	*out = fd;
	return UPT_OK;
}

static int write_installed(int dirfd, const upt_installed *inst, upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, UPT_STATE_FILE_MAX);
	int rc = upt_installed_serialize(inst, &b, e);
	if (rc == UPT_OK)
		rc = upt_file_write_atomic(dirfd, INSTALLED_FILE, b.data, b.len, 0644, e);
	upt_buf_clear(&b);
	return rc;
}

/* First use: trusted/ from the provisioned roots, built aside and renamed into place so that a
 * crash never leaves a half-initialised trusted/. */
static int init_trusted(struct ctx *c, upt_err *e)
{
	upt_buf dr, ir;
	upt_trust t;
	upt_installed inst;
	int fd = -1;
	upt_buf_init(&dr, UPT_META_FILE_MAX);
	upt_buf_init(&ir, UPT_META_FILE_MAX);
	upt_trust_init(&t);
	upt_installed_init(&inst);
	int rc = read_root(c->cfg->director_root, "director", &dr, e);
	if (rc == UPT_OK)
		rc = read_root(c->cfg->image_root, "image-repo", &ir, e);
	if (rc == UPT_OK)
		rc = upt_trust_set(&t, "director/root.json", dr.data, dr.len, e);
	if (rc == UPT_OK)
		rc = upt_trust_set(&t, "image-repo/root.json", ir.data, ir.len, e);
	if (rc == UPT_OK)
		rc = rm_tree(c->statefd, TRUSTED_INIT, e);
	if (rc == UPT_OK && mkdirat(c->statefd, TRUSTED_INIT, 0755) != 0)
		rc =
		    upt_err_set(e, UPT_E_IO, "cannot create %s: %s", TRUSTED_INIT, strerror(errno));
	if (rc == UPT_OK)
		rc = dir_open(c->statefd, TRUSTED_INIT, e, &fd);
	t.time_floor = state_initial_floor(c, 0);
	if (rc == UPT_OK) /* a new directory, published below by one rename */
		rc = upt_trust_save_new_dir(fd, &t, e);
	if (rc == UPT_OK)
		rc = write_installed(fd, &inst, e);
	if (rc == UPT_OK)
		rc = fsync_tree(c->statefd, TRUSTED_INIT, e);
	if (rc == UPT_OK && renameat(c->statefd, TRUSTED_INIT, c->statefd, TRUSTED) != 0)
		rc =
		    upt_err_set(e, UPT_E_IO, "cannot rename %s: %s", TRUSTED_INIT, strerror(errno));
	if (rc == UPT_OK)
		rc = fsync_fd_dir(c->statefd, "state directory", e);
	if (fd >= 0)
		close(fd);
	upt_buf_clear(&dr);
	upt_buf_clear(&ir);
	upt_trust_clear(&t);
	upt_installed_clear(&inst);
	return rc;
}

int state_finish_swap(struct ctx *c, upt_err *e)
{
	int rc = UPT_OK;
	int sfd = c->statefd;
	if (exists(sfd, TRUSTED_READY)) {
		if (exists(sfd, TRUSTED)) {
			/* trusted.old left from an earlier, completed swap */
			rc = rm_tree(sfd, TRUSTED_OLD, e);
			if (rc == UPT_OK && renameat(sfd, TRUSTED, sfd, TRUSTED_OLD) != 0)
				rc = upt_err_set(e, UPT_E_IO, "cannot rename trusted/: %s",
						 strerror(errno));
			if (rc == UPT_OK)
				rc = fsync_fd_dir(sfd, "state directory", e);
		}
		if (rc == UPT_OK && renameat(sfd, TRUSTED_READY, sfd, TRUSTED) != 0)
			rc = upt_err_set(e, UPT_E_IO, "cannot rename trusted.ready: %s",
					 strerror(errno));
		if (rc == UPT_OK)
			rc = fsync_fd_dir(sfd, "state directory", e);
	}
	if (rc == UPT_OK && exists(sfd, TRUSTED_OLD)) {
		rc = rm_tree(sfd, TRUSTED_OLD, e);
		if (rc == UPT_OK)
			rc = fsync_fd_dir(sfd, "state directory", e);
	}
	return rc;
}

bool state_has_new(struct ctx *c)
{
	return exists(c->statefd, TRUSTED_NEW);
}

int state_lock(struct ctx *c, upt_err *e)
{
	c->statefd = c->lockfd = -1;
	int rc = upt_mkdir_p(AT_FDCWD, c->cfg->state_dir, 0700, e);
	if (rc)
		return upt_err_prefix(e, "state directory");
	rc = dir_open(AT_FDCWD, c->cfg->state_dir, e, &c->statefd);
	if (rc)
		return rc;
	c->lockfd = openat(c->statefd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (c->lockfd < 0)
		return upt_err_set(e, UPT_E_IO, "%s/lock: cannot open: %s", c->cfg->state_dir,
				   strerror(errno));
	if (flock(c->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			return upt_err_set(
			    e, UPT_E_BUSY,
			    "another uptane-install is running (state directory %s is locked)",
			    c->cfg->state_dir);
		return upt_err_set(e, UPT_E_IO, "cannot lock %s: %s", c->cfg->state_dir,
				   strerror(errno));
	}
	rc = upt_mkdir_p(c->statefd, "reports", 0700, e);
	if (rc == UPT_OK)
		rc = upt_mkdir_p(c->statefd, "staging", 0700, e);
	return rc;
}

int state_tidy(struct ctx *c, upt_err *e)
{
	int rc = state_finish_swap(c, e);
	if (rc)
		return rc;
	/* No journal: whatever staging exists belongs to an attempt that never committed. */
	rc = rm_tree(c->statefd, TRUSTED_NEW, e);
	if (rc == UPT_OK)
		rc = rm_tree(c->statefd, TRUSTED_INIT, e);
	if (rc)
		return rc;
	for (size_t i = 0; i < c->cfg->necus; i++)
		handler_for(c->cfg->ecus[i].type)->cleanup(c, &c->cfg->ecus[i]);

	if (!exists(c->statefd, TRUSTED))
		return init_trusted(c, e);
	if (!exists(c->statefd, TRUSTED "/director/root.json") ||
	    !exists(c->statefd, TRUSTED "/image-repo/root.json"))
		return upt_err_set(
		    e, UPT_E_INTERNAL,
		    "trusted state in %s/trusted is damaged (a root is missing); the device "
		    "needs re-provisioning",
		    c->cfg->state_dir);
	return UPT_OK;
}

void state_close(struct ctx *c)
{
	if (c->lockfd >= 0)
		close(c->lockfd); /* releases the flock */
	if (c->statefd >= 0)
		close(c->statefd);
	c->lockfd = c->statefd = -1;
}

int state_load(struct ctx *c, upt_trust *t, upt_installed *inst, upt_err *e)
{
	int fd = -1;
	upt_buf b;
	upt_buf_init(&b, UPT_STATE_FILE_MAX);
	int rc = dir_open(c->statefd, TRUSTED, e, &fd);
	if (rc == UPT_OK)
		rc = upt_trust_load_dir(fd, t, e);
	if (rc == UPT_OK) {
		rc = upt_file_read(fd, INSTALLED_FILE, UPT_STATE_FILE_MAX, &b, e);
		if (rc == UPT_E_NOT_FOUND) {
			upt_err_clear(e);
			upt_installed_clear(inst);
			rc = UPT_OK;
		} else if (rc == UPT_OK) {
			rc = upt_installed_parse(b.data, b.len, inst, e);
		}
	}
	if (rc)
		upt_err_prefix(e, "trusted state");
	if (fd >= 0)
		close(fd);
	upt_buf_clear(&b);
	return rc;
}

/* Trust kept after a rejection or an up-to-date bundle: one switch, as an install makes it.
 * A rotated root and the timestamp/snapshot it makes us forget must change together; written
 * file by file, a power cut in between would leave the new root with metadata it revoked. So
 * the whole new trusted/ is written as trusted.new/ (with the installed records as they are)
 * and switched in by the same renames as a commit; a crash before the switch leaves the old
 * state (journal_open_state removes a trusted.new/ without a journal), after it the new one. */
int state_save_trust(struct ctx *c, const upt_trust *t, const upt_installed *inst, upt_err *e)
{
	int rc = state_prepare_new(c, t, e);
	if (rc == UPT_OK)
		rc = state_publish_new(c, inst, e);
	return rc;
}

int state_save_installed(struct ctx *c, const upt_installed *inst, upt_err *e)
{
	int fd = -1;
	int rc = dir_open(c->statefd, TRUSTED, e, &fd);
	if (rc == UPT_OK)
		rc = write_installed(fd, inst, e);
	if (fd >= 0)
		close(fd);
	return rc;
}

int state_prepare_new(struct ctx *c, const upt_trust *t, upt_err *e)
{
	int fd = -1;
	int rc = rm_tree(c->statefd, TRUSTED_NEW, e);
	if (rc == UPT_OK && mkdirat(c->statefd, TRUSTED_NEW, 0755) != 0)
		rc = upt_err_set(e, UPT_E_IO, "cannot create %s: %s", TRUSTED_NEW, strerror(errno));
	if (rc == UPT_OK)
		rc = dir_open(c->statefd, TRUSTED_NEW, e, &fd);
	if (rc == UPT_OK) /* a new directory: the journal publishes it whole (journal.c) */
		rc = upt_trust_save_new_dir(fd, t, e);
	if (rc == UPT_OK)
		rc = fsync_tree(c->statefd, TRUSTED_NEW, e);
	if (rc == UPT_OK)
		rc = fsync_fd_dir(c->statefd, "state directory", e);
	if (fd >= 0)
		close(fd);
	return rc;
}

int state_publish_new(struct ctx *c, const upt_installed *inst, upt_err *e)
{
	int fd = -1;
	int rc = dir_open(c->statefd, TRUSTED_NEW, e, &fd);
	/* (the rest of trusted.new/ was synced by state_prepare_new; this write syncs itself) */
	if (rc == UPT_OK)
		rc = write_installed(fd, inst, e);
	if (fd >= 0)
		close(fd);
	if (rc == UPT_OK && renameat(c->statefd, TRUSTED_NEW, c->statefd, TRUSTED_READY) != 0)
		rc = upt_err_set(e, UPT_E_IO, "cannot rename %s: %s", TRUSTED_NEW, strerror(errno));
	if (rc == UPT_OK)
		rc = fsync_fd_dir(c->statefd, "state directory", e);
	if (rc == UPT_OK)
		rc = state_finish_swap(c, e);
	return rc;
}

/* ---- reports ---- */

static uint64_t max_report_file(int at)
{
	uint64_t max = 0;
	int fd = openat(at, "reports", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(de->d_name, &end, 10);
		if (errno == 0 && end != de->d_name && !strcmp(end, ".json") && n > max)
			max = n;
	}
	closedir(d);
	return max;
}

/* A number kept in a small state file (reports/counter, reports/delivered): 0 when absent or
 * unreadable. */
static uint64_t read_number(struct ctx *c, const char *name)
{
	upt_buf b;
	upt_buf_init(&b, 64);
	uint64_t n = 0;
	if (upt_file_read(c->statefd, name, 64, &b, NULL) == UPT_OK) {
		char *end;
		unsigned long long v = strtoull((const char *)b.data, &end, 10);
		if (end != (const char *)b.data)
			n = v;
	}
	upt_buf_clear(&b);
	return n;
}

static int write_number(struct ctx *c, const char *name, uint64_t n, upt_err *e)
{
	char s[32];
	int len = snprintf(s, sizeof(s), "%llu\n", (unsigned long long)n);
	return upt_file_write_atomic(c->statefd, name, s, (size_t)len, 0600, e);
}

uint64_t state_last_counter(struct ctx *c)
{
	uint64_t n = read_number(c, "reports/counter");
	uint64_t f = max_report_file(c->statefd);
	return f > n ? f : n;
}

int state_next_counter(struct ctx *c, uint64_t *out, upt_err *e)
{
	uint64_t n = state_last_counter(c);
	if (n >= (uint64_t)INT64_MAX)
		return upt_err_set(e, UPT_E_INTERNAL, "report counter exhausted");
	n++;
	int rc = write_number(c, "reports/counter", n, e);
	if (rc == UPT_OK)
		*out = n;
	return rc;
}

/* reports/delivered: the highest counter N such that every report up to N has been written to
 * some stick (docs/reports.md). Absent or unreadable: 0 (at worst the station receives
 * duplicates, which it ignores). */
uint64_t state_delivered(struct ctx *c)
{
	return read_number(c, "reports/delivered");
}

int state_set_delivered(struct ctx *c, uint64_t n, upt_err *e)
{
	return write_number(c, "reports/delivered", n, e);
}

int state_read_report(struct ctx *c, uint64_t counter, upt_buf *out, upt_err *e)
{
	char name[64];
	snprintf(name, sizeof(name), "reports/%llu.json", (unsigned long long)counter);
	return upt_file_read(c->statefd, name, UPT_REPORT_MAX, out, e);
}

int state_keep_report(struct ctx *c, uint64_t counter, const void *data, size_t len, upt_err *e)
{
	char name[64];
	snprintf(name, sizeof(name), "reports/%llu.json", (unsigned long long)counter);
	int rc = upt_file_write_atomic(c->statefd, name, data, len, 0644, e);
	/* A device in a cabinet for years: keep the newest reports only. */
	if (rc == UPT_OK && counter > REPORTS_KEEP) {
		snprintf(name, sizeof(name), "reports/%llu.json",
			 (unsigned long long)(counter - REPORTS_KEEP));
		unlinkat(c->statefd, name, 0);
	}
	return rc;
}
