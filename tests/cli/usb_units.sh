#!/usr/bin/env bash
# The systemd template unit and `make install`'s udev/install.mk:
#   - installed into a DESTDIR with BINDIR substituted (no @BINDIR@ left), rule and unit in
#     place, modes 0644;
#   - `systemd-analyze verify` passes on the installed template and an instance, with no
#     warning at all (it checks that ExecStart exists: BINDIR is the build directory here);
#     a unit with a misspelt key or a missing binary does produce output/failure (control);
#   - the exit-status contract: oneshot, 3 is success, 4 never restarts, restarts bounded;
#   - the sandbox: `systemd-analyze security --offline` exposure (printed; must stay <= 3.0).
source "$(dirname "$0")/lib.bash"
setup
cd "$UPT_TOP" || exit 1
if ! command -v systemd-analyze >/dev/null; then
	not_ok "systemd-analyze is missing (Debian package systemd: make deps)"
	finish
fi

make -s -f udev/install.mk DESTDIR="$tmp/root" BINDIR="$UPT_BUILD" >"$tmp/install.log" 2>&1
check "udev/install.mk installs" test $? -eq 0
unit=$tmp/root/lib/systemd/system/uptane-install@.service
rules=$tmp/root/lib/udev/rules.d/80-uptane-install.rules
check "rule installed in /lib/udev/rules.d, mode 0644" test "$(stat -c %a "$rules" 2>/dev/null)" = 644
check "unit installed in /lib/systemd/system, mode 0644" test "$(stat -c %a "$unit" 2>/dev/null)" = 644
check "BINDIR substituted in ExecStart" grep -qx "ExecStart=$UPT_BUILD/uptane-install --json media /dev/%I" "$unit"
check "no @BINDIR@ left" bash -c "! grep -q '@BINDIR@' '$unit'"
make -s -f udev/install.mk DESTDIR="$tmp/etc" BINDIR=/usr/bin UDEVRULESDIR=/etc/udev/rules.d >/dev/null 2>&1
check "UDEVRULESDIR=/etc/udev/rules.d puts the rule there" test -f "$tmp/etc/etc/udev/rules.d/80-uptane-install.rules"
check "BINDIR=/usr/bin gives ExecStart=/usr/bin/uptane-install" grep -q '^ExecStart=/usr/bin/uptane-install ' "$tmp/etc/lib/systemd/system/uptane-install@.service"

verify() { # verify FILE: systemd-analyze verify, silent and successful
	systemd-analyze verify "$1" >"$tmp/verify.out" 2>&1 && [ ! -s "$tmp/verify.out" ] ||
		{ sed 's/^/#   /' "$tmp/verify.out"; return 1; }
}
check "systemd-analyze verify: the template, no warnings" verify "$unit"
cp "$unit" "$tmp/root/lib/systemd/system/uptane-install@sdb1.service"
check "systemd-analyze verify: instance uptane-install@sdb1.service, no warnings" \
	verify "$tmp/root/lib/systemd/system/uptane-install@sdb1.service"
mkdir -p "$tmp/bad"
sed 's/^ProtectHome=/ProtectHom=/' "$unit" >"$tmp/bad/uptane-install@sdb1.service"
check "control: a misspelt key is reported" bash -c "systemd-analyze verify '$tmp/bad/uptane-install@sdb1.service' 2>&1 | grep -q ProtectHom"
sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/uptane-install|' "$unit" >"$tmp/bad/uptane-install@sdb1.service"
check "control: a missing binary fails verify" bash -c "! systemd-analyze verify '$tmp/bad/uptane-install@sdb1.service' >/dev/null 2>&1"

key() { grep -E "^$1=" "$unit" | tail -1 | cut -d= -f2-; }
check "Type=oneshot" test "$(key Type)" = oneshot
check "SuccessExitStatus=3 (nothing to do is success)" test "$(key SuccessExitStatus)" = 3
check "RestartPreventExitStatus lists 4 (a rejection never restarts), and 1 2 5 6" \
	test "$(key RestartPreventExitStatus | tr ' ' '\n' | sort | tr '\n' ' ')" = "1 2 4 5 6 "
check "restarts bounded: StartLimitBurst=5 in StartLimitIntervalSec=10min" \
	test "$(key StartLimitBurst)/$(key StartLimitIntervalSec)" = "5/10min"
check "Restart=on-failure, RestartSec=10s (exit 7 only, see above)" \
	test "$(key Restart)/$(key RestartSec)" = "on-failure/10s"
check "no BindsTo= (pulling the stick never SIGTERMs a commit)" bash -c "! grep -q '^BindsTo' '$unit'"
for k in ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes PrivateNetwork=yes ProtectHome=yes \
	ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes \
	RestrictAddressFamilies=AF_UNIX "CapabilityBoundingSet=CAP_SYS_ADMIN CAP_DAC_OVERRIDE" \
	ReadWritePaths=/var/lib/uptane-offline RestrictNamespaces=mnt; do
	check "sandbox: $k" grep -qx "$k" "$unit"
done
exposure=$(systemd-analyze security --offline=yes "$tmp/root/lib/systemd/system/uptane-install@sdb1.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security --offline exposure: ${exposure:-unknown} (0 = locked down, 10 = unprotected)"
check "systemd-analyze security exposure ${exposure:-?} <= 3.0" \
	awk -v x="${exposure:-99}" 'BEGIN { exit !(x <= 3.0) }'
finish
