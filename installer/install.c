/*
 * install: the install flow of docs/threat-model.md.
 *   1. read every metadata file of the bundle into memory, verify it all (upt_verify);
 *   2. one pass over the images: each assigned image is decompressed, hashed and written into
 *      its ECU's staging area in one stream, stopping at the signed length; other images are
 *      skipped by seeking; the rest of the archive is still checked member by member;
 *   3. only when every image verified and is synced: commit through the journal (journal.c);
 *   4. a signed report after every attempt (report_write.c), then the result line.
 * Nothing is read twice from the medium: the bytes that are hashed are the bytes written.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "installer.h"
#include "upt/bundle.h"
#include "upt/cjson.h"
#include "upt/fileio.h"
#include "upt/imgcrypt.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/rfc3339.h"
#include "upt/verify.h"

struct job {
	const upt_assignment *a;
	const upt_dev_ecu *ecu;
	struct stage st;
	uint64_t writeback; /* staged bytes whose writeback to storage was started */
	bool opened;
	bool staged;
};

struct stream_ctx {
	struct ctx *c;
	struct job **jobs; /* the ECUs receiving the current image */
	size_t n;
};

/* ---- messages a technician can act on ---- */

static const char *bundle_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* "2027-01-03" from the `expires` of the failing file, when it is in the bundle. */
static bool expiry_of(const upt_bundle_meta *meta, const char *file, char out[11])
{
	const upt_buf *b = meta && file && file[0] ? upt_bundle_meta_get(meta, file) : NULL;
	json_t *doc = NULL;
	if (!b || upt_json_parse(b->data, b->len, UPT_META_FILE_MAX, &doc, NULL) != UPT_OK)
		return false;
	const char *x =
	    json_string_value(json_object_get(json_object_get(doc, "signed"), "expires"));
	bool ok = x && strlen(x) >= 10;
	if (ok) {
		memcpy(out, x, 10);
		out[10] = '\0';
	}
	json_decref(doc);
	return ok;
}

/* Persists a trusted state computed for a rejection or a no-op: only if it differs, and with
 * the stored time floor (the in-memory floor may include the build time). */
static void persist(struct ctx *c, upt_trust *t, int64_t stored_floor, const upt_trust *t0,
		    const upt_installed *inst)
{
	if (c->dry_run)
		return;
	t->time_floor = stored_floor;
	if (upt_trust_equal(t, t0))
		return;
	upt_err e;
	upt_err_clear(&e);
	if (state_save_trust(c, t, inst, &e) != UPT_OK)
		ev_warning(&c->ev, "state", "could not save the accepted trusted metadata: %s",
			   e.msg);
}

/* The floor to store: the one a verified `issued` raised, else the stored one (the floor
 * given to upt_verify also holds the build time and the configured floor, which need no
 * storing: every run applies them again). */
static int64_t stored_floor(const upt_verify_result *vr, const upt_trust *work, const upt_trust *t0)
{
	return vr->trust_after.time_floor > work->time_floor ? vr->trust_after.time_floor
							     : t0->time_floor;
}

/* ---- streaming ---- */

/* Writeback is started every WRITEBACK_STEP bytes while the image streams, so the storage
 * writes overlap decompression and hashing and the fsync before activation waits only for the
 * tail, instead of for the whole image at the end. */
#define WRITEBACK_STEP (8u << 20)

static void start_writeback(struct job *j)
{
	uint64_t pending = j->st.written - j->writeback;
	if (pending < WRITEBACK_STEP)
		return;
	/* Only a hint: a failure here costs speed, never safety (finish fsyncs everything). */
	if (j->writeback <= INT64_MAX && pending <= INT64_MAX)
		(void)sync_file_range(j->st.fd, (off64_t)j->writeback, (off64_t)pending,
				      SYNC_FILE_RANGE_WRITE);
	j->writeback = j->st.written;
}

