/*
 * Corpus replay without libFuzzer: links with one fuzz target's LLVMFuzzerTestOneInput and runs
 * it on every file named (directories: every regular file inside). Used by `make test`
 * (tests/cli/fuzz_replay.sh) under ASan+UBSan, so the seed corpora and every crash ever fixed
 * stay regression tests. Prints the number of inputs run.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "upt/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, size_t *count)
{
	upt_buf b;
	upt_err e;
	upt_buf_init(&b, 64u << 20);
	if (upt_file_read(AT_FDCWD, path, b.max, &b, &e) != UPT_OK) {
		fprintf(stderr, "%s: %s\n", path, e.msg);
		return 1;
	}
	/* a private copy of exactly len bytes, so ASan sees reads past the input */
	uint8_t *copy = malloc(b.len ? b.len : 1);
	if (!copy)
		return 1;
	memcpy(copy, b.data, b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	free(copy);
	upt_buf_clear(&b);
	(*count)++;
	return 0;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i], &count);
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
			if (de->d_name[0] == '.' || stat(p, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			bad |= run_file(p, &count);
		}
		if (d)
			closedir(d);
	}
	printf("replayed %zu inputs\n", count);
	return bad;
}
