#!/usr/bin/env bash
# Install handlers (docs/device-config.md) through uptane-install: `ab` (inactive slot, activate
# with {slot}/{device}, pending until confirm, confirm runs the confirm program, confirm
# --failed reverts, the same bundle then installs again, activation failure), `exec` ({image} =
# the verified staged file, exit status decides, staged file removed), the all-or-nothing
# commit (a failing exec after a file ECU activated: exit 6, the report says who runs what),
# argument safety (no shell), and the busy lock (exit 7).
source "$(dirname "$0")/lib.bash"
setup bundle install
at_exit 'umount "$tmp/fulldev/targets" 2>/dev/null'
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage fw1.bin 700000 f1
mkimage fw2.bin 600000 f2
mkimage fw3.bin 650000 f3
mkimage s1.bin 50000 s1
mkimage s2.bin 60000 s2
mkimage s3.bin 70000 s3
mkimage m1.bin 80000 mm1
B() { "$BUNDLE" "$@" >/dev/null; }
B target add ws fw1.bin --hardware-id mcu-x --release-counter 1
B target add ws fw2.bin --hardware-id mcu-x --release-counter 2
B target add ws fw3.bin --hardware-id mcu-x --release-counter 3
B target add ws s1.bin --hardware-id sensor-y --release-counter 1
B target add ws s2.bin --hardware-id sensor-y --release-counter 2
B target add ws s3.bin --hardware-id sensor-y --release-counter 3
B target add ws m1.bin --hardware-id board-a --release-counter 1
B assign ws --device VIN-1 --ecu mcu=fw1.bin
B create ws -o ab1.uptane --device VIN-1
B assign ws --device VIN-1 --ecu mcu=fw2.bin
B create ws -o ab2.uptane --device VIN-1
B assign ws --device VIN-1 --ecu mcu=fw3.bin
B create ws -o ab3.uptane --device VIN-1

# ---- ab ----
dev=$tmp/dev
mkdir -p "$dev/slots"
cat >"$dev/activate.sh" <<'SH'
#!/bin/sh
# records how it was called; fails when asked to
echo "activate $#:$1:$2" >>"$(dirname "$0")/calls.log"
[ -e "$(dirname "$0")/fail-activate" ] && exit 3
exit 0
SH
cat >"$dev/confirm.sh" <<'SH'
#!/bin/sh
echo "confirm $#:$1" >>"$(dirname "$0")/calls.log"
[ -e "$(dirname "$0")/fail-confirm" ] && exit 1
exit 0
SH
chmod +x "$dev/activate.sh" "$dev/confirm.sh"
echo "factory A" >"$dev/slots/a"
echo "factory B" >"$dev/slots/b"
ab='{"serial":"mcu","hardware_id":"mcu-x","install":{"type":"ab","slots":["slots/a","slots/b"],"activate":["./activate.sh","{slot}","{device}"],"confirm":["./confirm.sh","slot={slot}"]}}'
device_json "$dev" VIN-1 mcu "$ab"
st() { (cd "$dev" && "$INSTALL" --config device.json --json status) | tail -1; }
stf() { st | $PY -c 'import json,sys; s=json.load(sys.stdin); e=s["ecus"][0]; print(eval(sys.argv[1]))' "$1"; }

