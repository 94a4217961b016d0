#!/usr/bin/env bash
# Widths that differ on 32-bit devices (armhf: 32-bit size_t, and off_t/time_t 64-bit only
# because we build with -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64; see docs/integration.md). Runs
# natively in make test and on arm64/armhf under qemu-user in make test-cross:
#   - metadata expiring in 2040 (past 2038, the end of a 32-bit time_t) installs with today's
#     clock and is refused as expired with a clock in 2041;
#   - an image over 4 GiB (sparse source, streamed) installs byte for byte with its length (on
#     32-bit builds: UPT_OVER_4G=1);
#   - sizes declared above 4 GiB (SIZE_MAX on 32-bit) are refused as such, never truncated to
#     their low 32 bits (which would be the real, valid size): a metadata member and an image
#     member whose tar header says 4 GiB more (the bundle is a sparse file), an image whose
#     signed length is 4 GiB more than its bytes.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
source "$(dirname "$0")/install_lib.bash"
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
G4=$((1 << 32))
avail=$(df -Pk . | awk 'NR == 2 {print $4}')
if [ "$avail" -lt $((6 * 1024 * 1024)) ]; then
	not_ok "needs 6 GiB free in $(pwd) (the installed 4 GiB image)"
	finish
fi
B() { "$BUNDLE" "$@" >/dev/null; }

# ---- metadata expiring in 2040 ----
std_keys k && std_init k ws --expires image-repo/root=15y --expires director/root=15y >/dev/null ||
	{ not_ok "init"; finish; }
WS=$tmp/ws
KEYS=$tmp/k
mkimage m1.bin 100000 m1
B target add ws m1.bin --hardware-id board-a --release-counter 1
B assign ws --device VIN-32 --ecu main=m1.bin
check "bundler: a bundle expiring in 14 years" "$BUNDLE" create ws -o y2040.uptane --device VIN-32 --expires 14y
check "  ... every metadata file expires in 2040 or later (past 2038)" $PY - y2040.uptane <<'PY'
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    exp = [json.load(t.extractfile(m))["signed"]["expires"] for m in t.getmembers()
           if m.name.startswith("metadata/") and m.isfile()]
sys.exit(not exp or min(exp) < "2040-")
PY
dev=$tmp/dev
device_json "$dev" VIN-32 main "$(file_ecu main board-a targets/m1.bin)"
mkdir -p "$dev/targets"
code=$(run_install o1 "$dev" install "$tmp/y2040.uptane")
expect_result "2040 expiry, today's clock: installed" o1 "$code" 0 installed null
check "  ... the image is in place" cmp -s "$dev/targets/m1.bin" m1.bin
code=$(cd "$dev" && ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 faketime -f '@2041-01-01 00:00:00' "$INSTALL" --config device.json --json install "$tmp/y2040.uptane" >"$tmp/o2" 2>"$tmp/o2.err"; echo $?)
expect_result "2040 expiry, a clock in 2041: expired (freeze)" o2 "$code" 4 rejected freeze

# ---- an image over 4 GiB ----
# Where size_t has 32 bits (tests/cross/run sets UPT_OVER_4G=1 for armhf): 4 GiB are decompressed,
# hashed and written, minutes under emulation. 64-bit builds stream 5 GiB in bundle_big and
# test_bundle_large.
if [ "${UPT_OVER_4G:-0}" = 1 ]; then
	BIG=$((G4 + 4096 + 123))
	truncate -s $BIG big.img
	dd if=/dev/urandom of=big.img bs=4096 count=2 conv=notrunc status=none
	dd if=/dev/urandom of=big.img bs=4096 count=2 seek=$((G4 / 4096 - 1)) conv=notrunc status=none
	printf 'the last bytes' | dd of=big.img bs=1 seek=$((BIG - 14)) conv=notrunc status=none
	B target add ws big.img --hardware-id board-a --release-counter 2
	B assign ws --device VIN-32 --ecu main=big.img
	check "bundler: a bundle of a 4 GiB + 4219 bytes image" "$BUNDLE" create ws -o big.uptane --device VIN-32 --expires 30d
	device_json "$dev" VIN-32 main "$(file_ecu main board-a targets/big.img)"
	code=$(run_install o3 "$dev" install "$tmp/big.uptane")
	expect_result "the image over 4 GiB: installed" o3 "$code" 0 installed null
	check "  ... $BIG bytes in place, byte for byte" \
		bash -c "[ \$(stat -c %s '$dev/targets/big.img') = $BIG ] && cmp -s '$dev/targets/big.img' big.img"
	rm -f "$dev/targets/big.img" big.img
else
	skip "the image over 4 GiB: runs on 32-bit builds (UPT_OVER_4G=1, make test-cross)"
fi

# ---- sizes declared over 4 GiB ----
# widen SRC DST MEMBER: MEMBER's tar header declares 4 GiB more than its bytes (pax size),
# the rest of the member a hole: the bundle is a sparse file of 4 GiB and a little.
widen() {
	$PY - "$@" <<'PY'
import sys, tarfile
src, dst, name = sys.argv[1:4]
with tarfile.open(src) as t, open(dst, "wb") as out:
    for m in t.getmembers():
        data = t.extractfile(m).read() if m.isfile() else b""
        ti = tarfile.TarInfo(m.name)
        ti.type, ti.mode, ti.mtime, ti.size = m.type, m.mode, m.mtime, len(data)
        if m.name == name:
            ti.size = (1 << 32) + len(data)
        out.write(ti.tobuf(tarfile.PAX_FORMAT))
        out.write(data)
        out.seek(ti.size - len(data) + (-ti.size % 512), 1)
    out.write(b"\0" * 1024)
PY
}
mkimage m3.bin 50000 m3
B target add ws m3.bin --hardware-id board-a --release-counter 3
B assign ws --device VIN-32 --ecu main=m3.bin
B create ws -o small.uptane --device VIN-32 --expires 30d
device_json "$dev" VIN-32 main "$(file_ecu main board-a targets/m3.bin)"
before=$(state_snapshot "$dev")
check "sparse bundles: a member declared 4 GiB longer" widen small.uptane wide-meta.uptane metadata/image-repo/targets.json
code=$(run_install o4 "$dev" install "$tmp/wide-meta.uptane")
expect_result "a metadata member of 4 GiB + its length: over the metadata cap" o4 "$code" 4 rejected too-large
widen small.uptane wide-image.uptane images/m3.bin
code=$(run_install o5 "$dev" install "$tmp/wide-image.uptane")
# Its low 32 bits would be exactly the zstd frame; read as 4 GiB longer, the bytes after the
# frame are not zstd.
expect_result "an image member of 4 GiB + its length: read past its frame, refused" o5 "$code" 4 rejected malformed
check "  ... at compressed byte 50010 (the frame, then the hole)" grep -q 'not a zstd frame.* at compressed byte 50010"' o5
bundle_mutate small.uptane long.uptane length-plus $G4
code=$(run_install o6 "$dev" install "$tmp/long.uptane")
expect_result "an image signed as 4 GiB + its length: shorter than signed" o6 "$code" 4 rejected arbitrary-software
check "  ... the message has the whole signed length" grep -q 'shorter than its signed length of 4295017296"' o6
check "  ... the state is unchanged by all three" test "$(state_snapshot "$dev")" = "$before"
finish
