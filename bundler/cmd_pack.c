/*
 * pack: a bundle from metadata signed elsewhere (another tool, another station) and the raw
 * images. METADATA_DIR has the bundle's metadata/ layout (docs/bundle-format.md); IMAGES_DIR
 * holds each image under its target name. Checks before writing: only the layout's file
 * names, every file parses as the metadata its name says, root versions 1..N without gaps,
 * one kind (single-device, multi-device or fleet), and every image the Director assigns is
 * there with the signed length and hashes. Signatures and thresholds are the device's
 * business: `verify --config` runs exactly its checks on the result.
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
#include "pack.h"
#include "target_file.h"
#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "workspace.h"

static const char usage[] =
    "usage: uptane-bundle pack METADATA_DIR IMAGES_DIR -o OUT.uptane [--level N]\n"
    "         [--threads N] [--split-size SIZE]\n"
    "  Packs metadata signed elsewhere: METADATA_DIR in the bundle's metadata/ layout\n"
    "  (director/1.root.json .., director/{timestamp,snapshot,targets}.json or\n"
    "  director/devices/ID/.. or director/offline-snapshot.json + offline-updates/NAME.json,\n"
    "  image-repo/N.root.json, timestamp.json, snapshot.json, targets.json,\n"
    "  delegations/ROLE.json) and IMAGES_DIR/<target name> for every image the Director\n"
    "  assigns (length and hashes checked).\n";

static const arg_opt opts[] = {
    {"output", 'o', ARG_ONE},
    {"level", 0, ARG_ONE},
    {"threads", 0, ARG_ONE},
    {"split-size", 0, ARG_ONE},
};

typedef struct mfile {
	char *rel; /* relative to METADATA_DIR */
	char member[UPT_MEMBER_PATH_MAX + 1];
	upt_buf data;
	upt_meta *meta;
	int group; /* sort key: 0 director roots, 1 director files, 2 image roots, 3 image files */
	uint64_t ord; /* within the group */
	char *device; /* multi-device: the directory's device id */
} mfile;

static bool name_is(const char *s, const char *prefix, const char *suffix, char *mid, size_t midsz)
{
	size_t lp = strlen(prefix), ls = strlen(suffix), n = strlen(s);
	if (n <= lp + ls || strncmp(s, prefix, lp) || strcmp(s + n - ls, suffix))
		return false;
	size_t m = n - lp - ls;
	if (m >= midsz)
		return false;
	memcpy(mid, s + lp, m);
	mid[m] = '\0';
	return true;
}

