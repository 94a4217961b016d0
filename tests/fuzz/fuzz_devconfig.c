/*
 * libFuzzer target: the device configuration parser (devconfig). device.json is written by the
 * integrator, but it is also what a confused or compromised provisioning tool hands the
 * installer: any bytes must give a configuration or a UPT_E_CONFIG naming the field, never a
 * crash. What parses must also be internally consistent: every ECU findable by its serial.
 */
#include <stdint.h>
#include <stdlib.h>

#include "upt/devconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	upt_devconfig *c = NULL;
	upt_err e;
	if (upt_devconfig_parse(data, size, "/etc/uptane-offline", &c, &e) != UPT_OK) {
		if (e.code == UPT_OK || !e.msg[0])
			abort(); /* a failure always says why */
		return 0;
	}
	for (size_t i = 0; i < c->necus; i++)
		if (upt_devconfig_ecu(c, c->ecus[i].serial) != &c->ecus[i])
			abort();
	upt_devconfig_free(c);
	return 0;
}
