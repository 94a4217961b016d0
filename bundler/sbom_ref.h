/*
 * sbom_ref: the signed reference from a target to its SBOM (docs/sbom.md), the Image-repo
 * target's custom.sbom = {"format": "CycloneDX"|"SPDX", "length": N, "hashes": {"sha256"}},
 * and the workspace's copy of the SBOM it names (WORKSPACE/sboms/<sha256>.json).
 *
 * Responsible for: recording an SBOM with a target (target add --sbom), handing the reference
 * to the metadata builder (create), and reading it back, strictly, from signed metadata
 * (sbom import). NOT responsible for the SBOM's contents (sbom.c).
 */
#ifndef UPT_BUNDLER_SBOM_REF_H
#define UPT_BUNDLER_SBOM_REF_H

#include <jansson.h>
#include <stdbool.h>

#include "upt/err.h"
#include "upt/hash.h"
#include "upt/metabuild.h"
#include "workspace.h"

#define SBOM_DIR "sboms" /* in the workspace */

typedef struct sbom_ref {
	char format[16]; /* "CycloneDX" or "SPDX" */
	uint64_t length;
	uint8_t sha256[UPT_SHA256_LEN];
} sbom_ref;

/* Reads and parses the SBOM at path, keeps a copy in the workspace and records its reference
 * as entry's "sbom" member. *components: how many it lists. */
int sbom_ref_add(ws *w, const char *path, json_t *entry, sbom_ref *out, size_t *components,
		 upt_err *e) UPT_MUST_CHECK;

/* The reference a workspace target entry records into mt (left without one when the entry has
 * none). */
int sbom_ref_to_target(const json_t *entry, upt_mb_target *mt, upt_err *e) UPT_MUST_CHECK;

/* custom.sbom of a signed target: *found false when custom has none; UPT_E_MALFORMED when it
 * is not exactly the pinned shape. */
int sbom_ref_from_custom(const json_t *custom, sbom_ref *out, bool *found,
			 upt_err *e) UPT_MUST_CHECK;

/* "sboms/<sha256 hex>.json": where the workspace keeps the SBOM a reference names. */
void sbom_ref_path(const sbom_ref *r, char out[128]);

#endif