code=$(run_install o1 "$dev" install "$tmp/ab1.uptane")
expect_result "ab: install" o1 "$code" 0 installed null
check "ab: the inactive slot (B) holds the image" cmp -s "$dev/slots/b" fw1.bin
check "ab: the active slot (A) untouched" grep -qx "factory A" "$dev/slots/a"
check "ab: activate ran once with {slot}=1 {device}=slot B" [ "$(cat "$dev/calls.log")" = "activate 2:1:$dev/slots/b" ]
check "ab: installed event says pending" grep -q '"event":"installed","ecu":"mcu","target":"fw1.bin","pending":true' o1
check "ab: status shows pending fw1 in slot 1, active slot 0" [ "$(stf 'e["pending"]["target"], e["pending_slot"], e["active_slot"], e["installed"]')" = "('fw1.bin', 1, 0, None)" ]
check "ab: the report names the pending image" $PY -c '
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
assert s["ecu_reports"][0]["signed"]["installed_image"]["filepath"] == "fw1.bin"' "$dev/state/reports/1.json"
code=$(run_install o2 "$dev" install "$tmp/ab1.uptane")
expect_result "ab: same bundle while pending: up to date" o2 "$code" 3 up-to-date null
: >"$dev/calls.log"
code=$(run_install o3 "$dev" confirm)
check "ab: confirm exits 0" [ "$code" = 0 ]
check "ab: confirm ran the confirm program with {slot}" [ "$(cat "$dev/calls.log")" = "confirm 1:slot=1" ]
check "ab: after confirm: fw1 installed, active slot 1, nothing pending" [ "$(stf 'e["installed"]["target"], e["active_slot"], e["pending"]')" = "('fw1.bin', 1, None)" ]
code=$(run_install o4 "$dev" confirm)
check "ab: confirm with nothing pending: exit 3" [ "$code" = 3 ]

: >"$dev/calls.log"
code=$(run_install o5 "$dev" install "$tmp/ab2.uptane")
expect_result "ab: second update" o5 "$code" 0 installed null
check "ab: second update went to slot A (index 0)" bash -c "cmp -s '$dev/slots/a' fw2.bin && cmp -s '$dev/slots/b' fw1.bin"
check "ab: activate {slot}=0" [ "$(cat "$dev/calls.log")" = "activate 2:0:$dev/slots/a" ]
code=$(run_install o6 "$dev" confirm --failed)
check "ab: confirm --failed exits 0" [ "$code" = 0 ]
check "ab: after --failed: fw1 still installed in slot 1, nothing pending" [ "$(stf 'e["installed"]["target"], e["active_slot"], e["pending"]')" = "('fw1.bin', 1, None)" ]
: >"$dev/calls.log"
code=$(run_install o7 "$dev" install "$tmp/ab2.uptane")
expect_result "ab: the same bundle installs again after --failed" o7 "$code" 0 installed null
check "ab: ... into slot 0 again" [ "$(cat "$dev/calls.log")" = "activate 2:0:$dev/slots/a" ]
touch "$dev/fail-confirm"
code=$(run_install o8 "$dev" confirm)
check "ab: a failing confirm program: exit 6, stays pending" bash -c "[ $code = 6 ] && [ \"\$(cd '$dev' && '$INSTALL' --config device.json --json status | tail -1 | grep -c '\"pending\":{')\" = 1 ]"
rm "$dev/fail-confirm"
code=$(run_install o9 "$dev" confirm)
check "ab: confirm once it works" [ "$code" = 0 ]

# activation fails: exit 5, the previous software stays, nothing pending
touch "$dev/fail-activate"
snap_inst=$(cat "$dev/state/trusted/installed.json")
code=$(run_install o10 "$dev" install "$tmp/ab3.uptane")
expect_result "ab: activate fails: install failed, previous software active" o10 "$code" 5 failed install
check "ab: failed activation: record unchanged (fw2 in slot 0, nothing pending)" [ "$snap_inst" = "$(cat "$dev/state/trusted/installed.json")" ]
check "ab: failed activation: message says the previous software is still active" grep -q 'previous software is still active' o10
rm "$dev/fail-activate"
code=$(run_install o11 "$dev" install "$tmp/ab3.uptane")
expect_result "ab: the same bundle installs once activation works" o11 "$code" 0 installed null

