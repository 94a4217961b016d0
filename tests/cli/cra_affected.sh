#!/usr/bin/env bash
# CRA vulnerability handling end to end (docs/sbom.md): two images with real SBOMs (npm sbom:
# CycloneDX 1.5 for image A, validated by @cyclonedx/cyclonedx-library; SPDX 2.3 for image B),
# signed into the Image-repo targets (custom.sbom); three devices install their bundles with
# the real installer (a bundle whose targets carry custom.sbom installs as any other), their
# signed reports are ingested, the SBOMs imported; one OSV advisory (semver < 7.5.2) lists
# exactly the devices running image A, with support ends, the one past its end marked.
source "$(dirname "$0")/lib.bash"
here=$(dirname "$0")
source "$here/bundle_lib.bash"
source "$here/install_lib.bash"
source "$here/cra_lib.bash"
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
if ! cra_oracles; then not_ok "the pinned node oracles (tests/interop/cra) are not installed"; finish; fi

cra_sbom app-a cyclonedx a.cdx.json && cra_sbom app-b spdx b.spdx.json
check "npm sbom: a CycloneDX 1.5 and an SPDX 2.3 document" \
	$PY -c 'import json,sys; a=json.load(open("a.cdx.json")); b=json.load(open("b.spdx.json")); assert a["bomFormat"]=="CycloneDX" and a["specVersion"]=="1.5"; assert b["spdxVersion"]=="SPDX-2.3"'
out=$(node "$CRA_NODE/validate_cdx.mjs" a.cdx.json 2>&1)
check "cyclonedx-library's strict JSON validator accepts image A's SBOM ($out)" [ "${out%% *}" = valid ]

ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage A.bin 200000 a
mkimage B.bin 150000 b
"$BUNDLE" target add ws A.bin --hardware-id board --release-counter 1 --sbom a.cdx.json >addA 2>&1
check "target add --sbom (CycloneDX): the SBOM's components counted" grep -q 'sbom: CycloneDX, 4 components' addA
"$BUNDLE" target add ws B.bin --hardware-id board --release-counter 1 --sbom b.spdx.json >addB 2>&1
check "target add --sbom (SPDX): the SBOM's packages counted" grep -q 'sbom: SPDX, 5 components' addB
check "the SBOM is kept in the workspace" cmp a.cdx.json "ws/sboms/$(sha256sum a.cdx.json | cut -c1-64).json"

L=$tmp/ledger.db
# The release: signed (a first bundle signs the Image repository) and its SBOMs imported, then
# the devices install and report. VIN-4 is registered and never reports.
"$BUNDLE" key generate vin4 >/dev/null && "$BUNDLE" devices add --ledger "$L" --device VIN-4 --public-key vin4.pub >/dev/null
"$BUNDLE" assign ws --hardware-id board=A.bin >/dev/null && "$BUNDLE" create ws -o f0.uptane --fleet f0 >/dev/null
"$BUNDLE" sbom import ws --ledger "$L" >import 2>&1
check "sbom import: both signed SBOMs imported" grep -qx '2 imported, 0 replaced, 0 unchanged' import
sleep 1 # reports come after the import (RFC 3339 has whole seconds)
dev() { # ID TARGET PLACED YEARS: a device that installs TARGET from its own bundle
	local id=$1 d=$tmp/$1
	mkdir -p "$d/targets" "$d/stick"
	echo factory >"$d/targets/main.bin"
	device_json "$d" "$id" ecu-main "$(file_ecu ecu-main board targets/main.bin)"
	"$BUNDLE" assign ws --device "$id" --ecu "ecu-main=$2" >/dev/null &&
		"$BUNDLE" create ws -o "$d/stick/$id.uptane" --device "$id" >/dev/null || return 1
	local code
	code=$(run_install "$d/out" "$d" install "$d/stick")
	[ "$code" = 0 ] || { echo "# install on $id: exit $code"; cat "$d/out" "$d/out.err"; return 1; }
	"$BUNDLE" devices add --ledger "$L" --device "$id" --public-key "$d/device.pub" \
		--placed-on-market "$3" --support-years "$4" >/dev/null &&
		"$BUNDLE" reports ingest "$d/stick" --ledger "$L" >/dev/null
}
check "VIN-1 installs image A (targets with custom.sbom) and its report is ingested" dev VIN-1 A.bin 2025-03-01 5
check "VIN-2 installs image B" dev VIN-2 B.bin 2025-03-01 5
check "VIN-3 (support ended 2020-01-01) installs image A" dev VIN-3 A.bin 2015-01-01 5
bsdtar -xOf VIN-1/stick/VIN-1.uptane metadata/image-repo/targets.json >targets.json
check "the bundle's Image-repo targets sign custom.sbom (format, length, hashes.sha256)" \
	$PY - targets.json a.cdx.json <<'PY'
