/*
 * target: the Image repository's targets. `target add` hashes an image (length, SHA-256,
 * SHA-512, one streaming pass) and records it with its hardware ids, release counter and the
 * role that signs it (top-level targets, or a delegated role). The image stays where it is;
 * create checks it has not changed since (size, mtime, inode) before signing anything.
 * `target list` shows them; `target remove` drops one that nothing is assigned to.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "sbom_ref.h"
#include "target_file.h"
#include "upt/hex.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "workspace.h"

static const char usage[] =
    "usage: uptane-bundle target add WORKSPACE FILE [--name NAME] --hardware-id HW..\n"
    "                             [--release-counter N] [--role NAME] [--hashes LIST]\n"
    "                             [--sbom FILE]\n"
    "       uptane-bundle target list WORKSPACE\n"
    "       uptane-bundle target remove WORKSPACE NAME\n"
    "  add: records FILE as target NAME (default: the file's name) of the Image repository:\n"
    "  length, sha256 and sha512, the hardware ids it is built for, its release counter\n"
    "  (default 0; devices refuse a lower counter than they run), and the delegated role that\n"
    "  signs it (--role; default the top-level targets role). NAME may contain letters,\n"
    "  digits, '.', '_', '+', '-' and '/' (no empty, '.' or '..' components).\n"
    "  --hashes sha256 lists SHA-256 alone (default sha256,sha512): devices check every listed\n"
    "  hash while installing, and SHA-512 costs ~2x the time where the CPU lacks SHA-512\n"
    "  instructions (most embedded ARM cores).\n"
    "  --sbom FILE: the image's software bill of materials, CycloneDX JSON 1.4 to 1.6 or SPDX\n"
    "  2.3 JSON: checked, kept in WORKSPACE/sboms/, and its format, length and SHA-256 signed\n"
    "  as the target's custom.sbom (docs/sbom.md; `sbom import` reads it into a ledger).\n";

static const arg_opt opts[] = {
    {"name", 0, ARG_ONE}, {"hardware-id", 0, ARG_LIST}, {"release-counter", 0, ARG_ONE},
    {"role", 0, ARG_ONE}, {"hashes", 0, ARG_ONE},	{"sbom", 0, ARG_ONE},
};

static int delegation_allows(const json_t *d, const char *name, const json_t *hwids, upt_err *e)
{
	const char *role = json_string_value(json_object_get(d, "name"));
	bool match = false;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(d, "paths"), i, p)
	{
		if (json_is_string(p) && ws_path_match(json_string_value(p), name))
			match = true;
	}
	if (!match)
		return upt_err_set(e, UPT_E_USAGE,
				   "target \"%s\" matches none of role %s's paths (see delegate "
				   "--path): devices would never look for it there",
				   name, role);
	const json_t *allowed = json_object_get(d, "hardwareIds");
	if (json_array_size(allowed)) {
		json_t *h;
		json_array_foreach(hwids, i, h)
		{
			bool ok = false;
			size_t j;
			json_t *a;
			json_array_foreach(allowed, j, a)
			{
				ok |= json_equal(a, h);
			}
			if (!ok)
				return upt_err_set(
				    e, UPT_E_USAGE,
				    "hardware id %s is not among role %s's hardware ids "
				    "(see delegate --hardware-id)",
				    json_string_value(h), role);
		}
	}
	return UPT_OK;
}

static int target_add(ws *w, const args *a, upt_err *e)
{
	const char *file = a->pos[2];
	const char *name = args_one(a, "name");
	if (!name) {
		const char *slash = strrchr(file, '/');
		name = slash ? slash + 1 : file;
	}
	if (!ws_target_name_valid(name))
		return upt_err_set(
		    e, UPT_E_USAGE,
		    "target name \"%.200s\" is not safe: use letters, digits, '.', '_', "
		    "'+', '-' and '/' (no empty, '.' or '..' components, at most %d "
		    "bytes); --name sets another",
		    name, UPT_TARGET_NAME_MAX);
	const arg_val *hw = args_get(a, "hardware-id");
	if (!hw->n)
		return upt_err_set(e, UPT_E_USAGE,
				   "--hardware-id is required (the hardware the "
				   "image is built for)");
	if (hw->n > UPT_HWIDS_MAX)
		return upt_err_set(e, UPT_E_USAGE, "more than %d hardware ids", UPT_HWIDS_MAX);
	json_t *hwids = json_array();
	json_t *entry = NULL;
	int rc = UPT_OK;
	for (size_t i = 0; rc == UPT_OK && i < hw->n; i++) {
		if (!upt_name_valid(hw->v[i]))
			rc = upt_err_set(e, UPT_E_USAGE,
					 "hardware id \"%.200s\": use 1 to 128 letters, "
					 "digits, '.', '_' or '-'",
					 hw->v[i]);
		json_t *s = json_string(hw->v[i]);
		bool dup = false;
		size_t j;
		json_t *o;
		json_array_foreach(hwids, j, o)
		{
			dup |= json_equal(o, s);
		}
		if (!dup)
			json_array_append(hwids, s);
		json_decref(s);
	}
	uint64_t counter = 0;
	if (rc == UPT_OK && args_one(a, "release-counter"))
		rc = parse_u64("--release-counter", args_one(a, "release-counter"), 0, INT64_MAX,
			       &counter, e);
	const char *role = args_one(a, "role");
	if (rc == UPT_OK && role && strcmp(role, "targets")) {
		const json_t *d = ws_delegation(w, role);
		if (!d)
			rc = upt_err_set(e, UPT_E_USAGE,
					 "--role %.200s: no such delegated role (see "
					 "uptane-bundle delegate)",
					 role);
		else
			rc = delegation_allows(d, name, hwids, e);
	}
	bool sha512 = true;
	const char *hashes = args_one(a, "hashes");
	if (rc == UPT_OK && hashes) {
		if (!strcmp(hashes, "sha256"))
			sha512 = false;
		else if (strcmp(hashes, "sha256,sha512") && strcmp(hashes, "sha512,sha256"))
			rc = upt_err_set(e, UPT_E_USAGE,
					 "--hashes %.100s: use sha256 or sha256,sha512 (sha256 is "
					 "always listed)",
					 hashes);
	}
	target_info ti;
	sbom_ref sref;
	size_t ncomponents = 0;
	if (rc == UPT_OK)
		rc = target_file_hash(file, &ti, e);
	if (rc == UPT_OK)
		ti.hashes.has_sha512 = sha512;
	if (rc == UPT_OK) {
		char abs[PATH_MAX];
		if (!realpath(file, abs))
			rc = upt_err_set(e, UPT_E_IO, "%s: %s", file, strerror(errno));
		else
			entry = target_info_to_json(&ti, abs);
		if (rc == UPT_OK && !entry)
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	if (rc == UPT_OK) {
		json_object_set(entry, "hardwareIds", hwids);
		json_object_set_new(entry, "releaseCounter", json_integer((json_int_t)counter));
		json_object_set_new(entry, "role", json_string(role ? role : "targets"));
		if (args_one(a, "sbom"))
			rc = sbom_ref_add(w, args_one(a, "sbom"), entry, &sref, &ncomponents, e);
	}
	if (rc == UPT_OK) {
		json_t *targets = json_object_get(w->doc, "targets");
		bool replaced = json_object_get(targets, name) != NULL;
		if (!replaced && json_object_size(targets) >= UPT_TARGETS_MAX)
			rc = upt_err_set(e, UPT_E_USAGE, "more than %d targets", UPT_TARGETS_MAX);
		if (rc == UPT_OK) {
			json_object_set(targets, name, entry);
			rc = ws_save(w, e);
		}
		if (rc == UPT_OK) {
			char hex[UPT_SHA256_LEN * 2 + 1];
			upt_hex_encode(ti.hashes.sha256, UPT_SHA256_LEN, hex);
			printf(
			    "%s target %s: %llu bytes, sha256 %s, release counter %llu, signed by "
			    "%s\n",
			    replaced ? "replaced" : "added", name, (unsigned long long)ti.length,
			    hex, (unsigned long long)counter, role ? role : "targets");
			if (args_one(a, "sbom")) {
				upt_hex_encode(sref.sha256, UPT_SHA256_LEN, hex);
				printf("  sbom: %s, %zu components, %llu bytes, sha256 %s\n",
				       sref.format, ncomponents, (unsigned long long)sref.length,
				       hex);
			}
		}
	}
	json_decref(entry);
	json_decref(hwids);
	return rc;
}

static int target_list(ws *w)
{
	const char *name;
	json_t *t;
	json_object_foreach(json_object_get(w->doc, "targets"), name, t)
	{
		printf("%s  %lld bytes  release %lld  role %s  hardware", name,
		       (long long)json_integer_value(json_object_get(t, "length")),
		       (long long)json_integer_value(json_object_get(t, "releaseCounter")),
		       json_string_value(json_object_get(t, "role")));
		size_t i;
		json_t *h;
		json_array_foreach(json_object_get(t, "hardwareIds"), i, h)
		{
			printf(" %s", json_string_value(h));
		}
		printf("  (%s)\n", json_string_value(json_object_get(t, "source")));
	}
	return UPT_OK;
}

static int target_remove(ws *w, const char *name, upt_err *e)
{
	json_t *targets = json_object_get(w->doc, "targets");
	if (!json_object_get(targets, name))
		return upt_err_set(e, UPT_E_USAGE, "no target \"%.200s\"", name);
	const char *dev;
	json_t *ecus;
	json_object_foreach(json_object_get(w->doc, "devices"), dev, ecus)
	{
		const char *serial;
		json_t *as;
		json_object_foreach(ecus, serial, as)
		{
			const char *t = json_string_value(json_object_get(as, "target"));
			if (t && !strcmp(t, name))
				return upt_err_set(e, UPT_E_USAGE,
						   "target %s is assigned to device %s "
						   "ECU %s; assign another first",
						   name, dev, serial);
		}
	}
	const char *hw;
	json_t *as;
	json_object_foreach(json_object_get(w->doc, "fleet"), hw, as)
	{
		const char *t = json_string_value(json_object_get(as, "target"));
		if (t && !strcmp(t, name))
			return upt_err_set(e, UPT_E_USAGE,
					   "target %s is assigned to hardware id %s; "
					   "assign another first",
					   name, hw);
	}
	json_object_del(targets, name);
	int rc = ws_save(w, e);
	if (rc == UPT_OK)
		printf("removed target %s\n", name);
	return rc;
}

/* The argument count each subcommand takes (with the subcommand and WORKSPACE); 0: unknown. */
static size_t target_words(const char *sub)
{
	return !strcmp(sub, "add") || !strcmp(sub, "remove") ? 3 : !strcmp(sub, "list") ? 2 : 0;
}

static int target_run(const args *a)
{
	const char *sub = a->npos ? a->pos[0] : "";
	size_t want = target_words(sub);
	if (!want)
		return cli_usage("target", usage, "expected add, list or remove");
	if (a->npos != want)
		return cli_usage("target", usage, "wrong number of arguments for target %s", sub);
	upt_err e;
	upt_err_clear(&e);
	ws w = {.dirfd = -1, .lockfd = -1};
	int rc = ws_open(a->pos[1], &w, &e);
	if (rc == UPT_OK) {
		if (!strcmp(sub, "add"))
			rc = target_add(&w, a, &e);
		else if (!strcmp(sub, "list"))
			rc = target_list(&w);
		else
			rc = target_remove(&w, a->pos[2], &e);
	}
	int status = rc ? cli_fail("target", &e) : 0;
	ws_close(&w);
	return status;
}

int cmd_target(int argc, char **argv)
{
	return cli_run("target", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       target_run);
}