# ---- exec, and all-or-nothing across ECUs ----
B assign ws --device VIN-2 --ecu main=m1.bin sensor=s1.bin
B create ws -o ex1.uptane --device VIN-2
B assign ws --device VIN-2 --ecu main=m1.bin sensor=s2.bin
B create ws -o ex2.uptane --device VIN-2
edev=$tmp/edev
mkdir -p "$edev/targets"
cat >"$edev/flash.sh" <<'SH'
#!/bin/sh
# a flasher: copies the image it is given, atomically; fails when asked to
d=$(dirname "$0")
echo "flash $#:$1" >>"$d/calls.log"
[ -e "$d/fail-flash" ] && exit 9
cp "$1" "$d/targets/sensor.fw.tmp" && mv "$d/targets/sensor.fw.tmp" "$d/targets/sensor.fw"
SH
chmod +x "$edev/flash.sh"
echo "factory sensor" >"$edev/targets/sensor.fw"
echo "factory main" >"$edev/targets/main.bin"
ex='{"serial":"sensor","hardware_id":"sensor-y","install":{"type":"exec","command":["./flash.sh","{image}"]}}'
device_json "$edev" VIN-2 main "$(file_ecu main board-a targets/main.bin)" "$ex"
touch "$edev/fail-flash"
snap=$(state_snapshot "$edev")
code=$(run_install e1 "$edev" install "$tmp/ex1.uptane")
expect_result "exec fails after the file ECU activated: device needs attention" e1 "$code" 6 failed install
check "partial: the file ECU runs the new image" cmp -s "$edev/targets/main.bin" m1.bin
check "partial: the exec ECU keeps the old one" grep -qx "factory sensor" "$edev/targets/sensor.fw"
check "partial: the message says who runs what (the failed program's ECU: not known)" \
	grep -q 'main now runs the new software; the update program of sensor failed or was stopped, so sensor may run old or partly written software' e1
check "partial: installed.json records main only" $PY -c '
import json, sys
e = json.load(open(sys.argv[1]))["ecus"]
assert e["main"]["image"]["target"] == "m1.bin" and "sensor" not in e, e' "$edev/state/trusted/installed.json"
check "partial: the report says failed/install and who runs what" $PY -c '
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
assert s["result"]["status"] == "failed" and s["result"]["reason"] == "install"
e = {r["signed"]["ecu_serial"]: r["signed"]["installed_image"]["filepath"] for r in s["ecu_reports"]}
assert e == {"main": "m1.bin", "sensor": ""}, e' "$edev/state/reports/1.json"
check "partial: no staged image left in the state directory" [ -z "$(ls -A "$edev/state/staging")" ]
rm "$edev/fail-flash"
: >"$edev/calls.log"
code=$(run_install e2 "$edev" install "$tmp/ex1.uptane")
expect_result "exec: the same bundle completes the rest" e2 "$code" 0 installed null
check "exec: the program got the verified staged image" cmp -s "$edev/targets/sensor.fw" s1.bin
check "exec: ran once, {image} in the state directory" bash -c "[ \$(wc -l <'$edev/calls.log') = 1 ] && grep -q '^flash 1:$edev/state/staging/sensor.image$' '$edev/calls.log'"
check "exec: only the exec ECU was installed this time" [ "$(grep -c '"event":"installed"' e2)" = 1 ]
check "exec: staged file removed after commit" [ -z "$(ls -A "$edev/state/staging")" ]
code=$(run_install e3 "$edev" install "$tmp/ex2.uptane")
expect_result "exec: next version" e3 "$code" 0 installed null
check "exec: next version flashed" cmp -s "$edev/targets/sensor.fw" s2.bin

