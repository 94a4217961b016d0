/*
 * journal: the commit (docs/threat-model.md, device-config.md). Every image is staged, synced and
 * verified before the journal exists; its existence is the commit point. Then ECU by ECU:
 * activate, record. A crash at any instant is completed on the next start (roll forward):
 * staged ECUs are activated, an exec ECU whose program had started is never started again
 * (its outcome is unknown: recorded as failed, the device needs attention), and the new
 * trusted state (prepared in trusted.new/ before the journal) is published with the records of
 * the ECUs that were activated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "installer.h"
#include "upt/fileio.h"
#include "upt/limits.h"

#define JOURNAL "journal"

int journal_write(struct ctx *c, const upt_journal *j, upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, UPT_STATE_FILE_MAX);
	int rc = upt_journal_serialize(j, &b, e);
	if (rc == UPT_OK)
		rc = upt_file_write_atomic(c->statefd, JOURNAL, b.data, b.len, 0600, e);
	upt_buf_clear(&b);
	return rc;
}

int journal_activate(struct ctx *c, upt_journal *j, bool live, upt_err *e)
{
	int first = UPT_OK;
	bool stop = false;
	for (size_t i = 0; i < j->necus; i++) {
		upt_journal_ecu *je = &j->ecus[i];
		upt_err ae;
		upt_err_clear(&ae);
		if (je->state == UPT_JOURNAL_DONE || je->state == UPT_JOURNAL_FAILED)
			continue;
		if (live && !stop && stop_requested)
			/* Between steps: the rest stays staged in the journal for the next start.
			 */
			return first == UPT_OK
				   ? upt_err_set(e, UPT_E_INTERRUPTED,
						 "stopped by a signal during the commit")
				   : first;
		const upt_dev_ecu *u = upt_devconfig_ecu(c->cfg, je->serial);
		if (stop) {
			je->state = UPT_JOURNAL_FAILED;
		} else if (!u || u->type != je->type) {
			upt_err_set(&ae, UPT_E_INSTALL,
				    "%s: no longer configured as a %s ECU; not activated",
				    je->serial, upt_handler_name(je->type));
			je->state = UPT_JOURNAL_FAILED;
		} else if (je->state == UPT_JOURNAL_RUNNING) {
			/* Started before the interruption: never run twice. What it did is unknown.
			 */
			upt_err_set(
			    &ae, UPT_E_INSTALL,
			    "%s: the install command was interrupted; its outcome is unknown "
			    "and it is not run again",
			    je->serial);
			je->state = UPT_JOURNAL_FAILED;
		} else {
			int rc = UPT_OK;
			if (je->type == UPT_HANDLER_EXEC) {
				je->state = UPT_JOURNAL_RUNNING;
				rc = journal_write(c, j, &ae);
			}
			if (rc == UPT_OK)
				rc = handler_for(u->type)->activate(c, u, je, &c->ev, &ae);
			je->state = rc ? UPT_JOURNAL_FAILED : UPT_JOURNAL_DONE;
			if (rc == UPT_OK && live)
				ev_installed(&c->ev, je->serial, je->record.target,
					     je->type == UPT_HANDLER_AB);
			if (rc == UPT_OK && !live)
				ev_warning(&c->ev, "recovered",
					   "%s: activated %s (interrupted installation completed)",
					   je->serial, je->record.target);
		}
		if (je->state == UPT_JOURNAL_FAILED && ae.code) {
			if (!live)
				ev_warning(&c->ev, "recovery-failed", "%s", ae.msg);
			if (first == UPT_OK && e)
				*e = ae;
			if (first == UPT_OK)
				first = ae.code ? ae.code : UPT_E_INSTALL;
			/* A live install stops at the first failure: the rest stay as they are. */
			stop = live;
		}
		upt_err we;
		if (journal_write(c, j, &we) != UPT_OK && first == UPT_OK) {
			if (e)
				*e = we;
			first = we.code;
			stop = true;
		}
	}
	return first;
}

int journal_finish(struct ctx *c, const upt_journal *j, upt_err *e)
{
	int rc = UPT_OK;
	if (state_has_new(c)) {
		upt_trust t;
		upt_installed inst;
		upt_trust_init(&t);
		upt_installed_init(&inst);
		rc = state_load(c, &t, &inst, e);
		for (size_t i = 0; rc == UPT_OK && i < j->necus; i++) {
			const upt_journal_ecu *je = &j->ecus[i];
			if (je->state != UPT_JOURNAL_DONE)
				continue;
			upt_installed_ecu *r = upt_installed_upsert(&inst, je->serial);
			if (!r) {
				rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
				break;
			}
			if (je->type == UPT_HANDLER_AB) {
				r->has_pending = true;
				r->pending_slot = je->slot;
				r->pending = je->record;
			} else {
				r->has_image = true;
				r->image = je->record;
			}
		}
		if (rc == UPT_OK)
			rc = state_publish_new(c, &inst, e);
		upt_trust_clear(&t);
		upt_installed_clear(&inst);
	} else {
		rc = state_finish_swap(c, e);
	}
	if (rc)
		return rc;
	if (unlinkat(c->statefd, JOURNAL, 0) != 0 && errno != ENOENT)
		return upt_err_set(e, UPT_E_IO, "cannot remove the journal: %s", strerror(errno));
	if (fsync(c->statefd) != 0)
		return upt_err_set(e, UPT_E_IO, "fsync of the state directory: %s",
				   strerror(errno));
	for (size_t i = 0; i < c->cfg->necus; i++)
		handler_for(c->cfg->ecus[i].type)->cleanup(c, &c->cfg->ecus[i]);
	return UPT_OK;
}

int journal_recover(struct ctx *c, upt_err *e)
{
	upt_buf b;
	upt_journal j;
	upt_buf_init(&b, UPT_STATE_FILE_MAX);
	upt_journal_init(&j);
	int rc = upt_file_read(c->statefd, JOURNAL, UPT_STATE_FILE_MAX, &b, e);
	if (rc == UPT_E_NOT_FOUND) {
		upt_err_clear(e);
		rc = UPT_OK;
		goto out;
	}
	if (rc == UPT_OK)
		rc = upt_journal_parse(b.data, b.len, &j, e);
	if (rc) {
		upt_err_prefix(e,
			       "the installation journal %s/journal cannot be read; the device "
			       "needs attention",
			       c->cfg->state_dir);
		goto out;
	}
	ev_warning(&c->ev, "recovering",
		   "An installation from %s was interrupted; completing it (%zu ECU%s).", j.bundle,
		   j.necus, j.necus == 1 ? "" : "s");
	upt_err ae;
	upt_err_clear(&ae);
	if (journal_activate(c, &j, false, &ae) != UPT_OK) {
		/* failures are per ECU, recorded in j and reported as warnings */
	}
	rc = journal_finish(c, &j, e);
out:
	upt_buf_clear(&b);
	upt_journal_clear(&j);
	return rc;
}

int journal_open_state(struct ctx *c, upt_err *e)
{
	int rc = state_lock(c, e);
	/* An interrupted commit first: it rolls forward into trusted/. */
	if (rc == UPT_OK)
		rc = journal_recover(c, e);
	if (rc == UPT_OK)
		rc = state_tidy(c, e);
	return rc;
}
