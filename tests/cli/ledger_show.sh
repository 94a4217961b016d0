#!/usr/bin/env bash
# Fleet ledger, reports show: what runs where and since when (the earliest report of the latest
# unbroken run of the same target, by counter, so late reports correct it), the bundle that
# installed it, attacks reported, and the EU CRA support period; the filters
# --support-ends-within (at a fixed date: --at, and faketime for the clock), --not-updated-since,
# --running; --json, --csv (spreadsheet-safe) and the table (terminal-safe).
source "$(dirname "$0")/lib.bash"
setup
export PYTHONPATH=$UPT_TOP/tests/cli
L=$tmp/ledger.db
show() { "$BUNDLE" reports show --ledger "$L" "$@"; }
rows() { # rows ARGS..: the (device, ecu) pairs `show --json ARGS` selects, sorted, one a line
	show --json "$@" | $PY -c '
import json, sys
for r in json.load(sys.stdin): print(r["device_id"], r["ecu"])' | sort
}
same() { # same "EXPECTED LINES" ARGS..
	local want=$1; shift
	local got; got=$(rows "$@")
	[ "$got" = "$(printf '%b' "$want" | sort)" ] || { echo "got: $got"; return 1; }
}

$PY - "$tmp" <<'PY'
import sys
import ledger_reports as lr
d = sys.argv[1]
K = {n: lr.keygen(f"{d}/{n}") for n in "ABCDEF"}
def put(stick, dev, c, t, ecus, **kw):
    lr.write(f"{d}/{stick}/uptane-reports/VIN-{dev}/{c}.json",
             lr.report(K[dev], "VIN-" + dev, c, t + "T09:30:00Z", ecus, **kw))
# VIN-A: counter 3 (the install of app-2) comes back late, on stick 2
put("s1", "A", 1, "2025-10-01", [("ecu-main", "app-1.bin"), ("mcu-1", "fw-1.bin")],
    bundle_id="fleet-a:1")
put("s1", "A", 2, "2025-10-15", [("ecu-main", "app-1.bin"), ("mcu-1", "fw-2.bin")],
    bundle_id="fleet-a:2")
put("s2", "A", 3, "2025-11-01", [("ecu-main", "app-2.bin"), ("mcu-1", "fw-1.bin")],
    bundle_id="fleet-a:3")
put("s1", "A", 4, "2025-11-20",
    [("ecu-main", "app-2.bin", "arbitrary-software"), ("mcu-1", "fw-1.bin")],
    status="rejected", reason="arbitrary-software", bundle_id="evil:7")
put("s1", "A", 5, "2025-12-01", [("ecu-main", "app-2.bin"), ("mcu-1", "fw-1.bin")],
    status="no-bundle")
# VIN-B: ecu-main updated in January, mcu-1 unchanged since September; an ECU-only attack
put("s1", "B", 1, "2025-09-01", [("ecu-main", "app-1.bin"), ("mcu-1", "fw-1.bin")])
put("s1", "B", 2, "2026-01-10",
    [("ecu-main", "app-3.bin"), ("mcu-1", "fw-1.bin", "rollback")], bundle_id="fleet-a:9")
put("s1", "C", 1, "2025-08-01", [("ecu-main", "app-2.bin"), ("sensor-1", "")])
# VIN-D: a bundle id meant to run in a spreadsheet and clear a terminal
put("s1", "D", 1, "2025-12-24", [("ecu-main", "app-2.bin")],
    bundle_id='=HYPERLINK("http://x.invalid")\x1b[2J')
PY
add() { "$BUNDLE" devices add --ledger "$L" --device "VIN-$1" --public-key "$tmp/$1.pub" "${@:2}" >/dev/null; }
add A --placed-on-market 2021-03-15 --support-years 5 # ends 2026-03-15
add B --placed-on-market 2020-06-01 --support-years 6 # ends 2026-06-01
add C --placed-on-market 2023-01-01 --support-years 10 # ends 2033-01-01
add D                                                  # unknown
add E --placed-on-market 2021-04-01 --support-years 5 # ends 2026-04-01, never reported
add F --placed-on-market 2020-12-31 --support-years 5 # ended 2025-12-31

"$BUNDLE" reports ingest "$tmp/s1" --ledger "$L" >/dev/null
show --json >"$tmp/before-late.json"
check "before the late report: app-2 on VIN-A seen first in counter 4 (not an install)" \
	$PY - "$tmp/before-late.json" <<'PY'
import json, sys
r = {(x["device_id"], x["ecu"]): x for x in json.load(open(sys.argv[1]))}[("VIN-A", "ecu-main")]
assert r["target"] == "app-2.bin" and r["installed_at"] == "2025-11-20T09:30:00Z", r
assert r["bundle"] is None, r
PY
"$BUNDLE" reports ingest "$tmp/s2" --ledger "$L" >/dev/null
show --json >"$tmp/all.json"
check "show --json: every row has the pinned fields" $PY - "$tmp/all.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
keys = {"device_id", "ecu", "target", "sha256", "installed_at", "bundle", "last_report",
        "attacks", "support_ends"}
assert isinstance(rows, list) and len(rows) == 9, len(rows)
for r in rows:
    assert keys <= set(r), r
PY
check "show --json: targets, since when, which bundle, last report, attacks, support end" \
	$PY - "$tmp/all.json" <<'PY'
