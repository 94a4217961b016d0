#!/usr/bin/env bash
# `uptane-install scan` (already-mounted media) and `uptane-install watch` (the daemon) on
# loop-attached ext4 sticks. A loop device is neither USB nor removable, so the tests name it
# with --also (what an integrator does for an SD card slot); the USB/removable detection itself
# is covered by test_usb_sysfs over a recorded sysfs tree.
#   scan: installs from a stick mounted by someone else and writes the report there; a stick
#         mounted read-only still installs (report kept on the device); nothing mounted that
#         qualifies: exit 3 no-bundle.
#   watch: a stick appearing (loop device size 0 -> non-zero, as a card in a reader) is acted on
#         once (--once exits with its status); a stick present before watch started is never
#         acted on; pulled and re-inserted it is acted on again, exactly once, however long it
#         stays; SIGTERM stops the daemon with exit 0.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
source "$(dirname "$0")/install_lib.bash"
source "$(dirname "$0")/usb_lib.bash"
tmp=$(mktmp)
loops=()
wpid=
cleanup() {
	[ -n "${USB_KEEP:-}" ] && { echo "kept $tmp"; for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done; return; }
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
usb_need_loop "$tmp"
if ! usb_fs_supported ext4 "$tmp"; then
	skip "this kernel cannot mount ext4: scan and watch were not exercised"
	finish
fi
attach() { local l; l=$(losetup -f --show $2 "$1") || return 1; loops+=("$l"); echo "$l"; }

ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
B() { "$BUNDLE" "$@" >/dev/null; }
for i in 1 2 3 4; do mkimage main$i.bin $((300000 + i)) w$i && B target add ws main$i.bin --hardware-id board-a --release-counter $i; done
for i in 1 2 3 4; do B assign ws --device VIN-1 --ecu ecu-main=main$i.bin && B create ws -o b$i.uptane --device VIN-1; done
check "bundler: b1..b4" test -f b4.uptane
dev=$tmp/dev
mkdir -p "$dev/targets"
device_json "$dev" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)"
stick() { # stick IMG BUNDLE
	rm -rf "$tmp/src" && mkdir -p "$tmp/src/uptane" && cp "$2" "$tmp/src/uptane/" && usb_mkstick ext4 "$1" 32 "$tmp/src"
}

# ---- scan ----
stick s1.img b1.uptane
l=$(attach s1.img)
mkdir -p m1
in_ns() { # in_ns OUT MOUNT_OPTS ARGS..: mounts $l on m1 in a private namespace, runs the installer
	local out=$1 opts=$2; shift 2
	unshare -m --propagation private sh -c 'mount -t ext4 -o "$1" "$2" "$3" || exit 99; shift 3; cd "$0" && exec "$@"' \
		"$dev" "$opts" "$l" "$tmp/m1" "$INSTALL" --config device.json --json "$@" >"$out" 2>"$out.err"
	echo $?
}
code=$(in_ns o1 rw,nosuid,nodev scan --also "$(basename "$l")")
losetup -d "$l"
expect_result "scan: installs from a mounted stick (--also $(basename "$l"))" o1 "$code" 0 installed null
check "scan: runs main1" cmp -s "$dev/targets/main.bin" main1.bin
check "scan: medium event names the mount point" grep -q "\"event\":\"medium\".*\"mount\":\"$tmp/m1\"" o1
check "scan: the report is on the stick and verifies" bash -c \
	"source '$UPT_TOP/tests/cli/lib.bash'; source '$UPT_TOP/tests/cli/install_lib.bash'; source '$UPT_TOP/tests/cli/usb_lib.bash'; usb_get ext4 s1.img uptane-reports/VIN-1/1.json r1.json && report_ok r1.json '$dev/device.pub'"

stick s2.img b2.uptane
l=$(attach s2.img)
code=$(in_ns o2 ro scan --also "$(basename "$l")")
expect_result "scan: a stick mounted read-only still installs" o2 "$code" 0 installed null
check "scan: read-only: the report stayed on the device, said so" grep -q '"report-not-on-medium".*read-only' o2
code=$(in_ns o3 ro scan)
losetup -d "$l"
expect_result "scan: no qualifying medium (a loop device without --also)" o3 "$code" 3 no-bundle null
check "scan: the message counts the media checked" grep -q '(0 checked)' o3

# ---- watch --once: a stick appears ----
stick s3.img b3.uptane
: >slot.img
l=$(attach slot.img) # an empty "card reader": size 0
name=$(basename "$l")
(cd "$dev" && exec "$INSTALL" --config device.json --json watch --once --also "$name") >w1 2>w1.err &
wpid=$!
waited=0
until grep -q '"watching"' w1 2>/dev/null || [ $waited -ge 100 ]; do sleep 0.1; waited=$((waited + 1)); done
check "watch: announces its method ($(usb_json_get w1 watching method))" grep -q '"method":"\(libusb-hotplug\|sysfs-poll\)"' w1
cp s3.img slot.img && losetup -c "$l"
t0=$(date +%s.%N)
waited=0
while kill -0 $wpid 2>/dev/null && [ $waited -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
wait $wpid
code=$?
wpid=
t1=$(date +%s.%N)
echo "# watch --once: acted and exited $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s after the stick appeared"
expect_result "watch --once: a new stick is installed from" w1 "$code" 0 installed null
check "watch --once: runs main3" cmp -s "$dev/targets/main.bin" main3.bin
rep=$(usb_ls ext4 slot.img uptane-reports/VIN-1 | sort | tr '\n' ' ')
check "watch --once: its report 3 on the stick, with report 2 the read-only stick could not take ($rep)" bash -c "[ '$rep' = '2.json 3.json ' ] && source '$UPT_TOP/tests/cli/usb_lib.bash' && usb_get ext4 slot.img uptane-reports/VIN-1/3.json r4.json"
check "watch --once: the report verifies" report_ok r4.json "$dev/device.pub"

# ---- watch: edge-triggered ----
stick s4.img b4.uptane
cp s4.img slot.img && losetup -c "$l" # present before watch starts
(cd "$dev" && exec "$INSTALL" --config device.json --json watch --also "$name") >w2 2>w2.err &
wpid=$!
sleep 3.5
check "watch: a stick present at start is not acted on" test "$(grep -c '"event":"medium"' w2)" = 0
: >slot.img && losetup -c "$l" # pulled
sleep 2.5
cp s4.img slot.img && losetup -c "$l" # inserted again
waited=0
until grep -q '"event":"result"' w2 || [ $waited -ge 300 ]; do sleep 0.1; waited=$((waited + 1)); done
sleep 4 # left in: no second attempt
check "watch: re-inserted: acted on exactly once" test "$(grep -c '"event":"medium"' w2)" = 1
check "watch: re-inserted: installed" grep -q '"event":"result","status":"installed"' w2
check "watch: runs main4" cmp -s "$dev/targets/main.bin" main4.bin
check "watch: one report on the stick" test "$(usb_ls ext4 slot.img uptane-reports/VIN-1 | wc -l)" = 1
check "watch: the daemon is still running" kill -0 $wpid
kill -TERM $wpid
waited=0
while kill -0 $wpid 2>/dev/null && [ $waited -lt 30 ]; do sleep 0.1; waited=$((waited + 1)); done
wait $wpid
code=$?
wpid=
check "watch: SIGTERM stops it within 3 s, exit 0 (got $code)" test "$code" = 0
check "watch: no mount left behind" bash -c "! grep -q '$name' /proc/self/mountinfo && ! ls /run/uptane-install/medium.* >/dev/null 2>&1"
finish
