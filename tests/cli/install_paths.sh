#!/usr/bin/env bash
# The paths a configuration names, checked before anything is verified or written:
# - a `file` ECU whose install.path is a symbolic link (or exists and is not a regular file)
#   is a configuration error (exit 2): the link and what it points at stay as they are, no
#   staging file, no report, trusted/ unchanged. Links among the directories above the file
#   are followed (only the last component is checked).
# - `ab` slots are never created (a missing slot is a missing device), never a FIFO, and two
#   names of the same storage are refused: exit 5, nothing written, nothing activated.
# - programs (activate, confirm, command) run as root: an existing one that every user can
#   write, that is not a regular file or not executable is a configuration error; a missing
#   one fails the install before the first activation (exit 5, not a partial install).
source "$(dirname "$0")/lib.bash"
setup bundle install
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage m1.bin 40000 m1
mkimage s1.bin 50000 s1
mkimage fw1.bin 60000 f1
B() { "$BUNDLE" "$@" >/dev/null; }
B target add ws m1.bin --hardware-id board-a --release-counter 1
B target add ws s1.bin --hardware-id sensor-y --release-counter 1
B target add ws fw1.bin --hardware-id mcu-x --release-counter 1
B assign ws --device VIN-F --ecu main=m1.bin
B create ws -o f1.uptane --device VIN-F
B assign ws --device VIN-P --ecu main=m1.bin sensor=s1.bin
B create ws -o p1.uptane --device VIN-P
B assign ws --device VIN-A --ecu mcu=fw1.bin
B create ws -o a1.uptane --device VIN-A

# expect_config NAME OUT CODE TEXT: exit 2, failed/config, TEXT in the result line
expect_config() {
	local name=$1 out=$2 code=$3 text=$4
	if [ "$code" = 2 ] && [ "$(result "$out" status)" = failed ] &&
		[ "$(result "$out" reason)" = config ] && grep -qF -- "$text" "$out"; then
		ok "$name (exit 2, config)"
	else
		not_ok "$name: exit $code"
		sed 's/^/#   /' "$out" "$out.err" | tail -4
	fi
}
reports() { ls "$1/state/reports" 2>/dev/null | wc -l; }

# ---- file: install.path is a symbolic link ----
fd=$tmp/fdev
mkdir -p "$fd/targets" "$fd/real"
echo "factory main v1" >"$fd/real/main-v1.bin"
echo "placeholder" >"$fd/targets/main.bin"
device_json "$fd" VIN-F main "$(file_ecu main board-a targets/main.bin)"
code=$(run_install f0 "$fd" status)
check "file: status with a regular target: exit 0 (state initialised)" [ "$code" = 0 ]
rm "$fd/targets/main.bin"
ln -s ../real/main-v1.bin "$fd/targets/main.bin"
snap=$(cd "$fd" && find state/trusted -type f -print0 | sort -z | xargs -0 sha256sum)
nrep=$(reports "$fd")
code=$(run_install f1 "$fd" install "$tmp/f1.uptane")
expect_config "file: install.path is a symbolic link: refused" f1 "$code" \
	"ecus[0] (main): install.path $fd/targets/main.bin is a symbolic link; point it at the real file"
check "symlink: still the same link" [ -L "$fd/targets/main.bin" -a "$(readlink "$fd/targets/main.bin")" = ../real/main-v1.bin ]
check "symlink: what it points at is unchanged" grep -qx "factory main v1" "$fd/real/main-v1.bin"
check "symlink: no staging file in either directory" [ -z "$(ls -A "$fd/targets" "$fd/real" | grep '^\.')" ]
check "symlink: trusted/ unchanged, no report (nothing was verified)" \
	[ "$snap" = "$(cd "$fd" && find state/trusted -type f -print0 | sort -z | xargs -0 sha256sum)" -a "$(reports "$fd")" = "$nrep" ]
