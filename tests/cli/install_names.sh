#!/usr/bin/env bash
# Bundle names on a stick are matched without regard to case: FAT tools
# and DOS-era habits write VIN1001.UPTANE, and it is the same bundle as vin1001.uptane; split
# volumes too (VIN1001.UPTANE.000, .001, ...).
source "$(dirname "$0")/lib.bash"
setup bundle install
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage m1.bin 30000 m1
"$BUNDLE" target add ws m1.bin --hardware-id board-a --release-counter 1 >/dev/null
"$BUNDLE" assign ws --device VIN1001 --ecu main=m1.bin >/dev/null
"$BUNDLE" create ws -o b.uptane --device VIN1001 >/dev/null

for name in VIN1001.UPTANE Vin1001.Uptane; do
	d=$tmp/dev-$name stick=$tmp/stick-$name
	device_json "$d" VIN1001 main "$(file_ecu main board-a targets/main.bin)"
	mkdir -p "$d/targets" "$stick"
	cp b.uptane "$stick/$name"
	code=$(run_install "$d/out" "$d" install "$stick")
	check "$name on the stick: found and installed (exit $code)" \
		bash -c "[ '$code' = 0 ] && cmp -s '$d/targets/main.bin' m1.bin"
	check "$name: the found event names it" grep -q "$name" "$d/out"
done
# Split volumes in upper case: VIN1001.UPTANE.000 is found, and its .001, .002 are read.
mkimage big.bin 2600000 big
"$BUNDLE" target add ws big.bin --hardware-id board-a --release-counter 2 >/dev/null
"$BUNDLE" assign ws --device VIN1001 --ecu main=big.bin >/dev/null
"$BUNDLE" create ws -o s.uptane --device VIN1001 --split-size 1M --level 1 >/dev/null
d=$tmp/dev-split stick=$tmp/stick-split
device_json "$d" VIN1001 main "$(file_ecu main board-a targets/main.bin)"
mkdir -p "$d/targets" "$stick"
for v in s.uptane.[0-9][0-9][0-9]; do cp "$v" "$stick/VIN1001.UPTANE.${v##*.}"; done
code=$(run_install "$d/out" "$d" install "$stick")
check "VIN1001.UPTANE.000, .001, .002: found and installed (exit $code)" \
	bash -c "[ '$code' = 0 ] && [ -e '$stick/VIN1001.UPTANE.002' ] && cmp -s '$d/targets/main.bin' big.bin"
# Other names stay ignored: not a bundle suffix, whatever the case.
d=$tmp/dev-other stick=$tmp/stick-other
device_json "$d" VIN1001 main "$(file_ecu main board-a targets/main.bin)"
mkdir -p "$d/targets" "$stick"
cp b.uptane "$stick/VIN1001.UPTANE.BAK"
code=$(run_install "$d/out" "$d" install "$stick")
check "VIN1001.UPTANE.BAK is not a bundle: no-bundle (exit $code)" \
	bash -c "[ '$code' = 3 ] && [ \"\$(tail -1 '$d/out' | grep -o '\"status\":\"[a-z-]*\"')\" = '\"status\":\"no-bundle\"' ]"
finish
