#!/usr/bin/env bash
# The report key is part of the configuration: a device whose report_key is
# missing, unreadable or not an ed25519 private key used to install, warn and exit 0, and no
# report ever reached the ledger. Now it is a configuration error, found with the rest of the
# configuration before anything is read from the stick: exit 2, reason "config", the image not
# installed, trusted/ untouched, no report; every command (status too) says so.
source "$(dirname "$0")/lib.bash"
setup bundle install
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage m1.bin 40000 m1
"$BUNDLE" target add ws m1.bin --hardware-id board-a --release-counter 1 >/dev/null
"$BUNDLE" assign ws --device VIN-K --ecu main=m1.bin >/dev/null
"$BUNDLE" create ws -o k1.uptane --device VIN-K >/dev/null
stick=$tmp/stick
mkdir -p "$stick" && cp k1.uptane "$stick/"

# case NAME SETUP: a fresh device, its key broken by SETUP (run in the device directory)
case_key() {
	local name=$1 setup=$2 d=$tmp/dev-$1
	device_json "$d" VIN-K main "$(file_ecu main board-a targets/main.bin)"
	mkdir -p "$d/targets"
	(cd "$d" && "$INSTALL" --config device.json status >/dev/null 2>&1) # trusted/ initialised
	(cd "$d" && eval "$setup")
	local before after code
	before=$(state_snapshot "$d")
	code=$(run_install "$d/out" "$d" install "$stick")
	after=$(state_snapshot "$d")
	check "$name: install exits 2 (configuration error; exit $code)" test "$code" = 2
	check "$name: result failed/config" \
		test "$(result "$d/out" status)/$(result "$d/out" reason)" = failed/config
	check "$name: the message names report_key" grep -q report_key "$d/out" "$d/out.err"
	check "$name: nothing installed" test ! -e "$d/targets/main.bin"
	check "$name: trusted/ unchanged" test "$before" = "$after"
	check "$name: nothing read from the stick (no found event)" \
		bash -c "! grep -q '\"event\": *\"found\"' '$d/out'"
	check "$name: no report on the stick" test ! -e "$stick/uptane-reports"
	code=$(run_install "$d/st" "$d" status)
	check "$name: status exits 2 too" test "$code" = 2
}
case_key missing 'rm device.key'
case_key public-key-only 'cp device.pub device.key'
case_key not-json 'echo garbage >device.key'
case_key unreadable 'rm device.key && mkdir device.key'

# The control: with its key, the same device installs and writes its report.
d=$tmp/dev-ok
device_json "$d" VIN-K main "$(file_ecu main board-a targets/main.bin)"
mkdir -p "$d/targets"
code=$(run_install "$d/out" "$d" install "$stick")
check "with a usable key: installed (exit $code) and the report is on the stick" \
	bash -c "[ '$code' = 0 ] && ls '$stick'/uptane-reports/VIN-K/*.json >/dev/null 2>&1"
finish