code=$(run_install f1s "$fd" status)
expect_config "symlink: status says so too" f1s "$code" "is a symbolic link; point it at the real file"
# a dangling link: refused as well, nothing created where it points
rm "$fd/targets/main.bin"
ln -s ../real/nothing.bin "$fd/targets/main.bin"
code=$(run_install f2 "$fd" install "$tmp/f1.uptane")
expect_config "file: a dangling link: refused" f2 "$code" "is a symbolic link"
check "dangling link: nothing created where it points" [ ! -e "$fd/real/nothing.bin" -a -L "$fd/targets/main.bin" ]
# a directory and a FIFO where the file should be
rm "$fd/targets/main.bin"
mkdir "$fd/targets/main.bin"
code=$(run_install f3 "$fd" install "$tmp/f1.uptane")
expect_config "file: a directory at install.path: refused" f3 "$code" "exists and is not a regular file"
rmdir "$fd/targets/main.bin"
mkfifo "$fd/targets/main.bin"
code=$(run_install f4 "$fd" install "$tmp/f1.uptane")
expect_config "file: a FIFO at install.path: refused" f4 "$code" "exists and is not a regular file"
rm "$fd/targets/main.bin"
# the real file: installs; its mode is kept
cp "$fd/real/main-v1.bin" "$fd/targets/main.bin"
chmod 640 "$fd/targets/main.bin"
code=$(run_install f5 "$fd" install "$tmp/f1.uptane")
expect_result "file: pointed at the real file: installs" f5 "$code" 0 installed null
check "file: the new image, mode kept (640)" bash -c "cmp -s '$fd/targets/main.bin' m1.bin && [ \$(stat -c %a '$fd/targets/main.bin') = 640 ]"
# a link in a directory above the file is followed (only the last component is checked)
ld=$tmp/ldev
mkdir -p "$ld/realdir"
ln -s realdir "$ld/targets"
echo "factory" >"$ld/realdir/main.bin"
device_json "$ld" VIN-F main "$(file_ecu main board-a targets/main.bin)"
code=$(run_install l1 "$ld" install "$tmp/f1.uptane")
expect_result "file: a link in a directory above the target is followed" l1 "$code" 0 installed null
check "parent link: the file in the real directory got the image, the link stays" \
	bash -c "cmp -s '$ld/realdir/main.bin' m1.bin && [ -L '$ld/targets' ] && [ -z \"\$(ls -A '$ld/realdir' | grep '^\.')\" ]"

# ---- ab slots ----
ad=$tmp/adev
mkdir -p "$ad/slots"
printf '#!/bin/sh\necho "activate $1" >>"$(dirname "$0")/calls.log"\n' >"$ad/activate.sh"
chmod 755 "$ad/activate.sh"
abj='{"serial":"mcu","hardware_id":"mcu-x","install":{"type":"ab","slots":["slots/a","slots/b"],"activate":["./activate.sh","{slot}"]}}'
device_json "$ad" VIN-A mcu "$abj"
echo "factory A" >"$ad/slots/a"
code=$(run_install a1 "$ad" install "$tmp/a1.uptane")
expect_result "ab: the inactive slot does not exist: install failed" a1 "$code" 5 failed install
check "ab: missing slot: the detail says so" grep -q 'mcu: slot 1 (.*slots/b): No such file or directory' a1
check "ab: missing slot: not created, nothing activated" [ ! -e "$ad/slots/b" -a ! -e "$ad/calls.log" ]
ln -s a "$ad/slots/b"
code=$(run_install a2 "$ad" install "$tmp/a1.uptane")
expect_result "ab: slot B is a link to slot A: install failed" a2 "$code" 5 failed install
check "ab: same storage: the detail says so" grep -q 'are the same storage; writing the inactive slot would overwrite the running one' a2
check "ab: same storage: the running slot untouched, nothing activated" bash -c "grep -qx 'factory A' '$ad/slots/a' && [ ! -e '$ad/calls.log' ]"
rm "$ad/slots/b"
ln "$ad/slots/a" "$ad/slots/b"
code=$(run_install a3 "$ad" install "$tmp/a1.uptane")
expect_result "ab: slot B is a hard link of slot A: install failed" a3 "$code" 5 failed install
check "ab: hard link: the running slot untouched" grep -qx 'factory A' "$ad/slots/a"
rm "$ad/slots/b"
mkfifo "$ad/slots/b"
code=$(cd "$ad" && timeout 60 "$INSTALL" --config device.json --json install "$tmp/a1.uptane" >"$tmp/a4" 2>"$tmp/a4.err"; echo $?)
expect_result "ab: slot B is a FIFO: install failed, without waiting for a reader" a4 "$code" 5 failed install
check "ab: FIFO: the detail says what the slot is" grep -q 'is neither a block device nor a file' a4
rm "$ad/slots/b"
echo "factory B" >"$ad/slots/b"
code=$(run_install a5 "$ad" install "$tmp/a1.uptane")
expect_result "ab: two real slots: installs" a5 "$code" 0 installed null
check "ab: slot B holds the image, activate ran once" bash -c "cmp -s '$ad/slots/b' fw1.bin && [ \"\$(cat '$ad/calls.log')\" = 'activate 1' ]"