static bool all_digits(const char *s)
{
	if (!*s || *s == '0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Classifies a file of METADATA_DIR by the layout: its `_type`, group and order. */
static int classify(mfile *f, upt_role_type *type, upt_err *e)
{
	static const char *const roles[] = {"timestamp", "snapshot", "targets"};
	char mid[UPT_MEMBER_PATH_MAX + 1];
	const char *r = f->rel;
	for (int g = 0; g < 2; g++) {
		const char *repo = g ? "image-repo/" : "director/";
		char pre[32];
		snprintf(pre, sizeof(pre), "%s", repo);
		if (name_is(r, pre, ".root.json", mid, sizeof(mid)) && all_digits(mid) &&
		    strlen(mid) < 6) {
			*type = UPT_ROLE_ROOT;
			f->group = g ? 2 : 0;
			f->ord = strtoull(mid, NULL, 10);
			return UPT_OK;
		}
		for (int i = 0; i < 3; i++) {
			char full[64];
			snprintf(full, sizeof(full), "%s%s.json", repo, roles[i]);
			if (!strcmp(r, full)) {
				*type = i == 0	 ? UPT_ROLE_TIMESTAMP
					: i == 1 ? UPT_ROLE_SNAPSHOT
						 : UPT_ROLE_TARGETS;
				f->group = g ? 3 : 1;
				f->ord = (uint64_t)i;
				return UPT_OK;
			}
		}
	}
	if (name_is(r, "image-repo/delegations/", ".json", mid, sizeof(mid)) &&
	    upt_name_valid(mid)) {
		*type = UPT_ROLE_TARGETS;
		f->group = 3;
		f->ord = 3;
		return UPT_OK;
	}
	if (!strcmp(r, "director/offline-snapshot.json")) {
		*type = UPT_ROLE_OFFLINE_SNAPSHOT;
		f->group = 1;
		f->ord = 0;
		return UPT_OK;
	}
	if (name_is(r, "director/offline-updates/", ".json", mid, sizeof(mid)) &&
	    upt_name_valid(mid)) {
		*type = UPT_ROLE_OFFLINE_UPDATES;
		f->group = 1;
		f->ord = 1;
		return UPT_OK;
	}
	if (!strncmp(r, "director/devices/", 17)) {
		const char *id = r + 17, *slash = strchr(id, '/');
		if (slash && (size_t)(slash - id) <= UPT_NAME_MAX) {
			char dev[UPT_NAME_MAX + 1];
			memcpy(dev, id, (size_t)(slash - id));
			dev[slash - id] = '\0';
			for (int i = 0; upt_name_valid(dev) && i < 3; i++) {
				char file[32];
				snprintf(file, sizeof(file), "%s.json", roles[i]);
				if (strcmp(slash + 1, file))
					continue;
				*type = i == 0	 ? UPT_ROLE_TIMESTAMP
					: i == 1 ? UPT_ROLE_SNAPSHOT
						 : UPT_ROLE_TARGETS;
				f->group = 1;
				f->ord = (uint64_t)i;
				f->device = strdup(dev);
				return f->device ? UPT_OK
						 : upt_err_set(e, UPT_E_NOMEM, "out of memory");
			}
		}
	}
	return upt_err_set(e, UPT_E_USAGE, "%s: not a file of the bundle's metadata layout", r);
}

static int cmp_mfile(const void *a, const void *b)
{
	const mfile *x = a, *y = b;
	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	/* Multi-device: one device's files together. */
	if (x->device && y->device && strcmp(x->device, y->device))
		return strcmp(x->device, y->device);
	if (x->ord != y->ord)
		return x->ord < y->ord ? -1 : 1;
	return strcmp(x->rel, y->rel);
}

typedef struct img {
	const upt_target *t;
	char path[PATH_MAX];
} img;

static int check_image(const char *images_dir, const upt_target *t, img *out, upt_err *e)
{
	int n = snprintf(out->path, sizeof(out->path), "%s/%s", images_dir, t->name);
	if (n < 0 || (size_t)n >= sizeof(out->path))
		return upt_err_set(e, UPT_E_USAGE, "image path too long");
	if (!ws_target_name_valid(t->name))
		return upt_err_set(e, UPT_E_USAGE,
				   "target name \"%.200s\" is not safe for a bundle", t->name);
	target_info ti;
	int rc = target_file_hash(out->path, &ti, e);
	if (rc)
		return rc;
	if (ti.length != t->length)
		return upt_err_set(e, UPT_E_USAGE, "%s: %llu bytes, but the metadata signs %llu",
				   out->path, (unsigned long long)ti.length,
				   (unsigned long long)t->length);
	if (!upt_hashes_match(&t->hashes, &ti.hashes))
		return upt_err_set(e, UPT_E_USAGE, "%s: hashes differ from the signed ones",
				   out->path);
	out->t = t;
	return UPT_OK;
}

static int pack(const args *a, upt_err *e)
{
	const char *mdir = a->pos[0], *idir = a->pos[1];
	const char *out = args_one(a, "output");
	if (!out)
		return upt_err_set(e, UPT_E_USAGE, "-o OUT.uptane is required");
	upt_bundle_writer_opts wo = {0, 0, 0};
	uint64_t v;
	int rc = UPT_OK;
	if (args_one(a, "level") &&
	    (rc = parse_u64("--level", args_one(a, "level"), 1, 19, &v, e)) == 0)
		wo.level = (int)v;
	if (rc == UPT_OK && args_one(a, "threads") &&
	    (rc = parse_u64("--threads", args_one(a, "threads"), 1, 256, &v, e)) == 0)
		wo.threads = (unsigned)v;
	if (rc == UPT_OK && args_one(a, "split-size")) {
		rc = pack_parse_split_size(args_one(a, "split-size"), &wo.split_size, e);
	}
	if (rc)
		return rc;

	char base[PATH_MAX];
	struct stat st;
	snprintf(base, sizeof(base), "%s/metadata", mdir);
	if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(base, sizeof(base), "%s", mdir);
	int dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return upt_err_set(e, UPT_E_USAGE, "%s: %s", mdir, strerror(errno));
	char **list = NULL;
	size_t nlist = 0;
	mfile *files = NULL;
	img *imgs = NULL;
	size_t nimgs = 0;
	pack_member *members = NULL;
	pack_image *pimgs = NULL;
	const char **devices = NULL;
	size_t ndevices = 0;
	const char *fleet = NULL;
	char fleet_name[UPT_NAME_MAX + 1];
	rc = dir_list(dfd, ".", &list, &nlist, e);
	if (rc)
		goto out;
	files = calloc(nlist ? nlist : 1, sizeof(*files));
	if (!files) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	size_t total = 0;
	for (size_t i = 0; i < nlist; i++) {
		mfile *f = &files[i];
		upt_buf_init(&f->data, UPT_META_FILE_MAX);
		f->rel = list[i] + 2; /* "./" */
		upt_role_type type = UPT_ROLE_ROOT;
		rc = classify(f, &type, e);
		if (rc == UPT_OK)
			rc = upt_file_read(dfd, f->rel, UPT_META_FILE_MAX, &f->data, e);
		if (rc == UPT_OK && f->data.len > UPT_META_TOTAL_MAX - total)
			rc = upt_err_set(e, UPT_E_USAGE, "metadata over %u bytes in all",
					 UPT_META_TOTAL_MAX);
		if (rc == UPT_OK)
			rc = upt_meta_parse(f->data.data, f->data.len, type, &f->meta, e);
		if (rc) {
			upt_err_prefix(e, "%s/%s", base, f->rel);
			goto out;
		}
		total += f->data.len;
		snprintf(f->member, sizeof(f->member), "metadata/%s", f->rel);
	}
	if (nlist)
		qsort(files, nlist, sizeof(*files), cmp_mfile);

	/* Roots 1..N in each repository; the kind; the devices or the fleet. */
	uint64_t roots[2] = {0, 0};
	bool single = false, fleet_snap = false;
	size_t nupdates = 0;
	const mfile *updates = NULL;
	devices = calloc(nlist ? nlist : 1, sizeof(*devices));
	if (!devices) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; rc == UPT_OK && i < nlist; i++) {
		const mfile *f = &files[i];
		if (f->group == 0 || f->group == 2) {
			uint64_t *r = &roots[f->group / 2];
			if (f->ord != *r + 1 || f->meta->version != f->ord)
				rc = upt_err_set(e, UPT_E_USAGE,
						 "%s: root versions must run 1..N without "
						 "gaps, each file holding its own version",
						 f->rel);
			*r = f->ord;
		} else if (f->group == 1 && f->meta->type == UPT_ROLE_OFFLINE_SNAPSHOT) {
			fleet_snap = true;
		} else if (f->group == 1 && f->meta->type == UPT_ROLE_OFFLINE_UPDATES) {
			nupdates++;
			updates = f;
		} else if (f->group == 1 && f->device) {
			if (!ndevices || strcmp(devices[ndevices - 1], f->device))
				devices[ndevices++] = f->device;
			if (f->meta->type == UPT_ROLE_TARGETS &&
			    (!f->meta->device_id || strcmp(f->meta->device_id, f->device)))
				rc = upt_err_set(e, UPT_E_USAGE, "%s: deviceId is not %s", f->rel,
						 f->device);
		} else if (f->group == 1) {
			single = true;
			if (f->meta->type == UPT_ROLE_TARGETS) {
				if (!f->meta->device_id)
					rc = upt_err_set(e, UPT_E_USAGE, "%s: no deviceId", f->rel);
				else
					devices[0] = f->meta->device_id;
			}
		}
	}
	if (rc)
		goto out;
	if (!roots[0] || !roots[1]) {
		rc = upt_err_set(e, UPT_E_USAGE,
				 "both director/1.root.json and image-repo/1.root.json "
				 "are required");
		goto out;
	}
	int kinds = (single ? 1 : 0) + (ndevices ? 1 : 0) + (fleet_snap || nupdates ? 1 : 0);
	if (kinds != 1 || (fleet_snap && nupdates != 1) || (nupdates && !fleet_snap)) {
		rc = upt_err_set(
		    e, UPT_E_USAGE,
		    "the Director files must be one set: "
		    "director/{timestamp,snapshot,targets}.json, or director/devices/ID/.., "
		    "or director/offline-snapshot.json with exactly one offline-updates/NAME.json");
		goto out;
	}
	if (single) {
		if (!devices[0]) {
			rc = upt_err_set(e, UPT_E_USAGE, "director/targets.json is missing");
			goto out;
		}
		ndevices = 1;
	}
	if (nupdates) {
		const char *slash = strrchr(updates->rel, '/');
		snprintf(fleet_name, sizeof(fleet_name), "%.*s", (int)(strlen(slash + 1) - 5),
			 slash + 1);
		fleet = fleet_name;
		ndevices = 0;
	}

	/* The images the Director assigns, checked against what it signs. */
	for (size_t i = 0; rc == UPT_OK && i < nlist; i++) {
		const upt_meta *m = files[i].meta;
		if (files[i].group != 1 ||
		    (m->type != UPT_ROLE_TARGETS && m->type != UPT_ROLE_OFFLINE_UPDATES))
			continue;
		for (size_t t = 0; rc == UPT_OK && t < m->ntargets; t++) {
			bool have = false;
			for (size_t j = 0; j < nimgs; j++)
				have |= !strcmp(imgs[j].t->name, m->targets[t].name);
			if (have)
				continue;
			if (nimgs == UPT_TARGETS_MAX) {
				rc = upt_err_set(e, UPT_E_USAGE, "too many images");
				break;
			}
			img *ni = realloc(imgs, (nimgs + 1) * sizeof(*ni));
			if (!ni) {
				rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
				break;
			}
			imgs = ni;
			rc = check_image(idir, &m->targets[t], &imgs[nimgs], e);
			if (rc == UPT_OK)
				nimgs++;
		}
	}
	if (rc)
		goto out;
	members = calloc(nlist ? nlist : 1, sizeof(*members));
	pimgs = calloc(nimgs ? nimgs : 1, sizeof(*pimgs));
	if (!members || !pimgs) {
		rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nlist; i++) {
		members[i].path = files[i].member;
		members[i].data = files[i].data.data;
		members[i].len = files[i].data.len;
	}
	for (size_t i = 0; i < nimgs; i++) {
		pimgs[i].name = imgs[i].t->name;
		pimgs[i].src = imgs[i].path;
		pimgs[i].length = imgs[i].t->length;
	}
	pack_job job;
	memset(&job, 0, sizeof(job));
	job.out = out;
	job.opts = wo;
	job.fleet = fleet != NULL;
	job.fleet_name = fleet;
	job.devices = devices;
	job.ndevices = ndevices;
	job.created = now_utc();
	job.members = members;
	job.nmembers = nlist;
	job.images = pimgs;
	job.nimages = nimgs;
	pack_result res;
	rc = pack_write(&job, &res, e);
	if (rc == UPT_OK) {
		printf("wrote ");
		pack_print_written(stdout, out, job.opts.split_size);
		printf(": %s bundle, %zu metadata file(s), %zu image(s), %llu bytes, %llu "
		       "compressed (check it: uptane-bundle verify %s --config DEVICE.json)\n",
		       fleet ? "fleet" : "device", nlist, nimgs,
		       (unsigned long long)res.image_bytes,
		       (unsigned long long)res.compressed_bytes, out);
		pack_print_volumes(stdout, out, job.opts.split_size);
	}
out:
	for (size_t i = 0; files && i < nlist; i++) {
		upt_buf_clear(&files[i].data);
		upt_meta_free(files[i].meta);
		free(files[i].device);
	}
	free(files);
	free(imgs);
	free(members);
	free(pimgs);
	free(devices);
	ws_list_free(list, nlist);
	close(dfd);
	return rc;
}

int cmd_pack(int argc, char **argv)
{
	args a;
	upt_err e;
	upt_err_clear(&e);
	int status;
	if (!cli_start(&a, "pack", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
		       &status))
		goto out;
	int rc;
	if (a.npos != 2) {
		status = cli_usage("pack", usage, "expected METADATA_DIR and IMAGES_DIR");
		goto out;
	}
	rc = pack(&a, &e);
	status = rc ? cli_fail("pack", &e) : 0;
out:
	args_free(&a);
	return status;
}
