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

# bundle_mutate SRC DST OP [ARG]: a hostile or inconsistent variant of a bundle
# (tests/cli/bundle_mutate.py mutate). Keys for re-signing come from $KEYS (the workspace's key
# directory).
bundle_mutate() { KEYS=${KEYS:-} $PY "$UPT_TOP/tests/cli/bundle_mutate.py" mutate "$@"; }
