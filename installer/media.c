/*
 * media: the USB entry points of DESIGN.md section 8 (`media DEVNODE`, `scan`, `watch`).
 * NOT IMPLEMENTED YET: each says so and exits 1. They are to mount the medium privately
 * (nosuid,nodev,noexec,nosymfollow; vfat, exfat, ext4), fill a struct medium with the USB
 * vendor/product/serial, and call install_from_dir(c, mountpoint, &medium), which finds the
 * bundle, installs it and writes the report back to the medium. This is the only file that
 * will include libusb.h.
 */
#include <stdio.h>

#include "installer.h"

static int not_yet(struct ctx *c, const char *what)
{
	ev_result(&c->ev, "failed", "internal", NULL, "not implemented yet", what);
	if (!c->json)
		fprintf(stderr, "uptane-install: %s: not implemented yet\n", what);
	return 1;
}

int cmd_media(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(c, "media");
}

int cmd_scan(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(c, "scan");
}

int cmd_watch(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(c, "watch");
}
