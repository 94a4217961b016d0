#!/usr/bin/env bash
# Fleet ledger, device registry: devices add / import / list. Names, key files, dates and
# support years are validated; a refused add or import leaves the ledger as it was; key ids
# agree with securesystemslib's (sha256 of the canonical key object).
source "$(dirname "$0")/lib.bash"
setup
export PYTHONPATH=$UPT_TOP/tests/cli
L=$tmp/ledger.db
dump() { # [FILE]: the whole ledger as SQL text (python's sqlite3: no extra tool needed)
	$PY -c 'import sqlite3,sys; print("\n".join(sqlite3.connect(sys.argv[1]).iterdump()))' "${1:-$L}"
}
fails() { # fails STATUS COMMAND...: the command exits with STATUS
	local want=$1 got; shift
	"$@" >"$tmp/out" 2>"$tmp/err"; got=$?
	[ "$got" -eq "$want" ] || { echo "exit $got, expected $want: $*"; cat "$tmp/err"; return 1; }
}
refused() { # refused WHY COMMAND...: exit 2 with a message saying WHY
	local why=$1; shift
	fails 2 "$@" && { grep -q -- "$why" "$tmp/err" || { echo "no \"$why\" in: $(cat "$tmp/err")"; false; }; }
}

$PY - "$tmp" <<'PY'
import sys, json
import ledger_reports as lr
d = sys.argv[1]
for n in ["a", "b", "c", "d", "e", "f"]:
    lr.keygen(f"{d}/{n}")
# wrong key type, malformed public key
json.dump({"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "x"}},
          open(f"{d}/rsa.pub", "w"))
json.dump({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "ab" * 31}},
          open(f"{d}/short.pub", "w"))
open(f"{d}/notjson.pub", "w").write('{"keytype": "ed25519",')
PY

check "add registers a device" "$BUNDLE" devices add --ledger "$L" --device VIN-0001 \
	--public-key "$tmp/a.pub" --placed-on-market 2024-02-29 --support-years 5
check "add without support data" "$BUNDLE" devices add --ledger "$L" --device VIN-0002 \
	--public-key "$tmp/b.pub"
before=$(dump)
check "refuses a device id with a space" refused 'does not match' "$BUNDLE" devices add --ledger "$L" \
	--device "VIN 3" --public-key "$tmp/c.pub"
check "refuses a device id with a slash" refused 'does not match' "$BUNDLE" devices add --ledger "$L" \
	--device "../x" --public-key "$tmp/c.pub"
check "refuses the device id .. (a path component on the stick)" refused 'does not match' "$BUNDLE" devices add \
	--ledger "$L" --device ".." --public-key "$tmp/c.pub"
check "refuses a hidden device id (.Trashes)" refused 'does not match' "$BUNDLE" devices add --ledger "$L" \
	--device ".Trashes" --public-key "$tmp/c.pub"
check "refuses a device id of 129 characters" refused 'does not match' "$BUNDLE" devices add --ledger "$L" \
	--device "$(printf 'x%.0s' {1..129})" --public-key "$tmp/c.pub"
check "accepts a device id of 128 characters" "$BUNDLE" devices add --ledger "$L" \
	--device "$(printf 'y%.0s' {1..128})" --public-key "$tmp/e.pub"
before=$(dump)
check "refuses an rsa key" refused 'not an ed25519 key' "$BUNDLE" devices add --ledger "$L" --device VIN-0003 \
	--public-key "$tmp/rsa.pub"
check "refuses a 31-byte public key" refused 'hex string' "$BUNDLE" devices add --ledger "$L" \
	--device VIN-0003 --public-key "$tmp/short.pub"
check "refuses a truncated key file" refused 'invalid JSON' "$BUNDLE" devices add --ledger "$L" \
	--device VIN-0003 --public-key "$tmp/notjson.pub"
check "refuses a missing key file" refused 'no such file' "$BUNDLE" devices add --ledger "$L" \
	--device VIN-0003 --public-key "$tmp/nope.pub"
check "refuses 2025-02-29 (not a leap year)" refused 'not a valid date' "$BUNDLE" devices add --ledger "$L" \
	--device VIN-0003 --public-key "$tmp/c.pub" --placed-on-market 2025-02-29
