# The rig's device-side helpers (sourced by tests/vm/run): virtio disks, boot and the consoles,
# sticks made and read back on the host, the units' results from the journal on the console.
# ---- the device ----
# disks: fresh virtio disks (ext4 made from directories, no mount); APP_MB (64): the size of
# the file target's disk (vdb)
disks() {
	rm -f vda.img vdb.img
	truncate -s 64M vda.img && truncate -s ${APP_MB:-64}M vdb.img
	mkfs.ext4 -q -E root_owner=0:0 -d prov vda.img
	mkfs.ext4 -q -E root_owner=0:0 -d app vdb.img
}
# boot: starts qemu in the background, waits for VM-READY on the console (serial.log, CR stripped);
# VM_INITRD: another rootfs than initrd.cpio (initrd-deb.cpio: the Debian package installed)
boot() {
	rm -f qmp.sock shell.sock serial.raw; : >serial.raw
	# cache=none: the guest's writes bypass the host page cache (O_DIRECT) and its flushes reach
	# the file; data the guest did not flush dies with its own page cache when qemu is killed.
	qemu-system-x86_64 -machine q35 -accel tcg -smp 2 -m 2048 -nographic -no-reboot \
		-kernel "$vm/vmlinuz" -initrd "${VM_INITRD:-$vm/initrd.cpio}" \
		-append "console=ttyS0 rdinit=/init panic=-1 quiet systemd.show_status=0 loglevel=4" \
		-drive file=vda.img,if=virtio,format=raw,cache=none \
		-drive file=vdb.img,if=virtio,format=raw,cache=none \
		-device qemu-xhci,id=xhci \
		-chardev socket,id=sh,path=shell.sock,server=on,wait=off -device isa-serial,chardev=sh \
		-qmp unix:qmp.sock,server=on,wait=off -serial file:serial.raw -monitor none \
		"$@" </dev/null >qemu.log 2>&1 &
	qpid=$!
	wait_console VM-READY 180
}
console() { tr -d '\r' <serial.raw 2>/dev/null; }
# wait_console REGEX SECONDS [FROM_LINE]
wait_console() {
	local re=$1 n=$(($2 * 2)) from=${3:-0}
	while [ $n -gt 0 ]; do
		console | tail -n +$((from + 1)) | grep -qE "$re" && return 0
		kill -0 "$qpid" 2>/dev/null || { echo "# qemu exited"; tail -5 qemu.log; return 1; }
		sleep 0.5; n=$((n - 1))
	done
	echo "# timeout waiting for /$re/"; console | tail -20 | sed 's/^/#   /'
	return 1
}
lines() { console | wc -l; }
halt() { kill -9 "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; qpid=; }
qmp() { $PY "$here/qmp.py" qmp.sock "$@"; }

# ---- sticks ----
# stick KIND IMG FILE..: KIND mbr-fat32 | fat32 (superfloppy) | exfat | ext4; STICK_MB (96) the size
stick() {
	local kind=$1 img=$2 mb=${STICK_MB:-96}; shift 2
	rm -f "$img"; truncate -s ${mb}M "$img"
	case $kind in
	mbr-fat32)
		echo 'start=2048, type=c' | sfdisk -q "$img"
		mkfs.vfat -F 32 -n DEALER --offset 2048 "$img" $(((mb * 1024 - 1024))) >/dev/null
		for f; do mcopy -i "$img@@1M" "$f" "::/$(basename "$f")"; done ;;
	fat32)
		mkfs.vfat -F 32 -n DEALER "$img" >/dev/null
		for f; do mcopy -i "$img" "$f" "::/$(basename "$f")"; done ;;
	exfat|ext4)
		mkdir -p "$img.d" && rm -rf "$img.d"/* && cp "$@" "$img.d/"
		if [ "$kind" = ext4 ]; then mkfs.ext4 -q -E root_owner=0:0 -d "$img.d" "$img"
		else stick_exfat "$img" "$img.d"; fi ;;
	esac
}
# exFAT has no mtools and the host kernel no exfat: filled and read through FUSE (exfat-fuse),
# a separate implementation from the guest kernel's driver.
# exfat-fuse wants a block device: a loop device over the image (the host kernel has loop).
exfat_do() { # exfat_do IMG COMMAND..: runs COMMAND with the image mounted at IMG.m
	local img=$1 l rc; shift
	mkdir -p "$img.m"
	l=$(losetup -f --show "$img") || return 1
	mount.exfat-fuse "$l" "$img.m" >/dev/null 2>&1 || { losetup -d "$l"; return 1; }
	"$@"; rc=$?
	umount "$img.m"; losetup -d "$l"; return $rc
}
stick_exfat() { mkfs.exfat -L DEALER "$1" >/dev/null && exfat_do "$1" cp "$2"/. "$1.m/" -r; }
exfat_get() { exfat_do "$1" cp "$1.m/$2" "$3"; }
# stick_get KIND IMG PATH OUT
stick_get() {
	local kind=$1 img=$2 p=$3 out=$4; rm -f "$out"
	case $kind in
	mbr-fat32) mcopy -n -i "$img@@1M" "::/$p" "$out" 2>/dev/null ;;
	fat32) mcopy -n -i "$img" "::/$p" "$out" 2>/dev/null ;;
	ext4) debugfs -R "dump /$p $out" "$img" >/dev/null 2>&1 ;;
	exfat) exfat_get "$img" "$p" "$out" ;;
	esac
	[ -s "$out" ]
}
# unit_exit NAME FROM_LINE SECONDS: the exit status of uptane-install@NAME.service after FROM_LINE
unit_exit() {
	wait_console "uptane-install@$1.service: (Main process exited|Deactivated successfully|Failed with)" "$3" "$2" >/dev/null || { echo none; return; }
	sleep 1
	local s
	s=$(console | tail -n +$(($2 + 1)) | sed -n "s/.*uptane-install@$1.service: Main process exited, code=exited, status=\([0-9]*\).*/\1/p" | tail -1)
	echo "${s:-0}"
}
# on_disk IMG PATH OUT: a file out of a virtio ext4 disk
on_disk() { rm -f "$3"; debugfs -R "dump $2 $3" "$1" >/dev/null 2>&1 && [ -e "$3" ]; }
vsh() { local t=${VSH_TIMEOUT:-60}; $PY "$here/vmsh.py" shell.sock "$t" "$*"; }

