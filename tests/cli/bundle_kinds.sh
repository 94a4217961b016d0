#!/usr/bin/env bash
# uptane-bundle bundle kinds and repository operations, each checked by verify (the installer's
# engine): multi-device campaign bundles (metadata/director/devices/<id>/), PURE-2 fleet bundles
# (offline-snapshot with issued + offline-updates/<name>.json, no Image-repo timestamp, device
# allow-list), Image-repo delegations, root rotation (carried, chained from version 1), and
# pack (metadata signed elsewhere + images).
source "$(dirname "$0")/lib.bash"
setup bundle
cd "$tmp" || exit 1

std_keys k && keys k sup newts newroot || { not_ok "key generate"; finish; }
std_init k ws >/dev/null || { not_ok "init"; finish; }
head -c 200000 /dev/urandom >a.bin
head -c 60000 /dev/urandom >s.bin
head -c 70000 /dev/urandom >z.bin
check "delegate" "$BUNDLE" delegate ws --role supplier --key k/sup.key --path 'sup/*' --hardware-id sensor-y --terminating
check "target add (top-level)" "$BUNDLE" target add ws a.bin --hardware-id board-a --release-counter 2
check "target add --role supplier" "$BUNDLE" target add ws s.bin --name sup/s-1.bin --hardware-id sensor-y --role supplier
check "target add z" "$BUNDLE" target add ws z.bin --hardware-id board-z
check "target add --role: path outside the delegation refused" expect_exit 2 "$BUNDLE" target add ws s.bin --name s-2.bin --hardware-id sensor-y --role supplier
check "target add --role: hardware id outside the delegation refused" expect_exit 2 "$BUNDLE" target add ws s.bin --name sup/x.bin --hardware-id board-a --role supplier
check "target add --role: unknown role refused" expect_exit 2 "$BUNDLE" target add ws s.bin --name sup/y.bin --hardware-id sensor-y --role nobody
check "assign VIN-1" "$BUNDLE" assign ws --device VIN-1 --ecu m1=a.bin s1=sup/s-1.bin
check "assign VIN-2" "$BUNDLE" assign ws --device VIN-2 --ecu m2=a.bin
check "assign VIN-3" "$BUNDLE" assign ws --device VIN-3 --ecu z3=z.bin
device_config d1 ws VIN-1 m1:board-a s1:sensor-y
device_config d2 ws VIN-2 m2:board-a
device_config d3 ws VIN-3 z3:board-z
device_config d4 ws VIN-4 m4:board-a

# Multi-device: one stick, several vehicles, shared images.
check "create --device VIN-1 VIN-2" "$BUNDLE" create ws -o multi.uptane --device VIN-1 VIN-2
tar tf multi.uptane >m.txt
check "multi-device layout: devices/<id>/ only" bash -c 'grep -qx metadata/director/devices/VIN-1/timestamp.json m.txt &&
	grep -qx metadata/director/devices/VIN-2/targets.json m.txt && ! grep -qx metadata/director/targets.json m.txt &&
	! grep -q VIN-3 m.txt && [ $(grep -c "^images/a.bin$" m.txt) -eq 1 ] && grep -qx images/sup/s-1.bin m.txt && ! grep -qx images/z.bin m.txt'
check "multi-device: VIN-1 verifies (delegated image too)" "$BUNDLE" verify multi.uptane --config d1/device.json
check "multi-device: VIN-2 verifies" "$BUNDLE" verify multi.uptane --config d2/device.json
check "multi-device: VIN-3 not in the set -> exit 3" expect_exit 3 "$BUNDLE" verify multi.uptane --config d3/device.json
check "create with no --device: every assigned device" "$BUNDLE" create ws -o all.uptane
check "  ... VIN-3 verifies it" "$BUNDLE" verify all.uptane --config d3/device.json
check "create --device unknown -> exit 2" expect_exit 2 "$BUNDLE" create ws -o x.uptane --device VIN-9
check "create --device twice -> exit 2" expect_exit 2 "$BUNDLE" create ws -o x.uptane --device VIN-1 VIN-1