import hashlib, json, sys
t = json.load(open(sys.argv[1]))["signed"]["targets"]["A.bin"]["custom"]["sbom"]
raw = open(sys.argv[2], "rb").read()
assert t == {"format": "CycloneDX", "length": len(raw),
             "hashes": {"sha256": hashlib.sha256(raw).hexdigest()}}, t
PY

"$BUNDLE" sbom import ws --ledger "$L" >import2 2>&1
check "sbom import again: unchanged" grep -qx '0 imported, 0 replaced, 2 unchanged' import2

cat >osv.json <<'JSON'
{"schema_version": "1.6.0", "id": "TEST-SEMVER-REDOS", "summary": "semver ReDoS in range parsing",
 "affected": [{"package": {"ecosystem": "npm", "name": "semver"},
   "ranges": [{"type": "SEMVER", "events": [{"introduced": "7.0.0"}, {"fixed": "7.5.2"}]}]}]}
JSON
"$BUNDLE" reports affected --ledger "$L" --osv osv.json --json >aff.json 2>aff.err
check "affected --osv: exactly VIN-1 and VIN-3 (image A), with support ends; VIN-3 out of support; VIN-4 (no report) unknown" \
	$PY - aff.json "$(sha256sum A.bin | cut -c1-64)" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert [(r["device_id"], r["ecu"], r["status"], r["reason"]) for r in rows if r["ecu"] is None] == \
    [("VIN-4", None, "unknown", "no report")], rows
rows = [r for r in rows if r["ecu"] is not None]
got = sorted((r["device_id"], r["ecu"], r["target"], r["sha256"], r["component"], r["version"],
              r["purl"], r["support_ends"], r["in_support"], r["status"]) for r in rows)
want = [("VIN-1", "ecu-main", "A.bin", sys.argv[2], "semver", "7.5.1", "pkg:npm/semver@7.5.1",
         "2030-03-01", True, "affected"),
        ("VIN-3", "ecu-main", "A.bin", sys.argv[2], "semver", "7.5.1", "pkg:npm/semver@7.5.1",
         "2020-01-01", False, "affected")]
assert got == want, got
for r in rows:
    assert r["installed_at"] and r["installed_at"].endswith("Z"), r
PY
"$BUNDLE" reports affected --ledger "$L" --osv osv.json --csv >aff.csv
check "affected --csv: a header and the rows (VIN-4 unknown last)" \
	$PY -c 'import csv; r=list(csv.DictReader(open("aff.csv"))); assert [(x["device_id"],x["in_support"],x["status"]) for x in r]==[("VIN-1","yes","affected"),("VIN-3","no","affected"),("VIN-4","yes","unknown")], r'
"$BUNDLE" reports affected --ledger "$L" --osv osv.json >aff.txt
check "affected (table): VIN-3's row says it is out of support" grep -Eq '^VIN-3 .* 2020-01-01 +no +affected' aff.txt
"$BUNDLE" reports affected --ledger "$L" --purl pkg:npm/semver --versions '>=7.6.0' --json >aff2.json
check "affected --purl --versions >=7.6.0: VIN-2 (image B, SPDX) alone" \
	$PY -c 'import json; r=json.load(open("aff2.json")); assert [(x["device_id"],x["version"]) for x in r if x["ecu"]]==[("VIN-2","7.6.0")], r'
"$BUNDLE" reports affected --ledger "$L" --component ms --json >aff3.json
check "affected --component ms (in both images): the three devices" \
	$PY -c 'import json; r=json.load(open("aff3.json")); assert sorted(x["device_id"] for x in r if x["status"]=="affected")==["VIN-1","VIN-2","VIN-3"], r'
"$BUNDLE" reports affected --ledger "$L" --osv osv.json --at 2030-06-01 --json >aff4.json
check "affected --at a year and more after the last reports: every device unknown, not safe" \
	$PY -c 'import json; r=json.load(open("aff4.json")); assert sorted((x["device_id"],x["status"]) for x in r)==[("VIN-1","unknown"),("VIN-2","unknown"),("VIN-3","unknown"),("VIN-4","unknown")], r'
check "a registered device without reports is unknown" \
	$PY -c 'import json; r=json.load(open("aff.json")); assert [(x["device_id"],x["status"],x["ecu"]) for x in r if x["device_id"]=="VIN-4"]==[("VIN-4","unknown",None)], r'
cp aff.txt "$UPT_BUILD/test-logs/cra_affected.table.txt" 2>/dev/null

# A third image with the vulnerable semver, its SBOM imported after the last reports: VIN-2
# (reporting image B, not affected) may have installed it since: unknown, not safe.
sleep 1
mkimage C.bin 1000 c
cra_sbom app-a spdx c.spdx.json
"$BUNDLE" target add ws C.bin --hardware-id board --sbom c.spdx.json >/dev/null &&
	"$BUNDLE" create ws -o f1.uptane --fleet f1 >/dev/null &&
	"$BUNDLE" sbom import ws --ledger "$L" >import3 2>&1 || cat import3
