/*
 * devconfig: the device configuration of docs/device-config.md (device.json), parsed and
 * validated into a typed record. Pure: bytes and a base directory in, a record out; no file
 * access (the caller reads the file and decides the base directory).
 *
 * Strict, because a device is provisioned once and then runs unattended: an unknown key, a
 * wrong type or a missing field is an error naming the field (UPT_E_CONFIG), never a silent
 * default that could widen what the device accepts. Relative paths (handler paths and slots,
 * state_dir, trusted_roots, report_key, decrypt_key, and a command's program when it contains a
 * '/') are resolved against base_dir ("relative to the configuration file"). A program without a
 * '/' is refused: commands run without a shell and without a PATH search.
 */
#ifndef UPT_DEVCONFIG_H
#define UPT_DEVCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upt/err.h"

typedef enum upt_handler_type {
	UPT_HANDLER_FILE,
	UPT_HANDLER_AB,
	UPT_HANDLER_EXEC,
} upt_handler_type;

/* "file", "ab", "exec". */
const char *upt_handler_name(upt_handler_type t);

/* An argument vector: fixed arguments, placeholders substituted at run time. */
typedef struct upt_argv {
	char **argv; /* NULL-terminated, argc entries */
	size_t argc;
} upt_argv;

typedef struct upt_dev_ecu {
	char *serial;
	char *hardware_id;
	uint64_t release_counter; /* factory value, default 0 */
	upt_handler_type type;
	char *path;	   /* file: the target file */
	char *slots[2];	   /* ab: slot A (index 0) and B (index 1) */
	upt_argv activate; /* ab: required; {slot} and {device} */
	upt_argv confirm;  /* ab: optional (argc 0 when absent); {slot} and {device} */
	upt_argv command;  /* exec: required, must mention {image} */
	/* ab, exec: optional "timeout_seconds" (1..UPT_PROGRAM_TIMEOUT_MAX) for each run of the
	 * ECU's programs (activate, confirm, command); 0 when absent: the installer's default.
	 * An extension (docs/device-config.md): a hung program must not hold the device forever. */
	uint32_t timeout_s;
} upt_dev_ecu;

typedef struct upt_devconfig {
	char *device_id;
	char *primary_ecu;
	upt_dev_ecu *ecus;
	size_t necus; /* 1..UPT_ECUS_MAX */
	char *state_dir;
	char *director_root;
	char *image_root;
	char *report_key;
	char *decrypt_key; /* X25519 private key file for encrypted images, NULL when none */
	bool accept_device;
	bool accept_fleet;
	bool has_time_floor;
	int64_t time_floor;
} upt_devconfig;

/* Parses and validates len bytes (at most UPT_CONFIG_MAX). Errors are UPT_E_CONFIG with the
 * field named ("ecus[1].install.slots: ..."). *out untouched on failure. */
int upt_devconfig_parse(const void *data, size_t len, const char *base_dir, upt_devconfig **out,
			upt_err *e) UPT_MUST_CHECK;
void upt_devconfig_free(upt_devconfig *c);

/* The ECU with this serial, NULL when absent. */
const upt_dev_ecu *upt_devconfig_ecu(const upt_devconfig *c, const char *serial);

/* One placeholder and its value for upt_argv_expand. */
typedef struct upt_subst {
	const char *key; /* "{slot}", "{device}", "{image}" */
	const char *value;
} upt_subst;

/* Copies tmpl replacing every occurrence of each key inside each argument (arguments are
 * never split or joined: no shell). *out is NULL-terminated; free with upt_argv_free.
 * UPT_E_NOMEM, UPT_E_TOO_LARGE when an argument would exceed 4096 bytes. */
int upt_argv_expand(const upt_argv *tmpl, const upt_subst *subst, size_t nsubst, upt_argv *out,
		    upt_err *e) UPT_MUST_CHECK;
void upt_argv_free(upt_argv *a);

/* The ECU/device/hardware name rule: [A-Za-z0-9._-]{1,128} (docs/bundle-format.md). */
bool upt_devconfig_name_ok(const char *s);

#endif
