#!/usr/bin/env bash
# The stick's own superblock must not decide how the device's kernel treats it: an ext4 stick
# that says errors=panic (and whose journal needs recovery) is mounted with the installer's
# options, errors=remount-ro and noload, seen in the mount(2) call itself (strace). The proof
# that a corrupt directory then does not panic a real kernel is the VM rig's (tests/vm/): here
# it would panic the machine running the tests.
source "$(dirname "$0")/lib.bash"
setup bundle install usb
loops=()
at_exit 'for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done'
cd "$tmp" || exit 1
usb_need_loop "$tmp"
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage main1.bin 200000 m1
"$BUNDLE" target add ws main1.bin --hardware-id board-a --release-counter 1 >/dev/null
"$BUNDLE" assign ws --device VIN-1 --ecu main=main1.bin >/dev/null
"$BUNDLE" create ws -o b1.uptane --device VIN-1 >/dev/null
dev=$tmp/dev
mkdir -p "$dev/targets" src
echo factory >"$dev/targets/main.bin"
device_json "$dev" VIN-1 main "$(file_ecu main board-a targets/main.bin)"
cp b1.uptane src/
usb_mkstick ext4 stick.img 32 src || { not_ok "make the ext4 stick"; finish; }
tune2fs -e panic stick.img >/dev/null
debugfs -w -R 'feature needs_recovery' stick.img >/dev/null 2>&1
check "the stick's superblock says errors=panic and needs_recovery" \
	bash -c "dumpe2fs -h stick.img 2>/dev/null | grep -q 'Errors behavior: *Panic' &&
		dumpe2fs -h stick.img 2>/dev/null | grep -q needs_recovery"
l=$(losetup -f --show stick.img) && loops+=("$l")
code=$( (cd "$dev" && ASAN_OPTIONS=detect_leaks=0 strace -f -qq -s 300 -o "$tmp/mounts" -e trace=mount \
	"$INSTALL" --config device.json --json media "$l") >out 2>out.err; echo $?)
expect_result "errors=panic stick: installs" out "$code" 0 installed null
check "ext4 mounted with errors=remount-ro,noload (overrides the superblock)" \
	grep -q '"ext4", MS_RDONLY.*"errors=remount-ro,noload"' "$tmp/mounts"
check "every mount of the stick passes errors=remount-ro" \
	bash -c "! grep -E '^[0-9]+ +mount\(\"$l\"' '$tmp/mounts' | grep -v 'errors=remount-ro' | grep -q ."
check "journal needing recovery: no report written to the stick, it stays on the device" \
	bash -c "! debugfs -R 'ls /uptane-reports' stick.img 2>/dev/null | grep -q VIN-1 &&
		ls '$dev/state/reports/'*.json >/dev/null"
check "a warning says the report is not on the medium" grep -q '"report-not-on-medium"' out
finish
