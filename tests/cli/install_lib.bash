# Helpers for the uptane-install CLI tests (tests/cli/install_*.sh). Source after lib.bash and
# bundle_lib.bash. Bundles come from our bundler (uptane-bundle); hostile variants are made by
# rewriting them with Python (tarfile, pynacl, securesystemslib: independent implementations).

# ws_setup DIR: keys in DIR/k, workspace DIR/ws
ws_setup() {
	(cd "$1" && std_keys k && std_init k ws >/dev/null)
}

# mkimage FILE BYTES [SEED]: deterministic pseudo-random content
mkimage() {
	$PY -c '
import random, sys
n, r = int(sys.argv[2]), random.Random(sys.argv[3])
with open(sys.argv[1], "wb") as f:
    while n > 0:
        k = min(n, 1 << 20)
        f.write(r.randbytes(k))
        n -= k
' "$1" "$2" "${3:-$1}"
}

# device_json DIR ID PRIMARY ECU_JSON..: DIR/device.json (ECU_JSON: one ECU object each),
# provisioned with the workspace's v1 roots (WS env var) and a fresh report key.
device_json() {
	local dir=$1 id=$2 primary=$3; shift 3
	mkdir -p "$dir"
	cp "$WS/metadata/director/1.root.json" "$dir/director-root.json"
	cp "$WS/metadata/image-repo/1.root.json" "$dir/image-root.json"
	[ -f "$dir/device.key" ] || (cd "$dir" && "$BUNDLE" key generate device >/dev/null)
	local ecus
	ecus=$(IFS=,; echo "$*")
	cat >"$dir/device.json" <<JSON
{"device_id": "$id", "primary_ecu": "$primary", "ecus": [$ecus],
 "state_dir": "state", "trusted_roots": {"director": "director-root.json", "image-repo": "image-root.json"},
 "report_key": "device.key", "accept": ["device", "fleet"]}
JSON
}

file_ecu() { echo "{\"serial\":\"$1\",\"hardware_id\":\"$2\",\"install\":{\"type\":\"file\",\"path\":\"$3\"}}"; }

# state_snapshot DIR: sha256 of every file of DIR/state/trusted and of DIR/targets (sorted)
state_snapshot() {
	(cd "$1" && find state/trusted targets -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum)
}

# run_install OUT DIR ARGS..: runs uptane-install --json in DIR, stdout to OUT; prints exit code
run_install() {
	local out=$1 dir=$2; shift 2
	(cd "$dir" && "$INSTALL" --config device.json --json "$@") >"$out" 2>"$out.err"
	echo $?
}

# result OUT FIELD: a field of the last JSON line ("null" for null)
result() {
	tail -1 "$1" | $PY -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("null" if v is None else v)' "$2"
}

# expect_result NAME OUT CODE WANT_CODE STATUS REASON
expect_result() {
	local name=$1 out=$2 code=$3 want=$4 status=$5 reason=$6
	local s r
	s=$(result "$out" status 2>/dev/null)
	r=$(result "$out" reason 2>/dev/null)
	if [ "$code" = "$want" ] && [ "$s" = "$status" ] && [ "$r" = "$reason" ]; then
		ok "$name (exit $code, $s, $r)"
	else
		not_ok "$name: exit $code/$s/$r, expected $want/$status/$reason"
		sed 's/^/#   /' "$out" "$out.err" | tail -6
	fi
}

# report_ok REPORT DEVICE_PUB: the report verifies with pynacl over securesystemslib's canonical
# JSON (independent of our code), manifest and every ECU report.
report_ok() {
	$PY - "$1" "$2" <<'PY'
import json, sys
import nacl.signing
from securesystemslib.formats import encode_canonical
rep = json.load(open(sys.argv[1])); pub = json.load(open(sys.argv[2]))
vk = nacl.signing.VerifyKey(bytes.fromhex(pub["keyval"]["public"]))
def check(env):
    msg = encode_canonical(env["signed"]).encode()
    assert len(env["signatures"]) == 1
    vk.verify(msg, bytes.fromhex(env["signatures"][0]["sig"]))
check(rep)
for e in rep["signed"]["ecu_reports"]:
    check(e)
assert rep["signed"]["_type"] == "device-manifest"
PY
}

