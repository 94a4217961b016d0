#!/usr/bin/env bash
# `uptane-install install DIR` (DIR a mounted stick, docs/integration.md): the bundle is found at
# the top level or in uptane/, hidden and "._" files are ignored, links are not followed; the
# signed report goes to DIR/uptane-reports/<device-id>/<counter>.json (never through a link the
# stick provides; a read-only stick keeps it on the device and says so); with several bundles
# the valid one with the highest Director version is installed and the report lists the others.
source "$(dirname "$0")/lib.bash"
setup bundle install
at_exit '[ -n "${ro:-}" ] && umount "$ro" 2>/dev/null'
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
KEYS=$tmp/k
export KEYS
mkimage m1.bin 100000 m1
mkimage m2.bin 110000 m2
mkimage m3.bin 120000 m3
mkimage m4.bin 1500000 m4
B() { "$BUNDLE" "$@" >/dev/null; }
for i in 1 2 3 4; do B target add ws m$i.bin --hardware-id board-a --release-counter $i; done
for i in 1 2 3; do
	B assign ws --device VIN-1 --ecu ecu-main=m$i.bin
	B create ws -o b$i.uptane --device VIN-1
done
B assign ws --device VIN-9 --ecu ecu-main=m3.bin
B create ws -o other.uptane --device VIN-9
B assign ws --device VIN-1 --ecu ecu-main=m4.bin
B create ws -o split.uptane --device VIN-1 --split-size 1M

newdev() {
	rm -rf "$1"
	mkdir -p "$1/targets"
	device_json "$1" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)"
}
dev=$tmp/dev
newdev "$dev"

# One bundle at the top level, next to decoys.
stick=$tmp/stick1
mkdir -p "$stick"
cp b1.uptane "$stick/update.uptane"
head -c 4096 /dev/urandom >"$stick/._update.uptane"
head -c 4096 /dev/urandom >"$stick/.hidden.uptane"
code=$(run_install o1 "$dev" install "$stick")
expect_result "DIR: the bundle at the top level, decoys ignored" o1 "$code" 0 installed null
check "DIR: installed" cmp -s "$dev/targets/main.bin" m1.bin
check "DIR: found the right file" grep -q "\"event\":\"found\",\"file\":\"$stick/update.uptane\"" o1
check "DIR: report on the stick" test -f "$stick/uptane-reports/VIN-1/1.json"
check "DIR: report on the stick = report on the device" cmp -s "$stick/uptane-reports/VIN-1/1.json" "$dev/state/reports/1.json"
check "DIR: the stick's report verifies" report_ok "$stick/uptane-reports/VIN-1/1.json" "$dev/device.pub"
check "DIR: no temp file left on the stick" [ "$(ls -A "$stick/uptane-reports/VIN-1")" = 1.json ]

# In uptane/, as split volumes.
stick=$tmp/stick2
mkdir -p "$stick/uptane"
cp split.uptane.* "$stick/uptane/"
code=$(run_install o2 "$dev" install "$stick")
expect_result "DIR: split volumes in uptane/" o2 "$code" 0 installed null
check "DIR: split volumes installed" cmp -s "$dev/targets/main.bin" m4.bin
check "DIR: report 2 on the stick" test -f "$stick/uptane-reports/VIN-1/2.json"

# Nothing there (a link to a bundle is not followed).
stick=$tmp/stick3
mkdir -p "$stick"
ln -s "$tmp/b3.uptane" "$stick/linked.uptane"
code=$(run_install o3 "$dev" install "$stick")
expect_result "DIR: only a symlink to a bundle: no bundle" o3 "$code" 3 no-bundle null
check "DIR: no-bundle report on the stick, bundle null" $PY -c '
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
assert s["bundle"] is None and s["result"]["status"] == "no-bundle"' "$stick/uptane-reports/VIN-1/3.json"

# A stick whose uptane-reports is a link: the report is not written through it.
stick=$tmp/stick4
mkdir -p "$stick" "$tmp/elsewhere"
cp b1.uptane "$stick/b1.uptane"
ln -s "$tmp/elsewhere" "$stick/uptane-reports"
code=$(run_install o4 "$dev" install "$stick")
expect_result "DIR: uptane-reports is a link (bundle older: rollback)" o4 "$code" 4 rejected rollback
check "DIR: nothing written through the link" [ -z "$(ls -A "$tmp/elsewhere")" ]
check "DIR: warned, report kept on the device" bash -c "grep -q 'report-not-on-medium' o4 && test -f '$dev/state/reports/4.json'"
rm "$stick/uptane-reports"
mkdir -p "$stick/uptane-reports"
ln -s "$tmp/elsewhere" "$stick/uptane-reports/VIN-1"
code=$(run_install o4b "$dev" install "$stick")
check "DIR: uptane-reports/VIN-1 is a link: nothing written through it" bash -c "[ $code = 4 ] && [ -z \"\$(ls -A '$tmp/elsewhere')\" ]"

# Several bundles: the valid one with the highest Director version wins.
dev2=$tmp/dev2
newdev "$dev2"
stick=$tmp/stick5
mkdir -p "$stick/uptane"
cp b1.uptane "$stick/a-b1.uptane"
cp b3.uptane "$stick/uptane/c-b3.uptane"
cp b2.uptane "$stick/d-b2.uptane"
cp other.uptane "$stick/e-other.uptane"
bundle_mutate b3.uptane "$stick/f-bad.uptane" tamper-image m3.bin
code=$(run_install o5 "$dev2" install "$stick")
expect_result "several bundles: the highest valid version installs" o5 "$code" 0 installed null
check "several bundles: b3 installed" cmp -s "$dev2/targets/main.bin" m3.bin
check "several bundles: the report lists the choice and why the others were skipped" $PY - "$stick/uptane-reports/VIN-1/1.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
assert s["bundle"]["file"] == "c-b3.uptane", s["bundle"]
sk = {x["file"]: (x["status"], x["reason"]) for x in s["skipped"]}
assert sk["a-b1.uptane"] == ("older", None), sk
assert sk["d-b2.uptane"] == ("older", None), sk
assert sk["e-other.uptane"] == ("not-for-this-device", None), sk
# same version as c-b3, tried first (name order); its image fails while streaming
assert sk["f-bad.uptane"] == ("rejected", "arbitrary-software"), sk
PY
check "several bundles: skipped events" [ "$(grep -c '"event":"skipped"' o5)" = 4 ]
check "several bundles: one report" [ "$(ls "$stick/uptane-reports/VIN-1")" = 1.json ]

# A read-only stick: installs, keeps the report on the device, says so.
ro=$tmp/ro
mkdir -p "$ro"
if mount -t tmpfs -o size=8m tmpfs "$ro" 2>/dev/null; then
	dev3=$tmp/dev3
	newdev "$dev3"
	cp b2.uptane "$ro/"
	mount -o remount,ro "$ro"
	code=$(run_install o6 "$dev3" install "$ro")
	expect_result "read-only stick: installs" o6 "$code" 0 installed null
	check "read-only stick: says the report stayed on the device" grep -q 'read-only' o6
	check "read-only stick: report kept on the device" test -f "$dev3/state/reports/1.json"
	umount "$ro"
	ro=
else
	skip "read-only stick (cannot mount tmpfs here)"
fi
finish
