/*
 * pack: writing a bundle through the container writer (formats/bundle.h): bundle.json (the
 * pinned unsigned hints of docs/bundle-format.md), every metadata/ member, then the images,
 * each zstd-compressed on its own. Shared by create and pack.
 */
#ifndef UPT_BUNDLER_PACK_H
#define UPT_BUNDLER_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "upt/bundle.h"
#include "upt/err.h"
#include "upt/limits.h"

typedef struct pack_image {
	const char *name; /* target name */
	const char *src;  /* file on the station */
	uint64_t length;
} pack_image;

typedef struct pack_member {
	const char *path; /* "metadata/..." */
	const void *data;
	size_t len;
} pack_member;

typedef struct pack_job {
	const char *out;
	upt_bundle_writer_opts opts;
	bool fleet;
	const char *fleet_name;
	const char *const *devices;
	size_t ndevices;
	int64_t created;
	const pack_member *members;
	size_t nmembers;
	const pack_image *images;
	size_t nimages;
	/* Called after the images are compressed and before the bundle becomes visible: create
	 * records the versions it signed here (a failure aborts, nothing is written). */
	int (*before_finish)(void *ctx, upt_err *e);
	void *ctx;
	/* Encrypted bundle: the writer pack_seal_images made, its images already sealed (taken
	 * over: pack_write frees it); bundle.json says "version": 2. NULL: plain images. */
	upt_bundle_writer *sealed;
} pack_job;

typedef struct pack_result {
	uint64_t image_bytes;
	uint64_t compressed_bytes;
} pack_result;

int pack_write(const pack_job *job, pack_result *res, upt_err *e) UPT_MUST_CHECK;

struct crypt_plan;
/* Encrypted bundles (docs/bundle-format.md, "Encrypted images"): opens job->out's writer and
 * seals every image of job under a fresh key of plan (whose info the Director metadata then
 * signs), before any metadata exists. *out: for pack_job.sealed. */
int pack_seal_images(const pack_job *job, struct crypt_plan *plan, upt_bundle_writer **out,
		     upt_err *e) UPT_MUST_CHECK;

/* The compression options create and pack share, with the bounds the station allows (tighter
 * than the writer's own, which tests use to cut small volumes: UPT_SPLIT_SIZE_MIN):
 *   --level N        PACK_LEVEL_MIN..PACK_LEVEL_MAX (zstd levels; above 19 needs a window
 *                    larger than a device's decoder takes)
 *   --threads N      1..PACK_THREADS_MAX
 *   --split-size S   PACK_SPLIT_SIZE_MIN..UPT_SPLIT_SIZE_MAX (the volumes exist for FAT32's
 *                    4 GiB - 1 file size limit; smaller than 1M is a typo, not a stick)
 * An option not given leaves its field 0: the writer's default. UPT_E_USAGE naming the
 * option and the bound, checked in the order above. */
#define PACK_LEVEL_MIN 1
#define PACK_LEVEL_MAX 19
#define PACK_THREADS_MAX UPT_WRITER_THREADS_MAX
#define PACK_SPLIT_SIZE_MIN (1u << 20)
struct args;
int pack_parse_writer_opts(const struct args *a, upt_bundle_writer_opts *o,
			   upt_err *e) UPT_MUST_CHECK;

/* What pack_write wrote to out: "out", or "out.000 .. .NNN (N volumes)" when split. */
void pack_print_written(FILE *f, const char *out, uint64_t split_size);
/* When split: one line per volume, "  out.NNN  SIZE bytes". */
void pack_print_volumes(FILE *f, const char *out, uint64_t split_size);

#endif