static int sink(void *vctx, const void *data, size_t len, upt_err *e)
{
	struct stream_ctx *s = vctx;
	if (stop_requested)
		return upt_err_set(e, UPT_E_INTERRUPTED, "stopped by a signal while streaming");
	for (size_t i = 0; i < s->n; i++) {
		struct job *j = s->jobs[i];
		if (s->c->dry_run)
			continue;
		upt_err we;
		if (upt_fd_write_all(j->st.fd, data, len, &we) != UPT_OK)
			/* The device's storage failed, not the stick: an install failure. */
			return upt_err_set(e, UPT_E_INSTALL, "%s: writing %s: %s", j->ecu->serial,
					   j->st.path, we.msg);
		j->st.written += len;
		start_writeback(j);
	}
	return UPT_OK;
}

static void progress(void *vctx, uint64_t done, uint64_t total)
{
	struct stream_ctx *s = vctx;
	for (size_t i = 0; i < s->n; i++)
		ev_progress(&s->c->ev, s->jobs[i]->ecu->serial, done, total);
}

/* Before streaming, when several bundles of one stick are tried in turn (ctx): refuses an
 * attempt that would take the image bytes streamed this insertion past twice the largest
 * attempt. A rejection (policy), so the loop goes on to tell why each other bundle was not
 * tried; the report lists them. */
static int check_streaming_limits(struct ctx *c, uint64_t bytes, upt_err *e)
{
	if (!c->limit_streaming || bytes == 0)
		return UPT_OK;
	uint64_t largest = bytes > c->largest_attempt ? bytes : c->largest_attempt;
	c->limit_hit = c->streamed > 0 && c->streamed + bytes > 2 * largest;
	if (c->limit_hit)
		return upt_err_set(e, UPT_E_POLICY,
				   "not tried: %llu image bytes were already streamed from this "
				   "stick's bundles, and this one's %llu would pass the limit of "
				   "twice the largest (%llu)",
				   (unsigned long long)c->streamed, (unsigned long long)bytes,
				   (unsigned long long)(2 * largest));
	return UPT_OK;
}

/* After streaming: counts the image bytes written into staging. */
static void note_streamed(struct ctx *c, const struct job *jobs, size_t njobs)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < njobs; i++)
		bytes += jobs[i].st.written;
	c->streamed += bytes;
	if (bytes > c->largest_attempt)
		c->largest_attempt = bytes;
}

static void abort_jobs(struct ctx *c, struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].opened)
			handler_for(jobs[i].ecu->type)->abort(c, &jobs[i].st);
		jobs[i].opened = false;
	}
}

/* Streams every assigned image into its ECUs' staging; walks the whole archive. */
static int stream_all(struct ctx *c, upt_bundle_reader *r, struct job *jobs, size_t njobs,
		      const upt_installed *inst, const struct image_keys *keys, upt_err *e)
{
	struct job **group = calloc(njobs ? njobs : 1, sizeof(*group));
	if (!group)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = UPT_OK;
	for (;;) {
		const char *name;
		uint64_t clen;
		rc = upt_bundle_next_image(r, &name, &clen, e);
		if (rc == UPT_E_NOT_FOUND) {
			upt_err_clear(e);
			rc = UPT_OK;
			break;
		}
		if (rc)
			break;
		struct stream_ctx s = {c, group, 0};
		for (size_t i = 0; i < njobs; i++)
			if (!jobs[i].staged && !strcmp(jobs[i].a->target_name, name))
				group[s.n++] = &jobs[i];
		if (s.n == 0)
			continue; /* not for this device: skipped by seeking */
		const upt_assignment *a = group[0]->a;
		for (size_t i = 0; rc == UPT_OK && !c->dry_run && i < s.n; i++) {
			struct job *j = group[i];
			j->st.ecu = j->ecu;
			j->st.fd = -1;
			j->st.length = a->length;
			rc = handler_for(j->ecu->type)
				 ->open(c, &j->st, upt_installed_get(inst, j->ecu->serial), e);
			j->opened = true;
		}
		const upt_image_decrypt *sealed = image_keys_for(keys, a);
		if (rc == UPT_OK && sealed)
			rc = upt_bundle_stream_sealed_image(r, a->length, &a->hashes, sealed, sink,
							    &s, progress, e);
		else if (rc == UPT_OK)
			rc = upt_bundle_stream_image(r, a->length, &a->hashes, sink, &s, progress,
						     e);
		if (rc) {
			char member[UPT_MEMBER_PATH_MAX + 8];
			snprintf(member, sizeof(member), "images/%s", a->target_name);
			upt_err_set_file(e, member);
			break;
		}
		for (size_t i = 0; rc == UPT_OK && i < s.n; i++) {
			struct job *j = group[i];
			if (!c->dry_run)
				rc = handler_for(j->ecu->type)->finish(c, &j->st, e);
			j->staged = rc == UPT_OK;
		}
		if (rc)
			break;
	}
	for (size_t i = 0; rc == UPT_OK && i < njobs; i++) {
		if (!jobs[i].staged) {
			char member[UPT_MEMBER_PATH_MAX + 8];
			snprintf(member, sizeof(member), "images/%s", jobs[i].a->target_name);
			rc = upt_err_set(e, UPT_E_MALFORMED, "image %s is missing from the bundle",
					 member);
			upt_err_set_file(e, member);
		}
	}
	free(group);
	return rc;
}

