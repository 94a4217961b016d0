/*
 * Removable media (docs/integration.md): what media.c, mount.c, sysfs.c and usb.c share.
 *   sysfs.c  block devices from sysfs: removable flag, USB ancestry and identity, partitions,
 *            size; /proc/self/mountinfo
 *   mount.c  the private mount: own mount namespace, vfat/exfat/ext4 only,
 *            nosuid,nodev,noexec,nosymfollow, read-only until the report is written
 *   usb.c    libusb: hotplug arrivals of mass-storage devices, identity (the only file that
 *            includes libusb.h)
 *   media.c  the commands: media DEVNODE, scan, watch
 * Nothing here verifies a bundle: that is install.c's job, reached through install_from_dir.
 */
#ifndef UPT_MEDIA_H
#define UPT_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "installer.h"
#include "upt/err.h"

#define SYSFS_ROOT "/sys"
#define MOUNTINFO "/proc/self/mountinfo"
#define BLK_NAME_MAX 64	  /* kernel block device names ("sdb1", "mmcblk1p2", "loop7") */
#define BLK_DISKS_MAX 256 /* entries of /sys/block considered */
#define BLK_PARTS_MAX 64  /* partitions of one disk considered */
#define MOUNTS_MAX 512	  /* lines of mountinfo considered */

/* ---- sysfs.c ---- */

struct blockdev {
	char name[BLK_NAME_MAX]; /* kernel name: "sdb1" */
	char disk[BLK_NAME_MAX]; /* its whole disk: "sdb" (== name for a whole disk) */
	unsigned maj, min;
	bool partition;
	bool removable;		 /* the disk's sysfs "removable" is 1 */
	bool usb;		 /* a USB device is among its sysfs ancestors */
	unsigned busnum, devnum; /* that USB device's bus and address (0 unknown) */
	bool has_id;		 /* id holds the USB idVendor/idProduct (serial may be "") */
	struct medium id;
};

/* Describes the block device MAJ:MIN from SYSROOT/dev/block/MAJ:MIN (resolved, so its USB
 * ancestry shows). The USB identity is read from the ancestor's idVendor, idProduct and
 * serial; the serial is untrusted text and is reduced to printable ASCII. UPT_E_NOT_FOUND when
 * the device is not in sysfs; out untouched on failure. */
int sysfs_block(const char *sysroot, unsigned maj, unsigned min, struct blockdev *out,
		upt_err *e) UPT_MUST_CHECK;
/* The same from a kernel name under SYSROOT/class/block/NAME. */
int sysfs_block_by_name(const char *sysroot, const char *name, struct blockdev *out,
			upt_err *e) UPT_MUST_CHECK;
/* The whole disks in SYSROOT/block, sorted. */
int sysfs_disks(const char *sysroot, char (*names)[BLK_NAME_MAX], size_t max, size_t *n,
		upt_err *e) UPT_MUST_CHECK;
/* The partitions of DISK (entries of SYSROOT/block/DISK holding a "partition" file), sorted. */
int sysfs_partitions(const char *sysroot, const char *disk, char (*names)[BLK_NAME_MAX], size_t max,
		     size_t *n, upt_err *e) UPT_MUST_CHECK;
/* Size in 512-byte sectors of SYSROOT/block/DISK (0 when unreadable: no medium). */
uint64_t sysfs_disk_size(const char *sysroot, const char *disk);

struct mountent {
	unsigned maj, min;
	char root[UPT_PATH_MAX];  /* the mounted subtree of the filesystem ("/" whole) */
	char point[UPT_PATH_MAX]; /* mount point, unescaped */
	char fstype[32];
	bool ro;
};

/* Parses mountinfo text (proc(5)): every entry with a block device (major != 0). Octal escapes
 * in paths are decoded. Lines that do not parse are skipped; at most max entries. */
int mountinfo_parse(const char *text, size_t len, struct mountent *out, size_t max, size_t *n,
		    upt_err *e) UPT_MUST_CHECK;
/* Reads and parses path (normally /proc/self/mountinfo). */
int mountinfo_read(const char *path, struct mountent *out, size_t max, size_t *n,
		   upt_err *e) UPT_MUST_CHECK;

/* ---- mount.c ---- */

struct privmount {
	char dir[UPT_PATH_MAX]; /* the mount point (a fresh directory, removed on unmount) */
	char devnode[UPT_PATH_MAX];
	const char *fstype;  /* "vfat", "exfat" or "ext4" */
	unsigned long flags; /* per-mount flags in use, for the remount */
	const char *data;
	bool mounted;
	bool writable;
	bool nosymfollow; /* the kernel applied MS_NOSYMFOLLOW (5.10+) */
};

/* Moves this process into its own mount namespace, / made a recursive slave: our mounts never
 * propagate to the rest of the system, and when the process dies they go with it. */
int pm_private_namespace(upt_err *e) UPT_MUST_CHECK;
/* Mounts devnode read-only under a fresh directory: types vfat, exfat, ext4 in turn (never
 * a type the kernel guesses), nosuid,nodev,noexec,nosymfollow. UPT_E_NOT_FOUND when it holds
 * none of these filesystems; UPT_E_IO when the device cannot be read (gone, EIO); UPT_E_BUSY
 * when mounted elsewhere with other flags. m untouched on failure. */
int pm_mount(const char *devnode, struct privmount *m, upt_err *e) UPT_MUST_CHECK;
/* Remounts read-write (same per-mount flags). 0 or an errno value (EROFS/EACCES when the
 * medium or its lock switch is read-only). Signature fits struct ctx's medium_writable. */
int pm_make_writable(void *privmount);
/* Flushes (syncfs), unmounts, flushes the block device, removes the directory. A busy mount
 * is detached lazily. Safe on an unmounted m. */
int pm_unmount(struct privmount *m, upt_err *e) UPT_MUST_CHECK;
/* The directory mount points are made in: $RUNTIME_DIRECTORY (systemd), else
 * /run/uptane-install, else /tmp. */
int pm_base_dir(char *out, size_t n, upt_err *e) UPT_MUST_CHECK;

/* ---- usb.c ---- */

struct usbwatch;

/* Starts libusb; *hotplug says whether arrivals are reported (LIBUSB_CAP_HAS_HOTPLUG and the
 * callback registered). UPT_E_IO when libusb cannot start here (no usbfs): poll instead. */
int usb_watch_open(struct usbwatch **out, bool *hotplug, upt_err *e) UPT_MUST_CHECK;
/* Handles libusb events for up to timeout_ms. *arrived: mass-storage devices (class 0x08 on
 * an interface) that arrived; *left: devices that left. */
void usb_watch_wait(struct usbwatch *w, int timeout_ms, unsigned *arrived, unsigned *left);
/* Reads vendor, product and serial of the USB device at busnum/devnum through libusb.
 * false when libusb cannot see or open it. */
bool usb_identity(struct usbwatch *w, unsigned busnum, unsigned devnum, struct medium *m);
void usb_watch_close(struct usbwatch *w);
/* "libusb 1.0.26" from the libusb watch would load (libusb_get_version), or says it is not
 * there; for --version. */
void usb_version(char *out, size_t n);

#endif
