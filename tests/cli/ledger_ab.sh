#!/usr/bin/env bash
# The ledger after an A/B update and its fallback (docs/reports.md, ECU states): a device with a
# file ECU and an A/B ECU installs b1 (mcu pending), confirms it (a new report, no bundle, mcu
# confirmed), installs b2 (mcu pending fw2) and then the bootloader falls back (confirm
# --failed: mcu fell-back, running fw1 again). Every report verifies (pynacl); the station
# ingests the stick and the device's state_dir/reports/ and `reports show` (table and --json)
# names, per ECU, the image that runs and its state; reports arriving in another order give
# the same rows; a ledger of schema version 1 is read as it is and migrated on ingest.
source "$(dirname "$0")/lib.bash"
setup bundle install
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
B() { "$BUNDLE" "$@" >/dev/null; }
mkimage main1.bin 200000 m1
mkimage main2.bin 210000 m2
mkimage fw1.bin 300000 f1
mkimage fw2.bin 310000 f2
B target add ws main1.bin --hardware-id board-a --release-counter 1
B target add ws main2.bin --hardware-id board-a --release-counter 2
B target add ws fw1.bin --hardware-id mcu-x --release-counter 1
B target add ws fw2.bin --hardware-id mcu-x --release-counter 2
B assign ws --device VIN-1 --ecu main=main1.bin mcu=fw1.bin
B create ws -o b1.uptane --device VIN-1
B assign ws --device VIN-1 --ecu main=main2.bin mcu=fw2.bin
B create ws -o b2.uptane --device VIN-1