check "refuses 2025-1-1" refused 'expected a date YYYY-MM-DD' "$BUNDLE" devices add --ledger "$L" --device VIN-0003 \
	--public-key "$tmp/c.pub" --placed-on-market 2025-1-1
check "refuses support years -1" refused 'whole number' "$BUNDLE" devices add --ledger "$L" \
	--device VIN-0003 --public-key "$tmp/c.pub" --support-years -1
check "refuses support years 5y" refused 'whole number' "$BUNDLE" devices add --ledger "$L" \
	--device VIN-0003 --public-key "$tmp/c.pub" --support-years 5y
check "refuses support years 100" refused 'whole number' "$BUNDLE" devices add --ledger "$L" \
	--device VIN-0003 --public-key "$tmp/c.pub" --support-years 100
check "refuses another key for a registered device" refused 'already registered with another key' "$BUNDLE" devices add \
	--ledger "$L" --device VIN-0001 --public-key "$tmp/c.pub"
check "refuses a key already registered to another device" refused 'already registered to device VIN-0001' "$BUNDLE" devices add \
	--ledger "$L" --device VIN-0003 --public-key "$tmp/a.pub"
check "refused adds left the ledger unchanged" [ "$before" = "$(dump)" ]
"$BUNDLE" devices add --ledger "$L" --device VIN-0001 --public-key "$tmp/a.pub" >"$tmp/out"
check "the same add again says unchanged" grep -q '^unchanged VIN-0001' "$tmp/out"
check "the same add again changes nothing" [ "$before" = "$(dump)" ]
"$BUNDLE" devices add --ledger "$L" --device VIN-0002 --public-key "$tmp/b.pub" \
	--support-years 7 --placed-on-market 2025-06-30 >"$tmp/out"
check "add with the same key updates the support period" grep -q '^updated VIN-0002' "$tmp/out"
check "the private key file names the same key" "$BUNDLE" devices add --ledger "$L" \
	--device VIN-0004 --public-key "$tmp/d.key"

"$BUNDLE" devices list --ledger "$L" --json >"$tmp/list.json"
check "list --json: ids, key ids (as securesystemslib computes them), support ends" \
	$PY - "$tmp" <<'PY'
import sys, json, hashlib
from securesystemslib.formats import encode_canonical
d = sys.argv[1]
rows = {r["device_id"]: r for r in json.load(open(f"{d}/list.json"))}
def keyid(n):
    return hashlib.sha256(encode_canonical(json.load(open(f"{d}/{n}.pub"))).encode()).hexdigest()
assert set(rows) == {"VIN-0001", "VIN-0002", "VIN-0004", "y" * 128}, rows.keys()
assert rows["VIN-0001"]["keyid"] == keyid("a")
assert rows["VIN-0004"]["keyid"] == keyid("d")
assert rows["VIN-0001"]["public_key"] == json.load(open(f"{d}/a.pub"))["keyval"]["public"]
# 29 February plus 5 years: 28 February
assert rows["VIN-0001"]["support_ends"] == "2029-02-28", rows["VIN-0001"]
assert rows["VIN-0002"]["support_ends"] == "2032-06-30", rows["VIN-0002"]
assert rows["VIN-0002"]["support_years"] == 7
assert rows["VIN-0004"]["support_ends"] is None and rows["VIN-0004"]["placed_on_market"] is None
assert all(r["reports"] == 0 and r["last_report"] is None for r in rows.values())
PY
"$BUNDLE" devices list --ledger "$L" >"$tmp/list.txt"
check "list (table) shows each device once" bash -c "[ \$(grep -c '^VIN-000' '$tmp/list.txt') -eq 3 ] && grep -q '2029-02-28' '$tmp/list.txt'"
check "list of a missing ledger: exit 2" fails 2 "$BUNDLE" devices list --ledger "$tmp/none.db"
check "list does not create the ledger" [ ! -e "$tmp/none.db" ]
printf 'not a database at all, just text\n%.0s' {1..100} >"$tmp/text.db"
check "refuses a file that is not a ledger" fails 2 "$BUNDLE" devices list --ledger "$tmp/text.db"
$PY -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' "$tmp/other.db"
check "refuses another application's SQLite file" fails 2 "$BUNDLE" devices add \
	--ledger "$tmp/other.db" --device VIN-9 --public-key "$tmp/c.pub"

