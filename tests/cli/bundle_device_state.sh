#!/usr/bin/env bash
# verify --config against a device that has installed bundles: it reads the state directory's
# trusted/ (metadata versions, time floor) and installed images (release counters) exactly as
# the installer does, and agrees with `uptane-install --dry-run` on every bundle; it never
# writes (trusted/ byte-identical, no lock or report files appear).
source "$(dirname "$0")/lib.bash"
setup bundle
cd "$tmp" || exit 1
[ -x "$INSTALL" ] || { not_ok "uptane-install not built"; finish; }

std_keys k && std_init k ws >/dev/null || { not_ok "init"; finish; }
head -c 20000 /dev/urandom >v1.bin
head -c 20000 /dev/urandom >v2.bin
head -c 20000 /dev/urandom >old.bin
"$BUNDLE" target add ws v1.bin --hardware-id hw --release-counter 5 >/dev/null
"$BUNDLE" target add ws v2.bin --hardware-id hw --release-counter 6 >/dev/null
"$BUNDLE" target add ws old.bin --hardware-id hw --release-counter 4 >/dev/null
"$BUNDLE" assign ws --device VIN-1 --ecu e1=v1.bin >/dev/null
"$BUNDLE" create ws -o b1.uptane >/dev/null
"$BUNDLE" assign ws --device VIN-1 --ecu e1=v2.bin >/dev/null
"$BUNDLE" create ws -o b2.uptane >/dev/null
"$BUNDLE" assign ws --device VIN-1 --ecu e1=old.bin >/dev/null
"$BUNDLE" create ws -o b3-old-image.uptane >/dev/null
device_config dev ws VIN-1 e1:hw
: >dev/e1.bin
"$BUNDLE" key generate dev/device >/dev/null

# agree BUNDLE: verify's exit status equals the installer's dry run
agree() {
	"$BUNDLE" verify "$1" --config dev/device.json >/dev/null 2>&1
	local a=$?
	"$INSTALL" --config dev/device.json --dry-run install "$1" >/dev/null 2>&1
	local b=$?
	[ $a -eq $b ] || { echo "verify exit $a, uptane-install --dry-run exit $b on $1" >&2; return 1; }
}

check "fresh device: verify b1 ok" "$BUNDLE" verify b1.uptane --config dev/device.json
check "install b2 on the device (uptane-install)" "$INSTALL" --config dev/device.json install b2.uptane
check "  ... it runs v2" cmp -s dev/e1.bin v2.bin
snap() { (cd dev/state && find . -type f | sort | xargs sha256sum); }
snap >before.txt
out=$("$BUNDLE" verify b1.uptane --config dev/device.json)
rc=$?
check "verify the older bundle b1 now: rollback (trusted/ holds version 2)" bash -c "[ $rc -eq 4 ] && [[ '$out' == *'(rollback)'* ]]"
check "  ... the installer's dry run agrees" agree b1.uptane
out=$("$BUNDLE" verify b2.uptane --config dev/device.json)
check "verify the installed bundle b2: up to date (exit 3), already installed" bash -c "[ $? -eq 3 ] && [[ '$out' == 'UP TO DATE'*'already installed'* ]]"
check "  ... the installer's dry run agrees" agree b2.uptane
out=$("$BUNDLE" verify b3-old-image.uptane --config dev/device.json)
rc=$?
check "a newer bundle with an image of a lower release counter (4 < installed 6): rollback" bash -c "[ $rc -eq 4 ] && [[ '$out' == *'(rollback)'* ]]"
check "  ... the installer's dry run agrees" agree b3-old-image.uptane
snap >after.txt
check "verify wrote nothing in the state directory" cmp -s before.txt after.txt
"$BUNDLE" assign ws --device VIN-1 --ecu e1=v1.bin >/dev/null
"$BUNDLE" create ws -o b4.uptane >/dev/null
check "a newer bundle re-offering v1 (release 5 < installed 6): rollback, as the installer says" bash -c "'$BUNDLE' verify b4.uptane --config dev/device.json >/dev/null; [ \$? -eq 4 ]"
check "  ... the installer's dry run agrees" agree b4.uptane

# A fresh device: verify and the installer's dry run name the same class for every tampering.
device_config fresh ws VIN-1 e1:hw
"$BUNDLE" key generate fresh/device >/dev/null
retar b2.uptane t-img.uptane tamper-image v2.bin
retar b2.uptane t-meta.uptane tamper-meta metadata/director/timestamp.json
retar b2.uptane t-itg.uptane tamper-meta metadata/image-repo/targets.json
retar b2.uptane t-order.uptane image-first
retar b2.uptane t-drop.uptane drop metadata/image-repo/snapshot.json
for b in b2 t-img t-meta t-itg t-order t-drop; do
	v=$("$BUNDLE" verify $b.uptane --config fresh/device.json --json 2>/dev/null | $PY -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["status"], d["reason"])')
	i=$("$INSTALL" --config fresh/device.json --json --dry-run install $b.uptane 2>/dev/null | tail -1 | $PY -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["status"], d["reason"])')
	echo "$b: verify [$v] installer [$i]"
	check "$b: verify and uptane-install --dry-run agree ($v)" bash -c "[ '${v/verified/ok}' = '${i/verified/ok}' ]"
done
check "  ... and the fresh device's state was never written by verify" bash -c "[ ! -e fresh/state/trusted/director/timestamp.json ]"
finish
