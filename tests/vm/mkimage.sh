#!/usr/bin/env bash
# Builds the device under test into OUT (build/vm): Debian's kernel unpacked from its .deb (never
# installed into the host's /boot) and a systemd rootfs made by mmdebstrap, packed as an
# initramfs with the project installed by its own `make install` (release build), and a second
# one with the amd64 Debian package installed instead. Each piece is rebuilt only when its
# inputs change (a stamp holding the inputs' hash).
# Usage: tests/vm/mkimage.sh OUT
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
cd "$out"

need() { # need TOOL PACKAGE: fail saying what is missing (never skip)
	command -v "$1" >/dev/null || { echo "vm: missing $1 (Debian package $2; run make deps)" >&2; exit 1; }
}
need mmdebstrap mmdebstrap
need cpio cpio
need dpkg-deb dpkg

# The kernel: the newest linux-image-6.1.0-*-amd64 the mirror has, unpacked here.
kernel() {
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1)
	[ -n "$pkg" ] || { echo "vm: no linux-image-6.1.0-*-amd64 in apt (apt-get update?)" >&2; exit 1; }
	if [ "$(cat kernel.stamp 2>/dev/null)" != "$pkg" ]; then
		rm -rf kernel kernel.deb && mkdir kernel
		(cd kernel && apt-get download -q "$pkg" >/dev/null 2>&1 && mv ./*.deb ../kernel.deb)
		dpkg-deb -x kernel.deb kernel
		echo "$pkg" >kernel.stamp
	fi
	kver=$(ls kernel/lib/modules)
	ln -sf "kernel/boot/vmlinuz-$kver" vmlinuz
}

# The base rootfs (slow: ~40 s), cached as a tarball; inputs: the package list.
PKGS=systemd,systemd-sysv,udev,kmod,libusb-1.0-0,libjansson4,libarchive13,libsodium23,libssl3,libsqlite3-0,e2fsprogs,util-linux
base() {
	if [ "$(cat base.stamp 2>/dev/null)" != "$PKGS" ] || [ ! -s base.tar ]; then
		mmdebstrap --quiet --variant=minbase --include="$PKGS" bookworm base.tar
		echo "$PKGS" >base.stamp
	fi
}

# The project, its release build installed into a staging tree.
project() {
	make -C "$top" --no-print-directory BUILD=release all >/dev/null
	rm -rf proj && mkdir proj
	make -C "$top" --no-print-directory BUILD=release install DESTDIR="$out/proj" PREFIX=/usr/local >/dev/null
}

# The initramfs: base + the kernel's modules + the project + the overlay (tests/vm/overlay).
initrd() {
	local inputs
	local srcs=(proj "$top/tests/vm/overlay" "$top/tests/vm/mkimage.sh")
	inputs=$( (cat base.stamp kernel.stamp; find "${srcs[@]}" -type f -print0 | sort -z | xargs -0 sha256sum
		find "${srcs[@]}" -type l -printf '%p %l\n' | sort) | sha256sum)
	if [ "$(cat initrd.stamp 2>/dev/null)" = "$inputs" ] && [ -s initrd.cpio ] && [ -d root ]; then return; fi
	rm -rf root && mkdir root
	tar -C root -xf base.tar
	# Only the module trees the rig uses (the whole set would triple the initramfs).
	local m=kernel/lib/modules/$kver d
	mkdir -p "root/lib/modules/$kver"
	cp -a "$m"/modules.order "$m"/modules.builtin* "root/lib/modules/$kver/"
	for d in block drivers/usb drivers/scsi drivers/block drivers/virtio fs/fat fs/exfat fs/ext4 fs/jbd2 fs/nls fs/mbcache.ko lib crypto arch; do
		[ -e "$m/kernel/$d" ] || continue
		mkdir -p "root/lib/modules/$kver/kernel/$(dirname $d)" && cp -a "$m/kernel/$d" "root/lib/modules/$kver/kernel/$(dirname $d)/"
	done
	# Less to load at every boot: documentation, translations, charset converters.
	rm -rf root/usr/share/doc root/usr/share/man root/usr/share/locale root/usr/share/info \
		root/usr/lib/x86_64-linux-gnu/gconv root/var/cache/apt root/var/lib/apt/lists
	chroot root /sbin/depmod "$kver" # the rootfs's own kmod (the host may have none)
	# tar keeps the rootfs's merged-/usr links (/lib -> usr/lib) where cp would refuse
	tar -C proj -c . | tar -C root -x --keep-directory-symlink
	tar -C "$top/tests/vm/overlay" -c . | tar -C root -x --keep-directory-symlink
	ln -sf /lib/systemd/systemd root/init
	# Mask the getty on the test console: the serial line carries the test's own output.
	ln -sf /dev/null root/etc/systemd/system/serial-getty@ttyS0.service
	ln -sf /dev/null root/etc/systemd/system/getty@tty1.service
	(cd root && find . -print0 | cpio --null -o -H newc --quiet) >initrd.cpio.tmp
	mv initrd.cpio.tmp initrd.cpio
	echo "$inputs" >initrd.stamp
}

# The second rootfs (tests/vm/cases/80-deb.bash): the first one with the files of `make install`
# taken out and the amd64 package (make deb-build) installed by dpkg instead. Cheap: a copy of
# root/, one dpkg -i, one cpio.
initrd_deb() {
	make -C "$top" --no-print-directory deb-build >deb-build.log 2>&1 ||
		{ tail -20 deb-build.log >&2; return 1; }
	local deb inputs
	deb=$(ls "$top"/build/deb/uptane-install_*_amd64.deb)
	inputs=$( (cat initrd.stamp; sha256sum <"$deb") | sha256sum)
	if [ "$(cat initrd-deb.stamp 2>/dev/null)" = "$inputs" ] && [ -s initrd-deb.cpio ]; then return; fi
	rm -rf root-deb && cp -a root root-deb
	(cd proj && find . ! -type d -print0) | (cd root-deb && xargs -0 rm -f)
	cp "$deb" root-deb/tmp/uptane-install.deb
	chroot root-deb dpkg -i /tmp/uptane-install.deb >/dev/null
	rm root-deb/tmp/uptane-install.deb
	(cd root-deb && find . -print0 | cpio --null -o -H newc --quiet) >initrd-deb.cpio.tmp
	mv initrd-deb.cpio.tmp initrd-deb.cpio
	echo "$inputs" >initrd-deb.stamp
}

kernel
base
project
initrd
initrd_deb
echo "vm: kernel $kver, initrd $(du -h initrd.cpio | cut -f1), from the package $(du -h initrd-deb.cpio | cut -f1)"
