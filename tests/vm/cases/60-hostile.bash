# Hostile sticks on the real kernel, through the shipped unit.
#  - A stick of special files: a bundle name that is a symbolic link to the device's
#    configuration, a split bundle whose second volume is a FIFO (an open would block, a read
#    never end), bundle names that are a character device (/dev/zero's numbers) and a block
#    device (the first USB disk's), and uptane-reports/ a symbolic link to the ECU's directory
#    (/opt/app, which the unit may write). All refused; nothing outside the stick changes.
#  - An ext4 stick whose superblock says errors=panic, with a corrupt directory block: the
#    installer mounts ext4 with errors=remount-ro,noload (installer/mount.c), so the kernel logs
#    the error and the guest lives. Last, the control: the same stick mounted in the guest with
#    the superblock's own behaviour panics the kernel (panic=-1 and -no-reboot end qemu), so the
#    stick really is one that would have panicked the device.
# A fresh device; target release counters 31, 32.
hostile() {
	local d=$tmp/hostile img code from outside
	rm -rf "$d" && mkdir -p "$d/s" "$d/p/uptane"
	mkimage h-split.bin 2500000 hsplit && B target add ws h-split.bin --hardware-id board-a --release-counter 31 &&
		mkimage h-panic.bin 300000 hpanic && B target add ws h-panic.bin --hardware-id board-a --release-counter 32 ||
		{ not_ok "hostile: targets"; return; }
	B assign ws --device VIN-1 --ecu ecu-main=h-split.bin && B create ws -o "$d/b.uptane" --device VIN-1 --split-size 1M ||
		{ not_ok "hostile: split bundle"; return; }
	# The special-files stick (mkfs.ext4 -d copies links, FIFOs and device nodes as they are).
	cp "$d/b.uptane.000" "$d/s/" && mkfifo "$d/s/b.uptane.001" &&
		ln -s /etc/uptane-offline/device.json "$d/s/x.uptane" &&
		mknod "$d/s/c.uptane" c 1 5 && mknod "$d/s/d.uptane" b 8 0 &&
		ln -s /opt/app "$d/s/uptane-reports" &&
		mkfs.ext4 -q -E root_owner=0:0 -d "$d/s" "$d/special.img" 96M >/dev/null || { not_ok "hostile: the special-files stick"; return; }
	t "hostile: the stick holds a symlink, a FIFO, char and block nodes (debugfs)" eval \
		'(for x in "x.uptane symlink" "b.uptane.001 FIFO" "c.uptane character special" "d.uptane block special"; do debugfs -R "stat /${x%% *}" "$d/special.img" 2>/dev/null | grep -q "Type: ${x#* }" || exit 1; done)'
	disks
	boot || { not_ok "hostile: boot the device"; return; }
	# Everything the unit may write outside the stick, and the device's configuration.
	outside='find /opt/app /var/lib/uptane-offline/config /var/lib/uptane-offline/state/trusted -xdev -printf "%p %s %y\n" | sort; sha256sum /opt/app/main.bin /var/lib/uptane-offline/config/*'
	local before
	vsh '/usr/local/bin/uptane-install status >/dev/null 2>&1; true' >/dev/null # trusted/ made on a fresh device
	before=$(vsh "$outside")
	from=$(lines)
	qmp plug hs1 "$d/special.img" SPECIAL || { not_ok "hostile: QMP plug"; return; }
	code=$(unit_result "$from" 240)
	qmp unplug hs1
	unit_events "$from" "$d/ev-s"
	t "hostile special files: refused, nothing installed (exit $code)" test "$code" = 3 -o "$code" = 4
	# The FIFO volume is named as the refusal; the links and nodes are never bundles (find.c
	# lists regular files only) or refused the same way: nothing is installed either way.
	t "hostile special files: rejected as unsafe-archive, the FIFO volume named" \
		ev_has "$d/ev-s" 'e["event"] == "result" and e["status"] == "rejected" and e["reason"] == "unsafe-archive" and "b.uptane.001: a FIFO" in e["detail"]'
	t "hostile special files: no installed event" eval '! ev_has "$d/ev-s" "e[\"event\"] == \"installed\""'
	t "hostile special files: the report did not follow uptane-reports -> /opt/app (report-not-on-medium)" \
		ev_has "$d/ev-s" 'e["event"] == "warning" and e["code"] == "report-not-on-medium"'
	vsh "$outside" >"$d/after"
	echo "$before" | diff - "$d/after" | sed 's/^/# /'
	t "hostile special files: nothing outside the stick changed (/opt/app, config, trusted state)" \
		test "$(cat "$d/after")" = "$before"
	t "hostile special files: the guest is fine (command channel answers, unit not stuck on the FIFO)" \
		test "$(vsh 'systemctl is-active "uptane-install@*" ; echo alive' | tail -1)" = alive

	# errors=panic and a corrupt uptane/ directory block.
	B assign ws --device VIN-1 --ecu ecu-main=h-panic.bin && B create ws -o "$d/p/uptane/panic.uptane" --device VIN-1 &&
		mkfs.ext4 -q -E root_owner=0:0 -d "$d/p" "$d/panic.img" 96M >/dev/null && tune2fs -e panic "$d/panic.img" >/dev/null ||
		{ not_ok "hostile: the errors=panic stick"; return; }
	local bs blk
	bs=$(dumpe2fs -h "$d/panic.img" 2>/dev/null | sed -n 's/^Block size: *//p')
	blk=$(debugfs -R "blocks /uptane" "$d/panic.img" 2>/dev/null | awk '{print $1}')
	[ -n "$bs" ] && [ -n "$blk" ] && head -c "$bs" /dev/urandom | dd of="$d/panic.img" bs="$bs" seek="$blk" conv=notrunc 2>/dev/null
	t "hostile panic stick: superblock says errors=panic, uptane/ (block $blk) overwritten" eval \
		'dumpe2fs -h "$d/panic.img" 2>/dev/null | grep -q "^Errors behavior: *Panic" && test -n "$blk"'
	from=$(lines)
	qmp plug hp1 "$d/panic.img" PANIC || { not_ok "hostile: QMP plug"; return; }
	code=$(unit_result "$from" 240)
	unit_events "$from" "$d/ev-p"
	t "hostile panic stick: the kernel logged the EXT4-fs error" eval 'console | tail -n +$((from + 1)) | grep -q "EXT4-fs error"'
	t "hostile panic stick: the guest did not panic (qemu runs, the command channel answers)" \
		eval 'kill -0 "$qpid" && test "$(vsh "echo alive")" = alive && ! console | grep -q "Kernel panic"'
	t "hostile panic stick: unit exit 7 (the stick cannot be read; got $code)" test "$code" = 7
	t "hostile panic stick: nothing installed, the factory image runs" \
		test "$(vsh 'sha256sum </opt/app/main.bin' | cut -c1-64)" = "$(sha256sum <"$tmp/app/main.bin" | cut -c1-64)"
	# The control (ends the guest): mounted plainly, the stick's errors=panic applies.
	local node
	node=$(vsh 'for b in /sys/block/sd*; do [ "$(cat $b/device/../../../../serial 2>/dev/null)" = PANIC ] && echo /dev/${b##*/}; done; true' | head -1)
	[ -n "$node" ] || node=/dev/sda
	from=$(lines)
	VSH_TIMEOUT=20 vsh "mkdir -p /mnt/p && mount -o ro $node /mnt/p && ls /mnt/p/uptane" >/dev/null 2>&1
	local n=60
	while [ $n -gt 0 ] && kill -0 "$qpid" 2>/dev/null; do sleep 0.5; n=$((n - 1)); done
	t "hostile control: the same stick mounted with its own errors=panic panics the kernel (qemu ended)" \
		eval '! kill -0 "$qpid" 2>/dev/null && console | tail -n +$((from + 1)) | grep -q "Kernel panic"'
	halt
}
want "hostile" && hostile
