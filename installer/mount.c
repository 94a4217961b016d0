/*
 * mount: the private mount of a medium (docs/integration.md).
 *   - Our own mount namespace (unshare(CLONE_NEWNS)) with / a recursive slave: the stick's
 *     mount propagates nowhere, nobody else sees or uses it, and it disappears with us.
 *   - Types vfat, exfat and ext4 only, each tried by name: the kernel never guesses a type, so
 *     a stick cannot steer us into a less robust filesystem driver.
 *   - nosuid,nodev,noexec,nosymfollow; read-only while the bundle is read, remounted
 *     read-write only to write the report (pm_make_writable), then synced and unmounted.
 * Not here: what is on the filesystem (find.c, install.c) and where reports go (report_write.c,
 * which opens every component with O_NOFOLLOW).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "media.h"

/* Linux 5.10; older headers lack the names. */
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

/* Options that override what the stick's own superblock asks for (docs/threat-model.md,
 * "The stick's filesystem"): an ext4 superblock can say errors=panic, and the first corrupt
 * directory block our reads meet would then panic the device's kernel (and coldplug would
 * retry the stick at every boot). So every type gets errors=remount-ro, given by us.
 *   - ext4 noload: an attacker's journal is never replayed into the kernel. A stick whose
 *     journal needs recovery mounts read-only without it and refuses the read-write remount,
 *     so it gets no report (the report stays in the state directory).
 *   - vfat/exfat: uid/gid/masks make files 0600 and directories 0700, owned by root, so
 *     nothing on the stick is executable or readable by other users while mounted;
 *     iocharset=utf8 so names with non-ASCII characters are read as the UTF-8 they are
 *     (FAT's default charset turns them into '?'); shortname=mixed (as Windows writes 8.3
 *     names); flush writes the report early, for sticks pulled soon after. */
static const struct {
	const char *type;
	const char *data;
} fs_types[] = {
    {"vfat", "uid=0,gid=0,fmask=0177,dmask=0077,errors=remount-ro,shortname=mixed,iocharset=utf8,"
	     "flush"},
    {"exfat", "uid=0,gid=0,fmask=0177,dmask=0077,errors=remount-ro,iocharset=utf8"},
    {"ext4", "errors=remount-ro,noload"},
};