/* ---- the flow ---- */

static void build_ident(const struct ctx *c, const upt_installed *inst, upt_ecu_ident *ids)
{
	for (size_t i = 0; i < c->cfg->necus; i++) {
		const upt_dev_ecu *u = &c->cfg->ecus[i];
		const upt_installed_ecu *r = upt_installed_get(inst, u->serial);
		upt_ecu_ident *id = &ids[i];
		memset(id, 0, sizeof(*id));
		id->serial = u->serial;
		id->hardware_id = u->hardware_id;
		id->release_counter = u->release_counter;
		/* A pending A/B image counts as installed: the same bundle again is up to date,
		 * and its release counter already binds (confirm --failed drops it). */
		const upt_image_record *img = NULL;
		if (r && r->has_pending)
			img = &r->pending;
		else if (r && r->has_image)
			img = &r->image;
		if (img) {
			id->installed_target = img->target;
			id->has_installed_sha256 = img->hashes.has_sha256;
			memcpy(id->installed_sha256, img->hashes.sha256, UPT_SHA256_LEN);
			if (img->release_counter > id->release_counter)
				id->release_counter = img->release_counter;
		}
		if (r && r->has_image && r->image.release_counter > id->release_counter)
			id->release_counter = r->image.release_counter;
	}
}

static const char *kind_hint(const upt_bundle_meta *meta)
{
	json_t *doc = NULL;
	static const char *const kinds[] = {"device", "fleet"};
	const char *k = NULL;
	if (meta && upt_json_parse(meta->bundle_json.data, meta->bundle_json.len,
				   UPT_BUNDLE_JSON_MAX, &doc, NULL) == UPT_OK) {
		const char *s = json_string_value(json_object_get(doc, "kind"));
		for (size_t i = 0; s && i < 2; i++)
			if (!strcmp(s, kinds[i]))
				k = kinds[i];
	}
	json_decref(doc);
	return k;
}

