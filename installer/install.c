/*
 * install: the install flow of docs/threat-model.md.
 *   1. read every metadata file of the bundle into memory, verify it all (upt_verify);
 *   2. one pass over the images: each assigned image is decompressed, hashed and written into
 *      its ECU's staging area in one stream, stopping at the signed length; other images are
 *      skipped by seeking; the rest of the archive is still checked member by member;
 *   3. only when every image verified and is synced: commit through the journal (journal.c);
 *   4. a signed report after every attempt (report.c), then the result line.
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

/* An encrypted stick this device cannot open (docs/bundle-format.md, "Encrypted images"):
 * the detail says which of the two cases. False for other policy refusals. */
static bool encryption_message(struct attempt *a)
{
	const char *m = NULL;
	if (strstr(a->detail, UPT_CRYPT_NO_KEY))
		m = "The images on this stick are encrypted and this device has no decryption key "
		    "(decrypt_key in its configuration), so nothing was installed. Provision the "
		    "device's key, or ask for a stick made for this device.";
	else if (strstr(a->detail, UPT_CRYPT_OTHER_KEY))
		m = "The images on this stick are encrypted for another device (or for another "
		    "key of this one), so this device cannot open them and nothing was "
		    "installed. Ask for the stick made for this device.";
	if (m)
		snprintf(a->message, sizeof(a->message), "%s", m);
	return m != NULL;
}

static void rejection_message(struct attempt *a, int code, const upt_bundle_meta *meta)
{
	char date[11];
	const char *m;
	switch (code) {
	case UPT_E_FREEZE:
		if (expiry_of(meta, a->file, date)) {
			snprintf(a->message, sizeof(a->message),
				 "This stick's update expired on %s; ask for a new one.", date);
			return;
		}
		m = "This stick's update has expired; ask for a new one.";
		break;
	case UPT_E_ROLLBACK:
		m = "This stick carries an older update than the device already has, so it was "
		    "refused; ask for the current one.";
		break;
	case UPT_E_ARBITRARY_SOFTWARE:
		if (!strncmp(a->file, "images/", 7)) {
			m = "An image on this stick is not what was signed. It may have been "
			    "tampered "
			    "with: do not use the stick, and report it to the manufacturer.";
			break;
		}
		m = "This stick's update is not signed by the keys this device trusts (or its "
		    "contents "
		    "differ from what was signed). It may have been tampered with: do not use it, "
		    "and "
		    "report it to the manufacturer.";
		break;
	case UPT_E_UNTRUSTED_ROOT:
		m = "This device has no usable trusted keys and refuses every update; it needs to "
		    "be "
		    "re-provisioned by the manufacturer.";
		break;
	case UPT_E_MIX_AND_MATCH:
		m = "This stick's update mixes files from different releases, so it was refused; "
		    "ask "
		    "for a new one.";
		break;
	case UPT_E_ENDLESS_DATA:
		m = "An image on this stick is longer than its signature allows. It may have been "
		    "tampered with: do not use it, and report it to the manufacturer.";
		break;
	case UPT_E_WRONG_ECU:
		m = "This update names a control unit this device does not have; ask for the "
		    "update "
		    "made for this device.";
		break;
	case UPT_E_WRONG_HARDWARE:
		m = "This update is for different hardware than this device has; ask for the "
		    "update "
		    "made for this device.";
		break;
	case UPT_E_TARGET_MISMATCH:
		m = "The two signing authorities disagree about an image on this stick, so it was "
		    "refused. Report it to the manufacturer and ask for a new one.";
		break;
	case UPT_E_MALFORMED:
		m = "The update file on this stick is damaged or incomplete; copy it again or ask "
		    "for "
		    "a new one.";
		break;
	case UPT_E_UNSAFE_ARCHIVE:
		m = "The update file on this stick contains entries that are not allowed, so it "
		    "was "
		    "refused; ask for a new one and report it to the manufacturer.";
		break;
	case UPT_E_TOO_LARGE:
		m = "The update file on this stick exceeds this device's size limits, so it was "
		    "refused; ask for a new one.";
		break;
	case UPT_E_POLICY:
		if (encryption_message(a))
			return;
		snprintf(a->message, sizeof(a->message),
			 "This device does not accept %s bundles; ask for a %s bundle.",
			 a->kind ? a->kind : "this kind of",
			 a->kind && !strcmp(a->kind, "fleet") ? "device" : "fleet");
		return;
	default:
		m = "The update on this stick was refused.";
	}
	snprintf(a->message, sizeof(a->message), "%s", m);
}

