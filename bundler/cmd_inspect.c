/*
 * inspect: a summary of a bundle for people (or --json for scripts): kind, creation time,
 * devices or fleet, every metadata file with its role, version and expiry, the images with
 * their lengths and compressed sizes, and which ECUs or hardware ids get which image.
 *
 * It verifies nothing (that is `verify --config`): it reads the container with the same
 * reader as the installer (so an unsafe or malformed archive is refused, exit 4) and shows
 * what the metadata claims. Strings from the bundle are escaped before they reach a terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "upt/bundle.h"
#include "upt/cjson.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/rfc3339.h"

static const char usage[] =
    "usage: uptane-bundle inspect BUNDLE [--json]\n"
    "  Shows what a bundle carries: kind, devices or fleet, each metadata\n"
    "  file's role, version and expiry, the images (length, compressed size)\n"
    "  and which ECUs or hardware ids get which image. It checks the archive\n"
    "  but verifies no signature: use verify --config for that.\n";

static const arg_opt opts[] = {
    {"json", 0, ARG_NONE},
};

/* The `_type` a metadata member must have, from its path (docs/bundle-format.md). */
static bool type_from_path(const char *path, upt_role_type *out)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 10 && !strcmp(base + n - 10, ".root.json"))
		*out = UPT_ROLE_ROOT;
	else if (!strcmp(base, "timestamp.json"))
		*out = UPT_ROLE_TIMESTAMP;
	else if (!strcmp(base, "snapshot.json"))
		*out = UPT_ROLE_SNAPSHOT;
	else if (!strcmp(base, "offline-snapshot.json"))
		*out = UPT_ROLE_OFFLINE_SNAPSHOT;
	else if (strstr(path, "/offline-updates/"))
		*out = UPT_ROLE_OFFLINE_UPDATES;
	else if (!strcmp(base, "targets.json") || strstr(path, "/delegations/"))
		*out = UPT_ROLE_TARGETS;
	else
		return false;
	return true;
}

typedef struct parsed {
	const char *path;
	upt_meta *meta; /* NULL when it did not parse */
	char error[UPT_ERR_MSG_MAX];
} parsed;

typedef struct image_row {
	char *name;
	uint64_t compressed;
} image_row;

static json_t *jstr(const char *s)
{
	return json_string(s ? s : "");
}

static void put(const char *s)
{
	char buf[UPT_TARGET_NAME_MAX + 32];
	safe_str(s, buf, sizeof(buf));
	fputs(buf, stdout);
}

/* The signed length of an image, from the Image repository's targets files. */
static bool image_length(const parsed *p, size_t n, const char *name, uint64_t *len)
{
	for (size_t i = 0; i < n; i++) {
		if (!p[i].meta || p[i].meta->type != UPT_ROLE_TARGETS ||
		    strncmp(p[i].path, "metadata/image-repo/", 20))
			continue;
		const upt_target *t = upt_meta_target(p[i].meta, name);
		if (t) {
			*len = t->length;
			return true;
		}
	}
	return false;
}

/* Encrypted images (docs/bundle-format.md): whom the Director files wrap name's key for
 * ("VIN-1, VIN-2", cut with "..."); false when no Director file lists it encrypted. The labels
 * are unsigned hints next to the key ids; nothing here opens anything. */
static bool encrypted_for(const parsed *p, size_t n, const char *name, char *buf, size_t size)
{
	bool any = false;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!p[i].meta || strncmp(p[i].path, "metadata/director/", 18))
			continue;
		const json_t *t =
		    json_object_get(json_object_get(p[i].meta->signed_obj, "targets"), name);
		const json_t *enc = json_object_get(json_object_get(t, "custom"), "encryption");
		size_t k;
		const json_t *r;
		json_array_foreach(json_object_get(enc, "recipients"), k, r)
		{
			const char *label = json_string_value(json_object_get(r, "recipient"));
			const char *keyid = json_string_value(json_object_get(r, "keyid"));
			char id[24];
			snprintf(id, sizeof(id), "key %.12s", keyid ? keyid : "?");
			upt_namelist_add(buf, size, label ? label : id);
			any = true;
		}
	}
	return any;
}

