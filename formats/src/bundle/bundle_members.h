/*
 * bundle_members: the member rules of docs/bundle-format.md that every tar entry of a bundle
 * obeys, judged one header at a time: the name (allowlist, length, top-level name), the type
 * (regular files and directories only: no links, devices, FIFOs, sparse files), no duplicate
 * names, and bundle.json's format and version. Which member may come where (bundle.json first,
 * metadata before images) and the size caps of the metadata are the reader's.
 */
#ifndef UPT_BUNDLE_MEMBERS_H
#define UPT_BUNDLE_MEMBERS_H

#include <archive_entry.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/buf.h"
#include "upt/err.h"
#include "upt/limits.h"

enum upt_member_kind {
	UPT_MEMBER_DIR,		/* a directory: allowed, otherwise ignored */
	UPT_MEMBER_BUNDLE_JSON, /* bundle.json */
	UPT_MEMBER_META,	/* metadata/... */
	UPT_MEMBER_IMAGE,	/* images/... */
};

/* The names seen, for duplicate detection: 64 bits of SHA-256 per name, open addressing, so
 * UPT_MEMBERS_MAX names of 1 KiB each cost 1 MiB and not 64 MiB. Zero-initialised is empty. */
struct upt_member_names {
	uint64_t *slots;
	size_t cap;
	size_t n;
};

/* The rules on a header's name and type. path (UPT_MEMBER_PATH_MAX + 2 bytes) gets the
 * member path (a directory's without its trailing '/'), *dir whether it is a directory. Any
 * error is a rule violation (UPT_E_UNSAFE_ARCHIVE), e->file naming the member. */
int upt_member_check_header(struct archive_entry *ent, char *path, bool *dir,
			    upt_err *e) UPT_MUST_CHECK;
/* Remembers name; *seen when it was there before. Errors (out of memory) are ours, not the
 * archive's. */
int upt_member_names_add(struct upt_member_names *names, const char *name, bool *seen,
			 upt_err *e) UPT_MUST_CHECK;
void upt_member_names_free(struct upt_member_names *names);
/* Where a member that passed upt_member_check_header belongs, and its size (0 for a
 * directory). Any error is a rule violation (UPT_E_MALFORMED), e->file naming the member. */
int upt_member_classify(struct archive_entry *ent, const char *path, bool dir,
			enum upt_member_kind *kind, uint64_t *size, upt_err *e) UPT_MUST_CHECK;
/* bundle.json's format and version (another version: UPT_E_MALFORMED "made by a newer
 * bundler"); nothing else in it is trusted here. */
int upt_member_check_bundle_json(const upt_buf *b, upt_err *e) UPT_MUST_CHECK;

#endif