/* Fills status, reason, exit status and message from a code. */
static void outcome(struct ctx *c, struct attempt *a, int code, const upt_err *e,
		    const upt_bundle_meta *meta, const char *intended_for)
{
	a->code = code;
	a->exit_status = upt_err_exit_status(code);
	a->reason = NULL;
	if (e && e->file[0] && !a->file[0])
		snprintf(a->file, sizeof(a->file), "%s", e->file);
	snprintf(a->detail, sizeof(a->detail), "%s", e ? e->msg : "");
	if (upt_err_is_rejection(code)) {
		a->status = "rejected";
		a->reason = upt_err_class(code);
		a->attacks = a->reason;
		rejection_message(a, code, meta);
		return;
	}
	switch (code) {
	case UPT_E_NOT_FOR_DEVICE:
		a->status = "not-for-this-device";
		snprintf(
		    a->message, sizeof(a->message),
		    "This update is not for this device (%s): it is for %s. Nothing was changed.",
		    c->cfg->device_id,
		    intended_for && intended_for[0] ? intended_for : "other devices");
		return;
	case UPT_E_UP_TO_DATE:
		a->status = "up-to-date";
		snprintf(a->message, sizeof(a->message),
			 "This device already runs everything on this stick; nothing to do.");
		return;
	case UPT_E_NO_BUNDLE:
		a->status = "no-bundle";
		return; /* message set by the caller */
	case UPT_E_IO:
	case UPT_E_BUSY:
		a->status = "failed";
		a->reason = "io";
		snprintf(a->message, sizeof(a->message),
			 "The update could not be read (I/O error, or the stick was removed). "
			 "Nothing was "
			 "changed; re-insert the stick and try again.");
		return;
	case UPT_E_INTERRUPTED:
		a->status = "failed";
		a->reason = "interrupted";
		snprintf(a->message, sizeof(a->message),
			 "Stopped before the new software was activated; the previous software is "
			 "still active. Insert the stick again to install.");
		return;
	case UPT_E_INSTALL:
		a->status = "failed";
		a->reason = "install";
		snprintf(
		    a->message, sizeof(a->message),
		    "Installing failed; the previous software is still active. Try again; if it "
		    "fails again, the device needs service.");
		return;
	case UPT_E_INSTALL_PARTIAL:
		a->status = "failed";
		a->reason = "install";
		return; /* message (which ECUs run what) set by the caller */
	default:
		a->status = "failed";
		a->reason = "internal";
		snprintf(
		    a->message, sizeof(a->message),
		    "The installer hit an internal error; nothing was installed. The device needs "
		    "service.");
	}
}

/* ---- the trusted state to keep after a rejection in step 5 ---- */

static bool role_keys_differ(const upt_meta *a, const upt_meta *b, const char *role)
{
	const upt_role_keys *x = upt_meta_role(a, role);
	const upt_role_keys *y = upt_meta_role(b, role);
	if (!x || !y)
		return x != y;
	if (x->nkeyids != y->nkeyids)
		return true;
	for (size_t i = 0; i < x->nkeyids; i++) {
		bool found = false;
		for (size_t j = 0; j < y->nkeyids && !found; j++)
			found = !strcmp(x->keyids[i], y->keyids[j]);
		if (!found)
			return true;
	}
	return false;
}

static bool root_name(const char *name, const char *repo)
{
	size_t rl = strlen(repo), n = strlen(name);
	return !strncmp(name, repo, rl) && name[rl] == '/' && n >= 9 &&
	       !strcmp(name + n - 9, "root.json");
}

