/* Unit tests: the trusted-state value and its directory form (trust.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upt/fileio.h"
#include "upt/limits.h"
#include "upt/trust.h"

static char tmpdir[64];
static int dirfd_;

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/upt-test-trust.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	dirfd_ = open(tmpdir, O_RDONLY | O_DIRECTORY);
	return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	close(dirfd_);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void set(upt_trust *t, const char *name, const char *data)
{
	assert_int_equal(upt_trust_set(t, name, data, strlen(data), NULL), UPT_OK);
}

static const char *get(const upt_trust *t, const char *name)
{
	const upt_buf *b = upt_trust_get(t, name);
	return b ? (const char *)b->data : NULL;
}

static void value_operations(void **state)
{
	(void)state;
	upt_trust t;
	upt_trust_init(&t);
	set(&t, "image-repo/root.json", "I");
	set(&t, "director/root.json", "D1");
	set(&t, "director/offline-updates/b.json", "B");
	set(&t, "director/offline-updates/a.json", "A");
	set(&t, "image-repo/delegations/supplier.json", "S");
	assert_int_equal(t.nfiles, 5);
	/* sorted by name */
	for (size_t i = 1; i < t.nfiles; i++)
		assert_true(strcmp(t.files[i - 1].name, t.files[i].name) < 0);
	assert_string_equal(get(&t, "director/root.json"), "D1");
	assert_null(get(&t, "director/timestamp.json"));
	/* replace */
	set(&t, "director/root.json", "D2");
	assert_int_equal(t.nfiles, 5);
	assert_string_equal(get(&t, "director/root.json"), "D2");
	/* empty content is content */
	set(&t, "director/targets.json", "");
	assert_non_null(upt_trust_get(&t, "director/targets.json"));
	assert_int_equal(upt_trust_get(&t, "director/targets.json")->len, 0);

	/* copy and equality: names, bytes and floor */
	upt_trust c;
	upt_trust_init(&c);
	t.time_floor = 1799971200;
	assert_int_equal(upt_trust_copy(&c, &t, NULL), UPT_OK);
	assert_true(upt_trust_equal(&c, &t));
	set(&c, "director/root.json", "D3");
	assert_false(upt_trust_equal(&c, &t));
	set(&c, "director/root.json", "D2");
	assert_true(upt_trust_equal(&c, &t));
	c.time_floor++;
	assert_false(upt_trust_equal(&c, &t));
	c.time_floor--;
	upt_trust_remove(&c, "director/targets.json");
	assert_false(upt_trust_equal(&c, &t));
	upt_trust_remove(&c, "director/targets.json"); /* absent: no-op */
	/* copying over a non-empty value replaces it */
	assert_int_equal(upt_trust_copy(&c, &t, NULL), UPT_OK);
	assert_true(upt_trust_equal(&c, &t));
	/* the copy is deep */
	set(&t, "image-repo/root.json", "changed");
	assert_string_equal(get(&c, "image-repo/root.json"), "I");

	/* remove by prefix */
	upt_trust_remove_prefix(&t, "director/offline-updates/");
	assert_null(get(&t, "director/offline-updates/a.json"));
	assert_null(get(&t, "director/offline-updates/b.json"));
	assert_non_null(get(&t, "director/root.json"));
	upt_trust_remove_prefix(&t, "image-repo/");
	assert_int_equal(t.nfiles, 2);

	/* names that could escape trusted/ or are not metadata names */
	static const char *const bad[] = {
	    "../etc/passwd",   "/abs/root.json",       "director",
	    "director/",       "director//root.json",  "director/../x.json",
	    "other/root.json", "director/./root.json", "",
	    "root.json",       "director/a b.json",    "director/a/b/c/d.json",
	};
	upt_err e;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(upt_trust_set(&t, bad[i], "x", 1, &e), UPT_OK);
	assert_int_equal(t.nfiles, 2);
	/* over the state file cap */
	size_t big = UPT_STATE_FILE_MAX + 1;
	char *p = calloc(1, big);
	assert_int_equal(upt_trust_set(&t, "director/big.json", p, big, &e), UPT_E_TOO_LARGE);
	free(p);
	assert_null(upt_trust_get(&t, "director/big.json"));

	upt_trust_clear(&t);
	assert_int_equal(t.nfiles, 0);
	upt_trust_clear(&t); /* twice is fine */
	upt_trust_clear(&c);
}

