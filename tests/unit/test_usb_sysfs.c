/*
 * Unit tests: installer/sysfs.c (USB ancestry, identity, removable flag, partitions, sizes,
 * mountinfo) over a sysfs tree built in a temporary directory the way the kernel lays it out:
 * /sys/dev/block/MAJ:MIN and /sys/class/block/NAME link into /sys/devices/..., a USB stick's
 * disk sits below its interface (N-P:1.0, subsystem usb, no idVendor) below its device (N-P,
 * subsystem usb, idVendor/idProduct/serial). sysfs.c is an installer file, not a library
 * module, so it is compiled into this test directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../installer/sysfs.c"

#define USBDEV "devices/pci0000:00/0000:00:14.0/usb1/1-2"
#define SDB USBDEV "/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb"
#define SDA "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda"
#define MMC "devices/platform/soc/fe340000.mmc/mmc_host/mmc1/mmc1:aaaa/block/mmcblk1"
#define ODD "devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/host3/target3:0:0/3:0:0:0/block/sdc"

static char root[256];

/* mkdir -p of path's parent directory */
static void mkdirs(const char *path)
{
	char d[1024];
	snprintf(d, sizeof(d), "%s", path);
	for (char *s = d + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		assert_true(mkdir(d, 0755) == 0 || errno == EEXIST);
		*s = '/';
	}
}

static void put(const char *rel, const char *content)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	mkdirs(p);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void link_to(const char *rel, const char *target)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	mkdirs(p);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/upt-sysfs.XXXXXX");
	assert_non_null(mkdtemp(root));
	/* the bus */
	put("bus/usb/.keep", "");
	/* a USB stick: device 1-2, interface 1-2:1.0, disk sdb, partition sdb1 */
	link_to(USBDEV "/subsystem", "../../../../bus/usb");
	put(USBDEV "/idVendor", "0781\n");
	put(USBDEV "/idProduct", "5567\n");
	put(USBDEV "/serial", "4C53\001X\n");
	put(USBDEV "/busnum", "1\n");
	put(USBDEV "/devnum", "5\n");
	link_to(USBDEV "/1-2:1.0/subsystem", "../../../../../bus/usb");
	put(USBDEV "/1-2:1.0/bInterfaceClass", "08\n");
	put(SDB "/dev", "8:16\n");
	put(SDB "/removable", "1\n");
	put(SDB "/size", "30531584\n");
	put(SDB "/sdb1/dev", "8:17\n");
	put(SDB "/sdb1/partition", "1\n");
	put(SDB "/sdb1/size", "30529536\n");
	link_to("dev/block/8:16", "../../" SDB);
	link_to("dev/block/8:17", "../../" SDB "/sdb1");
	link_to("class/block/sdb", "../../" SDB);
	link_to("class/block/sdb1", "../../" SDB "/sdb1");
	link_to("block/sdb", "../" SDB);
	/* a SATA disk */
	put(SDA "/dev", "8:0\n");
	put(SDA "/removable", "0\n");
	put(SDA "/size", "976773168\n");
	put(SDA "/sda1/dev", "8:1\n");
	put(SDA "/sda1/partition", "1\n");
	put(SDA "/sda2/dev", "8:2\n");
	put(SDA "/sda2/partition", "2\n");
	link_to("dev/block/8:1", "../../" SDA "/sda1");
	link_to("block/sda", "../" SDA);
	/* an SD card slot: removable, not USB; no card: size 0 */
	put(MMC "/dev", "179:0\n");
	put(MMC "/removable", "1\n");
	put(MMC "/size", "0\n");
	link_to("dev/block/179:0", "../../" MMC);
	link_to("block/mmcblk1", "../" MMC);
	/* a USB device whose ids are not 4 hex digits and whose serial is over-long */
	link_to("devices/pci0000:00/0000:00:14.0/usb1/1-3/subsystem", "../../../../bus/usb");
	put("devices/pci0000:00/0000:00:14.0/usb1/1-3/idVendor", "zz\n");
	put("devices/pci0000:00/0000:00:14.0/usb1/1-3/idProduct", "1\n");
	put(ODD "/dev", "8:32\n");
	put(ODD "/size", "garbage\n");
	link_to("dev/block/8:32", "../../" ODD);
	link_to("block/sdc", "../" ODD);
	/* a link that leaves the device tree */
	link_to("dev/block/9:9", "/etc");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void usb_partition(void **state)
{
	(void)state;
	struct blockdev b;
	upt_err e;
	assert_int_equal(sysfs_block(root, 8, 17, &b, &e), UPT_OK);
	assert_string_equal(b.name, "sdb1");
	assert_string_equal(b.disk, "sdb");
	assert_true(b.partition);
	assert_true(b.removable); /* from the disk, not the partition */
	assert_true(b.usb);
	assert_true(b.has_id);
	assert_int_equal(b.maj, 8);
	assert_int_equal(b.min, 17);
	assert_string_equal(b.id.vendor, "0781");
	assert_string_equal(b.id.product, "5567");
	assert_string_equal(b.id.serial, "4C53?X"); /* a control character from the stick */
	assert_int_equal(b.busnum, 1);
	assert_int_equal(b.devnum, 5);

	struct blockdev d;
	assert_int_equal(sysfs_block_by_name(root, "sdb", &d, &e), UPT_OK);
	assert_false(d.partition);
	assert_string_equal(d.disk, "sdb");
	assert_true(d.usb && d.has_id);
	assert_int_equal(sysfs_block_by_name(root, "sdb1", &d, &e), UPT_OK);
	assert_string_equal(d.id.vendor, "0781");
}

