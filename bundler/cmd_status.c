/*
 * status: what a workspace holds, before anything is signed: the targets (and whether each
 * image is still the one target add hashed), the device and fleet assignments, the metadata
 * signed so far (the next create signs versions above these) with their expiries, and who must
 * sign each role (threshold, keys, whether the key file is here). Reads only; --json for tools.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "target_file.h"
#include "upt/cjson.h"
#include "workspace.h"

static const char usage[] =
    "usage: uptane-bundle status WORKSPACE [--json]\n"
    "  Lists the workspace: targets (image ok, changed or missing), device and fleet\n"
    "  assignments, the metadata signed so far with versions and expiries (the next create\n"
    "  signs above them), and who must sign each role (threshold, keys, key file present).\n"
    "  Nothing is signed or changed.\n";

static const arg_opt opts[] = {
    {"json", 0, ARG_NONE},
};

/* "ok", "changed" or "missing": the image against what target add recorded */
static const char *image_state(const char *name, const json_t *t)
{
	upt_err e;
	upt_err_clear(&e);
	int rc = target_file_check(name, t, &e);
	if (rc == UPT_OK)
		return "ok";
	return rc == UPT_E_NOT_FOUND ? "missing" : "changed";
}

static json_t *targets_json(const ws *w)
{
	json_t *out = json_array();
	const char *name;
	json_t *t;
	json_object_foreach(json_object_get(w->doc, "targets"), name, t)
	{
		json_array_append_new(
		    out, json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:s}", "name", name, "length",
				   json_object_get(t, "length"), "hardware_ids",
				   json_object_get(t, "hardwareIds"), "release_counter",
				   json_object_get(t, "releaseCounter"), "role",
				   json_object_get(t, "role"), "source",
				   json_object_get(t, "source"), "image", image_state(name, t)));
	}
	return out;
}

/* Every metadata file but the older roots: {file, version, expires} */
static int metadata_json(const ws *w, json_t **out, upt_err *e)
{
	char **files = NULL;
	size_t n = 0;
	int rc = ws_list(w, "metadata", &files, &n, e);
	if (rc)
		return rc;
	json_t *arr = json_array();
	for (size_t i = 0; rc == UPT_OK && i < n; i++) {
		const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
		const char *dot = strstr(base, ".root.json");
		if (dot) { /* N.root.json: only the newest */
			char repo[16];
			snprintf(repo, sizeof(repo), "%s",
				 strstr(files[i], "image-repo") ? "image-repo" : "director");
			uint64_t latest = 0;
			if (ws_root_latest(w, repo, &latest, e) != UPT_OK)
				break;
			if (strtoull(base, NULL, 10) != latest)
				continue;
		}
		upt_buf b;
		upt_buf_init(&b, WS_MAX);
		json_t *doc = NULL;
		rc = ws_read(w, files[i], WS_MAX, &b, e);
		if (rc == UPT_OK)
			rc = upt_json_parse(b.data, b.len, WS_MAX, &doc, e);
		upt_buf_clear(&b);
		if (rc) {
			upt_err_prefix(e, "%s", files[i]);
			break;
		}
		json_t *s = json_object_get(doc, "signed");
		json_array_append_new(arr, json_pack("{s:s, s:O?, s:O?}", "file",
						     files[i] + strlen("metadata/"), "version",
						     json_object_get(s, "version"), "expires",
						     json_object_get(s, "expires")));
		json_decref(doc);
	}
	ws_list_free(files, n);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return UPT_OK;
}

static json_t *signer_json(const char *role, const json_t *entry)
{
	json_t *keys = json_array();
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(entry, "keys"), i, k)
	{
		const char *path = json_string_value(json_object_get(k, "path"));
		json_array_append_new(keys, json_pack("{s:O, s:O, s:b}", "keyid",
						      json_object_get(k, "keyid"), "path",
						      json_object_get(k, "path"), "present",
						      path && access(path, R_OK) == 0));
	}
	return json_pack("{s:s, s:O, s:o}", "role", role, "threshold",
			 json_object_get(entry, "threshold"), "keys", keys);
}

static json_t *signers_json(const ws *w)
{
	json_t *out = json_array();
	const char *repo, *role;
	json_t *roles, *entry;
	json_object_foreach(json_object_get(w->doc, "repos"), repo, roles)
	{
		json_object_foreach(roles, role, entry)
		{
			char name[128];
			snprintf(name, sizeof(name), "%s/%s", repo, role);
			json_array_append_new(out, signer_json(name, entry));
		}
	}
	size_t i;
	json_array_foreach(json_object_get(w->doc, "delegations"), i, entry)
	{
		char name[192];
		snprintf(name, sizeof(name), "image-repo/%s (delegation)",
			 json_string_value(json_object_get(entry, "name")));
		json_array_append_new(out, signer_json(name, entry));
	}
	return out;
}