# ---- a crash at a chosen instant: while the exec program runs, and while activating ----
B assign ws --device VIN-3 --ecu main=m1.bin mcu=fw2.bin sensor=s2.bin
B create ws -o cr.uptane --device VIN-3
cdev=$tmp/cdev
mkdir -p "$cdev/targets" "$cdev/slots"
: >"$cdev/slots/a"
: >"$cdev/slots/b"
# The flasher takes the installer down (power cut while flashing) the first time it runs.
cat >"$cdev/flash.sh" <<'SH'
#!/bin/sh
d=$(dirname "$0")
echo "flash" >>"$d/calls.log"
if [ ! -e "$d/crashed" ]; then touch "$d/crashed"; kill -9 "$PPID"; sleep 1; fi
cp "$1" "$d/targets/sensor.fw"
SH
printf '#!/bin/sh\necho "activate $1" >>"$(dirname "$0")/calls.log"\n' >"$cdev/activate.sh"
chmod +x "$cdev/flash.sh" "$cdev/activate.sh"
cab='{"serial":"mcu","hardware_id":"mcu-x","install":{"type":"ab","slots":["slots/a","slots/b"],"activate":["./activate.sh","{slot}"]}}'
cex='{"serial":"sensor","hardware_id":"sensor-y","install":{"type":"exec","command":["./flash.sh","{image}"]}}'
device_json "$cdev" VIN-3 main "$(file_ecu main board-a targets/main.bin)" "$cab" "$cex"
code=$(run_install c1 "$cdev" install "$tmp/cr.uptane")
check "crash while the exec program runs: the installer died (killed)" [ "$code" = 137 ]
check "crash: the journal is there" test -f "$cdev/state/journal"
check "crash: main and mcu were activated before it" bash -c "cmp -s '$cdev/targets/main.bin' m1.bin && grep -q 'activate 1' '$cdev/calls.log'"
code=$(run_install c2 "$cdev" status)
check "recovery (next command): exit 0" [ "$code" = 0 ]
check "recovery: the exec program is not run a second time" [ "$(grep -c flash "$cdev/calls.log")" = 1 ]
check "recovery: says its outcome is unknown" grep -q 'outcome is unknown' c2
check "recovery: main and mcu recorded (mcu pending), sensor not; no journal" $PY -c '
import json, os, sys
e = json.load(open(sys.argv[1] + "/state/trusted/installed.json"))["ecus"]
assert e["main"]["image"]["target"] == "m1.bin" and e["mcu"]["pending"]["image"]["target"] == "fw2.bin"
assert "sensor" not in e and not os.path.exists(sys.argv[1] + "/state/journal")' "$cdev"
code=$(run_install c3 "$cdev" install "$tmp/cr.uptane")
expect_result "after recovery, the same bundle finishes the sensor" c3 "$code" 0 installed null
check "... and only the sensor" bash -c "[ \$(grep -c '\"event\":\"installed\"' c3) = 1 ] && cmp -s '$cdev/targets/sensor.fw' s2.bin"