static void sata_is_not_a_medium(void **state)
{
	(void)state;
	struct blockdev b;
	upt_err e;
	assert_int_equal(sysfs_block(root, 8, 1, &b, &e), UPT_OK);
	assert_string_equal(b.name, "sda1");
	assert_string_equal(b.disk, "sda");
	assert_false(b.usb);
	assert_false(b.removable);
	assert_false(b.has_id);
}

static void removable_slot_without_usb(void **state)
{
	(void)state;
	struct blockdev b;
	upt_err e;
	assert_int_equal(sysfs_block(root, 179, 0, &b, &e), UPT_OK);
	assert_true(b.removable);
	assert_false(b.usb);
	assert_int_equal(sysfs_disk_size(root, "mmcblk1"), 0); /* no card */
}

static void odd_usb_ids(void **state)
{
	(void)state;
	struct blockdev b;
	upt_err e;
	assert_int_equal(sysfs_block(root, 8, 32, &b, &e), UPT_OK);
	assert_true(b.usb);	/* it is on USB ... */
	assert_false(b.has_id); /* ... but its ids are not reported when malformed */
	assert_int_equal(sysfs_disk_size(root, "sdc"), 0);
}

static void refusals(void **state)
{
	(void)state;
	struct blockdev b;
	memset(&b, 0x5a, sizeof(b));
	struct blockdev copy = b;
	upt_err e;
	assert_int_equal(sysfs_block(root, 9, 9, &b, &e), UPT_E_NOT_FOUND); /* leaves devices/ */
	assert_int_equal(sysfs_block(root, 1, 1, &b, &e), UPT_E_NOT_FOUND); /* absent */
	assert_int_equal(sysfs_block_by_name(root, "../../etc", &b, &e), UPT_E_NOT_FOUND);
	assert_int_equal(sysfs_block_by_name(root, "", &b, &e), UPT_E_NOT_FOUND);
	assert_int_equal(sysfs_block_by_name(root, "nosuch", &b, &e), UPT_E_NOT_FOUND);
	assert_memory_equal(&b, &copy, sizeof(b)); /* outputs untouched on failure */
	assert_int_equal(sysfs_disk_size(root, "../block/sdb"), 0);
}

