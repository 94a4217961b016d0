#!/usr/bin/env bash
# A/B with real bootloader tools: the shipped samples (samples/ab-uboot, samples/ab-grub,
# samples/ab-boot-check) as an `ab` ECU's activate and confirm, on a file-backed U-Boot
# environment (libubootenv's fw_printenv/fw_setenv with its own fw_env.config) and on a GRUB
# environment block (grub-editenv). For each: install b1 -> the environment says slot B is to
# be tried; the boot check before any reboot does nothing; a simulated good boot -> the boot
# check confirms (status: nothing pending, slot 1 active; report: confirmed); install b2 ->
# slot A on trial; a boot that never confirms, then the next boot falls back -> the boot check
# runs confirm --failed (status: fw1 runs; report: fell-back with the OLD image fw1.bin). The
# environment is read with the real tool at every step.
#
# The bootloaders themselves cannot run here: uboot_boot and grub_boot below apply the rules
# that samples/ab-uboot/boot.cmd and samples/ab-grub/grub.cfg describe (same variables, same
# order, written back with the real tools), and write the kernel command line those would pass.
source "$(dirname "$0")/lib.bash"
setup bundle install
for t in fw_printenv fw_setenv grub-editenv jq; do
	command -v "$t" >/dev/null || { skip "$t missing (make deps: libubootenv-tool grub-common jq)"; finish; }
done
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
B() { "$BUNDLE" "$@" >/dev/null; }
mkimage fw1.bin 300000 f1
mkimage fw2.bin 310000 f2
B target add ws fw1.bin --hardware-id board-a --release-counter 1
B target add ws fw2.bin --hardware-id board-a --release-counter 2
B assign ws --device VIN-1 --ecu main=fw1.bin
B create ws -o b1.uptane --device VIN-1
B assign ws --device VIN-1 --ecu main=fw2.bin
B create ws -o b2.uptane --device VIN-1
UBOOT=$UPT_TOP/samples/ab-uboot/uptane-ab-uboot
GRUB=$UPT_TOP/samples/ab-grub/uptane-ab-grub
CHECK=$UPT_TOP/samples/ab-boot-check/uptane-boot-check

# new_device DIR ACTIVATE_JSON CONFIRM_JSON: an A/B ECU main with slots DIR/slots/{a,b}
new_device() {
	mkdir -p "$1/slots"
	echo "factory A" >"$1/slots/a"
	echo "factory B" >"$1/slots/b"
	device_json "$1" VIN-1 main "{\"serial\":\"main\",\"hardware_id\":\"board-a\",\"install\":{\"type\":\"ab\",\"slots\":[\"slots/a\",\"slots/b\"],\"activate\":$2,\"confirm\":$3}}"
}
# st DIR EXPR: a Python expression over the ECU main in `status --json` (e)
st() {
	(cd "$1" && "$INSTALL" --config device.json --json status) | tail -1 |
		$PY -c 'import json,sys; e={x["serial"]: x for x in json.load(sys.stdin)["ecus"]}["main"]; print(eval(sys.argv[1]))' "$2"
}
# report_says DIR N STATE TARGET STATUS: report N says the ECU main is in STATE running TARGET
report_says() {
	$PY - "$1/state/reports/$2.json" "$3" "$4" "$5" <<'PY'
import hashlib, json, sys
path, state, target, status = sys.argv[1:]
s = json.load(open(path))["signed"]
e = {x["signed"]["ecu_serial"]: x["signed"] for x in s["ecu_reports"]}["main"]
img = e["installed_image"]
assert e["state"] == state, (e["state"], state)
assert img["filepath"] == target, (img["filepath"], target)
assert img["fileinfo"]["hashes"]["sha256"] == hashlib.sha256(open(target, "rb").read()).hexdigest()
assert s["result"]["status"] == status, s["result"]
PY
}
# boot_check DIR OUT [VAR=VALUE..]: the shipped boot check against DIR's device, output in OUT
boot_check() {
	local dir=$1 out=$2; shift 2
	(cd "$dir" && env UPTANE_INSTALL="$INSTALL" UPTANE_CONFIG=device.json "$@" "$CHECK") >"$out" 2>&1
}
# says DIR OUT PATTERN [VAR=VALUE..]: the boot check exits 0 and its output matches PATTERN
says() {
	local dir=$1 out=$2 pat=$3; shift 3
	boot_check "$dir" "$out" "$@" && grep -q -- "$pat" "$out" || { sed 's/^/#   /' "$out"; return 1; }
}
twice() { "$@" && "$@"; }
quiet() { "$@" 2>/dev/null; }
# has FILE LINE..: FILE holds every LINE (a line of the environment, exactly)
has() {
	local f=$1 l; shift
	for l in "$@"; do grep -qxF -- "$l" "$f" || { echo "# $f lacks $l:"; sed 's/^/#   /' "$f"; return 1; }; done
}