# A crash inside activate (the bootloader tool): recovery runs activate again (idempotent) and
# rolls forward to the ECUs after it.
rm -rf "$cdev/state" "$cdev/crashed" "$cdev/calls.log" "$cdev/targets"/*
cat >"$cdev/activate.sh" <<'SH'
#!/bin/sh
d=$(dirname "$0")
echo "activate $1" >>"$d/calls.log"
if [ ! -e "$d/crashed" ]; then touch "$d/crashed"; kill -9 "$PPID"; sleep 1; fi
SH
printf '#!/bin/sh\necho flash >>"$(dirname "$0")/calls.log"\ncp "$1" "$(dirname "$0")/targets/sensor.fw"\n' >"$cdev/flash.sh"
code=$(run_install c4 "$cdev" install "$tmp/cr.uptane")
check "crash inside activate: the installer died" [ "$code" = 137 ]
code=$(run_install c5 "$cdev" status)
check "recovery: activate again, then the exec ECU, each once" bash -c "[ $code = 0 ] && [ \"\$(cat '$cdev/calls.log' | tr '\n' ' ')\" = 'activate 1 activate 1 flash ' ]"
check "recovery: every ECU holds the new image" bash -c "cmp -s '$cdev/targets/main.bin' m1.bin && cmp -s '$cdev/slots/b' fw2.bin && cmp -s '$cdev/targets/sensor.fw' s2.bin"
code=$(run_install c6 "$cdev" install "$tmp/cr.uptane")
expect_result "after recovery the bundle is up to date" c6 "$code" 3 up-to-date null

# ---- no re-reading of the stick: the bundle is replaced while the commit runs ----
rm -rf "$cdev/state" "$cdev/crashed" "$cdev/calls.log" "$cdev/targets"/*
cp cr.uptane "$tmp/toctou.uptane"
cat >"$cdev/activate.sh" <<SH
#!/bin/sh
# the "stick" is rewritten after the images were verified: different images, same name
cp '$tmp/ex1.uptane' '$tmp/toctou.uptane'
head -c 100000 /dev/urandom >>'$tmp/toctou.uptane'
SH
code=$(run_install t1 "$cdev" install "$tmp/toctou.uptane")
expect_result "bundle replaced on the stick after verification" t1 "$code" 0 installed null
check "the exec ECU got the verified bytes, not the replaced file's" cmp -s "$cdev/targets/sensor.fw" s2.bin

# ---- no shell: arguments are passed as they are ----
sdev=$tmp/sdev
mkdir -p "$sdev/targets"
cat >"$sdev/args.sh" <<'SH'
#!/bin/sh
for a in "$@"; do printf '[%s]' "$a"; done >"$(dirname "$0")/args.out"
SH
chmod +x "$sdev/args.sh"
sx='{"serial":"sensor","hardware_id":"sensor-y","install":{"type":"exec","command":["./args.sh","$(touch pwned)","a b;c","--in={image}"]}}'
device_json "$sdev" VIN-2 main "$(file_ecu main board-a targets/main.bin)" "$sx"
code=$(run_install s1 "$sdev" install "$tmp/ex2.uptane")
expect_result "exec: arguments with shell syntax" s1 "$code" 0 installed null
check "exec: arguments reached the program unchanged, nothing evaluated" bash -c "[ \"\$(cat '$sdev/args.out')\" = '[\$(touch pwned)][a b;c][--in=$sdev/state/staging/sensor.image]' ] && [ ! -e '$sdev/pwned' ] && [ ! -e pwned ]"

# ---- the device's storage is full while staging: exit 5, nothing left behind ----
fdev=$tmp/fulldev
mkdir -p "$fdev/targets"
if mount -t tmpfs -o size=300k tmpfs "$fdev/targets" 2>/dev/null; then
	echo "factory" >"$fdev/targets/mcu.bin"
	device_json "$fdev" VIN-1 mcu "$(file_ecu mcu mcu-x targets/mcu.bin)"
	(cd "$fdev" && "$INSTALL" --config device.json status >/dev/null)
	snap=$(state_snapshot "$fdev")
	code=$(run_install full "$fdev" install "$tmp/ab1.uptane")
	expect_result "storage full while staging: install failed, previous software active" full "$code" 5 failed install
	check "storage full: the target and trusted/ unchanged, no staging file left" bash -c "[ '$snap' = \"\$(cd '$fdev' && find state/trusted targets -type f -print0 | sort -z | xargs -0 -r sha256sum)\" ] && [ -z \"\$(ls -A '$fdev/targets' | grep '^\.')\" ]"
	check "storage full: the detail names the write that failed" grep -q 'No space left on device' full
	umount "$fdev/targets"
else
	skip "storage full (cannot mount a small tmpfs here)"
fi

# ---- the lock: a second installer while one runs gets exit 7 ----
cat >"$edev/flash.sh" <<'SH'
#!/bin/sh
d=$(dirname "$0")
touch "$d/flashing"; sleep 3; cp "$1" "$d/targets/sensor.fw"
SH
B assign ws --device VIN-2 --ecu main=m1.bin sensor=s3.bin
"$BUNDLE" create ws -o ex3.uptane --device VIN-2 >/dev/null
(cd "$edev" && "$INSTALL" --config device.json --json install "$tmp/ex3.uptane" >"$tmp/bg.out" 2>&1) &
bg=$!
for _ in $(seq 100); do [ -e "$edev/flashing" ] && break; sleep 0.1; done
code=$(run_install busy "$edev" status)
check "busy: a second run while one installs exits 7" [ "$code" = 7 ]
check "busy: result says try again" grep -q '"reason":"io"' busy
wait $bg
check "busy: the first run completed" grep -q '"status":"installed"' "$tmp/bg.out"
finish