static void listings(void **state)
{
	(void)state;
	char names[8][BLK_NAME_MAX];
	size_t n = 0;
	upt_err e;
	assert_int_equal(sysfs_disks(root, names, 8, &n, &e), UPT_OK);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "mmcblk1");
	assert_string_equal(names[1], "sda");
	assert_string_equal(names[2], "sdb");
	assert_string_equal(names[3], "sdc");
	assert_int_equal(sysfs_disks(root, names, 2, &n, &e), UPT_OK);
	assert_int_equal(n, 2); /* capped */
	assert_int_equal(sysfs_partitions(root, "sda", names, 8, &n, &e), UPT_OK);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "sda1");
	assert_string_equal(names[1], "sda2");
	assert_int_equal(sysfs_partitions(root, "sdb", names, 8, &n, &e), UPT_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "sdb1");
	assert_int_equal(sysfs_partitions(root, "mmcblk1", names, 8, &n, &e), UPT_OK);
	assert_int_equal(n, 0);
	assert_int_equal(sysfs_disk_size(root, "sdb"), 30531584);
	assert_int_equal(sysfs_disk_size(root, "sda"), 976773168);
}

static void mountinfo(void **state)
{
	(void)state;
	static const char text[] =
	    "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw\n"
	    "30 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
	    "95 30 8:17 / /media/dealer/MY\\040STICK rw,nosuid,nodev,relatime shared:50 master:3 - "
	    "vfat /dev/sdb1 rw,fmask=0022\n"
	    "96 30 8:17 /uptane /srv/bind ro,relatime - vfat /dev/sdb1 rw\n"
	    "97 30 8:33 / /mnt/ro ro - ext4 /dev/sdc1 ro\n"
	    "98 30 8:49 / /mnt/bad\\04 rw - ext4 /dev/sdd1 rw\n"
	    "99 30 8:50 / /mnt/nodash rw ext4 /dev/sdd2 rw\n"
	    "garbage\n"
	    "100 30 8:65 / /mnt/last rw - exfat /dev/sde1 rw";
	struct mountent m[8];
	size_t n = 0;
	upt_err e;
	assert_int_equal(mountinfo_parse(text, strlen(text), m, 8, &n, &e), UPT_OK);
	assert_int_equal(n, 5); /* proc (0:21), the bad escape, the line without "-", garbage */
	assert_int_equal(m[0].maj, 254);
	assert_int_equal(m[1].maj, 8);
	assert_int_equal(m[1].min, 17);
	assert_string_equal(m[1].point, "/media/dealer/MY STICK");
	assert_string_equal(m[1].root, "/");
	assert_string_equal(m[1].fstype, "vfat");
	assert_false(m[1].ro);
	assert_string_equal(m[2].root, "/uptane");
	assert_true(m[2].ro);
	assert_true(m[3].ro);
	assert_string_equal(m[3].point, "/mnt/ro");
	assert_string_equal(m[4].point, "/mnt/last"); /* no final newline */
	assert_string_equal(m[4].fstype, "exfat");
	assert_int_equal(mountinfo_parse(text, strlen(text), m, 2, &n, &e), UPT_OK);
	assert_int_equal(n, 2); /* capped */

	/* the real one parses and holds the root filesystem */
	struct mountent *all = calloc(MOUNTS_MAX, sizeof(*all));
	assert_non_null(all);
	assert_int_equal(mountinfo_read("/proc/self/mountinfo", all, MOUNTS_MAX, &n, &e), UPT_OK);
	bool has_root = false;
	for (size_t i = 0; i < n; i++)
		has_root = has_root || !strcmp(all[i].point, "/");
	assert_true(has_root);
	free(all);
	assert_int_equal(mountinfo_read("/nonexistent/mountinfo", m, 8, &n, &e), UPT_E_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(usb_partition),
	    cmocka_unit_test(sata_is_not_a_medium),
	    cmocka_unit_test(removable_slot_without_usb),
	    cmocka_unit_test(odd_usb_ids),
	    cmocka_unit_test(refusals),
	    cmocka_unit_test(listings),
	    cmocka_unit_test(mountinfo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
