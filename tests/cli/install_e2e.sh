#!/usr/bin/env bash
# uptane-install end to end with bundles from our bundler: fresh install, a newer bundle, the
# same bundle again (exit 3, nothing rewritten), an older one (rollback), a dry run (changes
# nothing), a corrupt second image of two (nothing installed, no staging left), an image longer
# than signed, split volumes, a fleet bundle, a bundle for another device, signed reports that
# an independent verifier (pynacl + securesystemslib) accepts, the report counter, status.
# main2.bin carries an SBOM (custom.sbom in its signed Image-repo target, docs/sbom.md): the
# installer installs it as any other target.
source "$(dirname "$0")/lib.bash"
setup bundle install
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
KEYS=$tmp/k
export KEYS

mkimage main1.bin 3000000 m1
mkimage main2.bin 2500000 m2
mkimage main3.bin 1000000 m3
mkimage aux1.bin 200000 a1
mkimage aux2.bin 300000 a2
B() { "$BUNDLE" "$@" >/dev/null; }
B target add ws main1.bin --hardware-id board-a --release-counter 1
B target add ws main2.bin --hardware-id board-a --release-counter 2 \
	--sbom "$UPT_TOP/tests/data/cra/app-a.cdx.json"
B target add ws main3.bin --hardware-id board-a --release-counter 3
B target add ws aux1.bin --hardware-id board-b --release-counter 1
B target add ws aux2.bin --hardware-id board-b --release-counter 2
B assign ws --device VIN-1 --ecu ecu-main=main1.bin ecu-aux=aux1.bin
check "bundler: b1" "$BUNDLE" create ws -o b1.uptane --device VIN-1
B assign ws --device VIN-1 --ecu ecu-main=main2.bin ecu-aux=aux1.bin
check "bundler: b2 (main 2, aux unchanged)" "$BUNDLE" create ws -o b2.uptane --device VIN-1
check "bundler: b2b (the same images, re-signed metadata)" "$BUNDLE" create ws -o b2b.uptane --device VIN-1
B assign ws --device VIN-1 --ecu ecu-main=main3.bin ecu-aux=aux2.bin
check "bundler: b3 (both new)" "$BUNDLE" create ws -o b3.uptane --device VIN-1
check "bundler: b3 split into volumes" "$BUNDLE" create ws -o split.uptane --device VIN-1 --split-size 1M

dev=$tmp/dev
mkdir -p "$dev/targets"
echo "factory main" >"$dev/targets/main.bin"
echo "factory aux" >"$dev/targets/aux.bin"
device_json "$dev" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)" \
	"$(file_ecu ecu-aux board-b targets/aux.bin)"

# Fresh install.
code=$(run_install out1 "$dev" install "$tmp/b1.uptane")
expect_result "fresh install" out1 "$code" 0 installed null
check "fresh install: main holds main1" cmp -s "$dev/targets/main.bin" main1.bin
check "fresh install: aux holds aux1" cmp -s "$dev/targets/aux.bin" aux1.bin
check "json: every line is one JSON object, events in order" $PY - out1 <<'PY'
import json, sys
ev = [json.loads(l)["event"] for l in open(sys.argv[1])]
assert ev[0] == "found" and ev[1] == "verified" and ev[-1] == "result", ev
assert ev.count("installed") == 2 and "progress" in ev and "report" in ev
p = [json.loads(l) for l in open(sys.argv[1]) if '"progress"' in l]
assert p[-1]["bytes"] == p[-1]["total"] and all(x["bytes"] <= x["total"] for x in p)
PY
check "no staging files left beside the targets" bash -c "[ -z \"\$(ls -A '$dev/targets' | grep '^\.')\" ]"
check "report 1 kept on the device" test -f "$dev/state/reports/1.json"
check "report 1 verifies independently (pynacl, securesystemslib canonical)" \
	report_ok "$dev/state/reports/1.json" "$dev/device.pub"
