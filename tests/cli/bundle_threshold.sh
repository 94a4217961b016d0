#!/usr/bin/env bash
# Threshold and offline signing by separate people: a 2-of-3 Image-repo root and a 2-of-2
# targets role, produced on "two machines" (two workspace copies, two key sets): create
# --sign-later stages and lists who must sign what, `sign` adds signatures on the other
# machine, create --resume packs once every threshold is met. Also: --abort, a workspace
# changed under a staged create, rotation of a threshold root signed elsewhere, and a
# resumed signature by create --resume --key.
source "$(dirname "$0")/lib.bash"
setup bundle
cd "$tmp" || exit 1

# Machine A holds r1, t1 and the online keys; machine B holds r2 and t2; r3 is in a safe.
keys A r1 t1 sn ts dr dt dsn dts && keys B r2 t2 && keys C r3 || { not_ok "key generate"; finish; }
out=$("$BUNDLE" init wsA --root-key A/r1.key B/r2.pub C/r3.pub --threshold image-repo/root=2 \
	--targets-key A/t1.key B/t2.pub --threshold image-repo/targets=2 --snapshot-key A/sn.key \
	--timestamp-key A/ts.key --director-root-key A/dr.key --director-targets-key A/dt.key \
	--director-snapshot-key A/dsn.key --director-timestamp-key A/dts.key)
check "init with keys held elsewhere (.pub)" [ $? -eq 0 ]
check "init says the Image root needs one more signature, from r2 or r3" bash -c "[[ '$out' == *'needs 1 more signature(s) from: r2.key, r3.key'* ]]"
check "init --threshold above the number of keys -> exit 2" expect_exit 2 "$BUNDLE" init wsX --root-key A/r1.key --threshold image-repo/root=2 \
	--targets-key A/t1.key --snapshot-key A/sn.key --timestamp-key A/ts.key --director-root-key A/dr.key \
	--director-targets-key A/dt.key --director-snapshot-key A/dsn.key --director-timestamp-key A/dts.key
check "  ... leaves no workspace behind" [ ! -e wsX ]
head -c 5000 /dev/urandom >fw.bin
"$BUNDLE" target add wsA fw.bin --hardware-id hw >/dev/null
"$BUNDLE" assign wsA --device D1 --ecu e1=fw.bin >/dev/null
device_config dev wsA D1 e1:hw

check "create without --sign-later refuses (thresholds not met) -> exit 2" expect_exit 2 "$BUNDLE" create wsA -o b.uptane
"$BUNDLE" create wsA --dry-run >dry.out 2>&1
code=$?
check "create --dry-run: exit 0, lists the signatures this run cannot make, stages nothing" \
	bash -c "[ $code = 0 ] && grep -q 'signatures this run cannot make' dry.out && [ ! -e wsA/staged ]"
check "  ... and stages nothing" [ ! -e wsA/staged ]
out=$("$BUNDLE" create wsA -o b.uptane --sign-later)
check "create --sign-later: exit 0" [ $? -eq 0 ]
check "  ... lists the root and the targets file with whose signature" bash -c "[[ '$out' == *'1.root.json: needs 1 more from its own root keys (r2.key, r3.key)'* &&
	'$out' == *'staged/metadata/image-repo/targets.json: 1 of 2 signatures; needs 1 more from: t2.key'* ]]"
check "  ... no bundle yet" [ ! -e b.uptane ]
check "  ... a second create is refused while one is staged" expect_exit 2 "$BUNDLE" create wsA -o c.uptane
check "  ... resume before anyone signed: still waiting (exit 2)" expect_exit 2 "$BUNDLE" create wsA --resume

