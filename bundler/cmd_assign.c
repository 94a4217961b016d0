/*
 * assign: what the Director tells devices to install.
 *   device bundles: --device ID --ecu SERIAL[:HW]=TARGET..  (Director targets bound to ECU
 *     serials; HW, the ECU's hardware id, defaults to the target's only hardware id)
 *   fleet bundles (PURE-2): --hardware-id HW=TARGET.. [--device ID..]  (offline-updates targets
 *     bound by hardware id, optionally narrowed to a device allow-list)
 * A device's assignment is replaced by the ECUs one command names (a mistyped serial does not
 * linger beside the right one; the ECUs dropped are printed); --add keeps the others. Fleet
 * assignments accumulate: assigning a hardware id again replaces its target. --clear drops a
 * device's assignments (with --device) or the fleet's (alone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "workspace.h"

static const char usage[] =
    "usage: uptane-bundle assign WORKSPACE --device ID --ecu SERIAL[:HW]=TARGET.. [--add]\n"
    "       uptane-bundle assign WORKSPACE --hardware-id HW=TARGET.. [--device ID..]\n"
    "       uptane-bundle assign WORKSPACE [--device ID] --clear\n"
    "  The first form tells device ID's ECU SERIAL to install TARGET (device bundles); HW is\n"
    "  the ECU's hardware id, needed only when TARGET lists several. The second tells every\n"
    "  ECU of hardware HW to install TARGET (fleet bundles, create --fleet), optionally only\n"
    "  on the devices listed. TARGET must have been added with target add, for that hardware.\n"
    "  The first form replaces the device's assignment: ECUs assigned before and not named\n"
    "  are dropped (and listed); with --add they are kept and the named ones added or\n"
    "  changed.\n";

static const arg_opt opts[] = {
    {"device", 0, ARG_LIST}, {"ecu", 0, ARG_LIST}, {"hardware-id", 0, ARG_LIST},
    {"clear", 0, ARG_NONE},  {"add", 0, ARG_NONE},
};

static bool has_hwid(const json_t *target, const char *hw)
{
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(target, "hardwareIds"), i, h)
	{
		if (json_is_string(h) && !strcmp(json_string_value(h), hw))
			return true;
	}
	return false;
}

static int find_target(const ws *w, const char *name, const json_t **out, upt_err *e)
{
	const json_t *t = json_object_get(json_object_get(w->doc, "targets"), name);
	if (!t)
		return upt_err_set(e, UPT_E_USAGE,
				   "unknown target \"%.200s\" (add it first: "
				   "uptane-bundle target add WORKSPACE FILE --name NAME ...)",
				   name);
	*out = t;
	return UPT_OK;
}

static int assign_device(ws *w, const char *dev, const arg_val *ecus, bool add, upt_err *e)
{
	if (!upt_name_valid(dev))
		return upt_err_set(e, UPT_E_USAGE,
				   "device id \"%.200s\": use 1 to 128 letters, "
				   "digits, '.', '_' or '-'",
				   dev);
	json_t *devices = json_object_get(w->doc, "devices");
	json_t *cur = json_object_get(devices, dev);
	json_t *next = cur && add ? json_deep_copy(cur) : json_object();
	if (!next)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < ecus->n; i++) {
		char *copy = NULL;
		const char *left, *target;
		const json_t *t = NULL;
		rc = parse_assign("--ecu", ecus->v[i], &copy, &left, &target, e);
		if (rc)
			break;
		char *colon = strchr(copy, ':');
		const char *hw = NULL;
		if (colon) {
			*colon = '\0';
			hw = colon + 1;
		}
		const char *serial = left;
		if (!upt_name_valid(serial))
			rc = upt_err_set(e, UPT_E_USAGE,
					 "ECU serial \"%.200s\": use 1 to 128 letters, "
					 "digits, '.', '_' or '-'",
					 serial);
		if (rc == UPT_OK)
			rc = find_target(w, target, &t, e);
		if (rc == UPT_OK && !hw) {
			const json_t *hws = json_object_get(t, "hardwareIds");
			if (json_array_size(hws) != 1)
				rc =
				    upt_err_set(e, UPT_E_USAGE,
						"target %s is built for several hardware ids: name "
						"the ECU's as --ecu %s:HW=%s",
						target, serial, target);
			else
				hw = json_string_value(json_array_get(hws, 0));
		}
		if (rc == UPT_OK && !has_hwid(t, hw))
			rc = upt_err_set(e, UPT_E_USAGE,
					 "target %s is not built for hardware id "
					 "%.200s (the device would refuse it)",
					 target, hw);
		if (rc == UPT_OK && json_object_size(next) >= UPT_ECUS_MAX &&
		    !json_object_get(next, serial))
			rc = upt_err_set(e, UPT_E_USAGE, "more than %d ECUs for device %s",
					 UPT_ECUS_MAX, dev);
		if (rc == UPT_OK) {
			json_object_set_new(
			    next, serial,
			    json_pack("{s:s, s:s}", "target", target, "hardwareId", hw));
			printf("device %s: ECU %s (%s) -> %s\n", dev, serial, hw, target);
		}
		free(copy);
	}
	if (rc == UPT_OK && !cur && json_object_size(devices) >= UPT_DEVICES_PER_BUNDLE_MAX)
		rc =
		    upt_err_set(e, UPT_E_USAGE, "more than %d devices", UPT_DEVICES_PER_BUNDLE_MAX);
	if (rc == UPT_OK) {
		const char *serial;
		json_t *old;
		json_object_foreach(cur, serial, old)
		{
			if (!json_object_get(next, serial))
				printf("device %s: ECU %s no longer assigned (was %s; --add keeps "
				       "ECUs not named)\n",
				       dev, serial,
				       json_string_value(json_object_get(old, "target")));
		}
		json_object_set(devices, dev, next);
	}
	json_decref(next);
	return rc;
}

static int assign_fleet(ws *w, const arg_val *hws, const arg_val *devs, upt_err *e)
{
	json_t *fleet = json_object_get(w->doc, "fleet");
	json_t *next = json_deep_copy(fleet);
	json_t *devlist = json_array();
	int rc = next && devlist ? UPT_OK : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if (rc == UPT_OK && devs->n > UPT_HWIDS_MAX)
		rc = upt_err_set(e, UPT_E_USAGE, "more than %d devices in one allow-list",
				 UPT_HWIDS_MAX);
	for (size_t i = 0; rc == UPT_OK && i < devs->n; i++) {
		if (!upt_name_valid(devs->v[i]))
			rc = upt_err_set(e, UPT_E_USAGE,
					 "device id \"%.200s\": use 1 to 128 letters, "
					 "digits, '.', '_' or '-'",
					 devs->v[i]);
		else
			json_array_append_new(devlist, json_string(devs->v[i]));
	}
	for (size_t i = 0; rc == UPT_OK && i < hws->n; i++) {
		char *copy = NULL;
		const char *hw, *target;
		const json_t *t = NULL;
		rc = parse_assign("--hardware-id", hws->v[i], &copy, &hw, &target, e);
		if (rc)
			break;
		if (!upt_name_valid(hw))
			rc = upt_err_set(e, UPT_E_USAGE,
					 "hardware id \"%.200s\": use 1 to 128 letters, "
					 "digits, '.', '_' or '-'",
					 hw);
		if (rc == UPT_OK)
			rc = find_target(w, target, &t, e);
		if (rc == UPT_OK && !has_hwid(t, hw))
			rc = upt_err_set(e, UPT_E_USAGE,
					 "target %s is not built for hardware id "
					 "%.200s (devices would refuse it)",
					 target, hw);
		if (rc == UPT_OK) {
			json_t *entry = json_pack("{s:s}", "target", target);
			if (json_array_size(devlist))
				json_object_set(entry, "devices", devlist);
			json_object_set_new(next, hw, entry);
			printf("fleet: hardware %s -> %s%s\n", hw, target,
			       json_array_size(devlist) ? " (listed devices only)" : "");
		}
		free(copy);
	}
	if (rc == UPT_OK)
		json_object_set(w->doc, "fleet", next);
	json_decref(next);
	json_decref(devlist);
	return rc;
}

/* The usage error for a combination assign does not take, or NULL. */
static const char *assign_misuse(const args *a)
{
	const arg_val *dev = args_get(a, "device"), *ecu = args_get(a, "ecu"),
		      *hw = args_get(a, "hardware-id");
	bool clear = args_flag(a, "clear");
	if (a->npos != 1)
		return "expected one WORKSPACE";
	if (args_flag(a, "add") && !ecu->n)
		return "--add goes with --device ID --ecu ..";
	if (clear ? (ecu->n || hw->n || dev->n > 1)
		  : (ecu->n && hw->n) || (!ecu->n && !hw->n) || (ecu->n && dev->n != 1))
		return "give either --device ID --ecu SERIAL=TARGET.., "
		       "or --hardware-id HW=TARGET.. [--device ID..], or --clear";
	return NULL;
}

