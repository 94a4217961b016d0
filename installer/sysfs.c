/*
 * sysfs: what the kernel says about block devices, read-only and without libudev.
 *   - A block device is described from SYSROOT/dev/block/MAJ:MIN, resolved: the resolved path
 *     is its place in the device tree, so a USB stick shows as .../usbN/N-P/N-P:1.0/host../
 *     block/sdb/sdb1 and its USB device is the nearest ancestor whose "subsystem" is usb and
 *     which has idVendor/idProduct (interfaces "N-P:1.0" have neither).
 *   - removable comes from the whole disk's "removable" attribute.
 *   - /proc/self/mountinfo is parsed for scan (mounted media).
 * Everything read here is treated as text from the outside: bounded, and the USB serial (which
 * the stick chooses) reduced to printable ASCII. The sysfs root is a parameter so tests can
 * hand in a recorded tree.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media.h"

/* Reads a small attribute file into out (NUL-terminated, trailing newline removed). */
static bool read_attr(int dirfd, const char *name, char *out, size_t n)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	size_t got = 0;
	while (got + 1 < n) {
		ssize_t r = read(fd, out + got, n - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	out[got] = '\0';
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = '\0';
	return true;
}

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
	if (!s[0])
		return false;
	unsigned long v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return false;
	}
	*out = (unsigned)v;
	return true;
}