import json, sys, hashlib
r = {(x["device_id"], x["ecu"]): x for x in json.load(open(sys.argv[1]))}
a = r[("VIN-A", "ecu-main")]
# the late counter 3 moved "since when" back to the install, and names its bundle
assert a["target"] == "app-2.bin", a
assert a["sha256"] == hashlib.sha256(b"app-2.bin").hexdigest(), a
assert a["installed_at"] == "2025-11-01T09:30:00Z" and a["bundle"] == "fleet-a:3", a
assert a["last_report"] == "2025-12-01T09:30:00Z" and a["last_counter"] == 5, a
assert a["support_ends"] == "2026-03-15", a
# the device's rejection and the ECU's attacks_detected name one attack: listed once
assert [(x["counter"], x["class"]) for x in a["attacks"]] == [(4, "arbitrary-software")], a
m = r[("VIN-A", "mcu-1")]
# fw-1 ran at counter 1, fw-2 at 2, fw-1 again from 3: since counter 3, not counter 1
assert m["target"] == "fw-1.bin" and m["installed_at"] == "2025-11-01T09:30:00Z", m
assert m["bundle"] == "fleet-a:3", m
b = r[("VIN-B", "mcu-1")]
assert b["installed_at"] == "2025-09-01T09:30:00Z", b
assert [(x["counter"], x["ecu"], x["class"]) for x in b["attacks"]] == [(2, "mcu-1", "rollback")], b
assert r[("VIN-B", "ecu-main")]["attacks"] == [], r[("VIN-B", "ecu-main")]
assert r[("VIN-B", "ecu-main")]["installed_at"] == "2026-01-10T09:30:00Z"
e = r[("VIN-E", None)]
assert e["target"] is None and e["last_report"] is None and e["support_ends"] == "2026-04-01", e
assert r[("VIN-D", "ecu-main")]["support_ends"] is None
# an ECU with a factory image the device never installed itself: no target, no since-when
f = r[("VIN-C", "sensor-1")]
assert f["target"] is None and f["sha256"] is None and f["installed_at"] is None, f
assert f["last_report"] == "2025-08-01T09:30:00Z", f
assert r[("VIN-F", None)]["support_ends"] == "2025-12-31"
PY

A2='VIN-A ecu-main\nVIN-A mcu-1'
check "--support-ends-within 90 at 2026-01-01: VIN-A (73 days) and VIN-E (90 days)" \
	same "$A2\nVIN-E None" --at 2026-01-01 --support-ends-within 90
check "--support-ends-within 89 at 2026-01-01: VIN-A only" \
	same "$A2" --at 2026-01-01 --support-ends-within 89
check "--support-ends-within 200: VIN-A, VIN-B, VIN-E; not F (ended), C, D (unknown)" \
	same "$A2\nVIN-B ecu-main\nVIN-B mcu-1\nVIN-E None" --at 2026-01-01T23:59:59Z --support-ends-within 200
check "--support-ends-within 0 on the last day of support: VIN-A" \
	same "$A2" --at 2026-03-15 --support-ends-within 0
export ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0
TZ=UTC faketime '2026-01-01 12:00:00' "$BUNDLE" reports show --ledger "$L" --json \
	--support-ends-within 90 >"$tmp/ft.json"
check "without --at the clock decides (faketime 2026-01-01): the same rows as --at" \
	cmp -s "$tmp/ft.json" <(show --json --at 2026-01-01 --support-ends-within 90)
check "faketime 2026-01-01 selects VIN-A and VIN-E" [ "$(grep -c '"device_id"' "$tmp/ft.json")" -eq 3 ]
check "--not-updated-since 2025-12-01: rows whose target ran from before, and never-reported devices" \
	same "$A2\nVIN-B mcu-1\nVIN-C ecu-main\nVIN-C sensor-1\nVIN-E None\nVIN-F None" --not-updated-since 2025-12-01
check "--running app-2.bin" same "VIN-A ecu-main\nVIN-C ecu-main\nVIN-D ecu-main" --running app-2.bin
check "--running and --not-updated-since combine" \
	same "VIN-A ecu-main\nVIN-C ecu-main" --running app-2.bin --not-updated-since 2025-12-01T00:00:00Z
check "--running a target nobody runs: an empty array" same "" --running nothing.bin

show --csv >"$tmp/all.csv"
check "--csv: the header line" [ "$(head -1 "$tmp/all.csv")" = \
	"device_id,ecu,target,state,sha256,installed_at,bundle,last_report,attacks,support_ends" ]
check "--csv: rows agree with --json; a formula from a device is defused" \
	$PY - "$tmp/all.csv" "$tmp/all.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
js = json.load(open(sys.argv[2]))
assert len(rows) == len(js) == 9
for c, j in zip(rows, js):
    assert c["device_id"] == j["device_id"] and c["target"] == (j["target"] or "")
    assert c["attacks"] == str(len(j["attacks"]))
d = [r for r in rows if r["device_id"] == "VIN-D"][0]
assert d["bundle"] == "'=HYPERLINK(\"http://x.invalid\")\\x1b[2J", d["bundle"]
PY
show >"$tmp/all.txt"
check "table: a header and one line per row" [ "$(wc -l <"$tmp/all.txt")" -eq 10 ]
check "table: no raw escape from a report reaches the terminal" bash -c \
	"! grep -q $'\x1b' '$tmp/all.txt' && grep -qF '\\x1b[2J' '$tmp/all.txt'"
check "--json and --csv: no raw escape either" bash -c \
	"! grep -q $'\x1b' '$tmp/all.csv' '$tmp/all.json' && grep -qiF '\\u001b[2J' '$tmp/all.json'"
"$BUNDLE" reports show --ledger "$L" --at 2026-02-30 >/dev/null 2>&1
check "--at with a bad date: exit 2" [ $? -eq 2 ]
"$BUNDLE" reports show --ledger "$L" --support-ends-within -5 >/dev/null 2>&1
check "--support-ends-within -5: exit 2" [ $? -eq 2 ]
"$BUNDLE" reports show --ledger "$tmp/none.db" >/dev/null 2>&1
check "show on a missing ledger: exit 2" [ $? -eq 2 ]
finish
