# Coldplug.
# A stick present at boot is tried once (coldplug's add event), never in a loop; a change event
# starts nothing.
coldplug() {
	local img=$tmp/stick-cold.img name="cold plug 5 ü.uptane" starts
	mk "$name" main5.bin && stick fat32 "$img" "$name" || { not_ok "coldplug: stick"; return; }
	boot -drive if=none,id=cold,format=raw,file="$img" -device usb-storage,bus=xhci.0,drive=cold,serial=COLD ||
		{ not_ok "coldplug: boot with the stick in"; return; }
	t "coldplug: the stick present at boot installs (exit 0)" test "$(unit_result 0 240)" = 0
	vsh 'udevadm trigger --action=change /dev/sda1; udevadm settle' >/dev/null
	sleep 15 # longer than the unit's RestartSec: a loop would show
	starts=$(console | grep -c '^J: UNIT-START ')
	t "coldplug: tried once; the change event started nothing (starts: $starts)" test "$starts" = 1
	halt
}
want coldplug && coldplug
