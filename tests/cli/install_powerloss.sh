#!/usr/bin/env bash
# Power loss: >= 100 trials (UPT_POWERLOSS_TRIALS) that kill -9 the installer's whole session
# (the installer and the activate/flash programs it runs) at a random instant of an
# install of three ECUs (file, ab, exec). After each: the next command recovers (roll forward);
# the state parses; every ECU holds exactly its old or its new image and its record agrees;
# nothing is left behind (staging, journal, trusted.new/ready/old); installing the same bundle
# again completes the update (every 4th trial). (Data the kernel had not written yet is the fsync test's concern:
# install_fsync.sh.)
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
source "$(dirname "$0")/install_lib.bash"
TRIALS=${UPT_POWERLOSS_TRIALS:-100}
# On tmpfs when there is one: a kill -9 loses nothing the page cache holds, so fsync latency
# only slows the trials down (install_fsync.sh checks the ordering that power cuts need).
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	tmp=$(mktemp -d /dev/shm/upt-test.XXXXXX)
else
	tmp=$(mktmp)
fi
trap 'rm -rf "$tmp"' EXIT
[ -n "${UPT_KEEP:-}" ] && { trap - EXIT; echo "# kept: $tmp"; }
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage main1.bin 3000000 m1
mkimage main2.bin 3200000 m2
mkimage fw1.bin 400000 f1
mkimage fw2.bin 450000 f2
mkimage s1.bin 100000 s1
mkimage s2.bin 120000 s2
B() { "$BUNDLE" "$@" >/dev/null; }
B target add ws main1.bin --hardware-id board-a --release-counter 1
B target add ws main2.bin --hardware-id board-a --release-counter 2
B target add ws fw1.bin --hardware-id mcu-x --release-counter 1
B target add ws fw2.bin --hardware-id mcu-x --release-counter 2
B target add ws s1.bin --hardware-id sensor-y --release-counter 1
B target add ws s2.bin --hardware-id sensor-y --release-counter 2
B assign ws --device VIN-1 --ecu main=main1.bin mcu=fw1.bin sensor=s1.bin
B create ws -o b1.uptane --device VIN-1
B assign ws --device VIN-1 --ecu main=main2.bin mcu=fw2.bin sensor=s2.bin
B create ws -o b2.uptane --device VIN-1
sha() { sha256sum "$1" | cut -d' ' -f1; }

base=$tmp/base
mkdir -p "$base/targets" "$base/slots"
cat >"$base/activate.sh" <<'SH'
#!/bin/sh
# a slow bootloader switch (widens the window): records the slot it switched to
sleep 0.05
echo "$1" >"$(dirname "$0")/bootslot.tmp" && mv "$(dirname "$0")/bootslot.tmp" "$(dirname "$0")/bootslot"
SH
cat >"$base/flash.sh" <<'SH'
#!/bin/sh
# a slow flasher that replaces the sensor firmware atomically
d=$(dirname "$0")
sleep 0.05
cp "$1" "$d/targets/sensor.tmp" && mv "$d/targets/sensor.tmp" "$d/targets/sensor.fw"
SH
chmod +x "$base/activate.sh" "$base/flash.sh"
: >"$base/slots/a"
: >"$base/slots/b"
ab='{"serial":"mcu","hardware_id":"mcu-x","install":{"type":"ab","slots":["slots/a","slots/b"],"activate":["./activate.sh","{slot}"]}}'
ex='{"serial":"sensor","hardware_id":"sensor-y","install":{"type":"exec","command":["./flash.sh","{image}"]}}'
device_json "$base" VIN-1 main "$(file_ecu main board-a targets/main.bin)" "$ab" "$ex"
code=$(run_install o0 "$base" install "$tmp/b1.uptane")
expect_result "base: b1 installed" o0 "$code" 0 installed null
code=$(run_install o0c "$base" confirm)
check "base: confirmed" [ "$code" = 0 ]
check "base: mcu runs fw1 from slot B" bash -c "cmp -s '$base/slots/b' fw1.bin && [ \$(cat '$base/bootslot') = 1 ]"

# How long an uninterrupted install takes: the kill instants are spread over it.
cp -a "$base" "$tmp/timing"
t0=$(date +%s%N)
code=$(run_install ot "$tmp/timing" install "$tmp/b2.uptane")
t1=$(date +%s%N)
expect_result "timing run: b2 installs uninterrupted" ot "$code" 0 installed null
span=$(( (t1 - t0) / 1000 )) # microseconds
echo "# uninterrupted install: $((span / 1000)) ms; $TRIALS trials"