static bool is_hex4(const char *s)
{
	if (strlen(s) != 4)
		return false;
	for (int i = 0; i < 4; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The last path component of the target of dir/name when it is a link ("usb", "block"). */
static bool link_base(int dirfd, const char *name, char *out, size_t n)
{
	char target[UPT_PATH_MAX];
	ssize_t len = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (len <= 0)
		return false;
	target[len] = '\0';
	const char *b = strrchr(target, '/');
	b = b ? b + 1 : target;
	if (strlen(b) >= n)
		return false;
	memcpy(out, b, strlen(b) + 1);
	return true;
}

/* A USB device directory: subsystem -> .../usb, with idVendor and idProduct. */
static bool usb_device_dir(int dirfd, struct blockdev *b)
{
	char sub[64], v[16], p[16], num[16];
	if (!link_base(dirfd, "subsystem", sub, sizeof(sub)) || strcmp(sub, "usb") != 0)
		return false;
	if (!read_attr(dirfd, "idVendor", v, sizeof(v)) ||
	    !read_attr(dirfd, "idProduct", p, sizeof(p)))
		return false;
	b->usb = true;
	if (is_hex4(v) && is_hex4(p)) {
		b->has_id = true;
		for (int i = 0; i < 4; i++) {
			b->id.vendor[i] = (char)tolower((unsigned char)v[i]);
			b->id.product[i] = (char)tolower((unsigned char)p[i]);
		}
		b->id.vendor[4] = b->id.product[4] = '\0';
		/* The stick chooses its serial: printable ASCII only, like usb.c. */
		if (read_attr(dirfd, "serial", b->id.serial, sizeof(b->id.serial)))
			for (char *s = b->id.serial; *s; s++)
				if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
					*s = '?';
	}
	if (read_attr(dirfd, "busnum", num, sizeof(num)))
		(void)parse_uint(num, 65535, &b->busnum);
	if (read_attr(dirfd, "devnum", num, sizeof(num)))
		(void)parse_uint(num, 65535, &b->devnum);
	return true;
}

/* Fills b from the resolved device directory path (below SYSROOT/devices). */
static int describe(const char *sysroot, const char *resolved, struct blockdev *b, upt_err *e)
{
	char path[UPT_PATH_MAX], devices[UPT_PATH_MAX], root_real[UPT_PATH_MAX];
	if (!realpath(sysroot, root_real))
		return upt_err_set(e, UPT_E_IO, "%s: %s", sysroot, strerror(errno));
	int len = snprintf(devices, sizeof(devices), "%s/devices/", root_real);
	if (len < 0 || (size_t)len >= sizeof(devices))
		return upt_err_set(e, UPT_E_IO, "%s: path too long", sysroot);
	/* The device must live in the device tree (a link pointing elsewhere is not a device). */
	if (strncmp(resolved, devices, (size_t)len) != 0)
		return upt_err_set(e, UPT_E_NOT_FOUND, "%s: not in %s", resolved, devices);
	snprintf(path, sizeof(path), "%s", resolved);

	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, UPT_E_NOT_FOUND, "%s: %s", path, strerror(errno));
	char dev[32], tmp[16];
	const char *base = strrchr(path, '/') + 1;
	if (strlen(base) >= sizeof(b->name) || !read_attr(fd, "dev", dev, sizeof(dev))) {
		close(fd);
		return upt_err_set(e, UPT_E_NOT_FOUND, "%s: not a block device", path);
	}
	snprintf(b->name, sizeof(b->name), "%s", base);
	char *colon = strchr(dev, ':');
	if (colon) {
		*colon = '\0';
		if (!parse_uint(dev, 4095, &b->maj) || !parse_uint(colon + 1, 1048575, &b->min))
			b->maj = b->min = 0;
	}
	b->partition = faccessat(fd, "partition", F_OK, 0) == 0;
	close(fd);

	/* The disk: the partition's parent directory, or the device itself. */
	char disk[UPT_PATH_MAX];
	snprintf(disk, sizeof(disk), "%s", path);
	if (b->partition)
		*strrchr(disk, '/') = '\0';
	snprintf(b->disk, sizeof(b->disk), "%s", strrchr(disk, '/') + 1);
	fd = open(disk, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		b->removable = read_attr(fd, "removable", tmp, sizeof(tmp)) && !strcmp(tmp, "1");
		close(fd);
	}

	/* Walk up towards SYSROOT/devices: the first USB device directory is the medium's. */
	for (;;) {
		char *slash = strrchr(disk, '/');
		if (!slash)
			break;
		*slash = '\0';
		if (strlen(disk) < (size_t)len) /* reached SYSROOT/devices */
			break;
		fd = open(disk, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			break;
		bool found = usb_device_dir(fd, b);
		close(fd);
		if (found)
			break;
	}
	return UPT_OK;
}

/* The block device a sysfs link points at; *out untouched on failure. */
static int describe_link(const char *sysroot, const char *link, struct blockdev *out, upt_err *e)
{
	char resolved[PATH_MAX];
	if (!realpath(link, resolved))
		return upt_err_set(e, errno == ENOENT ? UPT_E_NOT_FOUND : UPT_E_IO, "%s: %s", link,
				   strerror(errno));
	struct blockdev b;
	memset(&b, 0, sizeof(b));
	int rc = describe(sysroot, resolved, &b, e);
	if (rc == UPT_OK)
		*out = b;
	return rc;
}

int sysfs_block(const char *sysroot, unsigned maj, unsigned min, struct blockdev *out, upt_err *e)
{
	char link[UPT_PATH_MAX];
	snprintf(link, sizeof(link), "%s/dev/block/%u:%u", sysroot, maj, min);
	return describe_link(sysroot, link, out, e);
}

static bool safe_name(const char *name)
{
	if (!name[0] || name[0] == '.' || strlen(name) >= BLK_NAME_MAX)
		return false;
	for (const char *s = name; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.' && *s != '!')
			return false;
	return true;
}

int sysfs_block_by_name(const char *sysroot, const char *name, struct blockdev *out, upt_err *e)
{
	if (!safe_name(name))
		return upt_err_set(e, UPT_E_NOT_FOUND, "%s: not a block device name", name);
	char link[UPT_PATH_MAX];
	snprintf(link, sizeof(link), "%s/class/block/%s", sysroot, name);
	return describe_link(sysroot, link, out, e);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Names in dir (relative to SYSROOT) accepted by keep(), sorted. */
static int list_dir(const char *path, bool (*keep)(int dirfd, const char *name),
		    char (*names)[BLK_NAME_MAX], size_t max, size_t *n, upt_err *e)
{
	*n = 0;
	DIR *d = opendir(path);
	if (!d)
		return upt_err_set(e, errno == ENOENT ? UPT_E_NOT_FOUND : UPT_E_IO, "%s: %s", path,
				   strerror(errno));
	struct dirent *de;
	while ((de = readdir(d)) != NULL && *n < max) {
		if (!safe_name(de->d_name) || (keep && !keep(dirfd(d), de->d_name)))
			continue;
		memcpy(names[*n], de->d_name, strlen(de->d_name) + 1); /* safe_name: it fits */
		(*n)++;
	}
	closedir(d);
	qsort(names, *n, sizeof(names[0]), cmp_name);
	return UPT_OK;
}

int sysfs_disks(const char *sysroot, char (*names)[BLK_NAME_MAX], size_t max, size_t *n, upt_err *e)
{
	char path[UPT_PATH_MAX];
	snprintf(path, sizeof(path), "%s/block", sysroot);
	return list_dir(path, NULL, names, max, n, e);
}

static bool is_partition_dir(int dirfd, const char *name)
{
	char p[BLK_NAME_MAX + 16];
	snprintf(p, sizeof(p), "%s/partition", name);
	return faccessat(dirfd, p, F_OK, 0) == 0;
}

int sysfs_partitions(const char *sysroot, const char *disk, char (*names)[BLK_NAME_MAX], size_t max,
		     size_t *n, upt_err *e)
{
	if (!safe_name(disk))
		return upt_err_set(e, UPT_E_NOT_FOUND, "%s: not a block device name", disk);
	char path[UPT_PATH_MAX];
	snprintf(path, sizeof(path), "%s/block/%s", sysroot, disk);
	return list_dir(path, is_partition_dir, names, max, n, e);
}

uint64_t sysfs_disk_size(const char *sysroot, const char *disk)
{
	if (!safe_name(disk))
		return 0;
	char path[UPT_PATH_MAX], v[32];
	snprintf(path, sizeof(path), "%s/block/%s", sysroot, disk);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	bool ok = read_attr(fd, "size", v, sizeof(v));
	close(fd);
	if (!ok || !v[0])
		return 0;
	char *end;
	errno = 0;
	unsigned long long s = strtoull(v, &end, 10);
	return errno || *end || v[0] == '-' ? 0 : (uint64_t)s;
}

/* ---- mountinfo ---- */

/* Copies one space-separated field, decoding \ooo escapes (proc(5)); false when it does not
 * fit or is malformed. */
static bool field_unescape(const char *s, size_t len, char *out, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == '\\') {
			if (len - i < 4)
				return false;
			unsigned v = 0;
			for (size_t k = 1; k <= 3; k++) {
				if (s[i + k] < '0' || s[i + k] > '7')
					return false;
				v = v * 8 + (unsigned)(s[i + k] - '0');
			}
			if (v == 0 || v > 255)
				return false;
			ch = (char)v;
			i += 3;
		}
		if (o + 1 >= n)
			return false;
		out[o++] = ch;
	}
	out[o] = '\0';
	return true;
}

static bool parse_line(const char *line, size_t len, struct mountent *m)
{
	const char *f[32];
	size_t fl[32], nf = 0;
	for (size_t i = 0; i < len && nf < 32;) {
		while (i < len && line[i] == ' ')
			i++;
		if (i >= len)
			break;
		size_t start = i;
		while (i < len && line[i] != ' ')
			i++;
		f[nf] = line + start;
		fl[nf++] = i - start;
	}
	/* id parent maj:min root point options [optional...] - fstype source superopts */
	size_t dash = 0;
	for (size_t i = 6; i < nf; i++)
		if (fl[i] == 1 && f[i][0] == '-') {
			dash = i;
			break;
		}
	if (nf < 10 || dash == 0 || dash + 3 > nf)
		return false;
	char mm[32];
	if (fl[2] >= sizeof(mm))
		return false;
	memcpy(mm, f[2], fl[2]);
	mm[fl[2]] = '\0';
	char *colon = strchr(mm, ':');
	if (!colon)
		return false;
	*colon = '\0';
	if (!parse_uint(mm, 4095, &m->maj) || !parse_uint(colon + 1, 1048575, &m->min))
		return false;
	if (!field_unescape(f[3], fl[3], m->root, sizeof(m->root)) ||
	    !field_unescape(f[4], fl[4], m->point, sizeof(m->point)) ||
	    !field_unescape(f[dash + 1], fl[dash + 1], m->fstype, sizeof(m->fstype)))
		return false;
	/* Per-mount options: "ro" or "rw" first. */
	m->ro = fl[5] >= 2 && !strncmp(f[5], "ro", 2) && (fl[5] == 2 || f[5][2] == ',');
	return true;
}

int mountinfo_parse(const char *text, size_t len, struct mountent *out, size_t max, size_t *n,
		    upt_err *e)
{
	(void)e;
	*n = 0;
	size_t i = 0;
	while (i < len && *n < max) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (text + i)) : len - i;
		struct mountent m;
		memset(&m, 0, sizeof(m));
		if (parse_line(text + i, ll, &m) && m.maj != 0)
			out[(*n)++] = m;
		i += ll + 1;
	}
	return UPT_OK;
}