# ---- U-Boot: libubootenv on a file-backed environment, two copies (redundant) ----
u=$tmp/uboot
mkdir -p "$u"
head -c 16384 /dev/zero >"$u/uboot.env"
head -c 16384 /dev/zero >"$u/uboot-redund.env"
printf '%s 0x0 0x4000\n%s 0x0 0x4000\n' "$u/uboot.env" "$u/uboot-redund.env" >"$u/fw_env.config"
printf 'bootdelay=0\n' >"$u/initial-env"
uenv() { fw_printenv -c "$u/fw_env.config" >"$u/env.txt" 2>"$u/env.err"; }
# uboot_boot: one power-on, by the rules of samples/ab-uboot/boot.cmd
uboot_boot() {
	local env slot count
	env=$(fw_printenv -c "$u/fw_env.config") || return 1
	get() { sed -n "s/^$1=//p" <<<"$env"; }
	slot=$(get boot_slot)
	[ -n "$slot" ] || slot=A
	if [ "$(get upgrade_available)" = 1 ]; then
		count=$(($(get bootcount) + 1))
		if [ "$count" -gt "$(get bootlimit)" ]; then
			slot=$(get fallback_slot)
			fw_setenv -c "$u/fw_env.config" boot_slot "$slot" upgrade_available 0 bootcount 0 || return 1
		else
			fw_setenv -c "$u/fw_env.config" bootcount "$count" || return 1
		fi
	fi
	echo "console=ttyS0 root=/dev/mmcblk0p$([ "$slot" = B ] && echo 3 || echo 2) rootwait ro uptane.slot=$slot" >"$u/cmdline"
}
check "u-boot: factory environment (fw_setenv with a default environment)" \
	quiet fw_setenv -c "$u/fw_env.config" -f "$u/initial-env" boot_slot A
uenv
check "u-boot: fw_printenv reads it back" has "$u/env.txt" boot_slot=A bootdelay=0
ujson() { echo "[\"$UBOOT\",\"-c\",\"$u/fw_env.config\",\"$1\",\"{slot}\"]"; }
new_device "$u/dev" "$(ujson activate)" "$(ujson confirm)"
UCHECK=("UPTANE_AB=$UBOOT -c $u/fw_env.config" "UPTANE_SLOT_SOURCE=cmdline" "UPTANE_CMDLINE=$u/cmdline")
check "u-boot: first boot of slot A" uboot_boot
check "u-boot: boot check with nothing pending: exit 0, nothing to do" \
	says "$u/dev" "$u/c0" 'nothing pending' "${UCHECK[@]}"

check "u-boot: boot check with a broken configuration: exit 1, says so" bash -c "
	(cd '$u/dev' && UPTANE_INSTALL='$INSTALL' UPTANE_CONFIG=missing.json UPTANE_AB='$UBOOT' '$CHECK') >'$u/cbad' 2>&1
	[ \$? = 1 ] && grep -q 'uptane-install status failed' '$u/cbad'"
check "u-boot: boot check without UPTANE_AB: exit 1" bash -c "
	(cd '$u/dev' && UPTANE_INSTALL='$INSTALL' UPTANE_CONFIG=device.json '$CHECK') >/dev/null 2>&1; [ \$? = 1 ]"
code=$(run_install "$u/o1" "$u/dev" install "$tmp/b1.uptane")
expect_result "u-boot: install b1" "$u/o1" "$code" 0 installed null
check "u-boot: b1 written to slot B" cmp -s "$u/dev/slots/b" fw1.bin
uenv
check "u-boot: activate: slot B to be tried once (boot_slot=B fallback_slot=A upgrade_available=1 bootcount=0 bootlimit=1)" \
	has "$u/env.txt" boot_slot=B fallback_slot=A upgrade_available=1 bootcount=0 bootlimit=1
check "u-boot: status: fw1.bin pending in slot 1, slot 0 active" \
	[ "$(st "$u/dev" 'e["pending"]["target"], e["pending_slot"], e["active_slot"]')" = "('fw1.bin', 1, 0)" ]
