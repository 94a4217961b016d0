#!/usr/bin/env bash
# Canonical JSON agrees byte for byte with an independent implementation:
# securesystemslib.formats.encode_canonical (Debian python3-securesystemslib) over 250
# generated documents (nesting, unicode, escapes, control characters, int64 extremes, empty
# containers), fed to `uptane-bundle canonical`.
source "$(dirname "$0")/lib.bash"
setup
if ! $PY -c 'import securesystemslib.formats' 2>/dev/null; then
	not_ok "python3-securesystemslib is not installed (make deps installs it)"
	finish
fi
$PY - "$tmp" <<'PY'
import json, random, sys
random.seed(20261128)
out = sys.argv[1]
alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\t', '\x01', '\x7f', 'é', 'ß', '€', '😀', '\u2028', '/', '{', ':']
def s():
    return ''.join(random.choice(alphabet) for _ in range(random.randint(0, 8)))
def val(d):
    r = random.random()
    if d > 6 or r < 0.35:
        c = random.randint(0, 6)
        return [s(), random.randint(-2**63, 2**63 - 1), random.randint(-1000, 1000), True, False, None, 0][c]
    if r < 0.65:
        return {s(): val(d + 1) for _ in range(random.randint(0, 6))}
    return [val(d + 1) for _ in range(random.randint(0, 6))]
for i in range(250):
    doc = {s(): val(1) for _ in range(random.randint(0, 8))} if i % 5 else [val(1), {}, [], ""]
    # pretty-printed, non-ASCII escaped in the input: the parser must normalise both
    with open(f"{out}/{i}.json", "w") as f:
        json.dump(doc, f, indent=random.choice([None, 2]), ensure_ascii=bool(i % 2))
PY
mismatch=0
for f in "$tmp"/*.json; do
	"$BUNDLE" canonical "$f" >"$f.ours" || { mismatch=$((mismatch + 1)); continue; }
	$PY -c '
import json, sys
from securesystemslib.formats import encode_canonical
sys.stdout.buffer.write(encode_canonical(json.load(open(sys.argv[1]))).encode("utf-8"))' "$f" >"$f.theirs"
	cmp -s "$f.ours" "$f.theirs" || { mismatch=$((mismatch + 1)); echo "differs: $f"; }
done
n=$(ls "$tmp"/*.json | wc -l)
check "canonical JSON identical to securesystemslib on $n documents ($mismatch differ)" [ "$mismatch" -eq 0 -a "$n" -ge 200 ]
# the CLI refuses what the strict parser refuses
printf '{"a":1,"a":2}' >"$tmp/dup.json"
check "canonical refuses duplicate keys" bash -c "! '$BUNDLE' canonical '$tmp/dup.json' 2>/dev/null"
printf '{"a":1.5}' >"$tmp/real.json"
check "canonical refuses reals" bash -c "! '$BUNDLE' canonical '$tmp/real.json' 2>/dev/null"
finish
