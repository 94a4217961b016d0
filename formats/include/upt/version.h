/*
 * version: the text both tools print for --version. A report from the field has to say exactly
 * what runs: our version, the build variant (a debug build is not what we ship), and the
 * versions of the libraries that parse and check untrusted input.
 */
#ifndef UPT_VERSION_H
#define UPT_VERSION_H

#include <stddef.h>

/* Writes "TOOL VERSION\nbuild: VARIANT, LINKAGE\nlibraries: ...\n" into out (cut at n - 1
 * bytes). linkage says how the tool links its libraries ("static" or "shared"). openssl: the
 * running OpenSSL's OpenSSL_version() text, NULL for the headers' version. more: the tool's own
 * libraries ("SQLite 3.40.1"), appended to the list, or NULL. */
void upt_version_text(const char *tool, const char *linkage, const char *openssl, const char *more,
		      char *out, size_t n);

#endif
