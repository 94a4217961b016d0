#!/usr/bin/env bash
# uptane-bundle's command-line contract: --help on every command (exit 0), exit 2 with a clear
# message for usage and input errors: key files with unsafe permissions or a wrong format,
# missing or unreadable or changed images, unsafe target names, assignment to an unknown target,
# expiries within 7 days, bad DURATION/SIZE values; a warning for a root expiring within 30 days;
# expiry defaults and overrides (init --expires REPO/ROLE=, create --expires); roles outliving
# their root in tests/cli/bundle_expiry.sh.
source "$(dirname "$0")/lib.bash"
setup bundle
at_exit 'chmod -R u+rwx "$tmp" 2>/dev/null'
cd "$tmp" || exit 1

for c in init delegate target assign create rotate sign pack verify inspect; do
	out=$("$BUNDLE" "$c" --help)
	rc=$?
	check "$c --help: exit 0 and a usage line" bash -c "[ $rc -eq 0 ] && [[ \"\$1\" == usage:* ]]" _ "$out"
	check "$c with an unknown option: exit 2" expect_exit 2 "$BUNDLE" "$c" --no-such-option
done
check "unknown command: exit 2" expect_exit 2 "$BUNDLE" frobnicate

std_keys k || { not_ok "key generate"; finish; }
# Key files.
cp k/root.key loose.key && chmod 644 loose.key
out=$(std_init k wsl --root-key loose.key 2>&1)
rc=$?
check "group/other-readable .key refused (exit 2)" [ $rc -eq 2 ]
check "  ... the message says chmod 600" bash -c "[[ '$out' == *'chmod 600 loose.key'* ]]"
check "  ... no workspace left" [ ! -e wsl ]
chmod 640 loose.key
check "group-readable .key refused" expect_exit 2 "$BUNDLE" sign /dev/null --key loose.key
echo '{"keytype": "ed25519"}' >bad.key && chmod 600 bad.key
out=$(std_init k wsb --root-key bad.key 2>&1)
check "malformed .key refused, the message names the file" bash -c "[[ '$out' == *bad.key* ]]"
check "  ... exit status 2" expect_exit 2 std_init k wsb2 --root-key bad.key
echo 'not json' >bad.pub
check "malformed .pub refused" expect_exit 2 std_init k wsb3 --root-key bad.pub
check "missing key file refused" expect_exit 2 std_init k wsb4 --root-key nowhere.key
ln -s k/root.key link.key
check "a symlinked .key refused" expect_exit 2 std_init k wsb5 --root-key link.key
check "a key given twice for one role refused" expect_exit 2 std_init k wsb6 --root-key k/root.key k/root.key
check "only one PURE-2 role key -> exit 2" expect_exit 2 "$BUNDLE" init wsb7 --root-key k/root.key --targets-key k/targets.key \
	--snapshot-key k/snap.key --timestamp-key k/ts.key --director-root-key k/droot.key --director-targets-key k/dtargets.key \
	--director-snapshot-key k/dsnap.key --director-timestamp-key k/dts.key --offline-snapshot-key k/osnap.key
check "a missing required role key -> exit 2" expect_exit 2 "$BUNDLE" init wsb8 --root-key k/root.key
check "init --expires within 7 days refused" expect_exit 2 std_init k wsb9 --expires director/timestamp=6d
check "init --expires bad duration refused" expect_exit 2 std_init k wsb10 --expires director/timestamp=30x
check "init --expires unknown role refused" expect_exit 2 std_init k wsb11 --expires director/nothing=30d
check "init --threshold bad value refused" expect_exit 2 std_init k wsb12 --threshold image-repo/root=zero

check "init" std_init k ws --expires image-repo/targets=200d --expires director/root=2y
check "init into a non-empty directory refused" expect_exit 2 std_init k ws
check "operations on a non-workspace refused" expect_exit 2 "$BUNDLE" target add k k/root.pub --hardware-id hw