/* Forgets what a root step old -> nr invalidates (docs/threat-model.md, TUF 5.3.11). */
static void forget(upt_trust *t, const char *repo, const upt_meta *old, const upt_meta *nr)
{
	char name[64];
	if (role_keys_differ(old, nr, "timestamp") || role_keys_differ(old, nr, "snapshot")) {
		snprintf(name, sizeof(name), "%s/timestamp.json", repo);
		upt_trust_remove(t, name);
		snprintf(name, sizeof(name), "%s/snapshot.json", repo);
		upt_trust_remove(t, name);
	}
	if (!strcmp(repo, "director") && role_keys_differ(old, nr, "offline-snapshot"))
		upt_trust_remove(t, "director/offline-snapshot.json");
}

/* Image bytes failed after the metadata verified: keep only what step 1 accepted (the roots,
 * and forgetting timestamp/snapshot where a root step rotated their keys), exactly as a
 * rejection inside upt_verify would. The roots in between are read from the bundle's
 * metadata, already verified by upt_verify; each step is compared as upt_verify does. */
static int roots_only(const upt_trust *t0, const upt_trust *after, const upt_bundle_meta *meta,
		      upt_trust *out, upt_err *e)
{
	static const char *const repos[] = {"director", "image-repo"};
	int rc = upt_trust_copy(out, t0, e);
	for (size_t r = 0; rc == UPT_OK && r < 2; r++) {
		char name[64];
		snprintf(name, sizeof(name), "%s/root.json", repos[r]);
		const upt_buf *old = upt_trust_get(t0, name);
		const upt_buf *neu = upt_trust_get(after, name);
		if (!old || !neu || upt_buf_equal(old, neu))
			continue;
		for (size_t i = 0; rc == UPT_OK && i < after->nfiles; i++)
			if (root_name(after->files[i].name, repos[r]))
				rc = upt_trust_set(out, after->files[i].name,
						   after->files[i].data.data,
						   after->files[i].data.len, e);
		upt_meta *cur = NULL, *last = NULL;
		if (rc == UPT_OK)
			rc = upt_meta_parse(old->data, old->len, UPT_ROLE_ROOT, &cur, e);
		if (rc == UPT_OK)
			rc = upt_meta_parse(neu->data, neu->len, UPT_ROLE_ROOT, &last, e);
		while (rc == UPT_OK && cur->version < last->version) {
			char member[96];
			snprintf(member, sizeof(member), "metadata/%s/%llu.root.json", repos[r],
				 (unsigned long long)(cur->version + 1));
			const upt_buf *b = upt_bundle_meta_get(meta, member);
			upt_meta *nr = NULL;
			if (!b) {
				rc = upt_err_set(e, UPT_E_INTERNAL, "%s missing", member);
				break;
			}
			rc = upt_meta_parse(b->data, b->len, UPT_ROLE_ROOT, &nr, e);
			if (rc)
				break;
			forget(out, repos[r], cur, nr);
			upt_meta_free(cur);
			cur = nr;
		}
		upt_meta_free(cur);
		upt_meta_free(last);
	}
	return rc;
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

/* Who this device is to the verification: its ECUs, what it accepts, its decrypt key's id. */
static upt_device_ident device_ident(const struct ctx *c, const upt_ecu_ident *ids,
				     const struct image_keys *keys)
{
	return (upt_device_ident){.device_id = c->cfg->device_id,
				  .ecus = ids,
				  .necus = c->cfg->necus,
				  .accept_device = c->cfg->accept_device,
				  .accept_fleet = c->cfg->accept_fleet,
				  .decrypt_keyid = image_keys_keyid(keys)};
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

static int commit(struct ctx *c, struct attempt *a, struct job *jobs, size_t njobs,
		  const upt_verify_result *vr, upt_err *e)
{
	upt_journal j;
	upt_journal_init(&j);
	j.ecus = calloc(njobs ? njobs : 1, sizeof(*j.ecus));
	if (!j.ecus)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	/* Cut to size first: a cut inside a UTF-8 sequence must be made safe too. */
	char name[sizeof(j.bundle)], safe[sizeof(j.bundle)];
	snprintf(name, sizeof(name), "%s", bundle_name(a->bundle_path));
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
		snprintf(a->message, sizeof(a->message),
			 "Stopped while activating the new software; the next start of "
			 "uptane-install completes the installation (power loss included).");
		a->message_final = true;
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
		    a->message, sizeof(a->message),
		    "The new software was activated but the device could not record it; the device "
		    "needs attention.");
		return UPT_E_INSTALL_PARTIAL;
	}
	*e = ae;
	if (done == 0 && program[0]) {
		e->code = UPT_E_INSTALL;
		snprintf(
		    a->message, sizeof(a->message),
		    "Installing failed: the update program of %s failed or was stopped, so %s "
		    "may run its old software or a partly written update; %s%s. Try again with "
		    "the same stick; if it fails again, the device needs service.",
		    program, program, failed_list[0] ? failed_list : "the other ECUs",
		    failed_list[0] && !strchr(failed_list, ',') ? " still runs the old software"
								: " still run the old software");
		a->message_final = true;
		return UPT_E_INSTALL;
	}
	if (done == 0) {
		e->code = UPT_E_INSTALL;
		return UPT_E_INSTALL;
	}
	e->code = UPT_E_INSTALL_PARTIAL;
	if (program[0])
		snprintf(
		    a->message, sizeof(a->message),
		    "Installing failed part-way: %.200s now run%s the new software; the update "
		    "program of %s failed or was stopped, so %s may run old or partly written "
		    "software%s%.200s%s. The device needs attention.",
		    done_list, done == 1 ? "s" : "", program, program, failed_list[0] ? "; " : "",
		    failed_list,
		    !failed_list[0]	       ? ""
		    : strchr(failed_list, ',') ? " still run the old"
					       : " still runs the old");
	else
		snprintf(a->message, sizeof(a->message),
			 "Installing failed part-way: %.200s now run%s the new software, %.200s "
			 "still run%s the old. The device needs attention.",
			 done_list, done == 1 ? "s" : "", failed_list,
			 strchr(failed_list, ',') ? "" : "s");
	return UPT_E_INSTALL_PARTIAL;
}

