#!/usr/bin/env bash
# Fleet ledger ingest: 10 000 signed reports (100 devices x 100 reports, 2 ECUs each, made once
# by the independent Python producer into build/bench-ledger/) ingested into a fresh ledger by
# the release build. Target: under 5 s. Also times the same stick again (all duplicates) and
# `reports show --json`.
#   tests/bench/bench_ledger.sh [BUILDDIR]     (default build/release)
set -u
builddir=${1:-build/release}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
BUNDLE=$top/$builddir/uptane-bundle
PY=/usr/bin/python3
gen=tests/cli/ledger_reports.py
data=$top/build/bench-ledger
devices=100 per_device=100 limit_ms=5000
[ -x "$BUNDLE" ] || { echo "not ok - $BUNDLE is not built"; exit 1; }

stamp="$(sha256sum "$gen" | cut -c1-16) $devices $per_device"
if [ "$(cat "$data/stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$data"
	mkdir -p "$data"
	t0=$(date +%s%N)
	$PY "$gen" bulk "$data" "$devices" "$per_device" || { echo "not ok - generating reports"; exit 1; }
	echo "generated $((devices * per_device)) signed reports in $((($(date +%s%N) - t0) / 1000000)) ms (Python, once)"
	echo "$stamp" >"$data/stamp"
fi
n=$(find "$data/stick/uptane-reports" -name '*.json' | wc -l)

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
rm -f "$data/ledger.db"
"$BUNDLE" devices import --ledger "$data/ledger.db" "$data/devices.csv" >/dev/null || exit 1
sync
load=$(cut -d' ' -f1 /proc/loadavg)
TIMEFORMAT='%U %S'
t0=$(date +%s%N)
{ time "$BUNDLE" reports ingest "$data/stick" --ledger "$data/ledger.db" >"$data/ingest.out"; } 2>"$data/ingest.time"
st=$? ingest_ms=$(ms "$t0")
out=$(cat "$data/ingest.out")
read -r user sys <"$data/ingest.time"
t0=$(date +%s%N)
again=$("$BUNDLE" reports ingest "$data/stick" --ledger "$data/ledger.db")
again_ms=$(ms "$t0")
t0=$(date +%s%N)
rows=$("$BUNDLE" reports show --ledger "$data/ledger.db" --json | grep -c '"device_id"')
show_ms=$(ms "$t0")

echo "ingest of $n reports: $ingest_ms ms ($out) [target < $limit_ms ms]"
echo "  cpu: ${user}s user + ${sys}s sys on $(nproc) cores; load average before: $load"
echo "same stick again:     $again_ms ms ($again)"
echo "reports show --json:  $show_ms ms ($rows rows)"
if [ "$st" -eq 0 ] && [ "$out" = "$n accepted, 0 duplicate, 0 rejected" ] &&
	[ "$again" = "0 accepted, $n duplicate, 0 rejected" ] && [ "$n" -eq 10000 ] &&
	[ "$ingest_ms" -lt "$limit_ms" ]; then
	echo "ok - ledger ingest: 10000 reports in $ingest_ms ms"
else
	echo "not ok - ledger ingest: 10000 reports in $ingest_ms ms"
	exit 1
fi
