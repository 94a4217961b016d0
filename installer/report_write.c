/*
 * report_write: after every attempt and every confirm, one signed device manifest
 * (docs/reports.md): kept in state_dir/reports/<counter>.json and, for a medium, written to
 * <medium>/uptane-reports/<device-id>/<counter>.json. On the medium every path component is
 * opened with O_NOFOLLOW: a link the stick provides is never followed. A report that cannot be
 * written never changes the outcome of the attempt; the user is told where it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer.h"
#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/report.h"
#include "upt/sig.h"

static int subdir(int dirfd, const char *name, int *out, bool *rofs, upt_err *e)
{
	if (mkdirat(dirfd, name, 0755) != 0 && errno != EEXIST) {
		*rofs = errno == EROFS;
		return upt_err_set(e, UPT_E_IO, "%s: %s", name, strerror(errno));
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: %s", name,
				   errno == ELOOP || errno == ENOTDIR ? "not a directory (a link?)"
								      : strerror(errno));
	*out = fd;
	return UPT_OK;
}

/* Returns UPT_OK, or UPT_E_IO with e->msg; *rofs set for a read-only medium. */
static int write_medium(const char *dir, const char *device_id, uint64_t counter, const upt_buf *b,
			bool *rofs, upt_err *e)
{
	int dfd = -1, r1 = -1, r2 = -1, fd = -1;
	char tmp[64], name[64];
	snprintf(tmp, sizeof(tmp), ".%llu.json.tmp", (unsigned long long)counter);
	snprintf(name, sizeof(name), "%llu.json", (unsigned long long)counter);
	int rc = UPT_OK;
	*rofs = false;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		rc = upt_err_set(e, UPT_E_IO, "%s: %s", dir, strerror(errno));
	if (rc == UPT_OK)
		rc = subdir(dfd, "uptane-reports", &r1, rofs, e);
	if (rc == UPT_OK)
		rc = subdir(r1, device_id, &r2, rofs, e);
	if (rc == UPT_OK) {
		unlinkat(r2, tmp, 0);
		fd = openat(r2, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			*rofs = errno == EROFS;
			rc = upt_err_set(e, UPT_E_IO, "%s: %s", tmp, strerror(errno));
		}
	}
	if (rc == UPT_OK)
		rc = upt_fd_write_all(fd, b->data, b->len, e);
	if (rc == UPT_OK && fsync(fd) != 0)
		rc = upt_err_set(e, UPT_E_IO, "fsync: %s", strerror(errno));
	if (fd >= 0 && close(fd) != 0 && rc == UPT_OK)
		rc = upt_err_set(e, UPT_E_IO, "close: %s", strerror(errno));
	if (rc == UPT_OK && renameat(r2, tmp, r2, name) != 0)
		rc = upt_err_set(e, UPT_E_IO, "rename: %s", strerror(errno));
	if (rc == UPT_OK && fsync(r2) != 0)
		rc = upt_err_set(e, UPT_E_IO, "fsync: %s", strerror(errno));
	if (rc && r2 >= 0)
		unlinkat(r2, tmp, 0);
	if (r2 >= 0)
		close(r2);
	if (r1 >= 0)
		close(r1);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* After this attempt's report (COUNTER) went onto the stick: the reports that never reached one
 * (a read-only or full stick, `install BUNDLE`, `confirm`) go out too, oldest first, so the
 * station learns of them with the next stick (docs/reports.md). A stick that takes no more stops
 * the carrying; what is left stays queued for the next one. */
static void carry_queued(struct ctx *c, const char *medium_dir, uint64_t counter)
{
	uint64_t delivered = state_delivered(c);
	if (delivered >= counter)
		return;
	/* Older than the kept ones: removed, never to go out. */
	uint64_t upto = counter > REPORTS_KEEP && delivered < counter - REPORTS_KEEP
			    ? counter - REPORTS_KEEP
			    : delivered;
	upt_buf b;
	upt_buf_init(&b, UPT_REPORT_MAX);
	size_t carried = 0;
	bool complete = true;
	for (uint64_t k = upto + 1; k < counter; k++) {
		upt_err e;
		upt_err_clear(&e);
		int rc = state_read_report(c, k, &b, &e);
		bool rofs;
		if (rc == UPT_E_NOT_FOUND) { /* its counter was used, its report never written */
			upto = k;
			continue;
		}
		if (rc == UPT_OK)
			rc = write_medium(medium_dir, c->cfg->device_id, k, &b, &rofs, &e);
		if (rc) {
			ev_warning(
			    &c->ev, "report-not-on-medium",
			    "%zu earlier report(s) went onto the stick, report %llu did not "
			    "(%s); it and any later ones stay on the device for the next stick.",
			    carried, (unsigned long long)k, e.msg);
			complete = false;
			break;
		}
		char where[UPT_PATH_MAX + 64];
		snprintf(where, sizeof(where), "%s/uptane-reports/%s/%llu.json", medium_dir,
			 c->cfg->device_id, (unsigned long long)k);
		ev_report(&c->ev, where, k);
		carried++;
		upto = k;
	}
	upt_buf_clear(&b);
	if (complete)
		upto = counter;
	upt_err e;
	upt_err_clear(&e);
	/* Not recorded: the same reports go out again with the next stick (duplicates, which the
	 * station ignores). */
	if (upto > delivered && state_set_delivered(c, upto, &e) != UPT_OK)
		ev_warning(&c->ev, "report", "could not record which reports went out: %s", e.msg);
}

/* The report is JSON: a string that is not UTF-8 (a stick's file name, a message cut inside a
 * character) is made ASCII rather than losing the report. */
void report_write(struct ctx *c, const struct attempt *a, const char *medium_dir,
		  const struct medium *m)
{
	upt_err e;
	upt_err_clear(&e);
	upt_signer *key = NULL;
	upt_trust t;
	upt_installed inst;
	upt_buf out;
	upt_trust_init(&t);
	upt_installed_init(&inst);
	upt_buf_init(&out, UPT_REPORT_MAX);
	upt_report_ecu *ecus = calloc(c->cfg->necus, sizeof(*ecus));
	uint64_t counter = 0;
	int rc = ecus ? UPT_OK : upt_err_set(&e, UPT_E_NOMEM, "out of memory");
	if (rc == UPT_OK)
		rc = upt_signer_load(c->cfg->report_key, &key, &e);
	if (rc == UPT_OK)
		rc = state_load(c, &t, &inst, &e);
	if (rc == UPT_OK)
		rc = state_next_counter(c, &counter, &e);
	if (rc) {
		ev_warning(&c->ev, "report", "no report was written: %s", e.msg);
		goto out;
	}
	for (size_t i = 0; i < c->cfg->necus; i++) {
		const upt_dev_ecu *u = &c->cfg->ecus[i];
		const upt_installed_ecu *r = upt_installed_get(&inst, u->serial);
		const upt_image_record *img = NULL;
		/* An activated A/B image is reported, as pending: it is what the ECU boots next
		 * (docs/reports.md); confirm reports it again as confirmed, or the old one as
		 * fell-back. */
		if (r && r->has_pending)
			img = &r->pending;
		else if (r && r->has_image)
			img = &r->image;
		upt_report_ecu *x = &ecus[i];
		x->serial = u->serial;
		x->state = r && r->has_pending ? "pending" : "installed";
		if (a->ecu_states && a->ecu_states[i])
			x->state = a->ecu_states[i];
		x->filepath = img ? img->target : "";
		x->length = img ? img->length : 0;
		x->has_sha256 = img && img->hashes.has_sha256;
		if (img)
			memcpy(x->sha256, img->hashes.sha256, UPT_SHA256_LEN);
		/* The primary verifies for the whole device, so it is the one that detected it. */
		x->attacks = strcmp(u->serial, c->cfg->primary_ecu) ? "" : a->attacks;
		x->latest_time = a->effective;
		x->report_counter = counter;
	}
	char message[sizeof(a->message) + sizeof(a->detail) + 8], msg_buf[sizeof(message)];
	if (a->detail[0] && strcmp(a->status, "installed"))
		snprintf(message, sizeof(message), "%s (%s)", a->message, a->detail);
	else
		snprintf(message, sizeof(message), "%s", a->message);
	upt_report_skip skips[UPT_BUNDLES_PER_MEDIUM_MAX];
	char skip_buf[UPT_BUNDLES_PER_MEDIUM_MAX][2][UPT_ERR_MSG_MAX];
	size_t nskips = 0;
	for (size_t i = 0; a->skipped && i < a->skipped->n; i++) {
		skips[i].file =
		    ev_json_safe(a->skipped->items[i].file, skip_buf[i][0], UPT_ERR_MSG_MAX);
		skips[i].status = a->skipped->items[i].status;
		skips[i].reason = a->skipped->items[i].reason;
		skips[i].message =
		    ev_json_safe(a->skipped->items[i].message, skip_buf[i][1], UPT_ERR_MSG_MAX);
		nskips++;
	}
	const char *bname = NULL;
	char bname_buf[UPT_PATH_MAX];
	if (a->bundle_path) {
		bname = strrchr(a->bundle_path, '/');
		bname =
		    ev_json_safe(bname ? bname + 1 : a->bundle_path, bname_buf, sizeof(bname_buf));
	}
	upt_report rep = {
	    .device_id = c->cfg->device_id,
	    .primary_ecu = c->cfg->primary_ecu,
	    .counter = counter,
	    .clock = c->clock,
	    .effective = a->effective,
	    .has_bundle = a->bundle_path != NULL,
	    .bundle_file = bname,
	    .bundle_kind = a->kind,
	    .bundle_id = a->bundle_id[0] ? a->bundle_id : NULL,
	    .has_medium = m != NULL,
	    .medium_vendor = m ? m->vendor : NULL,
	    .medium_product = m ? m->product : NULL,
	    .medium_serial = m ? m->serial : NULL,
	    .status = a->status,
	    .reason = a->reason,
	    .message = ev_json_safe(message, msg_buf, sizeof(msg_buf)),
	    .ecus = ecus,
	    .necus = c->cfg->necus,
	    .skipped = skips,
	    .nskipped = nskips,
	};
	rc = upt_report_build(&rep, key, &out, &e);
	if (rc == UPT_OK)
		rc = state_keep_report(c, counter, out.data, out.len, &e);
	if (rc) {
		ev_warning(&c->ev, "report", "no report was written: %s", e.msg);
		goto out;
	}
	char where[UPT_PATH_MAX + 64];
	snprintf(where, sizeof(where), "%s/reports/%llu.json", c->cfg->state_dir,
		 (unsigned long long)counter);
	ev_report(&c->ev, where, counter);
	if (medium_dir) {
		bool rofs;
		upt_err me;
		upt_err_clear(&me);
		int werr = c->medium_writable ? c->medium_writable(c->medium_arg) : 0;
		if (werr) {
			rofs = werr == EROFS || werr == EACCES;
			(void)upt_err_set(&me, UPT_E_IO, "cannot make the medium writable: %s",
					  strerror(werr));
		}
		if (!werr && write_medium(medium_dir, c->cfg->device_id, counter, &out, &rofs,
					  &me) == UPT_OK) {
			snprintf(where, sizeof(where), "%s/uptane-reports/%s/%llu.json", medium_dir,
				 c->cfg->device_id, (unsigned long long)counter);
			ev_report(&c->ev, where, counter);
			carry_queued(c, medium_dir, counter);
		} else if (rofs) {
			ev_warning(&c->ev, "report-not-on-medium",
				   "The stick is read-only, so the report stayed on the device "
				   "(%s/reports/%llu.json); the next stick that takes a report "
				   "carries it out.",
				   c->cfg->state_dir, (unsigned long long)counter);
		} else {
			ev_warning(
			    &c->ev, "report-not-on-medium",
			    "The report could not be written to the stick (%s); it stayed on the "
			    "device (%s/reports/%llu.json) and goes out with the next stick.",
			    me.msg, c->cfg->state_dir, (unsigned long long)counter);
		}
	}
out:
	upt_signer_free(key);
	upt_trust_clear(&t);
	upt_installed_clear(&inst);
	upt_buf_clear(&out);
	free(ecus);
}
