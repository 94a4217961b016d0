# Helpers for the USB media tests (tests/cli/usb_*.sh): ext4 images made without mounting them
# (mkfs.ext4 -d), read back the same way (debugfs), loop devices. FAT32 and exFAT sticks are the
# device rig's (tests/vm/lib.bash): the host kernel has neither driver.
# Source after lib.bash, bundle_lib.bash and install_lib.bash.

# usb_need_loop: prints the SKIP line and exits when this machine cannot attach loop devices
# (not root, no /dev/loop-control, a container without loop support). Only then.
usb_need_loop() {
	local probe=$1/loop-probe.img l
	if [ "$(id -u)" -ne 0 ]; then
		skip "loop devices unavailable: the USB media tests need root (CI runs as root)"
		finish
	fi
	truncate -s 1M "$probe"
	if ! l=$(losetup -f --show "$probe" 2>/dev/null); then
		skip "loop devices unavailable here (losetup -f --show failed): no media test ran"
		finish
	fi
	losetup -d "$l"
	rm -f "$probe"
}

# usb_fs_supported TYPE DIR: the running kernel mounts TYPE (ext4)
usb_fs_supported() {
	local type=$1 dir=$2 img=$2/probe-$1.img l rc
	rm -f "$img"
	case $type in
	ext4) truncate -s 8M "$img" && mkfs.ext4 -q "$img" || return 1 ;;
	esac
	l=$(losetup -f --show -r "$img") || return 1
	mkdir -p "$dir/probe-mnt"
	unshare -m --propagation private sh -c "mount -t $type -o ro '$l' '$dir/probe-mnt' && umount '$dir/probe-mnt'" 2>/dev/null
	rc=$?
	losetup -d "$l"
	rm -f "$img"
	return $rc
}

# usb_mkstick TYPE IMG SIZE_MB SRC_DIR: an ext4 image holding SRC_DIR's files, made without
# mounting it (FAT32 and exFAT sticks: tests/vm/lib.bash, the device rig)
usb_mkstick() {
	local type=$1 img=$2 size=$3 src=$4
	rm -f "$img"
	truncate -s "${size}M" "$img"
	case $type in
	ext4) mkfs.ext4 -q -E root_owner=0:0 -d "$src" "$img" || return 1 ;;
	esac
}

# usb_get TYPE IMG PATH OUT: copies PATH out of the image (no mount); fails when absent
usb_get() {
	local type=$1 img=$2 path=$3 out=$4
	rm -f "$out"
	case $type in
	ext4) debugfs -R "dump /$path $out" "$img" >/dev/null 2>&1 ;;
	esac
	[ -s "$out" ]
}

# usb_ls TYPE IMG DIR: names in DIR of the image, one per line (empty when absent)
usb_ls() {
	local type=$1 img=$2 path=$3
	case $type in
	ext4) debugfs -R "ls -p /$path" "$img" 2>/dev/null | awk -F/ 'NF>5 && $6 != "." && $6 != ".." {print $6}' ;;
	esac
}

# usb_fill TYPE IMG: fills the filesystem to the last block (mounted privately by the test)
usb_fill() {
	local type=$1 img=$2 l m
	m=$(mktemp -d /tmp/upt-fill.XXXXXX)
	l=$(losetup -f --show "$img") || return 1
	unshare -m --propagation private sh -c "
		mount -t $type '$l' '$m' || exit 1
		dd if=/dev/zero of='$m/filler.bin' bs=64k 2>/dev/null
		for i in 1 2 3 4 5 6 7 8; do : >'$m/f\$i' 2>/dev/null; done
		dd if=/dev/zero of='$m/filler2.bin' bs=512 2>/dev/null
		sync; umount '$m'"
	local rc=$?
	losetup -d "$l"
	rmdir "$m"
	return $rc
}

# usb_json_get OUT EVENT FIELD: FIELD of the first EVENT line ("null" when null, "" when none)
usb_json_get() {
	$PY - "$@" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("event") == sys.argv[2]:
        v = o.get(sys.argv[3])
        print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)
        break
PY
}

# usb_json_lines OUT: every stdout line is one JSON object, the last one the result
usb_json_lines() {
	$PY - "$1" <<'PY'
import json, sys
ev = [json.loads(l)["event"] for l in open(sys.argv[1])]
assert ev and ev[-1] == "result" and ev.count("result") == 1, ev
PY
}

# usb_report_field REPORT EXPR: a Python expression over the report's "signed" object (s)
usb_report_field() {
	$PY -c 'import json,sys; s=json.load(open(sys.argv[1]))["signed"]; print(eval(sys.argv[2]))' "$1" "$2"
}
