/*
 * outcome: what a result code means to the person at the device. One table gives each code
 * the result line's status and reason (docs/threat-model.md, "Rejection classes") and the
 * sentence for people; the install flow, the early failures of main.c and media.c all read it,
 * so one outcome is told the same way wherever it happens.
 */
#include <stdio.h>

#include "installer.h"

static const struct outcome outcomes[] = {
    {UPT_OK, "installed", NULL, "The update was installed."}, /* "verified" in a dry run */
    {UPT_E_FREEZE, "rejected", "freeze", "This stick's update has expired; ask for a new one."},
    {UPT_E_ROLLBACK, "rejected", "rollback",
     "This stick carries an older update than the device already has, so it was refused; ask "
     "for the current one."},
    {UPT_E_ARBITRARY_SOFTWARE, "rejected", "arbitrary-software",
     "This stick's update is not signed by the keys this device trusts (or its contents "
     "differ from what was signed). It may have been tampered with: do not use it, and report "
     "it to the manufacturer."},
    {UPT_E_UNTRUSTED_ROOT, "rejected", "untrusted-root",
     "This device has no usable trusted keys and refuses every update; it needs to be "
     "re-provisioned by the manufacturer."},
    {UPT_E_MIX_AND_MATCH, "rejected", "mix-and-match",
     "This stick's update mixes files from different releases, so it was refused; ask for a "
     "new one."},
    {UPT_E_ENDLESS_DATA, "rejected", "endless-data",
     "An image on this stick is longer than its signature allows. It may have been tampered "
     "with: do not use it, and report it to the manufacturer."},
    {UPT_E_WRONG_ECU, "rejected", "wrong-ecu",
     "This update names a control unit this device does not have; ask for the update made for "
     "this device."},
    {UPT_E_WRONG_HARDWARE, "rejected", "wrong-hardware",
     "This update is for different hardware than this device has; ask for the update made for "
     "this device."},
    {UPT_E_TARGET_MISMATCH, "rejected", "target-mismatch",
     "The two signing authorities disagree about an image on this stick, so it was refused. "
     "Report it to the manufacturer and ask for a new one."},
    {UPT_E_MALFORMED, "rejected", "malformed",
     "The update file on this stick is damaged or incomplete; copy it again or ask for a new "
     "one."},
    {UPT_E_UNSAFE_ARCHIVE, "rejected", "unsafe-archive",
     "The update file on this stick contains entries that are not allowed, so it was refused; "
     "ask for a new one and report it to the manufacturer."},
    {UPT_E_TOO_LARGE, "rejected", "too-large",
     "The update file on this stick exceeds this device's size limits, so it was refused; ask "
     "for a new one."},
    {UPT_E_POLICY, "rejected", "policy", "This device does not accept this update."},
    {UPT_E_NOT_FOR_DEVICE, "not-for-this-device", NULL,
     "This update is not for this device. Nothing was changed."},
    {UPT_E_UP_TO_DATE, "up-to-date", NULL,
     "This device already runs everything on this stick; nothing to do."},
    {UPT_E_NO_BUNDLE, "no-bundle", NULL, "No update was found."},
    {UPT_E_IO, "failed", "io",
     "The update could not be read (I/O error, or the stick was removed). Nothing was "
     "changed; re-insert the stick and try again."},
    {UPT_E_BUSY, "failed", "io", "Another installation is running; try again in a few minutes."},
    {UPT_E_INTERRUPTED, "failed", "interrupted",
     "Stopped before the new software was activated; the previous software is still active. "
     "Insert the stick again to install."},
    {UPT_E_INSTALL, "failed", "install",
     "Installing failed; the previous software is still active. Try again; if it fails again, "
     "the device needs service."},
    {UPT_E_INSTALL_PARTIAL, "failed", "install",
     "Installing failed part-way: some ECUs run the new software, some the old. The device "
     "needs attention."},
    {UPT_E_CONFIG, "failed", "config",
     "The device configuration is wrong; the device needs service."},
    {UPT_E_USAGE, "failed", "config",
     "The device configuration is wrong; the device needs service."},
};

static const struct outcome internal = {
    UPT_E_INTERNAL, "failed", "internal",
    "The installer hit an internal error; nothing was installed. The device needs service."};

const struct outcome *outcome_of(int code)
{
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (outcomes[i].code == code)
			return &outcomes[i];
	return &internal; /* out of memory, internal, and any code without a row */
}

int outcome_report(struct ctx *c, int code, const upt_err *e, const char *message)
{
	const struct outcome *o = outcome_of(code);
	const char *detail = e && e->msg[0] ? e->msg : NULL;
	ev_result(&c->ev, o->status, o->reason, NULL, message ? message : o->message, detail);
	if (!c->json && detail)
		fprintf(stderr, "uptane-install: %s\n", detail);
	return upt_err_exit_status(code);
}
