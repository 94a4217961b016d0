/*
 * workspace: the release engineer's working directory, its layout, loading and saving.
 *
 *   WORKSPACE/workspace.json    settings: each role's keys (path + public key), threshold and
 *                               expiry; delegations (in order); targets (source file, length,
 *                               hashes, hardware ids, release counter, signing role);
 *                               device and fleet assignments
 *   WORKSPACE/metadata/         the latest metadata of both repositories, in the bundle's
 *                               metadata/ layout: director/N.root.json, image-repo/N.root.json
 *                               (all versions: the device-side trust anchors are
 *                               director/1.root.json and image-repo/1.root.json), and the last
 *                               signed version of every other role: the next create signs
 *                               versions strictly above these. Device Director sets always live
 *                               in director/devices/<id>/ here, whatever the bundle layout.
 *   WORKSPACE/staged/           a create waiting for signatures (create --sign-later):
 *                               plan.json and the files signed so far (metadata/ layout)
 *   WORKSPACE/lock              flock: one command at a time per workspace
 *
 * Key files stay where the operator keeps them: the workspace records their paths and public
 * keys, never copies a private key. A path (key, target source) is stored relative to the
 * workspace when the two share a directory below "/" (the release directory holding the
 * workspace, the keys and the images can be moved or copied as one), else absolute (a key on
 * a mounted token). In memory every path is absolute.
 */
#ifndef UPT_BUNDLER_WORKSPACE_H
#define UPT_BUNDLER_WORKSPACE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/buf.h"
#include "upt/err.h"
#include "upt/meta.h"

#define WS_FILE "workspace.json"
#define WS_FORMAT "uptane-bundle-workspace"
#define WS_MAX (64u << 20) /* workspace.json: many targets and devices, still bounded */

/* Days a signature must stay valid at least, and when to warn about a root. */
#define WS_MIN_VALIDITY (7 * 86400)
#define WS_ROOT_WARN (30 * 86400)

typedef struct ws {
	char *dir;
	char *absdir; /* dir, canonical: the base of the paths workspace.json stores relative */
	int dirfd;
	int lockfd;
	json_t *doc;
} ws;

/* Creates WORKSPACE (absent or an empty directory) with doc as workspace.json, locked. */
int ws_create(const char *dir, json_t *doc, ws *w, upt_err *e) UPT_MUST_CHECK;
/* Opens and locks an existing workspace. */
int ws_open(const char *dir, ws *w, upt_err *e) UPT_MUST_CHECK;
/* Writes workspace.json atomically. */
int ws_save(ws *w, upt_err *e) UPT_MUST_CHECK;
void ws_close(ws *w);

/* A new, empty settings document. */
json_t *ws_doc_new(void);

/* "image-repo" or "director" (anything else: false). */
bool ws_repo_valid(const char *repo);
/* The role entry {"keys":[..],"threshold":N,"expires":"90d"}, NULL when absent. */
json_t *ws_role(const ws *w, const char *repo, const char *role);
/* A delegation entry by name, NULL when absent. */
json_t *ws_delegation(const ws *w, const char *name);

/* A key entry {"path": absolute path, "keyid", "public"} from a file named on the command line
 * (checked and loaded: a .key must be a usable private key with a safe mode). */
int ws_key_entry(const char *path, json_t **out, upt_err *e) UPT_MUST_CHECK;
/* The public keys of a role or delegation entry ("keys" array). *out is malloc'd. */
int ws_entry_keys(const json_t *entry, upt_key **out, size_t *n, upt_err *e) UPT_MUST_CHECK;

/* The default expiry of a role ("365d" root, "30d" timestamp, "90d" the others). */
const char *ws_default_expiry(const char *role);
/* The expiry duration (seconds from now) of a role: the entry's "expires", else the default. */
int ws_entry_expiry(const json_t *entry, const char *role, int64_t now, int64_t *secs,
		    upt_err *e) UPT_MUST_CHECK;

/* Metadata files, by path relative to the workspace ("metadata/image-repo/targets.json").
 * Read: UPT_E_NOT_FOUND when absent. Write: creates the directories, replaces atomically. */
int ws_read(const ws *w, const char *rel, size_t max, upt_buf *out, upt_err *e) UPT_MUST_CHECK;
int ws_write(const ws *w, const char *rel, const void *data, size_t len, upt_err *e) UPT_MUST_CHECK;
bool ws_exists(const ws *w, const char *rel);
/* signed.version of a metadata file, 0 when the file is absent. */
int ws_meta_version(const ws *w, const char *rel, uint64_t *version, upt_err *e) UPT_MUST_CHECK;
/* The newest root version N of a repository (1.root.json .. N.root.json all present). */
int ws_root_latest(const ws *w, const char *repo, uint64_t *n, upt_err *e) UPT_MUST_CHECK;
/* Parses metadata/<repo>/<version>.root.json. */
int ws_load_root(const ws *w, const char *repo, uint64_t version, upt_meta **out,
		 upt_err *e) UPT_MUST_CHECK;
/* Removes a directory tree under the workspace (staged/). Missing is fine. */
int ws_remove_tree(const ws *w, const char *rel, upt_err *e) UPT_MUST_CHECK;

/* Target names (docs/bundle-format.md: images/<name> is a member path): 1..UPT_TARGET_NAME_MAX
 * bytes of letters, digits, '.', '_', '+', '-' and '/'; not absolute, no empty, "." or ".."
 * component. */
bool ws_target_name_valid(const char *name);
/* Delegation path patterns: '*' matches any run of characters except '/', '?' one character
 * except '/'; everything else literally. */
bool ws_path_match(const char *pattern, const char *name);

/* Lists the regular files under a workspace directory, recursively, as paths relative to the
 * workspace, sorted. */
int ws_list(const ws *w, const char *rel, char ***out, size_t *n, upt_err *e) UPT_MUST_CHECK;
void ws_list_free(char **list, size_t n);

/* Lists regular files under an arbitrary directory (paths relative to it, sorted). */
int dir_list(int dirfd, const char *rel, char ***out, size_t *n, upt_err *e) UPT_MUST_CHECK;

#endif
