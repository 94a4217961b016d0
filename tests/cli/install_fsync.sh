#!/usr/bin/env bash
# Crash-safety ordering, read from the system calls (strace -f -y): an install of three ECUs
# (file, ab, exec) from a stick directory, then a confirm. Checked:
#  - every rename is preceded by an fsync of the file being renamed (after it was last
#    created) and followed, before the next rename, by an fsync of its new directory;
#  - a directory renamed into place (trusted.new -> trusted.ready -> trusted) was synced first;
#  - every staged image is synced before the first activation (target rename, activate or
#    flash program started), and the journal is in place and synced before it;
#  - a staged image's directory is synced after the image was created and before the journal
#    (the journal names the file: its name must survive a power cut too);
#  - the new trusted state (trusted.new/) is synced before the journal appears.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
source "$(dirname "$0")/install_lib.bash"
if ! command -v strace >/dev/null; then
	not_ok "strace is not installed (make deps installs it)"
	finish
fi
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
export ASAN_OPTIONS=detect_leaks=0 # LeakSanitizer cannot run under ptrace
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage main1.bin 300000 m1
mkimage fw1.bin 200000 f1
mkimage s1.bin 100000 s1
B() { "$BUNDLE" "$@" >/dev/null; }
B target add ws main1.bin --hardware-id board-a --release-counter 1
B target add ws fw1.bin --hardware-id mcu-x --release-counter 1
B target add ws s1.bin --hardware-id sensor-y --release-counter 1
B assign ws --device VIN-1 --ecu main=main1.bin mcu=fw1.bin sensor=s1.bin
B create ws -o b1.uptane --device VIN-1
dev=$tmp/dev
mkdir -p "$dev/targets" "$dev/slots" "$tmp/stick"
cp b1.uptane "$tmp/stick/"
printf '#!/bin/sh\nexit 0\n' >"$dev/activate.sh"
printf '#!/bin/sh\ncp "$1" "$(dirname "$0")/targets/sensor.fw"\n' >"$dev/flash.sh"
chmod +x "$dev/activate.sh" "$dev/flash.sh"
: >"$dev/slots/a"
: >"$dev/slots/b"
echo old >"$dev/targets/main.bin"
ab='{"serial":"mcu","hardware_id":"mcu-x","install":{"type":"ab","slots":["slots/a","slots/b"],"activate":["./activate.sh","{slot}"],"confirm":["./activate.sh","confirm"]}}'
ex='{"serial":"sensor","hardware_id":"sensor-y","install":{"type":"exec","command":["./flash.sh","{image}"]}}'
device_json "$dev" VIN-1 main "$(file_ecu main board-a targets/main.bin)" "$ab" "$ex"
(cd "$dev" && "$INSTALL" --config device.json status >/dev/null)

trace() { # trace OUT ARGS..: strace of one uptane-install run
	local out=$1; shift
	(cd "$dev" && strace -f -y -qq -s 512 -o "$out" \
		-e trace=fsync,fdatasync,rename,renameat,renameat2,openat,open,mkdir,mkdirat,execve \
		"$INSTALL" --config device.json --json "$@" >"$out.stdout" 2>"$out.stderr")
}
trace "$tmp/install.trace" install "$tmp/stick"
check "traced install succeeded" grep -q '"status":"installed"' "$tmp/install.trace.stdout"
trace "$tmp/confirm.trace" confirm
check "traced confirm succeeded" grep -q '"status":"confirmed"' "$tmp/confirm.trace.stdout"