static void print_text(const ws *w, const json_t *st)
{
	size_t i;
	json_t *x;
	printf("workspace %s\n", w->dir);
	printf("targets (%zu):\n", json_array_size(json_object_get(st, "targets")));
	json_array_foreach(json_object_get(st, "targets"), i, x)
	{
		printf("  %s  %lld bytes  release %lld  role %s  hardware",
		       json_string_value(json_object_get(x, "name")),
		       (long long)json_integer_value(json_object_get(x, "length")),
		       (long long)json_integer_value(json_object_get(x, "release_counter")),
		       json_string_value(json_object_get(x, "role")));
		size_t j;
		json_t *h;
		json_array_foreach(json_object_get(x, "hardware_ids"), j, h)
		{
			printf(" %s", json_string_value(h));
		}
		printf("  image %s (%s)\n", json_string_value(json_object_get(x, "image")),
		       json_string_value(json_object_get(x, "source")));
	}
	printf("assignments:\n");
	const char *dev, *serial;
	json_t *ecus, *as;
	size_t nas = 0;
	json_object_foreach(json_object_get(st, "devices"), dev, ecus)
	{
		json_object_foreach(ecus, serial, as)
		{
			printf("  device %s: ECU %s (%s) -> %s\n", dev, serial,
			       json_string_value(json_object_get(as, "hardwareId")),
			       json_string_value(json_object_get(as, "target")));
			nas++;
		}
	}
	json_object_foreach(json_object_get(st, "fleet"), serial, as)
	{
		printf("  fleet: hardware %s -> %s%s\n", serial,
		       json_string_value(json_object_get(as, "target")),
		       json_object_get(as, "devices") ? " (listed devices only)" : "");
		nas++;
	}
	if (!nas)
		printf("  none (uptane-bundle assign)\n");
	printf("signed so far (the next create signs versions above these):\n");
	json_array_foreach(json_object_get(st, "metadata"), i, x)
	{
		printf("  %-44s version %lld, expires %s\n",
		       json_string_value(json_object_get(x, "file")),
		       (long long)json_integer_value(json_object_get(x, "version")),
		       json_string_value(json_object_get(x, "expires")));
	}
	printf("who signs:\n");
	json_array_foreach(json_object_get(st, "signers"), i, x)
	{
		printf("  %s: %lld of", json_string_value(json_object_get(x, "role")),
		       (long long)json_integer_value(json_object_get(x, "threshold")));
		size_t j;
		json_t *k;
		json_array_foreach(json_object_get(x, "keys"), j, k)
		{
			printf("%s %.8s (%s%s)", j ? "," : "",
			       json_string_value(json_object_get(k, "keyid")),
			       json_string_value(json_object_get(k, "path")),
			       json_is_true(json_object_get(k, "present")) ? "" : ", not here");
		}
		printf("\n");
	}
}

/* The workspace as one document: targets, assignments, what was signed, who signs. */
static int print_status(const ws *w, bool as_json, upt_err *e)
{
	json_t *meta = NULL;
	int rc = metadata_json(w, &meta, e);
	if (rc)
		return rc;
	json_t *st =
	    json_pack("{s:o, s:O, s:O, s:o, s:o}", "targets", targets_json(w), "devices",
		      json_object_get(w->doc, "devices"), "fleet", json_object_get(w->doc, "fleet"),
		      "metadata", meta, "signers", signers_json(w));
	if (!st)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	if (as_json) {
		char *s = json_dumps(st, JSON_COMPACT);
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		print_text(w, st);
	}
	json_decref(st);
	return UPT_OK;
}

static int status_run(const args *a)
{
	if (a->npos != 1)
		return cli_usage("status", usage, "expected one WORKSPACE");
	upt_err e;
	upt_err_clear(&e);
	ws w = {.dirfd = -1, .lockfd = -1};
	int rc = ws_open(a->pos[0], &w, &e);
	if (rc == UPT_OK)
		rc = print_status(&w, args_flag(a, "json"), &e);
	int status = rc ? cli_fail("status", &e) : 0;
	ws_close(&w);
	return status;
}

int cmd_status(int argc, char **argv)
{
	return cli_run("status", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       status_run);
}
