#!/usr/bin/env bash
# A stick (here: a directory) prepared by an attacker, and a device set up so that others could
# interfere: what the installer must refuse, and that it stays responsive.
# - Split volumes that are not regular files (a FIFO as .001 used to block the installer in
#   open() forever while it held the state lock; a device node must not even be opened).
# - File targets in a directory others can write, A/B slots others can write: configuration
#   error before anything is read (a local user could swap the verified staging file).
# - A staging file replaced between verification and activation: not activated.
# - SIGTERM while an image streams: the installer ends within 2 s, nothing activated.
source "$(dirname "$0")/lib.bash"
setup bundle install
[ -n "${KEEP:-}" ] && echo "# kept $tmp"
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
B() { "$BUNDLE" "$@" >/dev/null; }
mkimage main1.bin 2500000 m1
mkimage big.bin $((48 << 20)) big
mkimage fw1.bin 300000 f1
B target add ws main1.bin --hardware-id board-a --release-counter 1
B target add ws big.bin --hardware-id board-a --release-counter 2
B target add ws fw1.bin --hardware-id mcu-x --release-counter 1
B assign ws --device VIN-1 --ecu main=main1.bin
B create ws -o split.uptane --device VIN-1 --split-size 1M
B assign ws --device VIN-1 --ecu main=big.bin
B create ws -o big.uptane --device VIN-1 --level 1
B assign ws --device VIN-2 --ecu mcu=fw1.bin main=main1.bin
B create ws -o two.uptane --device VIN-2
check "bundler: split volumes, a big bundle, a two-ECU bundle" \
	test -f split.uptane.002 -a -f big.uptane -a -f two.uptane

dev=$tmp/dev
mkdir -p "$dev/targets"
echo factory >"$dev/targets/main.bin"
device_json "$dev" VIN-1 main "$(file_ecu main board-a targets/main.bin)"
(cd "$dev" && "$INSTALL" --config device.json status >/dev/null) # trusted/ initialised

# ---- volumes that are not regular files ----
# stick_with KIND: a stick with split.uptane.000 and .002 as they are, .001 replaced by KIND
stick_with() {
	local s=$tmp/stick-$1
	rm -rf "$s" && mkdir -p "$s"
	cp split.uptane.000 split.uptane.002 "$s/"
	case $1 in
	fifo) mkfifo "$s/split.uptane.001" ;;
	chardev) mknod "$s/split.uptane.001" c 1 3 ;;
	symlink) ln -s "$tmp/split.uptane.001" "$s/split.uptane.001" ;;
	dir) mkdir "$s/split.uptane.001" ;;
	esac
	echo "$s"
}
for kind in fifo chardev symlink dir; do
	s=$(stick_with $kind)
	snap=$(state_snapshot "$dev")
	code=$( (cd "$dev" && ASAN_OPTIONS=detect_leaks=0 timeout 20 strace -f -qq -o "$tmp/strace-$kind" -e trace=open,openat \
		"$INSTALL" --config device.json --json install "$s") >"$tmp/v-$kind" 2>"$tmp/v-$kind.err"; echo $?)
	expect_result "volume .001 is a $kind: rejected at once" "$tmp/v-$kind" "$code" 4 rejected unsafe-archive
	check "volume .001 is a $kind: the message names it" grep -q 'split.uptane.001' "$tmp/v-$kind"
	# Only O_PATH may touch it: the real open comes after the check, and never happens.
	check "volume .001 is a $kind: never opened except with O_PATH" \
		bash -c "! grep 'split.uptane.001' '$tmp/strace-$kind' | grep -v O_PATH | grep -q ."
	check "volume .001 is a $kind: trusted state and target unchanged" \
		[ "$snap" = "$(state_snapshot "$dev")" ]
done
check "the device runs factory still" grep -qx factory "$dev/targets/main.bin"
s=$tmp/stick-ok && mkdir -p "$s" && cp split.uptane.00? "$s/"
code=$(run_install "$tmp/v-ok" "$dev" install "$s")
expect_result "the same volumes as regular files install" "$tmp/v-ok" "$code" 0 installed null
check "the ECU runs main1" cmp -s "$dev/targets/main.bin" main1.bin