M1=$(sha main1.bin) M2=$(sha main2.bin) F1=$(sha fw1.bin) F2=$(sha fw2.bin) S1=$(sha s1.bin) S2=$(sha s2.bin)
export M1 M2 F1 F2 S1 S2
fails=0 during_stage=0 during_commit=0 other=0 rolled_forward=0 unknown_exec=0
for trial in $(seq 1 "$TRIALS"); do
	d=$tmp/t
	rm -rf "$d"
	cp -a "$base" "$d"
	delay=$(( RANDOM * 32768 + RANDOM ))
	delay=$(( delay % (span + 1) ))
	(cd "$d" && exec setsid "$INSTALL" --config device.json --json install "$tmp/b2.uptane" >"$d/run.out" 2>&1) &
	pid=$!
	sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
	# the whole session, as a power cut would: the activate and flash programs run in process
	# groups of their own (spawn.c), and one killed between fork and exec still shares the
	# state lock's open file until it has died (seen under heavy load)
	pkill -9 -s "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for _ in $(seq 500); do pgrep -s "$pid" >/dev/null || break; pkill -9 -s "$pid"; sleep 0.01; done
	# what the kill interrupted
	if [ -e "$d/state/journal" ]; then
		during_commit=$((during_commit + 1))
	elif ls -A "$d/targets" | grep -q '^\.' || [ -n "$(ls -A "$d/state/staging")" ]; then
		during_stage=$((during_stage + 1))
	else
		other=$((other + 1))
	fi
	# the next command recovers
	(cd "$d" && "$INSTALL" --config device.json --json status) >"$d/status.out" 2>"$d/status.err"
	st=$?
	grep -q '"code":"recovering"' "$d/status.out" && rolled_forward=$((rolled_forward + 1))
	grep -q 'outcome is unknown' "$d/status.out" && unknown_exec=$((unknown_exec + 1))
	why=$($PY - "$d" "$st" <<'PY'
import hashlib, json, os, sys
d, st = sys.argv[1], int(sys.argv[2])
E = os.environ
def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.exists(p) else None
bad = []
if st != 0:
    bad.append("status exited %d" % st)
try:
    s = json.loads(open(os.path.join(d, "status.out")).read().splitlines()[-1])
    inst = json.load(open(os.path.join(d, "state/trusted/installed.json")))["ecus"]
except Exception as e:
    print("state does not parse: %s" % e); sys.exit(1)
main = sha(os.path.join(d, "targets/main.bin"))
if main not in (E["M1"], E["M2"]):
    bad.append("main holds neither image")
rec = inst["main"]["image"]["target"]
if (main == E["M2"]) != (rec == "main2.bin"):
    bad.append("main holds %s but its record says %s" % (main[:8], rec))
m = inst["mcu"]
slots = [os.path.join(d, "slots/a"), os.path.join(d, "slots/b")]
boot = open(os.path.join(d, "bootslot")).read().strip()
if sha(slots[m["slot"]]) != E["F1"] or m["image"]["target"] != "fw1.bin":
    bad.append("mcu: the confirmed slot no longer holds fw1")
if "pending" in m:
    p = m["pending"]
    if p["image"]["target"] != "fw2.bin" or sha(slots[p["slot"]]) != E["F2"]:
        bad.append("mcu: pending record does not match its slot")
    if boot != str(p["slot"]):
        bad.append("mcu: pending in slot %d but the bootloader points at %s" % (p["slot"], boot))
elif boot != str(m["slot"]):
    bad.append("mcu: nothing pending but the bootloader points at slot %s" % boot)
sensor = sha(os.path.join(d, "targets/sensor.fw"))
if sensor not in (E["S1"], E["S2"]):
    bad.append("sensor holds neither image")
if "sensor" in inst and inst["sensor"]["image"]["target"] == "s2.bin" and sensor != E["S2"]:
    bad.append("sensor recorded as s2 but holds the old image")
left = [f for f in os.listdir(os.path.join(d, "targets")) if f.startswith(".")]
left += [f for f in os.listdir(os.path.join(d, "state")) if f in ("journal", "trusted.new", "trusted.ready", "trusted.old", "trusted.init")]
left += os.listdir(os.path.join(d, "state/staging"))
if left:
    bad.append("left behind: %s" % left)
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
	)
	if [ $? -ne 0 ]; then
		fails=$((fails + 1))
		not_ok "power loss trial $trial (kill after ${delay}us): $why"
		sed 's/^/#   /' "$d/run.out" "$d/status.out" "$d/status.err" | tail -8
		continue
	fi
	# and the same bundle again completes the update (every 4th trial: it is slow, and the
	# recovery above is what the trial is about)
	[ $((trial % 4)) = 0 ] || continue
	code=$(run_install "$d/again.out" "$d" install "$tmp/b2.uptane")
	if { [ "$code" = 0 ] || [ "$code" = 3 ]; } && cmp -s "$d/targets/main.bin" main2.bin &&
		cmp -s "$d/targets/sensor.fw" s2.bin &&
		[ "$(cd "$d" && "$INSTALL" --config device.json --json status | tail -1 | $PY -c '
import json, sys
e = {x["serial"]: x for x in json.load(sys.stdin)["ecus"]}
p = e["mcu"]["pending"]
print(p["target"] if p else e["mcu"]["installed"]["target"])')" = fw2.bin ]; then
		:
	else
		fails=$((fails + 1))
		not_ok "power loss trial $trial: installing again did not complete the update (exit $code)"
		sed 's/^/#   /' "$d/again.out" | tail -4
	fi
done
echo "# kills: $during_stage while staging, $during_commit during the commit, $other before staging or after the commit; $rolled_forward recoveries rolled forward, $unknown_exec exec outcomes unknown"
check "power loss: $TRIALS trials, every one recovered to old-or-new and completed" [ "$fails" = 0 ]
check "power loss: the kills hit the commit (>= 10% of trials)" [ $((during_commit * 10)) -ge "$TRIALS" ]
check "power loss: the kills hit staging too" [ "$during_stage" -ge 1 ]
finish
