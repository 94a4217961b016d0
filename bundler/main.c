/* uptane-bundle: the station-side CLI. Subcommands dispatch to one file each. */
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "upt/buf.h"
#include "upt/cjson.h"
#include "upt/err.h"
#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/version.h"

#include <fcntl.h>

#include "args.h"
#include "commands.h"

static const char canonical_usage[] =
    "usage: uptane-bundle canonical FILE.json\n"
    "  Prints FILE.json in the OLPC canonical form that signatures cover.\n";

static int canonical_run(const args *a)
{
	if (a->npos != 1)
		return cli_usage("canonical", canonical_usage, "expected one FILE.json");
	const char *file = a->pos[0];
	upt_err e;
	upt_err_clear(&e);
	upt_buf in, out;
	upt_buf_init(&in, UPT_META_FILE_MAX);
	upt_buf_init(&out, 2 * UPT_META_FILE_MAX);
	json_t *v = NULL;
	int rc = upt_file_read(AT_FDCWD, file, UPT_META_FILE_MAX, &in, &e);
	if (rc == UPT_OK)
		rc = upt_json_parse(in.data, in.len, UPT_META_FILE_MAX, &v, &e);
	if (rc == UPT_OK)
		rc = upt_cjson_encode(v, &out, &e);
	if (rc == UPT_OK)
		fwrite(out.data, 1, out.len, stdout);
	else
		fprintf(stderr, "uptane-bundle: %s: %s\n", file, e.msg);
	json_decref(v);
	upt_buf_clear(&in);
	upt_buf_clear(&out);
	return cli_exit_status(rc);
}

int cmd_canonical(int argc, char **argv)
{
	return cli_run("canonical", canonical_usage, NULL, 0, argc, argv, canonical_run);
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
    {"key", cmd_key, "key generate NAME                     new ed25519 key: NAME.pub, NAME.key"},
    {"init", cmd_init, "init WORKSPACE --root-key K.. ...     both repositories' roots and keys"},
    {"delegate", cmd_delegate, "delegate WORKSPACE --role NAME ...    Image-repo delegation"},
    {"target", cmd_target, "target add WORKSPACE FILE ...         add an image to the Image repo"},
    {"assign", cmd_assign, "assign WORKSPACE --device ID ...      what a device or fleet installs"},
    {"status", cmd_status, "status WORKSPACE [--json]             targets, assignments, who signs"},
    {"create", cmd_create, "create WORKSPACE -o OUT.uptane ...    sign and pack a bundle"},
    {"rotate", cmd_rotate, "rotate WORKSPACE --role REPO/ROLE ... new root version, old+new keys"},
    {"sign", cmd_sign, "sign FILE.json --key K.key            add one signature"},
    {"pack", cmd_pack, "pack METADATA_DIR IMAGES_DIR -o OUT   pack metadata signed elsewhere"},
    {"verify", cmd_verify, "verify BUNDLE --config DEVICE.json    the installer's checks, dry"},
    {"inspect", cmd_inspect, "inspect BUNDLE [--json]               human summary"},
    {"devices", cmd_devices, "devices add|import|list --ledger F   device registry"},
    {"reports", cmd_reports, "reports ingest|show|affected --ledger F  fleet ledger of reports"},
    {"sbom", cmd_sbom, "sbom import WORKSPACE --ledger F      signed SBOMs into the ledger"},
    {"canonical", cmd_canonical, "canonical FILE.json                   print the canonical form"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: uptane-bundle COMMAND [ARGS]   (COMMAND --help for details)\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].help);
	fprintf(f, "\n  --version                             version, build type, library "
		   "versions\n\n");
	cli_print_exit_table(f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		char v[512];
		char sqlite[64];
		snprintf(sqlite, sizeof(sqlite), "SQLite %s", sqlite3_libversion());
		upt_version_text("uptane-bundle", "shared", OpenSSL_version(OPENSSL_VERSION),
				 sqlite, v, sizeof(v));
		fputs(v, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "uptane-bundle: unknown command \"%s\" (try --help)\n", argv[1]);
	return 2;
}