check "u-boot: the boot check before a reboot: waits (untried)" \
	says "$u/dev" "$u/c1" 'waits in slot 1 for a reboot' "${UCHECK[@]}"
check "u-boot: ... still pending" [ "$(st "$u/dev" 'e["pending_slot"]')" = 1 ]
check "u-boot: reboot: the bootloader boots slot B (bootcount 1)" uboot_boot
uenv
check "u-boot: env after the trial boot: boot_slot=B bootcount=1 upgrade_available=1" \
	has "$u/env.txt" boot_slot=B bootcount=1 upgrade_available=1
check "u-boot: the kernel command line names slot B" grep -q 'uptane.slot=B' "$u/cmdline"
check "u-boot: booted: 1 from the command line and from the environment (UPTANE_SLOT_SOURCE=env)" \
	[ "$(UPTANE_CMDLINE=$u/cmdline "$UBOOT" -c "$u/fw_env.config" booted)/$(UPTANE_SLOT_SOURCE=env "$UBOOT" -c "$u/fw_env.config" booted)" = 1/1 ]
check "u-boot: the confirm program refuses the slot that does not boot" \
	bash -c "! '$UBOOT' -c '$u/fw_env.config' confirm 0 2>/dev/null"
check "u-boot: boot check: slot B booted: confirm" \
	says "$u/dev" "$u/c2" 'slot 1 booted: confirming fw1.bin' "${UCHECK[@]}"
uenv
check "u-boot: confirm cleared the trial: upgrade_available=0 bootcount=0 boot_slot=B" \
	has "$u/env.txt" boot_slot=B upgrade_available=0 bootcount=0
check "u-boot: status: nothing pending, fw1.bin runs in slot 1" \
	[ "$(st "$u/dev" 'e["pending"], e["installed"]["target"], e["active_slot"]')" = "(None, 'fw1.bin', 1)" ]
check "u-boot: report 2 verifies" report_ok "$u/dev/state/reports/2.json" "$u/dev/device.pub"
check "u-boot: report 2: confirmed, fw1.bin" report_says "$u/dev" 2 confirmed fw1.bin confirmed
check "u-boot: later boots stay on B without counting" twice uboot_boot
uenv
check "u-boot: ... boot_slot=B bootcount=0" has "$u/env.txt" boot_slot=B bootcount=0 upgrade_available=0

code=$(run_install "$u/o3" "$u/dev" install "$tmp/b2.uptane")
expect_result "u-boot: install b2" "$u/o3" "$code" 0 installed null
check "u-boot: b2 written to slot A, B untouched" bash -c "cmp -s '$u/dev/slots/a' fw2.bin && cmp -s '$u/dev/slots/b' fw1.bin"
uenv
check "u-boot: activate: slot A to be tried once, B to fall back to" \
	has "$u/env.txt" boot_slot=A fallback_slot=B upgrade_available=1 bootcount=0 bootlimit=1
check "u-boot: reboot: slot A on trial (bootcount 1)" uboot_boot
check "u-boot: ... the kernel runs slot A" grep -q 'uptane.slot=A' "$u/cmdline"
# the new system hangs before the boot check; the watchdog resets the board
check "u-boot: reboot without a confirm: bootcount 2 > bootlimit 1, back to slot B" uboot_boot
uenv
check "u-boot: env after the fallback: boot_slot=B upgrade_available=0 bootcount=0" \
	has "$u/env.txt" boot_slot=B upgrade_available=0 bootcount=0
check "u-boot: ... the kernel runs slot B" grep -q 'uptane.slot=B' "$u/cmdline"
check "u-boot: booted after the fallback: 1, from the command line and from the environment" \
	[ "$(UPTANE_CMDLINE=$u/cmdline "$UBOOT" -c "$u/fw_env.config" booted)/$(UPTANE_SLOT_SOURCE=env "$UBOOT" -c "$u/fw_env.config" booted)" = 1/1 ]
