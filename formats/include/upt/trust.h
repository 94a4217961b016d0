/*
 * trust: the device's trusted metadata as raw bytes, keyed by a relative name, plus the time
 * floor. A plain value: the verification engine reads one and returns a new one; the installer
 * loads and saves it as the files of state_dir/trusted/ (same names).
 *
 * Names: "director/root.json", "director/timestamp.json", "director/snapshot.json",
 * "director/targets.json", "director/offline-snapshot.json",
 * "director/offline-updates/<fleet>.json", "image-repo/root.json", "image-repo/timestamp.json",
 * "image-repo/snapshot.json", "image-repo/targets.json", "image-repo/delegations/<role>.json".
 */
#ifndef UPT_TRUST_H
#define UPT_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/buf.h"
#include "upt/err.h"

typedef struct upt_trust_file {
	char *name;
	upt_buf data;
} upt_trust_file;

typedef struct upt_trust {
	upt_trust_file *files; /* sorted by name */
	size_t nfiles;
	int64_t time_floor; /* seconds since the epoch */
} upt_trust;

void upt_trust_init(upt_trust *t);
void upt_trust_clear(upt_trust *t);
/* NULL when absent. */
const upt_buf *upt_trust_get(const upt_trust *t, const char *name);
/* Inserts or replaces (copies data). */
int upt_trust_set(upt_trust *t, const char *name, const void *data, size_t len,
		  upt_err *e) UPT_MUST_CHECK;
/* Removes name (no-op when absent). */
void upt_trust_remove(upt_trust *t, const char *name);
/* Removes every name starting with prefix. */
void upt_trust_remove_prefix(upt_trust *t, const char *prefix);
/* Deep copy into dst (dst is cleared first). */
int upt_trust_copy(upt_trust *dst, const upt_trust *src, upt_err *e) UPT_MUST_CHECK;
/* Same names, same bytes, same floor. */
bool upt_trust_equal(const upt_trust *a, const upt_trust *b);

/* Directory form (state_dir/trusted/): one file per name, plus "time_floor" (RFC 3339).
 * Load reads every file bounded (UPT_STATE_FILE_MAX). Save writes each changed file
 * atomically and removes files no longer present; the caller holds the state lock. */
int upt_trust_load_dir(int dirfd, upt_trust *out, upt_err *e) UPT_MUST_CHECK;
int upt_trust_save_dir(int dirfd, const upt_trust *t, upt_err *e) UPT_MUST_CHECK;
/* Writes t into dirfd, an empty directory that the caller publishes with one rename after
 * syncing its directories (upt_file_write_new): each file is synced, none is renamed. */
int upt_trust_save_new_dir(int dirfd, const upt_trust *t, upt_err *e) UPT_MUST_CHECK;

#endif
