#!/usr/bin/env bash
# Writes the seed corpora of fuzz_bundle, fuzz_devconfig and fuzz_report from real artefacts:
# bundles the bundler makes (whole, split, multi-device, pax by Python's tarfile, and hostile
# variants), device configurations of every handler type, and reports the installer signs with
# tests/fuzz/seed/report-device.key. The seeds are committed; this is how they were made.
#   tests/fuzz/make_seeds.sh BUILDDIR   (e.g. build/asan)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
export UPT_BUILD=$top/${1:?usage: make_seeds.sh BUILDDIR}
source "$top/tests/cli/lib.bash"
source "$top/tests/cli/bundle_lib.bash"
source "$top/tests/cli/install_lib.bash"
set +e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
ws_setup "$tmp" || exit 1
WS=$tmp/ws
B() { "$BUNDLE" "$@" >/dev/null || { echo "make_seeds: uptane-bundle $* failed" >&2; exit 1; }; }
mkimage a.bin 3000 a
mkimage b.bin 70000 b
B target add ws a.bin --hardware-id board-a --release-counter 1
B target add ws b.bin --hardware-id mcu-x --release-counter 1
B assign ws --device VIN-1 --ecu main=a.bin
B create ws -o one.uptane --device VIN-1
# volumes cut anywhere (the bundler's are at least 1 MiB; the reader takes any cut)
split -b 3000 -d -a 3 one.uptane split.uptane.
B assign ws --device VIN-2 --ecu main=a.bin mcu=b.bin
B create ws -o multi.uptane --device VIN-1 --device VIN-2
KEYS=$tmp/k bundle_mutate one.uptane pax.uptane repack
KEYS=$tmp/k bundle_mutate one.uptane sym.uptane symlink
KEYS=$tmp/k bundle_mutate one.uptane dup.uptane duplicate
KEYS=$tmp/k bundle_mutate one.uptane tamper.uptane tamper-image a.bin
KEYS=$tmp/k bundle_mutate one.uptane endless.uptane endless a.bin

# fuzz_bundle: framed records (tests/fuzz/fuzz_format.h)
out=$top/tests/fuzz/corpus_bundle
mkdir -p "$out"
frame() { # frame OUT DEVICE LENGTH SHA256HEX VOLUME..
	/usr/bin/python3 - "$@" <<'PY'
import struct, sys
out, device, length, sha = sys.argv[1:5]
rec = lambda k, n, d: bytes([ord(k), len(n)]) + n + len(d).to_bytes(3, "big") + d
b = b"".join(rec("V", b"", open(v, "rb").read()) for v in sys.argv[5:])
if device:
    b += rec("D", device.encode(), b"")
b += rec("L", b"", struct.pack(">q", int(length))) + rec("H", b"", bytes.fromhex(sha))
open(out, "wb").write(b)
PY
}
sha=$(sha256sum a.bin | cut -c1-64)
len=$(stat -c %s a.bin)
frame "$out/one" "" "$len" "$sha" one.uptane
frame "$out/split" "" "$len" "$sha" split.uptane.0*
frame "$out/multi-vin2" VIN-2 "$len" "$sha" multi.uptane
frame "$out/multi-other" VIN-9 "$len" "$sha" multi.uptane
frame "$out/pax" "" "$len" "$sha" pax.uptane
# an empty image member: the reader's zstd start on zero bytes (finding 9 was NULL + 0 there)
/usr/bin/python3 - one.uptane empty.uptane <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1]) as t, tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as o:
    for m in t.getmembers():
        data = b"" if m.name.startswith("images/") else t.extractfile(m).read()
        m.size = len(data)
        o.addfile(m, io.BytesIO(data))
PY
for v in sym dup tamper endless empty; do frame "$out/$v" "" "$len" "$sha" $v.uptane; done

# fuzz_devconfig: configurations of each handler, and some that are refused
out=$top/tests/fuzz/corpus_devconfig
mkdir -p "$out"
cp "$top/samples/device.json" "$out/sample"
device_json d1 VIN-1 main "$(file_ecu main board-a /opt/app/main.bin)" && cp d1/device.json "$out/file"
ab='{"serial":"m","hardware_id":"board-a","install":{"type":"ab","slots":["/dev/vdc","/dev/vdd"],"activate":["/usr/bin/fw_setenv","slot","{slot}"],"confirm":["/bin/true","{device}"],"timeout_seconds":30}}'
ex='{"serial":"x","hardware_id":"mcu-x","install":{"type":"exec","command":["/usr/bin/flash","{image}"]}}'
device_json d2 VIN-2 m "$ab" "$ex" && cp d2/device.json "$out/ab-exec"
printf '{"device_id":"VIN-1"}' >"$out/missing-fields"
sed 's/"state_dir": "state"/"state_dir": 5/' d1/device.json >"$out/bad-type"

# fuzz_report: reports signed with the seed device key (installed, up to date, rejected)
out=$top/tests/fuzz/corpus_report
mkdir -p "$out"
mkdir -p dev/targets
device_json dev VIN-1 main "$(file_ecu main board-a targets/main.bin)"
cp "$top/tests/fuzz/seed/report-device.key" dev/device.key
(cd dev && "$INSTALL" --config device.json install "$tmp/tamper.uptane" >/dev/null 2>&1
	"$INSTALL" --config device.json install "$tmp/one.uptane" >/dev/null 2>&1
	"$INSTALL" --config device.json install "$tmp/one.uptane" >/dev/null 2>&1)
for f in dev/state/reports/*.json; do cp "$f" "$out/report-$(basename "$f")"; done
ls "$top"/tests/fuzz/corpus_{bundle,devconfig,report} | wc -l
