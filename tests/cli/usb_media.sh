#!/usr/bin/env bash
# `uptane-install media DEVNODE` end to end on a real filesystem: an ext4 image (mkfs.ext4 -d),
# attached as a loop device, handed to `media` as the udev unit would. Then read back WITHOUT
# mounting (debugfs): the signed report is on the stick and verifies independently (pynacl +
# securesystemslib canonical JSON). Cases: install; no bundle (3); another device's bundle (3, names it); a
# read-only stick (losetup -r: installs, report stays on the device, the stick is unchanged);
# several bundles (newest chosen, macOS "._" and hidden files ignored); split volumes; a full
# stick (installs, report kept on the device); the stick removed mid-install (the loop device
# shrinks under the reader: I/O error, exit 7, nothing activated, trusted state unchanged).
# FAT32 and exFAT: the same cases run in the device rig (make vm-test, tests/vm/cases/
# 30-media.bash) on the guest kernel's vfat and exfat drivers, through the shipped udev rule and
# the real unit sandbox (case 9 here approximates it), with the stick pulled over QMP (case 8);
# case 1 there is tests/vm/cases/10-dealer.bash. The host kernel here has neither driver.
# Without loop devices (or ext4) everything is skipped, and only then.
source "$(dirname "$0")/lib.bash"
setup bundle install usb
loops=()
at_exit 'for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done'
[ -n "${USB_KEEP:-}" ] && trap 'for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done; echo "kept $tmp"' EXIT
cd "$tmp" || exit 1
usb_need_loop "$tmp"

attach() { # attach IMG [-r]: prints the loop device
	local l
	l=$(losetup -f --show $2 "$1") || return 1
	loops+=("$l")
	echo "$l"
}
detach() { losetup -d "$1"; }

# ---- bundles (our bundler), made once ----
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
B() { "$BUNDLE" "$@" >/dev/null; }
for i in 1 2 3 5 7; do mkimage main$i.bin $((200000 + i * 1000)) m$i; done
mkimage main4.bin 2500000 m4 # split into 1 MiB volumes
mkimage main6.bin $((64 << 20)) m6 # big enough to pull the stick while it streams
for i in 1 2 3 4 5 6 7; do B target add ws main$i.bin --hardware-id board-a --release-counter $i; done
mk() { # mk NAME TARGET [create options]
	local name=$1 target=$2; shift 2
	B assign ws --device VIN-1 --ecu ecu-main=$target && B create ws -o "$name" --device VIN-1 "$@"
}
mk b1.uptane main1.bin && mk b2.uptane main2.bin && mk b3.uptane main3.bin &&
	mk b4.uptane main4.bin --split-size 1M && mk b5.uptane main5.bin && mk b6.uptane main6.bin
check "bundler: bundles b1..b6 (b4 split into volumes)" test -f b6.uptane -a -f b4.uptane.001
B assign ws --device VIN-2 --ecu ecu-main=main1.bin && B create ws -o other.uptane --device VIN-2
check "bundler: a bundle for VIN-2" test -f other.uptane

run_media() { # run_media OUT DEV DEVNODE: prints the exit code
	local out=$1 dev=$2 node=$3
	(cd "$dev" && "$INSTALL" --config device.json --json media "$node") >"$out" 2>"$out.err"
	echo $?
}
no_leftovers() { # the private mount is gone and its directory removed
	! grep -q " $(basename "$1") \| $1 " /proc/self/mountinfo &&
		! ls /run/uptane-install/medium.* >/dev/null 2>&1
}