static int assign(ws *w, const args *a, upt_err *e)
{
	const arg_val *dev = args_get(a, "device"), *ecu = args_get(a, "ecu");
	if (args_flag(a, "clear") && dev->n) {
		if (json_object_del(json_object_get(w->doc, "devices"), dev->v[0]) != 0)
			return upt_err_set(e, UPT_E_USAGE, "device %.200s has no assignments",
					   dev->v[0]);
		return UPT_OK;
	}
	if (args_flag(a, "clear")) {
		json_object_set_new(w->doc, "fleet", json_object());
		return UPT_OK;
	}
	if (ecu->n)
		return assign_device(w, dev->v[0], ecu, args_flag(a, "add"), e);
	return assign_fleet(w, args_get(a, "hardware-id"), dev, e);
}

static int assign_run(const args *a)
{
	const char *misuse = assign_misuse(a);
	if (misuse)
		return cli_usage("assign", usage, "%s", misuse);
	upt_err e;
	upt_err_clear(&e);
	ws w = {.dirfd = -1, .lockfd = -1};
	int rc = ws_open(a->pos[0], &w, &e);
	if (rc == UPT_OK)
		rc = assign(&w, a, &e);
	if (rc == UPT_OK)
		rc = ws_save(&w, &e);
	int status = rc ? cli_fail("assign", &e) : 0;
	ws_close(&w);
	return status;
}

int cmd_assign(int argc, char **argv)
{
	return cli_run("assign", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       assign_run);
}
