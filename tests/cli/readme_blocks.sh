#!/usr/bin/env bash
# Every command block of README.md runs as written in a test. Each fenced
# block is looked up by the heading it sits under and its first line; a block no runner claims
# fails, so a block added to the README without a test is caught here.
#   - "The station" block: tests/cli/readme_station.sh runs it line by line.
#   - "Set-up": `make demo` runs (into a directory of this test); `make test` is this suite.
#   - "Build": each make line, dry (`make -n`), with the placeholders filled; format-check for real.
#   - "The device": each form of the synopsis runs against the demo's device; the JSON example
#     is accepted as an ECU by the strict configuration parser.
#   - "What gets installed": the make lines dry (tests/cli/make_install.sh copies for real); the
#     systemctl line runs in the VM rig (tests/vm/cases/10-dealer.bash), checked to be there.
#   - "The sandbox": the drop-in, on the installed unit, passes `systemd-analyze verify`.
#   - "Reading reports": both commands as written, on the stick the demo's device wrote to; the
#     advisory block in tests/cli/cra_affected.sh, which has the SBOMs and the reports.
#   - "Layout": every folder it names exists, every library module it names is a source file.
source "$(dirname "$0")/lib.bash"
setup
cd "$tmp" || exit 1
variant=$(basename "$UPT_BUILD")

# blocks/N.txt, and index: N<TAB>heading<TAB>first line
mkdir blocks
$PY - "$UPT_TOP/README.md" blocks >index <<'PY'
import sys
heading, inblock, n, body = "", False, 0, []
for line in open(sys.argv[1]).read().split("\n"):
    if not inblock and line.startswith("#"):
        heading = line.lstrip("#").strip()
    elif line.startswith("```"):
        if inblock:
            open(f"{sys.argv[2]}/{n}.txt", "w").write("\n".join(body) + "\n")
            print(f"{n}\t{heading}\t{body[0] if body else ''}")
            n += 1
        inblock, body = not inblock, []
    elif inblock:
        body.append(line)
PY
check "README has command blocks ($(wc -l <index))" test "$(wc -l <index)" -ge 9
block() { # block HEADING FIRST_LINE_PREFIX: prints the block's file, marks it claimed
	local n
	n=$(awk -F'\t' -v h="$1" -v f="$2" '$2 == h && index($3, f) == 1 { print $1; exit }' index)
	[ -n "$n" ] || { not_ok "README: no block under \"$1\" starting \"$2\""; return 1; }
	echo "$n" >>claimed
	echo "blocks/$n.txt"
}
lines() { grep -v '^[[:space:]]*#' "$1" | sed 's/[[:space:]]*#.*$//' | grep -v '^[[:space:]]*$'; }

# --- The station: its own test
b=$(block "The station: \`uptane-bundle\`" "# keys") &&
	check "the station block is run by readme_station.sh" grep -q 'The station: `uptane-bundle`' "$UPT_TOP/tests/cli/readme_station.sh"

# --- Set-up: make demo, as written, into this test's directory
if b=$(block "Set-up: two commands" "make test"); then
	check "set-up block: make test, then make demo" test "$(lines "$b" | tr '\n' ';')" = "make test;make demo;"
	check "set-up block: make test is what CI runs" grep -q '^suite test make test$' "$UPT_TOP/.ci/run"
	DEMO_DIR=$tmp/demo mk demo BUILD="$variant" BUILDDIR="${UPT_BUILD#$UPT_TOP/}" >demo.log 2>&1
	rc=$?
	check "make demo: exit 0 ($(tail -1 demo.log))" test "$rc" = 0
	check "make demo: the tampered stick was refused, the genuine one installed and confirmed" \
		bash -c "grep -q '\"status\": *\"rejected\"\\|rejected' demo.log && grep -q 'Done: everything is in $tmp/demo' demo.log"
	check "make demo: the ledger shows the demo device" grep -q 'VIN-DEMO-0001' demo.log
fi
dev=$tmp/demo/device/device.json

