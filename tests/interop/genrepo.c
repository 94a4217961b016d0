/*
 * genrepo: writes an Image repository made by our own signing code (the verification engine's
 * scenario generator, i.e. formats' metabuild) in the layout a TUF client fetches, so that
 * tuf-js can be pointed at it: OUT/metadata/{root.json (version 1, the client's trust anchor),
 * 1.root.json, 2.root.json (a rotation that changes the timestamp key), timestamp.json,
 * snapshot.json, targets.json, <role>.json}, OUT/targets/<path> with the real bytes, and
 * OUT/targets.list (one target path per line).
 *   genrepo OUT
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/scenario.h"
#include "upt/fileio.h"
#include "upt/hash.h"

static void die(const char *what)
{
	fprintf(stderr, "genrepo: %s failed\n", what);
	exit(2);
}

static void put(const char *dir, const char *rel, const void *p, size_t n)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	if (upt_mkdir_p(AT_FDCWD, path, 0755, NULL) != UPT_OK)
		die("mkdir");
	*slash = '/';
	if (upt_file_write_atomic(AT_FDCWD, path, p, n, 0644, NULL) != UPT_OK)
		die(path);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: genrepo OUT\n");
		return 2;
	}
	const char *out = argv[1];
	scn *s = scn_new();
	if (!s)
		die("scenario");
	/* a nested delegation and a target that lists sha512 too */
	scn_deleg_add(s, "sub", "supplier", "supplier/sub/*");
	scn_deleg_get(s, "supplier")->paths[1] = "supplier/*/*";
	scn_deleg_get(s, "supplier")->npaths = 2;
	scn_target_add(s, "supplier/sub/deep-fw.bin", "sensor-y", 2, "sub");
	/* real bytes for every target, so a client can download and check them */
	char list[4096] = "";
	for (size_t i = 0; i < s->ntargets; i++) {
		scn_target *t = &s->targets[i];
		char body[256];
		int n = snprintf(body, sizeof(body), "firmware image %s\n", t->name);
		t->length = (uint64_t)n;
		if (upt_hash_all(body, (size_t)n, &t->hashes, NULL) != UPT_OK)
			die("hash");
		t->hashes.has_sha512 = i == 0;
		char rel[512];
		snprintf(rel, sizeof(rel), "targets/%s", t->name);
		put(out, rel, body, (size_t)n);
		strncat(list, t->name, sizeof(list) - strlen(list) - 2);
		strcat(list, "\n");
	}
	/* rotate the Image root (new timestamp key), as a long-lived repository does */
	s->role[SCN_IMAGE][SCN_TIMESTAMP].k[0] = scn_key(s);
	if (scn_rotate(s, SCN_IMAGE) != UPT_OK || scn_build(s) != UPT_OK)
		die("build");
	put(out, "metadata/root.json", s->roots[SCN_IMAGE][1].data, s->roots[SCN_IMAGE][1].len);
	const char *prefix = "metadata/image-repo/";
	for (size_t i = 0; i < s->bundle.nfiles; i++) {
		const char *p = s->files[i].path;
		if (strncmp(p, prefix, strlen(prefix)) != 0)
			continue;
		const char *rel = p + strlen(prefix);
		if (strncmp(rel, "delegations/", 12) == 0)
			rel += 12;
		char dst[512];
		snprintf(dst, sizeof(dst), "metadata/%s", rel);
		put(out, dst, s->files[i].data.data, s->files[i].data.len);
	}
	put(out, "targets.list", list, strlen(list));
	scn_free(s);
	return 0;
}
