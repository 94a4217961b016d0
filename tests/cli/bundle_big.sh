#!/usr/bin/env bash
# Big images and split volumes: a 5 GiB sparse image (random regions at the start, across the
# 4 GiB boundary and at the end) round-trips through target add, create with split volumes,
# verify (which streams all 5 GiB through zstd and both hashes) and inspect, with 64-bit sizes
# everywhere; volume rules (name.uptane.000, .001.., each at most SIZE, a plain byte split of
# one tar) on a smaller bundle, with a missing and a damaged volume refused.
source "$(dirname "$0")/lib.bash"
setup bundle
cd "$tmp" || exit 1
avail=$(df -Pk . | awk 'NR == 2 {print $4}')
if [ "$avail" -lt $((2 * 1024 * 1024)) ]; then
	not_ok "needs 2 GiB free in $(pwd) (sparse files)"
	finish
fi

std_keys k && std_init k ws >/dev/null || { not_ok "init"; finish; }
G5=$((5 * 1024 * 1024 * 1024))
truncate -s $G5 big.img
dd if=/dev/urandom of=big.img bs=1M count=4 conv=notrunc status=none
dd if=/dev/urandom of=big.img bs=1M count=4 seek=4094 conv=notrunc status=none
dd if=/dev/urandom of=big.img bs=1M count=4 seek=5116 conv=notrunc status=none
check "target add of a 5 GiB image" "$BUNDLE" target add ws big.img --hardware-id hw --release-counter 5
check "  ... length recorded as 5368709120" bash -c "[ \"\$($PY -c 'import json; print(json.load(open(\"ws/workspace.json\"))[\"targets\"][\"big.img\"][\"length\"])')\" = $G5 ]"
"$BUNDLE" assign ws --device V1 --ecu e=big.img >/dev/null
check "create --split-size 4M" "$BUNDLE" create ws -o big.uptane --split-size 4M --threads 2
check "  ... no single file, volumes .000 .001 ..." bash -c '[ ! -e big.uptane ] && [ -e big.uptane.000 ] && [ -e big.uptane.002 ]'
check "  ... every volume at most 4 MiB" bash -c 'for f in big.uptane.*; do [ $(stat -c %s $f) -le 4194304 ] || exit 1; done'
check "  ... the volumes are one tar split by bytes (Python tarfile reads the concatenation)" bash -c "cat big.uptane.* | $PY -c '
import sys, tarfile
t = tarfile.open(fileobj=sys.stdin.buffer, mode=\"r|\")
names = [m.name for m in t]
assert names[0] == \"bundle.json\" and names[-1] == \"images/big.img\", names'"
device_config d ws V1 e:hw
out=$("$BUNDLE" verify big.uptane --config d/device.json)
check "verify streams the 5 GiB image from the volumes: ok" bash -c "[ $? -eq 0 ] && [[ '$out' == *'e <- big.img (5368709120 bytes, release 5)'* ]]"
"$BUNDLE" inspect big.uptane.000 --json >i.json
check "inspect (by the .000 name): 64-bit length, compressed size, bundle.json hint" $PY -c '
import json, sys
d = json.load(open("i.json"))
im = d["images"][0]
assert im["name"] == "big.img" and im["length"] == 5368709120, im
assert 12 * 2**20 < im["compressed_length"] < 13 * 2**20, im' 
tar xOf big.uptane.000 bundle.json >bj.json 2>/dev/null || cat big.uptane.* | tar xOf - bundle.json >bj.json
check "bundle.json lists length 5368709120" bash -c "grep -q '\"length\": 5368709120' bj.json"
check "create --split-size 1G (FAT32-style volumes)" "$BUNDLE" create ws -o big1g.uptane --split-size 1G
check "  ... one volume, under 1 GiB" bash -c '[ -e big1g.uptane.000 ] && [ ! -e big1g.uptane.001 ] && [ $(stat -c %s big1g.uptane.000) -lt 1073741824 ]'
check "  ... inspect shows the 5 GiB image" bash -c "'$BUNDLE' inspect big1g.uptane | grep -q 'big.img  5368709120 bytes'"
rm -f big.img

# Split rules on a smaller bundle (fast to verify).
head -c $((5 * 1024 * 1024)) /dev/urandom >mid.img
"$BUNDLE" target add ws mid.img --hardware-id hw >/dev/null
"$BUNDLE" assign ws --device V1 --ecu e=mid.img >/dev/null
check "create --split-size 1M" "$BUNDLE" create ws -o mid.uptane --split-size 1M
n=$(ls mid.uptane.* | wc -l)
check "  ... $n volumes of at most 1 MiB" bash -c "[ $n -ge 5 ] && for f in mid.uptane.*; do [ \$(stat -c %s \$f) -le 1048576 ] || exit 1; done"
check "verify by the base name" "$BUNDLE" verify mid.uptane --config d/device.json
check "verify by the .000 name" "$BUNDLE" verify mid.uptane.000 --config d/device.json
mkdir -p gap && cp mid.uptane.* gap/ && rm gap/mid.uptane.002
check "a missing middle volume -> rejected (exit 4)" expect_exit 4 "$BUNDLE" verify gap/mid.uptane --config d/device.json
mkdir -p dmg && cp mid.uptane.* dmg/
$PY - dmg/mid.uptane.003 <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(500000); b = f.read(1); f.seek(500000); f.write(bytes([b[0] ^ 0xff]))
PY
check "a damaged byte in volume 3 (image data) -> arbitrary-software" verify_class dmg/mid.uptane d/device.json arbitrary-software
finish
