#!/usr/bin/env bash
# Time through uptane-install, moved with libfaketime (the installer reads only the system
# clock): an expired bundle (freeze) with a message that says when it expired; a clock set back
# behind the time floor is reported and not trusted (an expired bundle stays expired, a valid
# one still installs); the floor is raised by the signed `issued` and persisted.
source "$(dirname "$0")/lib.bash"
setup bundle install
if ! command -v faketime >/dev/null; then
	not_ok "faketime is not installed (make deps installs it)"
	finish
fi
cd "$tmp" || exit 1
export ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage main1.bin 100000 m1
mkimage main2.bin 100000 m2
mkimage main3.bin 100000 m3
B() { "$BUNDLE" "$@" >/dev/null; }
B target add ws main1.bin --hardware-id board-a --release-counter 1
B target add ws main2.bin --hardware-id board-a --release-counter 2
B target add ws main3.bin --hardware-id board-a --release-counter 3
# A bundle signed 60 days ago (expiring 30 days after that: already expired today).
B assign ws --device VIN-1 --ecu ecu-main=main1.bin
# (NO_FAKE_STAT: the bundler compares file times; libfaketime would shift those too)
check "bundler (clock 60 days back): old bundle" env NO_FAKE_STAT=1 faketime -f '-60d' "$BUNDLE" create ws -o old.uptane --device VIN-1 --expires 30d
B assign ws --device VIN-1 --ecu ecu-main=main2.bin
check "bundler: current bundle" "$BUNDLE" create ws -o b2.uptane --device VIN-1 --expires 30d
B assign ws --device VIN-1 --ecu ecu-main=main3.bin
check "bundler: next bundle" "$BUNDLE" create ws -o b3.uptane --device VIN-1 --expires 30d

dev=$tmp/dev
mkdir -p "$dev/targets"
echo factory >"$dev/targets/main.bin"
device_json "$dev" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)"
ft() { # ft OFFSET OUT ARGS..: uptane-install under faketime; prints the exit code
	local off=$1 out=$2; shift 2
	(cd "$dev" && faketime -f "$off" "$INSTALL" --config device.json --json "$@") >"$out" 2>"$out.err"
	echo $?
}

(cd "$dev" && "$INSTALL" --config device.json status >/dev/null)
snap=$(state_snapshot "$dev")
code=$(ft '+0d' o1 install "$tmp/old.uptane")
expect_result "a bundle that expired 30 days ago: freeze" o1 "$code" 4 rejected freeze
exp=$(date -u -d '-30 days' +%Y-%m-%d)
exp2=$(date -u -d '-31 days' +%Y-%m-%d)
check "freeze: the message says when it expired" bash -c "grep -q 'expired on $exp\|expired on $exp2' o1"
check "freeze: trusted/ and target byte-identical" [ "$snap" = "$(state_snapshot "$dev")" ]
code=$(ft '-45d' o1b install "$tmp/old.uptane")
expect_result "the same bundle, device clock 45 days back: the installer's build time is a floor" o1b "$code" 4 rejected freeze
check "build-time floor: the clock is reported as behind" grep -q 'clock-behind-floor' o1b

code=$(ft '+40d' o2 install "$tmp/b2.uptane")
expect_result "a current bundle 40 days later: freeze" o2 "$code" 4 rejected freeze
code=$(ft '+0d' o3 install "$tmp/b2.uptane")
expect_result "the current bundle now" o3 "$code" 0 installed null
floor=$(cat "$dev/state/trusted/time_floor")
issued=$(tar xOf b2.uptane metadata/director/timestamp.json | $PY -c 'import json,sys; print(json.load(sys.stdin)["signed"]["issued"])')
check "the time floor is the signed issued time ($issued)" [ "$floor" = "$issued" ]

# The configured factory floor counts too: a floor 40 days ahead makes the current bundle
# (valid for 30 days) expired, with the clock right.
dev3=$tmp/dev3
mkdir -p "$dev3/targets"
device_json "$dev3" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)"
sed -i "s/\"accept\"/\"time_floor\": \"$(date -u -d '+40 days' +%Y-%m-%dT%H:%M:%SZ)\", \"accept\"/" "$dev3/device.json"
(cd "$dev3" && "$INSTALL" --config device.json status >/dev/null)
snap=$(state_snapshot "$dev3")
code=$(cd "$dev3" && "$INSTALL" --config device.json --json install "$tmp/b3.uptane" >"$tmp/o4" 2>&1; echo $?)
expect_result "config time_floor 40 days ahead: a 30-day bundle is expired" o4 "$code" 4 rejected freeze
check "clock behind the configured floor: a warning event" grep -q '"event":"warning","code":"clock-behind-floor"' o4
check "floor rejection: trusted/ unchanged" [ "$snap" = "$(state_snapshot "$dev3")" ]
code=$(ft '-10y' o5 install "$tmp/b3.uptane")
expect_result "clock 10 years back: a valid bundle installs on the floor's time" o5 "$code" 0 installed null
check "clock behind the floor: warned" grep -q 'clock-behind-floor' o5
last=$(ls "$dev/state/reports" | grep -E '^[0-9]+\.json$' | sort -n | tail -1)
check "report: time.clock is the wrong clock, time.effective the floor" $PY - "$dev/state/reports/$last" "$issued" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["signed"]["time"]
assert t["clock"] < "2020" and t["effective"] >= sys.argv[2], t
PY
code=$(ft '+40d' o6 install "$tmp/b3.uptane")
expect_result "b3 40 days later: expired, even though it is installed" o6 "$code" 4 rejected freeze
finish
