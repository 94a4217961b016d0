#!/usr/bin/env bash
# Fleet ledger, reports ingest (docs/reports.md): reports signed by an independent producer
# (PyNaCl + securesystemslib canonical JSON) are accepted; forged, unknown-device, replayed,
# truncated, misfiled, oversized and linked files are each rejected with their own reason; late
# lower counters are accepted; ingesting the same stick again changes nothing at all.
source "$(dirname "$0")/lib.bash"
setup
export PYTHONPATH=$UPT_TOP/tests/cli
L=$tmp/ledger.db
dump() { # the whole ledger as SQL text
	$PY -c 'import sqlite3,sys; print("\n".join(sqlite3.connect(sys.argv[1]).iterdump()))' "$L"
}
ingest() { # ingest DIR..: stdout in $tmp/out, stderr in $tmp/err, exit status in $st
	"$BUNDLE" reports ingest "$@" --ledger "$L" >"$tmp/out" 2>"$tmp/err"
	st=$?
}
summary() { grep -qx "$1 accepted, $2 duplicate, $3 rejected" "$tmp/out"; }
rejected() { # rejected FILE-SUFFIX CLASS: one line names that file and that class
	[ "$(grep -c "^rejected: .*$1: $2: " "$tmp/err")" -eq 1 ]
}

$PY - "$tmp" <<'PY'
import sys, os, json, copy
import ledger_reports as lr
d = sys.argv[1]
A, B, C, X = (lr.keygen(f"{d}/{n}") for n in ["A", "B", "C", "X"])
s1 = f"{d}/stick1/uptane-reports"
T = lambda n: "2026-01-%02dT10:00:00Z" % n
ecus = lambda app: [("ecu-main", app), ("mcu-1", "mcu-fw-1.bin")]
# valid: A 1..3, B 1..2, C 5 (C's 1 comes later, on another stick)
for c in (1, 2, 3):
    lr.write(f"{s1}/VIN-A/{c}.json", lr.report(A, "VIN-A", c, T(c), ecus("app-%d.bin" % c)))
for c in (1, 2):
    lr.write(f"{s1}/VIN-B/{c}.json", lr.report(B, "VIN-B", c, T(c), ecus("app-1.bin")),
             pretty=True)  # pretty-printed: the signature is over the canonical form
