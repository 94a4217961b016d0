#!/usr/bin/env bash
# uptane-bundle end to end: workspace -> create -> verify (the installer's engine, dry) -> the
# bundle's layout; then tampering (an image byte, a metadata byte, members reordered, a member
# dropped: rewritten with Python's tarfile) must fail verify with the right class; consecutive
# creates sign strictly increasing versions; a device that is not addressed gets exit 3.
source "$(dirname "$0")/lib.bash"
setup bundle
cd "$tmp" || exit 1

std_keys k || { not_ok "key generate"; finish; }
check "init" std_init k ws
head -c 300000 /dev/urandom >main.bin
head -c 100000 /usr/bin/bash >aux.bin
check "target add main" "$BUNDLE" target add ws main.bin --name fw/main-1.0.bin --hardware-id board-a --release-counter 3
check "target add aux" "$BUNDLE" target add ws aux.bin --hardware-id board-b --release-counter 7
check "assign" "$BUNDLE" assign ws --device VIN-1 --ecu ecu-main=fw/main-1.0.bin ecu-aux=aux.bin
check "create" "$BUNDLE" create ws -o b1.uptane
device_config dev ws VIN-1 ecu-main:board-a ecu-aux:board-b
out=$("$BUNDLE" verify b1.uptane --config dev/device.json)
check "verify: created bundle verifies (exit 0)" [ $? -eq 0 ]
check "verify: names both ECUs' images" bash -c "[[ '$out' == *'ecu-main <- fw/main-1.0.bin'* && '$out' == *'ecu-aux <- aux.bin'* ]]"
check "verify wrote nothing to the device state" [ ! -e dev/state ]

# Layout (docs/bundle-format.md): bundle.json first, all metadata before any image.
tar tf b1.uptane >members
check "layout: bundle.json is the first member" [ "$(head -1 members)" = bundle.json ]
check "layout: metadata before images" $PY -c '
import sys
m = open(sys.argv[1]).read().split()
kinds = [0 if x.startswith("metadata/") else 1 for x in m[1:]]
sys.exit(kinds != sorted(kinds))' members
check "layout: single-device Director files" grep -qx metadata/director/targets.json members
check "layout: roots, timestamps, image" bash -c 'grep -qx metadata/director/1.root.json members &&
	grep -qx metadata/image-repo/1.root.json members && grep -qx metadata/image-repo/timestamp.json members &&
	grep -qx metadata/director/timestamp.json members && grep -qx images/fw/main-1.0.bin members'
tar xOf b1.uptane bundle.json >bj.json
check "bundle.json pinned fields" $PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "uptane-offline-bundle" and d["version"] == 1 and d["kind"] == "device"
assert d["devices"] == ["VIN-1"] and d["created"].endswith("Z") and len(d["created"]) == 20
imgs = {i["name"]: i for i in d["images"]}
assert imgs["fw/main-1.0.bin"]["length"] == 300000 and imgs["fw/main-1.0.bin"]["path"] == "images/fw/main-1.0.bin"
assert imgs["aux.bin"]["compressed_length"] < 100000' bj.json
tar xOf b1.uptane metadata/director/timestamp.json >dts.json
tar xOf b1.uptane metadata/director/targets.json >dtg.json
check "Director timestamp carries issued; targets carry deviceId and ECU bindings" $PY -c '
import json, sys
ts = json.load(open(sys.argv[1]))["signed"]; tg = json.load(open(sys.argv[2]))["signed"]
assert ts["issued"].endswith("Z") and tg["deviceId"] == "VIN-1"
t = tg["targets"]["fw/main-1.0.bin"]
assert t["custom"]["ecuIdentifiers"] == {"ecu-main": {"hardwareId": "board-a"}}
assert t["custom"]["releaseCounter"] == 3 and set(t["hashes"]) == {"sha256", "sha512"}' dts.json dtg.json
tar xOf b1.uptane images/aux.bin | zstd -dc >aux.out 2>/dev/null
check "image member is a zstd frame of the image" cmp -s aux.out aux.bin

# Inspect: sizes and who gets what.
"$BUNDLE" inspect b1.uptane --json >i1.json
check "inspect --json: kind, images with sizes, assignments" $PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "device" and d["devices"] == ["VIN-1"]
im = {i["name"]: i for i in d["images"]}
assert im["fw/main-1.0.bin"]["length"] == 300000 and im["fw/main-1.0.bin"]["compressed_length"] > 0
a = {(x["device"], x["ecu"], x["target"]) for x in d["assignments"]}
assert a == {("VIN-1", "ecu-main", "fw/main-1.0.bin"), ("VIN-1", "ecu-aux", "aux.bin")}' i1.json
check "inspect (human)" bash -c "'$BUNDLE' inspect b1.uptane | grep -q 'device VIN-1 ECU ecu-aux (board-b) -> aux.bin'"

