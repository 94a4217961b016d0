/* uptane-bundle: the station-side CLI. Subcommands dispatch to one file each. */
#include <stdio.h>
#include <string.h>

#include "upt/buf.h"
#include "upt/cjson.h"
#include "upt/err.h"
#include "upt/fileio.h"
#include "upt/limits.h"

#include <fcntl.h>

static int cmd_canonical(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: uptane-bundle canonical FILE.json\n");
		return 2;
	}
	upt_err e;
	upt_err_clear(&e);
	upt_buf in, out;
	upt_buf_init(&in, UPT_META_FILE_MAX);
	upt_buf_init(&out, 2 * UPT_META_FILE_MAX);
	json_t *v = NULL;
	int rc = upt_file_read(AT_FDCWD, argv[1], UPT_META_FILE_MAX, &in, &e);
	if (rc == UPT_OK)
		rc = upt_json_parse(in.data, in.len, UPT_META_FILE_MAX, &v, &e);
	if (rc == UPT_OK)
		rc = upt_cjson_encode(v, &out, &e);
	if (rc == UPT_OK)
		fwrite(out.data, 1, out.len, stdout);
	else
		fprintf(stderr, "uptane-bundle: %s: %s\n", argv[1], e.msg);
	json_decref(v);
	upt_buf_clear(&in);
	upt_buf_clear(&out);
	return rc == UPT_OK ? 0 : upt_err_exit_status(rc);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: uptane-bundle COMMAND ...\n"
		   "  canonical FILE.json    print the OLPC canonical form\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "canonical"))
		return cmd_canonical(argc - 1, argv + 1);
	fprintf(stderr, "uptane-bundle: unknown command \"%s\" (try --help)\n", argv[1]);
	return 2;
}
