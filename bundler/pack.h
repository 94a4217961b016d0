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

/* --split-size SIZE: 1M to UPT_SPLIT_SIZE_MAX (the volumes exist for FAT32's 4 GiB - 1 file
 * size limit). UPT_E_USAGE naming the option and the bound. */
int pack_parse_split_size(const char *s, uint64_t *out, upt_err *e) UPT_MUST_CHECK;

/* What pack_write wrote to out: "out", or "out.000 .. .NNN (N volumes)" when split. */
void pack_print_written(FILE *f, const char *out, uint64_t split_size);
/* When split: one line per volume, "  out.NNN  SIZE bytes". */
void pack_print_volumes(FILE *f, const char *out, uint64_t split_size);

#endif