# Machine B: a copy of the workspace, B's keys.
cp -r wsA wsB
check "machine B: sign the root with r2" "$BUNDLE" sign wsB/metadata/image-repo/1.root.json --key B/r2.key
check "machine B: sign the staged targets with t2" "$BUNDLE" sign wsB/staged/metadata/image-repo/targets.json --key B/t2.key
check "sign refuses a public key file" expect_exit 2 "$BUNDLE" sign wsB/staged/metadata/image-repo/targets.json --key B/t2.pub
echo '{"signed": {"_type": "root"' >broken.json
check "sign refuses a damaged file" expect_exit 2 "$BUNDLE" sign broken.json --key B/t2.key
cp wsB/metadata/image-repo/1.root.json wsA/metadata/image-repo/1.root.json
cp wsB/staged/metadata/image-repo/targets.json wsA/staged/metadata/image-repo/targets.json
check "machine A: create --resume packs" "$BUNDLE" create wsA --resume
check "  ... staged files are gone" [ ! -e wsA/staged ]
device_config dev wsA D1 e1:hw
check "the 2-of-3 root bundle verifies" "$BUNDLE" verify b.uptane --config dev/device.json
tar xOf b.uptane metadata/image-repo/1.root.json >root1.json
tar xOf b.uptane metadata/image-repo/targets.json >tg.json
check "root carries 2 signatures (r1, r2), targets 2 (t1, t2)" $PY -c '
import json, sys
assert len(json.load(open(sys.argv[1]))["signatures"]) == 2
assert len(json.load(open(sys.argv[2]))["signatures"]) == 2' root1.json tg.json
# Next create with no target changed: the Image targets file is reused as it is (devices accept
# the same version with the same bytes), so machine A packs alone, without t2.
check "next create, no target changed: A packs alone (the Image targets reused)" "$BUNDLE" create wsA -o b1b.uptane
check "  ... its Image targets is the first bundle's file, byte for byte" \
	bash -c "cmp -s <(tar xOf b1b.uptane metadata/image-repo/targets.json) tg.json"
check "  ... and verifies on the device that installed nothing yet" bash -c "'$BUNDLE' verify b1b.uptane --config dev/device.json | grep -q 'D1:2'"
# A target changes: targets need t2 again; this time machine A gets the key for one run (--key).
head -c 100 /dev/urandom >fw2.bin
"$BUNDLE" target add wsA fw2.bin --hardware-id hw >/dev/null
check "second create --sign-later" "$BUNDLE" create wsA -o b2.uptane --sign-later
check "  ... --abort drops it" "$BUNDLE" create wsA --abort
check "  ... nothing to resume afterwards" expect_exit 2 "$BUNDLE" create wsA --resume
check "create --sign-later again" "$BUNDLE" create wsA -o b2.uptane --sign-later
head -c 100 /dev/urandom >fw3.bin
"$BUNDLE" target add wsA fw3.bin --hardware-id hw >/dev/null
check "resume after the workspace changed is refused" expect_exit 2 "$BUNDLE" create wsA --resume
"$BUNDLE" create wsA --abort >/dev/null
check "create --key B/t2.key signs in this run" "$BUNDLE" create wsA -o b2.uptane --key B/t2.key
check "  ... and verifies, versions above the first bundle's" bash -c "'$BUNDLE' verify b2.uptane --config dev/device.json | grep -q 'D1:3'"

# Rotation of the 2-of-3 root: version 2 needs 2 of the old root keys and 2 of the new.
keys A r4
out=$("$BUNDLE" rotate wsA --role image-repo/root --key A/r1.key A/r4.key C/r3.pub --threshold 2)
check "rotate a threshold root: signed by what A holds (r1, r4)" [ $? -eq 0 ]
check "  ... says one more old-root signature is needed" bash -c "[[ '$out' == *'still needed from the old root keys: r2.key, r3.key'* ]]"
check "  ... create refuses until it is signed" expect_exit 2 "$BUNDLE" create wsA -o b3.uptane
check "sign root v2 with r2 (an old root key) elsewhere" "$BUNDLE" sign wsA/metadata/image-repo/2.root.json --key B/r2.key
check "create after the rotation (t2 lent again)" "$BUNDLE" create wsA -o b3.uptane --key B/t2.key
check "  ... verifies on the device provisioned with root v1" "$BUNDLE" verify b3.uptane --config dev/device.json
# The same bundle with r2's signature taken off root v2: one of two old-root signatures.
mkdir -p x imgs && tar xf b3.uptane -C x metadata && cp fw.bin imgs/
$PY - x/metadata/image-repo/2.root.json "$(tr -d '\n' <B/r2.pub | $PY -c 'import sys,json,hashlib; from securesystemslib.formats import encode_canonical; print(hashlib.sha256(encode_canonical(json.loads(sys.stdin.read())).encode()).hexdigest())')" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = len(d["signatures"])
d["signatures"] = [s for s in d["signatures"] if s["keyid"] != sys.argv[2]]
assert len(d["signatures"]) == n - 1
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
check "pack root v2 without r2's signature" "$BUNDLE" pack x imgs -o one-old.uptane
check "  ... the device refuses it: arbitrary-software" verify_class one-old.uptane dev/device.json arbitrary-software
finish
