#!/usr/bin/env bash
# Small CLI promises:
#   - `uptane-bundle canonical --help` prints its usage and exits 0, like every other command
#     and subcommand of both tools (devices add --help, install --help);
#   - --version on both tools: version, build type, static or shared, library versions (the
#     bundler's SQLite and running OpenSSL, the installer's libusb);
#   - `uptane-install install /nonexistent` says there is no update, without first saying
#     "Found update" (nor a "found" event) but that the path does not exist: exit 3, no-bundle;
#   - two bundles of the same Director version on a stick: the one not used is explained;
#   - a dry run says it checks the images and writes nothing (not "writing its N images");
#   - an old stick: the bundle is older than the one the device runs (class rollback).
source "$(dirname "$0")/lib.bash"
setup bundle install
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
check "install /nonexistent: the text says the path does not exist" \
	grep -qF "$tmp/nonexistent.uptane does not exist: no update to install." "$d/text"

# Two bundles of the same Director version on one stick (a fleet and a device bundle of a new
# workspace, both version 1): the one not used is explained in plain words.
mkimage m1.bin 20000 m1
"$BUNDLE" target add ws m1.bin --hardware-id board-a --release-counter 1 >/dev/null
"$BUNDLE" assign ws --device VIN-N --ecu main=m1.bin >/dev/null
"$BUNDLE" assign ws --hardware-id board-a=m1.bin >/dev/null
"$BUNDLE" create ws -o dev1.uptane --device VIN-N >/dev/null || not_ok "create device bundle"
"$BUNDLE" create ws -o fleet1.uptane --fleet f1 >/dev/null || not_ok "create fleet bundle"
stick=$tmp/stick && mkdir -p "$stick" "$d/targets"
cp dev1.uptane "$stick/a-device.uptane" && cp fleet1.uptane "$stick/b-fleet.uptane"
cp -a "$d" "$tmp/dev-clean"
(cd "$d" && "$INSTALL" --config device.json install "$stick") >"$d/text" 2>&1
code=$?
check "two bundles of Director version 1: exit 0 (got $code), a-device.uptane installed" \
	bash -c "[ $code = 0 ] && cmp -s '$d/targets/main.bin' m1.bin"
check "  ... the other one: valid, used instead, the same version, first by name" \
	grep -qF "Not using $stick/b-fleet.uptane: valid, but a-device.uptane was used instead (the same Director version, 1, and first by name; one bundle per insertion)" "$d/text"
check "  ... no 'is not the highest'" bash -c "! grep -q 'is not the highest' '$d/text'"

# A dry run says what it does: it reads and checks the images, writes nothing.
d2=$tmp/dev-dry && cp -a "$tmp/dev-clean" "$d2"
(cd "$d2" && "$INSTALL" --config device.json --dry-run install "$tmp/dev1.uptane") >"$d2/text" 2>&1
code=$?
check "dry run: exit 0 (got $code), says it reads the images against the signed hashes, writing nothing" \
	bash -c "[ $code = 0 ] && grep -qF 'dry run: reading its 1 image (0.0 MB) for this device against the signed hashes, writing nothing.' '$d2/text'"
check "  ... and not that it is writing them" bash -c "! grep -q 'writing its' '$d2/text'"
check "  ... and nothing written" [ ! -e "$d2/targets/main.bin" ]

# An old stick on a device that runs a newer bundle: rollback, said plainly.
mkimage m2.bin 20000 m2
"$BUNDLE" target add ws m2.bin --hardware-id board-a --release-counter 2 >/dev/null
"$BUNDLE" assign ws --device VIN-N --ecu main=m2.bin >/dev/null
"$BUNDLE" create ws -o dev2.uptane --device VIN-N >/dev/null || not_ok "create device bundle 2"
code=$(run_install "$d/o2" "$d" install "$tmp/dev2.uptane")
check "device bundle 2 installed (exit $code)" bash -c "[ '$code' = 0 ] && cmp -s '$d/targets/main.bin' m2.bin"
(cd "$d" && "$INSTALL" --config device.json install "$tmp/dev1.uptane") >"$d/text" 2>&1
code=$?
check "the old stick again: exit 4 (got $code)" [ $code = 4 ]
check "  ... says the bundle is older than the one the device runs" \
	grep -qE 'rollback: version 1 is older than the trusted version 2: this bundle is older than the one the device runs' "$d/text"
check "  ... and never 'replayed'" bash -c "! grep -q 'replayed' '$d/text'"
code=$(run_install "$d/o3" "$d" install "$tmp/dev1.uptane")
expect_result "  ... the rejection class stays rollback" "$d/o3" "$code" 4 rejected rollback
finish
