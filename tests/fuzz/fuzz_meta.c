/*
 * libFuzzer target: the metadata parser (meta) for every role type. The first byte picks the
 * expected `_type`; the rest is the file. Whatever parses must answer every lookup, compare
 * equal to itself, and list what it claims (counts within the limits).
 */
#include <stdint.h>
#include <stdlib.h>

#include "upt/limits.h"
#include "upt/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	upt_role_type type = (upt_role_type)(data[0] % 6);
	upt_meta *m = NULL;
	if (upt_meta_parse(data + 1, size - 1, type, &m, NULL) != UPT_OK)
		return 0;
	if (m->type != type || m->version < 1 || !upt_meta_same_signed(m, m) ||
	    m->nsigs > UPT_SIGNATURES_MAX || m->ntargets > UPT_TARGETS_MAX ||
	    m->nfiles > UPT_SNAPSHOT_FILES_MAX || m->ndelegations > UPT_DELEGATIONS_MAX)
		abort();
	for (size_t i = 0; i < m->nroles; i++)
		if (upt_meta_role(m, m->roles[i].name) == NULL || m->roles[i].threshold < 1)
			abort();
	for (size_t i = 0; i < m->nfiles; i++)
		if (upt_meta_file(m, m->files[i].name) == NULL)
			abort();
	for (size_t i = 0; i < m->ntargets; i++)
		if (upt_meta_target(m, m->targets[i].name) == NULL ||
		    !m->targets[i].hashes.has_sha256)
			abort();
	for (size_t i = 0; i < m->nkeys; i++)
		if (upt_meta_key(m, m->keys[i].keyid) == NULL)
			abort();
	upt_meta_free(m);
	return 0;
}
