#!/usr/bin/env bash
# Small CLI promises (issue 13, item 11):
#   - `uptane-bundle canonical --help` prints its usage and exits 0, like every other command;
#   - --version on both tools: version, build type, static or shared, library versions;
#   - `uptane-install install /nonexistent` says there is no update, without first saying
#     "Found update" (nor a "found" event): exit 3, no-bundle.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/bundle_lib.bash"
source "$(dirname "$0")/install_lib.bash"
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

"$BUNDLE" canonical --help >help 2>help.err
code=$?
check "canonical --help: exit 0 (got $code)" test "$code" = 0
check "canonical --help: usage on stdout" grep -q '^usage: uptane-bundle canonical' help

variant=$(basename "$UPT_BUILD")
for t in "$BUNDLE" "$INSTALL"; do
	n=$(basename "$t")
	"$t" --version >ver 2>&1
	code=$?
	check "$n --version: exit 0 (got $code)" test "$code" = 0
	check "$n --version: names itself and a version" grep -qE "^$n [0-9]+\.[0-9]+" ver
	check "$n --version: build type $variant" grep -q "^build: $variant, " ver
	check "$n --version: library versions" \
		grep -qE '^libraries: libarchive [0-9].*OpenSSL [0-9].*zstd [0-9].*libsodium [0-9].*jansson [0-9]' ver
done
check "uptane-install --version: static (INSTALLER_STATIC=1, the default)" \
	bash -c "'$INSTALL' --version | grep -q '^build: [a-z]*, static'"
check "uptane-bundle --version: shared" bash -c "'$BUNDLE' --version | grep -q '^build: [a-z]*, shared'"

ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
d=$tmp/dev
device_json "$d" VIN-N main "$(file_ecu main board-a targets/main.bin)"
code=$(run_install "$d/out" "$d" install "$tmp/nonexistent.uptane")
check "install /nonexistent: exit 3 (got $code), no-bundle" \
	bash -c "[ '$code' = 3 ] && grep -q '\"status\":\"no-bundle\"' '$d/out'"
check "install /nonexistent: no found event" bash -c "! grep -q '\"event\":\"found\"' '$d/out'"
(cd "$d" && "$INSTALL" --config device.json install "$tmp/nonexistent.uptane") >"$d/text" 2>&1
check "install /nonexistent: the text never says Found update" bash -c "! grep -q 'Found update' '$d/text'"
finish
