# The device from the Debian package: the first rootfs with uptane-install_*_amd64.deb installed
# by dpkg instead of `make install` (mkimage.sh, initrd-deb.cpio). The dealer path of
# 10-dealer.bash, on each stick format, passes from it: the package's udev rule and unit
# (ExecStart=/usr/bin/uptane-install) start the packaged binary.
deb_dealers() {
	local VM_INITRD=$vm/initrd-deb.cpio DEALER_TAG="deb, " n=1 kind
	disks
	boot || { not_ok "deb: boot the device with the package installed"; return; }
	deb_owned() { vsh 'dpkg -S /usr/bin/uptane-install; test -e /usr/local/bin/uptane-install || echo no-copy' |
		tr -d '\r' | tr '\n' ' ' | grep -q '^uptane-install: /usr/bin/uptane-install no-copy'; }
	deb_unit() { vsh 'systemctl cat uptane-install@x.service' | tr -d '\r' |
		grep -qx 'ExecStart=/usr/bin/uptane-install --json media /dev/%I'; }
	t "deb: /usr/bin/uptane-install belongs to the package, no make install copy" deb_owned
	t "deb: the packaged unit runs /usr/bin/uptane-install" deb_unit
	for kind in mbr-fat32 fat32 exfat ext4; do
		want "deb, $kind" && dealer "$kind" $n
		n=$((n + 1))
	done
	halt
}
want "deb, " && deb_dealers