static const char *fmt_time(int64_t t, char buf[UPT_RFC3339_LEN + 1])
{
	upt_rfc3339_format(t, buf);
	return buf;
}

static void print_human(const char *file, const json_t *bj, const parsed *p, size_t n,
			const image_row *imgs, size_t nimgs)
{
	printf("bundle ");
	put(file);
	printf("\n  format:  ");
	put(json_string_value(json_object_get(bj, "format")));
	printf(" version %lld\n  kind:    ",
	       (long long)json_integer_value(json_object_get(bj, "version")));
	put(json_string_value(json_object_get(bj, "kind")));
	printf("\n  created: ");
	put(json_string_value(json_object_get(bj, "created")));
	const json_t *devs = json_object_get(bj, "devices");
	if (json_is_array(devs)) {
		printf("\n  devices:");
		size_t i;
		json_t *d;
		json_array_foreach(devs, i, d)
		{
			putchar(' ');
			put(json_string_value(d));
		}
	}
	if (json_is_string(json_object_get(bj, "fleet"))) {
		printf("\n  fleet:   ");
		put(json_string_value(json_object_get(bj, "fleet")));
	}
	printf("\nmetadata:\n");
	for (size_t i = 0; i < n; i++) {
		char t1[UPT_RFC3339_LEN + 1], t2[UPT_RFC3339_LEN + 1];
		printf("  %-52s ", p[i].path + strlen("metadata/"));
		if (!p[i].meta) {
			printf("unreadable: ");
			put(p[i].error);
			putchar('\n');
			continue;
		}
		printf("%-16s version %-4llu expires %s", upt_role_type_name(p[i].meta->type),
		       (unsigned long long)p[i].meta->version, fmt_time(p[i].meta->expires, t1));
		if (p[i].meta->has_issued)
			printf(", issued %s", fmt_time(p[i].meta->issued, t2));
		printf(", %zu signature(s)\n", p[i].meta->nsigs);
	}
	printf("images:\n");
	for (size_t i = 0; i < nimgs; i++) {
		uint64_t len = 0;
		printf("  ");
		put(imgs[i].name);
		if (image_length(p, n, imgs[i].name, &len))
			printf("  %llu bytes, %llu compressed (%.1f%%)", (unsigned long long)len,
			       (unsigned long long)imgs[i].compressed,
			       len ? 100.0 * (double)imgs[i].compressed / (double)len : 0.0);
		else
			printf("  (not in the Image repository), %llu compressed",
			       (unsigned long long)imgs[i].compressed);
		char whom[512];
		if (encrypted_for(p, n, imgs[i].name, whom, sizeof(whom))) {
			printf(", encrypted for ");
			put(whom);
		}
		putchar('\n');
	}
	printf("assignments:\n");
	for (size_t i = 0; i < n; i++) {
		const upt_meta *m = p[i].meta;
		if (!m || strncmp(p[i].path, "metadata/director/", 18))
			continue;
		for (size_t t = 0; m->type == UPT_ROLE_TARGETS && t < m->ntargets; t++)
			for (size_t k = 0; k < m->targets[t].necus; k++) {
				printf("  device ");
				put(m->device_id ? m->device_id : "?");
				printf(" ECU ");
				put(m->targets[t].ecus[k].serial);
				printf(" (");
				put(m->targets[t].ecus[k].hardware_id);
				printf(") -> ");
				put(m->targets[t].name);
				printf(" (release %llu)\n",
				       (unsigned long long)m->targets[t].release_counter);
			}
		for (size_t t = 0; m->type == UPT_ROLE_OFFLINE_UPDATES && t < m->ntargets; t++) {
			printf("  hardware");
			for (size_t k = 0; k < m->targets[t].nhardware_ids; k++) {
				putchar(' ');
				put(m->targets[t].hardware_ids[k]);
			}
			printf(" -> ");
			put(m->targets[t].name);
			printf(" (release %llu)",
			       (unsigned long long)m->targets[t].release_counter);
			if (m->targets[t].has_device_ids) {
				printf(", only devices");
				for (size_t k = 0; k < m->targets[t].ndevice_ids; k++) {
					putchar(' ');
					put(m->targets[t].device_ids[k]);
				}
			}
			putchar('\n');
		}
	}
}

