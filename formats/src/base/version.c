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

void upt_version_text(const char *tool, const char *linkage, const char *openssl, const char *more,
		      char *out, size_t n)
{
	/* libarchive, zstd and libsodium report the library actually running; jansson the
	 * headers built against (it has no runtime version), OpenSSL too unless the tool passes
	 * OpenSSL_version(): that call would link OpenSSL's init code into the installer, which
	 * links only the low-level SHA functions. Statically linked, the two are the same. */
	snprintf(out, n,
		 "%s %s\nbuild: %s, %s\nlibraries: %s, %s, zstd %s, libsodium %s, jansson %s%s%s\n",
		 tool, UPT_VERSION, UPT_BUILD_TYPE, linkage, archive_version_string(),
		 openssl ? openssl : OPENSSL_VERSION_TEXT, ZSTD_versionString(),
		 sodium_version_string(), JANSSON_VERSION, more ? ", " : "", more ? more : "");
}
