#!/usr/bin/env bash
# Fleet ledger with the real installer: a device installs two bundles from a stick and rejects
# a tampered third; the reports it wrote (on the stick, uptane-reports/VIN-1/, and in its
# state_dir/reports/) are ingested: 3 accepted from the stick, the device's copies duplicates;
# show names what runs, since which report, from which bundle, and the attack.
# Skips (one line) while the installer or the bundler's workspace commands are not in this tree.
source "$(dirname "$0")/lib.bash"
setup
here=$(dirname "$0")
if [ ! -f "$here/bundle_lib.bash" ] || [ ! -f "$here/install_lib.bash" ] ||
	"$INSTALL" --config /nonexistent status 2>&1 | grep -q 'not implemented' ||
	"$BUNDLE" init 2>&1 | grep -q 'not implemented'; then
	skip "the installer and the bundler's workspace commands have not landed in this tree"
	finish
fi
source "$here/bundle_lib.bash"
source "$here/install_lib.bash"
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
B() { "$BUNDLE" "$@" >/dev/null; }
mkimage main1.bin 300000 m1
mkimage main2.bin 200000 m2
mkimage aux1.bin 100000 a1
B target add ws main1.bin --hardware-id board-a --release-counter 1
B target add ws main2.bin --hardware-id board-a --release-counter 2
B target add ws aux1.bin --hardware-id board-b --release-counter 1
B assign ws --device VIN-1 --ecu ecu-main=main1.bin ecu-aux=aux1.bin
B create ws -o b1.uptane --device VIN-1
B assign ws --device VIN-1 --ecu ecu-main=main2.bin ecu-aux=aux1.bin
B create ws -o b2.uptane --device VIN-1
retar b2.uptane bad.uptane tamper-meta metadata/director/timestamp.json

dev=$tmp/dev
mkdir -p "$dev/targets" stick
echo "factory main" >"$dev/targets/main.bin"
echo "factory aux" >"$dev/targets/aux.bin"
device_json "$dev" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)" \
	"$(file_ecu ecu-aux board-b targets/aux.bin)"
attempt() { # BUNDLE WANT_EXIT: the stick holds BUNDLE only; the device installs from it
	rm -f stick/*.uptane
	cp "$1" stick/
	local code
	code=$(run_install "out-$1" "$dev" install "$tmp/stick")
	[ "$code" = "$2" ] || { echo "install $1: exit $code, expected $2"; cat "out-$1" "out-$1.err"; return 1; }
}
check "device: installs b1 from the stick" attempt b1.uptane 0
check "device: installs b2 from the stick" attempt b2.uptane 0
check "device: rejects the tampered bundle" attempt bad.uptane 4
check "device: three reports on the stick" [ "$(ls stick/uptane-reports/VIN-1/*.json | wc -l)" -eq 3 ]

L=$tmp/ledger.db
"$BUNDLE" devices add --ledger "$L" --device VIN-1 --public-key "$dev/device.pub" \
	--placed-on-market 2025-01-01 --support-years 5 >/dev/null
"$BUNDLE" reports ingest stick --ledger "$L" >ingest1 2>&1
check "ingest of the stick: the installer's 3 reports verify and are accepted" \
	grep -qx '3 accepted, 0 duplicate, 0 rejected' ingest1
"$BUNDLE" reports ingest "$dev/state/reports" --ledger "$L" >ingest2 2>&1
check "ingest of the device's state_dir/reports: the same 3, duplicates" \
	grep -qx '0 accepted, 3 duplicate, 0 rejected' ingest2
"$BUNDLE" reports show --ledger "$L" --json >show.json
check "show: main2 since report 2 (bundle VIN-1:2), aux1 since report 1, the attack of report 3" \
	$PY - show.json stick/uptane-reports/VIN-1 "$(sha256sum main2.bin | cut -d' ' -f1)" <<'PY'
import json, sys
rows = {r["ecu"]: r for r in json.load(open(sys.argv[1]))}
rep = {n: json.load(open(f"{sys.argv[2]}/{n}.json"))["signed"] for n in (1, 2, 3)}
m, a = rows["ecu-main"], rows["ecu-aux"]
assert m["target"] == "main2.bin" and m["sha256"] == sys.argv[3], m
assert m["installed_at"] == rep[2]["time"]["effective"] and m["bundle"] == "VIN-1:2", m
assert a["target"] == "aux1.bin" and a["installed_at"] == rep[1]["time"]["effective"], a
assert a["bundle"] == "VIN-1:1", a
assert m["last_report"] == rep[3]["time"]["effective"] and m["last_counter"] == 3, m
assert [(x["counter"], x["class"]) for x in m["attacks"]] == [(3, "arbitrary-software")], m
assert m["support_ends"] == "2030-01-01", m
PY
finish
