#!/usr/bin/env bash
# create and the bundle's real end of validity: a device checks every role
# against its clock, the newest roots included, so a bundle is valid until its earliest expiry.
#   - create prints "valid until T (the earliest expiry: FILE)", T the earliest expiry of the
#     metadata in the bundle (computed here from the tar with Python, roots included);
#   - a role that would outlive its repository's root is refused (exit 2, usage or input
#     error): the message names the role, both dates and what to do; nothing is signed into
#     the workspace and no bundle is written;
#   - --force-expiry signs it anyway, warns, and the printed end is the root's expiry; staged
#     with --sign-later, the plan keeps it for --resume.
source "$(dirname "$0")/lib.bash"
setup bundle
cd "$tmp" || exit 1

# earliest BUNDLE: "EXPIRY FILE.." the earliest expiry among the metadata a device checks (every
# file but the roots older than each repository's newest) and the files that expire then
earliest() {
	$PY - "$1" <<'PY'
import json, re, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    files = {m.name: json.loads(t.extractfile(m).read()) for m in t.getmembers()
             if m.isfile() and m.name.startswith("metadata/")}
newest = {}
for p in files:
    m = re.fullmatch(r"metadata/([a-z-]+)/([0-9]+)\.root\.json", p)
    if m:
        newest[m.group(1)] = max(newest.get(m.group(1), 0), int(m.group(2)))
checked = [p for p in files if not p.endswith(".root.json")]
checked += ["metadata/%s/%d.root.json" % (r, v) for r, v in newest.items()]
end = min(files[p]["signed"]["expires"] for p in checked)
print(end, " ".join(sorted(p[len("metadata/"):] for p in checked if files[p]["signed"]["expires"] == end)))
PY
}
# expires_of FILE.json: its signed expiry
expires_of() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed"]["expires"])' "$1"; }

std_keys k || { not_ok "key generate"; finish; }
check "init (image-repo root 1y by default, Director root 2y)" std_init k ws --expires director/root=2y
head -c 3000 /dev/urandom >fw.bin
"$BUNDLE" target add ws fw.bin --hardware-id hw >/dev/null || not_ok "target add"
"$BUNDLE" assign ws --device VIN-1 --ecu e1=fw.bin >/dev/null || not_ok "assign"
iroot=$(expires_of ws/metadata/image-repo/1.root.json)

# Defaults: every role within its root; the printed end is the earliest expiry.
out=$("$BUNDLE" create ws -o a.uptane 2>err)
rc=$?
check "create with the default expiries: exit 0 (got $rc), no warning" \
	bash -c "[ $rc -eq 0 ] && [ ! -s err ]"
read -r want wantf < <(earliest a.uptane)
got=$(sed -n 's/^valid until \([^ ]*\) (the earliest expiry: \(.*\))$/\1 \2/p' <<<"$out")
check "  ... prints the earliest expiry as the end of validity ($want: $wantf)" \
	bash -c "[ '${got%% *}' = '$want' ] && [[ ' $wantf ' == *' ${got#* } '* ]]"
check "  ... and lists both roots with their expiry" \
	bash -c "grep -q 'image-repo/1.root.json .*version 1, expires $iroot' <<<\"\$1\" &&
		grep -q 'director/1.root.json .*version 1, expires ' <<<\"\$1\"" _ "$out"

# --expires 2y: the Image-repo roles would outlive the Image-repo root (1y).
cp -a ws ws.before
out=$("$BUNDLE" create ws -o long.uptane --expires 2y 2>&1)
rc=$?
check "create --expires 2y under a 1y root: refused, exit 2 (got $rc)" [ $rc -eq 2 ]
check "  ... names the role, its expiry and the root's expiry" \
	grep -qE "^uptane-bundle create: metadata/image-repo/[a-z]+\.json: role image-repo/[a-z]+ would expire at 2028-[0-9-]+T[0-9:]+Z, after its root: the image-repo root \(version 1\) expires at $iroot, and devices refuse the bundle from then on \(freeze\)" <<<"$out"
