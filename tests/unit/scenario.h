/*
 * scenario: the verification engine's test generator. Builds a complete Uptane world (keys for
 * every role of both repositories, a device with three ECUs, Image-repo targets with a
 * delegation, Director instructions) and signs it with formats' own metabuild into a bundle's
 * metadata members plus the device's trusted state, ready for upt_verify.
 *
 * A test changes the world (versions, expiries, keys, thresholds, targets, assignments), or
 * installs a hook that edits any file's `signed` object or its signers just before signing,
 * then calls scn_build. Attacks that need earlier trusted state run a valid bundle through
 * scn_accept first (the trust becomes that run's trust_after).
 *
 * Not a test itself: no assertions here (test_verify.c asserts). Functions return 0 or an
 * upt code; a generator failure is a bug in the test.
 */
#ifndef UPT_TEST_SCENARIO_H
#define UPT_TEST_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/bundle.h"
#include "upt/metabuild.h"
#include "upt/sig.h"
#include "upt/trust.h"
#include "upt/verify.h"

#define SCN_NOW 1893456000 /* 2030-01-01T00:00:00Z */
#define SCN_DAY 86400

enum scn_repo { SCN_DIRECTOR, SCN_IMAGE, SCN_REPOS };
enum scn_role {
	SCN_ROOT,
	SCN_TIMESTAMP,
	SCN_SNAPSHOT,
	SCN_TARGETS,
	SCN_OFFSNAP, /* Director only */
	SCN_OFFUPD,  /* Director only */
	SCN_ROLES
};
enum scn_kind { SCN_DEVICE, SCN_MULTI, SCN_FLEET };

#define SCN_KEYS_MAX 6
#define SCN_POOL_MAX 96
#define SCN_TARGETS_MAX 32
#define SCN_DELEGS_MAX 16
#define SCN_ASSIGN_MAX 8
#define SCN_LIST_MAX 4
#define SCN_OTHERS_MAX 4
#define SCN_ROOTS_MAX 12
#define SCN_FILES_MAX 128

typedef struct scn_keys {
	upt_signer *k[SCN_KEYS_MAX]; /* borrowed from the pool */
	size_t n;
	uint64_t threshold;
} scn_keys;

typedef struct scn_signers {
	const upt_signer *s[SCN_KEYS_MAX * 2];
	size_t n;
} scn_signers;

typedef struct scn_target { /* Image repository */
	char name[128];
	uint64_t length;
	upt_hashes hashes;
	const char *hw[SCN_LIST_MAX];
	size_t nhw;
	bool has_rc;
	uint64_t rc;
	char role[64]; /* "" top-level targets, else the delegated role that signs it */
} scn_target;

typedef struct scn_deleg {
	char name[64];
	char parent[64]; /* "" = top-level targets */
	const char *paths[SCN_LIST_MAX];
	size_t npaths;
	bool terminating;
	const char *hw[SCN_LIST_MAX]; /* hardwareIds of the delegation, none when nhw == 0 */
	size_t nhw;
	scn_keys keys;
	uint64_t version;
	int64_t expires;
	bool unlisted; /* not in the Image snapshot */
} scn_deleg;

typedef struct scn_assign { /* a Director instruction */
	char target[128];
	/* device bundles */
	char ecu[64];
	char hw[64];
	/* fleet bundles */
	const char *fleet_hw[SCN_LIST_MAX];
	size_t nfleet_hw;
	const char *devices[SCN_LIST_MAX]; /* deviceIds, none when ndevices == 0 */
	size_t ndevices;
} scn_assign;

typedef struct scn scn;
/* Called for every metadata file just before it is signed: may edit the `signed` object and
 * the signers. member: the bundle member path ("metadata/director/targets.json", ...). */
typedef void (*scn_hook)(scn *s, const char *member, json_t *signed_obj, scn_signers *sg);
/* Called with every signed file's bytes before anything pins them (may rewrite them). */
typedef void (*scn_post)(scn *s, const char *member, upt_buf *file);

struct scn {
	upt_signer *pool[SCN_POOL_MAX];
	size_t npool;

	enum scn_kind kind;
	scn_keys role[SCN_REPOS][SCN_ROLES];
	bool offline_roles; /* the Director root declares offline-snapshot/offline-updates */
	uint64_t version[SCN_REPOS][SCN_ROLES];
	int64_t expires[SCN_REPOS][SCN_ROLES];
	int64_t issued; /* Director timestamp / offline snapshot; < 0: none */

