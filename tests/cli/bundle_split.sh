#!/usr/bin/env bash
# Split volumes as a user meets them: create names the volumes it wrote (with sizes), a
# --split-size above FAT32's file size limit is a usage error, and a volume missing from the
# set or given in place of the first one is named, in inspect, verify and uptane-install.
source "$(dirname "$0")/lib.bash"
setup bundle install
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage main1.bin 3500000 m1
"$BUNDLE" target add ws main1.bin --hardware-id board-a --release-counter 1 >/dev/null
"$BUNDLE" assign ws --device VIN-1 --ecu main=main1.bin >/dev/null

# ---- create lists what it wrote ----
out=$("$BUNDLE" create ws -o split.uptane --device VIN-1 --split-size 1M 2>&1)
check "create --split-size 1M: four volumes" test -f split.uptane.003 -a ! -e split.uptane.004
check "  ... the summary names the volumes, not split.uptane" \
	grep -q '^wrote .*/split.uptane.000 .. .003 (4 volumes): device bundle for VIN-1' <<<"$out"
for i in 000 001 002 003; do
	check "  ... lists split.uptane.$i with its size" \
		grep -qx "  .*/split.uptane.$i  $(stat -c %s split.uptane.$i) bytes" <<<"$out"
done
out=$("$BUNDLE" create ws -o one.uptane --device VIN-1 2>&1)
check "create without --split-size: wrote one.uptane" grep -q '^wrote .*/one.uptane: device bundle' <<<"$out"

# ---- FAT32: a volume holds at most 4 GiB - 1 ----
for size in 5G 4G 4294967296; do
	out=$("$BUNDLE" create ws -o big.uptane --device VIN-1 --split-size $size 2>&1)
	rc=$?
	check "create --split-size $size: exit 2" [ $rc -eq 2 ]
	check "  ... says the limit and why" \
		grep -q "split-size $size: at most 4294967295 bytes (4 GiB - 1, the largest file FAT32 holds" <<<"$out"
done
check "create --split-size 4294967295 (the limit) accepted" \
	expect_exit 0 "$BUNDLE" create ws -o max.uptane --device VIN-1 --split-size 4294967295
check "  ... one volume" test -f max.uptane.000 -a ! -e max.uptane.001
mkdir -p md && cp -r "$WS/metadata/." md/ 2>/dev/null
out=$("$BUNDLE" pack md . -o p.uptane --split-size 5G 2>&1)
check "pack --split-size 5G: exit 2 with the same reason" \
	bash -c '[ "$1" -eq 2 ] && grep -q "at most 4294967295 bytes" <<<"$2"' _ $? "$out"

device_config d ws VIN-1 main:board-a
dev=$tmp/dev
mkdir -p "$dev/targets"
echo factory >"$dev/targets/main.bin"
device_json "$dev" VIN-1 main "$(file_ecu main board-a targets/main.bin)"

# ---- the last volume missing (a stick copied in part) ----
mkdir -p last && cp split.uptane.00[012] last/
for c in inspect "verify --config d/device.json"; do
	# shellcheck disable=SC2086 # the command words split on purpose
	out=$("$BUNDLE" $c last/split.uptane 2>&1)
	rc=$?
	check "${c%% *} without .003: exit ${rc} names the missing volume" \
		grep -q 'last/split.uptane.003 is missing: the bundle has more volumes (it goes on after last/split.uptane.002)' <<<"$out"
	check "  ... not \"truncated tar archive\"" bash -c '! grep -qi "truncated" <<<"$1"' _ "$out"
done
code=$(run_install "$tmp/i-last" "$dev" install "$tmp/last/split.uptane.000")
expect_result "install without .003: rejected" "$tmp/i-last" "$code" 4 rejected malformed
check "  ... the installer names split.uptane.003 as missing" \
	grep -q 'split.uptane.003 is missing: the bundle has more volumes' "$tmp/i-last"
check "  ... the device runs factory still" grep -qx factory "$dev/targets/main.bin"

# ---- the last volume cut short (not a missing one) ----
mkdir -p short && cp split.uptane.00? short/ && truncate -s 100000 short/split.uptane.003
out=$("$BUNDLE" verify short/split.uptane --config d/device.json 2>&1)
rc=$?
check "verify with .003 cut short: exit 4 names it as incomplete" bash -c '[ "$1" -eq 4 ] &&
	grep -q "short/split.uptane.003 is incomplete: the archive ends inside it (100000 bytes, the volumes before it 1048576): copy it again" <<<"$2"' _ $rc "$out"
check "  ... and no volume is called missing" bash -c '! grep -q "missing" <<<"$1"' _ "$out"

# ---- a volume missing in the middle ----
mkdir -p gap && cp split.uptane.00[023] gap/
for c in inspect "verify --config d/device.json"; do
	# shellcheck disable=SC2086
	out=$("$BUNDLE" $c gap/split.uptane.000 2>&1)
	rc=$?
	check "${c%% *} without .001: exit 4, names the missing volume" \
		bash -c '[ "$1" -eq 4 ] && grep -q "gap/split.uptane.001 is missing: the bundle has more volumes (gap/split.uptane.002 is there)" <<<"$2"' _ $rc "$out"
done
code=$(run_install "$tmp/i-gap" "$dev" install "$tmp/gap")
check "install from a directory without .001: names it" grep -q 'split.uptane.001 is missing' "$tmp/i-gap"
check "  ... and fails (exit $code)" [ "$code" -ne 0 ]

# ---- a later volume given in place of the first ----
for c in inspect "verify --config d/device.json"; do
	# shellcheck disable=SC2086
	out=$("$BUNDLE" $c split.uptane.001 2>&1)
	rc=$?
	check "${c%% *} split.uptane.001: exit 2" [ $rc -eq 2 ]
	check "  ... says which volume it is and what to give" \
		grep -q 'split.uptane.001 is volume 2 of a split bundle: give the first volume, split.uptane.000 (or split.uptane)' <<<"$out"
done
code=$(run_install "$tmp/i-001" "$dev" install "$tmp/split.uptane.001")
check "install split.uptane.001: names the first volume" grep -q 'give the first volume, .*split.uptane.000' "$tmp/i-001" "$tmp/i-001.err"
code=$(run_install "$tmp/i-ok" "$dev" install "$tmp/split.uptane.000")
expect_result "the whole set installs" "$tmp/i-ok" "$code" 0 installed null
finish
