#!/usr/bin/env bash
# A workspace can be moved or copied, and a device's assignment is what the last assign named.
# workspace.json stores the keys' and the
# target sources' paths relative to itself when they share a directory below "/" with it (the
# release directory), absolute otherwise (a key on a mounted token); old workspaces with absolute
# paths still load.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
source "$(dirname "$0")/install_lib.bash"
tmp=$(mktmp)
other=$(mktemp -d /var/tmp/upt-keys.XXXXXX)
trap 'rm -rf "$tmp" "$other"' EXIT
[ -n "${UPT_KEEP:-}" ] && trap - EXIT
cd "$tmp" || exit 1
mkdir -p rel/img && cd rel || exit 1
std_keys k && std_init k ws >/dev/null || { not_ok "workspace"; finish; }
mkimage img/a.bin 10000 a
"$BUNDLE" target add ws img/a.bin --hardware-id hw >/dev/null &&
	"$BUNDLE" assign ws --device V1 --ecu main=a.bin >/dev/null || { not_ok "target, assign"; finish; }
check "workspace.json names no absolute path of the release directory" \
	bash -c "! grep -q '$tmp' ws/workspace.json"
check "the keys are stored as ../k/*.key, the image as ../img/a.bin" $PY - ws/workspace.json <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
paths = [k["path"] for repo in w["repos"].values() for role in repo.values() for k in role["keys"]]
assert paths and all(p.startswith("../k/") and p.endswith(".key") for p in paths), paths
assert w["targets"]["a.bin"]["source"] == "../img/a.bin", w["targets"]["a.bin"]
PY
cd "$tmp" || exit 1
mv rel moved
"$BUNDLE" create moved/ws -o m.uptane --device V1 >create1.out 2>&1
check "moved: create works from the new place (exit $?)" test -s m.uptane || sed 's/^/#   /' create1.out
cp -a moved copy
rm -rf moved/k
"$BUNDLE" create copy/ws -o c.uptane --device V1 >create2.out 2>&1
check "copied (the original's keys removed): the copy signs with its own keys" test -s c.uptane ||
	sed 's/^/#   /' create2.out
"$BUNDLE" inspect c.uptane >inspect.out 2>&1
check "the copy's bundle carries the image" grep -q 'a.bin' inspect.out

# status: what the copy holds, before anything is signed
"$BUNDLE" status copy/ws --json >st.json && "$BUNDLE" status copy/ws >st.txt
check "status --json: the target (image ok), the assignment, versions signed, who signs" $PY - st.json "$tmp" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in s["targets"]}
assert t["a.bin"]["image"] == "ok" and t["a.bin"]["length"] == 10000, t
assert t["a.bin"]["source"] == sys.argv[2] + "/copy/img/a.bin", t["a.bin"]["source"]
assert s["devices"]["V1"]["main"]["target"] == "a.bin", s["devices"]
m = {x["file"]: x for x in s["metadata"]}
# two creates (moved, then the copy): the online snapshot at 2, the Image targets still 1
# (nothing in it changed: the same file, not signed again)
assert m["image-repo/snapshot.json"]["version"] == 2 and m["image-repo/targets.json"]["version"] == 1, m
assert m["image-repo/targets.json"]["expires"], m
assert "director/devices/V1/targets.json" in m and "image-repo/1.root.json" in m, sorted(m)
g = {x["role"]: x for x in s["signers"]}
assert g["image-repo/targets"]["threshold"] == 1 and g["image-repo/targets"]["keys"][0]["present"], g
assert len(g) == 10, sorted(g)
PY
check "status (text): the assignment and who signs image-repo/targets" \
	bash -c "grep -qx '  device V1: ECU main (hw) -> a.bin' st.txt && grep -q '^  image-repo/targets: 1 of [0-9a-f]\{8\} ($tmp/copy/k/targets.key)\$' st.txt"
mv copy/img/a.bin copy/img/a.away
"$BUNDLE" status copy/ws --json >st2.json
mv copy/img/a.away copy/img/a.bin
check "status: a missing image says missing" $PY -c '
import json, sys
assert json.load(open(sys.argv[1]))["targets"][0]["image"] == "missing"' st2.json
check "status --help: usage, exit 0" bash -c "'$BUNDLE' status --help | grep -q 'usage: uptane-bundle status'"

# create --dry-run: every check, what would be signed, nothing written, no version used
snap() { find "$1" -type f ! -name lock -print0 | sort -z | xargs -0 sha256sum; }
before=$(snap copy/ws)
"$BUNDLE" create copy/ws --dry-run --device V1 >dry.out 2>&1
code=$?
check "create --dry-run: exit 0, the versions it would sign, the validity end" \
	bash -c "[ $code = 0 ] && grep -q '^  image-repo/snapshot.json  *version 3, expires' dry.out && grep -q '^valid until ' dry.out && grep -qx 'every threshold is met with the keys at hand' dry.out"
check "create --dry-run: the workspace is unchanged, byte for byte" test "$(snap copy/ws)" = "$before"
"$BUNDLE" create copy/ws -o c4.uptane --device V1 >create5.out 2>&1
check "the real create after it signs the versions the dry run named (3)" grep -q '^  image-repo/snapshot.json  *version 3,' create5.out
mv copy/k/snap.key copy/k/snap.away
"$BUNDLE" create copy/ws --dry-run --device V1 >dry2.out 2>&1
code=$?
mv copy/k/snap.away copy/k/snap.key
check "create --dry-run with a key file gone: exit 2, names the role and the key file" \
	bash -c "[ $code = 2 ] && grep -q 'image-repo/snapshot.json: .*copy/k/snap.key: no such key file' dry2.out" ||
	sed 's/^/#   /' dry2.out | tail -5