void install_attempt(struct ctx *c, const char *path, struct attempt *out)
{
	struct attempt a;
	memset(&a, 0, sizeof(a));
	a.bundle_path = path;
	a.attacks = "";
	a.effective = c->clock;
	upt_err e;
	upt_err_clear(&e);
	upt_trust t0, work, keep;
	upt_installed inst;
	upt_trust_init(&t0);
	upt_trust_init(&work);
	upt_trust_init(&keep);
	upt_installed_init(&inst);
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *meta = NULL;
	upt_verify_result vr;
	bool have_vr = false;
	struct job *jobs = NULL;
	size_t njobs = 0;
	upt_ecu_ident *ids = NULL;
	const char *intended = NULL;
	struct image_keys *keys = NULL;

	int rc = state_load(c, &t0, &inst, &e);
	if (rc == UPT_OK)
		rc = upt_trust_copy(&work, &t0, &e);
	if (rc)
		goto done;
	work.time_floor = state_initial_floor(c, t0.time_floor);
	a.effective = c->clock > work.time_floor ? c->clock : work.time_floor;

	rc = upt_bundle_reader_open(path, &r, &e);
	if (rc == UPT_E_NOT_FOUND) {
		rc = UPT_E_NO_BUNDLE;
		snprintf(a.message, sizeof(a.message), "%s does not exist: no update to install.",
			 path);
		goto done;
	}
	/* Found only once it opened: "Found update /nonexistent" then "No update found" misled. */
	ev_found(&c->ev, path);
	if (rc == UPT_OK) {
		upt_bundle_reader_keep_device(r, c->cfg->device_id);
		rc = upt_bundle_read_metadata(r, &meta, &e);
	}
	if (rc)
		goto done;
	a.kind = kind_hint(meta);

	/* 1-4: all metadata, verified in memory (upt_verify is pure). */
	ids = calloc(c->cfg->necus, sizeof(*ids));
	if (!ids) {
		rc = upt_err_set(&e, UPT_E_NOMEM, "out of memory");
		goto done;
	}
	build_ident(c, &inst, ids);
	rc = image_keys_load(c->cfg, &keys, &e);
	if (rc)
		goto done;
	upt_device_ident dev = device_ident(c, ids, keys);
	upt_verify_input in = {&work, meta, &dev, c->clock};
	rc = upt_verify(&in, &vr);
	have_vr = true;
	a.effective = vr.effective_time;
	clock_warning(c, &vr, work.time_floor);
	if (rc) {
		e = vr.err;
		e.code = rc;
		intended = vr.intended_for;
		/* Roots accepted in step 1 are kept even on rejection (TUF 5.3.x). */
		persist(c, &vr.trust_after, t0.time_floor, &t0, &inst);
		goto done;
	}
	a.kind = vr.kind_fleet ? "fleet" : "device";
	snprintf(a.bundle_id, sizeof(a.bundle_id), "%s", vr.bundle_id);

	jobs = calloc(vr.nassignments ? vr.nassignments : 1, sizeof(*jobs));
	if (!jobs) {
		rc = upt_err_set(&e, UPT_E_NOMEM, "out of memory");
		goto done;
	}
	uint64_t bytes = 0;
	for (size_t i = 0; i < vr.nassignments; i++) {
		const upt_assignment *as = &vr.assignments[i];
		if (as->already_installed)
			continue;
		const upt_dev_ecu *u = upt_devconfig_ecu(c->cfg, as->ecu_serial);
		if (!u) {
			rc = upt_err_set(&e, UPT_E_INTERNAL,
					 "verified assignment for unknown ECU %s", as->ecu_serial);
			goto done;
		}
		jobs[njobs].a = as;
		jobs[njobs].ecu = u;
		jobs[njobs].st.fd = -1;
		njobs++;
		bytes += as->length;
	}
	rc = check_streaming_limits(c, bytes, &e);
	/* encrypted images: every image key opens before one image byte is read */
	if (rc == UPT_OK)
		rc = image_keys_unwrap(keys, &vr, &e);
	if (rc)
		goto done;
	ev_verified(&c->ev, path, a.kind, a.bundle_id, njobs, bytes);
	if (njobs == 0) {
		/* Nothing new, but newer metadata still counts (rollback protection). */
		persist(c, &vr.trust_after, stored_floor(&vr, &work, &t0), &t0, &inst);
		rc = UPT_E_UP_TO_DATE;
		goto done;
	}

	/* 5: one pass over the images. */
	rc = stream_all(c, r, jobs, njobs, &inst, keys, &e);
	note_streamed(c, jobs, njobs);
	if (rc) {
		abort_jobs(c, jobs, njobs);
		/* Nothing installs, but the roots step 1 accepted are kept (whatever failed). */
		upt_err ke;
		if (roots_only(&t0, &vr.trust_after, meta, &keep, &ke) == UPT_OK)
			persist(c, &keep, t0.time_floor, &t0, &inst);
		else
			ev_warning(&c->ev, "state", "accepted roots not saved: %s", ke.msg);
		goto done;
	}
	upt_bundle_reader_free(r); /* the medium is not needed any more */
	r = NULL;
	if (c->dry_run) {
		a.status = "verified";
		a.code = UPT_OK;
		a.exit_status = 0;
		snprintf(
		    a.message, sizeof(a.message),
		    "The update on this stick is valid for this device (%zu image%s verified); "
		    "nothing was installed (dry run).",
		    njobs, njobs == 1 ? "" : "s");
		goto done;
	}

	/* 6: commit. */
	vr.trust_after.time_floor = stored_floor(&vr, &work, &t0);
	rc = commit(c, &a, jobs, njobs, &vr, &e);
	for (size_t i = 0; i < njobs; i++)
		jobs[i].opened =
		    false; /* staging is the journal's now (journal_finish cleans up) */
	if (rc == UPT_OK) {
		a.status = "installed";
		a.code = UPT_OK;
		a.exit_status = 0;
		bool ab = false;
		for (size_t i = 0; i < njobs; i++)
			ab = ab || jobs[i].ecu->type == UPT_HANDLER_AB;
		snprintf(
		    a.message, sizeof(a.message), "Installed %zu image%s from %s.%s", njobs,
		    njobs == 1 ? "" : "s", bundle_name(path),
		    ab ? " Reboot the device to start the new software, then run `uptane-install "
			 "confirm`."
		       : " The device is up to date.");
	}
done:
	if (rc != UPT_OK || !a.status) {
		char keep_msg[sizeof(a.message)];
		memcpy(keep_msg, a.message, sizeof(keep_msg));
		outcome(c, &a, rc, &e, meta, intended);
		if (keep_msg[0] &&
		    (rc == UPT_E_NO_BUNDLE || rc == UPT_E_INSTALL_PARTIAL || a.message_final))
			memcpy(a.message, keep_msg, sizeof(a.message));
	}
	if (jobs)
		abort_jobs(c, jobs, njobs);
	*out = a;
	free(jobs);
	free(ids);
	image_keys_free(keys);
	if (have_vr)
		upt_verify_result_clear(&vr);
	upt_bundle_meta_free(meta);
	upt_bundle_reader_free(r);
	upt_trust_clear(&t0);
	upt_trust_clear(&work);
	upt_trust_clear(&keep);
	upt_installed_clear(&inst);
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
	upt_err e;
	upt_err_clear(&e);
	upt_trust t0, work;
	upt_installed inst;
	upt_trust_init(&t0);
	upt_trust_init(&work);
	upt_installed_init(&inst);
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *meta = NULL;
	upt_ecu_ident *ids = calloc(c->cfg->necus, sizeof(*ids));
	int rc = ids ? state_load(c, &t0, &inst, &e) : UPT_E_NOMEM;
	if (rc == UPT_OK)
		rc = upt_trust_copy(&work, &t0, &e);
	work.time_floor = state_initial_floor(c, t0.time_floor);
	if (rc == UPT_OK)
		rc = upt_bundle_reader_open(cand->path, &r, &e);
	if (rc == UPT_OK) {
		upt_bundle_reader_keep_device(r, c->cfg->device_id);
		rc = upt_bundle_read_metadata(r, &meta, &e);
	}
	struct image_keys *keys = NULL;
	if (rc == UPT_OK)
		rc = image_keys_load(c->cfg, &keys, &e);
	if (rc == UPT_OK) {
		build_ident(c, &inst, ids);
		upt_device_ident dev = device_ident(c, ids, keys);
		upt_verify_input in = {&work, meta, &dev, c->clock};
		upt_verify_result vr;
		rc = upt_verify(&in, &vr);
		if (rc)
			e = vr.err;
		cand->version = vr.director_targets_version;
		if (rc == UPT_E_NOT_FOR_DEVICE)
			snprintf(e.msg, sizeof(e.msg), "for %.400s", vr.intended_for);
		if (rc == UPT_OK) {
			bool any = false;
			for (size_t i = 0; i < vr.nassignments; i++)
				any = any || !vr.assignments[i].already_installed;
			if (!any)
				rc = UPT_E_UP_TO_DATE;
		}
		upt_verify_result_clear(&vr);
	}
	cand->code = rc;
	snprintf(cand->message, sizeof(cand->message), "%s", rc ? e.msg : "valid");
	upt_bundle_meta_free(meta);
	upt_bundle_reader_free(r);
	upt_trust_clear(&t0);
	upt_trust_clear(&work);
	upt_installed_clear(&inst);
	free(ids);
	image_keys_free(keys);
	return rc;
}
