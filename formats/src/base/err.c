/* err: error records and the code -> class / exit status tables (the frozen API). */
#include "upt/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void upt_err_clear(upt_err *e)
{
	if (!e)
		return;
	e->code = UPT_OK;
	e->file[0] = '\0';
	e->msg[0] = '\0';
}

int upt_err_set(upt_err *e, int code, const char *fmt, ...)
{
	if (!e)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->code = code;
	return code;
}

int upt_err_prefix(upt_err *e, const char *fmt, ...)
{
	if (!e)
		return UPT_E_INTERNAL;
	char ctx[UPT_ERR_MSG_MAX];
	char old[UPT_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	size_t n = strlen(ctx);
	if (n > sizeof(e->msg) - 3)
		n = sizeof(e->msg) - 3;
	memcpy(e->msg, ctx, n);
	memcpy(e->msg + n, ": ", 2);
	size_t room = sizeof(e->msg) - n - 3;
	size_t m = strnlen(old, room);
	memcpy(e->msg + n + 2, old, m);
	e->msg[n + 2 + m] = '\0';
	if (e->code == UPT_OK)
		e->code = UPT_E_INTERNAL;
	return e->code;
}

void upt_err_set_file(upt_err *e, const char *file)
{
	if (!e || !file || e->file[0])
		return;
	snprintf(e->file, sizeof(e->file), "%s", file);
}

static const struct {
	int code;
	const char *name;
	int exit_status;
} classes[] = {
    {UPT_OK, "ok", 0},
    {UPT_E_IO, "io", 7},
    {UPT_E_NOMEM, "internal", 1},
    {UPT_E_INTERNAL, "internal", 1},
    {UPT_E_CONFIG, "config", 2},
    {UPT_E_USAGE, "usage", 2},
    {UPT_E_BUSY, "busy", 7},
    {UPT_E_NOT_FOUND, "not-found", 2},
    {UPT_E_INTERRUPTED, "interrupted", 7},
    {UPT_E_MALFORMED, "malformed", 4},
    {UPT_E_UNSAFE_ARCHIVE, "unsafe-archive", 4},
    {UPT_E_TOO_LARGE, "too-large", 4},
    {UPT_E_UNTRUSTED_ROOT, "untrusted-root", 4},
    {UPT_E_ARBITRARY_SOFTWARE, "arbitrary-software", 4},
    {UPT_E_ROLLBACK, "rollback", 4},
    {UPT_E_FREEZE, "freeze", 4},
    {UPT_E_MIX_AND_MATCH, "mix-and-match", 4},
    {UPT_E_ENDLESS_DATA, "endless-data", 4},
    {UPT_E_WRONG_ECU, "wrong-ecu", 4},
    {UPT_E_WRONG_HARDWARE, "wrong-hardware", 4},
    {UPT_E_TARGET_MISMATCH, "target-mismatch", 4},
    {UPT_E_POLICY, "policy", 4},
    {UPT_E_NOT_FOR_DEVICE, "not-for-this-device", 3},
    {UPT_E_UP_TO_DATE, "up-to-date", 3},
    {UPT_E_NO_BUNDLE, "no-bundle", 3},
    {UPT_E_INSTALL, "install", 5},
    {UPT_E_INSTALL_PARTIAL, "install", 6},
};

const char *upt_err_class(int code)
{
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (classes[i].code == code)
			return classes[i].name;
	return "internal";
}

bool upt_err_is_rejection(int code)
{
	return code >= 200 && code < 400;
}

int upt_err_exit_status(int code)
{
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (classes[i].code == code)
			return classes[i].exit_status;
	return 1;
}
