#!/usr/bin/env bash
# One syntax for times and durations on every option that takes one (docs/man/uptane-bundle.1,
# TIMES AND DURATIONS): TIME is YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ, DURATION is
# <n>h, <n>d or <n>y with calendar years (2028-02-29 + 1y = 2029-02-28). Each option takes both
# TIME forms or every DURATION unit, and refuses anything else with exit 2 and a message naming
# the option and the syntax.
source "$(dirname "$0")/lib.bash"
setup bundle install
cd "$tmp" || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 # faketime preloads itself
# The clock frozen at the given time (faketime -f without "@"): the expected expiries are exact
# to the second, and a loaded machine must not move them. File times stay real (target add
# checks them).
ft() { local t=$1; shift; TZ=UTC NO_FAKE_STAT=1 faketime -f "$t" "$@"; }
TIME_SYNTAX='expected a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM:SSZ'
DUR_SYNTAX='expected a number and h (hours), d (days) or y (calendar years)'

# refused NAME SYNTAX CMD..: exit 2 and the message has SYNTAX
refused() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$want" <<<"$out"; then ok "$name"
	else not_ok "$name: exit $rc: $out"; fi
}
# expiry ROLE_FILE: the "expires" of a metadata file of the workspace
expiry() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed"]["expires"])' "$1"; }
# bexpiry BUNDLE MEMBER: the "expires" of a metadata member of a bundle
bexpiry() { tar xOf "$1" "$2" | $PY -c 'import json,sys; print(json.load(sys.stdin)["signed"]["expires"])'; }

# ---- DURATION: init, create, delegate, rotate (--expires); calendar years ----
std_keys k || { not_ok "keys"; finish; }
ft '2028-02-29 10:00:00' bash -c 'source "$1"; source "$2"; std_init k ws --expires director/root=1y \
	--expires image-repo/root=36500h' _ "$UPT_TOP/tests/cli/lib.bash" "$UPT_TOP/tests/cli/bundle_lib.bash" >/dev/null
check "init --expires director/root=1y on 2028-02-29: expires 2029-02-28 (a calendar year)" \
	[ "$(expiry ws/metadata/director/1.root.json)" = 2029-02-28T10:00:00Z ]
check "init --expires image-repo/root=36500h: hours" \
	[ "$(expiry ws/metadata/image-repo/1.root.json)" = "$($PY -c 'import datetime as d; print((d.datetime(2028,2,29,10)+d.timedelta(hours=36500)).strftime("%Y-%m-%dT%H:%M:%SZ"))')" ]
for bad in 30x 10w 90 0d 1.5y 101y; do
	refused "init --expires director/timestamp=$bad refused" "duration \"$bad\"" \
		std_init k wsbad --expires director/timestamp=$bad
done
refused "  ... the message gives the syntax" "$DUR_SYNTAX" std_init k wsbad --expires director/timestamp=10w

WS=$tmp/ws
mkimage main1.bin 20000 m1
"$BUNDLE" target add ws main1.bin --hardware-id board-a >/dev/null
"$BUNDLE" assign ws --device VIN-1 --ecu main=main1.bin >/dev/null
ft '2026-03-01 00:00:00' "$BUNDLE" create ws -o y.uptane --device VIN-1 --expires 1y >/dev/null
check "create --expires 1y on 2026-03-01: targets expire 2027-03-01" \
	[ "$(bexpiry y.uptane metadata/image-repo/targets.json)" = 2027-03-01T00:00:00Z ]
ft '2028-02-29 00:00:00' "$BUNDLE" create ws -o y2.uptane --device VIN-1 --expires director/timestamp=1y >/dev/null
check "create --expires director/timestamp=1y on 2028-02-29: 2029-02-28" \
	[ "$(bexpiry y2.uptane metadata/director/timestamp.json)" = 2029-02-28T00:00:00Z ]
ft '2028-02-29 00:00:00' "$BUNDLE" create ws -o h.uptane --device VIN-1 --expires 200h --expires director/targets=9d >/dev/null
check "create --expires 200h: hours" [ "$(bexpiry h.uptane metadata/image-repo/snapshot.json)" = 2028-03-08T08:00:00Z ]
check "create --expires director/targets=9d: days" [ "$(bexpiry h.uptane metadata/director/targets.json)" = 2028-03-09T00:00:00Z ]
for bad in 10w 90 1m; do
	refused "create --expires $bad refused with the syntax" "$DUR_SYNTAX" \
		"$BUNDLE" create ws -o x.uptane --expires $bad
done
check "delegate --expires 30d" "$BUNDLE" delegate ws --role r1 --key k/targets.key --path 'r1/*' --expires 30d
refused "delegate --expires 30 refused with the syntax" "$DUR_SYNTAX" \
	"$BUNDLE" delegate ws --role r2 --key k/targets.key --path 'r2/*' --expires 30
ft '2026-03-01 00:00:00' "$BUNDLE" rotate ws --role image-repo/root --expires 2y >/dev/null
check "rotate --expires 2y on 2026-03-01: 2028-03-01" \
	[ "$(expiry ws/metadata/image-repo/2.root.json)" = 2028-03-01T00:00:00Z ]
refused "rotate --expires 2w refused with the syntax" "$DUR_SYNTAX" \
	"$BUNDLE" rotate ws --role image-repo/root --expires 2w

