# The dealer path on each stick format, after one boot.
# dealer KIND N: a stick of KIND with a bundle whose name has spaces and non-ASCII characters,
# plugged in after boot; installed (exit 0), report on the stick naming the medium; plugged in
# again: exit 3, nothing installed twice. DEALER_TAG prefixes the checks' names (80-deb.bash).
dealer() {
	local kind=$1 n=$2 tag=${DEALER_TAG:-}$1 name="Händler update ${2} – März.uptane" img=$tmp/stick-$1.img from code
	mk "$name" main$n.bin || { not_ok "$tag: bundle"; return; }
	stick "$kind" "$img" "$name" || { not_ok "$tag: make the stick"; return; }
	from=$(lines)
	qmp plug "st$n" "$img" "SER$n" || { not_ok "$tag: QMP plug"; return; }
	code=$(unit_result "$from" 240)
	t "$tag: the shipped rule started uptane-install@, exit 0 (installed)" test "$code" = 0
	qmp unplug "st$n"
	t "$tag: the ECU runs main$n (target bytes in the guest)" \
		test "$(vsh 'sha256sum </opt/app/main.bin' | cut -c1-64)" = "$(sha256sum <main$n.bin | cut -c1-64)"
	local rep=$tmp/rep-$kind.json pub=$tmp/prov/config/device.pub
	if stick_get "$kind" "$img" "uptane-reports/VIN-1/$(report_counter "$kind" "$img").json" "$rep"; then
		pass "$tag: the report is on the stick"
		t "$tag: the report's signatures verify (pynacl)" report_ok "$rep" "$pub"
		t "$tag: the report names the medium (QEMU's USB ids, serial SER$n)" $PY -c '
import json, sys
m = json.load(open(sys.argv[1]))["signed"]["medium"]
assert m["vendor"] == "46f4" and m["serial"] == sys.argv[2], m' "$rep" "SER$n"
	else
		not_ok "$tag: the report is on the stick"
	fi
	from=$(lines)
	qmp plug "st$n" "$img" "SER$n"
	code=$(unit_result "$from" 240)
	qmp unplug "st$n"
	t "$tag: plugged in again: exit 3 (nothing to do)" test "$code" = 3
}
dealers() {
	disks
	boot || { not_ok "boot the device (qemu, systemd multi-user)"; fail_end; }
	pass "boot: multi-user, ready after $(($(date +%s) - start)) s since the start"
	# the README's reload after an install on a running target ("What gets installed")
	t "the README's reload on the running target succeeds" vsh 'systemctl daemon-reload && udevadm control --reload'
	local n=1 kind
	for kind in mbr-fat32 fat32 exfat ext4; do
		want "dealer $kind" && dealer "$kind" $n
		n=$((n + 1))
	done
	halt
}
want "dealer mbr-fat32" || want "dealer fat32" || want "dealer exfat" || want "dealer ext4" && dealers