# Fleet (PURE-2).
check "assign fleet (allow-list VIN-1 VIN-4)" "$BUNDLE" assign ws --hardware-id board-a=a.bin sensor-y=sup/s-1.bin --device VIN-1 VIN-4
check "create --fleet" "$BUNDLE" create ws --fleet campaign-7 -o fleet.uptane
tar tf fleet.uptane >f.txt
check "fleet layout: offline-snapshot + offline-updates/<name>.json, no Image timestamp" bash -c '
	grep -qx metadata/director/offline-snapshot.json f.txt && grep -qx metadata/director/offline-updates/campaign-7.json f.txt &&
	! grep -qx metadata/image-repo/timestamp.json f.txt && ! grep -q "metadata/director/targets.json" f.txt &&
	! grep -q "metadata/director/timestamp.json" f.txt'
tar xOf fleet.uptane metadata/director/offline-snapshot.json >os.json
tar xOf fleet.uptane metadata/director/offline-updates/campaign-7.json >ou.json
tar xOf fleet.uptane bundle.json >fb.json
check "fleet metadata fields (issued, meta name, hardwareIds, deviceIds, bundle.json)" $PY -c '
import json, sys
os_ = json.load(open(sys.argv[1]))["signed"]; ou = json.load(open(sys.argv[2]))["signed"]; b = json.load(open(sys.argv[3]))
assert os_["_type"] == "offline-snapshot" and os_["issued"].endswith("Z") and list(os_["meta"]) == ["campaign-7.json"]
assert ou["_type"] == "offline-updates"
t = ou["targets"]["a.bin"]["custom"]
assert t["hardwareIds"] == ["board-a"] and sorted(t["deviceIds"]) == ["VIN-1", "VIN-4"] and t["releaseCounter"] == 2
assert b["kind"] == "fleet" and b["fleet"] == "campaign-7" and "devices" not in b' os.json ou.json fb.json
check "fleet: VIN-1 (allow-listed) verifies" "$BUNDLE" verify fleet.uptane --config d1/device.json
check "fleet: VIN-4 (allow-listed) verifies" "$BUNDLE" verify fleet.uptane --config d4/device.json
check "fleet: VIN-2 (not allow-listed) -> exit 3" expect_exit 3 "$BUNDLE" verify fleet.uptane --config d2/device.json
check "fleet: VIN-3 (no matching hardware) -> exit 3" expect_exit 3 "$BUNDLE" verify fleet.uptane --config d3/device.json
check "assign --hardware-id for a target built for other hardware -> exit 2" expect_exit 2 "$BUNDLE" assign ws --hardware-id board-z=a.bin
check "create --fleet with a bad name -> exit 2" expect_exit 2 "$BUNDLE" create ws --fleet 'bad/name' -o x.uptane

# A workspace without PURE-2 roles cannot make fleet bundles, until rotate adds them.
keys k2 root targets snap ts droot dtargets dsnap dts osnap oupd
"$BUNDLE" init ws2 --root-key k2/root.key --targets-key k2/targets.key --snapshot-key k2/snap.key \
	--timestamp-key k2/ts.key --director-root-key k2/droot.key --director-targets-key k2/dtargets.key \
	--director-snapshot-key k2/dsnap.key --director-timestamp-key k2/dts.key >/dev/null
