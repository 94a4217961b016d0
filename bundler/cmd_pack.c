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

static const char *const director_roles[] = {"timestamp", "snapshot", "targets"};

/* A multi-device bundle's director/devices/ID/ROLE.json; UPT_E_NOT_FOUND (unset) when f is
 * not one. */
static int classify_device_file(mfile *f, upt_role_type *type, upt_err *e)
{
	const char *r = f->rel;
	if (strncmp(r, "director/devices/", 17))
		return UPT_E_NOT_FOUND;
	const char *id = r + 17, *slash = strchr(id, '/');
	if (!slash || (size_t)(slash - id) > UPT_NAME_MAX)
		return UPT_E_NOT_FOUND;
	char dev[UPT_NAME_MAX + 1];
	memcpy(dev, id, (size_t)(slash - id));
	dev[slash - id] = '\0';
	for (int i = 0; upt_name_valid(dev) && i < 3; i++) {
		char file[32];
		snprintf(file, sizeof(file), "%s.json", director_roles[i]);
		if (strcmp(slash + 1, file))
			continue;
		*type = i == 0 ? UPT_ROLE_TIMESTAMP : i == 1 ? UPT_ROLE_SNAPSHOT : UPT_ROLE_TARGETS;
		f->group = 1;
		f->ord = (uint64_t)i;
		f->device = strdup(dev);
		return f->device ? UPT_OK : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	return UPT_E_NOT_FOUND;
}

/* Classifies a file of METADATA_DIR by the layout: its `_type`, group and order. */
static int classify(mfile *f, upt_role_type *type, upt_err *e)
{
	const char *const *roles = director_roles;
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
	int rc = classify_device_file(f, type, e);
	if (rc != UPT_E_NOT_FOUND)
		return rc;
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

/* Everything pack() reads and derives, freed by pack_state_free. */
typedef struct pack_state {
	char base[PATH_MAX]; /* METADATA_DIR/metadata when it exists, else METADATA_DIR */
	int dfd;
	char **list;
	size_t nlist;
	mfile *files; /* nlist, in bundle order */
	img *imgs;
	size_t nimgs;
	const char **devices; /* the devices the Director files name (none for a fleet) */
	size_t ndevices;
	const char *fleet; /* fleet bundle: fleet_name */
	char fleet_name[UPT_NAME_MAX + 1];
} pack_state;

static void pack_state_free(pack_state *s)
{
	for (size_t i = 0; s->files && i < s->nlist; i++) {
		upt_buf_clear(&s->files[i].data);
		upt_meta_free(s->files[i].meta);
		free(s->files[i].device);
	}
	free(s->files);
	free(s->imgs);
	free(s->devices);
	ws_list_free(s->list, s->nlist);
	if (s->dfd >= 0)
		close(s->dfd);
}

/* METADATA_DIR may be a bundle's top (holding metadata/) or the metadata/ directory itself. */
static int open_metadata_dir(pack_state *s, const char *mdir, upt_err *e)
{
	struct stat st;
	snprintf(s->base, sizeof(s->base), "%s/metadata", mdir);
	if (stat(s->base, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(s->base, sizeof(s->base), "%s", mdir);
	s->dfd = open(s->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd < 0)
		return upt_err_set(e, UPT_E_USAGE, "%s: %s", mdir, strerror(errno));
	return UPT_OK;
}

/* One file of the layout: classified, read (within the per-file and total caps), parsed. */
static int read_metadata_file(pack_state *s, mfile *f, size_t *total, upt_err *e)
{
	upt_role_type type = UPT_ROLE_ROOT;
	int rc = classify(f, &type, e);
	if (rc == UPT_OK)
		rc = upt_file_read(s->dfd, f->rel, UPT_META_FILE_MAX, &f->data, e);
	if (rc == UPT_OK && f->data.len > UPT_META_TOTAL_MAX - *total)
		rc = upt_err_set(e, UPT_E_USAGE, "metadata over %u bytes in all",
				 UPT_META_TOTAL_MAX);
	if (rc == UPT_OK)
		rc = upt_meta_parse(f->data.data, f->data.len, type, &f->meta, e);
	if (rc)
		return upt_err_prefix(e, "%s/%s", s->base, f->rel);
	*total += f->data.len;
	snprintf(f->member, sizeof(f->member), "metadata/%s", f->rel);
	return UPT_OK;
}

/* Every file of METADATA_DIR, in the order the bundle holds them (cmp_mfile). */
static int read_metadata(pack_state *s, upt_err *e)
{
	int rc = dir_list(s->dfd, ".", &s->list, &s->nlist, e);
	if (rc)
		return rc;
	s->files = calloc(s->nlist ? s->nlist : 1, sizeof(*s->files));
	if (!s->files)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	size_t total = 0;
	for (size_t i = 0; i < s->nlist; i++) {
		mfile *f = &s->files[i];
		upt_buf_init(&f->data, UPT_META_FILE_MAX);
		f->rel = s->list[i] + 2; /* "./" */
		rc = read_metadata_file(s, f, &total, e);
		if (rc)
			return rc;
	}
	if (s->nlist)
		qsort(s->files, s->nlist, sizeof(*s->files), cmp_mfile);
	return UPT_OK;
}

/* What the Director files say about the bundle's kind, gathered by scan_director. */
typedef struct director_set {
	uint64_t roots[2]; /* the last root version seen: director, image repo */
	bool single, fleet_snap;
	size_t nupdates;
	const mfile *updates;
} director_set;

/* One sorted file: root versions 1..N, the devices' deviceIds, which kind it belongs to. */
static int scan_file(pack_state *s, const mfile *f, director_set *d, upt_err *e)
{
	if (f->group == 0 || f->group == 2) {
		uint64_t *r = &d->roots[f->group / 2];
		bool in_order = f->ord == *r + 1 && f->meta->version == f->ord;
		*r = f->ord;
		if (!in_order)
			return upt_err_set(e, UPT_E_USAGE,
					   "%s: root versions must run 1..N without "
					   "gaps, each file holding its own version",
					   f->rel);
	} else if (f->group == 1 && f->meta->type == UPT_ROLE_OFFLINE_SNAPSHOT) {
		d->fleet_snap = true;
	} else if (f->group == 1 && f->meta->type == UPT_ROLE_OFFLINE_UPDATES) {
		d->nupdates++;
		d->updates = f;
	} else if (f->group == 1 && f->device) {
		if (!s->ndevices || strcmp(s->devices[s->ndevices - 1], f->device))
			s->devices[s->ndevices++] = f->device;
		if (f->meta->type == UPT_ROLE_TARGETS &&
		    (!f->meta->device_id || strcmp(f->meta->device_id, f->device)))
			return upt_err_set(e, UPT_E_USAGE, "%s: deviceId is not %s", f->rel,
					   f->device);
	} else if (f->group == 1) {
		d->single = true;
		if (f->meta->type == UPT_ROLE_TARGETS) {
			if (!f->meta->device_id)
				return upt_err_set(e, UPT_E_USAGE, "%s: no deviceId", f->rel);
			s->devices[0] = f->meta->device_id;
		}
	}
	return UPT_OK;
}

/* Roots 1..N in each repository; exactly one kind; its devices or its fleet. */
static int check_director(pack_state *s, upt_err *e)
{
	director_set d;
	memset(&d, 0, sizeof(d));
	s->devices = calloc(s->nlist ? s->nlist : 1, sizeof(*s->devices));
	if (!s->devices)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < s->nlist; i++) {
		int rc = scan_file(s, &s->files[i], &d, e);
		if (rc)
			return rc;
	}
	if (!d.roots[0] || !d.roots[1])
		return upt_err_set(e, UPT_E_USAGE,
				   "both director/1.root.json and image-repo/1.root.json "
				   "are required");
	int kinds = (d.single ? 1 : 0) + (s->ndevices ? 1 : 0) + (d.fleet_snap || d.nupdates);
	if (kinds != 1 || (d.fleet_snap && d.nupdates != 1) || (d.nupdates && !d.fleet_snap))
		return upt_err_set(
		    e, UPT_E_USAGE,
		    "the Director files must be one set: "
		    "director/{timestamp,snapshot,targets}.json, or director/devices/ID/.., "
		    "or director/offline-snapshot.json with exactly one offline-updates/NAME.json");
	if (d.single) {
		if (!s->devices[0])
			return upt_err_set(e, UPT_E_USAGE, "director/targets.json is missing");
		s->ndevices = 1;
	}
	if (d.nupdates) {
		const char *slash = strrchr(d.updates->rel, '/');
		snprintf(s->fleet_name, sizeof(s->fleet_name), "%.*s", (int)(strlen(slash + 1) - 5),
			 slash + 1);
		s->fleet = s->fleet_name;
		s->ndevices = 0;
	}
	return UPT_OK;
}

static bool have_image(const pack_state *s, const char *name)
{
	for (size_t j = 0; j < s->nimgs; j++)
		if (!strcmp(s->imgs[j].t->name, name))
			return true;
	return false;
}

/* One target a Director file assigns, once: its image checked against what is signed. */
static int add_image(pack_state *s, const char *idir, const upt_target *t, upt_err *e)
{
	if (have_image(s, t->name))
		return UPT_OK;
	if (s->nimgs == UPT_TARGETS_MAX)
		return upt_err_set(e, UPT_E_USAGE, "too many images");
	img *ni = realloc(s->imgs, (s->nimgs + 1) * sizeof(*ni));
	if (!ni)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	s->imgs = ni;
	int rc = check_image(idir, t, &s->imgs[s->nimgs], e);
	if (rc == UPT_OK)
		s->nimgs++;
	return rc;
}

/* The images the Director assigns, checked against what it signs. */
static int collect_images(pack_state *s, const char *idir, upt_err *e)
{
	for (size_t i = 0; i < s->nlist; i++) {
		const upt_meta *m = s->files[i].meta;
		if (s->files[i].group != 1 ||
		    (m->type != UPT_ROLE_TARGETS && m->type != UPT_ROLE_OFFLINE_UPDATES))
			continue;
		for (size_t t = 0; t < m->ntargets; t++) {
			int rc = add_image(s, idir, &m->targets[t], e);
			if (rc)
				return rc;
		}
	}
	return UPT_OK;
}

static void print_packed(const pack_job *job, const pack_result *res)
{
	printf("wrote ");
	pack_print_written(stdout, job->out, job->opts.split_size);
	printf(": %s bundle, %zu metadata file(s), %zu image(s), %llu bytes, %llu "
	       "compressed (check it: uptane-bundle verify %s --config DEVICE.json)\n",
	       job->fleet ? "fleet" : "device", job->nmembers, job->nimages,
	       (unsigned long long)res->image_bytes, (unsigned long long)res->compressed_bytes,
	       job->out);
	pack_print_volumes(stdout, job->out, job->opts.split_size);
}

/* The checked metadata and images through the writer (pack_write), then what was written. */
static int write_bundle(const pack_state *s, const char *out, const upt_bundle_writer_opts *wo,
			upt_err *e)
{
	pack_member *members = calloc(s->nlist ? s->nlist : 1, sizeof(*members));
	pack_image *pimgs = calloc(s->nimgs ? s->nimgs : 1, sizeof(*pimgs));
	int rc = members && pimgs ? UPT_OK : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	for (size_t i = 0; rc == UPT_OK && i < s->nlist; i++)
		members[i] =
		    (pack_member){s->files[i].member, s->files[i].data.data, s->files[i].data.len};
	for (size_t i = 0; rc == UPT_OK && i < s->nimgs; i++)
		pimgs[i] = (pack_image){s->imgs[i].t->name, s->imgs[i].path, s->imgs[i].t->length};
	pack_job job;
	memset(&job, 0, sizeof(job));
	job.out = out;
	job.opts = *wo;
	job.fleet = s->fleet != NULL;
	job.fleet_name = s->fleet;
	job.devices = s->devices;
	job.ndevices = s->ndevices;
	job.created = now_utc();
	job.members = members;
	job.nmembers = s->nlist;
	job.images = pimgs;
	job.nimages = s->nimgs;
	pack_result res;
	if (rc == UPT_OK)
		rc = pack_write(&job, &res, e);
	if (rc == UPT_OK)
		print_packed(&job, &res);
	free(members);
	free(pimgs);
	return rc;
}

/* pack: the options; METADATA_DIR read and checked; the images checked; the bundle written. */
static int pack(const args *a, upt_err *e)
{
	const char *out = args_one(a, "output");
	if (!out)
		return upt_err_set(e, UPT_E_USAGE, "-o OUT.uptane is required");
	upt_bundle_writer_opts wo;
	int rc = pack_parse_writer_opts(a, &wo, e);
	if (rc)
		return rc;
	pack_state s;
	memset(&s, 0, sizeof(s));
	s.dfd = -1;
	rc = open_metadata_dir(&s, a->pos[0], e);
	if (rc == UPT_OK)
		rc = read_metadata(&s, e);
	if (rc == UPT_OK)
		rc = check_director(&s, e);
	if (rc == UPT_OK)
		rc = collect_images(&s, a->pos[1], e);
	if (rc == UPT_OK)
		rc = write_bundle(&s, out, &wo, e);
	pack_state_free(&s);
	return rc;
}

static int pack_run(const args *a)
{
	if (a->npos != 2)
		return cli_usage("pack", usage, "expected METADATA_DIR and IMAGES_DIR");
	upt_err e;
	upt_err_clear(&e);
	return pack(a, &e) ? cli_fail("pack", &e) : 0;
}

int cmd_pack(int argc, char **argv)
{
	return cli_run("pack", usage, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, pack_run);
}