check "report 1: result, bundle id, ECU versions" $PY - "$dev/state/reports/1.json" "$(sha main1.bin)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
assert s["device_id"] == "VIN-1" and s["primary_ecu"] == "ecu-main" and s["counter"] == 1
assert s["result"] == {"status": "installed", "reason": None, "message": s["result"]["message"]}
assert s["bundle"] == {"file": "b1.uptane", "kind": "device", "id": "VIN-1:1"}, s["bundle"]
assert s["medium"] is None
e = {r["signed"]["ecu_serial"]: r["signed"] for r in s["ecu_reports"]}
m = e["ecu-main"]["installed_image"]
assert m["filepath"] == "main1.bin" and m["fileinfo"]["length"] == 3000000
assert m["fileinfo"]["hashes"]["sha256"] == sys.argv[2]
assert e["ecu-main"]["attacks_detected"] == "" and e["ecu-main"]["report_counter"] == 1
PY
(cd "$dev" && "$INSTALL" --config device.json --json status) >st1
check "status --json: ECU records" $PY - st1 <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert s["event"] == "status" and s["device_id"] == "VIN-1" and s["last_report"] == 1
e = {x["serial"]: x for x in s["ecus"]}
assert e["ecu-main"]["installed"]["target"] == "main1.bin" and e["ecu-main"]["installed"]["release_counter"] == 1
assert e["ecu-aux"]["installed"]["bundle_id"] == "VIN-1:1" and e["ecu-aux"]["pending"] is None
PY
check "status (human) names what runs" bash -c "cd '$dev' && '$INSTALL' --config device.json status | grep -q 'runs main1.bin'"

# The same bundle again: nothing to do, nothing rewritten.
snap=$(state_snapshot "$dev")
ino=$(stat -c %i "$dev/targets/main.bin")
code=$(run_install out2 "$dev" install "$tmp/b1.uptane")
expect_result "same bundle again: up to date" out2 "$code" 3 up-to-date null
check "same bundle again: trusted/ and targets byte-identical" [ "$snap" = "$(state_snapshot "$dev")" ]
check "same bundle again: target not rewritten (same inode)" [ "$ino" = "$(stat -c %i "$dev/targets/main.bin")" ]
check "same bundle again: still a report (counter 2)" test -f "$dev/state/reports/2.json"

# A newer bundle: only what changed is written.
ino_aux=$(stat -c %i "$dev/targets/aux.bin")
code=$(run_install out3 "$dev" install "$tmp/b2.uptane")
expect_result "newer bundle" out3 "$code" 0 installed null
check "newer bundle: main holds main2" cmp -s "$dev/targets/main.bin" main2.bin
check "newer bundle: main2's signed Image-repo target carries custom.sbom" \
	bash -c "tar xOf b2.uptane metadata/image-repo/targets.json | jq -e '.signed.targets[\"main2.bin\"].custom.sbom.format == \"CycloneDX\"' >/dev/null"
check "newer bundle: aux (already installed) untouched" [ "$ino_aux" = "$(stat -c %i "$dev/targets/aux.bin")" ]
check "newer bundle: one installed event" [ "$(grep -c '"event":"installed"' out3)" = 1 ]

# Re-signed metadata for what is already installed: nothing to do, but the newer metadata is
# kept (rollback protection: the older b2 is refused from now on).
snap=$(state_snapshot "$dev")
code=$(run_install out3b "$dev" install "$tmp/b2b.uptane")
expect_result "newer metadata, same images: up to date" out3b "$code" 3 up-to-date null
check "newer metadata, same images: trusted/ holds the newer Director targets" bash -c "[ '$snap' != \"\$(cd '$dev' && find state/trusted targets -type f -print0 | sort -z | xargs -0 -r sha256sum)\" ] && cmp -s <(tar xOf b2b.uptane metadata/director/targets.json) '$dev/state/trusted/director/targets.json'"
code=$(run_install out3c "$dev" install "$tmp/b2.uptane")
expect_result "the previous metadata for the same images: rollback" out3c "$code" 4 rejected rollback

# The older bundle now: rollback, nothing changes.
snap=$(state_snapshot "$dev")
code=$(run_install out4 "$dev" install "$tmp/b1.uptane")
expect_result "older bundle after newer: rollback" out4 "$code" 4 rejected rollback
check "rollback: trusted/ and targets byte-identical" [ "$snap" = "$(state_snapshot "$dev")" ]
check "rollback: report says rejected/rollback, attack on the primary" $PY - "$dev/state/reports/6.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
assert s["result"]["status"] == "rejected" and s["result"]["reason"] == "rollback"
e = {r["signed"]["ecu_serial"]: r["signed"] for r in s["ecu_reports"]}
assert e["ecu-main"]["attacks_detected"] == "rollback" and e["ecu-aux"]["attacks_detected"] == ""
assert e["ecu-main"]["installed_image"]["filepath"] == "main2.bin"
PY

