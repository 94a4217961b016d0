/*
 * sbom: a software bill of materials as the station reads it (docs/sbom.md): CycloneDX JSON
 * 1.4 to 1.6 or SPDX 2.3 JSON, told apart by their own format fields, parsed strictly
 * (the strict JSON parser, every field used checked for its type and bounded).
 *
 * Responsible for: recognising the format and listing the components (name, version, purl,
 * cpe, supplier, hashes). NOT responsible for where the file comes from or where the
 * components go (cmd_target.c signs its hash, ledger_sbom.c stores them).
 */
#ifndef UPT_BUNDLER_SBOM_H
#define UPT_BUNDLER_SBOM_H

#include <stddef.h>
#include <stdint.h>

#include "upt/err.h"
#include "upt/hash.h"

#define SBOM_MAX (64u << 20) /* bytes of one SBOM file */
/* the parsed tree of one SBOM, estimated before parsing (upt_json_scan): a 10 000-component
 * CycloneDX file of 3.5 MB takes about 27 MiB */
#define SBOM_TREE_MAX ((size_t)1 << 30)
#define SBOM_COMPONENTS_MAX 200000 /* components of one SBOM */
#define SBOM_FIELD_MAX 2048	   /* bytes of one name, version, purl, cpe or supplier */
#define SBOM_NEST_MAX 16	   /* CycloneDX components inside components */
#define SBOM_FORMAT_NAME_MAX 16	   /* "CycloneDX", "SPDX" */

enum sbom_format { SBOM_CYCLONEDX, SBOM_SPDX };

typedef struct sbom_component {
	const char *name;     /* never NULL */
	const char *version;  /* NULL when the SBOM gives none */
	const char *purl;     /* NULL when none */
	const char *cpe;      /* NULL when none */
	const char *supplier; /* NULL when none (or SPDX NOASSERTION) */
	char *hashes;	      /* "ALG:hex ALG:hex" as the SBOM names them, NULL when none */
} sbom_component;

typedef struct sbom {
	enum sbom_format format;
	char spec[16]; /* "1.5", "2.3" */
	sbom_component *c;
	size_t n;
	void *doc; /* the parsed document the strings point into */
} sbom;

/* "CycloneDX" or "SPDX": the custom.sbom format names (docs/sbom.md). */
const char *sbom_format_name(enum sbom_format f);

/* Parses len bytes read from file (named in every error, with the field that failed:
 * "FILE: components[3].name: ..."). UPT_E_TOO_LARGE over SBOM_MAX, UPT_E_MALFORMED for
 * anything else wrong. *out is filled only on success; sbom_free it. */
int sbom_parse(const char *file, const void *data, size_t len, sbom *out,
	       upt_err *e) UPT_MUST_CHECK;
void sbom_free(sbom *s);

/* A package URL without its version, qualifiers and subpath ("pkg:npm/%40scope/name"): what
 * purl matching compares (docs/sbom.md). Writes at most n bytes; false when s is no purl. */
bool sbom_purl_base(const char *s, char *out, size_t n);

#endif
