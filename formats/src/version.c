/* version: --version text (formats/include/upt/version.h). */
#include "upt/version.h"

#include <archive.h>
#include <jansson.h>
#include <openssl/opensslv.h>
#include <sodium.h>
#include <stdio.h>
#include <zstd.h>

#ifndef UPT_VERSION
#define UPT_VERSION "unknown"
#endif
#ifndef UPT_BUILD_TYPE
#define UPT_BUILD_TYPE "unknown"
#endif

void upt_version_text(const char *tool, const char *linkage, char *out, size_t n)
{
	/* libarchive, zstd and libsodium report the library actually running; OpenSSL and jansson
	 * the headers built against (OpenSSL_version() would link OpenSSL's init code into the
	 * installer, which links only the low-level SHA functions). Statically linked, the two are
	 * the same. */
	snprintf(
	    out, n, "%s %s\nbuild: %s, %s\nlibraries: %s, %s, zstd %s, libsodium %s, jansson %s\n",
	    tool, UPT_VERSION, UPT_BUILD_TYPE, linkage, archive_version_string(),
	    OPENSSL_VERSION_TEXT, ZSTD_versionString(), sodium_version_string(), JANSSON_VERSION);
}
