/* Weak fallbacks for subcommands whose file has not landed yet: each says so plainly.
 * A command's own file overrides its stub; this file disappears once all have landed. */
#include <stdio.h>

#include "commands.h"

#define STUB(fn, name)                                                                             \
	__attribute__((weak)) int fn(int argc, char **argv)                                        \
	{                                                                                          \
		(void)argc;                                                                        \
		(void)argv;                                                                        \
		fprintf(stderr, "uptane-bundle: \"%s\" is not implemented in this build\n", name); \
		return 1;                                                                          \
	}

STUB(cmd_key, "key")
STUB(cmd_init, "init")
STUB(cmd_delegate, "delegate")
STUB(cmd_target, "target")
STUB(cmd_assign, "assign")
STUB(cmd_create, "create")
STUB(cmd_rotate, "rotate")
STUB(cmd_sign, "sign")
STUB(cmd_pack, "pack")
STUB(cmd_verify, "verify")
STUB(cmd_inspect, "inspect")
STUB(cmd_devices, "devices")
STUB(cmd_reports, "reports")
