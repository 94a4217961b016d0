#!/usr/bin/env bash
# CRA inputs are untrusted (docs/sbom.md): an SBOM whose hash is not the signed one, a
# malformed, unknown-format or oversized SBOM, an advisory with an unknown range type or
# ecosystem: each is refused with an error naming the file and the field, and nothing is
# stored (workspace and ledger as before).
source "$(dirname "$0")/lib.bash"
here=$(dirname "$0")
source "$here/bundle_lib.bash"
source "$here/install_lib.bash"
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
mkimage A.bin 1000 a
mkimage B.bin 1000 b
cdx() { # OUT SPEC COMPONENTS_JSON
	printf '{"bomFormat":"CycloneDX","specVersion":"%s","version":1,"components":%s}' "$2" "$3" >"$1"
}
cdx good.json 1.6 '[{"type":"library","name":"zlib","version":"1.2.13","purl":"pkg:deb/debian/zlib@1.2.13"}]'
cdx other.json 1.6 '[{"type":"library","name":"zlib","version":"1.3"}]'

# refused: EXIT, stderr must contain every following word; the workspace stays as it was
refused_add() { # NAME FILE WORDS..
	local name=$1 file=$2; shift 2
	cp ws/workspace.json before.json
	"$BUNDLE" target add ws A.bin --hardware-id board --sbom "$file" >out 2>err
	local code=$? miss=""
	for w in "$@"; do grep -qF -- "$w" err || miss="$miss [$w]"; done
	if [ $code -eq 2 ] && [ -z "$miss" ] && cmp -s before.json ws/workspace.json && [ ! -e ws/sboms ]; then
		ok "$name: exit 2, $(head -1 err)"
	else
		not_ok "$name: exit $code, missing$miss: $(cat err)"
	fi
}
printf '{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"x"' >trunc.json
refused_add "truncated SBOM" trunc.json trunc.json
cdx noname.json 1.5 '[{"type":"library","name":"a"},{"type":"library","version":"1"}]'
refused_add "component without a name" noname.json noname.json 'components[1]' 'no name'
cdx badver.json 1.5 '[{"type":"library","name":"a","version":7}]'
refused_add "a version that is not a string" badver.json badver.json 'components[0].version'
cdx old.json 1.2 '[]'
refused_add "CycloneDX 1.2" old.json old.json specVersion
printf '{"spdxVersion":"SPDX-2.2","packages":[]}' >spdx22.json
refused_add "SPDX 2.2" spdx22.json spdx22.json spdxVersion
printf '{"name":"not an sbom"}' >plain.json
refused_add "neither CycloneDX nor SPDX" plain.json plain.json 'neither CycloneDX'
cp good.json big.json && truncate -s $((64 * 1024 * 1024 + 1)) big.json
refused_add "an SBOM over 64 MiB" big.json big.json 'larger than'

"$BUNDLE" target add ws A.bin --hardware-id board --sbom good.json >/dev/null &&
	"$BUNDLE" target add ws B.bin --hardware-id board --sbom other.json >/dev/null &&
	"$BUNDLE" assign ws --hardware-id board=A.bin >/dev/null && "$BUNDLE" create ws -o b.uptane --fleet boards >/dev/null
check "good SBOMs are accepted and signed" [ -s b.uptane ]
L=$tmp/l.db
"$BUNDLE" key generate dev >/dev/null && "$BUNDLE" devices add --ledger "$L" --device VIN-1 --public-key dev.pub >/dev/null
sqlite3 "$L" .dump >dump0
# the SBOM of B swapped after signing (same length, other bytes)
hb=$(sha256sum other.json | cut -c1-64)
sed 's/1\.3/1.4/' other.json >"ws/sboms/$hb.json"
"$BUNDLE" sbom import ws --ledger "$L" >out 2>err
code=$?
sqlite3 "$L" .dump >dump1
if [ $code -eq 2 ] && grep -qF "sboms/$hb.json" err && grep -qF custom.sbom.hashes.sha256 err && cmp -s dump0 dump1; then
	ok "a swapped SBOM: exit 2, nothing stored, $(cat err)"