"$BUNDLE" target add ws2 a.bin --hardware-id board-a >/dev/null
"$BUNDLE" assign ws2 --hardware-id board-a=a.bin >/dev/null
check "fleet bundle without PURE-2 roles refused" expect_exit 2 "$BUNDLE" create ws2 --fleet f1 -o x.uptane
check "rotate adds director/offline-snapshot" "$BUNDLE" rotate ws2 --role director/offline-snapshot --key k2/osnap.key
check "rotate adds director/offline-updates" "$BUNDLE" rotate ws2 --role director/offline-updates --key k2/oupd.key
check "fleet create after rotation" "$BUNDLE" create ws2 --fleet f1 -o f1.uptane
device_config e1 ws2 VIN-1 m1:board-a
check "  ... a device provisioned with root v1 chains to v3 and verifies" "$BUNDLE" verify f1.uptane --config e1/device.json
check "  ... the bundle carries Director roots 1..3" bash -c "tar tf f1.uptane | grep -c 'metadata/director/[0-9]*.root.json' | grep -qx 3"

# Root rotation: new root keys and new timestamp keys; devices provisioned with version 1 follow.
check "rotate image-repo/root to a new key" "$BUNDLE" rotate ws --role image-repo/root --key k/newroot.key
check "rotate director/timestamp to a new key" "$BUNDLE" rotate ws --role director/timestamp --key k/newts.key
check "create after rotation" "$BUNDLE" create ws -o rot.uptane --device VIN-1
check "  ... verifies on a device provisioned with version 1" "$BUNDLE" verify rot.uptane --config d1/device.json
"$BUNDLE" inspect rot.uptane --json >rot.json
check "  ... carries image-repo roots 1..2, director 1..2; new root signed by old and new keys" $PY -c '
import json, sys
m = {x["path"]: x for x in json.load(open(sys.argv[1]))["metadata"]}
for p in ["metadata/image-repo/1.root.json", "metadata/image-repo/2.root.json", "metadata/director/1.root.json", "metadata/director/2.root.json"]:
    assert p in m, p
assert m["metadata/image-repo/2.root.json"]["signatures"] == 2' rot.json
# A version-2 root signed by the new key alone must not chain (proves the old keys signed).
mkdir -p forged && tar xf rot.uptane -C forged
$PY - forged/metadata/image-repo/2.root.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["signatures"] = d["signatures"][-1:]
json.dump(d, open(sys.argv[1], "w"))
PY
mkdir -p imgs/sup && cp a.bin imgs/a.bin && cp s.bin imgs/sup/s-1.bin && cp z.bin imgs/z.bin
check "pack the forged metadata" "$BUNDLE" pack forged imgs -o forged.uptane
check "root v2 without the old root's signature -> arbitrary-software" verify_class forged.uptane d1/device.json arbitrary-software
check "rotate: a role that does not exist" expect_exit 2 "$BUNDLE" rotate ws --role image-repo/offline-snapshot --key k/sup.key
check "rotate: bad threshold" expect_exit 2 "$BUNDLE" rotate ws --role image-repo/targets --threshold 3

# Pack: the metadata of a created bundle plus the raw images gives a bundle that verifies.
mkdir -p p1 && tar xf all.uptane -C p1 metadata
check "pack METADATA_DIR IMAGES_DIR" "$BUNDLE" pack p1 imgs -o packed.uptane
check "  ... VIN-1 verifies the packed bundle" "$BUNDLE" verify packed.uptane --config d1/device.json
check "  ... VIN-3 verifies the packed bundle" "$BUNDLE" verify packed.uptane --config d3/device.json
check "  ... pack takes the metadata/ directory itself too" "$BUNDLE" pack p1/metadata imgs -o packed2.uptane
head -c 70000 /dev/urandom >imgs/z.bin
check "pack: an image other than the signed one -> exit 2" expect_exit 2 "$BUNDLE" pack p1 imgs -o bad.uptane
check "  ... and no output file" [ ! -e bad.uptane ]
cp z.bin imgs/z.bin
touch p1/metadata/director/extra.json
check "pack: a file outside the layout -> exit 2" expect_exit 2 "$BUNDLE" pack p1 imgs -o bad.uptane
rm p1/metadata/director/extra.json
rm imgs/z.bin
check "pack: a missing image -> exit 2" expect_exit 2 "$BUNDLE" pack p1 imgs -o bad.uptane
finish