	/* the device */
	char device_id[64];
	upt_ecu_ident ecus[4];
	size_t necus;
	upt_device_ident dev;
	int64_t now;

	/* Image repository */
	scn_target targets[SCN_TARGETS_MAX];
	size_t ntargets;
	scn_deleg delegs[SCN_DELEGS_MAX];
	size_t ndelegs;
	bool image_timestamp_in_fleet;
	bool omit_image_timestamp;

	/* Director */
	scn_assign as[SCN_ASSIGN_MAX];
	size_t nas;
	char others[SCN_OTHERS_MAX][64]; /* multi-device: further devices (same instructions) */
	size_t nothers;
	bool multi_without_self;
	char fleet_name[64];
	struct {
		char name[64];
		uint64_t version;
	} offsnap_extra[SCN_LIST_MAX]; /* more fleets in the offline snapshot */
	size_t noffsnap_extra;

	/* roots: every version's file bytes, 1..nroots */
	upt_buf roots[SCN_REPOS][SCN_ROOTS_MAX + 1];
	scn_keys root_keys_at[SCN_REPOS][SCN_ROOTS_MAX + 1];
	uint64_t nroots[SCN_REPOS];
	uint64_t ship_roots_from[SCN_REPOS]; /* first version the bundle carries (default 1) */
	int64_t root_expires[SCN_REPOS];

	scn_hook hook;
	scn_post post;
	const char *hook_member; /* for hooks that target one member */
	long long hook_arg;

	/* output of scn_build */
	upt_bundle_meta bundle;
	upt_bundle_file files[SCN_FILES_MAX];
	/* the device's trusted state (scn_new: both v1 roots; scn_accept: a run's trust_after) */
	upt_trust trust;
};

/* A new world; NULL on failure. Trusted state: Director and Image root version 1, floor 0. */
scn *scn_new(void);
void scn_free(scn *s);
/* A fresh key in the pool (owned by s). */
upt_signer *scn_key(scn *s);
/* (Re)builds the bundle's metadata from the world. */
int scn_build(scn *s);
/* Signs root version nroots+1 of repo from the current role keys/thresholds: signed by the
 * previous root's root keys (their threshold) and the new ones. The hook sees it. */
int scn_rotate(scn *s, enum scn_repo repo);
/* Rebuilds version 1 of both roots from the current role keys/thresholds and trusts them
 * (for worlds whose very first root differs from the default). */
int scn_reset_roots(scn *s);
/* Member access on the built bundle. */
const upt_buf *scn_get(const scn *s, const char *member);
void scn_drop(scn *s, const char *member);
int scn_put(scn *s, const char *member, const void *data, size_t len);
/* Re-signs `member` after edit(signed_obj) with the given signers (NULL: its own role's). */
int scn_resign(scn *s, const char *member, void (*edit)(json_t *signed_obj, long long arg),
	       long long arg, const scn_signers *sg);
/* upt_verify over the built bundle, the trusted state and the device; r must be cleared. */
int scn_run(scn *s, upt_verify_result *r);
/* Runs, requires UPT_OK, and makes trust_after the trusted state. */
int scn_accept(scn *s);
/* Trusted state: replaces the trusted root of repo with version v (from s->roots). */
int scn_trust_root(scn *s, enum scn_repo repo, uint64_t v);
/* Helpers for hooks. */
void scn_set_int(json_t *signed_obj, const char *key, long long v);
void scn_set_time(json_t *signed_obj, const char *key, int64_t t);
/* Image target / delegation / assignment lookup by name (NULL when absent). */
scn_target *scn_target_get(scn *s, const char *name);
scn_deleg *scn_deleg_get(scn *s, const char *name);
/* Adds an Image target / delegation / Director instruction; returns it (NULL when full). */
scn_target *scn_target_add(scn *s, const char *name, const char *hw, uint64_t rc, const char *role);
scn_deleg *scn_deleg_add(scn *s, const char *name, const char *parent, const char *path);
scn_assign *scn_assign_add(scn *s, const char *target, const char *ecu, const char *hw);
/* Writes the built bundle's members under dir/ and the trust under dir/trusted/. */
int scn_write(const scn *s, const char *dir);

#endif
