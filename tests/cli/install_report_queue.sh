#!/usr/bin/env bash
# Reports that did not reach a stick go out with the next one (docs/reports.md, "Where"): an
# install from a bundle file and a stick that takes no report leave reports on the device; the
# next stick that takes one carries them, oldest first, each once, all signed.
source "$(dirname "$0")/lib.bash"
setup bundle install
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
B() { "$BUNDLE" "$@" >/dev/null; }
for i in 1 2 3; do
	mkimage main$i.bin 20000 m$i
	B target add ws main$i.bin --hardware-id board-a --release-counter $i
	B assign ws --device VIN-1 --ecu main=main$i.bin
	B create ws -o b$i.uptane --device VIN-1
done
dev=$tmp/dev
mkdir -p "$dev/targets"
device_json "$dev" VIN-1 main "$(file_ecu main board-a targets/main.bin)"
on_stick() { # on_stick DIR: the report numbers on the stick, space-separated
	ls "$1/uptane-reports/VIN-1" 2>/dev/null | sed -n 's/^\([0-9]*\)\.json$/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# 1: from a bundle file, no stick: report 1 stays on the device
code=$(run_install o1 "$dev" install "$tmp/b1.uptane")
expect_result "install from a file" o1 "$code" 0 installed null
check "report 1 kept on the device" test -f "$dev/state/reports/1.json"

# 2: a stick that cannot take a report (uptane-reports is a file): report 2 stays too
mkdir -p s2 && cp b2.uptane s2/ && : >s2/uptane-reports
code=$(run_install o2 "$dev" install "$tmp/s2")
expect_result "install from a stick that takes no report" o2 "$code" 0 installed null
check "its warning: report-not-on-medium" grep -q '"code":"report-not-on-medium"' o2

# 3: the next stick takes its own report and carries 1 and 2
mkdir -p s3 && cp b3.uptane s3/
code=$(run_install o3 "$dev" install "$tmp/s3")
expect_result "install from the next stick" o3 "$code" 0 installed null
check "the stick holds reports 1, 2 and 3 (got: $(on_stick s3))" test "$(on_stick s3)" = "1 2 3"
check "a report event for each, with its path on the stick" test "$(grep -c '"event":"report","path":"'"$tmp"'/s3/' o3)" = 3
ok=0
for n in 1 2 3; do report_ok "s3/uptane-reports/VIN-1/$n.json" "$dev/device.pub" && cmp -s "s3/uptane-reports/VIN-1/$n.json" "$dev/state/reports/$n.json" && ok=$((ok + 1)); done
check "each is the device's signed report, byte for byte (pynacl)" test "$ok" = 3
check "report 2 says why it is late: its own install, with the warning" \
	$PY -c 'import json,sys; s=json.load(open(sys.argv[1]))["signed"]; assert s["bundle"]["file"] == "b2.uptane", s' s3/uptane-reports/VIN-1/2.json

# 4: the next stick gets only its own report
mkdir -p s4 && cp b3.uptane s4/
code=$(run_install o4 "$dev" install "$tmp/s4")
expect_result "a stick with nothing new" o4 "$code" 3 up-to-date null
check "it holds report 4 only (got: $(on_stick s4))" test "$(on_stick s4)" = 4

# 5: the station reads the carried reports like any other
"$BUNDLE" devices add --ledger ledger.db --device VIN-1 --public-key "$dev/device.pub" >/dev/null 2>&1
"$BUNDLE" reports ingest s3 s4 --ledger ledger.db >ingest.out 2>&1
check "the station accepts the carried reports (4 accepted, 0 rejected)" grep -q '^4 accepted, 0 duplicate, 0 rejected' ingest.out ||
	sed 's/^/#   /' ingest.out
finish
