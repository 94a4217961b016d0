/*
 * harness: judges a plain TUF repository with our engine's Image-repository verification
 * (upt_verify_image_repo: steps 1 and 3 of docs/threat-model.md), for the tuf-js comparison in
 * tests/cli/tufjs_interop.sh.
 *   harness --trusted DIR --repo DIR [--save] TARGET
 * Both directories use the TUF client layout: root.json (trusted dir only), N.root.json,
 * timestamp.json, snapshot.json, targets.json, <role>.json for delegated roles. The trusted
 * dir's files become the trusted state (image-repo/...); --save writes the state after a
 * successful run back into it (as a TUF client persists metadata). Prints one line:
 *   OK <target> <length> | NOTFOUND <target> | REJECT <class> <member>: <message>
 * Exit 0 OK, 1 NOTFOUND or REJECT, 2 usage or environment errors.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/verify.h"

#define FILES_MAX 512

static int load_dir(const char *dir, bool trusted, upt_trust *t, upt_bundle_meta *bm)
{
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		return 2;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		size_t len = strlen(n);
		if (len < 6 || strcmp(n + len - 5, ".json") != 0)
			continue;
		char path[4096], name[1100];
		snprintf(path, sizeof(path), "%s/%s", dir, n);
		bool root = strcmp(n, "root.json") == 0 || strstr(n, ".root.json") != NULL;
		bool top = root || !strcmp(n, "timestamp.json") || !strcmp(n, "snapshot.json") ||
			   !strcmp(n, "targets.json");
		if (trusted && strstr(n, ".root.json"))
			continue; /* a TUF client keeps only root.json */
		if (!trusted && !strcmp(n, "root.json"))
			continue;
		snprintf(name, sizeof(name), "%s%s%s",
			 trusted ? "image-repo/" : "metadata/image-repo/",
			 top ? "" : "delegations/", n);
		upt_buf b;
		upt_err e;
		upt_buf_init(&b, UPT_META_FILE_MAX);
		if (upt_file_read(AT_FDCWD, path, b.max, &b, &e) != UPT_OK) {
			fprintf(stderr, "%s: %s\n", path, e.msg);
			closedir(d);
			return 2;
		}
		if (trusted) {
			if (upt_trust_set(t, name, b.data, b.len, &e) != UPT_OK) {
				fprintf(stderr, "%s: %s\n", name, e.msg);
				closedir(d);
				return 2;
			}
			upt_buf_clear(&b);
		} else {
			if (bm->nfiles == FILES_MAX) {
				closedir(d);
				return 2;
			}
			bm->files[bm->nfiles].path = strdup(name);
			bm->files[bm->nfiles].data = b;
			bm->nfiles++;
		}
	}
	closedir(d);
	return 0;
}

static int save_dir(const char *dir, const upt_trust *t)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		const char *n = t->files[i].name;
		if (strncmp(n, "image-repo/", 11) != 0)
			continue;
		const char *base = strrchr(n, '/') + 1;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, base);
		upt_err e;
		if (upt_file_write_atomic(AT_FDCWD, path, t->files[i].data.data,
					  t->files[i].data.len, 0644, &e) != UPT_OK) {
			fprintf(stderr, "%s: %s\n", path, e.msg);
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *trusted = NULL, *repo = NULL, *target = NULL;
	bool save = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--trusted") && i + 1 < argc)
			trusted = argv[++i];
		else if (!strcmp(argv[i], "--repo") && i + 1 < argc)
			repo = argv[++i];
		else if (!strcmp(argv[i], "--save"))
			save = true;
		else
			target = argv[i];
	}
	if (!trusted || !repo || !target) {
		fprintf(stderr, "usage: harness --trusted DIR --repo DIR [--save] TARGET\n");
		return 2;
	}
	static upt_bundle_file files[FILES_MAX];
	upt_bundle_meta bm = {.files = files};
	upt_buf_init(&bm.bundle_json, 16);
	upt_trust t;
	upt_trust_init(&t);
	int rc = load_dir(trusted, true, &t, &bm);
	if (!rc)
		rc = load_dir(repo, false, &t, &bm);
	if (rc)
		return rc;
	upt_verify_input in = {&t, &bm, NULL, (int64_t)time(NULL)};
	upt_verify_result r;
	const char *names[1] = {target};
	int code = upt_verify_image_repo(&in, names, 1, &r);
	int status = 1;
	if (code == UPT_OK) {
		printf("OK %s %llu\n", target, (unsigned long long)r.assignments[0].length);
		status = save ? save_dir(trusted, &r.trust_after) : 0;
	} else if (code == UPT_E_NOT_FOUND) {
		printf("NOTFOUND %s\n", target);
	} else {
		printf("REJECT %s %s: %s\n", upt_err_class(code), r.err.file, r.err.msg);
		if (!upt_err_is_rejection(code) && code != UPT_E_CONFIG)
			status = 2;
	}
	upt_verify_result_clear(&r);
	upt_trust_clear(&t);
	for (size_t i = 0; i < bm.nfiles; i++) {
		free(files[i].path);
		upt_buf_clear(&files[i].data);
	}
	return status;
}