# Images and target names.
head -c 4000 /dev/urandom >fw.bin
check "target add: missing image -> exit 2" expect_exit 2 "$BUNDLE" target add ws nope.bin --hardware-id hw
out=$("$BUNDLE" target add ws nope.bin --hardware-id hw 2>&1)
check "  ... says no such image file" bash -c "[[ '$out' == *'no such image file'* ]]"
cp fw.bin unreadable.bin && chmod 000 unreadable.bin
if [ "$(id -u)" -ne 0 ]; then
	check "target add: unreadable image -> exit 2" expect_exit 2 "$BUNDLE" target add ws unreadable.bin --hardware-id hw
else
	skip "unreadable image (running as root)"
fi
check "target add: a directory is not an image" expect_exit 2 "$BUNDLE" target add ws k --hardware-id hw
for bad in '../x.bin' '/abs.bin' 'a//b.bin' 'a/./b' 'sp ace.bin' 'semi;colon' 'q"uote' 'a/' '.' 'x/../y' "$(printf 'nl\nx')"; do
	check "unsafe target name '$bad' refused" expect_exit 2 "$BUNDLE" target add ws fw.bin --name "$bad" --hardware-id hw
done
long=$(printf 'a%.0s' $(seq 1 1001))
check "target name over 1000 bytes refused" expect_exit 2 "$BUNDLE" target add ws fw.bin --name "$long" --hardware-id hw
check "target add without --hardware-id refused" expect_exit 2 "$BUNDLE" target add ws fw.bin
check "target add with a bad hardware id refused" expect_exit 2 "$BUNDLE" target add ws fw.bin --hardware-id 'bad id'
check "target add with a bad release counter refused" expect_exit 2 "$BUNDLE" target add ws fw.bin --hardware-id hw --release-counter -1
check "target add (safe name with + and /)" "$BUNDLE" target add ws fw.bin --name vendor/fw+1.0_rc-2.bin --hardware-id hw --release-counter 4
check "target add: sha256 and sha512 recorded" $PY -c '
import hashlib, json, sys
t = json.load(open("ws/workspace.json"))["targets"]["vendor/fw+1.0_rc-2.bin"]
data = open("fw.bin", "rb").read()
assert t["length"] == len(data) and t["sha256"] == hashlib.sha256(data).hexdigest()
assert t["sha512"] == hashlib.sha512(data).hexdigest() and t["releaseCounter"] == 4'
check "target list" bash -c "'$BUNDLE' target list ws | grep -q 'vendor/fw+1.0_rc-2.bin'"

# Assignments.
out=$("$BUNDLE" assign ws --device VIN-1 --ecu e1=missing.bin 2>&1)
rc=$?
check "assign to an unknown target -> exit 2" [ $rc -eq 2 ]
check "  ... names the target and says to add it" bash -c "[[ '$out' == *'unknown target \"missing.bin\"'* && '$out' == *'target add'* ]]"
check "assign fleet to an unknown target -> exit 2" expect_exit 2 "$BUNDLE" assign ws --hardware-id hw=missing.bin
check "assign with a bad ECU serial -> exit 2" expect_exit 2 "$BUNDLE" assign ws --device VIN-1 --ecu 'e 1=vendor/fw+1.0_rc-2.bin'
check "assign with a bad device id -> exit 2" expect_exit 2 "$BUNDLE" assign ws --device 'VIN/1' --ecu e1=vendor/fw+1.0_rc-2.bin
check "assign to hardware the target is not built for -> exit 2" expect_exit 2 "$BUNDLE" assign ws --device VIN-1 --ecu e1:other=vendor/fw+1.0_rc-2.bin
check "assign: --ecu and --hardware-id together -> exit 2" expect_exit 2 "$BUNDLE" assign ws --device VIN-1 --ecu e1=vendor/fw+1.0_rc-2.bin --hardware-id hw=vendor/fw+1.0_rc-2.bin
check "assign: malformed --ecu -> exit 2" expect_exit 2 "$BUNDLE" assign ws --device VIN-1 --ecu e1
check "create with nothing assigned -> exit 2" expect_exit 2 "$BUNDLE" create ws -o x.uptane
check "assign" "$BUNDLE" assign ws --device VIN-1 --ecu e1=vendor/fw+1.0_rc-2.bin
check "target remove refuses an assigned target" expect_exit 2 "$BUNDLE" target remove ws vendor/fw+1.0_rc-2.bin