check "create --dry-run with --sign-later: usage error" expect_exit 2 "$BUNDLE" create copy/ws --dry-run --sign-later

# keys elsewhere (no shared directory below /): absolute
(cd "$other" && std_keys k) && std_init "$other/k" ws2 >/dev/null
check "keys under /var/tmp, workspace under /tmp: stored absolute" $PY - ws2/workspace.json "$other" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
paths = [k["path"] for repo in w["repos"].values() for role in repo.values() for k in role["keys"]]
assert paths and all(p.startswith(sys.argv[2] + "/k/") for p in paths), paths
PY

# verify --workspace: the stick checked against the workspace's own roots, no device.json
"$BUNDLE" verify c4.uptane --workspace copy/ws >v1.out 2>&1
code=$?
check "verify --workspace: exit 0, one OK line for the device the bundle names" \
	bash -c "[ $code = 0 ] && grep -q '^device V1: OK: device bundle' v1.out && [ \$(grep -c '^device ' v1.out) = 1 ]"
"$BUNDLE" verify c4.uptane --workspace copy/ws --at 2030-01-01 >v2.out 2>&1
code=$?
check "verify --workspace --at 2030-01-01: rejected (freeze), exit 4" bash -c "[ $code = 4 ] && grep -q '^device V1: REJECTED (freeze)' v2.out"
"$BUNDLE" verify c4.uptane --workspace copy/ws --device V9 >v3.out 2>&1
code=$?
check "verify --workspace --device V9 (not assigned there): exit 2, says so" bash -c "[ $code = 2 ] && grep -q 'device V9 is not assigned' v3.out"
mkimage x.bin 1000 x && "$BUNDLE" target add ws2 x.bin --hardware-id hw >/dev/null &&
	"$BUNDLE" assign ws2 --device V1 --ecu main=x.bin >/dev/null
"$BUNDLE" verify c4.uptane --workspace ws2 >v4.out 2>&1
code=$?
check "verify --workspace of another workspace (other keys): rejected, exit 4 ($code)" \
	bash -c "[ $code = 4 ] && grep -q '^device V1: REJECTED' v4.out"
check "verify with both --config and --workspace: usage error" expect_exit 2 "$BUNDLE" verify c4.uptane --workspace copy/ws --config x.json

# the Image targets, unchanged, are signed again only to renew an expiry running short (less
# than half of what a new signature gets): create says so
"$BUNDLE" create ws2 -o r1.uptane --expires 10d >/dev/null 2>&1
"$BUNDLE" create ws2 -o r2.uptane >renew.out 2>&1
check "unchanged Image targets expiring in 10 days: signed again, and create says why" \
	bash -c "grep -q '^image-repo/targets.json: unchanged, signed again to renew its expiry (version 1 expires ' renew.out && grep -q '^  image-repo/targets.json  *version 2,' renew.out"
"$BUNDLE" create ws2 -o r3.uptane >renew2.out 2>&1
check "  ... and kept as it is by the next create (version 2, 90 days left)" \
	bash -c "grep -q '^  image-repo/targets.json  *version 2,' renew2.out && ! grep -q 'renew' renew2.out"

# a workspace written with absolute paths (before this change) still works
$PY - copy/ws/workspace.json "$tmp/copy/ws" <<'PY'
import json, os, sys
p, base = sys.argv[1], sys.argv[2]
w = json.load(open(p))
for repo in w["repos"].values():
    for role in repo.values():
        for k in role["keys"]:
            k["path"] = os.path.normpath(os.path.join(base, k["path"]))
for t in w["targets"].values():
    t["source"] = os.path.normpath(os.path.join(base, t["source"]))
json.dump(w, open(p, "w"))
PY
mkimage copy/img/b.bin 10000 b
"$BUNDLE" target add copy/ws copy/img/b.bin --hardware-id hw >/dev/null &&
	"$BUNDLE" assign copy/ws --device V1 --ecu main=b.bin >/dev/null &&
	"$BUNDLE" create copy/ws -o c2.uptane --device V1 >create3.out 2>&1
check "absolute paths of an older workspace load; saved again, they are relative" \
	bash -c "test -s c2.uptane && ! grep -q '\"$tmp' copy/ws/workspace.json"
# assign replaces a device's assignment: a mistyped serial does not linger; --add keeps
"$BUNDLE" assign copy/ws --device V2 --ecu mian=b.bin >/dev/null
"$BUNDLE" assign copy/ws --device V2 --ecu main=b.bin >assign.out
check "assign again: the ECU not named is dropped, and said so" \
	grep -qx 'device V2: ECU mian no longer assigned (was b.bin; --add keeps ECUs not named)' assign.out
"$BUNDLE" assign copy/ws --device V2 --ecu aux=b.bin --add >/dev/null
check "assign --add: both ECUs assigned" $PY -c '
import json, sys
d = json.load(open(sys.argv[1]))["devices"]["V2"]
assert sorted(d) == ["aux", "main"], d' copy/ws/workspace.json
check "assign --add without --ecu: usage error" expect_exit 2 "$BUNDLE" assign copy/ws --device V2 --add

# the length check and the hashes still catch a changed image of the same size
mkimage copy/img/b.bin 10000 b-changed
"$BUNDLE" create copy/ws -o c3.uptane --device V1 >create4.out 2>&1
check "an image changed in place (same length) is still refused (exit $?)" grep -q 'changed since it was added' create4.out
finish
