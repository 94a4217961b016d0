#!/usr/bin/env bash
# Encrypted images (docs/bundle-format.md, "Encrypted images") from station to device: an
# encrypted device bundle installs on its device; the same stick on another device, on a
# device without a decryption key and on one with another key is refused before any image byte
# is written; the bundle holds no 32-byte run of a known incompressible image, and PyNaCl
# (libsodium's secretstream and sealed boxes through an independent binding) opens the format
# with the device's key and not without it; flipped, dropped and swapped chunks and a wrapped
# key swapped in are refused with nothing activated and the trusted state unchanged, also when
# the Director metadata is re-signed over the tampered member (only the stream itself catches
# those); a recall bundle for 30 devices stores its image once.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
source "$(dirname "$0")/install_lib.bash"
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
KEYS=$tmp/k
export KEYS
B() { "$BUNDLE" "$@" >/dev/null; }

# 1 MiB of random bytes: zstd stores them raw, so without encryption they are in the bundle
mkimage main.bin 1048576 m1
mkimage aux.bin 300000 a1
B target add ws main.bin --hardware-id board-a --release-counter 1
B target add ws aux.bin --hardware-id board-b --release-counter 1
for d in VIN-1 VIN-2; do
	B assign ws --device $d --ecu ecu-main=main.bin ecu-aux=aux.bin
done
check "key generate --x25519 writes NAME.key (0600) and NAME.pub (0644)" bash -c "
	'$BUNDLE' key generate --x25519 vin1 >/dev/null && '$BUNDLE' key generate --x25519 vin2 >/dev/null &&
	'$BUNDLE' key generate --x25519 vin1b >/dev/null &&
	[ \$(stat -c %a vin1.key) = 600 ] && [ \$(stat -c %a vin1.pub) = 644 ]"
