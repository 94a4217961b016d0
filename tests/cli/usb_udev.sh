#!/usr/bin/env bash
# The udev rule (udev/80-uptane-install.rules) against recorded udev property dumps
# (tests/data/udev/*.properties): a USB FAT32 partition, a whole-disk FAT stick, an ext4 and an
# exFAT USB partition start uptane-install@<kernel name>.service; the stick's partition-table
# disk, an NTFS stick, a LUKS stick, change/remove events, a SATA ext4 partition, a SATA and an
# NVMe EFI (vfat) partition do not. `udevadm test` needs the device in sysfs and is unreliable
# in containers, so a small evaluator of the rule language (tests/data/udev/udev_match.py) runs
# the rule; weakened copies of the rule must change the outcome (the test can fail).
source "$(dirname "$0")/lib.bash"
data=$UPT_TOP/tests/data/udev
rule=$UPT_TOP/udev/80-uptane-install.rules
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT

match() { # match RULES: "<file> <units>" for every dump
	(cd "$data" && $PY udev_match.py "$1" *.properties)
}
match "$rule" >"$tmp/got" 2>"$tmp/err"
check "the matcher runs the rule" test -s "$tmp/got" -a ! -s "$tmp/err"
while read -r file want; do
	case $file in '#'* | '') continue ;; esac
	got=$(awk -v f="$file" '$1 == f {print $2}' "$tmp/got")
	desc=$(head -1 "$data/$file" | sed 's/^# //')
	if [ "$got" = "$want" ]; then ok "udev: $desc -> $want"; else not_ok "udev: $file: got '$got', want '$want'"; fi
done <"$data/expect"
check "every dump has an expectation" test "$(grep -c properties "$data/expect")" = "$(ls "$data"/*.properties | wc -l)"

# The unit runs `media /dev/%I`: each started instance names the dump's own device node.
check "each instance is the device's kernel name (media gets its DEVNAME)" bash -c '
	cd "'"$data"'" && '"$PY"' udev_match.py "'"$rule"'" *.properties | while read -r f u; do
		[ "$u" = - ] && continue
		inst=${u#uptane-install@}; inst=${inst%.service}
		grep -qx "DEVNAME=/dev/$inst" "$f" || exit 1
	done'

# Negative controls: each weakened rule must change some outcome, or this test proves nothing.
weaken() { # weaken NAME SED_EXPR DUMP WANT: with the line changed, DUMP gives WANT
	sed "$2" "$rule" >"$tmp/weak.rules"
	local got
	got=$(cd "$data" && $PY udev_match.py "$tmp/weak.rules" "$3" | awk '{print $2}')
	check "control: $1 -> $3 gives $4" test "$got" = "$4"
}
weaken "without the ID_BUS line" '/ID_BUS/d' sata-disk-efi-vfat.properties uptane-install@sda1.service
weaken "without the ACTION line" '/^ACTION/d' usb-stick-fat32-change-event.properties uptane-install@sdb1.service
weaken "without the ID_FS_TYPE line" '/ID_FS_TYPE/d' usb-stick-ntfs-partition.properties uptane-install@sdf1.service
weaken "with KERNEL==\"sd*[0-9]\" instead of DEVTYPE" 's/^ENV{DEVTYPE}.*/KERNEL!="sd*[0-9]", GOTO="uptane_install_end"/' usb-stick-whole-disk-fat.properties -
weaken "without TAG+=systemd" 's/TAG+="systemd", //' usb-stick-fat32-partition.properties -

check "the rule has no RUN (udev must not run long jobs)" bash -c "! grep -q '^[^#]*RUN' '$rule'"
if udevadm verify --help >/dev/null 2>&1; then
	check "udevadm verify accepts the rule" udevadm verify --no-summary "$rule"
else
	skip "udevadm verify: not in this systemd ($(udevadm --version 2>/dev/null || echo none)); the evaluator above parsed it"
fi
finish
