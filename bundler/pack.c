/* pack: bundle.json and the container writer, for create and pack. */
#include "pack.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "encrypt.h"
#include "upt/limits.h"
#include "upt/rfc3339.h"

/* bundle.json (docs/bundle-format.md). Without w: the draft the writer reserves space for, each
 * compressed_length at its upper bound, so the final document (the same fields and layout, each
 * number no longer) always fits. */
static int bundle_json(const pack_job *job, const upt_bundle_writer *w, char **out, upt_err *e)
{
	char created[UPT_RFC3339_LEN + 1];
	upt_rfc3339_format(job->created, created);
	/* version 2: the images are encrypted (an installer that reads only 1 refuses it) */
	json_t *doc = json_pack("{s:s, s:i, s:s, s:s}", "format", "uptane-offline-bundle",
				"version", job->sealed ? 2 : 1, "kind",
				job->fleet ? "fleet" : "device", "created", created);
	json_t *imgs = json_array();
	json_t *devs = json_array();
	if (!doc || !imgs || !devs)
		goto nomem;
	if (job->fleet) {
		json_object_set_new(doc, "fleet", json_string(job->fleet_name));
	} else {
		for (size_t i = 0; i < job->ndevices; i++)
			json_array_append_new(devs, json_string(job->devices[i]));
		json_object_set(doc, "devices", devs);
	}
	for (size_t i = 0; i < job->nimages; i++) {
		char path[UPT_MEMBER_PATH_MAX + 1];
		snprintf(path, sizeof(path), "images/%s", job->images[i].name);
		uint64_t clen = w ? upt_bundle_writer_compressed_length(w, job->images[i].name)
				  : upt_bundle_compressed_max(job->images[i].length);
		if (job->images[i].length > INT64_MAX || clen > INT64_MAX) {
			json_decref(doc);
			json_decref(imgs);
			json_decref(devs);
			return upt_err_set(e, UPT_E_USAGE, "image %s: too large",
					   job->images[i].name);
		}
		json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "name", job->images[i].name, "path",
				      path, "length", (json_int_t)job->images[i].length,
				      "compressed_length", (json_int_t)clen);
		if (o && job->sealed && json_object_set_new(o, "encrypted", json_true()))
			goto nomem;
		if (!o || json_array_append_new(imgs, o))
			goto nomem;
	}
	json_object_set(doc, "images", imgs);
	char *s = json_dumps(doc, JSON_INDENT(2));
	if (!s)
		goto nomem;
	json_decref(doc);
	json_decref(imgs);
	json_decref(devs);
	*out = s;
	return UPT_OK;
nomem:
	json_decref(doc);
	json_decref(imgs);
	json_decref(devs);
	return upt_err_set(e, UPT_E_NOMEM, "out of memory");
}

int pack_seal_images(const pack_job *job, crypt_plan *plan, upt_bundle_writer **out, upt_err *e)
{
	upt_bundle_writer *w = NULL;
	int rc = upt_bundle_writer_new(job->out, &job->opts, &w, e);
	if (rc) {
		upt_err_prefix(e, "%s", job->out);
		return rc;
	}
	for (size_t i = 0; rc == UPT_OK && i < job->nimages; i++) {
		const pack_image *im = &job->images[i];
		const uint8_t *key = NULL;
		rc = crypt_plan_new_image(plan, im->name, &key, e);
		crypt_image *ci = rc ? NULL : crypt_plan_image(plan, im->name);
		if (rc == UPT_OK)
			rc = upt_bundle_writer_add_sealed_image(w, im->name, im->src, im->length,
								key, &ci->info, e);
		if (rc)
			upt_err_prefix(e, "image %s (%s)", im->name, im->src);
		else
			ci->sealed = true;
	}
	if (rc) {
		upt_bundle_writer_free(w);
		return rc;
	}
	*out = w;
	return UPT_OK;
}

