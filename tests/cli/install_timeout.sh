#!/usr/bin/env bash
# Programs that hang: the `exec` handler's program and the `ab` activate and confirm
# programs run at most install.timeout_seconds (an extension, docs/device-config.md). On
# timeout the program's process group gets SIGTERM, 5 s later SIGKILL, and the install fails
# exactly as if the program had failed: exit 5 (or 6 when other ECUs were already activated),
# failed/install, a message naming the ECU, the program and the timeout, a signed report that
# says so, the records unchanged, no journal or staged image left, the lock free, and no
# process of the program left. The key itself: bounded, refused where no program runs.
source "$(dirname "$0")/lib.bash"
setup bundle install
pids=()
at_exit 'for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null; done'
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage m1.bin 40000 m1
mkimage s1.bin 50000 s1
mkimage fw1.bin 60000 f1
B() { "$BUNDLE" "$@" >/dev/null; }
B target add ws m1.bin --hardware-id board-a --release-counter 1
B target add ws s1.bin --hardware-id sensor-y --release-counter 1
B target add ws fw1.bin --hardware-id mcu-x --release-counter 1
B assign ws --device VIN-X --ecu sensor=s1.bin
B create ws -o x1.uptane --device VIN-X
B assign ws --device VIN-P --ecu main=m1.bin sensor=s1.bin
B create ws -o p1.uptane --device VIN-P
B assign ws --device VIN-A --ecu mcu=fw1.bin
B create ws -o a1.uptane --device VIN-A

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# A program that hangs: a shell waiting for a child (the group kill must take both), its pid
# (= its process group id) in hang.pid.
hang_script() { # FILE [trap]
	{
		echo '#!/bin/sh'
		echo 'd=$(dirname "$0")'
		[ "${2:-}" = trap ] && echo "trap '' TERM"
		echo 'echo $$ >"$d/hang.pid"'
		echo 'sleep 3171'
		echo 'echo finished >"$d/hang.done"'
	} >"$1"
	chmod 755 "$1"
}
# gone PGID: no process is left in the program's group (after a short grace for the kernel)
gone() {
	local pg=$1
	[ -n "$pg" ] || return 1
	pids+=("$pg") # killed at exit should the check fail
	for _ in $(seq 20); do
		pgrep -g "$pg" >/dev/null || return 0
		sleep 0.1
	done
	pgrep -g "$pg" -a | sed 's/^/#   left: /'
	return 1
}
# rep_has DEV N TEXT..: report N is failed/install and its message contains every TEXT
rep_has() {
	local f=$1/state/reports/$2.json
	shift 2
	$PY - "$f" "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
r = s["result"]
assert r["status"] == "failed" and r["reason"] == "install", r
for t in sys.argv[2:]:
    assert t in r["message"], (t, r["message"])
PY
}
detail() { tail -1 "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin).get("detail") or "")'; }
# detail_is OUT GLOB: the result line's detail matches GLOB (printed when it does not)
detail_is() {
	local d
	d=$(detail "$1")
	# shellcheck disable=SC2053
	[[ $d == $2 ]] && return 0
	echo "#   detail: $d"
	return 1
}
exec_ecu() { # SERIAL PROGRAM [TIMEOUT]
	local t=""
	[ -n "${3:-}" ] && t=",\"timeout_seconds\":$3"
	echo "{\"serial\":\"$1\",\"hardware_id\":\"sensor-y\",\"install\":{\"type\":\"exec\",\"command\":[\"$2\",\"{image}\"]$t}}"
}

# ---- exec: the program hangs, honours SIGTERM ----
xd=$tmp/xdev
mkdir -p "$xd"
hang_script "$xd/hang.sh"
device_json "$xd" VIN-X sensor "$(exec_ecu sensor ./hang.sh 1)"
t0=$(now_ms)
code=$(run_install x1 "$xd" install "$tmp/x1.uptane")
el=$(($(now_ms) - t0))
expect_result "exec hangs past timeout_seconds=1: install failed, previous software active" x1 "$code" 5 failed install
check "exec timeout: stopped after ~1 s, not after the 5 s grace (took ${el} ms)" [ "$el" -ge 1000 -a "$el" -lt 5900 ]
check "exec timeout: the detail names the ECU, the program, the timeout and SIGTERM" \
	detail_is x1 "sensor: $xd/./hang.sh did not finish within 1 s (install.timeout_seconds) and was stopped (SIGTERM)"
check "exec timeout: the human message does not promise the old software (the program may have flashed part)" \
	grep -q 'the update program of sensor failed or was stopped, so sensor may run its old software or a partly written update' x1
check "exec timeout: ... and does not say the previous software is still active" bash -c "! grep -q 'previous software is still active' x1"
check "exec timeout: the signed report says failed/install and why" rep_has "$xd" 1 'hang.sh did not finish within 1 s' 'sensor'
check "exec timeout: the report verifies" report_ok "$xd/state/reports/1.json" "$xd/device.pub"
pg=$(cat "$xd/hang.pid" 2>/dev/null)
check "exec timeout: no process of the program's group left (shell and its sleep)" gone "$pg"
check "exec timeout: the program did not run on" [ ! -e "$xd/hang.done" ]
check "exec timeout: no record for the ECU, no journal, no staged image" $PY -c '
import json, os, sys
d = sys.argv[1]
e = json.load(open(d + "/state/trusted/installed.json"))["ecus"]
assert "sensor" not in e, e
assert not os.path.exists(d + "/state/journal")
assert os.listdir(d + "/state/staging") == []' "$xd"
code=$(run_install x1s "$xd" status)
check "exec timeout: the lock is free (status right after: exit 0)" [ "$code" = 0 ]
# the same bundle installs once the program works (the failure is retryable, as for exit != 0)
printf '#!/bin/sh\ncp "$1" "$(dirname "$0")/sensor.fw"\n' >"$xd/hang.sh"
code=$(run_install x2 "$xd" install "$tmp/x1.uptane")
expect_result "exec: the same bundle installs once the program finishes in time" x2 "$code" 0 installed null
check "exec: ... with the verified image" cmp -s "$xd/sensor.fw" s1.bin

# ---- exec: the program ignores SIGTERM: SIGKILL 5 s later, the whole group ----
kd=$tmp/kdev
mkdir -p "$kd"
hang_script "$kd/hang.sh" trap
device_json "$kd" VIN-X sensor "$(exec_ecu sensor ./hang.sh 1)"
t0=$(now_ms)
code=$(run_install k1 "$kd" install "$tmp/x1.uptane")
el=$(($(now_ms) - t0))
expect_result "exec ignores SIGTERM: install failed" k1 "$code" 5 failed install
check "SIGTERM ignored: killed after timeout + 5 s grace (took ${el} ms)" [ "$el" -ge 6000 -a "$el" -lt 15000 ]
check "SIGTERM ignored: the detail says it was killed" \
	detail_is k1 "sensor: $kd/./hang.sh did not finish within 1 s (install.timeout_seconds); it ignored SIGTERM and was killed (SIGKILL) 5 s later"
pg=$(cat "$kd/hang.pid" 2>/dev/null)
check "SIGTERM ignored: nothing of the group left (the sleep ignored SIGTERM too)" gone "$pg"
check "SIGTERM ignored: the program did not run on" [ ! -e "$kd/hang.done" ]

# ---- exec after a file ECU was activated: exit 6, the report says who runs what ----
pd=$tmp/pdev
mkdir -p "$pd/targets"
echo "factory main" >"$pd/targets/main.bin"
hang_script "$pd/hang.sh"
device_json "$pd" VIN-P main "$(file_ecu main board-a targets/main.bin)" "$(exec_ecu sensor ./hang.sh 2)"
code=$(run_install p1 "$pd" install "$tmp/p1.uptane")
expect_result "exec times out after the file ECU activated: device needs attention" p1 "$code" 6 failed install
check "partial: the message says who runs what (the stopped program's ECU: unknown)" \
	grep -q 'main now runs the new software; the update program of sensor failed or was stopped, so sensor may run old or partly written software. The device' p1
check "partial: the detail names the timeout" grep -q 'hang.sh did not finish within 2 s' p1
check "partial: installed.json records main only" $PY -c '
import json, sys
e = json.load(open(sys.argv[1]))["ecus"]
assert e["main"]["image"]["target"] == "m1.bin" and "sensor" not in e, e' "$pd/state/trusted/installed.json"
check "partial: the report: failed/install, main m1.bin, sensor nothing" $PY -c '
import json, sys
s = json.load(open(sys.argv[1]))["signed"]
assert s["result"]["status"] == "failed" and s["result"]["reason"] == "install"
assert "did not finish within 2 s" in s["result"]["message"]
e = {r["signed"]["ecu_serial"]: r["signed"]["installed_image"]["filepath"] for r in s["ecu_reports"]}
assert e == {"main": "m1.bin", "sensor": ""}, e' "$pd/state/reports/1.json"
check "partial: no process of the program left" gone "$(cat "$pd/hang.pid" 2>/dev/null)"

# ---- ab: activate hangs; then confirm hangs ----
ad=$tmp/adev
mkdir -p "$ad/slots"
echo "factory A" >"$ad/slots/a"
echo "factory B" >"$ad/slots/b"
hang_script "$ad/hang.sh"
printf '#!/bin/sh\necho "$1" >"$(dirname "$0")/bootslot"\n' >"$ad/activate.sh"
chmod 755 "$ad/activate.sh"
abj() { # ACTIVATE CONFIRM
	echo "{\"serial\":\"mcu\",\"hardware_id\":\"mcu-x\",\"install\":{\"type\":\"ab\",\"slots\":[\"slots/a\",\"slots/b\"],\"activate\":[\"$1\",\"{slot}\"],\"confirm\":[\"$2\"],\"timeout_seconds\":1}}"
}
device_json "$ad" VIN-A mcu "$(abj ./hang.sh ./activate.sh)"
(cd "$ad" && "$INSTALL" --config device.json status >/dev/null)
snap_inst=$(cat "$ad/state/trusted/installed.json")
code=$(run_install a1 "$ad" install "$tmp/a1.uptane")
expect_result "ab: activate hangs past timeout_seconds=1: install failed" a1 "$code" 5 failed install
check "ab timeout: the detail names the ECU, the activate program and the timeout" \
	detail_is a1 "mcu: $ad/./hang.sh did not finish within 1 s (install.timeout_seconds) and was stopped (SIGTERM)"
check "ab timeout: record unchanged, nothing pending" [ "$snap_inst" = "$(cat "$ad/state/trusted/installed.json")" ]
check "ab timeout: the active slot untouched" grep -qx "factory A" "$ad/slots/a"
check "ab timeout: the report says failed/install and why" rep_has "$ad" 1 'hang.sh did not finish within 1 s'
check "ab timeout: no process of the program left" gone "$(cat "$ad/hang.pid" 2>/dev/null)"
rm -f "$ad/hang.pid"
# activate works, confirm hangs: confirm fails like a failing confirm program (exit 6, pending)
device_json "$ad" VIN-A mcu "$(abj ./activate.sh ./hang.sh)"
code=$(run_install a2 "$ad" install "$tmp/a1.uptane")
expect_result "ab: install with a working activate" a2 "$code" 0 installed null
code=$(run_install a3 "$ad" confirm)
check "ab: confirm program hangs: confirm exits 6" [ "$code" = 6 ]
check "ab: confirm timeout: the detail names the program and the timeout" grep -q 'hang.sh did not finish within 1 s (install.timeout_seconds)' a3
check "ab: confirm timeout: still pending" bash -c "(cd '$ad' && '$INSTALL' --config device.json --json status) | tail -1 | grep -q '\"pending\":{'"
check "ab: confirm timeout: no process of the program left" gone "$(cat "$ad/hang.pid" 2>/dev/null)"

# ---- the program runs in its own process group and dies with the installer ----
# (a killed installer must not leave a flasher running unsupervised without the lock)
dd=$tmp/ddev
mkdir -p "$dd"
printf '#!/bin/sh\necho $$ >"$(dirname "$0")/hang.pid"\nexec sleep 3173\n' >"$dd/hang.sh"
chmod 755 "$dd/hang.sh"
device_json "$dd" VIN-X sensor "$(exec_ecu sensor ./hang.sh 600)"
(cd "$dd" && exec setsid "$INSTALL" --config device.json --json install "$tmp/x1.uptane" >"$dd/run.out" 2>&1) &
ipid=$!
pids+=("$ipid")
for _ in $(seq 100); do [ -s "$dd/hang.pid" ] && break; sleep 0.1; done
ppid=$(cat "$dd/hang.pid" 2>/dev/null)
pids+=("$ppid")
check "the program runs in its own process group" [ -n "$ppid" -a "$(ps -o pgid= -p "$ppid" | tr -d ' ')" = "$ppid" ]
kill -9 "$ipid"
wait "$ipid" 2>/dev/null
check "the installer killed: the program dies with it" gone "$ppid"
code=$(run_install d2 "$dd" status)
check "... and the next start recovers (the outcome is unknown, not run again)" bash -c "[ $code = 0 ] && grep -q 'outcome is unknown' d2"

# ---- the key: bounded, typed, only where a program runs ----
cfg() { # NAME WANT_SUBSTRING INSTALL_JSON_TAIL: status must exit 2 with the substring
	local name=$1 want=$2 ecu=$3
	device_json "$tmp/cdev" VIN-X sensor "$ecu"
	local out=$tmp/cfg.out code
	code=$(run_install "$out" "$tmp/cdev" status)
	if [ "$code" = 2 ] && [ "$(result "$out" reason)" = config ] && grep -qF -- "$want" "$out"; then
		ok "config: $name (exit 2)"
	else
		not_ok "config: $name: exit $code"
		sed 's/^/#   /' "$out" | tail -3
	fi
}
mkdir -p "$tmp/cdev"
printf '#!/bin/sh\nexit 0\n' >"$tmp/cdev/ok.sh"
chmod 755 "$tmp/cdev/ok.sh"
for v in 0 -1 86401 '"5"' true null; do
	cfg "timeout_seconds $v refused" 'timeout_seconds: must be a whole number of seconds from 1 to 86400' \
		"$(exec_ecu sensor ./ok.sh "$v")"
done
cfg "timeout_seconds 1.5 refused (integers only)" 'real number not allowed' "$(exec_ecu sensor ./ok.sh 1.5)"
cfg "timeout_seconds on a file ECU is an unknown field" 'unknown field \"timeout_seconds\"' \
	'{"serial":"sensor","hardware_id":"sensor-y","install":{"type":"file","path":"t.bin","timeout_seconds":5}}'
device_json "$tmp/cdev" VIN-X sensor "$(exec_ecu sensor ./ok.sh 86400)"
code=$(run_install c1 "$tmp/cdev" status)
check "config: timeout_seconds 86400 (the maximum) accepted" [ "$code" = 0 ]
device_json "$tmp/cdev" VIN-X sensor \
	'{"serial":"sensor","hardware_id":"mcu-x","install":{"type":"ab","slots":["a","b"],"activate":["./ok.sh"],"timeout_seconds":1}}'
code=$(run_install c2 "$tmp/cdev" status)
check "config: timeout_seconds 1 on an ab ECU accepted" [ "$code" = 0 ]
finish
