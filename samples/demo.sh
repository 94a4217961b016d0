#!/usr/bin/env bash
# make demo: the whole loop on one machine, in build/demo/.
#   1. the OEM's station: keys, a workspace, three images, a device bundle
#   2. a USB stick (a directory) with the bundle on it
#   3. a simulated device (samples/device.json: a file ECU, an A/B ECU, an exec ECU), with its
#      provisioned roots and report key; a tampered copy of the bundle is refused (and the
#      device says why); the genuine stick installs, `confirm` after the "reboot", `status`
#   5. the station reads the signed reports back from the stick into its fleet ledger
#   samples/demo.sh BUILDDIR
set -eu
builddir=${1:?usage: samples/demo.sh BUILDDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
BUNDLE=$top/$builddir/uptane-bundle
INSTALL=$top/$builddir/uptane-install
PY=/usr/bin/python3
demo=${DEMO_DIR:-$top/build/demo} # DEMO_DIR: elsewhere (tests/cli/readme_blocks.sh)
rm -rf "$demo"
mkdir -p "$demo/keys" "$demo/images" "$demo/stick" "$demo/device"
cd "$demo"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "1. Station: offline keys (ed25519), a workspace for both repositories"
for k in root targets snapshot timestamp director-root director-targets director-snapshot \
	director-timestamp offline-snapshot offline-updates; do
	(cd keys && "$BUNDLE" key generate "$k" >/dev/null)
done
ls keys
run "$BUNDLE" init workspace --root-key keys/root.key --targets-key keys/targets.key \
	--snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key \
	--director-root-key keys/director-root.key --director-targets-key keys/director-targets.key \
	--director-snapshot-key keys/director-snapshot.key \
	--director-timestamp-key keys/director-timestamp.key \
	--offline-snapshot-key keys/offline-snapshot.key --offline-updates-key keys/offline-updates.key

say "Three firmware images, added to the Image repository and assigned to device VIN-DEMO-0001"
{ echo "main firmware 2.0"; head -c 2000000 /dev/urandom; } >images/main-fw-2.0.bin
{ echo "mcu firmware 5.1"; head -c 500000 /dev/urandom; } >images/mcu-fw-5.1.bin
{ echo "sensor firmware 3"; head -c 100000 /dev/urandom; } >images/sensor-fw-3.bin
run "$BUNDLE" target add workspace images/main-fw-2.0.bin --hardware-id board-a --release-counter 2
run "$BUNDLE" target add workspace images/mcu-fw-5.1.bin --hardware-id mcu-x --release-counter 5
run "$BUNDLE" target add workspace images/sensor-fw-3.bin --hardware-id sensor-y --release-counter 3
run "$BUNDLE" assign workspace --device VIN-DEMO-0001 --ecu ecu-main-01=main-fw-2.0.bin \
	mcu-01=mcu-fw-5.1.bin sensor-01=sensor-fw-3.bin
run "$BUNDLE" create workspace -o stick/demo.uptane --device VIN-DEMO-0001
run "$BUNDLE" inspect stick/demo.uptane

say "2. The simulated device: samples/device.json, provisioned roots, its report key"
cp "$top/samples/device.json" device/
cp workspace/metadata/director/1.root.json device/director-root.json
cp workspace/metadata/image-repo/1.root.json device/image-root.json
(cd device && "$BUNDLE" key generate device >/dev/null)
mkdir -p device/targets device/slots
echo "main firmware 1.0 (factory)" >device/targets/firmware.bin
echo "mcu firmware 4 (factory)" >device/slots/mcu-a.img
: >device/slots/mcu-b.img
echo "sensor firmware 1 (factory)" >device/sensor.fw
cat >device/bootloader.sh <<'SH'
#!/bin/sh
# stands in for fw_setenv: records what the installer asked of the bootloader
echo "bootloader: $*" >&2
echo "$*" >>"$(dirname "$0")/bootloader.log"
SH
cat >device/flash-sensor.sh <<'SH'
#!/bin/sh
# stands in for a sensor flasher: receives the verified image
echo "flash-sensor: flashing $(head -c 17 "$1")" >&2
cp "$1" "$(dirname "$0")/sensor.fw"
SH
chmod +x device/bootloader.sh device/flash-sensor.sh
run cat device/device.json

say "3. Someone hands the technician a tampered stick (one image byte changed): refused, nothing changes"
mkdir -p stick2
$PY - stick/demo.uptane stick2/tampered.uptane <<'PY'
import io, subprocess, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    members = [(m, t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]
with tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT) as out:
    for m, data in members:
        if m.name == "images/main-fw-2.0.bin":
            raw = bytearray(subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout)
            raw[1000] ^= 1
            data = subprocess.run(["zstd", "-3", "-c"], input=bytes(raw), capture_output=True, check=True).stdout
        ti = tarfile.TarInfo(m.name); ti.size = len(data); ti.mode = 0o644
        out.addfile(ti, io.BytesIO(data))
PY
run "$INSTALL" --config device/device.json install stick2 || echo "(exit $?)"

say "4. The genuine stick: uptane-install install STICK"
run "$INSTALL" --config device/device.json install stick
run "$INSTALL" --config device/device.json status
say "... the device reboots into the new A/B slot; the boot was good:"
run "$INSTALL" --config device/device.json confirm
run "$INSTALL" --config device/device.json status
say "The same stick again: nothing to do (exit 3)"
run "$INSTALL" --config device/device.json install stick || echo "(exit $?)"

say "The signed report the device wrote back to the stick"
ls stick/uptane-reports/VIN-DEMO-0001/
$PY -m json.tool stick/uptane-reports/VIN-DEMO-0001/2.json | head -40
echo "    ..."

say "5. Station: the fleet ledger reads the reports back"
run "$BUNDLE" devices add --ledger ledger.db --device VIN-DEMO-0001 --public-key device/device.pub \
	--placed-on-market "$(date -u +%Y-%m-%d)" --support-years 5 || true
run "$BUNDLE" reports ingest stick stick2 --ledger ledger.db || true
run "$BUNDLE" reports show --ledger ledger.db || true
say "Done: everything is in $demo"