int pm_private_namespace(upt_err *e)
{
	if (unshare(CLONE_NEWNS) != 0)
		return upt_err_set(e, errno == EPERM ? UPT_E_CONFIG : UPT_E_IO,
				   "cannot create a private mount namespace: %s%s", strerror(errno),
				   errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
	/* Slave rather than private: unmounts elsewhere still reach us, ours go nowhere. */
	if (mount("none", "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
		return upt_err_set(e, UPT_E_IO, "cannot make / a slave mount: %s", strerror(errno));
	return UPT_OK;
}

int pm_base_dir(char *out, size_t n, upt_err *e)
{
	const char *rt = getenv("RUNTIME_DIRECTORY");
	if (rt && rt[0] == '/') {
		/* systemd may list several, separated by ':'; the first is ours. */
		size_t len = strcspn(rt, ":");
		if (len < n) {
			memcpy(out, rt, len);
			out[len] = '\0';
			return UPT_OK;
		}
	}
	const char *run = "/run/uptane-install";
	if (mkdir(run, 0700) == 0 || errno == EEXIST) {
		struct stat st;
		if (lstat(run, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
		    access(run, W_OK) == 0) {
			snprintf(out, n, "%s", run);
			return UPT_OK;
		}
	}
	if (access("/tmp", W_OK) == 0) {
		snprintf(out, n, "/tmp");
		return UPT_OK;
	}
	return upt_err_set(e, UPT_E_CONFIG,
			   "no writable directory for a mount point ($RUNTIME_DIRECTORY, %s, /tmp)",
			   run);
}

/* errno values that mean the device itself cannot be read (gone, or broken). */
static bool device_failure(int err)
{
	return err == ENOENT || err == ENXIO || err == ENOMEDIUM || err == EIO || err == ENOTBLK ||
	       err == EACCES || err == EROFS;
}

int pm_mount(const char *devnode, struct privmount *out, upt_err *e)
{
	struct privmount m;
	memset(&m, 0, sizeof(m));
	struct stat st;
	if (stat(devnode, &st) != 0)
		return upt_err_set(e, UPT_E_IO, "%s: %s%s", devnode, strerror(errno),
				   errno == ENOENT ? " (the stick was removed?)" : "");
	if (!S_ISBLK(st.st_mode))
		return upt_err_set(e, UPT_E_USAGE, "%s: not a block device", devnode);
	if (strlen(devnode) >= sizeof(m.devnode))
		return upt_err_set(e, UPT_E_USAGE, "%s: path too long", devnode);
	snprintf(m.devnode, sizeof(m.devnode), "%s", devnode);

	char base[UPT_PATH_MAX];
	int rc = pm_base_dir(base, sizeof(base), e);
	if (rc)
		return rc;
	int len = snprintf(m.dir, sizeof(m.dir), "%s/medium.XXXXXX", base);
	if (len < 0 || (size_t)len >= sizeof(m.dir))
		return upt_err_set(e, UPT_E_CONFIG, "%s: path too long", base);
	if (!mkdtemp(m.dir))
		return upt_err_set(e, UPT_E_IO, "%s: cannot create a mount point: %s", m.dir,
				   strerror(errno));

	const unsigned long base_flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	bool want_nosym = true;
	char tried[256] = "";
	for (size_t i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++) {
		unsigned long flags = base_flags | (want_nosym ? MS_NOSYMFOLLOW : 0);
		int r = mount(devnode, m.dir, fs_types[i].type, flags, fs_types[i].data);
		int err = errno;
		/* A kernel before 5.10 may refuse MS_NOSYMFOLLOW with EINVAL: try once more
		 * without it. If that works, the kernel does not have the flag; links are still
		 * never followed by us (every path on the stick is opened with O_NOFOLLOW or
		 * checked with AT_SYMLINK_NOFOLLOW). Such kernels may also ignore the unknown bit
		 * silently, which is why the result is checked with statvfs below. */
		if (r != 0 && err == EINVAL && want_nosym) {
			flags &= ~(unsigned long)MS_NOSYMFOLLOW;
			r = mount(devnode, m.dir, fs_types[i].type, flags, fs_types[i].data);
			if (r == 0)
				want_nosym = false;
			else
				err = errno;
		}
		if (r == 0) {
			m.fstype = fs_types[i].type;
			m.data = fs_types[i].data;
			m.flags = flags;
			m.mounted = true;
			struct statvfs sv;
			m.nosymfollow = statvfs(m.dir, &sv) == 0 && (sv.f_flag & ST_NOSYMFOLLOW);
			*out = m;
			return UPT_OK;
		}
		size_t tl = strlen(tried);
		snprintf(tried + tl, sizeof(tried) - tl, "%s%s: %s", tl ? ", " : "",
			 fs_types[i].type,
			 err == ENODEV ? "not supported by this kernel" : strerror(err));
		if (device_failure(err)) {
			rmdir(m.dir);
			return upt_err_set(e, UPT_E_IO, "%s: cannot be read: %s", devnode,
					   strerror(err));
		}
		if (err == EBUSY) {
			rmdir(m.dir);
			return upt_err_set(e, UPT_E_BUSY, "%s: busy (mounted elsewhere?)", devnode);
		}
		/* EINVAL: not this filesystem; ENODEV: the kernel lacks it. Next type. */
	}
	rmdir(m.dir);
	return upt_err_set(e, UPT_E_NOT_FOUND, "%s: no FAT32, exFAT or ext4 filesystem (%s)",
			   devnode, tried);
}

/* Does the ext4 superblock on devnode say its journal needs recovery? Mounted with noload,
 * that journal was not replayed: the filesystem as we see it may be inconsistent, and writing
 * into it could damage the stick's data further. Such a stick gets no report. */
static bool ext4_needs_recovery(const char *devnode)
{
	enum { SB = 1024, MAGIC = 0x38, INCOMPAT = 0x60, INCOMPAT_RECOVER = 0x4 };
	uint8_t sb[INCOMPAT + 4];
	int fd = open(devnode, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return true; /* cannot tell: do not write */
	ssize_t n = pread(fd, sb, sizeof(sb), SB);
	close(fd);
	if (n != (ssize_t)sizeof(sb) || sb[MAGIC] != 0x53 || sb[MAGIC + 1] != 0xEF)
		return true;
	uint32_t incompat = (uint32_t)sb[INCOMPAT] | (uint32_t)sb[INCOMPAT + 1] << 8 |
			    (uint32_t)sb[INCOMPAT + 2] << 16 | (uint32_t)sb[INCOMPAT + 3] << 24;
	return (incompat & INCOMPAT_RECOVER) != 0;
}

int pm_make_writable(void *arg)
{
	struct privmount *m = arg;
	if (!m || !m->mounted)
		return ENOENT;
	if (m->writable)
		return 0;
	if (!strcmp(m->fstype, "ext4") && ext4_needs_recovery(m->devnode))
		return EROFS; /* as a write-protected stick: the report stays on the device */
	/* MS_REMOUNT takes the flags anew: keep nosuid, nodev, noexec (and nosymfollow). */
	unsigned long flags = (m->flags & ~(unsigned long)MS_RDONLY) | MS_REMOUNT;
	if (mount(m->devnode, m->dir, m->fstype, flags, m->data) != 0)
		return errno;
	m->flags = flags & ~(unsigned long)MS_REMOUNT;
	m->writable = true;
	return 0;
}

int pm_unmount(struct privmount *m, upt_err *e)
{
	int rc = UPT_OK;
	if (m->mounted) {
		int fd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			if (m->writable && syncfs(fd) != 0)
				rc = upt_err_set(e, UPT_E_IO, "%s: sync: %s", m->devnode,
						 strerror(errno));
			close(fd);
		}
		if (umount2(m->dir, 0) != 0) {
			int err = errno;
			/* Still busy (cannot happen in our namespace, but never leave it mounted):
			 * detach it; the kernel finishes when the last user goes. */
			if (umount2(m->dir, MNT_DETACH) != 0 && rc == UPT_OK)
				rc = upt_err_set(e, UPT_E_IO, "%s: unmount: %s", m->devnode,
						 strerror(err));
		}
		m->mounted = false;
		/* Flush what the block device still buffers, so the stick can be pulled. */
		int bfd = open(m->devnode, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (bfd >= 0) {
			if (m->writable && fsync(bfd) != 0 && rc == UPT_OK)
				rc = upt_err_set(e, UPT_E_IO, "%s: sync: %s", m->devnode,
						 strerror(errno));
			close(bfd);
		}
	}
	if (m->dir[0]) {
		rmdir(m->dir);
		m->dir[0] = '\0';
	}
	return rc;
}