# report_counter KIND IMG: the highest report number in the stick's VIN-1 directory
report_counter() {
	case $1 in
	mbr-fat32) mdir -b -i "$2@@1M" ::/uptane-reports/VIN-1 ;;
	fat32) mdir -b -i "$2" ::/uptane-reports/VIN-1 ;;
	ext4) debugfs -R "ls -l /uptane-reports/VIN-1" "$2" 2>/dev/null ;;
	exfat) exfat_do "$2" ls "$2.m/uptane-reports/VIN-1" ;;
	esac 2>/dev/null | grep -o '[0-9]*\.json' | sed 's/\.json//' | sort -n | tail -1
}
# unit_result FROM_LINE SECONDS: the exit status of the first unit run after FROM_LINE
unit_result() {
	wait_console "UNIT-EXIT " "$2" "$1" >/dev/null || { echo none; return; }
	console | tail -n +$(($1 + 1)) | sed -n 's/^J: UNIT-EXIT [^ ]* \([0-9]*\).*/\1/p' | head -1
}

# unit_exits FROM_LINE: every unit's exit status after FROM_LINE, in order, space-separated
unit_exits() { console | tail -n +$(($1 + 1)) | sed -n 's/^J: UNIT-EXIT [^ ]* \([0-9]*\).*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }
# unit_events FROM_LINE OUT: the installers' JSON lines after FROM_LINE (from the journal copy)
unit_events() { console | tail -n +$(($1 + 1)) | sed -n 's/^J: \({"event".*\)/\1/p' >"$2"; }
# ev_has FILE PYEXPR: some JSON line e of FILE satisfies PYEXPR (e.g. 'e["event"] == "warning"')
ev_has() {
	$PY -c 'import json, sys
ev = []
for l in open(sys.argv[1]):
    try: ev.append(json.loads(l))
    except ValueError: pass # a kernel message cut into the line on the shared console
sys.exit(0 if any(eval("(" + sys.argv[2] + ")", {}, {"e": e}) for e in ev) else 1)' "$1" "$2"
}
# usb_disk SERIAL: "NAME VENDOR PRODUCT SERIAL SYSFS_PATH" of the guest's disk on the USB device
# with that serial, found by walking up the disk's real sysfs ancestry to the USB device (one
# line: the command channel reads one command per line)
usb_disk() {
	vsh 'for b in /sys/block/sd*; do [ -e "$b" ] || continue; d=$(readlink -f $b/device); while [ "${d:-/}" != / ] && [ ! -e "$d/idVendor" ]; do d=${d%/*}; done;'\
' [ "$(cat $d/serial 2>/dev/null)" = "'"$1"'" ] && echo "${b##*/} $(cat $d/idVendor) $(cat $d/idProduct) $(cat $d/serial) $d"; done; true' | head -1
}
