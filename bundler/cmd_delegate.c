/*
 * delegate: an Image-repository delegation from the top-level targets role to a named role
 * (TUF 1.0 delegations, walked by devices in the order they are listed): its keys and
 * threshold, the target paths it may sign, optionally the hardware ids it may sign for
 * (docs/bundle-format.md), and whether it is terminating. Delegating again to the same name
 * updates it in place (the order stays). Targets signed by it are added with target add --role.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/rfc3339.h"
#include "workspace.h"

static const char usage[] =
    "usage: uptane-bundle delegate WORKSPACE --role NAME --key K.. --path PATTERN..\n"
    "         [--threshold N] [--hardware-id HW..] [--terminating] [--expires DURATION]\n"
    "  Delegates the Image repository's target paths matching PATTERN ('*' and '?' never\n"
    "  match '/') to role NAME, signed by K.. (NAME.key here, or NAME.pub when signed\n"
    "  elsewhere). --hardware-id limits the role to those hardware ids; --terminating stops\n"
    "  the search at this role for matching paths. Roles are searched in the order they\n"
    "  were first delegated. --expires: the role's lifetime (default the targets role's);\n"
    "  DURATION: <n>h hours, <n>d days or <n>y calendar years (12h, 90d, 2y).\n";

static const arg_opt opts[] = {
    {"role", 0, ARG_ONE},      {"key", 0, ARG_LIST},	     {"path", 0, ARG_LIST},
    {"threshold", 0, ARG_ONE}, {"hardware-id", 0, ARG_LIST}, {"terminating", 0, ARG_NONE},
    {"expires", 0, ARG_ONE},
};

static bool pattern_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > UPT_TARGET_NAME_MAX || p[0] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-' || c == '/' || c == '*' ||
		      c == '?'))
			return false;
	}
	return true;
}

static int delegate(ws *w, const args *a, upt_err *e)
{
	static const char *const reserved[] = {"root",	    "targets",		"snapshot",
					       "timestamp", "offline-snapshot", "offline-updates"};
	const char *name = args_one(a, "role");
	const arg_val *keys = args_get(a, "key"), *paths = args_get(a, "path"),
		      *hws = args_get(a, "hardware-id");
	if (!name || !keys->n || !paths->n)
		return upt_err_set(e, UPT_E_USAGE, "--role, --key and --path are required");
	if (!upt_name_valid(name))
		return upt_err_set(e, UPT_E_USAGE,
				   "role name \"%.200s\": use 1 to 128 letters, "
				   "digits, '.', '_' or '-'",
				   name);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(name, reserved[i]))
			return upt_err_set(e, UPT_E_USAGE,
					   "role name %s is reserved for a top-level "
					   "role",
					   name);
	if (keys->n > UPT_KEYS_PER_ROLE_MAX || paths->n > UPT_PATHS_PER_DELEGATION_MAX ||
	    hws->n > UPT_HWIDS_MAX)
		return upt_err_set(e, UPT_E_USAGE, "too many keys, paths or hardware ids");
	json_t *entry = json_pack("{s:s, s:[], s:[], s:[], s:b}", "name", name, "keys", "paths",
				  "hardwareIds", "terminating", args_flag(a, "terminating"));
	if (!entry)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < keys->n; i++) {
		json_t *k = NULL;
		rc = ws_key_entry(keys->v[i], &k, e);
		size_t j;
		json_t *o;
		json_array_foreach(json_object_get(entry, "keys"), j, o)
		{
			if (rc == UPT_OK &&
			    json_equal(json_object_get(o, "keyid"), json_object_get(k, "keyid")))
				rc = upt_err_set(e, UPT_E_USAGE, "key %s given twice", keys->v[i]);
		}
		if (rc == UPT_OK)
			json_array_append(json_object_get(entry, "keys"), k);
		json_decref(k);
	}
	for (size_t i = 0; rc == UPT_OK && i < paths->n; i++) {
		if (!pattern_ok(paths->v[i]))
			rc = upt_err_set(
			    e, UPT_E_USAGE,
			    "--path \"%.200s\": a relative target path "
			    "pattern of letters, digits, '.', '_', '+', '-', '/', '*' and "
			    "'?'",
			    paths->v[i]);
		else
			json_array_append_new(json_object_get(entry, "paths"),
					      json_string(paths->v[i]));
	}
	for (size_t i = 0; rc == UPT_OK && i < hws->n; i++) {
		if (!upt_name_valid(hws->v[i]))
			rc = upt_err_set(e, UPT_E_USAGE,
					 "hardware id \"%.200s\": use 1 to 128 letters, "
					 "digits, '.', '_' or '-'",
					 hws->v[i]);
		else
			json_array_append_new(json_object_get(entry, "hardwareIds"),
					      json_string(hws->v[i]));
	}
	uint64_t t = 1;
	if (rc == UPT_OK && args_one(a, "threshold")) {
		rc = parse_u64("--threshold", args_one(a, "threshold"), 1, keys->n, &t, e);
		if (rc)
			rc = upt_err_set(e, UPT_E_USAGE,
					 "--threshold must be between 1 and the %zu "
					 "keys given",
					 keys->n);
	}
	if (rc == UPT_OK)
		json_object_set_new(entry, "threshold", json_integer((json_int_t)t));
	const char *exp = args_one(a, "expires");
	if (rc == UPT_OK && exp) {
		int64_t secs;
		rc = upt_duration_parse(exp, now_utc(), &secs, e);
		if (rc == UPT_OK && secs < WS_MIN_VALIDITY)
			rc = upt_err_set(e, UPT_E_USAGE, "--expires %s: at least 7 days", exp);
		if (rc == UPT_OK)
			json_object_set_new(entry, "expires", json_string(exp));
	}
	json_t *list = json_object_get(w->doc, "delegations");
	if (rc == UPT_OK) {
		bool replaced = false;
		size_t i;
		json_t *d;
		json_array_foreach(list, i, d)
		{
			const char *n = json_string_value(json_object_get(d, "name"));
			if (!replaced && n && !strcmp(n, name)) {
				json_array_set(list, i, entry);
				replaced = true;
			}
		}
		if (!replaced && json_array_size(list) >= UPT_DELEGATIONS_MAX)
			rc = upt_err_set(e, UPT_E_USAGE, "more than %d delegations",
					 UPT_DELEGATIONS_MAX);
		if (rc == UPT_OK && !replaced)
			json_array_append(list, entry);
		/* Targets already signed by the role must still fall within its paths. */
		const char *tn;
		json_t *tv;
		json_object_foreach(json_object_get(w->doc, "targets"), tn, tv)
		{
			const char *role = json_string_value(json_object_get(tv, "role"));
			if (rc || !role || strcmp(role, name))
				continue;
			bool match = false;
			for (size_t p = 0; p < paths->n; p++)
				match |= ws_path_match(paths->v[p], tn);
			if (!match)
				rc = upt_err_set(e, UPT_E_USAGE,
						 "target %s, signed by %s, matches none of "
						 "the new paths",
						 tn, name);
		}
		if (rc == UPT_OK)
			printf("%s role %s: %zu key(s), threshold %llu, %zu path pattern(s)%s\n",
			       replaced ? "updated" : "delegated to", name, keys->n,
			       (unsigned long long)t, paths->n,
			       args_flag(a, "terminating") ? ", terminating" : "");
	}
	json_decref(entry);
	return rc;
}

static int delegate_run(const args *a)
{
	if (a->npos != 1)
		return cli_usage("delegate", usage, "expected one WORKSPACE");
	upt_err e;
	upt_err_clear(&e);
	ws w = {.dirfd = -1, .lockfd = -1};
	int rc = ws_open(a->pos[0], &w, &e);
	if (rc == UPT_OK)
		rc = delegate(&w, a, &e);
	if (rc == UPT_OK)
		rc = ws_save(&w, &e);
	int status = rc ? cli_fail("delegate", &e) : 0;
	ws_close(&w);
	return status;
}

int cmd_delegate(int argc, char **argv)
{
	return cli_run("delegate", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       delegate_run);
}