dev=$tmp/dev
mkdir -p "$dev/targets" "$dev/slots" stick
echo "factory main" >"$dev/targets/main.bin"
echo "factory A" >"$dev/slots/a"
echo "factory B" >"$dev/slots/b"
cat >"$dev/activate.sh" <<'SH'
#!/bin/sh
echo "$1" >"$(dirname "$0")/bootslot"
SH
chmod +x "$dev/activate.sh"
ab='{"serial":"mcu","hardware_id":"mcu-x","install":{"type":"ab","slots":["slots/a","slots/b"],"activate":["./activate.sh","{slot}"]}}'
device_json "$dev" VIN-1 main "$(file_ecu main board-a targets/main.bin)" "$ab"
attempt() { # BUNDLE: the stick holds BUNDLE only; the device installs from it
	rm -f stick/*.uptane
	cp "$1" stick/
	local code
	code=$(run_install "out-$1" "$dev" install "$tmp/stick")
	[ "$code" = 0 ] || { echo "install $1: exit $code"; cat "out-$1" "out-$1.err"; return 1; }
}
report_says() { # N SERIAL STATE TARGET_FILE bundle|null STATUS: report N says so about SERIAL
	$PY - "$dev/state/reports/$1.json" "$2" "$3" "$4" "$5" "$6" <<'PY'
import hashlib, json, sys
path, serial, state, target, bundle_null, status = sys.argv[1:]
s = json.load(open(path))["signed"]
e = {x["signed"]["ecu_serial"]: x["signed"] for x in s["ecu_reports"]}[serial]
img = e["installed_image"]
assert e["state"] == state, (serial, e["state"], state)
assert img["filepath"] == target, (serial, img["filepath"], target)
assert img["fileinfo"]["hashes"]["sha256"] == hashlib.sha256(open(target, "rb").read()).hexdigest()
assert (s["bundle"] is None) == (bundle_null == "null"), s["bundle"]
assert s["result"]["status"] == status, s["result"]
PY
}

# ---- the device ----
check "install b1 (file ECU main, A/B ECU mcu)" attempt b1.uptane
check "report 1 verifies" report_ok "$dev/state/reports/1.json" "$dev/device.pub"
check "report 1: mcu pending fw1.bin" report_says 1 mcu pending fw1.bin bundle installed
check "report 1: main installed main1.bin" report_says 1 main installed main1.bin bundle installed
sleep 1 # the confirm's report is a second later: installed_at below tells them apart
code=$(run_install o-confirm "$dev" confirm)
expect_result "confirm" o-confirm "$code" 0 confirmed null
check "confirm: a --json report event for report 2" \
	grep -q '"event":"report","path":"'"$dev"'/state/reports/2.json","counter":2' o-confirm
check "report 2 verifies" report_ok "$dev/state/reports/2.json" "$dev/device.pub"
check "report 2: bundle null, status confirmed, mcu confirmed fw1.bin" \
	report_says 2 mcu confirmed fw1.bin null confirmed
check "report 2: main installed main1.bin" report_says 2 main installed main1.bin null confirmed
check "report 2: the same counter in the ECU reports" $PY -c '
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
assert s["counter"] == 2 and s["medium"] is None
assert [e["signed"]["report_counter"] for e in s["ecu_reports"]] == [2, 2]' "$dev/state/reports/2.json"
check "confirm: the report stays on the device (no stick)" [ ! -e stick/uptane-reports/VIN-1/2.json ]
check "install b2" attempt b2.uptane
check "install b2: the stick carries the confirm report 2 out as well" \
	bash -c "[ \"\$(ls stick/uptane-reports/VIN-1 | sort | tr '\n' ' ')\" = '1.json 2.json 3.json ' ] && cmp -s stick/uptane-reports/VIN-1/2.json '$dev/state/reports/2.json'"
check "report 3: mcu pending fw2.bin" report_says 3 mcu pending fw2.bin bundle installed
check "report 3: main installed main2.bin" report_says 3 main installed main2.bin bundle installed
code=$(run_install o-failed "$dev" confirm --failed)
expect_result "confirm --failed (the bootloader fell back)" o-failed "$code" 0 reverted null
check "report 4 verifies" report_ok "$dev/state/reports/4.json" "$dev/device.pub"
check "report 4: bundle null, status reverted, mcu fell-back and runs the OLD image fw1.bin" \
	report_says 4 mcu fell-back fw1.bin null reverted
check "report 4: main installed main2.bin" report_says 4 main installed main2.bin null reverted
check "status agrees: mcu runs fw1.bin, nothing pending" $PY -c '
import json, subprocess, sys
out = subprocess.run([sys.argv[1], "--config", "device.json", "--json", "status"], cwd=sys.argv[2],
                     capture_output=True, text=True).stdout.splitlines()[-1]
e = {x["serial"]: x for x in json.loads(out)["ecus"]}["mcu"]
assert e["installed"]["target"] == "fw1.bin" and e["pending"] is None, e' "$INSTALL" "$dev"
code=$(run_install o-none "$dev" confirm)
check "confirm with nothing pending: exit 3 and no report" \
	bash -c "[ $code = 3 ] && [ ! -e '$dev/state/reports/5.json' ] && [ \"\$(cat '$dev/state/reports/counter')\" = 4 ]"

# ---- the station ----
L=$tmp/ledger.db
"$BUNDLE" devices add --ledger "$L" --device VIN-1 --public-key "$dev/device.pub" >/dev/null
"$BUNDLE" reports ingest stick --ledger "$L" >ingest1 2>&1
check "ingest of the stick: reports 1 and 3, and the confirm report 2 the second stick carried" \
	grep -qx '3 accepted, 0 duplicate, 0 rejected' ingest1
"$BUNDLE" reports ingest "$dev/state/reports" --ledger "$L" >ingest2 2>&1
check "ingest of state_dir/reports: the confirm report 4 new (no stick after it), 1-3 duplicates" \
	grep -qx '1 accepted, 3 duplicate, 0 rejected' ingest2
"$BUNDLE" reports show --ledger "$L" --json >show.json
rows_ok() { # SHOW.JSON: the rows after the fallback
	$PY - "$1" "$dev/state/reports" "$(sha fw1.bin)" "$(sha main2.bin)" <<'PY'
import json, sys
rows = {r["ecu"]: r for r in json.load(open(sys.argv[1]))}
rep = {n: json.load(open(f"{sys.argv[2]}/{n}.json"))["signed"] for n in (1, 2, 3, 4)}
m, a = rows["main"], rows["mcu"]
assert a["target"] == "fw1.bin" and a["sha256"] == sys.argv[3] and a["state"] == "fell-back", a
# fw1 has run since report 1 (b1): fw2 was pending and never ran
assert a["installed_at"] == rep[1]["time"]["effective"] and a["bundle"] == "VIN-1:1", a
assert m["target"] == "main2.bin" and m["sha256"] == sys.argv[4] and m["state"] == "installed", m
assert m["installed_at"] == rep[3]["time"]["effective"] and m["bundle"] == "VIN-1:2", m
assert a["last_counter"] == 4 and a["last_status"] == "reverted", a
PY
}
check "show --json: mcu fw1.bin fell-back (since report 1, VIN-1:1), main main2.bin installed" \
	rows_ok show.json
"$BUNDLE" reports show --ledger "$L" >show.txt
check "show (table): a STATE column; mcu fw1.bin fell-back, main main2.bin installed" $PY - show.txt <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
head = lines[0].split()
assert head[:4] == ["DEVICE", "ECU", "TARGET", "STATE"], head
rows = {l.split()[1]: l.split() for l in lines[1:]}
assert rows["mcu"][2:4] == ["fw1.bin", "fell-back"], rows
assert rows["main"][2:4] == ["main2.bin", "installed"], rows
PY
"$BUNDLE" reports show --ledger "$L" --csv >show.csv
check "show --csv: a state column" $PY - show.csv <<'PY'
import csv, sys
rows = {r["ecu"]: r for r in csv.DictReader(open(sys.argv[1], newline=""))}
assert rows["mcu"]["state"] == "fell-back" and rows["main"]["state"] == "installed", rows
PY

# The stages in between, each from a ledger holding the reports up to N.
stage() { # N ECU TARGET STATE INSTALLED_AT_REPORT
	local l=$tmp/stage-$1.db d=$tmp/stage-$1
	rm -rf "$d" "$l" && mkdir -p "$d/VIN-1"
	for i in $(seq 1 "$1"); do cp "$dev/state/reports/$i.json" "$d/VIN-1/"; done
	"$BUNDLE" devices add --ledger "$l" --device VIN-1 --public-key "$dev/device.pub" >/dev/null &&
		"$BUNDLE" reports ingest "$d" --ledger "$l" >/dev/null 2>&1 &&
		"$BUNDLE" reports show --ledger "$l" --json >"$d.json" &&
		$PY - "$d.json" "$2" "$3" "$4" "$dev/state/reports/$5.json" <<'PY'
import json, sys
row = {r["ecu"]: r for r in json.load(open(sys.argv[1]))}[sys.argv[2]]
when = json.load(open(sys.argv[5]))["signed"]["time"]["effective"]
assert (row["target"], row["state"], row["installed_at"]) == (sys.argv[3], sys.argv[4], when), row
PY
}
check "after report 1: mcu fw1.bin pending" stage 1 mcu fw1.bin pending 1
check "after report 2: mcu fw1.bin confirmed, installed since report 1" stage 2 mcu fw1.bin confirmed 1
check "after report 3: mcu fw2.bin pending since report 3" stage 3 mcu fw2.bin pending 3

# Sticks come back in any order: the confirm reports first, the installs after.
L2=$tmp/ledger2.db
mkdir -p late/VIN-1 && cp "$dev/state/reports/2.json" "$dev/state/reports/4.json" late/VIN-1/
"$BUNDLE" devices add --ledger "$L2" --device VIN-1 --public-key "$dev/device.pub" >/dev/null
"$BUNDLE" reports ingest late --ledger "$L2" >ingest4 2>&1
"$BUNDLE" reports ingest stick --ledger "$L2" >>ingest4 2>&1
check "another order of arrival: 2 and 4, then the stick's 1, 2 and 3 (2 a duplicate)" \
	bash -c "[ \"\$(cat ingest4)\" = \"\$(printf '2 accepted, 0 duplicate, 0 rejected\n2 accepted, 1 duplicate, 0 rejected')\" ]"
"$BUNDLE" reports show --ledger "$L2" --json >show2.json
check "another order of arrival: the same rows" rows_ok show2.json

# A ledger of schema version 1 (before the state column): read as it is, migrated on ingest.
L1=$tmp/ledger1.db
"$BUNDLE" devices add --ledger "$L1" --device VIN-1 --public-key "$dev/device.pub" >/dev/null
"$BUNDLE" reports ingest stick --ledger "$L1" >/dev/null 2>&1
$PY - "$L1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("ALTER TABLE ecu_reports DROP COLUMN state")
db.execute("PRAGMA user_version=1")
db.commit()
PY
"$BUNDLE" reports show --ledger "$L1" --json >show1.json 2>show1.err
check "version 1 ledger: show reads it, every state installed" $PY - show1.json <<'PY'
import json, sys
rows = {r["ecu"]: r for r in json.load(open(sys.argv[1]))}
assert rows["mcu"]["state"] == "installed" and rows["mcu"]["target"] == "fw2.bin", rows
PY
check "version 1 ledger: show did not change it" [ "$(sqlite3 "$L1" 'PRAGMA user_version')" = 1 ]
"$BUNDLE" reports ingest "$dev/state/reports" --ledger "$L1" >ingest3 2>&1
check "version 1 ledger: ingest migrates it and records the confirm reports" \
	bash -c "grep -qx '1 accepted, 3 duplicate, 0 rejected' ingest3 &&
	[ \"\$(sqlite3 '$L1' 'PRAGMA user_version')\" = 2 ]"
"$BUNDLE" reports show --ledger "$L1" --json >show1b.json
check "version 1 ledger after migration: mcu fw1.bin fell-back" $PY - show1b.json <<'PY'
import json, sys
rows = {r["ecu"]: r for r in json.load(open(sys.argv[1]))}
assert rows["mcu"]["state"] == "fell-back" and rows["mcu"]["target"] == "fw1.bin", rows
PY
finish
