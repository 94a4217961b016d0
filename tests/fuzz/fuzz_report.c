/*
 * libFuzzer target: the station's report parser (report.c), what `uptane-bundle reports ingest`
 * runs on every file a stick brings back before anything else: parse, then check the
 * signatures against a fixed device key (tests/fuzz/seed/report-device.key signed the seeds, so
 * the fuzzer starts from reports that verify). Every refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>

#include "upt/report.h"
#include "upt/sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char device_pub[] =
    "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":"
    "\"62aeee8d40ab67fcfff63ec333605f137cc220e9e5120217a6900835e8ef3926\"}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static upt_key key;
	static int have_key;
	if (!have_key) {
		json_t *k = json_loads(device_pub, 0, NULL);
		if (!k || upt_key_from_json(k, &key, NULL) != UPT_OK)
			abort();
		json_decref(k);
		have_key = 1;
	}
	upt_report_parsed *p = NULL;
	upt_err e;
	if (upt_report_open(data, size, &p, &e) != UPT_OK) {
		if (!e.msg[0])
			abort();
		return 0;
	}
	if (upt_report_verify(p, &key, &e) != UPT_OK && !e.msg[0])
		abort();
	upt_report_parsed_free(p);
	return 0;
}
