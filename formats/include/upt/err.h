/*
 * err: error codes and the fixed-size error record every library call fills.
 *
 * Codes are an API: numbered in bands, never renumbered. The 3xx band names the attack class of
 * docs/threat-model.md, because the Uptane standard asks that an error say which attack it
 * detected. Only main() maps codes to exit statuses. No allocation happens on error paths.
 */
#ifndef UPT_ERR_H
#define UPT_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum upt_code {
	UPT_OK = 0,

	/* 1xx environment: the input could not be checked (try again, or fix the set-up) */
	UPT_E_IO = 100, /* read/write error, medium gone */
	UPT_E_NOMEM = 101,
	UPT_E_INTERNAL = 102, /* a bug or a library failure that should not happen */
	UPT_E_CONFIG = 103,   /* device configuration or provisioning is wrong */
	UPT_E_USAGE = 104,
	UPT_E_BUSY = 105, /* another installer holds the state lock */
	UPT_E_NOT_FOUND = 106,
	UPT_E_INTERRUPTED = 107, /* stopped by a signal (SIGTERM): nothing more was done */

	/* 2xx malformed input (a rejection) */
	UPT_E_MALFORMED = 200,
	UPT_E_UNSAFE_ARCHIVE = 201,
	UPT_E_TOO_LARGE = 202,

	/* 3xx Uptane attack classes (a rejection) */
	UPT_E_UNTRUSTED_ROOT = 300,
	UPT_E_ARBITRARY_SOFTWARE = 301,
	UPT_E_ROLLBACK = 302,
	UPT_E_FREEZE = 303,
	UPT_E_MIX_AND_MATCH = 304,
	UPT_E_ENDLESS_DATA = 305,
	UPT_E_WRONG_ECU = 306,
	UPT_E_WRONG_HARDWARE = 307,
	UPT_E_TARGET_MISMATCH = 308,
	UPT_E_POLICY = 309,

	/* 4xx outcomes that are not attacks */
	UPT_E_NOT_FOR_DEVICE = 400, /* no Director instructions for this device (exit 3) */
	UPT_E_UP_TO_DATE = 401,	    /* valid, nothing new (exit 3) */
	UPT_E_NO_BUNDLE = 402,	    /* no bundle found on the medium (exit 3) */

	/* 5xx install */
	UPT_E_INSTALL = 500,	     /* failed, previous software still active (exit 5) */
	UPT_E_INSTALL_PARTIAL = 501, /* failed after some ECUs activated (exit 6) */
};

#define UPT_ERR_MSG_MAX 512
#define UPT_ERR_FILE_MAX 1040

typedef struct upt_err {
	int code;
	char file[UPT_ERR_FILE_MAX]; /* bundle member or path that failed, "" when none */
	char msg[UPT_ERR_MSG_MAX];   /* for people: what failed and, where known, what to do */
} upt_err;

#if defined(__GNUC__)
#define UPT_MUST_CHECK __attribute__((warn_unused_result))
#define UPT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define UPT_MUST_CHECK
#define UPT_PRINTF(a, b)
#endif

/* Resets *e to "no error". */
void upt_err_clear(upt_err *e);

/* Records code and a formatted message in e (e may be NULL). Returns code, so callers write
 * `return upt_err_set(e, UPT_E_MALFORMED, "...")`. Messages longer than the buffer are cut. */
int upt_err_set(upt_err *e, int code, const char *fmt, ...) UPT_PRINTF(3, 4);

/* Prepends "context: " to e->msg as the error travels up. Returns e->code (UPT_E_INTERNAL when
 * e is NULL or holds no code). */
int upt_err_prefix(upt_err *e, const char *fmt, ...) UPT_PRINTF(2, 3);

/* Records the failing file (bundle member path) unless one is already recorded. */
void upt_err_set_file(upt_err *e, const char *file);

/* The pinned class name: "rollback", "malformed", ...; "io", "internal", "install", "config",
 * "usage", "busy", "not-found", "not-for-this-device", "up-to-date", "no-bundle" otherwise. */
const char *upt_err_class(int code);

/* True for the codes that mean "bundle rejected" (2xx and 3xx: exit 4). */
bool upt_err_is_rejection(int code);

/* The exit status docs/threat-model.md pins for a code. */
int upt_err_exit_status(int code);

#endif
