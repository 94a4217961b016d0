/*
 * build: the metadata of one bundle, signed in dependency order (docs/bundle-format.md).
 *
 * A bundle's metadata falls into chains whose files pin each other by hash, built layer by
 * layer: the Image repository (targets and delegations -> snapshot -> timestamp), one chain per
 * device (Director targets -> snapshot -> timestamp), or the fleet (offline-updates ->
 * offline-snapshot). Every file is signed with the keys this run holds and its threshold is
 * checked against the workspace's newest root (or the delegating targets file). A file short of
 * its threshold stops its chain: the files after it pin its bytes, which change with every
 * signature. create --sign-later stages what is built; --resume loads the staged files (now
 * carrying the signatures added with `sign`) and continues.
 *
 * Versions: one above the workspace's last signed version of the same file, so every bundle
 * carries strictly greater versions than the last (the devices' rollback checks hold).
 */
#ifndef UPT_BUNDLER_BUILD_H
#define UPT_BUNDLER_BUILD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "encrypt.h"
#include "keys.h"
#include "signing.h"
#include "upt/buf.h"
#include "upt/err.h"
#include "upt/meta.h"
#include "workspace.h"

typedef enum item_kind {
	IT_IMG_TARGETS,
	IT_IMG_DELEG,
	IT_IMG_SNAPSHOT,
	IT_IMG_TIMESTAMP,
	IT_DIR_TARGETS,
	IT_DIR_SNAPSHOT,
	IT_DIR_TIMESTAMP,
	IT_FLEET_UPDATES,
	IT_FLEET_SNAPSHOT,
} item_kind;

typedef struct item {
	item_kind kind;
	int chain;
	int layer;
	char *name; /* device id (IT_DIR_*), delegated role (IT_IMG_DELEG), else NULL */
	char member[UPT_MEMBER_PATH_MAX + 1]; /* bundle member path */
	char wspath[UPT_MEMBER_PATH_MAX + 1]; /* the workspace's latest copy */
	upt_buf bytes;
	upt_meta *meta; /* parsed bytes, once built */
	bool built;
	bool complete; /* threshold met */
	bool staged;   /* loaded from WORKSPACE/staged */
	sig_status st;
} item;

typedef struct build_ctx {
	ws *w;
	keyring *kr;
	int64_t now;
	bool fleet;
	const char *fleet_name;
	const char *const *devices;
	size_t ndevices;
	const json_t *expires; /* {"*" or "REPO/ROLE": DURATION} (seconds in older plans) */
	bool resume;	       /* take files from WORKSPACE/staged where present */
	bool force_expiry;     /* sign roles that outlive their root (warn instead of refuse) */
	/* encrypted bundle: the sealed images and their recipients (NULL: plain images) */
	const crypt_plan *crypt;

	upt_meta *root[2]; /* newest root: [0] image-repo, [1] director */
	uint64_t root_latest[2];
	item *items;
	size_t nitems;
} build_ctx;

/* Checks the workspace and lists the files of this bundle (nothing signed yet). */
int build_plan(build_ctx *c, upt_err *e) UPT_MUST_CHECK;
/* Builds, signs and checks every file it can. OK even when some are short of their threshold
 * (see build_complete). */
int build_run(build_ctx *c, upt_err *e) UPT_MUST_CHECK;
/* True when every file is built and meets its threshold. */
bool build_complete(const build_ctx *c);
void build_free(build_ctx *c);

/* Prints what still needs whose signature: with staged, the files to pass to
 * `uptane-bundle sign` (under prefix/staged/). */
void build_print_pending(const build_ctx *c, FILE *f, const char *prefix, bool staged);

/* The images this bundle carries: sorted, unique target names. *out malloc'd (strings owned
 * by the workspace document). */
int build_images(const build_ctx *c, const char ***out, size_t *n, upt_err *e) UPT_MUST_CHECK;

/* Threshold status of every root file of both repositories; *all_ok false when one is short.
 * With print, lists the short ones. */
int build_roots_status(const ws *w, bool *all_ok, FILE *print, upt_err *e) UPT_MUST_CHECK;

#endif