check "key files in the pinned format" $PY - <<'PY'
import json
pub, key = json.load(open("vin1.pub")), json.load(open("vin1.key"))
assert pub == {"keytype": "x25519", "keyval": {"public": pub["keyval"]["public"]}}, pub
assert len(pub["keyval"]["public"]) == 64 and key["keytype"] == "x25519"
assert key["keyval"]["public"] == pub["keyval"]["public"] and len(key["keyval"]["private"]) == 64
from nacl.public import PrivateKey
assert bytes(PrivateKey(bytes.fromhex(key["keyval"]["private"])).public_key).hex() == pub["keyval"]["public"]
PY
B create ws -o plain.uptane --device VIN-1
B create ws -o e1.uptane --device VIN-1 --encrypt-to VIN-1=vin1.pub
B create ws -o e12.uptane --device VIN-1 VIN-2 --encrypt-to VIN-1=vin1.pub VIN-2=vin2.pub
check "an encrypted bundle says \"version\": 2 in bundle.json, a plain one 1" bash -c "
	[ \"\$(tar -xOf e1.uptane bundle.json | $PY -c 'import json,sys; print(json.load(sys.stdin)[\"version\"])')\" = 2 ] &&
	[ \"\$(tar -xOf plain.uptane bundle.json | $PY -c 'import json,sys; print(json.load(sys.stdin)[\"version\"])')\" = 1 ]"

# device NAME ID [KEYFILE]: a device with ECUs ecu-main/ecu-aux (or $ECUS: primary and ECU
# objects), decrypt_key KEYFILE (optional)
device() {
	local dir=$tmp/$1 id=$2 key=${3:-}
	mkdir -p "$dir/targets"
	if [ -n "${ECUS:-}" ]; then
		eval "device_json '$dir' '$id' $ECUS"
	else
		device_json "$dir" "$id" ecu-main "$(file_ecu ecu-main board-a targets/main.bin)" \
			"$(file_ecu ecu-aux board-b targets/aux.bin)"
	fi
	if [ -n "$key" ]; then
		cp "$tmp/$key" "$dir/decrypt.key"
		$PY - "$dir/device.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["decrypt_key"] = "decrypt.key"
json.dump(d, open(sys.argv[1], "w"))
PY
	fi
	# the state directory initialised, so that "trusted state unchanged" has something to compare
	(cd "$dir" && "$INSTALL" --config device.json status >/dev/null 2>&1)
}

# --- confidentiality --------------------------------------------------------------------
# no_run IMAGE BUNDLE: no 32-byte run of IMAGE anywhere in BUNDLE (checked as: no 16-byte
# aligned piece of IMAGE occurs, which every 32-byte run would contain)
no_run() {
	$PY - "$1" "$2" <<'PY'
import sys
img, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
pieces = {img[i:i + 16] for i in range(0, len(img) - 15, 16)}
sys.exit(1 if any(b[j:j + 16] in pieces for j in range(len(b) - 15)) else 0)
PY
}
if no_run main.bin plain.uptane; then
	not_ok "the check can fail: the unencrypted bundle should hold the image's bytes"
else
	ok "the check can fail: the unencrypted bundle holds the image's bytes"
fi
check "the encrypted bundle holds no 32-byte run of the image" no_run main.bin e1.uptane
check "nor of the second image" no_run aux.bin e1.uptane
check "nor does the bundle for two devices" no_run main.bin e12.uptane
out=$("$BUNDLE" inspect e1.uptane 2>&1)
check "inspect without any device key shows names, sizes and that the images are encrypted" \
	bash -c "[[ '$out' == *'main.bin  1048576 bytes'* && '$out' == *'encrypted for VIN-1'* ]]"

# The format through an independent implementation: PyNaCl's sealed box opens the wrapped key
# with the device's private key, its secretstream opens the chunks, zstd decompresses.
oracle() { # oracle BUNDLE DEVICE KEYFILE IMAGE: exit 0 when the image opens and equals IMAGE
	$PY - "$@" <<'PY'
import hashlib, json, subprocess, sys, tarfile
from nacl.public import PrivateKey, SealedBox
from nacl import bindings as b
bundle, dev, keyf, want = sys.argv[1:5]
with tarfile.open(bundle) as t:
    files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
tg = json.loads(files.get("metadata/director/devices/%s/targets.json" % dev,
                          files.get("metadata/director/targets.json")))["signed"]
name = "main.bin"
enc = tg["targets"][name]["custom"]["encryption"]
assert enc["scheme"] == "secretstream-xchacha20poly1305" and enc["chunk_size"] == 65536
sealed = files["images/" + name]
assert len(sealed) == enc["length"] and hashlib.sha256(sealed).hexdigest() == enc["hashes"]["sha256"]
k = json.load(open(keyf))["keyval"]
keyid = hashlib.sha256(bytes.fromhex(k["public"])).hexdigest()
mine = [r for r in enc["recipients"] if r["keyid"] == keyid]
if not mine:
    sys.exit(3)
try:
    key = SealedBox(PrivateKey(bytes.fromhex(k["private"]))).decrypt(bytes.fromhex(mine[0]["wrapped_key"]))
except Exception:
    sys.exit(4)
st = b.crypto_secretstream_xchacha20poly1305_state()
b.crypto_secretstream_xchacha20poly1305_init_pull(st, sealed[:24], key)
out, pos, tag = [], 24, 0
while pos < len(sealed):
    c = sealed[pos:pos + 65536 + 17]; pos += len(c)
    m, tag = b.crypto_secretstream_xchacha20poly1305_pull(st, c, None)
    out.append(m)
assert tag == b.crypto_secretstream_xchacha20poly1305_TAG_FINAL
plain = subprocess.run(["zstd", "-dc"], input=b"".join(out), capture_output=True, check=True).stdout
sys.exit(0 if plain == open(want, "rb").read() else 5)
PY
}
check "PyNaCl opens VIN-1's image with vin1.key (sealed length and sha256 as signed)" oracle e1.uptane VIN-1 vin1.key main.bin
check "and VIN-2's share of the two-device bundle with vin2.key" oracle e12.uptane VIN-2 vin2.key main.bin
oracle e1.uptane VIN-1 vin2.key main.bin
check "another device's key finds no wrapped key for it" [ $? -eq 3 ]

# --- installing -------------------------------------------------------------------------
device d1 VIN-1 vin1.key
code=$(run_install out1 "$tmp/d1" install "$tmp/e1.uptane")
expect_result "the encrypted bundle installs on its device" out1 "$code" 0 installed null
check "both images byte-identical" bash -c "cmp -s main.bin d1/targets/main.bin && cmp -s aux.bin d1/targets/aux.bin"
device d2 VIN-2 vin2.key
code=$(run_install out2 "$tmp/d2" install "$tmp/e12.uptane")
expect_result "VIN-2 installs its share of the two-device bundle" out2 "$code" 0 installed null
check "VIN-2's images byte-identical" cmp -s main.bin d2/targets/main.bin

# refused NAME DIR BUNDLE CODE STATUS REASON WORDS: the result, the message for people names
# WORDS, and the device is as it was: no image byte written, trusted state unchanged
refused() {
	local name=$1 dir=$tmp/$2 bundle=$3 code=$4 status=$5 reason=$6 words=$7 snap got
	snap=$(state_snapshot "$dir")
	got=$(run_install "$tmp/o-$2-$bundle" "$dir" install "$tmp/$bundle")
	expect_result "$name" "$tmp/o-$2-$bundle" "$got" "$code" "$status" "$reason"
	check "$name: the message says so ($words)" bash -c "[[ \"\$(tail -1 '$tmp/o-$2-$bundle')\" == *'$words'* ]]"
	check "$name: nothing written, trusted state unchanged, no staging left" bash -c "
		[ '$snap' = \"\$(cd '$dir' && find state/trusted targets -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum)\" ] &&
		[ -z \"\$(ls -A '$dir/targets')\" ] && [ -z \"\$(ls -A '$dir/state/staging' 2>/dev/null)\" ]"
}
device d3 VIN-3 vin1.key
refused "the stick on another device" d3 e1.uptane 3 not-for-this-device null "not for this device"
device d4 VIN-1
refused "the stick on a device without a decryption key" d4 e1.uptane 4 rejected policy "no decryption key"
device d5 VIN-1 vin1b.key
refused "the stick on a device with another key" d5 e1.uptane 4 rejected policy "encrypted for another device"
check "the refusal says which key it was not encrypted for" bash -c "grep -q 'not encrypted for this device.s decrypt_key' '$tmp/o-d5-e1.uptane'"
device d6 VIN-1 vin1.key
chmod 644 "$tmp/d6/decrypt.key"
code=$(cd "$tmp/d6" && "$INSTALL" --config device.json install "$tmp/e1.uptane" >/dev/null 2>"$tmp/o6"; echo $?)
check "a decrypt_key readable by others is a configuration error (exit 2)" bash -c "[ $code = 2 ] && grep -q 'decrypt_key' '$tmp/o6'"
chmod 600 "$tmp/d6/decrypt.key"
code=$(run_install o7 "$tmp/d6" install "$tmp/plain.uptane")
expect_result "an unencrypted bundle installs on a device with a decrypt_key" o7 "$code" 0 installed null

# --- tampering --------------------------------------------------------------------------
# sealed_mutate SRC DST OP [resign]: OP flip | drop-final | swap | wrapped-from-VIN-2 on
# images/main.bin (VIN-1's share); with resign the Director's custom.encryption is signed
# again over the tampered member (length and sha256), so only the stream can catch it.
sealed_mutate() {
	$PY - "$@" <<'PY'
import hashlib, io, json, os, sys, tarfile
import nacl.signing
from securesystemslib.formats import encode_canonical
src, dst, op = sys.argv[1:4]
resign = len(sys.argv) > 4
with tarfile.open(src) as t:
    members = [(m.name, t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]
files = dict(members)
def sign(signed, name):
    k = json.load(open(os.path.join(os.environ["KEYS"], name + ".key")))
    obj = {"keytype": k["keytype"], "scheme": k["scheme"], "keyval": {"public": k["keyval"]["public"]}}
    kid = hashlib.sha256(encode_canonical(obj).encode()).hexdigest()
    sig = nacl.signing.SigningKey(bytes.fromhex(k["keyval"]["private"])).sign(encode_canonical(signed).encode()).signature.hex()
    return json.dumps({"signed": signed, "signatures": [{"keyid": kid, "sig": sig}]}).encode()
def pin(entry, data):
    entry["length"] = len(data); entry["hashes"] = {"sha256": hashlib.sha256(data).hexdigest()}
d = "metadata/director/devices/VIN-1/" if "metadata/director/devices/VIN-1/targets.json" in files else "metadata/director/"
img = "images/main.bin"
s = bytearray(files[img]); C = 65536 + 17
if op == "flip":
    s[24 + C + 100] ^= 1
elif op == "drop-final":
    s = s[:24 + ((len(s) - 24) // C) * C]
elif op == "swap":
    s = s[:24] + s[24 + C:24 + 2 * C] + s[24:24 + C] + s[24 + 2 * C:]
files[img] = bytes(s)
tg = json.loads(files[d + "targets.json"])["signed"]
enc = tg["targets"]["main.bin"]["custom"]["encryption"]
if op == "wrapped-from-VIN-2":
    other = json.loads(files["metadata/director/devices/VIN-2/targets.json"])["signed"]
    enc["recipients"][0]["wrapped_key"] = other["targets"]["main.bin"]["custom"]["encryption"]["recipients"][0]["wrapped_key"]
if resign and op != "wrapped-from-VIN-2":
    enc["length"] = len(files[img]); enc["hashes"]["sha256"] = hashlib.sha256(files[img]).hexdigest()
if op == "wrapped-from-VIN-2":
    resign = True
if resign:
    files[d + "targets.json"] = sign(tg, "dtargets")
    sn = json.loads(files[d + "snapshot.json"])["signed"]; pin(sn["meta"]["targets.json"], files[d + "targets.json"])
    files[d + "snapshot.json"] = sign(sn, "dsnap")
    ts = json.loads(files[d + "timestamp.json"])["signed"]; pin(ts["meta"]["snapshot.json"], files[d + "snapshot.json"])
    files[d + "timestamp.json"] = sign(ts, "dts")
with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as t:
    for name, _ in members:
        ti = tarfile.TarInfo(name); ti.size = len(files[name]); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(files[name]))
PY
}
tamper() { # tamper NAME BUNDLE REASON WORDS: refused on a fresh VIN-1 device with its key
	n=$((${n:-0} + 1))
	device t$n VIN-1 vin1.key
	refused "$1" t$n "$2" 4 rejected "$3" "$4"
}
sealed_mutate e1.uptane flip.uptane flip
tamper "a flipped byte in a chunk" flip.uptane arbitrary-software "not what was signed"
sealed_mutate e1.uptane flip-r.uptane flip resign
tamper "a flipped byte in a chunk, Director re-signed over it" flip-r.uptane arbitrary-software "not what was signed"
check "the stream itself caught it (the chunk does not authenticate)" grep -q "does not authenticate" "$tmp/o-t2-flip-r.uptane"
sealed_mutate e1.uptane drop.uptane drop-final
tamper "the final chunk dropped" drop.uptane arbitrary-software "not what was signed"
sealed_mutate e1.uptane drop-r.uptane drop-final resign
tamper "the final chunk dropped, Director re-signed over it" drop-r.uptane arbitrary-software "not what was signed"
check "the stream itself caught it (no final chunk)" grep -q "without its final chunk" "$tmp/o-t4-drop-r.uptane"
sealed_mutate e1.uptane swap.uptane swap
tamper "two chunks swapped" swap.uptane arbitrary-software "not what was signed"
sealed_mutate e1.uptane swap-r.uptane swap resign
tamper "two chunks swapped, Director re-signed over it" swap-r.uptane arbitrary-software "not what was signed"
check "the stream itself caught it (a chunk out of place)" grep -q "does not authenticate" "$tmp/o-t6-swap-r.uptane"
sealed_mutate e12.uptane wk.uptane wrapped-from-VIN-2
tamper "VIN-2's wrapped key swapped into VIN-1's signed targets" wk.uptane policy "encrypted for another device"
check "its key id still VIN-1's: the seal did not open with VIN-1's key" grep -q "does not open" "$tmp/o-t7-wk.uptane"
cp e12.uptane wk-unsigned.uptane
$PY - wk-unsigned.uptane <<'PY'
# the swap without re-signing: VIN-1's Director targets no longer verify
import io, json, sys, tarfile
p = sys.argv[1]
with tarfile.open(p) as t:
    members = [(m.name, t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]
f = dict(members)
a = "metadata/director/devices/VIN-1/targets.json"
d1, d2 = json.loads(f[a]), json.loads(f["metadata/director/devices/VIN-2/targets.json"])
r1 = d1["signed"]["targets"]["main.bin"]["custom"]["encryption"]["recipients"][0]
r1["wrapped_key"] = d2["signed"]["targets"]["main.bin"]["custom"]["encryption"]["recipients"][0]["wrapped_key"]
f[a] = json.dumps(d1).encode()
with tarfile.open(p, "w", format=tarfile.PAX_FORMAT) as t:
    for name, _ in members:
        ti = tarfile.TarInfo(name); ti.size = len(f[name]); t.addfile(ti, io.BytesIO(f[name]))
PY
tamper "VIN-2's wrapped key swapped in, not re-signed (the snapshot pins the old bytes)" wk-unsigned.uptane mix-and-match "mixes files"

# --- a recall stick for 30 vehicles -----------------------------------------------------
mkimage recall.bin 4194304 r1
B target add ws recall.bin --hardware-id board-r --release-counter 1
to=() devs=()
for i in $(seq -w 1 30); do
	B assign ws --device R-$i --ecu ecu-r=recall.bin
	B key generate --x25519 r$i
	to+=("R-$i=r$i.pub")
	devs+=("R-$i")
done
B create ws -o recall-plain.uptane --device "${devs[@]}"
B create ws -o recall.uptane --device "${devs[@]}" --encrypt-to "${to[@]}"
check "the recall bundle stores its image once" [ "$(tar -tf recall.uptane | grep -c '^images/')" = 1 ]
check "30 devices' image keys wrapped, one per device's targets" bash -c "
	[ \"\$(tar -xOf recall.uptane --wildcards 'metadata/director/devices/*/targets.json' | grep -o '\"wrapped_key\"' | wc -l)\" = 30 ]"
check "its size within 1% of the unencrypted one plus the wrapped keys" $PY - recall-plain.uptane recall.uptane <<'PY'
import json, os, sys, tarfile
plain, enc = os.path.getsize(sys.argv[1]), os.path.getsize(sys.argv[2])
with tarfile.open(sys.argv[2]) as t:
    keys = 0
    for m in t.getmembers():
        if m.name.endswith("/targets.json") and "/devices/" in m.name:
            for v in json.load(t.extractfile(m))["signed"]["targets"].values():
                keys += len(json.dumps(v["custom"]["encryption"]["recipients"]))
print("# plain %d, encrypted %d, wrapped keys %d bytes" % (plain, enc, keys))
sys.exit(0 if enc <= plain * 1.01 + keys else 1)
PY
ECUS="ecu-r '$(file_ecu ecu-r board-r targets/main.bin)'" device r07 R-07 r07.key
code=$(run_install or07 "$tmp/r07" install "$tmp/recall.uptane")
expect_result "one of the 30 vehicles installs the recall" or07 "$code" 0 installed null
check "its image byte-identical" cmp -s recall.bin r07/targets/main.bin
finish
