#!/usr/bin/env bash
# The README's station block (under "The station: uptane-bundle") runs as written: the commands
# exactly as printed, with /media/stick pointing at a directory of this test and
# firmware-2.1.bin made here. Each command must succeed.
source "$(dirname "$0")/lib.bash"
setup install
cd "$tmp" || exit 1
$PY - "$UPT_TOP/README.md" >block.sh <<'PY'
import sys
text = open(sys.argv[1]).read()
part = text[text.index("## The station: `uptane-bundle`"):]
block = part[part.index("```\n") + 4:]
print(block[:block.index("```")], end="")
PY
check "the station block is there and holds the verify example" grep -q 'verify /media/stick/update.uptane --workspace ws' block.sh
mkdir -p keys stick bin
ln -s "$BUNDLE" bin/uptane-bundle
mkimage firmware-2.1.bin 100000 fw
sed 's|/media/stick|'"$tmp"'/stick|g' block.sh >run.sh
# one command per line (backslash continuations joined), each run in order
run_lines README out "$tmp/bin" < <($PY -c '
import sys
src = open(sys.argv[1]).read().replace("\\\n", " ")
cmds, cur = [], ""
for line in src.split("\n"):
    s = line.split(" # ")[0].rstrip() if not line.lstrip().startswith("#") else ""
    if not s.strip():
        continue
    cur = (cur + "\n" + s) if cur else s
    # a for ... do ... done spans lines
    if cur.lstrip().startswith("for ") and not cur.rstrip().endswith("done"):
        continue
    cmds.append(cur.replace("\n", " ; ").replace("do ;", "do")); cur = ""
for c in cmds:
    print(c)' run.sh)
check "every command of the station block ran ($ran commands, $failed failed)" test "$ran" -ge 7 -a "$failed" = 0
check "the verify example says OK for VIN-0001" grep -q '^device VIN-0001: OK: device bundle' out.*
finish
