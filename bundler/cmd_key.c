/* uptane-bundle key generate [--x25519] NAME: a new ed25519 key pair (signing), or with
 * --x25519 an X25519 pair (a device's decrypt_key for encrypted images), as NAME.pub and
 * NAME.key (docs/bundle-format.md). Never overwrites an existing key. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "upt/err.h"
#include "upt/imgcrypt.h"
#include "upt/sig.h"

#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: uptane-bundle key generate [--x25519] NAME\n\n"
		   "Writes a new ed25519 key pair: NAME.pub (public key object, mode 0644) and\n"
		   "NAME.key (private seed, mode 0600). Refuses to overwrite an existing file.\n"
		   "Both files use the TUF/securesystemslib key format.\n"
		   "  --x25519  an X25519 pair instead, for encrypted images: NAME.key is a\n"
		   "            device's decrypt_key, NAME.pub what the station wraps image keys\n"
		   "            for (create --encrypt-to, devices add --encryption-key).\n"
		   "Prints the new key's id.\n");
}

int cmd_key(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "generate") &&
	    (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		usage(stdout);
		return 0;
	}
	bool x25519 = argc == 4 && !strcmp(argv[2], "--x25519");
	if (x25519) { /* the name last, as without the option */
		argv[2] = argv[3];
		argc = 3;
	}
	if (argc != 3 || strcmp(argv[1], "generate") != 0) {
		if (argc >= 2 && strcmp(argv[1], "generate") != 0)
			fprintf(stderr, "uptane-bundle key: unknown subcommand \"%s\"\n", argv[1]);
		usage(stderr);
		return 2;
	}
	const char *name = argv[2];
	if (!*name || name[0] == '-') {
		fprintf(stderr, "uptane-bundle key generate: invalid key name \"%s\"\n", name);
		return 2;
	}
	upt_err e;
	upt_err_clear(&e);
	if (x25519) {
		char keyid[UPT_CRYPT_KEYID_HEX + 1];
		if (upt_x25519_generate(name, keyid, &e) != UPT_OK) {
			fprintf(stderr, "uptane-bundle key generate: %s\n", e.msg);
			return upt_err_exit_status(e.code);
		}
		printf("%s\n", keyid);
		return 0;
	}
	upt_signer *s = NULL;
	int rc = upt_signer_generate(&s, &e);
	if (rc == UPT_OK)
		rc = upt_signer_write(s, name, &e);
	if (rc == UPT_OK)
		printf("%s\n", upt_signer_key(s)->keyid);
	else
		fprintf(stderr, "uptane-bundle key generate: %s\n", e.msg);
	upt_signer_free(s);
	return rc == UPT_OK ? 0 : upt_err_exit_status(rc);
}