int pack_write(const pack_job *job, pack_result *res, upt_err *e)
{
	upt_bundle_writer *w = job->sealed;
	char *bj = NULL;
	pack_result r = {0, 0};
	int rc = UPT_OK;
	if (w) {
		/* sealed already: their metadata, then finish writes it all in order */
		for (size_t i = 0; i < job->nimages; i++) {
			r.image_bytes += job->images[i].length;
			r.compressed_bytes +=
			    upt_bundle_writer_compressed_length(w, job->images[i].name);
		}
		goto metadata;
	}
	rc = upt_bundle_writer_new(job->out, &job->opts, &w, e);
	if (rc) {
		upt_err_prefix(e, "%s", job->out);
		goto out;
	}
	/* single pass: the output is written while the images are compressed, bundle.json's
	 * place reserved for the draft and overwritten by finish */
	rc = bundle_json(job, NULL, &bj, e);
	if (rc == UPT_OK) {
		rc = upt_bundle_writer_begin(w, bj, strlen(bj), e);
		if (rc)
			upt_err_prefix(e, "%s", job->out);
	}
	free(bj);
	bj = NULL;
	if (rc)
		goto out;
metadata:
	for (size_t i = 0; rc == UPT_OK && i < job->nmembers; i++) {
		rc = upt_bundle_writer_add_metadata(w, job->members[i].path, job->members[i].data,
						    job->members[i].len, e);
		if (rc)
			upt_err_prefix(e, "%s", job->members[i].path);
	}
	for (size_t i = 0; rc == UPT_OK && !job->sealed && i < job->nimages; i++) {
		rc = upt_bundle_writer_add_image(w, job->images[i].name, job->images[i].src,
						 job->images[i].length, e);
		if (rc) {
			upt_err_prefix(e, "image %s (%s)", job->images[i].name, job->images[i].src);
			break;
		}
		r.image_bytes += job->images[i].length;
		r.compressed_bytes += upt_bundle_writer_compressed_length(w, job->images[i].name);
	}
	if (rc == UPT_OK)
		rc = bundle_json(job, w, &bj, e);
	if (rc == UPT_OK && job->before_finish)
		rc = job->before_finish(job->ctx, e);
	if (rc == UPT_OK) {
		rc = upt_bundle_writer_finish(w, bj, strlen(bj), e);
		if (rc)
			upt_err_prefix(e, "%s", job->out);
	}
	if (rc == UPT_OK && res)
		*res = r;
out:
	free(bj);
	upt_bundle_writer_free(w);
	return rc;
}

static int parse_split_size(const char *s, uint64_t *out, upt_err *e)
{
	uint64_t v;
	int rc = parse_size("--split-size", s, &v, e);
	if (rc)
		return rc;
	if (v < PACK_SPLIT_SIZE_MIN)
		return upt_err_set(e, UPT_E_USAGE, "--split-size %s: volumes of at least 1M", s);
	if (v > UPT_SPLIT_SIZE_MAX)
		return upt_err_set(e, UPT_E_USAGE,
				   "--split-size %s: at most 4294967295 bytes (4 GiB - 1, the "
				   "largest file FAT32 holds; volumes exist for FAT32 sticks): "
				   "4000M fits",
				   s);
	*out = v;
	return UPT_OK;
}

int pack_parse_writer_opts(const struct args *a, upt_bundle_writer_opts *o, upt_err *e)
{
	memset(o, 0, sizeof(*o));
	uint64_t v;
	const char *level = args_one(a, "level"), *threads = args_one(a, "threads");
	const char *split = args_one(a, "split-size");
	int rc = UPT_OK;
	if (level && (rc = parse_u64("--level", level, PACK_LEVEL_MIN, PACK_LEVEL_MAX, &v, e)) == 0)
		o->level = (int)v;
	if (rc == UPT_OK && threads &&
	    (rc = parse_u64("--threads", threads, 1, PACK_THREADS_MAX, &v, e)) == 0)
		o->threads = (unsigned)v;
	if (rc == UPT_OK && split)
		rc = parse_split_size(split, &o->split_size, e);
	return rc;
}

/* The volumes out.000, out.001, ... that exist now (just written by us). */
static unsigned count_volumes(const char *out)
{
	unsigned n = 0;
	char name[4096];
	struct stat st;
	while (n < UPT_SPLIT_VOLUMES_MAX &&
	       snprintf(name, sizeof(name), "%s.%03u", out, n) < (int)sizeof(name) &&
	       stat(name, &st) == 0)
		n++;
	return n;
}

void pack_print_written(FILE *f, const char *out, uint64_t split_size)
{
	unsigned n = split_size ? count_volumes(out) : 0;
	if (n == 0)
		fprintf(f, "%s", out);
	else
		fprintf(f, "%s.000 .. .%03u (%u volume%s)", out, n - 1, n, n > 1 ? "s" : "");
}

void pack_print_volumes(FILE *f, const char *out, uint64_t split_size)
{
	unsigned n = split_size ? count_volumes(out) : 0;
	for (unsigned i = 0; i < n; i++) {
		char name[4096];
		struct stat st;
		snprintf(name, sizeof(name), "%s.%03u", out, i);
		if (stat(name, &st) == 0)
			fprintf(f, "  %s  %llu bytes\n", name, (unsigned long long)st.st_size);
	}
}
