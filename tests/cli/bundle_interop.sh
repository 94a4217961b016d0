#!/usr/bin/env bash
# Independent implementations read what uptane-bundle writes:
#  - tuf-js (npm, tests/interop/tufjs-bundle) runs the TUF client workflow over the Image
#    repository inside a created bundle (root rotation 1 -> 2, a delegation) and downloads
#    each image, checking length and both hashes; a tampered targets file is refused;
#  - securesystemslib (Debian python3-securesystemslib) verifies every signature, threshold,
#    key id and hash pin of both repositories in device, multi-device and fleet bundles;
#  - Python's tarfile and the zstd CLI read the container.
source "$(dirname "$0")/lib.bash"
setup bundle
tufjs=$UPT_TOP/tests/interop/tufjs-bundle
sslib=$UPT_TOP/tests/interop/bundle_sslib.py
cd "$tmp" || exit 1

std_keys k && keys k sup root2 || { not_ok "key generate"; finish; }
std_init k ws >/dev/null
head -c 150000 /dev/urandom >a.bin
head -c 40000 /usr/bin/env >s.bin
"$BUNDLE" delegate ws --role supplier --key k/sup.key --path 'sup/*' >/dev/null
"$BUNDLE" target add ws a.bin --name fw/a-1.bin --hardware-id board-a --release-counter 1 >/dev/null
"$BUNDLE" target add ws s.bin --name sup/s-1.bin --hardware-id sensor-y --role supplier >/dev/null
"$BUNDLE" assign ws --device VIN-1 --ecu m=fw/a-1.bin s=sup/s-1.bin >/dev/null
"$BUNDLE" assign ws --device VIN-2 --ecu m=fw/a-1.bin >/dev/null
"$BUNDLE" assign ws --hardware-id board-a=fw/a-1.bin >/dev/null
"$BUNDLE" create ws -o first.uptane --device VIN-1 >/dev/null
"$BUNDLE" rotate ws --role image-repo/root --key k/root2.key >/dev/null
check "device bundle (after a root rotation)" "$BUNDLE" create ws -o dev.uptane --device VIN-1
check "multi-device bundle" "$BUNDLE" create ws -o multi.uptane --device VIN-1 VIN-2
check "fleet bundle" "$BUNDLE" create ws -o fleet.uptane --fleet f1

# extract BUNDLE DIR: members with Python's tarfile, images decompressed with the zstd CLI
extract() {
	mkdir -p "$2"
	$PY -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2" || return 1
	find "$2/images" -type f | while read -r f; do zstd -dq -f "$f" -o "$f.raw" && mv "$f.raw" "$f" || exit 1; done
}
check "extract device bundle (tarfile + zstd)" extract dev.uptane dev
check "  ... images decompress to the originals" bash -c 'cmp -s dev/images/fw/a-1.bin a.bin && cmp -s dev/images/sup/s-1.bin s.bin'

# tuf-js
if [ ! -d "$tufjs/node_modules/tuf-js" ]; then
	(cd "$tufjs" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) || true
fi
if [ -d "$tufjs/node_modules/tuf-js" ]; then
	out=$(node "$tufjs/image_repo.mjs" dev ws/metadata/image-repo/1.root.json fw/a-1.bin sup/s-1.bin)
	rc=$?
	echo "$out"
	check "tuf-js: refresh from root v1 (rotation to v2), both images downloaded and verified" bash -c "[ $rc -eq 0 ] && [[ '$out' == *'\"refreshed\":true'* && '$out' == *'\"sup/s-1.bin\":{\"length\":40000'* ]]"
	out=$(node "$tufjs/image_repo.mjs" dev ws/metadata/image-repo/1.root.json fw/not-there.bin)
	check "tuf-js: an unknown target is not found" bash -c "[[ '$out' == *'not found'* ]]"
	cp -r dev dev-bad
	sed -i 's/"releaseCounter":1/"releaseCounter":9/' dev-bad/metadata/image-repo/targets.json
	out=$(node "$tufjs/image_repo.mjs" dev-bad ws/metadata/image-repo/1.root.json fw/a-1.bin)
	rc=$?
	echo "$out"
	check "tuf-js: a tampered targets file is refused" bash -c "[ $rc -ne 0 ] && [[ '$out' == *error* ]]"
	cp -r dev dev-bad2
	head -c 150000 /dev/urandom >dev-bad2/images/fw/a-1.bin
	out=$(node "$tufjs/image_repo.mjs" dev-bad2 ws/metadata/image-repo/1.root.json fw/a-1.bin)
	check "tuf-js: an image with other bytes is refused" bash -c "[ $? -ne 0 ] || [[ '$out' == *error* ]]"
	mkdir -p other && std_keys ok2 && std_init ok2 other/ws >/dev/null
	out=$(node "$tufjs/image_repo.mjs" dev other/ws/metadata/image-repo/1.root.json fw/a-1.bin)
	check "tuf-js: another trusted root refuses the repository" bash -c "[[ '$out' == *error* ]]"
else
	not_ok "tuf-js is not installed (cd tests/interop/tufjs-bundle && npm ci)"
fi

# securesystemslib
if $PY -c 'import securesystemslib' 2>/dev/null; then
	check "securesystemslib: device bundle signatures, thresholds, key ids, pins" $PY "$sslib" dev
	check "securesystemslib: multi-device bundle" bash -c "$PY -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' multi.uptane multi && $PY '$sslib' multi"
	check "securesystemslib: fleet bundle" bash -c "$PY -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' fleet.uptane fleet && $PY '$sslib' fleet"
	check "securesystemslib: the tampered targets file fails" bash -c "! $PY '$sslib' dev-bad >/dev/null"
	cp -r dev dev-bad3
	$PY - dev-bad3/metadata/director/timestamp.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["signed"]["issued"] = "2001-01-01T00:00:00Z"; json.dump(d, open(sys.argv[1], "w"))
PY
	check "securesystemslib: a changed Director timestamp fails" bash -c "! $PY '$sslib' dev-bad3 >/dev/null"
	# Our key files are securesystemslib's format: it signs, we verify (uptane-bundle sign
	# reads a key file securesystemslib wrote).
	$PY - k/targets.key ss.key <<'PY'
import json, sys
from securesystemslib.keys import generate_ed25519_key
k = generate_ed25519_key()
json.dump({"keytype": k["keytype"], "scheme": k["scheme"], "keyid_hash_algorithms": ["sha256", "sha512"],
           "keyval": {"public": k["keyval"]["public"], "private": k["keyval"]["private"]}}, open(sys.argv[2], "w"))
PY
	chmod 600 ss.key
	check "uptane-bundle signs with a key file securesystemslib generated" "$BUNDLE" sign dev/metadata/director/targets.json --key ss.key
else
	not_ok "python3-securesystemslib is not installed (make deps)"
fi
finish
