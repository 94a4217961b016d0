# The installer without the udev rule, on a real USB device.
#  - `watch`: the shipped rule removed in the guest (rm + udevadm control --reload), the daemon
#    started over the command channel, a stick (MBR, FAT32: a partition to settle) plugged in:
#    libusb hotplug sees it, it installs, and the medium identity in its events and in the
#    report on the stick is the USB device found by walking up the disk's real sysfs ancestry.
#  - `scan`: an ext4 stick mounted in the guest by hand, `uptane-install scan` finds it through
#    /proc/self/mountinfo and sysfs, installs, writes the report onto the mounted stick.
# Nothing is started by udev in either (no UNIT-START on the console).
# A fresh device; target release counters 41, 42.
# report_names_medium WHAT KIND IMG ID: the newest report on the stick verifies (pynacl), says
# installed and names the medium ID ("vendor product serial")
report_names_medium() {
	local what=$1 kind=$2 img=$3 id=$4 rep=$d/$1-rep.json
	if ! stick_get "$kind" "$img" "uptane-reports/VIN-1/$(report_counter "$kind" "$img").json" "$rep"; then
		not_ok "$what: the report is on the stick"
		return
	fi
	t "$what: the report on the stick verifies and names the medium ($id)" eval \
		'report_ok "$rep" "$tmp/prov/config/device.pub" && $PY -c "
import json, sys
s = json.load(open(sys.argv[1]))[\"signed\"]; m = s[\"medium\"]
assert \" \".join((m[\"vendor\"], m[\"product\"], m[\"serial\"])) == sys.argv[2] and s[\"result\"][\"status\"] == \"installed\", s
" "$rep" "$id"'
}
watch_scan() {
	local d=$tmp/watch img from id
	rm -rf "$d" && mkdir -p "$d"
	mkimage w-watch.bin 300000 wwatch && B target add ws w-watch.bin --hardware-id board-a --release-counter 41 &&
		mkimage w-scan.bin 310000 wscan && B target add ws w-scan.bin --hardware-id board-a --release-counter 42 ||
		{ not_ok "watch: targets"; return; }
	disks
	boot || { not_ok "watch: boot the device"; return; }
	from=$(lines)
	vsh 'rm -f /lib/udev/rules.d/80-uptane-install.rules /usr/lib/udev/rules.d/80-uptane-install.rules && udevadm control --reload'
	t "watch: the shipped udev rule is removed in the guest" \
		test "$(vsh 'grep -rl uptane-install /lib/udev/rules.d /etc/udev/rules.d | wc -l')" = 0
	vsh 'setsid nohup /usr/local/bin/uptane-install --json watch >/tmp/watch.out 2>/tmp/watch.err </dev/null & echo $! >/tmp/watch.pid'
	local n=60
	until vsh 'grep -q "\"event\":\"watching\"" /tmp/watch.out' || [ $n -eq 0 ]; do sleep 0.5; n=$((n - 1)); done
	t "watch: the daemon watches with libusb hotplug" vsh 'grep -q "\"event\":\"watching\",\"method\":\"libusb-hotplug\"" /tmp/watch.out'

	mk "$d/watch.uptane" w-watch.bin && stick mbr-fat32 "$d/watch.img" "$d/watch.uptane" || { not_ok "watch: stick"; return; }
	qmp plug w1 "$d/watch.img" WATCH5 || { not_ok "watch: QMP plug"; return; }
	n=240
	until vsh 'grep -q "\"event\":\"result\"" /tmp/watch.out' || [ $n -eq 0 ]; do sleep 0.5; n=$((n - 1)); done
	vsh 'cat /tmp/watch.out' >"$d/watch.out"
	# The oracle: the guest's sysfs, walked up from the disk to the USB device (usb_disk).
	id=$(usb_disk WATCH5)
	echo "# sysfs: $id"
	t "watch: the stick's disk sits on a USB device in sysfs (vendor 46f4, serial WATCH5)" \
		eval '[[ "$id" == sd?" 46f4 "*" WATCH5 /sys/devices/"*/usb* ]]'
	t "watch: installed (result installed), the ECU runs w-watch" eval \
		'ev_has "$d/watch.out" "e[\"event\"] == \"result\" and e[\"status\"] == \"installed\"" &&
		test "$(vsh "sha256sum </opt/app/main.bin" | cut -c1-64)" = "$(sha256sum <w-watch.bin | cut -c1-64)"'
	# vendor product serial as sysfs says, against the medium event and the report
	local want_id
	want_id=$(echo "$id" | cut -d' ' -f2-4)
	t "watch: the medium event names the USB identity sysfs gives ($want_id), on the partition" \
		ev_has "$d/watch.out" "e['event'] == 'medium' and e['device'] == '/dev/$(echo "$id" | cut -d' ' -f1)1' and
			' '.join((e['vendor'], e['product'], e['serial'])) == '$want_id'"
	t "watch: nothing was started by udev (the rule is gone)" eval '! console | tail -n +$((from + 1)) | grep -q "UNIT-START"'
	qmp unplug w1
	vsh 'kill $(cat /tmp/watch.pid)'
	n=20
	while vsh 'kill -0 $(cat /tmp/watch.pid) 2>/dev/null' && [ $n -gt 0 ]; do sleep 0.5; n=$((n - 1)); done
	t "watch: SIGTERM stops the daemon" vsh '! kill -0 $(cat /tmp/watch.pid) 2>/dev/null'
	report_names_medium watch mbr-fat32 "$d/watch.img" "$want_id"

	# scan: the stick mounted (read-write) in the guest first, as a desktop automounter would.
	mk "$d/scan.uptane" w-scan.bin && stick ext4 "$d/scan.img" "$d/scan.uptane" || { not_ok "scan: stick"; return; }
	qmp plug s1 "$d/scan.img" SCAN5 || { not_ok "scan: QMP plug"; return; }
	n=60
	until id=$(usb_disk SCAN5) && [ -n "$id" ] || [ $n -eq 0 ]; do sleep 0.5; n=$((n - 1)); done
	echo "# sysfs: $id"
	want_id=$(echo "$id" | cut -d' ' -f2-4)
	local node=/dev/${id%% *}
	vsh "udevadm settle; mkdir -p /media/stick && mount -t ext4 $node /media/stick"
	t "scan: the stick is mounted in the guest ($node)" vsh "grep -q '^$node /media/stick ext4' /proc/mounts"
	vsh '/usr/local/bin/uptane-install --json scan' >"$d/scan.out"
	code=$?
	t "scan: exit 0, installed, the ECU runs w-scan" eval 'test "$code" = 0 &&
		ev_has "$d/scan.out" "e[\"event\"] == \"result\" and e[\"status\"] == \"installed\"" &&
		test "$(vsh "sha256sum </opt/app/main.bin" | cut -c1-64)" = "$(sha256sum <w-scan.bin | cut -c1-64)"'
	t "scan: the medium event: $node at /media/stick, the USB identity sysfs gives ($want_id)" \
		ev_has "$d/scan.out" "e['event'] == 'medium' and e['device'] == '$node' and e['mount'] == '/media/stick' and
			' '.join((e['vendor'], e['product'], e['serial'])) == '$want_id'"
	vsh 'umount /media/stick'
	qmp unplug s1
	report_names_medium scan ext4 "$d/scan.img" "$want_id"
	t "scan: nothing was started by udev" eval '! console | tail -n +$((from + 1)) | grep -q "UNIT-START"'
	halt
}
want "watch scan" && watch_scan