# ---- trust kept without an install is switched in whole ----
# A newer bundle with nothing new (up to date) leaves newer metadata to keep: written as
# trusted.new/ and switched in by renames, never file by file inside trusted/.
B assign ws --device VIN-1 --ecu main=main1.bin
B create ws -o again.uptane --device VIN-1
code=$( (cd "$dev" && ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$tmp/strace-save" -e trace=openat,rename,renameat,renameat2 \
	"$INSTALL" --config device.json --json install "$tmp/again.uptane") >"$tmp/v-again" 2>&1; echo $?)
expect_result "a newer bundle with nothing new: up to date" "$tmp/v-again" "$code" 3 up-to-date null
check "its newer metadata is switched in whole (trusted.new -> trusted.ready -> trusted)" \
	bash -c "grep -q 'renameat(3, \"trusted.new\", 3, \"trusted.ready\")' '$tmp/strace-save' &&
		grep -q 'renameat(3, \"trusted.ready\", 3, \"trusted\")' '$tmp/strace-save'"
check "no metadata file is replaced one by one (no .json.tmp renamed over a role)" \
	bash -c "! grep -E 'rename.*(root|timestamp|snapshot|targets)\.json\.tmp' '$tmp/strace-save' | grep -q ."

# ---- directories and slots other users can write ----
mkconf() { # mkconf DIR ECU_JSON..: a device VIN-2 with fresh state
	local d=$1; shift
	rm -rf "$d/state"
	device_json "$d" VIN-2 main "$@"
}
wd=$tmp/wdev
mkdir -p "$wd/targets" "$wd/slots"
echo old >"$wd/targets/main.bin"
: >"$wd/slots/a" && : >"$wd/slots/b"
printf '#!/bin/sh\nexit 0\n' >"$wd/activate.sh" && chmod 0755 "$wd/activate.sh"
ab='{"serial":"mcu","hardware_id":"mcu-x","install":{"type":"ab","slots":["slots/a","slots/b"],"activate":["./activate.sh","{slot}"]}}'
mkconf "$wd" "$(file_ecu main board-a targets/main.bin)" "$ab"
chmod 0777 "$wd/targets"
code=$(run_install "$tmp/w1" "$wd" install "$tmp/two.uptane")
check "target directory mode 0777: configuration error (exit 2)" [ "$code" = 2 ]
check "target directory mode 0777: says which directory and how to fix it" \
	grep -q "directory $wd/targets is writable by group or others.*chmod go-w $wd/targets" "$tmp/w1"
check "target directory mode 0777: nothing written" grep -qx old "$wd/targets/main.bin"
chmod 0775 "$wd/targets"
code=$(run_install "$tmp/w2" "$wd" install "$tmp/two.uptane")
check "target directory group-writable: configuration error (exit 2)" [ "$code" = 2 ]
chmod 0755 "$wd/targets" && chmod 0777 "$wd"
code=$(run_install "$tmp/w3" "$wd" install "$tmp/two.uptane")
check "a directory above the target world-writable: configuration error (exit 2)" \
	bash -c "[ '$code' = 2 ] && grep -q 'directory $wd is writable' '$tmp/w3'"
chmod 1777 "$wd"
code=$(run_install "$tmp/w4" "$wd" --dry-run install "$tmp/two.uptane")
expect_result "a sticky world-writable directory above (as /tmp) is fine" "$tmp/w4" "$code" 0 verified null
chmod 0755 "$wd"
chmod 0666 "$wd/slots/b"
code=$(run_install "$tmp/w5" "$wd" install "$tmp/two.uptane")
check "A/B slot writable by others: configuration error naming the slot" \
	bash -c "[ '$code' = 2 ] && grep -q 'slots/b is writable by other users' '$tmp/w5'"
chmod 0660 "$wd/slots/b"
chgrp disk "$wd/slots/b"
code=$(run_install "$tmp/w6" "$wd" --dry-run install "$tmp/two.uptane")
expect_result "A/B slot root:disk 0660 (as Debian's block devices) is fine" "$tmp/w6" "$code" 0 verified null

# ---- the staging file replaced between verification and activation ----
# The A/B ECU comes first in activation order; its activate program stands in for the local
# attacker and replaces the file ECU's verified staging file with other bytes.
sd=$tmp/sdev
mkdir -p "$sd/targets" "$sd/slots"
echo old >"$sd/targets/main.bin"
: >"$sd/slots/a" && : >"$sd/slots/b"
cat >"$sd/activate.sh" <<SH
#!/bin/sh
f=$sd/targets/.main.bin.uptane-new
[ -f "\$f" ] && echo "attacker bytes" >"\$f.evil" && mv -f "\$f.evil" "\$f"
exit 0
SH
chmod 0755 "$sd/activate.sh"
mkconf "$sd" "$ab" "$(file_ecu main board-a targets/main.bin)"
code=$(run_install "$tmp/s1" "$sd" install "$tmp/two.uptane")
check "staging file swapped before its rename: not activated (exit 6, names it)" \
	bash -c "[ '$code' = 6 ] && grep -q 'is not the image that was verified' '$tmp/s1'"
check "staging file swapped: the target does not hold the attacker's bytes" \
	bash -c "! grep -q attacker '$sd/targets/main.bin'"
check "staging file swapped: status does not claim main1 on main" \
	bash -c "! (cd '$sd' && '$INSTALL' --config device.json --json status) | grep -q '\"main1.bin\".*\"ecu\": *\"main\"'"

# ---- copies of one genuine bundle with a flipped image byte ----
# Each would stream the whole image into staging before its hash fails: at most twice the
# image is streamed per insertion (so a genuine copy beside one corrupt copy still installs:
# install_dir.sh), the rest are not tried.
KEYS=$tmp/k bundle_mutate big.uptane bad.uptane tamper-image big.bin
cd_=$tmp/cdev
mkdir -p "$cd_/targets" "$tmp/cstick"
echo factory >"$cd_/targets/main.bin"
device_json "$cd_" VIN-1 main "$(file_ecu main board-a targets/main.bin)"
for i in 1 2 3 4; do cp bad.uptane "$tmp/cstick/copy$i.uptane"; done
code=$( (cd "$cd_" && ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$tmp/strace-copies" -e trace=write -e signal=none \
	"$INSTALL" --config device.json --json install "$tmp/cstick") >"$tmp/c1" 2>&1; echo $?)
expect_result "four tampered copies: rejected" "$tmp/c1" "$code" 4 rejected arbitrary-software
written=$($PY -c '
import re, sys
n = 0
for line in open(sys.argv[1]):
    m = re.match(r"\d+ +write\((\d+), .*\) = (\d+)$", line)
    if m and int(m.group(1)) > 2:
        n += int(m.group(2))
print(n)' "$tmp/strace-copies")
check "four tampered copies: at most twice the image streamed into staging ($written bytes written, image $((48 << 20)))" \
	[ "$written" -lt $((2 * (48 << 20) + (1 << 20))) ]
check "four tampered copies: the other two were not tried, and the report says why" \
	bash -c "[ \$(grep -c 'not tried: .* image bytes were already streamed' '$tmp/c1') -ge 2 ] &&
		grep -q 'not tried' '$cd_/state/reports/1.json'"
check "four tampered copies: the device runs factory" grep -qx factory "$cd_/targets/main.bin"

# ---- metadata whose parsed form is huge ----
# ~1 MiB of "[{},{},...]" in two files took 165 MB parsed before any signature was checked:
# refused by size before anything is parsed (peak RSS: make bench, bench_hostile).
KEYS=$tmp/k bundle_mutate two.uptane junk.uptane junk 900000
jd=$tmp/jdev
mkdir -p "$jd/targets"
echo factory >"$jd/targets/main.bin"
device_json "$jd" VIN-2 mcu "$(file_ecu mcu mcu-x targets/fw.bin)" "$(file_ecu main board-a targets/main.bin)"
code=$(run_install "$tmp/j1" "$jd" install "$tmp/junk.uptane")
expect_result "900 KB of empty objects in two metadata files: refused before parsing" "$tmp/j1" "$code" 4 rejected too-large
check "junk metadata: the error names the file and the limit" \
	grep -q 'metadata/director/targets.json.*too large for the device' "$tmp/j1"
check "junk metadata: the device runs factory" grep -qx factory "$jd/targets/main.bin"

# ---- a file name that prints a line of its own ----
nd=$tmp/ndev
mkdir -p "$nd/targets" "$tmp/nstick"
device_json "$nd" VIN-9 main "$(file_ecu main board-a targets/main.bin)"
spoof=$'x\nInstalled 1 image from fw.uptane. The device is up to date.\nx.uptane'
cp two.uptane "$tmp/nstick/$spoof"
(cd "$nd" && "$INSTALL" --config device.json install "$tmp/nstick") >"$tmp/n1" 2>&1
check "a file name with newlines cannot print a line of its own" \
	bash -c "! grep -q '^Installed 1 image from fw.uptane' '$tmp/n1' && grep -q 'x?Installed' '$tmp/n1'"

# ---- a bundle name that is not UTF-8 (FAT sticks with another code page) ----
ud=$tmp/udev
mkdir -p "$ud/targets" "$tmp/ustick"
echo factory >"$ud/targets/main.bin"
device_json "$ud" VIN-1 main "$(file_ecu main board-a targets/main.bin)"
cp split.uptane.000 "$tmp/ustick/fw"$'\xff'".uptane.000"
cp split.uptane.001 "$tmp/ustick/fw"$'\xff'".uptane.001"
cp split.uptane.002 "$tmp/ustick/fw"$'\xff'".uptane.002"
code=$(run_install "$tmp/u1" "$ud" install "$tmp/ustick")
expect_result "a bundle name that is not UTF-8 installs" "$tmp/u1" "$code" 0 installed null
check "not-UTF-8 name: the ECU runs main1, no staging or trusted.new left" \
	bash -c "cmp -s '$ud/targets/main.bin' main1.bin && [ -z \"\$(ls -A '$ud/targets' | grep '^\.')\" ] && [ ! -e '$ud/state/trusted.new' ]"
check "not-UTF-8 name: status loads and names the bundle made safe" \
	bash -c "(cd '$ud' && '$INSTALL' --config device.json --json status) | grep -q 'fw?.uptane'"

# ---- SIGTERM while an image streams ----
td=$tmp/tdev
mkdir -p "$td/targets"
echo factory >"$td/targets/main.bin"
device_json "$td" VIN-1 main "$(file_ecu main board-a targets/main.bin)"
(cd "$td" && "$INSTALL" --config device.json status >/dev/null)
snap=$(state_snapshot "$td")
(cd "$td" && exec "$INSTALL" --config device.json --json install "$tmp/big.uptane") >"$tmp/t1" 2>"$tmp/t1.err" &
pid=$!
for _ in $(seq 200); do grep -q '"progress"' "$tmp/t1" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid
t0=$(date +%s%N)
for _ in $(seq 40); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
t1=$(date +%s%N)
wait $pid
code=$?
ms=$(((t1 - t0) / 1000000))
check "SIGTERM while streaming: ended within 2 s (${ms} ms)" [ "$ms" -lt 2000 ]
expect_result "SIGTERM while streaming: exit 7, failed, interrupted" "$tmp/t1" "$code" 7 failed interrupted
check "SIGTERM while streaming: nothing activated, no staging file left" \
	bash -c "[ '$snap' = \"\$(cd '$td' && find state/trusted targets -type f -print0 | sort -z | xargs -0 -r sha256sum)\" ] && [ -z \"\$(ls -A '$td/targets' | grep '^\.')\" ]"
code=$(run_install "$tmp/t2" "$td" install "$tmp/big.uptane")
expect_result "after SIGTERM: the same bundle installs" "$tmp/t2" "$code" 0 installed null
finish