analyse() { # analyse TRACE MODE
	$PY - "$1" "$2" "$dev" "$tmp/stick" <<'PY'
import os, re, sys
trace, mode, dev, stick = sys.argv[1:5]
ev = []  # (kind, data)
fdpath = re.compile(r'^(-?\d+|AT_FDCWD)(?:<([^>]*)>)?$')
def split_args(s):
    out, depth, cur, q = [], 0, "", False
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            cur += c
            if c == "\\" and i + 1 < len(s):
                cur += s[i + 1]; i += 1
            elif c == '"':
                q = False
        elif c == '"':
            q = True; cur += c
        elif c in "[{(":
            depth += 1; cur += c
        elif c in "]})":
            depth -= 1; cur += c
        elif c == "," and depth == 0:
            out.append(cur.strip()); cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out
def unq(s):
    return s[1:-1].encode().decode("unicode_escape") if s.startswith('"') else s
def at(dirarg, rel):
    rel = unq(rel)
    if rel.startswith("/"):
        return os.path.normpath(rel)
    m = fdpath.match(dirarg)
    base = m.group(2) if m and m.group(2) else dev
    return os.path.normpath(os.path.join(base, rel))
line_re = re.compile(r'^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)')
for line in open(trace):
    m = line_re.match(line)
    if not m or int(m.group(4)) < 0:
        continue
    pid, call, args = m.group(1), m.group(2), split_args(m.group(3))
    if call in ("fsync", "fdatasync"):
        p = fdpath.match(args[0])
        ev.append(("fsync", p.group(2) if p else None))
    elif call == "rename":
        ev.append(("rename", (os.path.normpath(unq(args[0])), os.path.normpath(unq(args[1])))))
    elif call in ("renameat", "renameat2"):
        ev.append(("rename", (at(args[0], args[1]), at(args[2], args[3]))))
    elif call == "openat" and "O_CREAT" in line:
        ev.append(("create", at(args[0], args[1])))
    elif call == "open" and "O_CREAT" in line:
        ev.append(("create", os.path.normpath(unq(args[0]))))
    elif call in ("mkdir", "mkdirat"):
        ev.append(("mkdir", at(args[0], args[1]) if call == "mkdirat" else os.path.normpath(unq(args[0]))))
    elif call == "execve":
        ev.append(("exec", unq(args[0])))
    elif call in ("openat",) and "O_WRONLY" in line:
        ev.append(("create", at(args[0], args[1])))
bad = []
ours = (dev, stick)
def inside(p):
    return p and any(p == r or p.startswith(r + "/") for r in ours)
renames = [i for i, e in enumerate(ev) if e[0] == "rename" and inside(e[1][1])]
for i in renames:
    old, new = ev[i][1]
    made = max([j for j in range(i) if ev[j][0] in ("create", "mkdir") and ev[j][1] == old] or [-1])
    synced = [j for j in range(made + 1, i) if ev[j][0] == "fsync" and ev[j][1] == old]
    if made >= 0 and not synced:
        bad.append("rename %s -> %s: %s not synced after it was written" % (old, new, old))
    nxt = min([j for j in renames if j > i] or [len(ev)])
    parent = os.path.dirname(new)
    if not [j for j in range(i + 1, nxt) if ev[j][0] == "fsync" and ev[j][1] == parent]:
        bad.append("rename %s -> %s: directory %s not synced before the next rename" % (old, new, parent))
acts = [i for i, e in enumerate(ev) if (e[0] == "exec" and e[1].endswith(("activate.sh", "flash.sh")))
        or (e[0] == "rename" and e[1][1].startswith(dev + "/targets/"))]
if mode == "install":
    if len(acts) != 3:
        bad.append("expected 3 activations, saw %d" % len(acts))
    first = min(acts or [0])
    for staged in (dev + "/slots/b", dev + "/targets/.main.bin.uptane-new", dev + "/state/staging/sensor.image"):
        w = [j for j, e in enumerate(ev) if e[0] == "create" and e[1] == staged]
        s = [j for j, e in enumerate(ev) if e[0] == "fsync" and e[1] == staged and w and j > w[-1]]
        if not w or not s or s[0] > first:
            bad.append("%s not synced before the first activation" % staged)
    j = [i for i, e in enumerate(ev) if e[0] == "rename" and e[1][1] == dev + "/state/journal"]
    if not j or j[0] > first:
        bad.append("journal not in place before the first activation")
    # a staged file's name must be durable before the commit point (the journal names it):
    # POSIX promises that only after an fsync of its directory (ext4 happens to commit it
    # with the file's own fsync)
    for staged in (dev + "/targets/.main.bin.uptane-new", dev + "/state/staging/sensor.image"):
        w = [i for i, e in enumerate(ev) if e[0] == "create" and e[1] == staged]
        d = [i for i, e in enumerate(ev) if e[0] == "fsync" and e[1] == os.path.dirname(staged) and w and i > w[-1]]
        if j and (not d or d[0] > j[0]):
            bad.append("%s: its directory not synced before the journal" % staged)
    else:
        new_sync = [i for i, e in enumerate(ev) if e[0] == "fsync" and e[1] == dev + "/state/trusted.new"]
        if not new_sync or new_sync[0] > j[0]:
            bad.append("trusted.new/ not synced before the journal")
    swaps = [i for i, e in enumerate(ev) if e[0] == "rename" and e[1][1] == dev + "/state/trusted"]
    if not swaps or swaps[0] < max(acts or [0]):
        bad.append("trusted/ replaced before the last activation")
    if not [i for i in renames if ev[i][1][1].startswith(stick + "/uptane-reports/")]:
        bad.append("no report renamed into place on the stick")
print("%d renames, %d fsyncs, %d activations checked" % (len(renames), sum(1 for e in ev if e[0] == "fsync"), len(acts)))
for b in bad:
    print("PROBLEM: " + b)
sys.exit(1 if bad else 0)
PY
}
out=$(analyse "$tmp/install.trace" install)
st=$?
echo "# install: ${out%%$'\n'*}"
check "install: renames synced before and after, images synced before any activation, journal first" [ $st = 0 ]
[ $st = 0 ] || echo "$out" | sed 's/^/#   /'
out=$(analyse "$tmp/confirm.trace" confirm)
st=$?
echo "# confirm: ${out%%$'\n'*}"
check "confirm: installed.json replaced with fsyncs before and after" [ $st = 0 ]
[ $st = 0 ] || echo "$out" | sed 's/^/#   /'
check "confirm: at least one rename checked" bash -c "grep -q 'state/trusted/installed.json' '$tmp/confirm.trace'"
finish