static void read_disk(const char *rel, char *out, size_t n)
{
	upt_buf b;
	upt_buf_init(&b, n - 1);
	assert_int_equal(upt_file_read(dirfd_, rel, n - 1, &b, NULL), UPT_OK);
	memcpy(out, b.data, b.len + 1);
	upt_buf_clear(&b);
}

static void directory_round_trip(void **state)
{
	(void)state;
	assert_int_equal(mkdirat(dirfd_, "rt", 0755), 0);
	int d = openat(dirfd_, "rt", O_RDONLY | O_DIRECTORY);
	assert_true(d >= 0);
	upt_trust t, l;
	upt_trust_init(&t);
	upt_trust_init(&l);
	/* an empty directory is an empty state, floor 0 */
	assert_int_equal(upt_trust_load_dir(d, &l, NULL), UPT_OK);
	assert_int_equal(l.nfiles, 0);
	assert_int_equal(l.time_floor, 0);

	set(&t, "director/root.json", "{\"d\":1}");
	set(&t, "director/timestamp.json", "ts");
	set(&t, "director/offline-updates/campaign-a.json", "ou");
	set(&t, "image-repo/root.json", "ir");
	set(&t, "image-repo/delegations/supplier.json", "sup");
	t.time_floor = 1799971200;
	assert_int_equal(upt_trust_save_dir(d, &t, NULL), UPT_OK);
	char buf[256];
	read_disk("rt/director/offline-updates/campaign-a.json", buf, sizeof(buf));
	assert_string_equal(buf, "ou");
	read_disk("rt/time_floor", buf, sizeof(buf));
	assert_string_equal(buf, "2027-01-15T00:00:00Z\n");
	struct stat st;
	assert_int_equal(fstatat(d, "director/root.json", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	ino_t root_ino = st.st_ino;

	assert_int_equal(upt_trust_load_dir(d, &l, NULL), UPT_OK);
	assert_true(upt_trust_equal(&t, &l));

	/* save again after changes: unchanged files are not rewritten, removed ones go */
	upt_trust_remove(&t, "director/timestamp.json");
	upt_trust_remove_prefix(&t, "director/offline-updates/");
	set(&t, "image-repo/delegations/supplier.json", "sup2");
	set(&t, "image-repo/snapshot.json", "snap");
	t.time_floor += 60;
	assert_int_equal(upt_trust_save_dir(d, &t, NULL), UPT_OK);
	assert_int_equal(fstatat(d, "director/root.json", &st, 0), 0);
	assert_int_equal(st.st_ino, root_ino);
	assert_int_not_equal(faccessat(d, "director/timestamp.json", F_OK, 0), 0);
	assert_int_not_equal(faccessat(d, "director/offline-updates/campaign-a.json", F_OK, 0), 0);
	read_disk("rt/time_floor", buf, sizeof(buf));
	assert_string_equal(buf, "2027-01-15T00:01:00Z\n");
	assert_int_equal(upt_trust_load_dir(d, &l, NULL), UPT_OK);
	assert_true(upt_trust_equal(&t, &l));

	/* leftovers that save never writes are ignored on load and left alone on save:
	 * temp files, other names, symlinks, files outside director/ and image-repo/ */
	assert_int_equal(symlinkat("/etc/passwd", d, "director/link.json"), 0);
	int fd = openat(d, "director/root.json.tmp", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	fd = openat(d, "notes.json", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	fd = openat(d, "director/bad name.json", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(upt_trust_load_dir(d, &l, NULL), UPT_OK);
	assert_true(upt_trust_equal(&t, &l));
	assert_int_equal(upt_trust_save_dir(d, &t, NULL), UPT_OK);
	assert_int_equal(faccessat(d, "notes.json", F_OK, 0), 0);
	assert_int_equal(faccessat(d, "director/root.json.tmp", F_OK, 0), 0);

	/* a damaged time floor is an error, and the output is untouched */
	upt_trust keep;
	upt_trust_init(&keep);
	assert_int_equal(upt_trust_copy(&keep, &l, NULL), UPT_OK);
	assert_int_equal(upt_file_write_atomic(d, "time_floor", "yesterday\n", 10, 0644, NULL),
			 UPT_OK);
	upt_err e;
	assert_int_not_equal(upt_trust_load_dir(d, &l, &e), UPT_OK);
	assert_true(upt_trust_equal(&keep, &l));
	assert_int_equal(
	    upt_file_write_atomic(d, "time_floor", "2027-02-30T00:00:00Z", 20, 0644, NULL), UPT_OK);
	assert_int_not_equal(upt_trust_load_dir(d, &l, &e), UPT_OK);
	/* without the newline is fine */
	assert_int_equal(
	    upt_file_write_atomic(d, "time_floor", "2027-01-15T00:01:00Z", 20, 0644, NULL), UPT_OK);
	assert_int_equal(upt_trust_load_dir(d, &l, NULL), UPT_OK);
	assert_true(upt_trust_equal(&t, &l));
	/* a missing floor file is rewritten on save even when the floor is 0 */
	upt_trust_clear(&t);
	assert_int_equal(upt_trust_save_dir(d, &t, NULL), UPT_OK);
	read_disk("rt/time_floor", buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z\n");
	assert_int_equal(upt_trust_load_dir(d, &l, NULL), UPT_OK);
	assert_int_equal(l.nfiles, 0);

	upt_trust_clear(&keep);
	upt_trust_clear(&t);
	upt_trust_clear(&l);
	close(d);
}

/* A new directory gets every file and the floor, written in place (no temp names left); a
 * name that already exists is refused and left alone, and a symlink there is not followed. */
static void new_directory(void **state)
{
	(void)state;
	assert_int_equal(mkdirat(dirfd_, "nd", 0755), 0);
	int d = openat(dirfd_, "nd", O_RDONLY | O_DIRECTORY);
	assert_true(d >= 0);
	upt_trust t, l;
	upt_trust_init(&t);
	upt_trust_init(&l);
	set(&t, "director/root.json", "{\"d\":2}");
	set(&t, "image-repo/delegations/supplier.json", "sup");
	t.time_floor = 1799971200;
	assert_int_equal(upt_trust_save_new_dir(d, &t, NULL), UPT_OK);
	assert_int_equal(upt_trust_load_dir(d, &l, NULL), UPT_OK);
	assert_true(upt_trust_equal(&t, &l));
	assert_int_not_equal(faccessat(d, "director/root.json.tmp", F_OK, 0), 0);
	char buf[256];
	read_disk("nd/time_floor", buf, sizeof(buf));
	assert_string_equal(buf, "2027-01-15T00:00:00Z\n");

	/* not new: refused, the file there keeps its bytes */
	upt_err e;
	set(&t, "director/root.json", "{\"d\":3}");
	assert_int_equal(upt_trust_save_new_dir(d, &t, &e), UPT_E_IO);
	assert_non_null(strstr(e.msg, "director/root.json"));
	read_disk("nd/director/root.json", buf, sizeof(buf));
	assert_string_equal(buf, "{\"d\":2}");

	/* a symlink planted under a name is never written through */
	assert_int_equal(mkdirat(dirfd_, "nd2", 0755), 0);
	int d2 = openat(dirfd_, "nd2", O_RDONLY | O_DIRECTORY);
	assert_true(d2 >= 0);
	assert_int_equal(mkdirat(d2, "director", 0755), 0);
	assert_int_equal(symlinkat("../../nd/director/root.json", d2, "director/root.json"), 0);
	assert_int_equal(upt_trust_save_new_dir(d2, &t, NULL), UPT_E_IO);
	read_disk("nd/director/root.json", buf, sizeof(buf));
	assert_string_equal(buf, "{\"d\":2}");
	close(d2);
	close(d);
	upt_trust_clear(&t);
	upt_trust_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(value_operations),
	    cmocka_unit_test(directory_round_trip),
	    cmocka_unit_test(new_directory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
