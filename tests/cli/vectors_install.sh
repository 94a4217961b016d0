#!/usr/bin/env bash
# The interoperability vectors (/work/shared/vectors, made by an independent implementation from
# the spec alone) through uptane-install: for each scenario (and each step of two-step ones),
# copy it to a temp dir, run `status` once (initialises trusted/), snapshot state/trusted, run
# `uptane-install --config device.json --json install bundle.uptane`, and compare with
# expect.json: exit code, the last JSON line's status and reason, every ECU's installed file
# sha256, state_unchanged (trusted/ byte-identical), roots_accepted / roots_forget.
source "$(dirname "$0")/lib.bash"
VECTORS=${UPT_VECTORS:-/work/shared/vectors}
if [ ! -d "$VECTORS" ]; then
	skip "no vectors at $VECTORS"
	finish
fi
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT

# snapshot DIR: "sha256  relative/path" for every file under DIR/state/trusted, sorted.
snapshot() {
	(cd "$1/state/trusted" 2>/dev/null && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# check_step NAME DIR STEPDIR: runs the install of STEPDIR/bundle.uptane against DIR.
check_step() {
	local name=$1 dir=$2 step=$3
	local before="$tmp/before" after="$tmp/after" out="$tmp/out.json" err="$tmp/err.txt"
	snapshot "$dir" >"$before"
	(cd "$dir" && "$INSTALL" --config device.json --json install "$step/bundle.uptane") \
		>"$out" 2>"$err"
	local code=$?
	snapshot "$dir" >"$after"
	local why
	if why=$($PY - "$step/expect.json" "$out" "$code" "$dir" "$before" "$after" <<'PY'
import hashlib, json, os, sys
exp = json.load(open(sys.argv[1]))
lines = [l for l in open(sys.argv[2]).read().splitlines() if l.strip()]
code = int(sys.argv[3]); d = sys.argv[4]
problems = []
for i, l in enumerate(lines):
    try:
        json.loads(l)
    except ValueError:
        problems.append("stdout line %d is not JSON: %r" % (i + 1, l[:80]))
last = json.loads(lines[-1]) if lines else {}
if code != exp["exit"]:
    problems.append("exit %d, expected %d" % (code, exp["exit"]))
if last.get("event") != "result":
    problems.append("last line is not a result event")
if last.get("status") != exp["status"]:
    problems.append("status %r, expected %r" % (last.get("status"), exp["status"]))
if last.get("reason") != exp["reason"]:
    problems.append("reason %r, expected %r" % (last.get("reason"), exp["reason"]))
cfg = json.load(open(os.path.join(d, "device.json")))
for ecu in cfg["ecus"]:
    want = exp["installed"].get(ecu["serial"])
    path = os.path.join(d, ecu["install"]["path"])
    got = hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.exists(path) else None
    if want is not None and got != want:
        problems.append("%s holds %s, expected %s" % (ecu["serial"], got, want))
    leftovers = [f for f in os.listdir(os.path.dirname(path)) if f.startswith(".")]
    if leftovers:
        problems.append("staging left behind: %s" % leftovers)
def snap(p):
    return dict(reversed(l.rstrip("\n").split("  ", 1)) for l in open(p) if l.strip())
before, after = snap(sys.argv[5]), snap(sys.argv[6])
roots = {}
for member, sha in exp.get("roots_accepted", {}).items():
    repo = member.split("/")[1]
    n = int(os.path.basename(member).split(".")[0])
    if repo not in roots or n > roots[repo][0]:
        roots[repo] = (n, sha)
for repo, (n, sha) in roots.items():
    got = after.get("./%s/root.json" % repo)
    if got != sha:
        problems.append("trusted %s/root.json is %s, expected accepted root v%d %s" % (repo, got, n, sha))
if exp["state_unchanged"]:
    ignore = set("./%s/root.json" % r for r in roots)
    if exp.get("roots_forget"):
        ignore |= set("./%s/%s.json" % (r, f) for r in roots for f in ("timestamp", "snapshot"))
    b = {k: v for k, v in before.items() if k not in ignore}
    a = {k: v for k, v in after.items() if k not in ignore}
    if a != b:
        changed = sorted(set(a.items()) ^ set(b.items()))
        problems.append("trusted/ changed: %s" % [c[0] for c in changed])
    if exp.get("roots_forget"):
        for r in roots:
            for f in ("timestamp", "snapshot"):
                if "./%s/%s.json" % (r, f) in after:
                    problems.append("%s/%s.json not forgotten after the key rotation" % (r, f))
elif before == after:
    problems.append("trusted/ unchanged, but the bundle should have been persisted")
print("; ".join(problems))
sys.exit(1 if problems else 0)
PY
	); then
		ok "vector $name"
	else
		not_ok "vector $name: $why"
		sed 's/^/#   /' "$out" "$err" | tail -8
	fi
}

n=0
for v in "$VECTORS"/*/; do
	v=${v%/}
	name=$(basename "$v")
	dir="$tmp/$name"
	rm -rf "$dir"
	cp -r "$v" "$dir"
	rm -rf "$dir/state"
	if ! (cd "$dir" && "$INSTALL" --config device.json status >/dev/null 2>"$tmp/status.err"); then
		not_ok "vector $name: status failed: $(head -c 300 "$tmp/status.err")"
		continue
	fi
	if [ -f "$dir/expect.json" ]; then
		check_step "$name" "$dir" "$dir"
		n=$((n + 1))
	else
		for s in "$dir"/step*/; do
			s=${s%/}
			check_step "$name/$(basename "$s")" "$dir" "$s"
			n=$((n + 1))
		done
	fi
done
check "vectors found ($n steps)" test "$n" -ge 10
finish
