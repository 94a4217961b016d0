#!/usr/bin/env bash
# Small CLI promises (issue 13, item 11):
#   - `uptane-bundle canonical --help` prints its usage and exits 0, like every other command
#     and subcommand of both tools (devices add --help, install --help);
#   - --version on both tools: version, build type, static or shared, library versions (the
#     bundler's SQLite and running OpenSSL, the installer's libusb);
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
# Every command and subcommand: --help prints the usage on stdout and exits 0.
for c in devices "devices add" "devices import" "devices list" reports "reports ingest" \
	"reports show" "key generate" "target add"; do
	read -ra words <<<"$c"
	"$BUNDLE" "${words[@]}" --help >help 2>help.err
	code=$?
	check "uptane-bundle $c --help: exit 0 (got $code), usage on stdout" \
		bash -c "[ $code = 0 ] && grep -q '^usage: uptane-bundle ${words[0]}' help"
done
for c in install status confirm scan watch media; do
	"$INSTALL" "$c" --help >help 2>help.err
	code=$?
	check "uptane-install $c --help: exit 0 (got $code), usage on stdout" \
		bash -c "[ $code = 0 ] && grep -q '^usage: uptane-install' help"
done

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
check "uptane-bundle --version: the running OpenSSL and SQLite" \
	bash -c "'$BUNDLE' --version | grep -qE '^libraries: .*OpenSSL [0-9.]+[a-z]* [0-9]+ [A-Z][a-z]+ [0-9]{4}, .*, SQLite [0-9]+\.[0-9]+'"
check "uptane-install --version: libusb (dlopen'ed by watch)" \
	bash -c "'$INSTALL' --version | grep -qE '^libraries: .*, libusb ([0-9]+\.[0-9]+\.[0-9]+|: no )'"

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
