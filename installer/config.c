/* config: reads device.json and resolves its relative paths against the file's directory. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "installer.h"
#include "upt/fileio.h"
#include "upt/limits.h"

int config_load(const char *path, upt_devconfig **out, upt_err *e)
{
	upt_buf b;
	upt_buf_init(&b, UPT_CONFIG_MAX);
	char *copy = strdup(path);
	char base[PATH_MAX];
	int rc = UPT_OK;
	if (!copy)
		return upt_err_set(e, UPT_E_NOMEM, "out of memory");
	/* Absolute base: the journal and reports name these paths, and a later run may start in
	 * another working directory. */
	if (!realpath(dirname(copy), base)) {
		rc = upt_err_set(e, UPT_E_CONFIG, "%s: cannot resolve its directory: %s", path,
				 strerror(errno));
		goto out;
	}
	rc = upt_file_read(AT_FDCWD, path, UPT_CONFIG_MAX, &b, e);
	if (rc) {
		upt_err_prefix(e, "cannot read the device configuration");
		rc = UPT_E_CONFIG;
		if (e)
			e->code = UPT_E_CONFIG;
		goto out;
	}
	rc = upt_devconfig_parse(b.data, b.len, base, out, e);
	if (rc)
		upt_err_prefix(e, "%s", path);
out:
	free(copy);
	upt_buf_clear(&b);
	return rc;
}