static void clock_warning(struct ctx *c, const upt_verify_result *vr, int64_t floor)
{
	if (!vr->clock_behind_floor && c->clock >= floor)
		return;
	char clk[UPT_RFC3339_LEN + 1], fl[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(c->clock, clk);
	upt_rfc3339_format(floor, fl);
	ev_warning(&c->ev, "clock-behind-floor",
		   "The device clock (%s) is behind the last trusted time (%s); the clock is wrong "
		   "and was not trusted.",
		   clk, fl);
}

/* Commits the staged images through the journal. On failure msg receives what the technician
 * needs to know when the table's sentence for the code would not say it (which ECUs run what). */
static int commit(struct ctx *c, const char *path, struct job *jobs, size_t njobs,
		  const upt_verify_result *vr, char *msg, size_t msz, upt_err *e)
{
	upt_journal j;
	upt_journal_init(&j);
	j.ecus = calloc(njobs ? njobs : 1, sizeof(*j.ecus));
	if (!j.ecus)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	/* Cut to size first: a cut inside a UTF-8 sequence must be made safe too. */
	char name[sizeof(j.bundle)], safe[sizeof(j.bundle)];
	snprintf(name, sizeof(name), "%s", bundle_name(path));
	snprintf(j.bundle, sizeof(j.bundle), "%s", ev_json_safe(name, safe, sizeof(safe)));
	j.started = c->clock;
	/* Activation order: the configuration's ECU order. */
	for (size_t k = 0; k < c->cfg->necus; k++) {
		for (size_t i = 0; i < njobs; i++) {
			if (jobs[i].ecu != &c->cfg->ecus[k])
				continue;
			upt_journal_ecu *je = &j.ecus[j.necus++];
			const upt_assignment *as = jobs[i].a;
			snprintf(je->serial, sizeof(je->serial), "%s", jobs[i].ecu->serial);
			je->type = jobs[i].ecu->type;
			je->state = UPT_JOURNAL_STAGED;
			je->slot = jobs[i].st.slot;
			je->staged_dev = (uint64_t)jobs[i].st.dev;
			je->staged_ino = (uint64_t)jobs[i].st.ino;
			je->length = as->length;
			memcpy(je->sha256, as->hashes.sha256, UPT_SHA256_LEN);
			upt_image_record *rec = &je->record;
			snprintf(rec->target, sizeof(rec->target), "%s", as->target_name);
			rec->length = as->length;
			rec->hashes = as->hashes;
			rec->release_counter = as->release_counter;
			rec->installed_at = vr->effective_time;
			snprintf(rec->bundle, sizeof(rec->bundle), "%s", j.bundle);
			snprintf(rec->bundle_id, sizeof(rec->bundle_id), "%s", vr->bundle_id);
		}
	}
	int rc = stop_requested ? upt_err_set(e, UPT_E_INTERRUPTED, "stopped by a signal")
				: state_prepare_new(c, &vr->trust_after, e);
	if (rc == UPT_OK)
		rc = journal_write(c, &j, e); /* the commit point */
	if (rc) {
		rc = upt_err_prefix(e, "preparing the commit");
		upt_journal_clear(&j);
		return rc == UPT_E_IO ? UPT_E_INSTALL : rc;
	}
	upt_err ae;
	upt_err_clear(&ae);
	int arc = journal_activate(c, &j, true, &ae);
	if (arc == UPT_E_INTERRUPTED) {
		/* Past the commit point: the journal keeps what is left, and the next start of
		 * uptane-install completes it (roll forward). Nothing is rolled back. */
		*e = ae;
		snprintf(msg, msz,
			 "Stopped while activating the new software; the next start of "
			 "uptane-install completes the installation (power loss included).");
		upt_journal_clear(&j);
		return UPT_E_INTERRUPTED;
	}
	upt_err fe;
	upt_err_clear(&fe);
	int frc = journal_finish(c, &j, &fe);
	size_t done = 0;
	char done_list[512] = "", failed_list[512] = "", program[UPT_NAME_MAX + 1] = "";
	for (size_t i = 0; i < j.necus; i++) {
		/* An exec ECU's program that failed or was stopped may have flashed part of its
		 * image: the installer cannot say that ECU still runs the old software. */
		if (!program[0] && j.ecus[i].type == UPT_HANDLER_EXEC &&
		    j.ecus[i].state == UPT_JOURNAL_FAILED) {
			snprintf(program, sizeof(program), "%s", j.ecus[i].serial);
			continue;
		}
		char *l = j.ecus[i].state == UPT_JOURNAL_DONE ? done_list : failed_list;
		size_t used = strlen(l);
		snprintf(l + used, 512 - used, "%s%s", used ? ", " : "", j.ecus[i].serial);
		done += j.ecus[i].state == UPT_JOURNAL_DONE;
	}
	upt_journal_clear(&j);
	if (arc == UPT_OK && frc == UPT_OK)
		return UPT_OK;
	if (arc == UPT_OK) {
		*e = fe; /* activated, but the state could not be written */
		upt_err_prefix(e, "all ECUs were activated, but recording it failed");
		e->code = UPT_E_INSTALL_PARTIAL;
		snprintf(
		    msg, msz,
		    "The new software was activated but the device could not record it; the device "
		    "needs attention.");
		return UPT_E_INSTALL_PARTIAL;
	}
	*e = ae;
	if (done == 0 && program[0]) {
		e->code = UPT_E_INSTALL;
		snprintf(
		    msg, msz,
		    "Installing failed: the update program of %s failed or was stopped, so %s "
		    "may run its old software or a partly written update; %s%s. Try again with "
		    "the same stick; if it fails again, the device needs service.",
		    program, program, failed_list[0] ? failed_list : "the other ECUs",
		    failed_list[0] && !strchr(failed_list, ',') ? " still runs the old software"
								: " still run the old software");
		return UPT_E_INSTALL;
	}
	if (done == 0) {
		e->code = UPT_E_INSTALL;
		return UPT_E_INSTALL;
	}
	e->code = UPT_E_INSTALL_PARTIAL;
	if (program[0])
		snprintf(
		    msg, msz,
		    "Installing failed part-way: %.200s now run%s the new software; the update "
		    "program of %s failed or was stopped, so %s may run old or partly written "
		    "software%s%.200s%s. The device needs attention.",
		    done_list, done == 1 ? "s" : "", program, program, failed_list[0] ? "; " : "",
		    failed_list,
		    !failed_list[0]	       ? ""
		    : strchr(failed_list, ',') ? " still run the old"
					       : " still runs the old");
	else
		snprintf(msg, msz,
			 "Installing failed part-way: %.200s now run%s the new software, %.200s "
			 "still run%s the old. The device needs attention.",
			 done_list, done == 1 ? "s" : "", failed_list,
			 strchr(failed_list, ',') ? "" : "s");
	return UPT_E_INSTALL_PARTIAL;
}

/* One attempt's working state, from the stored state to the commit. */
struct run {
	struct ctx *c;
	const char *path;
	upt_err e;
	upt_trust t0;	/* the stored trusted state */
	upt_trust work; /* t0 with the time floor this run applies */
	upt_installed inst;
	upt_bundle_reader *r;
	upt_bundle_meta *meta;
	upt_ecu_ident *ids;
	struct image_keys *keys; /* the decrypt_key, then the unwrapped image keys */
	upt_verify_result vr;
	bool have_vr;
	struct job *jobs;
	size_t njobs;
	uint64_t bytes;
	/* Set by a step that knows more than the outcome table's sentence for its code. */
	char message[sizeof(((struct attempt *)0)->message)];
};

static void run_init(struct run *x, struct ctx *c, const char *path)
{
	memset(x, 0, sizeof(*x));
	x->c = c;
	x->path = path;
	upt_err_clear(&x->e);
	upt_trust_init(&x->t0);
	upt_trust_init(&x->work);
	upt_installed_init(&x->inst);
}

static void run_clear(struct run *x)
{
	if (x->jobs)
		abort_jobs(x->c, x->jobs, x->njobs);
	free(x->jobs);
	free(x->ids);
	image_keys_free(x->keys);
	if (x->have_vr)
		upt_verify_result_clear(&x->vr);
	upt_bundle_meta_free(x->meta);
	upt_bundle_reader_free(x->r);
	upt_trust_clear(&x->t0);
	upt_trust_clear(&x->work);
	upt_installed_clear(&x->inst);
}

/* The stored state, the decrypt key, and the bundle's metadata read into memory. announce: the
 * `found` event once the bundle opened ("Found update /nonexistent" then "No update found" misled).
 */
static int load(struct run *x, bool announce)
{
	struct ctx *c = x->c;
	int rc = state_load(c, &x->t0, &x->inst, &x->e);
	if (rc == UPT_OK)
		rc = upt_trust_copy(&x->work, &x->t0, &x->e);
	/* the decrypt_key (if any): its key id picks this device's wrapped keys in verify */
	if (rc == UPT_OK)
		rc = image_keys_load(c->cfg, &x->keys, &x->e);
	if (rc)
		return rc;
	x->work.time_floor = state_initial_floor(c, x->t0.time_floor);
	rc = upt_bundle_reader_open(x->path, &x->r, &x->e);
	if (rc == UPT_E_NOT_FOUND) {
		snprintf(x->message, sizeof(x->message), "%s does not exist: no update to install.",
			 x->path);
		return UPT_E_NO_BUNDLE;
	}
	if (announce)
		ev_found(&c->ev, x->path);
	if (rc == UPT_OK) {
		upt_bundle_reader_keep_device(x->r, c->cfg->device_id);
		rc = upt_bundle_read_metadata(x->r, &x->meta, &x->e);
	}
	return rc;
}

/* Steps 1-4: all metadata, verified in memory (upt_verify is pure). */
static int verify(struct run *x)
{
	struct ctx *c = x->c;
	x->ids = calloc(c->cfg->necus, sizeof(*x->ids));
	if (!x->ids)
		return upt_err_set(&x->e, UPT_E_NOMEM, "out of memory");
	build_ident(c, &x->inst, x->ids);
	upt_device_ident dev = {.device_id = c->cfg->device_id,
				.ecus = x->ids,
				.necus = c->cfg->necus,
				.accept_device = c->cfg->accept_device,
				.accept_fleet = c->cfg->accept_fleet,
				.decrypt_keyid = image_keys_keyid(x->keys)};
	upt_verify_input in = {&x->work, x->meta, &dev, c->clock};
	int rc = upt_verify(&in, &x->vr);
	x->have_vr = true;
	if (rc) {
		x->e = x->vr.err;
		x->e.code = rc;
	}
	return rc;
}

/* The ECUs that get a new image, and the bytes to stream. */
static int plan(struct run *x)
{
	struct ctx *c = x->c;
	const upt_verify_result *vr = &x->vr;
	x->jobs = calloc(vr->nassignments ? vr->nassignments : 1, sizeof(*x->jobs));
	if (!x->jobs)
		return upt_err_set(&x->e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < vr->nassignments; i++) {
		const upt_assignment *as = &vr->assignments[i];
		if (as->already_installed)
			continue;
		const upt_dev_ecu *u = upt_devconfig_ecu(c->cfg, as->ecu_serial);
		if (!u)
			return upt_err_set(&x->e, UPT_E_INTERNAL,
					   "verified assignment for unknown ECU %s",
					   as->ecu_serial);
		struct job *j = &x->jobs[x->njobs++];
		j->a = as;
		j->ecu = u;
		j->st.fd = -1;
		x->bytes += as->length;
	}
	return check_streaming_limits(c, x->bytes, &x->e);
}

/* Step 5: one pass over the images into staging. Encrypted images: every image key opens
 * first, or nothing is read. */
static int stream(struct run *x)
{
	int rc = image_keys_unwrap(x->keys, &x->vr, &x->e);
	if (rc == UPT_OK)
		rc = stream_all(x->c, x->r, x->jobs, x->njobs, &x->inst, x->keys, &x->e);
	note_streamed(x->c, x->jobs, x->njobs);
	if (rc)
		abort_jobs(x->c, x->jobs, x->njobs);
	upt_bundle_reader_free(x->r); /* the medium is not needed any more */
	x->r = NULL;
	return rc;
}

/* Step 6: the commit (a dry run stops before it). */
static int activate(struct run *x)
{
	if (x->c->dry_run)
		return UPT_OK;
	x->vr.trust_after.time_floor = stored_floor(&x->vr, &x->work, &x->t0);
	int rc =
	    commit(x->c, x->path, x->jobs, x->njobs, &x->vr, x->message, sizeof(x->message), &x->e);
	for (size_t i = 0; i < x->njobs; i++)
		x->jobs[i].opened =
		    false; /* staging is the journal's now (journal_finish cleans up) */
	return rc;
}

/* An encrypted stick this device cannot open (docs/bundle-format.md, "Encrypted images"):
 * the detail says which of the two cases. False for other policy refusals. */
static bool encryption_message(const char *detail, char *m, size_t n)
{
	const char *s = NULL;
	if (strstr(detail, UPT_CRYPT_NO_KEY))
		s = "The images on this stick are encrypted and this device has no decryption key "
		    "(decrypt_key in its configuration), so nothing was installed. Provision the "
		    "device's key, or ask for a stick made for this device.";
	else if (strstr(detail, UPT_CRYPT_OTHER_KEY))
		s = "The images on this stick are encrypted for another device (or for another "
		    "key of this one), so this device cannot open them and nothing was "
		    "installed. Ask for the stick made for this device.";
	if (s)
		snprintf(m, n, "%s", s);
	return s != NULL;
}

/* What the technician reads when the code alone does not say it all; false: the table's. */
static bool specific_message(const struct run *x, const struct attempt *a, int code, char *m,
			     size_t n)
{
	char date[11];
	bool ab = false;
	switch (code) {
	case UPT_OK:
		for (size_t i = 0; i < x->njobs; i++)
			ab = ab || x->jobs[i].ecu->type == UPT_HANDLER_AB;
		if (x->c->dry_run)
			snprintf(m, n,
				 "The update on this stick is valid for this device (%zu image%s "
				 "verified); nothing was installed (dry run).",
				 x->njobs, x->njobs == 1 ? "" : "s");
		else
			snprintf(m, n, "Installed %zu image%s from %s.%s", x->njobs,
				 x->njobs == 1 ? "" : "s", bundle_name(x->path),
				 ab ? " Reboot the device to start the new software, then run "
				      "`uptane-install confirm`."
				    : " The device is up to date.");
		return true;
	case UPT_E_FREEZE:
		if (!expiry_of(x->meta, a->file, date))
			return false;
		snprintf(m, n, "This stick's update expired on %s; ask for a new one.", date);
		return true;
	case UPT_E_ARBITRARY_SOFTWARE:
		if (strncmp(a->file, "images/", 7) != 0)
			return false;
		snprintf(m, n,
			 "An image on this stick is not what was signed. It may have been "
			 "tampered with: do not use the stick, and report it to the "
			 "manufacturer.");
		return true;
	case UPT_E_POLICY:
		if (encryption_message(a->detail, m, n))
			return true;
		snprintf(m, n, "This device does not accept %s bundles; ask for a %s bundle.",
			 a->kind ? a->kind : "this kind of",
			 a->kind && !strcmp(a->kind, "fleet") ? "device" : "fleet");
		return true;
	case UPT_E_NOT_FOR_DEVICE:
		snprintf(m, n,
			 "This update is not for this device (%s): it is for %s. Nothing was "
			 "changed.",
			 x->c->cfg->device_id,
			 x->have_vr && x->vr.intended_for[0] ? x->vr.intended_for
							     : "other devices");
		return true;
	default:
		return false;
	}
}

/* Status, reason, exit status and message of the attempt, from its code: chosen once. */
static void settle(const struct run *x, struct attempt *a, int code)
{
	const struct outcome *o = outcome_of(code);
	a->code = code;
	a->exit_status = upt_err_exit_status(code);
	a->status = code == UPT_OK ? (x->c->dry_run ? "verified" : "installed") : o->status;
	a->reason = o->reason;
	if (upt_err_is_rejection(code))
		a->attacks = a->reason;
	if (code != UPT_OK) {
		if (x->e.file[0] && !a->file[0])
			snprintf(a->file, sizeof(a->file), "%s", x->e.file);
		snprintf(a->detail, sizeof(a->detail), "%s", x->e.msg);
	}
	if (x->message[0])
		snprintf(a->message, sizeof(a->message), "%s", x->message);
	else if (!specific_message(x, a, code, a->message, sizeof(a->message)))
		snprintf(a->message, sizeof(a->message), "%s", o->message);
}

void install_attempt(struct ctx *c, const char *path, struct attempt *out)
{
	struct attempt a;
	memset(&a, 0, sizeof(a));
	a.bundle_path = path;
	a.attacks = "";
	a.effective = c->clock;
	struct run x;
	run_init(&x, c, path);

	int rc = load(&x, true);
	a.effective = c->clock > x.work.time_floor ? c->clock : x.work.time_floor;
	if (rc == UPT_OK) {
		a.kind = kind_hint(x.meta);
		rc = verify(&x);
		a.effective = x.vr.effective_time;
		clock_warning(c, &x.vr, x.work.time_floor);
		/* Roots accepted in step 1 are kept even on rejection (TUF 5.3.x). */
		if (rc)
			persist(c, &x.vr.trust_after, x.t0.time_floor, &x.t0, &x.inst);
	}
	if (rc == UPT_OK) {
		a.kind = x.vr.kind_fleet ? "fleet" : "device";
		snprintf(a.bundle_id, sizeof(a.bundle_id), "%s", x.vr.bundle_id);
		rc = plan(&x);
	}
	if (rc == UPT_OK) {
		ev_verified(&c->ev, path, a.kind, a.bundle_id, x.njobs, x.bytes);
		/* Nothing new, but newer metadata still counts (rollback protection). */
		if (x.njobs == 0) {
			persist(c, &x.vr.trust_after, stored_floor(&x.vr, &x.work, &x.t0), &x.t0,
				&x.inst);
			rc = UPT_E_UP_TO_DATE;
		}
	}
	if (rc == UPT_OK) {
		rc = stream(&x);
		/* Nothing installs, but the roots step 1 accepted are kept (whatever failed). */
		if (rc)
			persist(c, &x.vr.trust_roots_only, x.t0.time_floor, &x.t0, &x.inst);
	}
	if (rc == UPT_OK)
		rc = activate(&x);
	settle(&x, &a, rc);
	*out = a;
	run_clear(&x);
}

int install_finish(struct ctx *c, struct attempt *a, const char *medium_dir, const struct medium *m)
{
	/* The report is about this attempt; dry runs change nothing, not even the counter. */
	if (!c->dry_run)
		report_write(c, a, medium_dir, m);
	ev_result(&c->ev, a->status, a->reason, a->file[0] ? a->file : NULL, a->message, a->detail);
	return a->exit_status;
}

int install_bundle(struct ctx *c, const char *path, const char *medium_dir, const struct medium *m)
{
	struct attempt *a = calloc(1, sizeof(*a));
	if (!a)
		return 1;
	install_attempt(c, path, a);
	int status = install_finish(c, a, medium_dir, m);
	free(a);
	return status;
}

int install_probe(struct ctx *c, struct candidate *cand)
{
	struct run x;
	run_init(&x, c, cand->path);
	int rc = load(&x, false);
	if (rc == UPT_E_NO_BUNDLE)
		rc = UPT_E_NOT_FOUND; /* the candidate vanished: as the reader says */
	if (rc == UPT_OK) {
		rc = verify(&x);
		cand->version = x.vr.director_targets_version;
		if (rc == UPT_E_NOT_FOR_DEVICE)
			snprintf(x.e.msg, sizeof(x.e.msg), "for %.400s", x.vr.intended_for);
	}
	if (rc == UPT_OK) {
		bool any = false;
		for (size_t i = 0; i < x.vr.nassignments; i++)
			any = any || !x.vr.assignments[i].already_installed;
		if (!any)
			rc = UPT_E_UP_TO_DATE;
	}
	cand->code = rc;
	snprintf(cand->message, sizeof(cand->message), "%s", rc ? x.e.msg : "valid");
	run_clear(&x);
	return rc;
}