# --- Build: every make line, dry, placeholders filled in
if b=$(block "Build" "make [BUILD="); then
	n=0 bad=0
	while IFS= read -r cmd; do
		cmd=${cmd%%#*}
		cmd=$(echo "$cmd" | sed -e 's/\[BUILD=debug|release|asan|coverage\]/BUILD=release/' \
			-e 's/\[WERROR=1\]/WERROR=1/' -e "s|DESTDIR=\.\.\.|DESTDIR=$tmp/destdir|")
		n=$((n + 1))
		read -ra argv <<<"$cmd"
		[ "${argv[0]}" = make ] || { not_ok "build block: not a make command: $cmd"; continue; }
		if [ "${argv[1]}" = format-check ]; then
			mk format-check >"build.$n" 2>&1
		else
			mk -n "${argv[@]:1}" >"build.$n" 2>&1
		fi || { bad=$((bad + 1)); not_ok "build block: $cmd fails"; tail -3 "build.$n" | sed 's/^/#   /'; }
	done < <(lines "$b")
	check "build block: all $n make lines work ($bad failed)" test "$n" -ge 5 -a "$bad" = 0
	check "build block: nothing was written by the dry runs" test ! -e "$tmp/destdir"
fi

# --- The device: each synopsis form against the demo device
if b=$(block "The device: \`uptane-install\`" "uptane-install [--config FILE]") && [ -f "$dev" ]; then
	run() { # run WANT_EXIT ARGS..: uptane-install with the demo's configuration
		local want=$1; shift
		timeout -s TERM 20 "$INSTALL" "$@" >dev.out 2>&1
		local rc=$?
		check "synopsis: uptane-install $* (exit $rc, want $want)" test "$rc" = "$want" ||
			tail -3 dev.out | sed 's/^/#   /'
	}
	forms=$(lines "$b" | sed 's/^uptane-install //' | sed 's/  .*//')
	check "synopsis lists the seven forms" test "$(echo "$forms" | wc -l)" = 7
	while IFS= read -r form; do
		case $form in
		'[--config FILE] [--json] [--dry-run] install BUNDLE|DIR')
			run 3 --config "$dev" --json --dry-run install "$tmp/demo/stick/demo.uptane"
			run 3 --config "$dev" --json install "$tmp/demo/stick" ;;
		'[--config FILE] [--json] status') run 0 --config "$dev" --json status ;;
		'[--config FILE] [--json] confirm [--failed]')
			# the demo confirmed its A/B image already: nothing pending, nothing to do
			run 3 --config "$dev" --json confirm
			run 3 --config "$dev" --json confirm --failed ;;
		'[--config FILE] [--json] media DEVNODE')
			run 3 --config "$dev" --json media /dev/uptane-no-such-stick
			check "media on a device node that is gone: says so" grep -q 'no longer there' dev.out ;;
		'[--config FILE] [--json] scan')
			# no removable medium is mounted on a test machine: nothing to do
			run 3 --config "$dev" --json scan ;;
		'[--config FILE] watch [--once]')
			# it waits for a stick; SIGTERM stops it cleanly. Without LeakSanitizer here: its
			# stop-the-world check at exit was seen to spin for minutes once after the
			# SIGTERM, on a loaded machine (usb_watch.sh runs watch under LSan in full)
			ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 timeout -s TERM 3 "$INSTALL" --config "$dev" \
				watch --once >dev.out 2>&1
			rc=$?
			check "synopsis: watch --once waits for a stick until SIGTERM (exit $rc)" test "$rc" = 124 ;;
		'--version') run 0 --version ;;
		*) not_ok "synopsis form no test runs: $form" ;;
		esac
	done <<<"$forms"
fi

# --- The device: the exec ECU example, accepted by the strict parser
if b=$(block "The device: \`uptane-install\`" '{"serial": "sensor-01"') && [ -f "$dev" ]; then
	$PY - "$dev" "$b" cfg.json <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
ecu = json.loads(open(sys.argv[2]).read())
cfg["ecus"] = [e for e in cfg["ecus"] if e["serial"] != ecu["serial"]] + [ecu]
json.dump(cfg, open(sys.argv[3], "w"))
PY
	sed -i "s|\"/usr/bin/flash-sensor\"|\"$tmp/demo/device/flash-sensor.sh\"|" cfg.json
	# relative paths are relative to the file
	cp cfg.json "$tmp/demo/device/readme.json"
	"$INSTALL" --config "$tmp/demo/device/readme.json" --json status >st.out 2>&1
	rc=$?
	check "the README's exec ECU (timeout_seconds 3600) is a valid configuration (status exit $rc)" test "$rc" = 0
	sed -i 's/"timeout_seconds": 3600/"timeout_seconds": 86401/' "$tmp/demo/device/readme.json"
	"$INSTALL" --config "$tmp/demo/device/readme.json" --json status >st.out 2>&1
	check "control: timeout_seconds 86401 is refused (exit 2)" test $? = 2
fi

# --- What gets installed
if b=$(block "What gets installed" "make install PREFIX=/usr"); then
	mapfile -t cmds < <(lines "$b")
	check "install block: two make lines, then the reload on the target" test "${#cmds[@]}" = 3
	mk -n install PREFIX=/usr >inst.1 2>&1
	check "install block: make install PREFIX=/usr (dry)" test $? = 0
	mk -n install PREFIX=/usr DESTDIR=rootfs >inst.2 2>&1
	check "install block: make install PREFIX=/usr DESTDIR=rootfs (dry) copies into rootfs/usr/bin" \
		grep -q ' rootfs/usr/bin/' inst.2
	check "install block: the reload runs in the VM rig as written" \
		grep -qF "vsh '${cmds[2]}'" "$UPT_TOP/tests/vm/cases/10-dealer.bash"