# ---- import ----
mkdir -p "$tmp/fleet/keys"
for n in a b c d e f; do cp "$tmp/$n.pub" "$tmp/fleet/keys/"; done
cp "$tmp/c.pub" "$tmp/fleet/keys/c key.pub"
L2=$tmp/fleet.db
printf '\xef\xbb\xbfdevice_id,public_key_file,placed_on_market,support_years\r\n' >"$tmp/fleet/devices.csv"
printf 'VIN-1,keys/a.pub,2024-01-15,5\r\n' >>"$tmp/fleet/devices.csv"
printf 'VIN-2,keys/b.pub,,\r\n\r\n' >>"$tmp/fleet/devices.csv"
printf 'VIN-3,"keys/c key.pub",2023-12-31,10\r\n' >>"$tmp/fleet/devices.csv"
printf 'VIN-4 , %s ,2022-07-01, 3\r\n' "$tmp/fleet/keys/d.pub" >>"$tmp/fleet/devices.csv"
check "import: BOM, CRLF, quoted path with a space, empty optional fields, absolute path, blanks" \
	"$BUNDLE" devices import --ledger "$L2" "$tmp/fleet/devices.csv"
"$BUNDLE" devices list --ledger "$L2" --json >"$tmp/l2.json"
check "import registered 4 devices with their support periods" $PY - "$tmp/l2.json" <<'PY'
import sys, json
rows = {r["device_id"]: r for r in json.load(open(sys.argv[1]))}
assert sorted(rows) == ["VIN-1", "VIN-2", "VIN-3", "VIN-4"], rows
assert rows["VIN-4"]["support_ends"] == "2025-07-01"
assert rows["VIN-1"]["support_ends"] == "2029-01-15"
assert rows["VIN-2"]["support_years"] is None
assert rows["VIN-3"]["support_ends"] == "2033-12-31"
PY
"$BUNDLE" devices import --ledger "$L2" "$tmp/fleet/devices.csv" >"$tmp/out"
check "importing the same file again: all unchanged" grep -q '0 registered, 0 updated, 4 unchanged' "$tmp/out"
before=$(dump "$L2")
run_import() { # CSV_CONTENT WHY: import fails with exit 2 saying WHY, and changes nothing
	printf '%b' "$1" >"$tmp/fleet/bad.csv"
	fails 2 "$BUNDLE" devices import --ledger "$L2" "$tmp/fleet/bad.csv" &&
		grep -q -- "$2" "$tmp/err" && [ "$before" = "$(dump "$L2")" ]
}
H='device_id,public_key_file,placed_on_market,support_years\n'
check "import is all or nothing: a bad date on line 3 registers nobody" \
	run_import "${H}VIN-5,keys/e.pub,2024-01-01,5\nVIN-6,keys/f.pub,2024-13-01,5\n" 'bad.csv:3: placed on market'
check "import refuses a wrong header" run_import "id,key,pom,years\nVIN-5,keys/e.pub,,\n" 'header'
check "import refuses a missing header" run_import "VIN-5,keys/e.pub,,\n" 'header'
check "import refuses 3 fields" run_import "${H}VIN-5,keys/e.pub,2024-01-01\n" 'expected 4 fields'
check "import refuses 5 fields" run_import "${H}VIN-5,keys/e.pub,2024-01-01,5,x\n" 'more than 4 fields'
check "import refuses an unterminated quote" run_import "${H}VIN-5,\"keys/e.pub,,\n" 'unbalanced quotes'
check "import refuses a bad device id" run_import "${H}VIN 5,keys/e.pub,,\n" 'does not match'
check "import refuses a missing key file" run_import "${H}VIN-5,keys/zz.pub,,\n" 'no such file'
check "import refuses a key that belongs to another device" run_import "${H}VIN-5,keys/a.pub,,\n" 'already registered to device VIN-1'
check "import refuses the same device twice with two keys" \
	run_import "${H}VIN-5,keys/e.pub,,\nVIN-5,keys/f.pub,,\n" 'another key'
check "import refuses an empty file" run_import "" 'empty'
check "usage: devices without a subcommand exits 2" fails 2 "$BUNDLE" devices
check "usage: add without --public-key exits 2" fails 2 "$BUNDLE" devices add --ledger "$L2" --device X
finish
