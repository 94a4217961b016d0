/*
 * find: the bundles on a mounted medium (docs/integration.md): `*.uptane` and `*.uptane.000`
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
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer.h"
#include "upt/limits.h"

/* Case-insensitive: FAT tools and DOS-era habits write VIN1001.UPTANE, and on vfat the name
 * shows in upper case; it is the same bundle. */
static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && !strcasecmp(s + n - m, suffix);
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
			   : upt_err_set(e, UPT_E_IO, "%s/%s: %s", dir, sub ? sub : "",
					 strerror(errno));
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
		if (name[0] == '.' ||
		    !(ends_with(name, ".uptane") || ends_with(name, ".uptane.000")))
			continue;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (*n >= max)
			break;
		int len = snprintf(out[*n], UPT_PATH_MAX, "%s/%s%s%s", dir, sub ? sub : "",
				   sub ? "/" : "", name);
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

static const char *skip_status(int code)
{
	return code == UPT_OK		      ? "older"
	       : upt_err_is_rejection(code)   ? "rejected"
	       : code == UPT_E_NOT_FOR_DEVICE ? "not-for-this-device"
	       : code == UPT_E_UP_TO_DATE     ? "up-to-date"
					      : "failed";
}

/* Candidates that passed the metadata probe, highest Director version first (name order
 * among equals: find_bundles sorted them). */
static size_t rank(const struct candidate *cands, size_t n, size_t *order)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (cands[i].code != UPT_OK)
			continue;
		size_t j = k++;
		while (j > 0 && cands[order[j - 1]].version < cands[i].version) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	return k;
}

int install_from_dir(struct ctx *c, const char *dir, const struct medium *m)
{
	size_t max = UPT_BUNDLES_PER_MEDIUM_MAX, n = 0;
	char(*paths)[UPT_PATH_MAX] = calloc(max, sizeof(*paths));
	struct candidate *cands = calloc(max, sizeof(*cands));
	size_t *order = calloc(max, sizeof(*order));
	struct report_skip_list *skipped = calloc(1, sizeof(*skipped));
	struct attempt *a = calloc(1, sizeof(*a));
	struct attempt *prev = calloc(1, sizeof(*prev));
	upt_err e;
	upt_err_clear(&e);
	int status = 1;
	if (!paths || !cands || !order || !skipped || !a || !prev)
		goto out;
	int rc = find_bundles(dir, paths, max, &n, &e);
	if (rc || n == 0) {
		a->attacks = "";
		a->effective = c->clock;
		if (rc) {
			a->status = "failed";
			a->reason = rc == UPT_E_IO ? "io" : "internal";
			a->exit_status = upt_err_exit_status(rc);
			snprintf(a->message, sizeof(a->message),
				 "The stick could not be read; re-insert it and try again.");
			snprintf(a->detail, sizeof(a->detail), "%s", e.msg);
		} else {
			a->status = "no-bundle";
			a->exit_status = 3;
			snprintf(a->message, sizeof(a->message),
				 "No update (*.uptane) was found on %s; nothing to do.", dir);
		}
		status = install_finish(c, a, dir, m);
		goto out;
	}
	if (n == 1) {
		install_attempt(c, paths[0], a);
		status = install_finish(c, a, dir, m);
		goto out;
	}
	/* Several bundles: verify each (dry, metadata only) and try the valid ones, highest
	 * Director version first. A bundle whose images then fail is rejected and the next one
	 * is tried: image bytes are verified only while they stream into staging, never read
	 * twice. One report for the insertion lists what was chosen and why the rest were not. */
	for (size_t i = 0; i < n; i++) {
		snprintf(cands[i].path, sizeof(cands[i].path), "%s", paths[i]);
		install_probe(c, &cands[i]);
	}
	c->limit_streaming = true;
	size_t nvalid = rank(cands, n, order);
	size_t chosen = n;
	for (size_t k = 0; k < nvalid; k++) {
		size_t i = order[k];
		if (k > 0)
			*prev = *a;
		memset(a, 0, sizeof(*a));
		install_attempt(c, cands[i].path, a);
		if (c->limit_hit) {
			/* Over the streaming limit: this one and the rest are not tried, and the
			 * outcome is the last one that was. */
			for (size_t rest = k; rest < nvalid; rest++) {
				size_t x = order[rest];
				cands[x].code = UPT_E_POLICY;
				snprintf(cands[x].message, sizeof(cands[x].message), "%.500s",
					 a->detail);
			}
			*a = *prev;
			break;
		}
		chosen = i;
		if (k + 1 == nvalid || !upt_err_is_rejection(a->code))
			break;
		/* Rejected while streaming: the next one gets its chance. */
		cands[i].code = a->code;
		snprintf(cands[i].message, sizeof(cands[i].message), "%.500s", a->detail);
		ev_skipped(&c->ev, cands[i].path, "rejected", upt_err_class(a->code), a->detail);
		cands[i].announced = true;
	}
	if (chosen == n) {
		/* None valid: an up-to-date one says so; else the first rejection explains itself.
		 */
		for (size_t i = 0; chosen == n && i < n; i++)
			if (cands[i].code == UPT_E_UP_TO_DATE)
				chosen = i;
		for (size_t i = 0; chosen == n && i < n; i++)
			if (upt_err_is_rejection(cands[i].code))
				chosen = i;
		if (chosen == n)
			chosen = 0;
		install_attempt(c, cands[chosen].path, a);
	}
	const char *chosen_base = strrchr(cands[chosen].path, '/');
	chosen_base = chosen_base ? chosen_base + 1 : cands[chosen].path;
	for (size_t i = 0; i < n; i++) {
		if (i == chosen)
			continue;
		size_t k = skipped->n++;
		const char *base = strrchr(cands[i].path, '/');
		snprintf(skipped->items[k].file, sizeof(skipped->items[k].file), "%.255s",
			 base ? base + 1 : cands[i].path);
		int code = cands[i].code;
		skipped->items[k].status = skip_status(code);
		skipped->items[k].reason = upt_err_is_rejection(code) ? upt_err_class(code) : NULL;
		char *msg = skipped->items[k].message;
		size_t msz = sizeof(skipped->items[k].message);
		if (code == UPT_OK && cands[i].version == cands[chosen].version)
			snprintf(
			    msg, msz,
			    "valid, but %.255s was used instead (the same Director version, %llu, "
			    "and first by name; one bundle per insertion)",
			    chosen_base, (unsigned long long)cands[chosen].version);
		else if (code == UPT_OK)
			snprintf(
			    msg, msz,
			    "valid, but %.255s was used instead (Director version %llu, newer than "
			    "this one's %llu)",
			    chosen_base, (unsigned long long)cands[chosen].version,
			    (unsigned long long)cands[i].version);
		else
			snprintf(msg, msz, "%s", cands[i].message);
		if (!cands[i].announced)
			ev_skipped(&c->ev, cands[i].path, skipped->items[k].status,
				   skipped->items[k].reason, skipped->items[k].message);
	}
	a->skipped = skipped;
	status = install_finish(c, a, dir, m);
out:
	free(paths);
	free(cands);
	free(order);
	free(skipped);
	free(a);
	free(prev);
	return status;
}
