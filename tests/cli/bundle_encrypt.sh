#!/usr/bin/env bash
# The station's side of encrypted images (docs/bundle-format.md, "Encrypted images"): each
# device's encryption key in the registry (devices add --encryption-key, devices import's
# encryption_key_file column), create --encrypt --ledger wrapping for the registered keys,
# fleet bundles wrapped per hardware id (--encrypt-to hardware-id:HW=NAME.pub) installing on a
# device provisioned with that key, the refusals (a device without a key, options that do not
# go together), and verify at the station checking the sealed form without any device key.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
source "$(dirname "$0")/install_lib.bash"
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
B() { "$BUNDLE" "$@" >/dev/null; }
L=$tmp/ledger.db

mkimage fw.bin 200000 f1
B target add ws fw.bin --hardware-id board-a --release-counter 1
for d in VIN-1 VIN-2 VIN-3; do
	B assign ws --device $d --ecu ecu-main=fw.bin
	B key generate rep-$d
	B key generate --x25519 enc-$d
done
keyid() { $PY -c 'import hashlib,json,sys; print(hashlib.sha256(bytes.fromhex(json.load(open(sys.argv[1]))["keyval"]["public"])).hexdigest())' "$1"; }

out=$("$BUNDLE" devices add --ledger "$L" --device VIN-1 --public-key rep-VIN-1.pub \
	--encryption-key enc-VIN-1.pub 2>&1)
check "devices add --encryption-key registers the device's X25519 key" \
	bash -c "[[ '$out' == *'encryption key $(keyid enc-VIN-1.pub | cut -c1-16)'* ]]"
mkdir -p csv/keys
B key generate rep-VIN-4
B key generate rep-VIN-5
cp rep-VIN-2.pub rep-VIN-3.pub rep-VIN-4.pub rep-VIN-5.pub enc-VIN-2.pub csv/keys/
printf 'device_id,public_key_file,placed_on_market,support_years,encryption_key_file\nVIN-2,keys/rep-VIN-2.pub,,,keys/enc-VIN-2.pub\nVIN-3,keys/rep-VIN-3.pub,2025-01-01,5,\n' >csv/devices.csv
check "devices import reads the encryption_key_file column (relative to the CSV; may be empty)" \
	bash -c "'$BUNDLE' devices import --ledger '$L' csv/devices.csv >/dev/null"
printf 'device_id,public_key_file,placed_on_market,support_years,encryption_key_file\nVIN-4,keys/rep-VIN-4.pub,,,keys/rep-VIN-4.pub\n' >csv/bad.csv
check "an ed25519 key as encryption key is refused, nothing imported" bash -c "
	! '$BUNDLE' devices import --ledger '$L' csv/bad.csv 2>err && grep -q 'not x25519' err &&
	! '$BUNDLE' devices list --ledger '$L' | grep -q VIN-4"
check "the four-column CSV still imports" bash -c "
	printf 'device_id,public_key_file,placed_on_market,support_years\nVIN-5,keys/rep-VIN-5.pub,,\n' >csv/old.csv &&
	'$BUNDLE' devices import --ledger '$L' csv/old.csv >/dev/null"

check "create --encrypt --ledger wraps for the registered keys" bash -c "
	'$BUNDLE' create ws -o led.uptane --device VIN-1 VIN-2 --encrypt --ledger '$L' >/dev/null"
check "each device's Director targets lists its own key id" $PY - led.uptane "$(keyid enc-VIN-1.pub)" "$(keyid enc-VIN-2.pub)" <<'PY'
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
for dev, kid in (("VIN-1", sys.argv[2]), ("VIN-2", sys.argv[3])):
    tg = json.load(t.extractfile("metadata/director/devices/%s/targets.json" % dev))["signed"]
    r = tg["targets"]["fw.bin"]["custom"]["encryption"]["recipients"]
    assert [x["keyid"] for x in r] == [kid], r
    assert r[0]["recipient"] == dev
PY
err=$("$BUNDLE" create ws -o none.uptane --device VIN-3 --encrypt --ledger "$L" 2>&1)
check "a device without a registered key is refused, naming it and what to do" \
	bash -c "[[ '$err' == *'VIN-3 has no encryption key'* && '$err' == *'--encryption-key'* ]] && [ ! -e none.uptane ]"
check "--encrypt without --ledger is a usage error" expect_exit 2 "$BUNDLE" create ws -o x.uptane --device VIN-1 --encrypt
check "--encrypt-to with --sign-later is a usage error" \
	expect_exit 2 "$BUNDLE" create ws -o x.uptane --device VIN-1 --encrypt-to VIN-1=enc-VIN-1.pub --sign-later
check "--encrypt-to with a signing key instead of an X25519 key is refused" bash -c "
	! '$BUNDLE' create ws -o x.uptane --device VIN-1 --encrypt-to VIN-1=rep-VIN-1.pub 2>err && grep -q 'not x25519' err"
check "--encrypt-to without =NAME.pub is refused" bash -c "
	! '$BUNDLE' create ws -o x.uptane --device VIN-1 --encrypt-to VIN-1 2>err && grep -q 'DEVICE=NAME.pub' err"

# verify at the station: no device key, the sealed form is checked
out=$("$BUNDLE" verify led.uptane --workspace ws 2>&1)
check "verify --workspace checks an encrypted bundle without device keys" \
	bash -c "[[ '$out' == *'sealed form checked, not opened'* ]]"
$PY - led.uptane bad-sealed.uptane <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = [(x.name, t.extractfile(x).read()) for x in t.getmembers() if x.isfile()]
with tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in m:
        if name == "images/fw.bin":
            data = bytearray(data); data[1000] ^= 1; data = bytes(data)
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
PY
out=$("$BUNDLE" verify bad-sealed.uptane --workspace ws 2>&1)
check "and refuses a sealed member whose bytes differ from what the Director signed" \
	bash -c "[[ '$out' == *'REJECTED (arbitrary-software)'* && '$out' == *'images/fw.bin'* ]]"

# a fleet bundle, wrapped per hardware id
B key generate --x25519 hw-board-a
B assign ws --hardware-id board-a=fw.bin
check "create --fleet --encrypt-to hardware-id:HW=NAME.pub" bash -c "
	'$BUNDLE' create ws -o fleet.uptane --fleet campaign-1 --encrypt-to hardware-id:board-a=hw-board-a.pub >/dev/null"
check "a fleet hardware id without a key is refused" bash -c "
	! '$BUNDLE' create ws -o f2.uptane --fleet campaign-1 --encrypt-to hardware-id:board-z=hw-board-a.pub 2>err >/dev/null &&
	grep -q 'hardware id board-a has no encryption key' err && [ ! -e f2.uptane ]"
dev=$tmp/fdev
mkdir -p "$dev/targets"
device_json "$dev" VIN-77 ecu-x "$(file_ecu ecu-x board-a targets/x.bin)"
cp hw-board-a.key "$dev/decrypt.key"
$PY - "$dev/device.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["decrypt_key"] = "decrypt.key"; json.dump(d, open(sys.argv[1], "w"))
PY
code=$(run_install fout "$dev" install "$tmp/fleet.uptane")
expect_result "the fleet bundle installs on a board-a device provisioned with board-a's key" fout "$code" 0 installed null
check "its image byte-identical" cmp -s fw.bin "$dev/targets/x.bin"
finish
