#!/usr/bin/env bash
# Small CLI promises (issue 13, item 11):
#   - `uptane-bundle canonical --help` prints its usage and exits 0, like every other command;
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
