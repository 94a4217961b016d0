#!/usr/bin/env bash
# Signature interoperability, both ways, with an independent implementation: Debian's
# python3-securesystemslib 0.26 and PyNaCl (tests/interop/ssl_helper.py).
#   ours -> theirs: keys from `uptane-bundle key generate`, metadata signed by our library
#                   (tests/interop/sigtool.c), verified by securesystemslib and PyNaCl over
#                   their own canonical encoding; our key files load in securesystemslib.
#   theirs -> ours: key files and metadata written by securesystemslib (key objects with
#                   keyid/keyid_hash_algorithms) load and verify in ours; their private key
#                   file signs in ours, and they verify the result.
source "$(dirname "$0")/lib.bash"
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT
helper="$UPT_TOP/tests/interop/ssl_helper.py"
if ! $PY -c 'import securesystemslib.keys, nacl.signing' 2>/dev/null; then
	not_ok "python3-securesystemslib / python3-nacl not installed (make deps installs them)"
	finish
fi

# The test-only tool, built by the Makefile (make units) against this build's library.
ST="$UPT_BUILD/interop/sigtool"
if [ ! -x "$ST" ]; then
	not_ok "$ST is not built (make units)"
	finish
fi
cd "$tmp" || exit 1
# valid N ROOT ROLE TYPE FILE: the threshold is met (exit 0) with exactly N valid signatures
valid() {
	local n=$1 out
	shift
	out=$("$ST" verify "$@") && [ "$out" = "valid $n" ]
}

# --- ours -> theirs ------------------------------------------------------------------------
id1=$("$BUNDLE" key generate ours1) && id2=$("$BUNDLE" key generate ours2)
check "key generate writes NAME.key 0600 and NAME.pub 0644" \
	[ "$(stat -c %a ours1.key)" = 600 -a "$(stat -c %a ours1.pub)" = 644 ]
check "key id printed = our library's = securesystemslib's canonical hash" \
	[ -n "$id1" -a "$id1" = "$("$ST" keyid ours1.pub)" -a "$id1" = "$($PY "$helper" keyid ours1.pub)" ]
check "securesystemslib imports our private and public key files and signs with them" \
	$PY "$helper" import-ours ours1.key ours1.pub
check "key generate never overwrites a key" bash -c "! '$BUNDLE' key generate ours1 2>/dev/null"
check "key generate --help" bash -c "'$BUNDLE' key generate --help | grep -q NAME.key"
check "key generate into a missing directory fails with a message" \
	bash -c "! '$BUNDLE' key generate nodir/k 2>err.txt && grep -q 'nodir/k.key' err.txt && [ ! -e nodir ]"
check "key generate with a stray argument is a usage error" \
	bash -c "'$BUNDLE' key generate a b 2>/dev/null; [ \$? = 2 ] && [ ! -e a.key ]"
check "key without subcommand is a usage error" bash -c "'$BUNDLE' key 2>/dev/null; [ \$? = 2 ]"

$PY "$helper" ours-root root0.json ours1.pub ours2.pub
"$ST" sign ours1.key root0.json root1.json && "$ST" sign ours2.key root1.json root2.json
check "root signed by our library verifies in securesystemslib and PyNaCl (2 keys)" \
	$PY "$helper" verify-ours root2.json ours1.pub ours2.pub
check "... and in ours: valid 2, threshold 2 met" valid 2 root2.json root root root2.json
check "... one signature short fails in ours" bash -c "! '$ST' verify root2.json root root root1.json >/dev/null 2>&1"

mkdir docs signed
$PY "$helper" docs docs 40
n=0 bad=0
for f in docs/*.json; do
	n=$((n + 1))
	"$ST" sign ours1.key "$f" "signed/${f#docs/}" && $PY "$helper" verify-ours "signed/${f#docs/}" ours1.pub ||
		{ bad=$((bad + 1)); echo "failed: $f"; }
done
check "$n documents (unicode, escapes, int64 extremes) signed by us verify in securesystemslib ($bad fail)" \
	[ "$bad" -eq 0 -a "$n" -eq 40 ]

# --- theirs -> ours ------------------------------------------------------------------------
$PY "$helper" ssl-keys . 3
check "securesystemslib's key files carry keyid/keyid_hash_algorithms" grep -q keyid_hash_algorithms ssl0
$PY "$helper" ssl-root sslroot.json 2 2 ssl0 ssl1 ssl2
check "securesystemslib root (2 of 3 signed, keys with keyid_hash_algorithms) verifies in ours" \
	valid 2 sslroot.json root root sslroot.json
$PY "$helper" ssl-root sslroot1.json 2 1 ssl0 ssl1 ssl2
check "... with one signature: threshold 2 not met" bash -c "! '$ST' verify sslroot1.json root root sslroot1.json >/dev/null 2>&1"
$PY "$helper" tamper sslroot.json tampered.json
check "... tampered after signing: refused" bash -c "! '$ST' verify tampered.json root root tampered.json >/dev/null 2>&1"
$PY "$helper" ssl-targets ssltargets.json ssl0
$PY "$helper" ssl-root sslroot-t1.json 1 1 ssl0 ssl1 ssl2
check "securesystemslib targets (sha512, delegation keys in their form) verifies in ours" \
	valid 1 sslroot-t1.json targets targets ssltargets.json
check "... but not where its role needs 2 signatures" \
	bash -c "! '$ST' verify sslroot.json targets targets ssltargets.json >/dev/null 2>&1"
check "... and parses as targets with its delegation" "$ST" parse targets ssltargets.json

# their private key file signs in ours, under their key id; they verify it
$PY "$helper" ssl-root sslroot0.json 2 0 ssl0 ssl1 ssl2
kid0=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keyid"])' ssl0)
kid1=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keyid"])' ssl1)
"$ST" sign ssl0 sslroot0.json a.json "$kid0" && "$ST" sign ssl1 a.json b.json "$kid1"
check "securesystemslib's private key files sign in ours; securesystemslib verifies" \
	$PY "$helper" verify-ssl b.json ssl0 ssl1
check "... and ours verifies that file too" valid 2 b.json root root b.json
check "a securesystemslib key loads with the id of the three-field object our builders write" \
	bash -c "[ \"\$('$ST' keyid ssl0.pub)\" = \"\$($PY -c '
import json,sys,hashlib
from securesystemslib.formats import encode_canonical
k=json.load(open(sys.argv[1]))
o={\"keytype\":k[\"keytype\"],\"scheme\":k[\"scheme\"],\"keyval\":{\"public\":k[\"keyval\"][\"public\"]}}
print(hashlib.sha256(encode_canonical(o).encode()).hexdigest())' ssl0.pub)\" ]"
finish