static json_t *build_json(const char *file, const json_t *bj, const parsed *p, size_t n,
			  const image_row *imgs, size_t nimgs)
{
	json_t *out = json_pack("{s:s, s:O?, s:O?, s:O?, s:O?}", "file", file, "format",
				json_object_get(bj, "format"), "version",
				json_object_get(bj, "version"), "kind", json_object_get(bj, "kind"),
				"created", json_object_get(bj, "created"));
	if (!out)
		return NULL;
	if (json_object_get(bj, "devices"))
		json_object_set(out, "devices", json_object_get(bj, "devices"));
	if (json_object_get(bj, "fleet"))
		json_object_set(out, "fleet", json_object_get(bj, "fleet"));
	json_t *meta = json_array(), *images = json_array(), *as = json_array();
	json_object_set_new(out, "metadata", meta);
	json_object_set_new(out, "images", images);
	json_object_set_new(out, "assignments", as);
	for (size_t i = 0; i < n; i++) {
		char t1[UPT_RFC3339_LEN + 1];
		json_t *o = json_pack("{s:s}", "path", p[i].path);
		if (!p[i].meta) {
			json_object_set_new(o, "error", jstr(p[i].error));
		} else {
			json_object_set_new(o, "type", jstr(upt_role_type_name(p[i].meta->type)));
			json_object_set_new(o, "version",
					    json_integer((json_int_t)p[i].meta->version));
			json_object_set_new(o, "expires", jstr(fmt_time(p[i].meta->expires, t1)));
			if (p[i].meta->has_issued)
				json_object_set_new(o, "issued",
						    jstr(fmt_time(p[i].meta->issued, t1)));
			json_object_set_new(o, "signatures",
					    json_integer((json_int_t)p[i].meta->nsigs));
		}
		json_array_append_new(meta, o);
	}
	for (size_t i = 0; i < nimgs; i++) {
		uint64_t len = 0;
		json_t *o = json_pack("{s:s, s:I}", "name", imgs[i].name, "compressed_length",
				      (json_int_t)imgs[i].compressed);
		if (image_length(p, n, imgs[i].name, &len))
			json_object_set_new(o, "length", json_integer((json_int_t)len));
		char whom[512];
		if (encrypted_for(p, n, imgs[i].name, whom, sizeof(whom)))
			json_object_set_new(o, "encrypted_for", jstr(whom));
		json_array_append_new(images, o);
	}
	for (size_t i = 0; i < n; i++) {
		const upt_meta *m = p[i].meta;
		if (!m || strncmp(p[i].path, "metadata/director/", 18))
			continue;
		for (size_t t = 0; m->type == UPT_ROLE_TARGETS && t < m->ntargets; t++)
			for (size_t k = 0; k < m->targets[t].necus; k++)
				json_array_append_new(
				    as, json_pack("{s:s, s:s, s:s, s:s, s:I}", "device",
						  m->device_id ? m->device_id : "", "ecu",
						  m->targets[t].ecus[k].serial, "hardware_id",
						  m->targets[t].ecus[k].hardware_id, "target",
						  m->targets[t].name, "release_counter",
						  (json_int_t)m->targets[t].release_counter));
		for (size_t t = 0; m->type == UPT_ROLE_OFFLINE_UPDATES && t < m->ntargets; t++) {
			json_t *hw = json_array();
			for (size_t k = 0; k < m->targets[t].nhardware_ids; k++)
				json_array_append_new(hw, jstr(m->targets[t].hardware_ids[k]));
			json_t *o = json_pack("{s:o, s:s, s:I}", "hardware_ids", hw, "target",
					      m->targets[t].name, "release_counter",
					      (json_int_t)m->targets[t].release_counter);
			if (m->targets[t].has_device_ids) {
				json_t *dv = json_array();
				for (size_t k = 0; k < m->targets[t].ndevice_ids; k++)
					json_array_append_new(dv,
							      jstr(m->targets[t].device_ids[k]));
				json_object_set_new(o, "device_ids", dv);
			}
			json_array_append_new(as, o);
		}
	}
	return out;
}

