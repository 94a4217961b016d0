/*
 * verify_internal: what the files of the verification engine share. Not a public contract.
 *
 *   verify.c           orchestration: bundle layout, policy, time, the result
 *   verify_common.c    the checks every role shares (signatures, expiry, versions, pinning)
 *   verify_root.c      step 1: root chains of both repositories (5.4.4.3)
 *   verify_director.c  step 2: Director, device bundles (5.4.4.4-5.4.4.6) and fleet (PURE-2)
 *   verify_image.c     steps 3 and 4: Image repository, delegation walk, Director/Image match
 *   verify_encryption.c step 4b: encrypted targets (sealed length and hashes, wrapped keys)
 */
#ifndef UPT_VERIFY_INTERNAL_H
#define UPT_VERIFY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/bundle.h"
#include "upt/err.h"
#include "upt/limits.h"
#include "upt/meta.h"
#include "upt/trust.h"
#include "upt/verify.h"

/* Bundle member paths and trust names we build are at most this long (member paths are capped
 * at UPT_MEMBER_PATH_MAX by the bundle format). */
#define VFY_PATH_MAX (UPT_MEMBER_PATH_MAX + 16)

#define VFY_DIRECTOR "metadata/director/"
#define VFY_IMAGE "metadata/image-repo/"

/* One Director instruction for one ECU of this device. */
typedef struct vfy_dassign {
	const upt_ecu_ident *ecu;
	const upt_target *dt; /* in ctx->dtargets */
} vfy_dassign;

/* A targets role of the Image repository, loaded at most once per run. */
typedef struct vfy_role {
	char name[UPT_NAME_MAX + 1]; /* "targets" or the delegated role's name */
	char member[VFY_PATH_MAX];
	upt_meta *m;
	const upt_buf *bytes;
	bool checked;	     /* version, rollback and expiry passed */
	bool same_as_stored; /* identical to the trusted copy: keep the trusted bytes */
	uint64_t visited_in; /* the search (c->search) that last visited it */
	/* Delegating files whose delegation this file's signatures satisfied (a role name may be
	 * delegated by more than one file, each with its own keys). */
	const upt_meta **parents_ok;
	size_t nparents_ok;
} vfy_role;

/* A pending role of the pre-order walk. */
typedef struct vfy_walk_item {
	const upt_delegation *d; /* NULL: top-level targets */
	size_t parent;		 /* index into c->roles of the delegating file */
} vfy_walk_item;

typedef struct vfy_ctx {
	const upt_bundle_meta *b;
	const upt_device_ident *dev;
	const upt_trust *stored; /* trusted state after step 1: new metadata is compared with it */
	upt_trust *next;	 /* what a successful run persists */
	int64_t t;		 /* effective time, raised by a verified `issued` */
	bool has_issued;
	int64_t issued;
	bool fleet;
	upt_meta *droot; /* the final roots after step 1 (owned) */
	upt_meta *iroot;

	/* step 2 */
	char ddir[UPT_NAME_MAX + 64];	    /* ".../director/" or ".../director/devices/<id>/" */
	char fleet_name[UPT_NAME_MAX + 1];  /* fleet bundles */
	char dtargets_member[VFY_PATH_MAX]; /* Director targets or offline-updates member */
	upt_meta *dtargets;		    /* owned */
	upt_meta *dtargets_parsed;	    /* the device-bundle pre-check's parse, reused */
	vfy_dassign *as;
	size_t nas;
	const upt_ecu_ident **ecu_order; /* dev->ecus sorted by serial (bsearch) */
	bool *ecu_used;			 /* per dev->ecus index: already assigned */

	/* step 3 */
	bool image_optional_timestamp; /* fleet bundles: PURE-2 omits it and waives snapshot expiry
					*/
	bool image_no_snapshot_expiry;
	upt_meta *isnap; /* owned */
	vfy_role *roles;
	size_t nroles;
	size_t *role_map; /* open addressing over role names: index + 1, 0 = empty */
	size_t role_map_cap;
	vfy_walk_item *stack; /* the walk's stack, reused across searches */
	size_t stack_cap;
	uint64_t search; /* target searches so far: visited marks compare with it */

	upt_err *e;
} vfy_ctx;

/* ---- verify_common.c ---- */

const upt_buf *upt_vfy_member(const upt_bundle_meta *b, const char *path);
/* Records code, the failing member (may be NULL) and a formatted message. Returns code. */
int upt_vfy_fail(upt_err *e, int code, const char *member, const char *fmt, ...) UPT_PRINTF(4, 5);
/* Parses member's bytes as `type`; errors carry the member and a context prefix. */
int upt_vfy_parse(const char *member, const char *what, const upt_buf *bytes, upt_role_type type,
		  upt_meta **out, upt_err *e) UPT_MUST_CHECK;
/* A file the pinning metadata lists: length (when listed) and every listed hash over the file
 * bytes (5.4.4.5, 5.4.4.6: mix-and-match otherwise). */
int upt_vfy_pinned(const char *member, const char *what, const upt_buf *bytes,
		   const upt_fileinfo *fi, const char *pinner, upt_err *e) UPT_MUST_CHECK;
/* Threshold of `role` (keys from keys_from) over m -> arbitrary-software. */
int upt_vfy_signed(const char *member, const char *what, const upt_meta *m,
		   const upt_meta *keys_from, const upt_role_keys *role, upt_err *e) UPT_MUST_CHECK;
