/* Unit tests: bundler/sbom.c, the SBOM reader: both formats' fields (docs/sbom.md), nested
 * CycloneDX components, SPDX suppliers and external references, purls without their version
 * and qualifiers, and the bounds that make an SBOM untrusted input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bundler/sbom.h"

static int parse(const char *json, sbom *s, upt_err *e)
{
	upt_err_clear(e);
	return sbom_parse("t.json", json, strlen(json), s, e);
}

static void cyclonedx_fields(void **state)
{
	(void)state;
	sbom s;
	upt_err e;
	assert_int_equal(
	    parse("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":["
		  "{\"type\":\"library\",\"name\":\"openssl\",\"version\":\"3.0.15-1~deb12u1\","
		  "\"purl\":\"pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64\","
		  "\"cpe\":\"cpe:2.3:a:openssl:openssl:3.0.15:*:*:*:*:*:*:*\","
		  "\"supplier\":{\"name\":\"Debian\"},"
		  "\"hashes\":[{\"alg\":\"SHA-256\",\"content\":\"ab01\"}],"
		  "\"components\":[{\"type\":\"library\",\"name\":\"libcrypto\"}]}]}",
		  &s, &e),
	    UPT_OK);
	assert_int_equal(s.format, SBOM_CYCLONEDX);
	assert_string_equal(s.spec, "1.6");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.c[0].name, "openssl");
	assert_string_equal(s.c[0].version, "3.0.15-1~deb12u1");
	assert_string_equal(s.c[0].supplier, "Debian");
	assert_string_equal(s.c[0].hashes, "SHA-256:ab01");
	assert_non_null(strstr(s.c[0].cpe, "openssl:openssl"));
	assert_string_equal(s.c[1].name, "libcrypto"); /* nested */
	assert_null(s.c[1].version);
	sbom_free(&s);
}

static void spdx_fields(void **state)
{
	(void)state;
	sbom s;
	upt_err e;
	assert_int_equal(
	    parse("{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[{\"name\":\"zlib\","
		  "\"versionInfo\":\"1.2.13\",\"supplier\":\"Organization: Debian\","
		  "\"externalRefs\":[{\"referenceCategory\":\"SECURITY\",\"referenceType\":"
		  "\"cpe23Type\",\"referenceLocator\":\"cpe:2.3:a:zlib:zlib:1.2.13\"},"
		  "{\"referenceCategory\":\"PACKAGE-MANAGER\",\"referenceType\":\"purl\","
		  "\"referenceLocator\":\"pkg:deb/debian/zlib@1.2.13\"}],"
		  "\"checksums\":[{\"algorithm\":\"SHA1\",\"checksumValue\":\"0a\"}]},"
		  "{\"name\":\"x\",\"supplier\":\"NOASSERTION\"}]}",
		  &s, &e),
	    UPT_OK);
	assert_int_equal(s.format, SBOM_SPDX);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.c[0].supplier, "Debian");
	assert_string_equal(s.c[0].purl, "pkg:deb/debian/zlib@1.2.13");
	assert_string_equal(s.c[0].cpe, "cpe:2.3:a:zlib:zlib:1.2.13");
	assert_string_equal(s.c[0].hashes, "SHA1:0a");
	assert_null(s.c[1].supplier);
	sbom_free(&s);
}

static void refused(void **state)
{
	(void)state;
	static const struct {
		const char *json, *words;
	} cases[] = {
	    {"[]", "not a JSON object"},
	    {"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.3\"}", "specVersion"},
	    {"{\"bomFormat\":\"SWID\",\"specVersion\":\"1.5\"}", "bomFormat"},
	    {"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"spdxVersion\":\"SPDX-2.3\"}",
	     "both"},
	    {"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"components\":{}}",
	     "components: not an array"},
	    {"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"components\":[{\"name\":\"\"}]"
	     "}",
	     "components[0].name"},
	    {"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"components\":[{\"name\":\"a\","
	     "\"hashes\":[{\"alg\":\"MD5\",\"content\":\"zz\"}]}]}",
	     "components[0].hashes[0]"},
	    {"{\"spdxVersion\":\"SPDX-2.3\",\"packages\":[{\"name\":\"a\",\"externalRefs\":[{}]}]}",
	     "packages[0].externalRefs[0]"},
	    {"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"bomFormat\":\"CycloneDX\"}",
	     "t.json"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbom s;
		upt_err e;
		int rc = parse(cases[i].json, &s, &e);
		if (rc == UPT_OK || !strstr(e.msg, cases[i].words) || !strstr(e.msg, "t.json"))
			fail_msg("case %zu: rc %d, \"%s\" (want \"%s\")", i, rc, e.msg,
				 cases[i].words);
	}
	/* nesting past the bound */
	char deep[2048] = "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"components\":";
	for (int d = 0; d < 18; d++)
		strcat(deep, "[{\"name\":\"a\",\"components\":");
	strcat(deep, "[]");
	for (int d = 0; d < 18; d++)
		strcat(deep, "}]");
	strcat(deep, "}");
	sbom s;
	upt_err e;
	assert_int_not_equal(parse(deep, &s, &e), UPT_OK);
	assert_non_null(strstr(e.msg, "deep"));
}

static void purl_base(void **state)
{
	(void)state;
	char b[128];
	assert_true(sbom_purl_base("pkg:npm/semver@7.5.1", b, sizeof(b)));
	assert_string_equal(b, "pkg:npm/semver");
	assert_true(sbom_purl_base("pkg:npm/%40scope/name@1.0.0?x=1#sub", b, sizeof(b)));
	assert_string_equal(b, "pkg:npm/%40scope/name");
	assert_true(sbom_purl_base("pkg:deb/debian/curl?arch=amd64", b, sizeof(b)));
	assert_string_equal(b, "pkg:deb/debian/curl");
	assert_false(sbom_purl_base("npm/semver", b, sizeof(b)));
	assert_false(sbom_purl_base("pkg:semver", b, sizeof(b)));
	assert_false(sbom_purl_base("pkg:npm/semver", b, 8)); /* does not fit */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cyclonedx_fields),
	    cmocka_unit_test(spdx_fields),
	    cmocka_unit_test(refused),
	    cmocka_unit_test(purl_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