fi

# --- The sandbox: the drop-in on the installed unit
if b=$(block "The sandbox, and what integrators add" "# /etc/systemd/system/uptane-install@.service.d/local.conf"); then
	make -s -C "$UPT_TOP" -f udev/install.mk DESTDIR="$tmp/root" BINDIR="$UPT_BUILD" >/dev/null 2>&1
	units=$tmp/units
	mkdir -p "$units/uptane-install@sdb1.service.d"
	cp "$tmp/root/lib/systemd/system/uptane-install@.service" "$units/uptane-install@sdb1.service"
	# the drop-in as written, its binary path pointed at the build under test
	sed "s|/usr/bin/uptane-install|$UPT_BUILD/uptane-install|" "$b" >"$units/uptane-install@sdb1.service.d/local.conf"
	check "drop-in: names the paths it says (ReadWritePaths=/opt/app, two DeviceAllow)" \
		bash -c "grep -qx 'ReadWritePaths=/opt/app' '$b' && test \$(grep -c '^DeviceAllow=' '$b') = 2"
	SYSTEMD_UNIT_PATH=$units: systemd-analyze verify "$units/uptane-install@sdb1.service" >verify.out 2>&1
	rc=$?
	check "drop-in: systemd-analyze verify passes with it, no warnings (exit $rc)" \
		bash -c "test $rc = 0 && ! test -s verify.out" || sed 's/^/#   /' verify.out | head -5
	SYSTEMD_UNIT_PATH=$units: systemd-analyze cat-config --help >/dev/null 2>&1
	echo 'ExecStrat=/bin/false' >>"$units/uptane-install@sdb1.service.d/local.conf"
	SYSTEMD_UNIT_PATH=$units: systemd-analyze verify "$units/uptane-install@sdb1.service" >verify.out 2>&1
	check "control: the drop-in is read (a misspelt key in it is reported)" grep -q ExecStrat verify.out
fi

# --- Reading reports: as written, on the stick the demo device wrote to
if b=$(block "Reading reports" "uptane-bundle reports ingest") && [ -d "$tmp/demo/stick" ]; then
	mkdir -p bin && ln -sf "$BUNDLE" bin/uptane-bundle
	"$BUNDLE" devices add --ledger fleet.db --device VIN-DEMO-0001 --public-key "$tmp/demo/device/device.pub" \
		--placed-on-market 2026-01-01 --support-years 5 >/dev/null
	run_lines "reports block:" rep "$tmp/bin" < <(lines "$b" | sed "s|/media/stick|$tmp/demo/stick|g")
	check "reports block: both commands ran ($ran, $failed failed)" test "$ran" = 2 -a "$failed" = 0
	check "reports show lists the demo device with its main ECU's image" \
		bash -c "grep -q VIN-DEMO-0001 rep.2 && grep -q main-fw-2.0.bin rep.2"
fi

# --- Reading reports: the advisory block, run as written by the SBOM test (it has the ledger)
if b=$(block "Reading reports" "uptane-bundle sbom import ws"); then
	check "the advisory block is run by cra_affected.sh" grep -qF 'uptane-bundle sbom import ws' "$UPT_TOP/tests/cli/cra_affected.sh"
fi

# --- Layout: the folders and library modules it names
if b=$(block "Layout" "formats/"); then
	for d in $(awk '/^[a-z]+\/ / { print $1 }' "$b"); do
		check "layout: $d exists" test -d "$UPT_TOP/$d"
	done
	# the formats/ entry: each layer folder "NAME/ (module, module: what it is, ...)"
	$PY - "$b" "$UPT_TOP" >layout.txt <<'PY'
import glob, os, re, sys
text = open(sys.argv[1]).read()
text = " ".join(text[text.index("formats/"):text.index("bundler/")].split())
for folder, mods in re.findall(r"(\w+)/ \(([^)]*)\)", text):
    for item in mods.split(","):
        name = item.strip().split(":")[0].split()[0]
        src = os.path.join(sys.argv[2], "formats/src", folder)
        hdr = os.path.join(sys.argv[2], "formats/include/upt", name.rstrip("_*") + ".h")
        found = glob.glob(os.path.join(src, name + ".c")) or glob.glob(hdr)
        print(folder, name, "yes" if os.path.isdir(src) and found else "no")
PY
	n=0
	while read -r folder m found; do
		n=$((n + 1))
		check "layout: library module $folder/$m has a source file" test "$found" = yes
	done <layout.txt
	check "layout: names at least 15 library modules ($n)" test "$n" -ge 15
fi

# every block is claimed
touch claimed
while IFS=$'\t' read -r n h f; do
	grep -qx "$n" claimed || not_ok "README block $n under \"$h\" (\"$f\") is run by no test"
done <index
finish