lr.write(f"{s1}/VIN-C/5.json", lr.report(C, "VIN-C", 5, T(5), ecus("app-5.bin")))
# forged: signed by X under A's key id
forged = lr.report(X, "VIN-A", 4, T(4), ecus("app-4.bin"))
forged["signatures"][0]["keyid"] = A["keyid"]
lr.write(f"{s1}/VIN-A/4.json", forged)
# tampered: A's valid report with the target changed after signing
t = lr.report(A, "VIN-A", 5, T(5), ecus("app-5.bin"))
t["signed"]["ecu_reports"][0]["signed"]["installed_image"]["filepath"] = "evil.bin"
lr.write(f"{s1}/VIN-A/5.json", t)
# an ECU report whose own signature is not the device's (outer signature valid)
e = lr.report(A, "VIN-A", 6, T(6), ecus("app-6.bin"))
e["signed"]["ecu_reports"][1] = lr.ecu_report(X, "mcu-1", "mcu-fw-1.bin", T(6))
lr.write(f"{s1}/VIN-A/6.json", lr.sign(A, e["signed"]))
# signed by X and listed under X's key id: not signed by the registered key at all
lr.write(f"{s1}/VIN-A/7.json", lr.report(X, "VIN-A", 7, T(7), ecus("app-7.bin")))
# unknown device: X is not registered
lr.write(f"{s1}/VIN-X/1.json", lr.report(X, "VIN-X", 1, T(1), ecus("app-1.bin")))
# truncated: half of a valid report (the stick pulled while the device wrote)
raw = json.dumps(lr.report(B, "VIN-B", 3, T(3), ecus("app-3.bin")))
open(f"{s1}/VIN-B/3.json", "w").write(raw[: len(raw) // 2])
# device mismatch: B's valid report filed in A's directory
lr.write(f"{s1}/VIN-A/8.json", lr.report(B, "VIN-B", 8, T(8), ecus("app-8.bin")))
# duplicate object key (the signature covers one reading, a lax parser takes the other)
dup = json.dumps(lr.report(B, "VIN-B", 9, T(9), ecus("app-9.bin")))
open(f"{s1}/VIN-B/9.json", "w").write(dup[:-1] + ', "signed": {}}')
# wrong _type, correctly signed
w = lr.report(B, "VIN-B", 10, T(10), ecus("app-1.bin"))
w["signed"]["_type"] = "targets"
lr.write(f"{s1}/VIN-B/10.json", lr.sign(B, w["signed"]))
# a target name with a terminal escape, correctly signed
w = lr.report(B, "VIN-B", 11, T(11), [("ecu-main", "app\x1b[31m.bin")])
lr.write(f"{s1}/VIN-B/11.json", w)
# over UPT_REPORT_MAX (1 MiB)
big = lr.report(B, "VIN-B", 12, T(12), ecus("app-1.bin"), message="x" * 100)
s = json.dumps(big)
open(f"{s1}/VIN-B/12.json", "w").write(s[:-1] + " " * (1 << 20) + "}")
# ECU states (docs/reports.md): one the ledger knows (accepted), one it does not, correctly signed
lr.write(f"{s1}/VIN-B/13.json", lr.report(B, "VIN-B", 13, T(13), [
    {"serial": "ecu-main", "target": "app-1.bin"},
    {"serial": "mcu-1", "target": "mcu-fw-2.bin", "state": "pending"}]))
lr.write(f"{s1}/VIN-B/14.json", lr.report(B, "VIN-B", 14, T(14), [
    {"serial": "ecu-main", "target": "app-1.bin", "state": "booted"}]))
# hidden files (macOS "._" companions on FAT sticks) and non-report files are not reports
open(f"{s1}/VIN-B/._1.json", "wb").write(b"\0\5\26\7 AppleDouble")
open(f"{s1}/VIN-B/notes.txt", "w").write("not a report")
# stick 2: A's counter 2 again with other content (replay), A 2 again identical but
# re-printed (duplicate), C's late counter 1 (accepted), A 9 (new)
s2 = f"{d}/stick2/uptane-reports"
lr.write(f"{s2}/VIN-A/2.json", lr.report(A, "VIN-A", 2, T(2), ecus("app-evil.bin")))
same = json.load(open(f"{s1}/VIN-A/3.json"))
lr.write(f"{s2}/VIN-A/3.json", same, pretty=True)
lr.write(f"{s2}/VIN-C/1.json", lr.report(C, "VIN-C", 1, T(1), ecus("app-1.bin")))
lr.write(f"{s2}/VIN-A/9.json", lr.report(A, "VIN-A", 9, T(9), ecus("app-9.bin")))
PY
# symbolic links planted on the stick are never followed
ln -s /etc/passwd "$tmp/stick1/uptane-reports/VIN-A/20.json"
ln -s "$tmp/stick2/uptane-reports/VIN-C" "$tmp/stick1/uptane-reports/VIN-L"

for d in A B C; do
	"$BUNDLE" devices add --ledger "$L" --device VIN-$d --public-key "$tmp/$d.pub" >/dev/null
done

ingest "$tmp/stick1"
check "stick 1: exit 4 when some reports are rejected" [ "$st" -eq 4 ]
check "stick 1: 7 accepted, 0 duplicate, 14 rejected" summary 7 0 14
check "forged signature (another key under the device's key id) rejected" rejected VIN-A/4.json forged
check "tampered report (content changed after signing) rejected" rejected VIN-A/5.json forged
check "forged ECU report inside a validly signed manifest rejected" rejected VIN-A/6.json forged
check "report not signed by the registered key rejected" rejected VIN-A/7.json forged
check "report of an unregistered device rejected" rejected VIN-X/1.json unknown-device
check "truncated report rejected as malformed" rejected VIN-B/3.json malformed
check "report filed under another device's directory rejected" rejected VIN-A/8.json device-mismatch
check "duplicate JSON keys rejected" rejected VIN-B/9.json malformed
check "wrong _type rejected" rejected VIN-B/10.json malformed
check "target name with a control character rejected" rejected VIN-B/11.json malformed
check "report over 1 MiB rejected" rejected VIN-B/12.json too-large
check "an ECU state outside installed, pending, confirmed, fell-back rejected" rejected VIN-B/14.json malformed
check "an ECU state from the independent producer recorded (pending)" $PY - "$L" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("select ecu, state from ecu_reports where device_id='VIN-B' and counter=13 "
                  "order by ecu").fetchall()
assert rows == [("ecu-main", "installed"), ("mcu-1", "pending")], rows
PY
check "symlinked report not followed" rejected VIN-A/20.json unreadable
check "symlinked device directory not followed" rejected VIN-L unreadable
check "rejection lines carry no raw control characters" bash -c "! grep -q $'\x1b' '$tmp/err'"
check "hidden and non-.json files are not reports" bash -c "! grep -qE '\\._1.json|notes.txt' '$tmp/err'"

"$BUNDLE" reports show --ledger "$L" --json >"$tmp/show1.json"
dump >"$tmp/dump1"
ingest "$tmp/stick1"
check "stick 1 again: the same rejections, everything else duplicate" summary 0 7 14
check "stick 1 again: the ledger is byte for byte the same (SQL dump)" cmp -s "$tmp/dump1" <(dump)
"$BUNDLE" reports show --ledger "$L" --json >"$tmp/show2.json"
check "stick 1 again: reports show --json is the same" cmp -s "$tmp/show1.json" "$tmp/show2.json"

ingest "$tmp/stick2"
check "stick 2: replay rejected, re-printed copy duplicate, late and new accepted" summary 2 1 1
check "replayed counter with other content rejected" rejected VIN-A/2.json replayed
check "the replayed report did not replace the recorded one" $PY - "$L" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(fp,) = db.execute("select filepath from ecu_reports where device_id='VIN-A' and counter=2 "
                   "and ecu='ecu-main'").fetchone()
assert fp == "app-2.bin", fp
(n,) = db.execute("select count(*) from reports where device_id='VIN-C'").fetchone()
assert n == 2, n
PY
"$BUNDLE" reports show --ledger "$L" --json >"$tmp/show3.json"
check "late counter 1 of VIN-C recorded while its current target stays counter 5's" \
	$PY - "$tmp/show3.json" <<'PY'
import json, sys
rows = {(r["device_id"], r["ecu"]): r for r in json.load(open(sys.argv[1]))}
c = rows[("VIN-C", "ecu-main")]
assert c["target"] == "app-5.bin" and c["last_counter"] == 5, c
a = rows[("VIN-A", "ecu-main")]
assert a["target"] == "app-9.bin" and a["last_counter"] == 9, a
PY

# DIR may be the uptane-reports directory itself, or one device's directory
L=$tmp/l2.db
"$BUNDLE" devices add --ledger "$L" --device VIN-C --public-key "$tmp/C.pub" >/dev/null
ingest "$tmp/stick2/uptane-reports"
check "DIR = uptane-reports: C's report accepted, the others unknown" summary 1 0 3
ingest "$tmp/stick1/uptane-reports/VIN-C" "$tmp/stick2/uptane-reports/VIN-C"
check "DIR = device directories (two at once): 1 accepted, 1 duplicate" summary 1 1 0
check "exit 0 when nothing is rejected" [ "$st" -eq 0 ]
mkdir "$tmp/VIN-Z"
cp "$tmp/stick1/uptane-reports/VIN-C/5.json" "$tmp/VIN-Z/"
ingest "$tmp/VIN-Z"
check "a device directory binds its reports to its name" rejected VIN-Z/5.json device-mismatch
mkdir -p "$tmp/state/reports"
cp "$tmp/stick2/uptane-reports/VIN-C/1.json" "$tmp/state/reports/"
ingest "$tmp/state/reports"
check "a device's state_dir/reports (no device name) is read as one device's reports" summary 0 1 0

before=$(dump)
ingest "$tmp/stick2" "$tmp/does-not-exist"
check "a missing DIR: exit 2 and nothing recorded" bash -c "[ $st -eq 2 ] && [ \"\$1\" = \"\$2\" ]" _ "$before" "$(dump)"
"$BUNDLE" reports ingest "$tmp/stick2" --ledger "$tmp/missing.db" >/dev/null 2>&1
check "ingest into a missing ledger: exit 2, no ledger created" bash -c "[ $? -eq 2 ] && [ ! -e '$tmp/missing.db' ]"
# Batches: more device directories (300) and more reports of one device (1100) than one batch
# of the parallel reader holds; a forgery deep inside; two ingests of it at the same time.
$PY - "$tmp" <<'PY'
import sys, os
import ledger_reports as lr
d = sys.argv[1]
lines = ["device_id,public_key_file,placed_on_market,support_years"]
os.makedirs(f"{d}/many")
for i in range(300):
    dev = "D%03d" % i
    k = lr.keygen(f"{d}/many/{dev}")
    lines.append(f"{dev},{dev}.pub,2024-01-01,5")
    lr.write(f"{d}/big/uptane-reports/{dev}/1.json",
             lr.report(k, dev, 1, "2026-02-01T00:00:00Z", [("ecu-main", "app-1.bin")]))
k = lr.keygen(f"{d}/many/LONG")
lines.append("LONG,LONG.pub,,")
x = lr.keygen(f"{d}/many/X")
for c in range(1, 1101):
    doc = lr.report(k if c != 700 else x, "LONG", c, "2026-02-01T00:00:00Z",
                    [("ecu-main", "app-%d.bin" % c)])
    if c == 700:
        doc["signatures"][0]["keyid"] = k["keyid"]
    lr.write(f"{d}/big/uptane-reports/LONG/{c}.json", doc)
open(f"{d}/many/devices.csv", "w").write("\n".join(lines) + "\n")
PY
L=$tmp/big.db
"$BUNDLE" devices import --ledger "$L" "$tmp/many/devices.csv" >/dev/null
"$BUNDLE" reports ingest "$tmp/big" --ledger "$L" >"$tmp/b1.out" 2>"$tmp/b1.err" &
"$BUNDLE" reports ingest "$tmp/big" --ledger "$L" >"$tmp/b2.out" 2>"$tmp/b2.err" &
wait %1; s1=$?
wait %2; s2=$?
check "two ingests at once: each waits for the other's transaction; both exit 4 (one forgery)" \
	[ "$s1" -eq 4 -a "$s2" -eq 4 ]
check "two ingests at once: 1399 accepted once, 1399 duplicate once, the forgery rejected twice" \
	bash -c "sort '$tmp/b1.out' '$tmp/b2.out' | tr '\n' '|' | grep -qx '0 accepted, 1399 duplicate, 1 rejected|1399 accepted, 0 duplicate, 1 rejected|'"
check "the forgery at counter 700 of 1100 is named" grep -q 'LONG/700.json: forged: ' "$tmp/b1.err"
check "1400 reports of 301 devices in the ledger" $PY - "$L" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("select count(*) from reports").fetchone() == (1399,)
assert db.execute("select count(distinct device_id) from reports").fetchone() == (301,)
assert db.execute("select count(*) from reports where device_id='LONG' and counter=700").fetchone() == (0,)
PY
finish