# create options and refusals.
check "create without -o -> exit 2" expect_exit 2 "$BUNDLE" create ws
check "create --expires within 7 days refused" expect_exit 2 "$BUNDLE" create ws -o x.uptane --expires 3d
check "create --expires REPO/ROLE within 7 days refused" expect_exit 2 "$BUNDLE" create ws -o x.uptane --expires director/timestamp=2d
check "create --expires with a bad unit refused" expect_exit 2 "$BUNDLE" create ws -o x.uptane --expires 10w
check "create --split-size bad refused" expect_exit 2 "$BUNDLE" create ws -o x.uptane --split-size 12Q
check "create --split-size below 1M refused" expect_exit 2 "$BUNDLE" create ws -o x.uptane --split-size 4K
check "create --level out of range refused" expect_exit 2 "$BUNDLE" create ws -o x.uptane --level 30
check "create --fleet and --device together refused" expect_exit 2 "$BUNDLE" create ws -o x.uptane --fleet f --device VIN-1
check "  ... nothing written by refused creates" [ ! -e x.uptane ]
check "  ... and no version consumed" [ ! -e ws/metadata/image-repo/targets.json ]
cp -p fw.bin fw.orig
# one byte changed, the length kept: the hashes decide (a touch alone is no change)
printf '\377' | dd of=fw.bin bs=1 seek=10 conv=notrunc status=none
cmp -s fw.bin fw.orig && printf '\376' | dd of=fw.bin bs=1 seek=10 conv=notrunc status=none
touch -d '2020-01-01' fw.bin
out=$("$BUNDLE" create ws -o x.uptane 2>&1)
rc=$?
check "create refuses an image changed since target add" bash -c "[ $rc -eq 2 ] && [[ '$out' == *'changed since it was added'* ]]"
cp fw.orig fw.bin
"$BUNDLE" target add ws fw.bin --name vendor/fw+1.0_rc-2.bin --hardware-id hw --release-counter 4 >/dev/null
rm -f fw.bin
check "create refuses a missing image" expect_exit 2 "$BUNDLE" create ws -o x.uptane
head -c 4000 /dev/urandom >fw.bin
"$BUNDLE" target add ws fw.bin --name vendor/fw+1.0_rc-2.bin --hardware-id hw --release-counter 4 >/dev/null
check "create --expires 20d --level 9 --threads 2" "$BUNDLE" create ws -o x.uptane --expires 20d --level 9 --threads 2
"$BUNDLE" inspect x.uptane --json >x.json
now=$(date -u +%s)
check "expiries: --expires 20d for every role signed now; roots as configured (director 2y)" $PY - x.json "$now" <<'PY'
import json, sys, calendar, time, datetime
d = json.load(open(sys.argv[1])); now = int(sys.argv[2])
def t(s): return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
def plus_years(ts, n):  # a calendar year: 29 February becomes 28 February
    x = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    day = 28 if (x.month, x.day) == (2, 29) else x.day
    return calendar.timegm(x.replace(year=x.year + n, day=day).timetuple())
for m in d["metadata"]:
    days = (t(m["expires"]) - now) / 86400
    if m["path"] == "metadata/director/1.root.json":  # 2y: calendar years (signed at init)
        assert 0 <= plus_years(now, 2) - t(m["expires"]) < 86400, (m, days)
    elif m["path"] == "metadata/image-repo/1.root.json":
        assert 364 < days <= 365, (m, days)
    else:
        assert 19.9 < days <= 20, (m, days)
