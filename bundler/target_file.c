/* target_file: hashing images for target add, and checking them again before create. */
#include "target_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upt/hex.h"
#include "upt/limits.h"

static int open_image(const char *path, int *fd_out, struct stat *st, upt_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return upt_err_set(e, UPT_E_NOT_FOUND, "%s: no such image file", path);
		return upt_err_set(e, UPT_E_IO, "%s: cannot read the image: %s", path,
				   strerror(errno));
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return upt_err_set(e, UPT_E_USAGE, "%s: not a regular file", path);
	}
	*fd_out = fd;
	return UPT_OK;
}

int target_file_hash(const char *path, target_info *out, upt_err *e)
{
	int fd;
	struct stat st;
	int rc = open_image(path, &fd, &st, e);
	if (rc)
		return rc;
	upt_hasher *h = NULL;
	uint8_t *chunk = malloc(UPT_IO_CHUNK);
	uint64_t total = 0;
	rc = chunk ? upt_hasher_new(true, true, &h, e)
		   : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	while (rc == UPT_OK) {
		ssize_t n = read(fd, chunk, UPT_IO_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = upt_err_set(e, UPT_E_IO, "%s: read error: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		rc = upt_hasher_update(h, chunk, (size_t)n, e);
	}
	target_info ti;
	memset(&ti, 0, sizeof(ti));
	if (rc == UPT_OK)
		rc = upt_hasher_final(h, &ti.hashes, e);
	struct stat st2;
	/* The file must not change while it is hashed: compare before and after. */
	if (rc == UPT_OK &&
	    (fstat(fd, &st2) != 0 || st2.st_size != st.st_size ||
	     st2.st_mtim.tv_sec != st.st_mtim.tv_sec || st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec ||
	     total != (uint64_t)st.st_size))
		rc = upt_err_set(e, UPT_E_USAGE,
				 "%s: changed while it was read; try again when it "
				 "is complete",
				 path);
	if (rc == UPT_OK) {
		ti.length = total;
		ti.mtime_sec = (int64_t)st.st_mtim.tv_sec;
		ti.mtime_nsec = (int64_t)st.st_mtim.tv_nsec;
		ti.inode = (uint64_t)st.st_ino;
		*out = ti;
	}
	upt_hasher_free(h);
	free(chunk);
	close(fd);
	return rc;
}

json_t *target_info_to_json(const target_info *ti, const char *abs_path)
{
	char h256[UPT_SHA256_LEN * 2 + 1], h512[UPT_SHA512_LEN * 2 + 1];
	upt_hex_encode(ti->hashes.sha256, UPT_SHA256_LEN, h256);
	upt_hex_encode(ti->hashes.sha512, UPT_SHA512_LEN, h512);
	json_t *o =
	    json_pack("{s:s, s:I, s:s, s:I, s:I, s:I}", "source", abs_path, "length",
		      (json_int_t)ti->length, "sha256", h256, "mtime", (json_int_t)ti->mtime_sec,
		      "mtime_nsec", (json_int_t)ti->mtime_nsec, "inode", (json_int_t)ti->inode);
	if (o && ti->hashes.has_sha512 && json_object_set_new(o, "sha512", json_string(h512))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int target_entry_hashes(const json_t *entry, upt_hashes *out, upt_err *e)
{
	upt_hashes h;
	memset(&h, 0, sizeof(h));
	const char *s256 = json_string_value(json_object_get(entry, "sha256"));
	const char *s512 = json_string_value(json_object_get(entry, "sha512"));
	if (!s256 || upt_hex_decode(s256, h.sha256, UPT_SHA256_LEN, e))
		return upt_err_set(e, UPT_E_USAGE, "workspace target without a valid sha256");
	h.has_sha256 = true;
	if (s512) {
		if (upt_hex_decode(s512, h.sha512, UPT_SHA512_LEN, e))
			return upt_err_set(e, UPT_E_USAGE, "workspace target with a bad sha512");
		h.has_sha512 = true;
	}
	*out = h;
	return UPT_OK;
}

int target_file_check(const char *name, const json_t *entry, upt_err *e)
{
	const char *src = json_string_value(json_object_get(entry, "source"));
	if (!src)
		return upt_err_set(e, UPT_E_USAGE, "target %s: no source file recorded", name);
	int fd;
	struct stat st;
	int rc = open_image(src, &fd, &st, e);
	if (rc)
		return upt_err_prefix(e, "target %s", name);
	close(fd);
	bool same_size =
	    (json_int_t)st.st_size == json_integer_value(json_object_get(entry, "length"));
	if (same_size &&
	    (json_int_t)st.st_mtim.tv_sec == json_integer_value(json_object_get(entry, "mtime")) &&
	    (json_int_t)st.st_mtim.tv_nsec ==
		json_integer_value(json_object_get(entry, "mtime_nsec")) &&
	    (json_int_t)st.st_ino == json_integer_value(json_object_get(entry, "inode")))
		return UPT_OK;
	/* The quick check failed but the length matches: a copied or moved release directory
	 * (another inode), a touched file. The recorded hashes decide. */
	upt_hashes want;
	target_info now;
	if (same_size && target_entry_hashes(entry, &want, NULL) == UPT_OK &&
	    target_file_hash(src, &now, NULL) == UPT_OK &&
	    !memcmp(now.hashes.sha256, want.sha256, UPT_SHA256_LEN) &&
	    (!want.has_sha512 || !memcmp(now.hashes.sha512, want.sha512, UPT_SHA512_LEN)))
		return UPT_OK;
	return upt_err_set(e, UPT_E_USAGE,
			   "target %s: %s changed since it was added; run uptane-bundle "
			   "target add again (as a new target name if it is a new release)",
			   name, src);
}