check "sbom import of image C's SBOM (SPDX): imported, the others unchanged" \
	grep -qx '1 imported, 0 replaced, 2 unchanged' import3
"$BUNDLE" reports affected --ledger "$L" --osv osv.json --json >aff6.json
check "after image C: VIN-1 and VIN-3 affected, VIN-2 unknown (no report since C's SBOM), VIN-4 unknown" \
	$PY -c 'import json; r=json.load(open("aff6.json")); assert [(x["device_id"],x["status"],x["reason"]) for x in r]==[("VIN-1","affected",None),("VIN-2","unknown","no report since an affected image'"'"'s SBOM was imported"),("VIN-3","affected",None),("VIN-4","unknown","no report")], r'

# The HTML page: self-contained, rendered by headless Chromium (Debian's chromium).
"$BUNDLE" reports affected --ledger "$L" --osv osv.json --html aff.html >/dev/null
"$BUNDLE" reports show --ledger "$L" --html fleet.html >show.txt
check "reports show --html: the table on stdout as before, the page written" \
	eval 'grep -q "^VIN-1 " show.txt && [ -s fleet.html ]'
check "the pages are self-contained: no script, no external reference" \
	eval '! grep -qiE "<script|<link|src=|href=|url\(|@import" aff.html fleet.html'
logs=$UPT_BUILD/test-logs
mkdir -p "$logs"
render() { # PAGE SCREENSHOT: chromium's console lines on stdout, the DOM into PAGE.dom
	timeout 120 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
		--window-size=1200,800 --screenshot="$2" "file://$tmp/$1" 2>"$1.log" >/dev/null
	timeout 120 chromium --headless --no-sandbox --disable-gpu --dump-dom "file://$tmp/$1" \
		2>/dev/null >"$1.dom"
	grep -F ':CONSOLE' "$1.log"
}
if ! command -v chromium >/dev/null; then
	not_ok "chromium is not installed (make deps: DEB_TEST_DEPS)"
	finish
fi
printf '<!DOCTYPE html><p>x</p><script>console.error("control")</script>\n' >control.html
check "control: a page logging a console error is caught" eval 'render control.html control.png | grep -q control'
console=$(render aff.html "$logs/cra_affected.png"; render fleet.html "$logs/cra_fleet.png")
check "Chromium renders both pages without console errors${console:+: $console}" [ -z "$console" ]
check "screenshots kept ($logs/cra_affected.png, cra_fleet.png), 1200x800 PNG" \
	$PY - "$logs/cra_affected.png" "$logs/cra_fleet.png" <<'PY'
import struct, sys
for f in sys.argv[1:]:
    head = open(f, "rb").read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1200, 800), f
PY
bars() { # DOM: "device:affected:past" per support bar, as Chromium parsed the page
	$PY - "$1" <<'PY'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.g = None; s.out = []
    def handle_starttag(s, tag, a):
        a = dict(a); c = (a.get("class") or "").split()
        if tag == "g" and "device" in c: s.g = (a["data-device"], "affected" in c, "past-support" in c)
        if tag == "rect" and "support-bar" in c: s.out.append("%s:%d:%d" % s.g)
p = P(); p.feed(open(sys.argv[1]).read()); print(" ".join(p.out))
PY
}
check "affected page: one support bar per listed device, VIN-1 and VIN-3 affected, VIN-3 past support" \
	[ "$(bars aff.html.dom)" = "VIN-1:1:0 VIN-2:0:0 VIN-3:1:1 VIN-4:0:0" ]
check "fleet page: one support bar per device (none marked affected: show has no advisory)" \
	[ "$(bars fleet.html.dom)" = "VIN-1:0:0 VIN-2:0:0 VIN-3:0:1 VIN-4:0:0" ]
check "affected page: the affected rows highlighted in the table" \
	[ "$(grep -c '<tr class="affected">' aff.html.dom)" = 2 ]

# The README's advisory block ("Reading reports"), as written: its ledger and advisory names
# are this test's fleet.db and osv.json.
$PY - "$UPT_TOP/README.md" >readme_cra.sh <<'PY'
import sys
text = open(sys.argv[1]).read()
start = text.index("```\nuptane-bundle sbom import ws") + 4
print(text[start:text.index("```", start)], end="")
PY
cp "$L" fleet.db && cp osv.json GHSA-c2qf-rxjj-qqgw.json
mkdir -p bin && ln -sf "$BUNDLE" bin/uptane-bundle
run_lines "the README's advisory block:" readme "$tmp/bin" <readme_cra.sh
check "the README's advisory block runs as written ($ran commands, $failed failed)" test "$ran" = 2 -a "$failed" = 0
check "the README's advisory block: the page lists VIN-1 as affected" grep -q 'data-device="VIN-1"' affected.html
finish