# bundle_mutate SRC DST OP [ARG]: a hostile or inconsistent variant of a bundle. Keys for
# re-signing come from $KEYS (the workspace's key directory).
bundle_mutate() {
	KEYS=${KEYS:-} $PY - "$@" <<'PY'
import hashlib, io, json, os, subprocess, sys, tarfile
import nacl.signing
from securesystemslib.formats import encode_canonical
src, dst, op = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else None
with tarfile.open(src) as t:
    members = [(m.name, t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]
files = dict(members)
extra = []  # (TarInfo, bytes) appended raw

def key(name):
    k = json.load(open(os.path.join(os.environ["KEYS"], name + ".key")))
    return k
def keyid(k):
    obj = {"keytype": k["keytype"], "scheme": k["scheme"], "keyval": {"public": k["keyval"]["public"]}}
    return hashlib.sha256(encode_canonical(obj).encode()).hexdigest()
def sign(signed, keyname):
    k = key(keyname)
    sk = nacl.signing.SigningKey(bytes.fromhex(k["keyval"]["private"]))
    sig = sk.sign(encode_canonical(signed).encode()).signature.hex()
    return json.dumps({"signed": signed, "signatures": [{"keyid": keyid(k), "sig": sig}]}).encode()
def load(m):
    return json.loads(files[m])["signed"]
def pin(entry, data):
    entry["length"] = len(data)
    entry["hashes"] = {"sha256": hashlib.sha256(data).hexdigest()}
def resign_chain(repo, snap_key, ts_key):
    # snapshot pins targets, timestamp pins snapshot: re-sign both over the new bytes
    d = "metadata/%s/" % repo
    s = load(d + "snapshot.json")
    pin(s["meta"]["targets.json"], files[d + "targets.json"])
    files[d + "snapshot.json"] = sign(s, snap_key)
    ts = load(d + "timestamp.json")
    pin(ts["meta"]["snapshot.json"], files[d + "snapshot.json"])
    files[d + "timestamp.json"] = sign(ts, ts_key)
def resign_director_chain():
    resign_chain("director", "dsnap", "dts")

if op == "mix-and-match":
    # Director targets of another version than the snapshot pins (validly signed itself)
    t = load("metadata/director/targets.json"); t["version"] += 1
    files["metadata/director/targets.json"] = sign(t, "dtargets")
elif op == "target-mismatch":
    # the Director asks for another release counter than the Image repository signed
    t = load("metadata/director/targets.json")
    for v in t["targets"].values():
        v["custom"]["releaseCounter"] += 5
    files["metadata/director/targets.json"] = sign(t, "dtargets")
    resign_director_chain()
elif op == "director-hash":
    # the Director points at other bytes than the Image repository (hash of arg's image)
    t = load("metadata/director/targets.json")
    for v in t["targets"].values():
        v["hashes"]["sha256"] = "00" * 32
    files["metadata/director/targets.json"] = sign(t, "dtargets")
    resign_director_chain()
elif op == "wrong-ecu":
    t = load("metadata/director/targets.json")
    for v in t["targets"].values():
        ids = v["custom"]["ecuIdentifiers"]
        v["custom"]["ecuIdentifiers"] = {"ecu-ghost": list(ids.values())[0]}
    files["metadata/director/targets.json"] = sign(t, "dtargets")
    resign_director_chain()
elif op == "wrong-sig":
    # Director targets signed by the Image repository's targets key instead
    t = load("metadata/director/targets.json")
    files["metadata/director/targets.json"] = sign(t, "targets")
    resign_director_chain()
elif op == "length-plus":
    # every image's signed length ARG bytes longer, in both repositories, re-signed throughout
    for repo, tkey in (("image-repo", "targets"), ("director", "dtargets")):
        t = load("metadata/%s/targets.json" % repo)
        for v in t["targets"].values():
            v["length"] += int(arg)
        files["metadata/%s/targets.json" % repo] = sign(t, tkey)
    resign_chain("image-repo", "snap", "ts")
    resign_director_chain()
elif op == "too-large":
    files["metadata/image-repo/targets.json"] += b" " * (1 << 20)
elif op == "endless":
    raw = subprocess.run(["zstd", "-dc"], input=files["images/" + arg], capture_output=True, check=True).stdout
    files["images/" + arg] = subprocess.run(["zstd", "-3", "-c"], input=raw + b"\0" * (4 << 20),
                                            capture_output=True, check=True).stdout
elif op == "short":
    raw = subprocess.run(["zstd", "-dc"], input=files["images/" + arg], capture_output=True, check=True).stdout
    files["images/" + arg] = subprocess.run(["zstd", "-3", "-c"], input=raw[:-1], capture_output=True, check=True).stdout
elif op == "tamper-image":
    raw = bytearray(subprocess.run(["zstd", "-dc"], input=files["images/" + arg], capture_output=True, check=True).stdout)
    raw[len(raw) // 2] ^= 1
    files["images/" + arg] = subprocess.run(["zstd", "-3", "-c"], input=bytes(raw), capture_output=True, check=True).stdout
elif op == "not-zstd":
    files["images/" + arg] = b"this is not a zstd frame" * 100
elif op in ("junk", "junk-ts"):
    # the review's memory bomb: ARG bytes of "[{},{},...]" inside signed of the Director's
    # targets and the Image repository's timestamp (junk-ts: both timestamps, the files parsed
    # before anything pins them); not re-signed: rejected in the end
    both = ("metadata/director/targets.json", "metadata/image-repo/timestamp.json")
    if op == "junk-ts":
        both = ("metadata/director/timestamp.json", "metadata/image-repo/timestamp.json")
    for m in both:
        d = json.loads(files[m])
        d["signed"]["junk"] = [{}] * (int(arg) // 3)
        files[m] = json.dumps(d, separators=(",", ":")).encode()
elif op == "pad":
    # ARG bytes of whitespace after every metadata file (the signatures still hold)
    for m in files:
        if m.startswith("metadata/"):
            files[m] += b" " * int(arg)
elif op == "repack":
    pass  # the same members, written by Python's tarfile (pax headers)
elif op == "drop":
    del files[arg]
elif op in ("dotdot", "absolute", "symlink", "hardlink", "device", "duplicate", "badchar", "fifo"):
    last = [n for n in files if n.startswith("images/")][-1]
    ti = tarfile.TarInfo({"dotdot": "images/../../outside.bin", "absolute": "/tmp/outside.bin",
                          "badchar": "images/a b;$(x).bin", "duplicate": last}.get(op, "images/evil"))
    if op == "symlink":
        ti.type = tarfile.SYMTYPE; ti.linkname = "/etc/passwd"
    elif op == "hardlink":
        ti.type = tarfile.LNKTYPE; ti.linkname = last
    elif op == "device":
        ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3
    elif op == "fifo":
        ti.type = tarfile.FIFOTYPE
    data = b"evil" if ti.type == tarfile.REGTYPE else b""
    ti.size = len(data)
    extra.append((ti, data))
elif op == "truncate":
    raw = open(src, "rb").read()
    open(dst, "wb").write(raw[: len(raw) * 2 // 3])
    sys.exit(0)
elif op == "garbage":
    open(dst, "wb").write(os.urandom(20000))
    sys.exit(0)
else:
    sys.exit("unknown op " + op)
with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as t:
    for name, _ in members:
        if name not in files:
            continue
        ti = tarfile.TarInfo(name); ti.size = len(files[name]); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(files[name]))
    for ti, data in extra:
        t.addfile(ti, io.BytesIO(data) if data else None)
PY
}