run_fs() {
	local fs=$1 d=$tmp/$fs dev=$tmp/$fs/dev
	mkdir -p "$d/src" "$dev/targets"
	echo "factory" >"$dev/targets/main.bin"
	device_json "$dev" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)"
	local img=$d/stick.img l code out rep

	# 1. The normal case: one bundle at the top level.
	rm -rf "$d/src" && mkdir -p "$d/src" && cp b1.uptane "$d/src/"
	usb_mkstick "$fs" "$img" 48 "$d/src" || { not_ok "$fs: make the stick image"; return; }
	l=$(attach "$img")
	out=$d/o1 code=$(run_media "$out" "$dev" "$l")
	detach "$l"
	expect_result "$fs: media installs from the stick" "$out" "$code" 0 installed null
	check "$fs: the ECU runs main1" cmp -s "$dev/targets/main.bin" main1.bin
	check "$fs: JSON lines, one result, last" usb_json_lines "$out"
	check "$fs: medium event: $fs, private, nosymfollow" test \
		"$(usb_json_get "$out" medium filesystem)/$(usb_json_get "$out" medium private)/$(usb_json_get "$out" medium nosymfollow)" = "$fs/true/true"
	check "$fs: mount gone, mount point removed" no_leftovers "$l"
	rep=$d/r1.json
	check "$fs: the report is on the stick (read back without mounting)" \
		usb_get "$fs" "$img" uptane-reports/VIN-1/1.json "$rep"
	check "$fs: the report on the stick verifies (pynacl, securesystemslib)" report_ok "$rep" "$dev/device.pub"
	check "$fs: report: installed, b1.uptane, medium null (a loop device is not USB)" test \
		"$(usb_report_field "$rep" '" ".join(map(str, (s["result"]["status"], s["bundle"]["file"], s["medium"])))')" = "installed b1.uptane None"
	check "$fs: the report on the stick is the one kept on the device" cmp -s "$rep" "$dev/state/reports/1.json"
	check "$fs: no temp file left in the report directory" test "$(usb_ls "$fs" "$img" uptane-reports/VIN-1 | tr '\n' ' ')" = "1.json "

	# 2. No bundle: exit 3, no-bundle; the report says so on the stick.
	rm -rf "$d/src" && mkdir -p "$d/src/uptane" && echo "hello" >"$d/src/README.txt" &&
		echo "not a bundle" >"$d/src/uptane/notes.txt"
	usb_mkstick "$fs" "$img" 48 "$d/src"
	l=$(attach "$img")
	# ... while another installation holds the state lock for 3 s: media waits for it.
	flock "$dev/state/lock" sleep 3 &
	local lpid=$!
	sleep 0.5
	out=$d/o2 code=$(run_media "$out" "$dev" "$l")
	wait $lpid
	detach "$l"
	expect_result "$fs: no bundle" "$out" "$code" 3 no-bundle null
	check "$fs: lock held by another install: media waited for it (busy warning)" \
		grep -q '"event":"warning","code":"busy"' "$out"
	check "$fs: no-bundle report on the stick" usb_get "$fs" "$img" uptane-reports/VIN-1/2.json "$d/r2.json"
	check "$fs: no-bundle report verifies, status no-bundle" test \
		"$(report_ok "$d/r2.json" "$dev/device.pub" && usb_report_field "$d/r2.json" 's["result"]["status"]')" = no-bundle

	# 3. Another device's bundle: exit 3, the message names whom it is for.
	rm -rf "$d/src" && mkdir -p "$d/src" && cp other.uptane "$d/src/"
	usb_mkstick "$fs" "$img" 48 "$d/src"
	l=$(attach "$img")
	out=$d/o3 code=$(run_media "$out" "$dev" "$l")
	detach "$l"
	expect_result "$fs: another device's bundle" "$out" "$code" 3 not-for-this-device null
	check "$fs: the message names VIN-2" grep -q 'VIN-2' <(usb_json_get "$out" result message)
	check "$fs: still runs main1" cmp -s "$dev/targets/main.bin" main1.bin

	# 4. Read-only stick (losetup -r, like a locked SD card): installs; the report stays on
	#    the device and the output says so; the stick is byte-identical.
	rm -rf "$d/src" && mkdir -p "$d/src" && cp b2.uptane "$d/src/"
	usb_mkstick "$fs" "$img" 48 "$d/src"
	local before
	before=$(sha256sum <"$img")
	l=$(attach "$img" -r)
	out=$d/o4 code=$(run_media "$out" "$dev" "$l")
	detach "$l"
	expect_result "$fs: read-only stick still installs" "$out" "$code" 0 installed null
	check "$fs: read-only: runs main2" cmp -s "$dev/targets/main.bin" main2.bin
	check "$fs: read-only: a warning says the report stayed on the device" \
		grep -q '"report-not-on-medium".*read-only.*stayed on the device' "$out"
	check "$fs: read-only: the report is kept on the device" report_ok "$dev/state/reports/4.json" "$dev/device.pub"
	check "$fs: read-only: the stick image is unchanged" test "$(sha256sum <"$img")" = "$before"

	# 5. Several bundles: b2 (installed) in uptane/, b3 at the top, a macOS "._" companion
	#    and a hidden file that are not bundles: b3 is chosen, b2 skipped with the reason.
	rm -rf "$d/src" && mkdir -p "$d/src/uptane" && cp b3.uptane "$d/src/" && cp b2.uptane "$d/src/uptane/" &&
		head -c 4096 /dev/urandom >"$d/src/._b3.uptane" && head -c 4096 /dev/urandom >"$d/src/.b9.uptane"
	usb_mkstick "$fs" "$img" 48 "$d/src"
	l=$(attach "$img")
	out=$d/o5 code=$(run_media "$out" "$dev" "$l")
	detach "$l"
	expect_result "$fs: several bundles: the newest installs" "$out" "$code" 0 installed null
	check "$fs: several: runs main3" cmp -s "$dev/targets/main.bin" main3.bin
	check "$fs: several: b2 skipped as up-to-date; ._ and hidden files never considered" $PY - "$out" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
