# Helpers for the uptane-bundle CLI tests (tests/cli/bundle_*.sh). Source after lib.bash.

# keys DIR NAME..: ed25519 key pairs DIR/NAME.key + DIR/NAME.pub
keys() {
	local dir=$1; shift
	mkdir -p "$dir"
	for k in "$@"; do (cd "$dir" && "$BUNDLE" key generate "$k" >/dev/null) || return 1; done
}

# std_keys DIR: the keys of both repositories and the PURE-2 roles
std_keys() {
	keys "$1" root targets snap ts droot dtargets dsnap dts osnap oupd
}

# std_init KEYDIR WS [EXTRA ARGS]: a workspace signed entirely with KEYDIR's keys
std_init() {
	local k=$1 ws=$2; shift 2
	"$BUNDLE" init "$ws" --root-key "$k/root.key" --targets-key "$k/targets.key" \
		--snapshot-key "$k/snap.key" --timestamp-key "$k/ts.key" \
		--director-root-key "$k/droot.key" --director-targets-key "$k/dtargets.key" \
		--director-snapshot-key "$k/dsnap.key" --director-timestamp-key "$k/dts.key" \
		--offline-snapshot-key "$k/osnap.key" --offline-updates-key "$k/oupd.key" "$@"
}

# device_config DIR WS DEVICE_ID SERIAL:HW.. : DIR/device.json provisioned with WS's v1 roots
device_config() {
	local dir=$1 ws=$2 id=$3; shift 3
	mkdir -p "$dir"
	cp "$ws/metadata/director/1.root.json" "$dir/director-root.json"
	cp "$ws/metadata/image-repo/1.root.json" "$dir/image-root.json"
	local ecus="" sep=""
	for e in "$@"; do
		ecus="$ecus$sep{\"serial\":\"${e%%:*}\",\"hardware_id\":\"${e#*:}\",\"install\":{\"type\":\"file\",\"path\":\"${e%%:*}.bin\"}}"
		sep=","
	done
	cat >"$dir/device.json" <<JSON
{"device_id": "$id", "primary_ecu": "${1%%:*}", "ecus": [$ecus],
 "state_dir": "state", "trusted_roots": {"director": "director-root.json", "image-repo": "image-root.json"},
 "report_key": "device.key", "accept": ["device", "fleet"]}
JSON
}

# expect_exit WANT CMD..: true when CMD exits with WANT
expect_exit() {
	local want=$1; shift
	"$@" >/dev/null 2>&1
	[ $? -eq "$want" ]
}

# verify_class BUNDLE CONFIG CLASS: verify exits 4 and names CLASS
verify_class() {
	local out
	out=$("$BUNDLE" verify "$1" --config "$2" 2>&1)
	local rc=$?
	[ $rc -eq 4 ] && [[ $out == *"REJECTED ($3)"* ]] || { echo "verify: exit $rc: $out" >&2; return 1; }
}

# retar SRC DST MODE: rewrites a bundle with Python's tarfile (an independent tar writer)
#   MODE same | image-first | tamper-image NAME | tamper-meta PATH | drop PATH
retar() { $PY "$UPT_TOP/tests/cli/bundle_mutate.py" retar "$@"; }

# json_get FILE EXPR: evaluates a Python expression over the JSON document `d`
json_get() {
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