else
	not_ok "a swapped SBOM: exit $code: $(cat err)"
fi
# ... and the signed reference edited to match the swapped SBOM: the signature breaks
cp ws/metadata/image-repo/targets.json targets.orig
sed 's/1\.3/1.4/' other.json >swapped.json
hs=$(sha256sum swapped.json | cut -c1-64)
cp swapped.json "ws/sboms/$hs.json"
sed "s/$hb/$hs/" targets.orig >ws/metadata/image-repo/targets.json
"$BUNDLE" sbom import ws --ledger "$L" >out 2>err
code=$?
sqlite3 "$L" .dump >dump1
if [ $code -eq 2 ] && grep -qF "metadata/image-repo/targets.json" err && grep -q "does not verify" err && cmp -s dump0 dump1; then
	ok "custom.sbom edited in the workspace's targets: the signature breaks, nothing stored: $(cat err)"
else
	not_ok "custom.sbom edited: exit $code: $(cat err)"
fi
cp targets.orig ws/metadata/image-repo/targets.json
rm "ws/sboms/$hb.json"
"$BUNDLE" sbom import ws --ledger "$L" >out 2>err
code=$?
sqlite3 "$L" .dump >dump1
check "a missing SBOM: exit 2, the file named, nothing stored" \
	eval '[ $code -eq 2 ] && grep -qF "sboms/$hb.json" err && cmp -s dump0 dump1'

refused_osv() { # NAME JSON WORDS..
	local name=$1; shift
	printf '%s' "$1" >adv.json
	shift
	"$BUNDLE" reports affected --ledger "$L" --osv adv.json >out 2>err
	local code=$? miss=""
	for w in adv.json "$@"; do grep -qF -- "$w" err || miss="$miss [$w]"; done
	if [ $code -eq 2 ] && [ -z "$miss" ] && [ ! -s out ]; then
		ok "$name: exit 2, $(head -1 err)"
	else
		not_ok "$name: exit $code, missing$miss: $(cat err)"
	fi
}
refused_osv "advisory with a GIT range" \
	'{"id":"X","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"GIT","events":[{"introduced":"0"}]}]}]}' \
	'affected[0].ranges[0].type' GIT
refused_osv "advisory with an ecosystem of unknown order" \
	'{"id":"X","affected":[{"package":{"ecosystem":"PyPI","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}' \
	'affected[0].package.ecosystem' PyPI
refused_osv "advisory with an event version out of its order" \
	'{"id":"X","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0"}]}]}]}' \
	'affected[0].ranges[0].events[0]' 'not a SemVer version'
refused_osv "advisory that is not JSON" '{"id":"X",' adv.json
refused_osv "advisory without affected packages" '{"id":"X","affected":[]}' affected
cp other.json "ws/sboms/$hb.json"
"$BUNDLE" sbom import ws --ledger "$L" >/dev/null
"$BUNDLE" reports affected --ledger "$L" --component zlib --versions '<2' >out 2>err
code=$?
check "--versions on a component without a purl: the error says --ecosystem names the order" \
	eval '[ $code -eq 2 ] && grep -q -- "--ecosystem names the order" err'
"$BUNDLE" reports affected --ledger "$L" --component zlib --versions '<2' --ecosystem Debian --json >out 2>err
check "... with --ecosystem Debian it runs: the one device, without reports, unknown" \
	eval '[ "$(jq -c "[.[] | [.device_id, .status, .reason]]" out)" = "[[\"VIN-1\",\"unknown\",\"no report\"]]" ]'
"$BUNDLE" reports affected --ledger "$L" --component zlib --versions '<2' --ecosystem PyPI >out 2>err
code=$?
check "--ecosystem PyPI: no known order, the error names it" eval '[ $code -eq 2 ] && grep -q PyPI err'
finish