sk = [e for e in ev if e["event"] == "skipped"]
assert len(sk) == 1 and sk[0]["file"].endswith("uptane/b2.uptane") and sk[0]["status"] == "up-to-date", sk
assert not any("._" in json.dumps(e) or ".b9" in json.dumps(e) for e in ev)
PY
	usb_get "$fs" "$img" uptane-reports/VIN-1/5.json "$d/r5.json"
	check "$fs: several: the report lists the skipped bundle" test \
		"$(usb_report_field "$d/r5.json" '[x["file"] for x in s.get("skipped", [])]')" = "['b2.uptane']"

	# 6. Split volumes (b4.uptane.000, .001, ...), as for FAT32's 4 GiB file limit.
	rm -rf "$d/src" && mkdir -p "$d/src" && cp b4.uptane.* "$d/src/"
	usb_mkstick "$fs" "$img" 48 "$d/src"
	l=$(attach "$img")
	out=$d/o6 code=$(run_media "$out" "$dev" "$l")
	detach "$l"
	expect_result "$fs: split volumes" "$out" "$code" 0 installed null
	check "$fs: split: runs main4" cmp -s "$dev/targets/main.bin" main4.bin

	# 7. A full stick: installs; the report cannot go on the stick: said, kept on the device.
	rm -rf "$d/src" && mkdir -p "$d/src" && cp b5.uptane "$d/src/"
	usb_mkstick "$fs" "$img" 48 "$d/src" && usb_fill "$fs" "$img"
	l=$(attach "$img")
	out=$d/o7 code=$(run_media "$out" "$dev" "$l")
	detach "$l"
	expect_result "$fs: full stick still installs" "$out" "$code" 0 installed null
	check "$fs: full: runs main5" cmp -s "$dev/targets/main.bin" main5.bin
	check "$fs: full: a warning says the report could not be written and stayed on the device" \
		grep -q '"report-not-on-medium".*could not be written to the stick.*stayed on the device' "$out"
	check "$fs: full: the report is kept on the device" report_ok "$dev/state/reports/7.json" "$dev/device.pub"
	check "$fs: full: no report (nor temp file) on the stick" \
		test -z "$(usb_ls "$fs" "$img" uptane-reports/VIN-1)"

	# 8. The stick is pulled while the image streams: the loop device shrinks under the
	#    reader (reads beyond the end fail with EIO, as a vanished USB disk's do).
	rm -rf "$d/src" && mkdir -p "$d/src" && cp b6.uptane "$d/src/"
	usb_mkstick "$fs" "$img" 100 "$d/src"
	local snap pid waited=0
	snap=$(state_snapshot "$dev")
	l=$(attach "$img")
	out=$d/o8
	(cd "$dev" && exec "$INSTALL" --config device.json --json media "$l") >"$out" 2>"$out.err" &
	pid=$!
	until grep -q '"progress"' "$out" 2>/dev/null || [ $waited -ge 3000 ]; do
		sleep 0.01
		waited=$((waited + 1))
	done
	kill -STOP $pid
	truncate -s 1M "$img" && losetup -c "$l"
	kill -CONT $pid
	wait $pid
	code=$?
	detach "$l"
	expect_result "$fs: stick removed mid-install" "$out" "$code" 7 failed io
	check "$fs: removed: the ECU still runs main5" cmp -s "$dev/targets/main.bin" main5.bin
	check "$fs: removed: trusted state and targets unchanged" test "$(state_snapshot "$dev")" = "$snap"
	check "$fs: removed: no staging file left" test -z "$(ls -A "$dev/targets" | grep -v '^main.bin$')"
	check "$fs: removed: mount gone" no_leftovers "$l"

	# 9. Under the unit's sandbox, approximated without systemd: / read-only (ProtectSystem=
	#    strict) except the device directory (ReadWritePaths) and a runtime directory
	#    ($RUNTIME_DIRECTORY), capability bounding set CAP_SYS_ADMIN + CAP_DAC_OVERRIDE,
	#    no_new_privs. Then, as a control, without CAP_SYS_ADMIN: a clean configuration error.
	rm -rf "$d/src" && mkdir -p "$d/src" && cp b6.uptane "$d/src/"
	usb_mkstick "$fs" "$img" 100 "$d/src"
	mkdir -p "$d/rt"
	sandboxed() { # sandboxed OUT CAPS
		unshare -m --propagation slave sh -c '
			mount --bind "$1" "$1" && mount --bind "$2" "$2" && mount -o remount,bind,ro / || exit 99
			cd "$1" && RUNTIME_DIRECTORY=$2 exec setpriv --no-new-privs --inh-caps=-all \
				--bounding-set "$3" -- "$4" --config device.json --json media "$5"' \
			sh "$dev" "$d/rt" "$2" "$INSTALL" "$l" >"$1" 2>"$1.err"
		echo $?
	}
	l=$(attach "$img")
	out=$d/o9 code=$(sandboxed "$out" -all,+sys_admin,+dac_override)
	detach "$l"
	expect_result "$fs: sandboxed like the unit (ro /, CAP_SYS_ADMIN+CAP_DAC_OVERRIDE only)" "$out" "$code" 0 installed null
	check "$fs: sandboxed: runs main6" cmp -s "$dev/targets/main.bin" main6.bin
	check "$fs: sandboxed: mount point made in \$RUNTIME_DIRECTORY" grep -q "\"mount\":\"$d/rt/medium\." "$out"
	check "$fs: sandboxed: report on the stick" usb_get "$fs" "$img" uptane-reports/VIN-1/9.json "$d/r9.json"
	l=$(attach "$img")
	out=$d/o10 code=$(sandboxed "$out" -all,+dac_override)
	detach "$l"
	expect_result "$fs: control: without CAP_SYS_ADMIN a configuration error" "$out" "$code" 2 failed config
	check "$fs: control: the message says CAP_SYS_ADMIN" grep -q CAP_SYS_ADMIN "$out"
}

if usb_fs_supported ext4 "$tmp"; then
	run_fs ext4
else
	skip "ext4: this kernel cannot mount ext4 (not in /proc/filesystems, no module): the media cases did not run here"
fi

# Arguments: a node that is not a block device is a usage error; a vanished one is exit 7.
dev=$tmp/ext4/dev
[ -d "$dev" ] || { mkdir -p "$tmp/args/targets" && device_json "$tmp/args" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)"; dev=$tmp/args; }
code=$(run_media "$tmp/oa" "$dev" /dev/null)
check "media /dev/null: usage error (exit 2)" test "$code" = 2
code=$(run_media "$tmp/ob" "$dev" /dev/uptane-no-such-stick)
expect_result "media on a vanished node (the unit's restart after a pull): nothing to do" "$tmp/ob" "$code" 3 no-bundle null
check "vanished node: the message says the stick is no longer there" grep -q 'no longer there' "$tmp/ob"
finish