check "u-boot: booted: another parameter name (UPTANE_SLOT_KEY), a missing one is an error" bash -c "
	echo 'root=/dev/mmcblk0p3 rauc.slot=b' >'$u/cmdline2' &&
	[ \"\$(UPTANE_CMDLINE='$u/cmdline2' UPTANE_SLOT_KEY=rauc.slot '$UBOOT' -c '$u/fw_env.config' booted)\" = 1 ] &&
	! UPTANE_CMDLINE='$u/cmdline2' '$UBOOT' -c '$u/fw_env.config' booted 2>/dev/null"
check "u-boot: boot check: slot B runs, A was pending: confirm --failed" \
	says "$u/dev" "$u/c3" 'did not boot (slot 1 runs)' "${UCHECK[@]}"
check "u-boot: status: nothing pending, the old fw1.bin runs in slot 1" \
	[ "$(st "$u/dev" 'e["pending"], e["installed"]["target"], e["active_slot"]')" = "(None, 'fw1.bin', 1)" ]
check "u-boot: report 4 verifies" report_ok "$u/dev/state/reports/4.json" "$u/dev/device.pub"
check "u-boot: report 4: fell-back, the OLD image fw1.bin installed" report_says "$u/dev" 4 fell-back fw1.bin reverted
uenv
check "u-boot: env unchanged by the boot check" has "$u/env.txt" boot_slot=B upgrade_available=0 bootcount=0

# ---- GRUB: an environment block edited with grub-editenv; the slot read from it ----
g=$tmp/grub
mkdir -p "$g"
genv() { grub-editenv "$g/grubenv" list >"$g/env.txt" 2>"$g/env.err"; }
# grub_boot: one power-on, by the rules of samples/ab-grub/grub.cfg
grub_boot() {
	local env slot next
	env=$(grub-editenv "$g/grubenv" list) || return 1
	get() { sed -n "s/^$1=//p" <<<"$env"; }
	slot=$(get boot_slot)
	[ -n "$slot" ] || slot=A
	next=$(get next_slot)
	if [ -n "$next" ]; then
		if [ "$(get try_once)" = 1 ]; then
			slot=$next
			grub-editenv "$g/grubenv" set try_once=0 || return 1
		else
			grub-editenv "$g/grubenv" set next_slot= || return 1
		fi
	fi
	echo "root=LABEL=root$slot ro rootwait uptane.slot=$slot" >"$g/cmdline"
}
check "grub: factory environment block (grub-editenv create)" grub-editenv "$g/grubenv" create
gjson() { echo "[\"$GRUB\",\"-e\",\"$g/grubenv\",\"$1\",\"{slot}\"]"; }
new_device "$g/dev" "$(gjson activate)" "$(gjson confirm)"
UCHECK=("UPTANE_AB=$GRUB -e $g/grubenv" "UPTANE_SLOT_SOURCE=env")
check "grub: first boot: slot A (boot_slot unset)" grub_boot
check "grub: ... the kernel runs slot A" grep -q 'uptane.slot=A' "$g/cmdline"
check "grub: boot check with nothing pending: nothing to do" says "$g/dev" "$g/c0" 'nothing pending' "${UCHECK[@]}"

code=$(run_install "$g/o1" "$g/dev" install "$tmp/b1.uptane")
expect_result "grub: install b1" "$g/o1" "$code" 0 installed null
check "grub: b1 written to slot B" cmp -s "$g/dev/slots/b" fw1.bin
genv
check "grub: activate: boot_slot=A next_slot=B try_once=1" has "$g/env.txt" boot_slot=A next_slot=B try_once=1
check "grub: status: fw1.bin pending in slot 1, slot 0 active" \
	[ "$(st "$g/dev" 'e["pending"]["target"], e["pending_slot"], e["active_slot"]')" = "('fw1.bin', 1, 0)" ]
check "grub: the boot check before a reboot: waits (untried)" \
	says "$g/dev" "$g/c1" 'waits in slot 1 for a reboot' "${UCHECK[@]}"
check "grub: reboot: the try of slot B" grub_boot
genv
check "grub: env after the trial boot: try used (try_once=0), next_slot=B, boot_slot=A" \
	has "$g/env.txt" boot_slot=A next_slot=B try_once=0
check "grub: ... the kernel runs slot B" grep -q 'uptane.slot=B' "$g/cmdline"
check "grub: booted: 1 from the environment and from the command line" \
	[ "$(UPTANE_SLOT_SOURCE=env "$GRUB" -e "$g/grubenv" booted)/$(UPTANE_CMDLINE=$g/cmdline "$GRUB" -e "$g/grubenv" booted)" = 1/1 ]
check "grub: a failing health check: exit 1, nothing confirmed" \
	bash -c "! (cd '$g/dev' && env UPTANE_INSTALL='$INSTALL' UPTANE_CONFIG=device.json \
		UPTANE_AB='$GRUB -e $g/grubenv' UPTANE_SLOT_SOURCE=env UPTANE_HEALTH_CHECK=false '$CHECK') >'$g/ch' 2>&1 &&
		grep -q 'health check failed' '$g/ch'"
check "grub: ... still pending, env unchanged" bash -c "[ \"\$(cd '$g/dev' && '$INSTALL' --config device.json --json status | tail -1 | jq '.ecus[0].pending_slot')\" = 1 ] &&
	grub-editenv '$g/grubenv' list | grep -qx next_slot=B"
check "grub: boot check: slot B booted, health check passes: confirm" \
	says "$g/dev" "$g/c2" 'slot 1 booted: confirming fw1.bin' "${UCHECK[@]}" UPTANE_HEALTH_CHECK=true
genv
check "grub: confirm made B the boot slot: boot_slot=B next_slot= try_once=0" \
	has "$g/env.txt" boot_slot=B next_slot= try_once=0
check "grub: status: nothing pending, fw1.bin runs in slot 1" \
	[ "$(st "$g/dev" 'e["pending"], e["installed"]["target"], e["active_slot"]')" = "(None, 'fw1.bin', 1)" ]
check "grub: report 2 verifies" report_ok "$g/dev/state/reports/2.json" "$g/dev/device.pub"
check "grub: report 2: confirmed, fw1.bin" report_says "$g/dev" 2 confirmed fw1.bin confirmed
check "grub: later boots stay on B" twice grub_boot
check "grub: ... the kernel runs slot B" grep -q 'uptane.slot=B' "$g/cmdline"

code=$(run_install "$g/o3" "$g/dev" install "$tmp/b2.uptane")
expect_result "grub: install b2" "$g/o3" "$code" 0 installed null
check "grub: b2 written to slot A, B untouched" bash -c "cmp -s '$g/dev/slots/a' fw2.bin && cmp -s '$g/dev/slots/b' fw1.bin"
genv
check "grub: activate: boot_slot=B next_slot=A try_once=1" has "$g/env.txt" boot_slot=B next_slot=A try_once=1
check "grub: reboot: the try of slot A" grub_boot
check "grub: ... the kernel runs slot A" grep -q 'uptane.slot=A' "$g/cmdline"
# the new system hangs before the boot check; the watchdog resets the board
check "grub: reboot without a confirm: the try is used, back to slot B" grub_boot
genv
check "grub: env after the fallback: boot_slot=B next_slot= try_once=0" has "$g/env.txt" boot_slot=B next_slot= try_once=0
check "grub: ... the kernel runs slot B" grep -q 'uptane.slot=B' "$g/cmdline"
check "grub: booted after the fallback: 1, from the environment and from the command line" \
	[ "$(UPTANE_SLOT_SOURCE=env "$GRUB" -e "$g/grubenv" booted)/$(UPTANE_CMDLINE=$g/cmdline "$GRUB" -e "$g/grubenv" booted)" = 1/1 ]
check "grub: the confirm program refuses slot A now" bash -c "! '$GRUB' -e '$g/grubenv' confirm 0 2>/dev/null"
check "grub: boot check: slot B runs, A was pending: confirm --failed" \
	says "$g/dev" "$g/c3" 'did not boot (slot 1 runs)' "${UCHECK[@]}"
check "grub: status: nothing pending, the old fw1.bin runs in slot 1" \
	[ "$(st "$g/dev" 'e["pending"], e["installed"]["target"], e["active_slot"]')" = "(None, 'fw1.bin', 1)" ]
check "grub: report 4 verifies" report_ok "$g/dev/state/reports/4.json" "$g/dev/device.pub"
check "grub: report 4: fell-back, the OLD image fw1.bin installed" report_says "$g/dev" 4 fell-back fw1.bin reverted
genv
check "grub: env unchanged by the boot check" has "$g/env.txt" boot_slot=B next_slot= try_once=0
check "grub: the boot check afterwards: nothing pending" says "$g/dev" "$g/c4" 'nothing pending' "${UCHECK[@]}"

# ---- the sample unit ----
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$tmp/unit"
	sed "s|^ExecStart=.*|ExecStart=$CHECK|" "$UPT_TOP/samples/ab-boot-check/uptane-boot-check.service" \
		>"$tmp/unit/uptane-boot-check.service"
	check "uptane-boot-check.service: systemd-analyze verify, no warnings" bash -c "
		systemd-analyze verify '$tmp/unit/uptane-boot-check.service' >'$tmp/unit/out' 2>&1 && [ ! -s '$tmp/unit/out' ] ||
		{ sed 's/^/#   /' '$tmp/unit/out'; false; }"
else
	skip "systemd-analyze missing"
fi
finish
