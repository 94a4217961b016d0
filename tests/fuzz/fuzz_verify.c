/*
 * libFuzzer target: the whole verification engine (upt_verify). The input is a framed set of
 * trusted-state files and bundle members (fuzz_format.h); the device is fixed (VIN-1 with the
 * scenario generator's three ECUs). Checked on every input: the result is one of the codes the
 * contract allows; a rejection assigns nothing and leaves the time floor; the trusted state
 * after a rejection differs from the input only in the root files and the files a root
 * rotation forgets; a success assigns only this device's ECUs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_format.h"
#include "upt/limits.h"
#include "upt/verify.h"

#define FZ_FILES_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const upt_ecu_ident ecus[] = {
    {.serial = "ecu-main", .hardware_id = "board-a"},
    {.serial = "ecu-aux", .hardware_id = "board-b", .release_counter = 1},
    {.serial = "sensor-01", .hardware_id = "sensor-y"},
};

static bool forgettable(const char *name)
{
	static const char *const names[] = {"director/root.json",
					    "image-repo/root.json",
					    "director/timestamp.json",
					    "director/snapshot.json",
					    "image-repo/timestamp.json",
					    "image-repo/snapshot.json",
					    "director/offline-snapshot.json"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* After a rejection: every input file outside the root/forget set is present and unchanged,
 * and nothing new appeared outside it. */
static void check_rejected_state(const upt_trust *in, const upt_trust *after)
{
	for (size_t i = 0; i < in->nfiles; i++) {
		const char *n = in->files[i].name;
		if (forgettable(n))
			continue;
		const upt_buf *b = upt_trust_get(after, n);
		if (!b || !upt_buf_equal(b, &in->files[i].data))
			abort();
	}
	for (size_t i = 0; i < after->nfiles; i++)
		if (!forgettable(after->files[i].name) && !upt_trust_get(in, after->files[i].name))
			abort();
	if (after->time_floor != in->time_floor)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static upt_bundle_file files[FZ_FILES_MAX];
	static char paths[FZ_FILES_MAX][256];
	upt_trust trust;
	upt_bundle_meta bm;
	upt_device_ident dev = {"VIN-1", ecus, 3, true, true, NULL, false};
	int64_t now = 1893456000;
	size_t pos = 0, n = 0;
	fz_record r;

	upt_trust_init(&trust);
	memset(&bm, 0, sizeof(bm));
	upt_buf_init(&bm.bundle_json, 16);
	while (fz_next(data, size, &pos, &r)) {
		if (r.kind == 'T') {
			if (upt_trust_set(&trust, r.name, r.data, r.len, NULL) != UPT_OK)
				goto out; /* names the trust store refuses are not a verifier input
					   */
		} else if (r.kind == 'B' && n < FZ_FILES_MAX) {
			snprintf(paths[n], sizeof(paths[n]), "%s", r.name);
			files[n].path = paths[n];
			/* borrowed bytes: the verifier only reads them */
			files[n].data =
			    (upt_buf){(uint8_t *)(uintptr_t)r.data, r.len, r.len, r.len};
			n++;
		} else if (r.kind == 'F') {
			trust.time_floor = fz_int64(&r);
		} else if (r.kind == 'N') {
			now = fz_int64(&r);
		}
	}
	bm.files = files;
	bm.nfiles = n;

	upt_verify_input in = {&trust, &bm, &dev, now};
	upt_verify_result res;
	int rc = upt_verify(&in, &res);
	if (rc != res.code || rc != res.err.code)
		abort();
	if (rc == UPT_OK) {
		for (size_t i = 0; i < res.nassignments; i++) {
			const upt_assignment *a = &res.assignments[i];
			size_t j = 0;
			while (j < 3 && strcmp(a->ecu_serial, ecus[j].serial))
				j++;
			/* only this device's ECUs, never below the installed release */
			if (j == 3 || a->release_counter < ecus[j].release_counter ||
			    !a->hashes.has_sha256)
				abort();
		}
		if (res.trust_after.time_floor < trust.time_floor)
			abort();
	} else {
		if (!upt_err_is_rejection(rc) && rc != UPT_E_NOT_FOR_DEVICE && rc != UPT_E_CONFIG &&
		    rc != UPT_E_INTERNAL && rc != UPT_E_NOMEM)
			abort();
		if (res.nassignments || res.assignments || !res.err.msg[0])
			abort();
		if (rc != UPT_E_INTERNAL && rc != UPT_E_NOMEM)
			check_rejected_state(&trust, &res.trust_after);
	}
	upt_verify_result_clear(&res);
out:
	upt_trust_clear(&trust);
	return 0;
}
