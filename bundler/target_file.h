/*
 * target_file: an image file on the station: its one-pass hashing for `target add`, its record
 * in workspace.json, and the check before create that it is still the file that was hashed.
 */
#ifndef UPT_BUNDLER_TARGET_FILE_H
#define UPT_BUNDLER_TARGET_FILE_H

#include <jansson.h>
#include <stdint.h>

#include "upt/err.h"
#include "upt/hash.h"

typedef struct target_info {
	uint64_t length;
	upt_hashes hashes; /* sha256 and sha512 */
	int64_t mtime_sec;
	int64_t mtime_nsec;
	uint64_t inode;
} target_info;

/* Streams path once through SHA-256 and SHA-512 (UPT_IO_CHUNK at a time: constant memory). */
int target_file_hash(const char *path, target_info *out, upt_err *e) UPT_MUST_CHECK;

/* {"source", "length", "sha256", "sha512", "mtime", "mtime_nsec", "inode"}; NULL on ENOMEM. */
json_t *target_info_to_json(const target_info *ti, const char *abs_path);

/* The hashes a workspace target entry records (sha256, and sha512 when present). */
int target_entry_hashes(const json_t *entry, upt_hashes *out, upt_err *e) UPT_MUST_CHECK;

/* Before signing: the entry's source must be readable, a regular file, and unchanged since
 * target add: the same length, mtime and inode, or (a copied workspace, a touched file) the same
 * length and hashes; otherwise a usage error telling to run target add again. */
int target_file_check(const char *name, const json_t *entry, upt_err *e) UPT_MUST_CHECK;

#endif