static int inspect(const char *file, bool as_json, upt_err *e)
{
	upt_bundle_reader *r = NULL;
	upt_bundle_meta *bm = NULL;
	json_t *bj = NULL;
	parsed *p = NULL;
	image_row *imgs = NULL;
	size_t nimgs = 0;
	int rc = upt_bundle_reader_open(file, &r, e);
	if (rc == UPT_OK)
		rc = upt_bundle_read_metadata(r, &bm, e);
	if (rc == UPT_OK)
		rc = upt_json_parse(bm->bundle_json.data, bm->bundle_json.len, UPT_BUNDLE_JSON_MAX,
				    &bj, e);
	if (rc) {
		upt_err_set_file(e, bm ? "bundle.json" : NULL);
		goto out;
	}
	p = calloc(bm->nfiles ? bm->nfiles : 1, sizeof(*p));
	if (!p) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < bm->nfiles; i++) {
		upt_role_type t;
		p[i].path = bm->files[i].path;
		if (!type_from_path(p[i].path, &t)) {
			snprintf(p[i].error, sizeof(p[i].error),
				 "not a metadata file of the layout");
			continue;
		}
		upt_err pe;
		upt_err_clear(&pe);
		if (upt_meta_parse(bm->files[i].data.data, bm->files[i].data.len, t, &p[i].meta,
				   &pe))
			snprintf(p[i].error, sizeof(p[i].error), "%s", pe.msg);
	}
	for (;;) {
		const char *name;
		uint64_t clen;
		rc = upt_bundle_next_image(r, &name, &clen, e);
		if (rc == UPT_E_NOT_FOUND) {
			rc = UPT_OK;
			break;
		}
		if (rc)
			goto out;
		image_row *ni = realloc(imgs, (nimgs + 1) * sizeof(*ni));
		if (!ni) {
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
			goto out;
		}
		imgs = ni;
		imgs[nimgs].name = strdup(name);
		imgs[nimgs].compressed = clen;
		if (!imgs[nimgs++].name) {
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
			goto out;
		}
	}
	if (as_json) {
		json_t *o = build_json(file, bj, p, bm->nfiles, imgs, nimgs);
		char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
		json_decref(o);
		if (!s) {
			rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
			goto out;
		}
		puts(s);
		free(s);
	} else {
		print_human(file, bj, p, bm->nfiles, imgs, nimgs);
	}
out:
	for (size_t i = 0; p && i < bm->nfiles; i++)
		upt_meta_free(p[i].meta);
	free(p);
	for (size_t i = 0; i < nimgs; i++)
		free(imgs[i].name);
	free(imgs);
	json_decref(bj);
	upt_bundle_meta_free(bm);
	upt_bundle_reader_free(r);
	return rc;
}

static int inspect_run(const args *a)
{
	if (a->npos != 1)
		return cli_usage("inspect", usage, "expected one BUNDLE");
	upt_err e;
	upt_err_clear(&e);
	int rc = inspect(a->pos[0], args_flag(a, "json"), &e);
	if (rc == UPT_OK)
		return 0;
	int status = cli_fail("inspect", &e);
	/* A bundle the installer would refuse: exit 4 with the class, like verify. */
	if (upt_err_is_rejection(rc)) {
		fprintf(stderr, "uptane-bundle inspect: rejected (%s)\n", upt_err_class(rc));
		status = CLI_EXIT_REJECTED;
	}
	return status;
}

int cmd_inspect(int argc, char **argv)
{
	return cli_run("inspect", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       inspect_run);
}