# Dry run: verifies everything (images included), changes nothing, writes no report.
snap=$(state_snapshot "$dev")
code=$(cd "$dev" && "$INSTALL" --config device.json --json --dry-run install "$tmp/b3.uptane" >"$tmp/out5" 2>&1; echo $?)
expect_result "dry run of a valid bundle: verified" out5 "$code" 0 verified null
check "dry run: trusted/ and targets byte-identical" [ "$snap" = "$(state_snapshot "$dev")" ]
check "dry run: no report" [ ! -e "$dev/state/reports/7.json" ]
bundle_mutate b3.uptane b3-bad.uptane tamper-image aux2.bin
code=$(cd "$dev" && "$INSTALL" --config device.json --json --dry-run install "$tmp/b3-bad.uptane" >"$tmp/out5b" 2>&1; echo $?)
expect_result "dry run of a bundle with a bad image: rejected" out5b "$code" 4 rejected arbitrary-software

# Corrupt second image of two: nothing installed, nothing left behind.
snap=$(state_snapshot "$dev")
code=$(run_install out6 "$dev" install "$tmp/b3-bad.uptane")
expect_result "second image of two corrupt" out6 "$code" 4 rejected arbitrary-software
check "corrupt second image: names the member" [ "$(result out6 file)" = images/aux2.bin ]
check "corrupt second image: nothing installed, trusted/ byte-identical" [ "$snap" = "$(state_snapshot "$dev")" ]
check "corrupt second image: no staging file left" bash -c "[ -z \"\$(ls -A '$dev/targets' | grep '^\.')\" ]"

# An image longer than signed (endless data) and one shorter.
bundle_mutate b3.uptane b3-endless.uptane endless aux2.bin
code=$(run_install out7 "$dev" install "$tmp/b3-endless.uptane")
expect_result "image longer than signed" out7 "$code" 4 rejected endless-data
check "endless data: stopped at the signed length (no 4 MiB written)" bash -c "[ -z \"\$(ls -A '$dev/targets' | grep '^\.')\" ] && [ \$(du -sk '$dev' | cut -f1) -lt 20000 ]"
check "endless data: trusted/ byte-identical" [ "$snap" = "$(state_snapshot "$dev")" ]
bundle_mutate b3.uptane b3-short.uptane short main3.bin
code=$(run_install out8 "$dev" install "$tmp/b3-short.uptane")
expect_result "image shorter than signed" out8 "$code" 4 rejected arbitrary-software

# Split volumes: X.uptane finds X.uptane.000, .001...
check "split: several volumes" test -f split.uptane.001
code=$(run_install out9 "$dev" --dry-run install "$tmp/split.uptane")
expect_result "split volumes via X.uptane (dry)" out9 "$code" 0 verified null
code=$(run_install out10 "$dev" install "$tmp/split.uptane.000")
expect_result "split volumes via X.uptane.000" out10 "$code" 0 installed null
check "split: main holds main3, aux holds aux2" bash -c "cmp -s '$dev/targets/main.bin' main3.bin && cmp -s '$dev/targets/aux.bin' aux2.bin"

# A bundle for another device: exit 3, says whom it is for.
B assign ws --device VIN-9 --ecu ecu-main=main3.bin
"$BUNDLE" create ws -o other.uptane --device VIN-9 >/dev/null
snap=$(state_snapshot "$dev")
code=$(run_install out11 "$dev" install "$tmp/other.uptane")
expect_result "bundle for another device" out11 "$code" 3 not-for-this-device null
check "not for this device: message names the device it is for" grep -q 'VIN-9' out11
check "not for this device: trusted/ and targets byte-identical" [ "$snap" = "$(state_snapshot "$dev")" ]

