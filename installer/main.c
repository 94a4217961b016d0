/* uptane-install: the device-side CLI. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: uptane-install [--config FILE] [--json] [--dry-run] install BUNDLE|DIR\n");
		return 0;
	}
	fprintf(stderr, "uptane-install: not implemented yet\n");
	return 1;
}
