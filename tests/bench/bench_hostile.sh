#!/usr/bin/env bash
# Hostile-metadata benchmark (make bench): the installer's peak RSS on bundles whose metadata
# was made to cost memory, side by side with the genuine bundle they came from. Goal: every one
# below 16 MiB (VmHWM). Before the parse was bounded, ~1 MiB of "[{},{},...]" inside two
# metadata files peaked at 165 MB (docs/threat-model.md, "Metadata that costs memory").
#   - genuine:      a 4 MiB image, as the dealer gets it (installs)
#   - junk:         900 KB of empty objects in two files (refused before any parse)
#   - padded:       every metadata file padded with whitespace to just under the device's cap
#                   on bytes plus parsed trees (read, parsed, rejected by hash)
#   - dense trees:  both timestamps just under the per-file tree cap (parsed, then rejected)
#   tests/bench/bench_hostile.sh BUILDDIR
set -u
builddir=${1:?usage: bench_hostile.sh BUILDDIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
export UPT_BUILD=$top/$builddir
REF=$top/$builddir/bench/ref_pipeline
[ -x "$REF" ] || { echo "bench_hostile: $REF is missing (make bench builds it)"; exit 1; }
source tests/cli/lib.bash
source tests/cli/bundle_lib.bash
source tests/cli/install_lib.bash
w=$(mktemp -d /var/tmp/upt-bench-hostile.XXXXXX)
trap 'rm -rf "$w"' EXIT
cd "$w" || exit 1
ws_setup "$w" >/dev/null || { echo "bench_hostile: workspace failed"; exit 1; }
WS=$w/ws
B() { "$BUNDLE" "$@" >/dev/null || { echo "bench_hostile: uptane-bundle $* failed"; exit 1; }; }
"$REF" gen main.bin $((4 << 20)) 7
B target add ws main.bin --hardware-id board-a --release-counter 1
B assign ws --device VIN-1 --ecu main=main.bin
B create ws -o genuine.uptane --device VIN-1
nmeta=$(tar tf genuine.uptane | grep -c '^metadata/.*\.json$')
# padded: bytes up to ~7.5 MiB in all (the cap is 8 MiB with the trees), at most 1 MiB a file
pad=$(( (15 << 19) / nmeta )); [ "$pad" -gt $(( (1 << 20) - 8192 )) ] && pad=$(( (1 << 20) - 8192 ))
KEYS=$w/k bundle_mutate genuine.uptane junk.uptane junk 900000
KEYS=$w/k bundle_mutate genuine.uptane padded.uptane pad "$pad"
KEYS=$w/k bundle_mutate genuine.uptane dense.uptane junk-ts 45000

fail=0
printf '%-12s %10s %6s  %s\n' bundle "peak KiB" exit "result"
for b in genuine junk padded dense; do
	rm -rf dev && mkdir -p dev/targets
	device_json dev VIN-1 main "$(file_ecu main board-a targets/main.bin)"
	out=$("$REF" run "$INSTALL" --config dev/device.json --json install "$b.uptane" 2>&1 >"$b.out" | tail -1)
	set -- $out
	res=$(tail -1 "$b.out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d.get("reason") or "")')
	printf '%-12s %10s %6s  %s\n' "$b" "$2" "$3" "$res"
	want=4; [ "$b" = genuine ] && want=0
	if [ "$3" != "$want" ]; then echo "  MISS  $b: exit $3, expected $want"; fail=1; fi
	if [ "$2" -ge 16384 ]; then echo "  MISS  $b: peak RSS $2 KiB >= 16 MiB"; fail=1; else echo "  ok    $b: peak RSS $2 KiB < 16 MiB"; fi
done
exit $fail
