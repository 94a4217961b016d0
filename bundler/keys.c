/* keys: key files as named on the command line, their permission checks, and the keyring. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool key_path_is_private(const char *path)
{
	size_t n = strlen(path);
	return n >= 4 && !strcmp(path + n - 4, ".key");
}

int key_check_private_file(const char *path, upt_err *e)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return upt_err_set(e, UPT_E_NOT_FOUND, "%s: no such key file", path);
		return upt_err_set(e, UPT_E_IO, "%s: %s", path, strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return upt_err_set(e, UPT_E_USAGE,
				   "%s: is a symbolic link; name the key file itself", path);
	if (!S_ISREG(st.st_mode))
		return upt_err_set(e, UPT_E_USAGE, "%s: not a regular file", path);
	/* Like ssh: a private key others can read is no longer private. */
	if (st.st_mode & 077)
		return upt_err_set(e, UPT_E_USAGE,
				   "%s: private key is accessible by group or others (mode %04o); "
				   "run chmod 600 %s",
				   path, (unsigned)(st.st_mode & 07777), path);
	return UPT_OK;
}

int key_load_public(const char *path, upt_key *out, upt_err *e)
{
	int rc;
	if (key_path_is_private(path)) {
		upt_signer *s = NULL;
		rc = key_load_signer(path, &s, e);
		if (rc)
			return rc;
		*out = *upt_signer_key(s);
		upt_signer_free(s);
		return UPT_OK;
	}
	upt_key k;
	rc = upt_pubkey_load(path, &k, e);
	if (rc) {
		if (rc == UPT_E_NOT_FOUND)
			return upt_err_set(e, UPT_E_NOT_FOUND, "%s: no such key file", path);
		return upt_err_prefix(e, "%s: not a public key file", path);
	}
	if (!k.ed25519)
		return upt_err_set(e, UPT_E_USAGE, "%s: not an ed25519 key", path);
	*out = k;
	return UPT_OK;
}

int key_load_signer(const char *path, upt_signer **out, upt_err *e)
{
	int rc = key_check_private_file(path, e);
	if (rc)
		return rc;
	rc = upt_signer_load(path, out, e);
	if (rc) {
		if (rc == UPT_E_NOMEM || rc == UPT_E_INTERNAL)
			return rc;
		return upt_err_prefix(e, "%s: not a usable private key file", path);
	}
	return UPT_OK;
}

void keyring_init(keyring *k)
{
	memset(k, 0, sizeof(*k));
}

void keyring_clear(keyring *k)
{
	for (size_t i = 0; i < k->n; i++) {
		upt_signer_free(k->signers[i]);
		free(k->paths[i]);
	}
	free(k->signers);
	free(k->paths);
	memset(k, 0, sizeof(*k));
}

const upt_signer *keyring_find(const keyring *k, const char *keyid)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(upt_signer_key(k->signers[i])->keyid, keyid))
			return k->signers[i];
	return NULL;
}

int keyring_load(keyring *k, const char *path, const upt_signer **out, upt_err *e)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->paths[i], path)) {
			if (out)
				*out = k->signers[i];
			return UPT_OK;
		}
	upt_signer *s = NULL;
	int rc = key_load_signer(path, &s, e);
	if (rc)
		return rc;
	const upt_signer *have = keyring_find(k, upt_signer_key(s)->keyid);
	if (have) {
		upt_signer_free(s);
		if (out)
			*out = have;
		return UPT_OK;
	}
	upt_signer **ns = realloc(k->signers, (k->n + 1) * sizeof(*ns));
	if (ns)
		k->signers = ns;
	char **np = realloc(k->paths, (k->n + 1) * sizeof(*np));
	if (np)
		k->paths = np;
	char *p = strdup(path);
	if (!ns || !np || !p) {
		free(p);
		upt_signer_free(s);
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	}
	k->signers[k->n] = s;
	k->paths[k->n] = p;
	k->n++;
	if (out)
		*out = s;
	return UPT_OK;
}
