/*
 * status and confirm: what the device runs, and finishing an A/B update after the reboot
 * (docs/device-config.md). `confirm` runs each pending ECU's optional confirm program and makes
 * the pending image the installed one; `confirm --failed` (the new slot did not boot, the
 * bootloader fell back) drops the pending record so the same bundle can be installed again.
 * Either writes a signed report of the outcome (docs/reports.md).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "installer.h"
#include "upt/hex.h"
#include "upt/meta.h"
#include "upt/rfc3339.h"

static uint64_t root_version(const upt_trust *t, const char *name)
{
	const upt_buf *b = upt_trust_get(t, name);
	upt_meta *m = NULL;
	uint64_t v = 0;
	if (b && upt_meta_parse(b->data, b->len, UPT_ROLE_ROOT, &m, NULL) == UPT_OK)
		v = m->version;
	upt_meta_free(m);
	return v;
}

static json_t *image_json(const upt_image_record *r)
{
	char sha[2 * UPT_SHA256_LEN + 1], when[UPT_RFC3339_LEN + 1];
	upt_hex_encode(r->hashes.sha256, UPT_SHA256_LEN, sha);
	upt_rfc3339_format(r->installed_at, when);
	return json_pack("{s:s, s:I, s:s, s:I, s:s, s:s, s:s}", "target", r->target, "length",
			 (json_int_t)r->length, "sha256", sha, "release_counter",
			 (json_int_t)r->release_counter, "installed_at", when, "bundle", r->bundle,
			 "bundle_id", r->bundle_id);
}

static void say_image(struct ctx *c, const char *label, const upt_image_record *r)
{
	char sha[2 * UPT_SHA256_LEN + 1], when[UPT_RFC3339_LEN + 1];
	upt_hex_encode(r->hashes.sha256, UPT_SHA256_LEN, sha);
	upt_rfc3339_format(r->installed_at, when);
	ev_say(&c->ev,
	       "    %s %s (%llu bytes, sha256 %.16s..., release %llu), installed %s from %s (%s)",
	       label, r->target, (unsigned long long)r->length, sha,
	       (unsigned long long)r->release_counter, when, r->bundle, r->bundle_id);
}

int cmd_status(struct ctx *c)
{
	upt_err e;
	upt_err_clear(&e);
	upt_trust t;
	upt_installed inst;
	upt_trust_init(&t);
	upt_installed_init(&inst);
	int rc = state_load(c, &t, &inst, &e);
	if (rc) {
		ev_result(&c->ev, "failed", "internal", NULL, "The device state cannot be read.",
			  e.msg);
		return upt_err_exit_status(rc);
	}
	char floor[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(state_initial_floor(c, t.time_floor), floor);
	uint64_t dv = root_version(&t, "director/root.json");
	uint64_t iv = root_version(&t, "image-repo/root.json");
	json_t *ecus = c->json ? json_array() : NULL;
	if (!c->json) {
		ev_say(&c->ev, "Device %s (primary ECU %s)", c->cfg->device_id,
		       c->cfg->primary_ecu);
		ev_say(&c->ev,
		       "  trusted roots: Director v%llu, Image repository v%llu; time floor %s",
		       (unsigned long long)dv, (unsigned long long)iv, floor);
	}
	for (size_t i = 0; i < c->cfg->necus; i++) {
		const upt_dev_ecu *u = &c->cfg->ecus[i];
		const upt_installed_ecu *r = upt_installed_get(&inst, u->serial);
		if (c->json) {
			json_t *o = json_pack(
			    "{s:s, s:s, s:s, s:o, s:o}", "serial", u->serial, "hardware_id",
			    u->hardware_id, "handler", upt_handler_name(u->type), "installed",
			    r && r->has_image ? image_json(&r->image) : json_null(), "pending",
			    r && r->has_pending ? image_json(&r->pending) : json_null());
			if (o && u->type == UPT_HANDLER_AB) {
				json_object_set_new(o, "active_slot",
						    json_integer(r ? r->active_slot : 0));
				if (r && r->has_pending)
					json_object_set_new(o, "pending_slot",
							    json_integer(r->pending_slot));
			}
			json_array_append_new(ecus, o);
			continue;
		}
		ev_say(&c->ev, "  ECU %s (%s, %s%s%s)", u->serial, u->hardware_id,
		       upt_handler_name(u->type), u->type == UPT_HANDLER_AB ? ", active slot " : "",
		       u->type == UPT_HANDLER_AB ? (r && r->active_slot ? "1" : "0") : "");
		if (r && r->has_image)
			say_image(c, "runs", &r->image);
		else
			ev_say(&c->ev, "    runs its factory image (release %llu)",
			       (unsigned long long)u->release_counter);
		if (r && r->has_pending) {
			say_image(c, "PENDING", &r->pending);
			ev_say(&c->ev,
			       "    (in slot %d: after a successful boot run `uptane-install "
			       "confirm`; "
			       "if the device fell back to the old slot, `uptane-install confirm "
			       "--failed`)",
			       r->pending_slot);
		}
	}
	uint64_t last = state_last_counter(c);
	if (c->json) {
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:{s:I, s:I}, s:s, s:o, s:I}", "event", "status",
			      "device_id", c->cfg->device_id, "primary_ecu", c->cfg->primary_ecu,
			      "roots", "director", (json_int_t)dv, "image-repo", (json_int_t)iv,
			      "time_floor", floor, "ecus", ecus, "last_report", (json_int_t)last);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		ev_say(&c->ev, "  reports: last counter %llu (in %s/reports)",
		       (unsigned long long)last, c->cfg->state_dir);
	}
	upt_trust_clear(&t);
	upt_installed_clear(&inst);
	return 0;
}

int cmd_confirm(struct ctx *c, bool failed)
{
	upt_err e;
	upt_err_clear(&e);
	upt_trust t;
	upt_installed inst;
	upt_trust_init(&t);
	upt_installed_init(&inst);
	const char **states = calloc(c->cfg->necus, sizeof(*states));
	int status = 0;
	int rc =
	    states ? state_load(c, &t, &inst, &e) : upt_err_set(&e, UPT_E_NOMEM, "out of memory");
	if (rc) {
		ev_result(&c->ev, "failed", "internal", NULL, "The device state cannot be read.",
			  e.msg);
		status = upt_err_exit_status(rc);
		goto out;
	}
	struct attempt a;
	memset(&a, 0, sizeof(a));
	size_t n = 0, bad = 0;
	char names[512] = "";
	for (size_t i = 0; i < inst.necus; i++) {
		upt_installed_ecu *r = &inst.ecus[i];
		const upt_dev_ecu *u = upt_devconfig_ecu(c->cfg, r->serial);
		if (!r->has_pending || !u || u->type != UPT_HANDLER_AB)
			continue;
		if (!failed && u->confirm.argc) {
			upt_err ce;
			upt_err_clear(&ce);
			if (ab_run(u, &u->confirm, r->pending_slot, &ce) != UPT_OK) {
				ev_warning(&c->ev, "confirm-failed", "%s", ce.msg);
				snprintf(a.detail, sizeof(a.detail), "%s", ce.msg);
				bad++;
				continue; /* stays pending */
			}
		}
		if (!failed) {
			r->image = r->pending;
			r->has_image = true;
			r->active_slot = r->pending_slot;
		}
		r->has_pending = false;
		states[u - c->cfg->ecus] = failed ? "fell-back" : "confirmed";
		size_t used = strlen(names);
		snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", r->serial);
		n++;
	}
	if (n == 0 && bad == 0) {
		ev_result(&c->ev, "up-to-date", NULL, NULL,
			  "Nothing is pending; nothing to confirm.", NULL);
		status = 3;
		goto out;
	}
	if (n) {
		rc = state_save_installed(c, &inst, &e);
		if (rc) {
			ev_result(&c->ev, "failed", upt_err_class(rc), NULL,
				  "The confirmation could not be recorded; try again.", e.msg);
			status = upt_err_exit_status(rc);
			goto out;
		}
	}
	if (bad) {
		snprintf(a.message, sizeof(a.message),
			 "%s%s%s%zu ECU(s) could not be confirmed and stay pending; the "
			 "device needs attention.",
			 n ? "Confirmed " : "", names, n ? ". " : "", bad);
		a.status = "failed";
		a.reason = "install";
		status = 6;
	} else if (failed) {
		snprintf(a.message, sizeof(a.message),
			 "Recorded that %s did not boot the new software; the old "
			 "software stays installed and the update can be tried again.",
			 names);
		a.status = "reverted";
	} else {
		snprintf(a.message, sizeof(a.message), "Confirmed: %s now run%s the new software.",
			 names, n == 1 ? "s" : "");
		a.status = "confirmed";
	}
	/* The station learns of the outcome like of any other: a signed report with no bundle,
	 * kept in state_dir/reports/ (docs/reports.md). */
	int64_t floor = state_initial_floor(c, t.time_floor);
	a.effective = c->clock > floor ? c->clock : floor;
	a.attacks = "";
	a.ecu_states = states;
	report_write(c, &a, NULL, NULL);
	ev_result(&c->ev, a.status, a.reason, NULL, a.message, a.detail);
out:
	free(states);
	upt_trust_clear(&t);
	upt_installed_clear(&inst);
	return status;
}