# Consecutive creates: every online role strictly newer; the offline Image targets, unchanged,
# the same file (no second signing: docs/bundle-format.md, "Versions").
check "second create" "$BUNDLE" create ws -o b2.uptane
"$BUNDLE" inspect b2.uptane --json >i2.json
check "second bundle: Director and Image snapshot/timestamp versions strictly greater, Image targets the same" $PY -c '
import json, sys
a = {m["path"]: m["version"] for m in json.load(open(sys.argv[1]))["metadata"]}
b = {m["path"]: m["version"] for m in json.load(open(sys.argv[2]))["metadata"]}
assert a.keys() == b.keys()
for p in a:
    if p.endswith(".root.json") or p == "metadata/image-repo/targets.json":
        assert a[p] == b[p], (p, a[p], b[p])
    else:
        assert b[p] > a[p], (p, a[p], b[p])' i1.json i2.json
check "second bundle: the Image targets file is byte for byte the first bundle's" bash -c \
	"cmp -s <(tar -xOf b1.uptane metadata/image-repo/targets.json) <(tar -xOf b2.uptane metadata/image-repo/targets.json)"
check "second bundle verifies" "$BUNDLE" verify b2.uptane --config dev/device.json

# Tampering, each rewritten with Python's tarfile; "same" proves the rewrite itself is neutral.
retar b1.uptane same.uptane same
check "python tarfile rewrite unchanged still verifies" "$BUNDLE" verify same.uptane --config dev/device.json
retar b1.uptane t-img.uptane tamper-image aux.bin
check "tampered image byte -> arbitrary-software" verify_class t-img.uptane dev/device.json arbitrary-software
cp b1.uptane t-raw.uptane
$PY - t-raw.uptane <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = t.getmember("images/fw/main-1.0.bin")
with open(sys.argv[1], "r+b") as f:
    f.seek(m.offset_data + m.size // 2); b = f.read(1)
    f.seek(m.offset_data + m.size // 2); f.write(bytes([b[0] ^ 0x40]))
PY
check "flipped byte inside a stored image member -> arbitrary-software" verify_class t-raw.uptane dev/device.json arbitrary-software
retar b1.uptane t-dts.uptane tamper-meta metadata/director/timestamp.json
check "tampered Director timestamp byte -> arbitrary-software" verify_class t-dts.uptane dev/device.json arbitrary-software
retar b1.uptane t-itg.uptane tamper-meta metadata/image-repo/targets.json
check "tampered Image targets byte (pinned by snapshot) -> mix-and-match" verify_class t-itg.uptane dev/device.json mix-and-match
retar b1.uptane t-ord.uptane image-first
check "image member before metadata -> malformed" verify_class t-ord.uptane dev/device.json malformed
retar b1.uptane t-drop.uptane drop metadata/director/snapshot.json
check "dropped Director snapshot -> rejected" expect_exit 4 "$BUNDLE" verify t-drop.uptane --config dev/device.json
head -c 5000 b1.uptane >t-trunc.uptane
check "truncated bundle -> malformed" verify_class t-trunc.uptane dev/device.json malformed

# Not addressed to this device: exit 3 and says whom it is for.
device_config other ws VIN-2 ecu-main:board-a
out=$("$BUNDLE" verify b1.uptane --config other/device.json)
rc=$?
check "another device: exit 3 (not for this device)" [ $rc -eq 3 ]
check "another device: message names VIN-1" bash -c "[[ '$out' == *VIN-1* ]]"
# A device provisioned with other roots refuses it.
std_keys k2 && std_init k2 ws2 >/dev/null
device_config alien ws2 VIN-1 ecu-main:board-a ecu-aux:board-b
check "device with other provisioned roots -> arbitrary-software" verify_class b1.uptane alien/device.json arbitrary-software
# --at: the clock the checks use (the Director timestamp lives 30 days).
check "verify --at 10 days later: ok" "$BUNDLE" verify b1.uptane --config dev/device.json --at "$(date -u -d '+10 days' +%Y-%m-%dT%H:%M:%SZ)"
check "verify --at 40 days later: freeze" bash -c "out=\$('$BUNDLE' verify b1.uptane --config dev/device.json --at $(date -u -d '+40 days' +%Y-%m-%dT%H:%M:%SZ)); [ \$? -eq 4 ] && [[ \$out == *'(freeze)'* ]]"
check "verify --json result line" bash -c "'$BUNDLE' verify t-img.uptane --config dev/device.json --json | $PY -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d[\"status\"]==\"rejected\" and d[\"reason\"]==\"arbitrary-software\" and d[\"file\"]==\"images/aux.bin\"'"
check "verify: missing config root -> exit 2" bash -c "rm -f dev2/x; mkdir -p dev2 && sed 's/director-root.json/nope.json/' dev/device.json >dev2/device.json && cp dev/image-root.json dev2/; '$BUNDLE' verify b1.uptane --config dev2/device.json >/dev/null 2>&1; [ \$? -eq 2 ]"
finish