check "  ... says what to do: renew the root, shorten --expires, or --force-expiry" \
	bash -c "[[ \$1 == *'Renew the root first (uptane-bundle rotate ws --role image-repo/root --expires DURATION) or shorten --expires; --force-expiry signs it anyway'* ]]" _ "$out"
check "  ... no bundle written" [ ! -e long.uptane ]
check "  ... the workspace unchanged (no version used)" diff -r ws.before ws
out=$("$BUNDLE" create ws -o one.uptane --expires image-repo/timestamp=400d 2>&1)
check "create --expires image-repo/timestamp=400d: refused naming image-repo/timestamp.json" \
	bash -c "[ $? -eq 2 ] && [[ \$1 == *'image-repo/timestamp.json: role image-repo/timestamp would expire at'*'after its root'* ]]" _ "$out"
out=$("$BUNDLE" create ws -o d.uptane --expires director/targets=3y 2>&1)
check "create --expires director/targets=3y (Director root 2y): refused naming the Director root" \
	bash -c "[ $? -eq 2 ] && [[ \$1 == *'director/targets.json: role director/targets would expire at'*'the director root (version 1) expires at'* ]]" _ "$out"

# Forced: signed and packed, a warning per role, and the real end is the Image-repo root's.
out=$("$BUNDLE" create ws -o f.uptane --expires 2y --force-expiry 2>err)
rc=$?
check "create --expires 2y --force-expiry: exit 0 (got $rc)" [ $rc -eq 0 ]
check "  ... warns that the roles outlive the root" \
	grep -q "^uptane-bundle create: warning: image-repo/targets.json (role image-repo/targets) expires at .*, after its root (--force-expiry): the image-repo root (version 1) expires at $iroot" err
read -r want wantf < <(earliest f.uptane)
check "  ... the earliest expiry is the Image-repo root ($want, $wantf)" \
	[ "$want $wantf" = "$iroot image-repo/1.root.json" ]
check "  ... and create prints it as the end of validity" \
	grep -qxF "valid until $iroot (the earliest expiry: image-repo/1.root.json)" <<<"$out"

# Staged (--sign-later): --force-expiry is part of the plan, so --resume packs without it.
"$BUNDLE" init wsr --root-key k/root.key --targets-key k/targets.pub --snapshot-key k/snap.key \
	--timestamp-key k/ts.key --director-root-key k/droot.key --director-targets-key k/dtargets.key \
	--director-snapshot-key k/dsnap.key --director-timestamp-key k/dts.key >/dev/null || not_ok "init wsr"
"$BUNDLE" target add wsr fw.bin --hardware-id hw >/dev/null || not_ok "target add wsr"
"$BUNDLE" assign wsr --device VIN-1 --ecu e1=fw.bin >/dev/null || not_ok "assign wsr"
check "create --sign-later --expires 2y (targets key held elsewhere): refused, exit 2" \
	expect_exit 2 "$BUNDLE" create wsr -o r.uptane --expires 2y --sign-later
check "  ... stages nothing" [ ! -e wsr/staged ]
check "create --sign-later --expires 2y --force-expiry: staged" \
	"$BUNDLE" create wsr -o r.uptane --expires 2y --sign-later --force-expiry
"$BUNDLE" sign wsr/staged/metadata/image-repo/targets.json --key k/targets.key >/dev/null || not_ok "sign"
out=$("$BUNDLE" create wsr --resume 2>err)
rc=$?
wroot=$(expires_of wsr/metadata/image-repo/1.root.json)
check "create --resume (no --force-expiry given again): exit 0 (got $rc), warns" \
	bash -c "[ $rc -eq 0 ] && grep -q 'after its root (--force-expiry)' err"
read -r want wantf < <(earliest r.uptane)
check "  ... prints the real end: the root's expiry ($want)" \
	bash -c "[ '$want' = '$wroot' ] && grep -qF 'valid until $wroot (the earliest expiry: ' <<<\"\$1\"" _ "$out"
finish