# A fleet bundle by hardware id, on a fresh device.
B assign ws --hardware-id board-a=main2.bin board-b=aux2.bin
check "bundler: fleet bundle" "$BUNDLE" create ws -o fleet.uptane --fleet campaign-7
fdev=$tmp/fdev
mkdir -p "$fdev/targets"
device_json "$fdev" VIN-77 ecu-x "$(file_ecu ecu-x board-a targets/x.bin)" "$(file_ecu ecu-y board-b targets/y.bin)"
code=$(run_install fout "$fdev" install "$tmp/fleet.uptane")
expect_result "fleet bundle" fout "$code" 0 installed null
check "fleet: both ECUs" bash -c "cmp -s '$fdev/targets/x.bin' main2.bin && cmp -s '$fdev/targets/y.bin' aux2.bin"
check "fleet: report bundle id names the fleet" $PY -c '
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
assert s["bundle"]["kind"] == "fleet" and s["bundle"]["id"].startswith("campaign-7:"), s["bundle"]' "$fdev/state/reports/1.json"
sed -i 's/"accept": \["device", "fleet"\]/"accept": ["device"]/' "$fdev/device.json"
code=$(run_install fout2 "$fdev" install "$tmp/fleet.uptane")
expect_result "fleet bundle on a device accepting device bundles only: policy" fout2 "$code" 4 rejected policy

# Report counters strictly increase; every report verifies.
check "reports: counters 1..N without gaps, each verifies" bash -c '
n=$(ls "'"$dev"'/state/reports" | grep -c "^[0-9]*\.json$")
[ "$n" -ge 9 ] || exit 1
for i in $(seq 1 $n); do '"$(declare -f report_ok)"'; PY='"$PY"' report_ok "'"$dev"'/state/reports/$i.json" "'"$dev"'/device.pub" || exit 1; done'
check "reports: counter file matches" [ "$(cat "$dev/state/reports/counter")" = "$(ls "$dev/state/reports" | grep -c '^[0-9]*\.json$')" ]

# Targets listing SHA-256 alone (target add --hashes sha256: devices without SHA-512
# instructions install ~2x faster): both repositories list the same single hash, the install
# checks it, and a changed image byte is still caught.
mkimage h1.bin 1500000 h1
B target add ws h1.bin --hardware-id board-a --release-counter 1 --hashes sha256
B assign ws --device VIN-H --ecu ecu-h=h1.bin
check "--hashes sha256: bundle created" "$BUNDLE" create ws -o h1.uptane --device VIN-H
check "--hashes sha256: Image and Director targets list sha256 alone" $PY -c '
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
for m in ("metadata/image-repo/targets.json", "metadata/director/targets.json"):
    h = json.load(t.extractfile(m))["signed"]["targets"]["h1.bin"]["hashes"]
    assert list(h) == ["sha256"], (m, h)' h1.uptane
check "--hashes md5: refused (exit 2)" expect_exit 2 "$BUNDLE" target add ws h1.bin --hardware-id board-a --hashes md5
hdev=$tmp/hdev
mkdir -p "$hdev/targets"
device_json "$hdev" VIN-H ecu-h "$(file_ecu ecu-h board-a targets/h.bin)"
bundle_mutate h1.uptane h1-bad.uptane tamper-image h1.bin
code=$(run_install hbad "$hdev" install "$tmp/h1-bad.uptane")
expect_result "--hashes sha256: a changed image byte is still refused" hbad "$code" 4 rejected arbitrary-software
code=$(run_install hout "$hdev" install "$tmp/h1.uptane")
expect_result "--hashes sha256: installs" hout "$code" 0 installed null
check "--hashes sha256: the verified image is in place" cmp -s "$hdev/targets/h.bin" h1.bin

# Usage and configuration errors.
check "no command: exit 2" expect_exit 2 "$INSTALL"
check "unknown option: exit 2" expect_exit 2 "$INSTALL" --frobnicate status
check "options after the command: exit 2" expect_exit 2 "$INSTALL" status --json
check "--help: exit 0, lists exit codes" bash -c "'$INSTALL' --help | grep -q '6  install failed, device needs attention'"
check "missing config: exit 2" expect_exit 2 "$INSTALL" --config /nonexistent/device.json status
check "install of a missing file: exit 3 no-bundle" bash -c "cd '$dev' && '$INSTALL' --config device.json --json install /nonexistent.uptane | tail -1 | grep -q '\"status\":\"no-bundle\"'; [ \${PIPESTATUS[0]} = 3 ]"
finish