PY
now=$(date -u +%s) # taken again: the first create may have taken seconds under ASan
check "create with defaults" "$BUNDLE" create ws -o y.uptane
"$BUNDLE" inspect y.uptane --json >y.json
check "expiry defaults: timestamp 30d, snapshot 90d, targets as init set (200d)" $PY - y.json "$now" <<'PY'
import json, sys, calendar, time
d = json.load(open(sys.argv[1])); now = int(sys.argv[2])
def days(s): return (calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")) - now) / 86400
want = {"director/timestamp.json": 30, "image-repo/timestamp.json": 30, "director/snapshot.json": 90,
        "image-repo/snapshot.json": 90, "director/targets.json": 90, "image-repo/targets.json": 200}
for m in d["metadata"]:
    p = m["path"][len("metadata/"):]
    if p in want:
        assert want[p] - 0.1 < days(m["expires"]) <= want[p] + 0.001, (p, days(m["expires"]))
PY

# A root that expires within 30 days: create warns (and still works); init refuses < 7 days.
std_keys k3
out=$(std_init k3 ws3 --expires image-repo/root=20d 2>&1)
check "init of a root living 20 days warns" bash -c "[[ '$out' == *'warning: image-repo/1.root.json expires'*'within 30 days'* ]]"
"$BUNDLE" target add ws3 fw.bin --hardware-id hw >/dev/null
"$BUNDLE" assign ws3 --device VIN-1 --ecu e1=fw.bin >/dev/null
check "root expiring in 20 days: create refused, the roles would outlive it (tests/cli/bundle_expiry.sh)" \
	expect_exit 2 "$BUNDLE" create ws3 -o z.uptane
out=$("$BUNDLE" create ws3 -o z.uptane --force-expiry 2>&1)
rc=$?
check "root expiring in 20 days: create --force-expiry works" [ $rc -eq 0 ]
check "  ... and warns to rotate" bash -c "[[ '$out' == *'warning: the image-repo root (version 1) expires'*'within 30 days'* ]]"
check "rotate --expires renews the root (same keys)" "$BUNDLE" rotate ws3 --role image-repo/root --expires 1y
out=$("$BUNDLE" create ws3 -o z2.uptane 2>&1)
check "  ... then no warning" bash -c "[[ '$out' != *warning* ]]"
check "inspect of a missing file -> exit 2" expect_exit 2 "$BUNDLE" inspect nowhere.uptane
printf 'not a tar' >junk.uptane
check "inspect of a non-tar -> exit 4 (malformed)" expect_exit 4 "$BUNDLE" inspect junk.uptane
check "verify without --config -> exit 2" expect_exit 2 "$BUNDLE" verify z.uptane
check "verify with a bad --at -> exit 2" bash -c "mkdir -p dv && cp ws3/metadata/director/1.root.json dv/director-root.json && cp ws3/metadata/image-repo/1.root.json dv/image-root.json &&
	echo '{\"device_id\":\"VIN-1\",\"primary_ecu\":\"e1\",\"ecus\":[{\"serial\":\"e1\",\"hardware_id\":\"hw\",\"install\":{\"type\":\"file\",\"path\":\"e1.bin\"}}],\"state_dir\":\"st\",\"trusted_roots\":{\"director\":\"director-root.json\",\"image-repo\":\"image-root.json\"},\"report_key\":\"k\",\"accept\":[\"device\"]}' >dv/device.json &&
	'$BUNDLE' verify z.uptane --config dv/device.json --at yesterday >/dev/null 2>&1; [ \$? -eq 2 ]"
check "verify with a config that is not JSON -> exit 2" bash -c "echo nope >dv/bad.json; '$BUNDLE' verify z.uptane --config dv/bad.json >/dev/null 2>&1; [ \$? -eq 2 ]"
finish
