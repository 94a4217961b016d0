/*
 * devstate: the installer's own state records as typed values with a JSON form. Pure: bytes in,
 * records out, and back; the installer decides where the bytes live (docs/device-config.md).
 *
 * - Installed images (state_dir/trusted/installed.json): per ECU the confirmed image (target
 *   name, length, hashes, release counter, when, from which bundle), for A/B ECUs the active
 *   slot and a pending image awaiting `confirm`.
 * - Commit journal (state_dir/journal): the ECUs of one commit and how far each got, so that
 *   recovery rolls forward and never runs an exec handler twice.
 * Both are written by us, but parsed as strictly as untrusted input: a damaged state file must
 * stop the installer with a clear error, never be half-understood.
 */
#ifndef UPT_DEVSTATE_H
#define UPT_DEVSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/buf.h"
#include "upt/devconfig.h"
#include "upt/err.h"
#include "upt/hash.h"
#include "upt/limits.h"

#define UPT_BUNDLE_NAME_MAX 255
#define UPT_BUNDLE_ID_MAX 255

typedef struct upt_image_record {
	char target[UPT_TARGET_NAME_MAX + 1];
	uint64_t length;
	upt_hashes hashes;
	uint64_t release_counter;
	int64_t installed_at;
	char bundle[UPT_BUNDLE_NAME_MAX + 1];  /* bundle file name */
	char bundle_id[UPT_BUNDLE_ID_MAX + 1]; /* "<fleet or device id>:<version>" */
} upt_image_record;

typedef struct upt_installed_ecu {
	char serial[UPT_NAME_MAX + 1];
	bool has_image; /* false: the factory image, unknown to us */
	upt_image_record image;
	int active_slot;  /* ab: 0 or 1 (initially 0) */
	bool has_pending; /* ab: activated, awaiting confirm */
	int pending_slot;
	upt_image_record pending;
} upt_installed_ecu;

typedef struct upt_installed {
	upt_installed_ecu *ecus;
	size_t necus;
} upt_installed;

void upt_installed_init(upt_installed *s);
void upt_installed_clear(upt_installed *s);
/* Parses installed.json. UPT_E_INTERNAL ("state file damaged") on anything unexpected.
 * out untouched on failure. */
int upt_installed_parse(const void *data, size_t len, upt_installed *out,
			upt_err *e) UPT_MUST_CHECK;
/* Deterministic, readable JSON (sorted keys, indented). */
int upt_installed_serialize(const upt_installed *s, upt_buf *out, upt_err *e) UPT_MUST_CHECK;
/* The ECU's record, NULL when none. */
upt_installed_ecu *upt_installed_get(const upt_installed *s, const char *serial);
/* The ECU's record, created empty (slot 0, no image) when absent. NULL on out of memory.
 * Creating a record may move the others: pointers from earlier get/upsert calls are stale. */
upt_installed_ecu *upt_installed_upsert(upt_installed *s, const char *serial);
int upt_installed_copy(upt_installed *dst, const upt_installed *src, upt_err *e) UPT_MUST_CHECK;

typedef enum upt_journal_state {
	UPT_JOURNAL_STAGED,  /* image verified and synced; not activated */
	UPT_JOURNAL_RUNNING, /* exec handler started: never start it again */
	UPT_JOURNAL_DONE,    /* activated */
	UPT_JOURNAL_FAILED,  /* activation failed */
} upt_journal_state;

const char *upt_journal_state_name(upt_journal_state s);

typedef struct upt_journal_ecu {
	char serial[UPT_NAME_MAX + 1];
	upt_handler_type type;
	upt_journal_state state;
	int slot; /* ab: the slot written and activated */
	uint64_t length;
	uint8_t sha256[UPT_SHA256_LEN];
	upt_image_record record; /* what installed.json records once activated */
	/* file: the staged file's inode as it was written and hashed, checked again before the
	 * rename. In memory only (not in the journal file): after a crash the staged file is
	 * hashed again instead. 0 when unknown. */
	uint64_t staged_dev, staged_ino;
} upt_journal_ecu;

typedef struct upt_journal {
	char bundle[UPT_BUNDLE_NAME_MAX + 1];
	int64_t started;
	upt_journal_ecu *ecus;
	size_t necus;
} upt_journal;

void upt_journal_init(upt_journal *j);
void upt_journal_clear(upt_journal *j);
int upt_journal_parse(const void *data, size_t len, upt_journal *out, upt_err *e) UPT_MUST_CHECK;
int upt_journal_serialize(const upt_journal *j, upt_buf *out, upt_err *e) UPT_MUST_CHECK;

#endif
