/*
 * find: the bundles on a mounted medium (DESIGN.md section 8): `*.uptane` and `*.uptane.000`
 * at the top level and in `uptane/`; hidden files (and macOS "._*" companions) ignored; links
 * never followed. With several, each is verified dry (metadata only) and the valid one with
 * the highest Director targets / offline-updates version is installed; the report says why
 * the others were not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer.h"
#include "upt/limits.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && !strcmp(s + n - m, suffix);
}

static int scan(const char *dir, const char *sub, char (*out)[UPT_PATH_MAX], size_t max, size_t *n,
		upt_err *e)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: %s", dir, strerror(errno));
	int fd = sub ? openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : dup(dfd);
	close(dfd);
	if (fd < 0)
		return sub && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			       ? UPT_OK
			       : upt_err_set(e, UPT_E_IO, "%s/%s: %s", dir, sub ? sub : "", strerror(errno));
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return upt_err_set(e, UPT_E_IO, "%s: %s", dir, strerror(errno));
	}
	struct dirent *de;
	int rc = UPT_OK;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		struct stat st;
		if (name[0] == '.' || !(ends_with(name, ".uptane") || ends_with(name, ".uptane.000")))
			continue;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (*n >= max)
			break;
		int len = snprintf(out[*n], UPT_PATH_MAX, "%s/%s%s%s", dir, sub ? sub : "", sub ? "/" : "",
				   name);
		if (len > 0 && len < UPT_PATH_MAX)
			(*n)++;
	}
	if (errno != 0)
		rc = upt_err_set(e, UPT_E_IO, "%s: %s", dir, strerror(errno));
	closedir(d);
	return rc;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int find_bundles(const char *dir, char (*out)[UPT_PATH_MAX], size_t max, size_t *n, upt_err *e)
{
	*n = 0;
	int rc = scan(dir, NULL, out, max, n, e);
	if (rc == UPT_OK)
		rc = scan(dir, "uptane", out, max, n, e);
	if (rc == UPT_OK)
		qsort(out, *n, sizeof(out[0]), cmp);
	return rc;
}

int install_from_dir(struct ctx *c, const char *dir, const struct medium *m)
{
	size_t max = UPT_BUNDLES_PER_MEDIUM_MAX, n = 0;
	char(*paths)[UPT_PATH_MAX] = calloc(max, sizeof(*paths));
	struct candidate *cands = NULL;
	struct report_skip_list *skipped = calloc(1, sizeof(*skipped));
	upt_err e;
	upt_err_clear(&e);
	int status;
	int rc = paths && skipped ? find_bundles(dir, paths, max, &n, &e)
				  : upt_err_set(&e, UPT_E_NOMEM, "out of memory");
	if (rc || n == 0) {
		struct attempt a;
		memset(&a, 0, sizeof(a));
		a.attacks = "";
		a.effective = c->clock;
		if (rc) {
			a.status = "failed";
			a.reason = rc == UPT_E_IO ? "io" : "internal";
			a.exit_status = upt_err_exit_status(rc);
			snprintf(a.message, sizeof(a.message),
				 "The stick could not be read; re-insert it and try again.");
			snprintf(a.detail, sizeof(a.detail), "%s", e.msg);
		} else {
			a.status = "no-bundle";
			a.exit_status = 3;
			snprintf(a.message, sizeof(a.message),
				 "No update (*.uptane) was found on %s; nothing to do.", dir);
		}
		if (!c->dry_run)
			report_write(c, &a, dir, m);
		ev_result(&c->ev, a.status, a.reason, NULL, a.message, a.detail);
		status = a.exit_status;
		goto out;
	}
	if (n == 1) {
		status = install_bundle(c, paths[0], dir, m, NULL);
		goto out;
	}
	cands = calloc(n, sizeof(*cands));
	if (!cands) {
		status = 1;
		goto out;
	}
	/* Several bundles: verify each (dry, metadata only), then install the best one. The
	 * chosen one is verified again in full while it installs. */
	size_t best = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(cands[i].path, sizeof(cands[i].path), "%s", paths[i]);
		install_probe(c, &cands[i]);
		if (cands[i].code == UPT_OK && (best == n || cands[i].version > cands[best].version))
			best = i;
	}
	/* None new: an up-to-date one says so; else the first rejection explains itself. */
	for (size_t i = 0; best == n && i < n; i++)
		if (cands[i].code == UPT_E_UP_TO_DATE)
			best = i;
	for (size_t i = 0; best == n && i < n; i++)
		if (upt_err_is_rejection(cands[i].code))
			best = i;
	if (best == n)
		best = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == best)
			continue;
		size_t k = skipped->n++;
		const char *base = strrchr(cands[i].path, '/');
		snprintf(skipped->items[k].file, sizeof(skipped->items[k].file), "%s",
			 base ? base + 1 : cands[i].path);
		int code = cands[i].code;
		skipped->items[k].status = code == UPT_OK			? "older"
					   : upt_err_is_rejection(code)		? "rejected"
					   : code == UPT_E_NOT_FOR_DEVICE	? "not-for-this-device"
					   : code == UPT_E_UP_TO_DATE		? "up-to-date"
										: "failed";
		skipped->items[k].reason = upt_err_is_rejection(code) ? upt_err_class(code) : NULL;
		if (code == UPT_OK)
			snprintf(skipped->items[k].message, sizeof(skipped->items[k].message),
				 "valid, but its version %llu is not the highest (%llu)",
				 (unsigned long long)cands[i].version,
				 (unsigned long long)cands[best].version);
		else
			snprintf(skipped->items[k].message, sizeof(skipped->items[k].message), "%s",
				 cands[i].message);
		ev_skipped(&c->ev, cands[i].path, skipped->items[k].status, skipped->items[k].reason,
			   skipped->items[k].message);
	}
	status = install_bundle(c, cands[best].path, dir, m, skipped);
out:
	free(paths);
	free(cands);
	free(skipped);
	return status;
}