# ---- TIME: verify --at ----
"$BUNDLE" create ws -o b.uptane --device VIN-1 >/dev/null
device_config d ws VIN-1 main:board-a
today=$(date -u +%Y-%m-%d)
check "verify --at DATE (today)" "$BUNDLE" verify b.uptane --config d/device.json --at "$today"
check "verify --at TIME (today, noon)" "$BUNDLE" verify b.uptane --config d/device.json --at "${today}T12:00:00Z"
late=$(date -u -d '+40 days' +%Y-%m-%d)
out=$("$BUNDLE" verify b.uptane --config d/device.json --at "$late" 2>&1)
check "verify --at $late (a date): REJECTED (freeze)" bash -c '[[ $1 == *"REJECTED (freeze)"* ]]' _ "$out"
refused "verify --at 2027-02-30 refused: not a valid date" "--at: time \"2027-02-30\": not a valid date; $TIME_SYNTAX" \
	"$BUNDLE" verify b.uptane --config d/device.json --at 2027-02-30
for bad in yesterday 2027-01-01T00:00 1798761600; do
	refused "verify --at $bad refused" "--at: time \"$bad\": $TIME_SYNTAX" \
		"$BUNDLE" verify b.uptane --config d/device.json --at "$bad"
done

# ---- TIME and DURATION: devices add, reports show ----
L=$tmp/ledger.db
for n in A B C; do "$BUNDLE" key generate "dev$n" >/dev/null; done
"$BUNDLE" devices add --ledger "$L" --device VIN-A --public-key devA.pub \
	--placed-on-market 2024-02-29 --support-years 1 >/dev/null
"$BUNDLE" devices add --ledger "$L" --device VIN-B --public-key devB.pub \
	--placed-on-market 2021-06-01T15:30:00Z --support-years 5 >/dev/null
"$BUNDLE" devices list --ledger "$L" --json >devs.json
check "devices add --placed-on-market 2024-02-29 --support-years 1: ends 2025-02-28" \
	$PY -c 'import json,sys; d={x["device_id"]: x for x in json.load(open("devs.json"))}; assert d["VIN-A"]["support_ends"] == "2025-02-28", d'
check "devices add --placed-on-market TIME: the day is kept, ends 2026-06-01" \
	$PY -c 'import json,sys; d={x["device_id"]: x for x in json.load(open("devs.json"))}; assert d["VIN-B"]["placed_on_market"] == "2021-06-01" and d["VIN-B"]["support_ends"] == "2026-06-01", d'
refused "devices add --placed-on-market 2025-1-1 refused with the syntax" "$TIME_SYNTAX" \
	"$BUNDLE" devices add --ledger "$L" --device VIN-C --public-key devC.pub --placed-on-market 2025-1-1

show() { "$BUNDLE" reports show --ledger "$L" --json "$@" | $PY -c 'import json,sys; print(" ".join(sorted(r["device_id"] for r in json.load(sys.stdin))))'; }
# VIN-B's support ends 2026-06-01: 92 days after 2026-03-01
check "reports show --at DATE --support-ends-within 92d: VIN-B" [ "$(show --at 2026-03-01 --support-ends-within 92d)" = VIN-B ]
check "reports show --at DATE --support-ends-within 91d: none" [ "$(show --at 2026-03-01 --support-ends-within 91d)" = "" ]
check "reports show --at TIME: its day is today" [ "$(show --at 2026-03-01T23:00:00Z --support-ends-within 92d)" = VIN-B ]
check "reports show --support-ends-within 1y (calendar: 2025-06-01 + 1y = 2026-06-01)" \
	[ "$(show --at 2025-06-01 --support-ends-within 1y)" = VIN-B ]
check "reports show --support-ends-within 8760h (365 days; 2025-06-01 + 365d = 2026-06-01)" \
	[ "$(show --at 2025-06-01 --support-ends-within 8760h)" = VIN-B ]
check "reports show --support-ends-within 1y from 2025-05-31: none (2026-05-31)" \
	[ "$(show --at 2025-05-31 --support-ends-within 1y)" = "" ]
check "reports show --support-ends-within 92 (a bare number: days, as before)" \
	[ "$(show --at 2026-03-01 --support-ends-within 92)" = VIN-B ]
check "reports show --not-updated-since DATE and TIME: never-reported devices" \
	bash -c '[ "$1" = "VIN-A VIN-B" ] && [ "$2" = "VIN-A VIN-B" ]' _ \
	"$(show --not-updated-since 2026-01-01)" "$(show --not-updated-since 2026-01-01T00:00:00Z)"
refused "reports show --support-ends-within 3m refused with the syntax" "$DUR_SYNTAX" \
	"$BUNDLE" reports show --ledger "$L" --support-ends-within 3m
refused "  ... and the message names the option" "--support-ends-within: duration \"3m\"" \
	"$BUNDLE" reports show --ledger "$L" --support-ends-within 3m
refused "reports show --at 2026/03/01 refused" "--at: time \"2026/03/01\": $TIME_SYNTAX" \
	"$BUNDLE" reports show --ledger "$L" --at 2026/03/01
refused "reports show --not-updated-since 2026-13-01 refused" "--not-updated-since: time \"2026-13-01\"" \
	"$BUNDLE" reports show --ledger "$L" --not-updated-since 2026-13-01
finish