int mountinfo_read(const char *path, struct mountent *out, size_t max, size_t *n, upt_err *e)
{
	/* mountinfo reports size 0; read until EOF, capped. */
	const size_t cap = 4u << 20;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return upt_err_set(e, UPT_E_IO, "%s: %s", path, strerror(errno));
	size_t size = 0, alloc = 65536;
	char *buf = malloc(alloc);
	int rc = buf ? UPT_OK : upt_err_set(e, UPT_E_NOMEM, "out of memory");
	while (rc == UPT_OK) {
		if (size == alloc) {
			if (alloc >= cap) {
				rc = upt_err_set(e, UPT_E_TOO_LARGE, "%s: over %zu bytes", path,
						 cap);
				break;
			}
			char *nb = realloc(buf, alloc * 2);
			if (!nb) {
				rc = upt_err_set(e, UPT_E_NOMEM, "out of memory");
				break;
			}
			buf = nb;
			alloc *= 2;
		}
		ssize_t r = read(fd, buf + size, alloc - size);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = upt_err_set(e, UPT_E_IO, "%s: %s", path, strerror(errno));
		if (r <= 0)
			break;
		size += (size_t)r;
	}
	close(fd);
	if (rc == UPT_OK)
		rc = mountinfo_parse(buf, size, out, max, n, e);
	free(buf);
	return rc;
}