/* The role a root declares, or arbitrary-software (a role the root does not authorise). */
int upt_vfy_root_role(const upt_meta *root, const char *repo, const char *role_name,
		      const char *member, const upt_role_keys **out, upt_err *e) UPT_MUST_CHECK;
/* expires <= t -> freeze. */
int upt_vfy_fresh(const char *member, const char *what, const upt_meta *m, int64_t t,
		  upt_err *e) UPT_MUST_CHECK;
/* Loads the trusted copy `name` (NULL out when absent). A trusted file that does not parse is
 * a corrupt state directory -> UPT_E_INTERNAL. */
int upt_vfy_stored(const upt_trust *stored, const char *name, upt_role_type type, upt_meta **out,
		   upt_err *e) UPT_MUST_CHECK;
/* Version against the trusted copy: lower -> rollback; equal -> the canonical `signed` must be
 * identical (*same = true) or rollback (docs/threat-model.md). */
int upt_vfy_not_older(const char *member, const char *what, const upt_meta *m, const upt_meta *old,
		      bool *same, upt_err *e) UPT_MUST_CHECK;
/* Snapshot-like files (snapshot, offline snapshot) against the trusted copy's listing: a lower
 * per-file version is rollback; a dropped file is rollback unless dropped_ok (PURE-2). */
int upt_vfy_listing_not_older(const char *member, const char *what, const upt_meta *m,
			      const upt_meta *old, bool dropped_ok, upt_err *e) UPT_MUST_CHECK;
/* Stores bytes under name in next unless `same` (then the trusted copy stays). */
int upt_vfy_keep(upt_trust *next, const char *name, const upt_buf *bytes, bool same,
		 upt_err *e) UPT_MUST_CHECK;
/* A timestamp (5.4.4.4, TUF 5.4): parse, threshold of root's timestamp role (repo: the
 * repository label for messages), not older than the trusted copy stored_name, a snapshot.json
 * entry with sha256 whose version does not go down, not expired at t. On success *ts_out
 * (caller frees), *fi_out (its snapshot.json entry, inside *ts_out) and *same are set. */
int upt_vfy_timestamp(const char *member, const char *what, const char *repo, const upt_buf *bytes,
		      const upt_meta *root, const upt_trust *stored, const char *stored_name,
		      int64_t t, upt_meta **ts_out, const upt_fileinfo **fi_out, bool *same,
		      upt_err *e) UPT_MUST_CHECK;
/* The `issued` of a verified Director timestamp / offline snapshot raises the effective time
 * for the rest of the run (docs/device-config.md, time_floor). */
void upt_vfy_raise_time(vfy_ctx *c, const upt_meta *m);

/* ---- verify_root.c ---- */

/* Step 1 for one repository: repo is "director" or "image-repo". Chains from the trusted root
 * through the bundle's N+1.root.json, storing each accepted root in *work at once and
 * applying the fast-forward forgets there. *root_out: the final root (caller frees), set on
 * success only. UPT_E_CONFIG when work holds no root, UPT_E_UNTRUSTED_ROOT when it is unusable. */
int upt_vfy_roots(const upt_bundle_meta *b, const char *repo, upt_trust *work, int64_t t,
		  upt_meta **root_out, bool *changed, upt_err *e) UPT_MUST_CHECK;

/* ---- verify_director.c ---- */

/* Picks this device's Director files: c->ddir (device bundles; a multi-device bundle without
 * a set for this device is not for it) or c->fleet_name. For device bundles, Director targets
 * of another device that are signed by the Director's targets role are not for us (exit 3)
 * whatever their timestamp and snapshot say: decided before those files are compared with this
 * device's trusted Director metadata, which belongs to a different sequence. UPT_OK when
 * nothing shows the bundle is for another device; UPT_E_NOT_FOR_DEVICE with intended filled. */
int upt_vfy_director_select(vfy_ctx *c, char *intended, size_t intended_size) UPT_MUST_CHECK;
/* Step 2. Fills c->dtargets and c->as. UPT_E_NOT_FOR_DEVICE with intended filled when nothing
 * is addressed to this device. */
int upt_vfy_director(vfy_ctx *c, char *intended, size_t intended_size) UPT_MUST_CHECK;

/* ---- verify_image.c ---- */

/* Step 3: Image timestamp (if present), snapshot, top-level targets. */
int upt_vfy_image_top(vfy_ctx *c) UPT_MUST_CHECK;
/* Step 3 search (5.4.4.7, TUF 5.6.7): pre-order depth-first walk over delegations, loading and
 * verifying each role at most once per run. hwid: the ECU's hardware id (delegations listing
 * hardware ids apply only to those), NULL for none. *found NULL when no role signs name;
 * *signer: the member path of the role that signed it. */
int upt_vfy_image_find(vfy_ctx *c, const char *name, const char *hwid, const upt_target **found,
		       const char **signer) UPT_MUST_CHECK;
/* Step 4 for every Director assignment, filling out->assignments. */
int upt_vfy_match(vfy_ctx *c, upt_verify_result *out) UPT_MUST_CHECK;

/* ---- verify_encryption.c ---- */

/* Step 4b: for each assignment whose Director target carries custom.encryption, checks the
 * object and fills the assignment's sealed form and the image key wrapped for this device. */
int upt_vfy_encryption(vfy_ctx *c, upt_verify_result *out) UPT_MUST_CHECK;
/* Stores the verified Image-repo files in c->next (after every check passed). */
int upt_vfy_image_commit(vfy_ctx *c) UPT_MUST_CHECK;
void upt_vfy_image_clear(vfy_ctx *c);

#endif
