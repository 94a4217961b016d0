/* uptane-bundle key generate [--x25519] NAME: a new ed25519 key pair (signing), or with
 * --x25519 an X25519 pair (a device's decrypt_key for encrypted images), as NAME.pub and
 * NAME.key (docs/bundle-format.md). Never overwrites an existing key. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "upt/err.h"
#include "upt/imgcrypt.h"
#include "upt/sig.h"

#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: uptane-bundle key generate [--x25519] NAME\n\n"
    "Writes a new ed25519 key pair: NAME.pub (public key object, mode 0644) and\n"
    "NAME.key (private seed, mode 0600). Refuses to overwrite an existing file.\n"
    "Both files use the TUF/securesystemslib key format.\n"
    "  --x25519  an X25519 pair instead, for encrypted images: NAME.key is a\n"
    "            device's decrypt_key, NAME.pub what the station wraps image keys\n"
    "            for (create --encrypt-to, devices add --encryption-key).\n"
    "Prints the new key's id.\n";

static const arg_opt opts[] = {{"x25519", 0, ARG_NONE}};

static int generate_x25519(const char *name)
{
	upt_err e;
	upt_err_clear(&e);
	char keyid[UPT_CRYPT_KEYID_HEX + 1];
	if (upt_x25519_generate(name, keyid, &e) != UPT_OK) {
		fprintf(stderr, "uptane-bundle key generate: %s\n", e.msg);
		return cli_exit_status(e.code);
	}
	printf("%s\n", keyid);
	return 0;
}

static int generate_ed25519(const char *name)
{
	upt_err e;
	upt_err_clear(&e);
	upt_signer *s = NULL;
	int rc = upt_signer_generate(&s, &e);
	if (rc == UPT_OK)
		rc = upt_signer_write(s, name, &e);
	if (rc == UPT_OK)
		printf("%s\n", upt_signer_key(s)->keyid);
	else
		fprintf(stderr, "uptane-bundle key generate: %s\n", e.msg);
	upt_signer_free(s);
	return cli_exit_status(rc);
}

static int generate(const args *a)
{
	if (a->npos != 1)
		return cli_usage("key generate", usage, "expected one NAME");
	const char *name = a->pos[0];
	if (!*name || name[0] == '-') {
		fprintf(stderr, "uptane-bundle key generate: invalid key name \"%s\"\n", name);
		return CLI_EXIT_USAGE;
	}
	return args_flag(a, "x25519") ? generate_x25519(name) : generate_ed25519(name);
}

int cmd_key(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "generate") != 0)
		return cli_usage("key", usage, "unknown subcommand \"%s\"", argv[1]);
	return cli_run("key generate", usage, opts, 1, argc - 1, argv + 1, generate);
}