# ---- programs ----
pd=$tmp/pdev
mkdir -p "$pd/targets" "$pd/slots"
echo "factory main" >"$pd/targets/main.bin"
printf '#!/bin/sh\ncp "$1" "$(dirname "$0")/targets/sensor.fw"\n' >"$pd/flash.sh"
chmod 755 "$pd/flash.sh"
ex='{"serial":"sensor","hardware_id":"sensor-y","install":{"type":"exec","command":["./flash.sh","{image}"]}}'
device_json "$pd" VIN-P main "$(file_ecu main board-a targets/main.bin)" "$ex"
chmod 777 "$pd/flash.sh"
code=$(run_install p1 "$pd" install "$tmp/p1.uptane")
expect_config "exec: a program every user can write: refused" p1 "$code" \
	"ecus[1] (sensor): program $pd/./flash.sh is writable by every user"
check "world-writable: nothing installed" grep -qx "factory main" "$pd/targets/main.bin"
chmod 644 "$pd/flash.sh"
code=$(run_install p2 "$pd" install "$tmp/p1.uptane")
expect_config "exec: a program that is not executable: refused" p2 "$code" "flash.sh is not executable"
mv "$pd/flash.sh" "$pd/flash.real"
mkdir "$pd/flash.sh"
code=$(run_install p3 "$pd" install "$tmp/p1.uptane")
expect_config "exec: a directory as the program: refused" p3 "$code" "flash.sh is not a regular file"
rmdir "$pd/flash.sh"
# missing: status still works; install fails before the file ECU is activated (not exit 6)
code=$(run_install p4 "$pd" status)
check "exec: a missing program: status still works (exit 0)" [ "$code" = 0 ]
code=$(run_install p5 "$pd" install "$tmp/p1.uptane")
expect_result "exec: a missing program: install failed before any activation" p5 "$code" 5 failed install
check "missing program: the detail names it" grep -q "sensor: program $pd/./flash.sh: No such file or directory" p5
check "missing program: the file ECU was not activated, no staging left" \
	bash -c "grep -qx 'factory main' '$pd/targets/main.bin' && [ -z \"\$(ls -A '$pd/targets' | grep '^\.')\" ] && [ -z \"\$(ls -A '$pd/state/staging')\" ]"
chmod 755 "$pd/flash.real"
ln -s flash.real "$pd/flash.sh"
code=$(run_install p6 "$pd" install "$tmp/p1.uptane")
expect_result "exec: a program reached through a link (followed): installs" p6 "$code" 0 installed null
check "exec: both ECUs got their images" bash -c "cmp -s '$pd/targets/main.bin' m1.bin && cmp -s '$pd/targets/sensor.fw' s1.bin"
# ab: activate and confirm programs get the same checks
bd=$tmp/bdev
mkdir -p "$bd/slots"
echo "factory A" >"$bd/slots/a"
echo "factory B" >"$bd/slots/b"
printf '#!/bin/sh\nexit 0\n' >"$bd/ok.sh"
chmod 755 "$bd/ok.sh"
abk() { echo "{\"serial\":\"mcu\",\"hardware_id\":\"mcu-x\",\"install\":{\"type\":\"ab\",\"slots\":[\"slots/a\",\"slots/b\"],\"activate\":[\"$1\"],\"confirm\":[\"$2\"]}}"; }
cp "$bd/ok.sh" "$bd/ww.sh"
chmod 777 "$bd/ww.sh"
device_json "$bd" VIN-A mcu "$(abk ./ww.sh ./ok.sh)"
code=$(run_install b1 "$bd" status)
expect_config "ab: a world-writable activate program: refused" b1 "$code" "ww.sh is writable by every user"
device_json "$bd" VIN-A mcu "$(abk ./ok.sh ./ww.sh)"
code=$(run_install b2 "$bd" status)
expect_config "ab: a world-writable confirm program: refused" b2 "$code" "ww.sh is writable by every user"
device_json "$bd" VIN-A mcu "$(abk ./ok.sh ./missing.sh)"
code=$(run_install b3 "$bd" install "$tmp/a1.uptane")
expect_result "ab: a missing confirm program: install failed before the slot is written" b3 "$code" 5 failed install
check "ab: missing confirm: slot B untouched" grep -qx "factory B" "$bd/slots/b"
device_json "$bd" VIN-A mcu "$(abk ./missing.sh ./ok.sh)"
code=$(run_install b4 "$bd" install "$tmp/a1.uptane")
expect_result "ab: a missing activate program: install failed before the slot is written" b4 "$code" 5 failed install
check "ab: missing activate: slot B untouched" grep -qx "factory B" "$bd/slots/b"
finish
