#!/usr/bin/env bash
# Every rejection class of docs/threat-model.md through uptane-install: each hostile bundle must
# exit 4 with its own reason, name the failing member where there is one, and leave trusted/
# and every installed target byte-identical, with no staging file behind. The hostile bundles
# are our bundler's, rewritten and re-signed with Python (tarfile, pynacl, securesystemslib).
source "$(dirname "$0")/lib.bash"
setup bundle install
cd "$tmp" || exit 1
ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
KEYS=$tmp/k
export KEYS

mkimage main1.bin 400000 m1
mkimage main2.bin 500000 m2
mkimage aux1.bin 100000 a1
mkimage aux2.bin 120000 a2
B() { "$BUNDLE" "$@" >/dev/null; }
B target add ws main1.bin --hardware-id board-a --release-counter 1
B target add ws main2.bin --hardware-id board-a --release-counter 2
B target add ws aux1.bin --hardware-id board-b --release-counter 1
B target add ws aux2.bin --hardware-id board-b --release-counter 2
B assign ws --device VIN-1 --ecu ecu-main=main1.bin ecu-aux=aux1.bin
B create ws -o b1.uptane --device VIN-1
B assign ws --device VIN-1 --ecu ecu-main=main2.bin ecu-aux=aux2.bin
B create ws -o b2.uptane --device VIN-1

dev=$tmp/dev
mkdir -p "$dev/targets"
device_json "$dev" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)" \
	"$(file_ecu ecu-aux board-b targets/aux.bin)"
code=$(run_install out0 "$dev" install "$tmp/b1.uptane")
expect_result "baseline install of b1" out0 "$code" 0 installed null
code=$(run_install out0b "$dev" --dry-run install "$tmp/b2.uptane")
expect_result "b2 itself is valid (dry run)" out0b "$code" 0 verified null

# reject NAME BUNDLE REASON [MEMBER] [INSTALL ARGS..]: exit 4 with REASON, state unchanged
n=0
reject() {
	local name=$1 bundle=$2 reason=$3 member=${4:-}
	n=$((n + 1))
	local snap out=$tmp/r$n
	snap=$(state_snapshot "$dev")
	local code
	code=$(run_install "$out" "$dev" install "$tmp/$bundle")
	expect_result "$name" "$out" "$code" 4 rejected "$reason"
	if [ -n "$member" ]; then
		check "$name: names $member" [ "$(result "$out" file)" = "$member" ]
	fi
	check "$name: trusted/ and targets byte-identical, no staging left" \
		bash -c "[ '$snap' = \"\$(cd '$dev' && find state/trusted targets -type f -print0 | sort -z | xargs -0 -r sha256sum)\" ] &&
			[ -z \"\$(ls -A '$dev/targets' | grep '^\.')\" ] && [ -z \"\$(ls -A '$dev/state/staging')\" ]"
	check "$name: message for people is not empty" [ -n "$(result "$out" message)" ]
}

# arbitrary-software: bad or missing signatures, image bytes not as signed
bundle_mutate b2.uptane sig.uptane wrong-sig
reject "Director targets signed by the wrong key" sig.uptane arbitrary-software metadata/director/targets.json
retar b2.uptane meta.uptane tamper-meta metadata/director/timestamp.json
reject "a byte of signed metadata changed" meta.uptane arbitrary-software metadata/director/timestamp.json
retar b2.uptane meta2.uptane tamper-meta metadata/image-repo/targets.json
reject "a byte of a pinned metadata file changed" meta2.uptane mix-and-match metadata/image-repo/targets.json
bundle_mutate b2.uptane img.uptane tamper-image main2.bin
reject "a byte of an image changed" img.uptane arbitrary-software images/main2.bin
bundle_mutate b2.uptane short.uptane short aux2.bin
reject "an image one byte short" short.uptane arbitrary-software images/aux2.bin

# endless-data
bundle_mutate b2.uptane endless.uptane endless aux2.bin
reject "an image 4 MiB longer than signed" endless.uptane endless-data images/aux2.bin

# mix-and-match, target-mismatch, wrong-ecu (re-signed with the right keys: only the
# cross-file checks can catch these)
bundle_mutate b2.uptane mix.uptane mix-and-match
reject "Director targets not the version the snapshot pins" mix.uptane mix-and-match metadata/director/targets.json
bundle_mutate b2.uptane tm.uptane target-mismatch
reject "Director release counter differs from the Image repository's" tm.uptane target-mismatch
bundle_mutate b2.uptane dh.uptane director-hash
reject "Director hash differs from the Image repository's" dh.uptane target-mismatch
bundle_mutate b2.uptane we.uptane wrong-ecu
reject "Director names an ECU the device does not have" we.uptane wrong-ecu

# malformed
bundle_mutate b2.uptane trunc.uptane truncate
reject "a truncated bundle" trunc.uptane malformed
bundle_mutate b2.uptane garbage.uptane garbage
reject "not a tar file at all" garbage.uptane malformed
bundle_mutate b2.uptane nozstd.uptane not-zstd main2.bin
reject "an image member that is not zstd" nozstd.uptane malformed images/main2.bin
bundle_mutate b2.uptane noimg.uptane drop images/aux2.bin
reject "an assigned image missing" noimg.uptane malformed images/aux2.bin
retar b2.uptane order.uptane image-first
reject "an image before the metadata" order.uptane malformed
bundle_mutate b2.uptane nosnap.uptane drop metadata/director/snapshot.json
reject "the Director snapshot missing" nosnap.uptane malformed

# unsafe-archive: hostile members (after the images, so only a reader that checks the whole
# archive before activating anything catches them)
for op in dotdot absolute symlink hardlink device fifo duplicate badchar; do
	bundle_mutate b2.uptane "$op.uptane" "$op"
	reject "hostile tar member ($op)" "$op.uptane" unsafe-archive
done
check "hostile members: nothing escaped" bash -c "[ ! -e /tmp/outside.bin ] && [ ! -e '$tmp/outside.bin' ]"

# too-large
bundle_mutate b2.uptane big.uptane too-large
reject "a metadata file over 1 MiB" big.uptane too-large metadata/image-repo/targets.json

# wrong-hardware: the device's ECU is another board than the Director says
cp "$dev/device.json" "$tmp/device.json.good"
sed -i 's/"hardware_id":"board-b"/"hardware_id":"board-z"/' "$dev/device.json"
reject "the Director's hardware id is not the ECU's" b2.uptane wrong-hardware
cp "$tmp/device.json.good" "$dev/device.json"

# policy: the device accepts fleet bundles only
sed -i 's/"accept": \["device", "fleet"\]/"accept": ["fleet"]/' "$dev/device.json"
reject "a device bundle on a fleet-only device" b2.uptane policy
cp "$tmp/device.json.good" "$dev/device.json"

# After all of that, the genuine bundle still installs.
code=$(run_install outz "$dev" install "$tmp/b2.uptane")
expect_result "b2 installs after every rejection" outz "$code" 0 installed null
check "b2 installed both images" bash -c "cmp -s '$dev/targets/main.bin' main2.bin && cmp -s '$dev/targets/aux.bin' aux2.bin"

# rollback: the older bundle again
reject "the installed bundle's predecessor" b1.uptane rollback

# Roots accepted in step 1 are kept when an image then fails; a rotation of the Image repo's
# timestamp key forgets the stored Image timestamp and snapshot (and nothing else changes).
(cd k && "$BUNDLE" key generate ts2 >/dev/null)
mkimage main3.bin 300000 m3
B rotate ws --role image-repo/timestamp --key k/ts2.key
B target add ws main3.bin --hardware-id board-a --release-counter 3
B assign ws --device VIN-1 --ecu ecu-main=main3.bin ecu-aux=aux2.bin
B create ws -o b3.uptane --device VIN-1
bundle_mutate b3.uptane b3-bad.uptane tamper-image main3.bin
snap=$(cd "$dev" && find state/trusted targets -type f -print0 | sort -z | xargs -0 -r sha256sum)
code=$(run_install rot "$dev" install "$tmp/b3-bad.uptane")
expect_result "root rotation, then a bad image" rot "$code" 4 rejected arbitrary-software
check "rotation: the new Image root (v2) is kept" cmp -s "$dev/state/trusted/image-repo/root.json" ws/metadata/image-repo/2.root.json
check "rotation: the stored Image timestamp and snapshot are forgotten" bash -c "[ ! -e '$dev/state/trusted/image-repo/timestamp.json' ] && [ ! -e '$dev/state/trusted/image-repo/snapshot.json' ]"
check "rotation: nothing else changed" bash -c "diff <(echo '$snap' | grep -v 'image-repo/\(root\|timestamp\|snapshot\).json') <(cd '$dev' && find state/trusted targets -type f -print0 | sort -z | xargs -0 -r sha256sum | grep -v 'image-repo/\(root\|timestamp\|snapshot\).json')"
code=$(run_install rot2 "$dev" install "$tmp/b3.uptane")
expect_result "rotation: the genuine bundle then installs" rot2 "$code" 0 installed null

# untrusted-root: a device whose provisioned root is not a root refuses everything (exit 4),
# and a configuration naming a missing root file is a configuration error (exit 2).
bad=$tmp/bad
mkdir -p "$bad/targets"
device_json "$bad" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)"
echo '{"signed": {"_type": "targets"}, "signatures": []}' >"$bad/director-root.json"
code=$(run_install outb "$bad" install "$tmp/b1.uptane")
expect_result "provisioned root unusable: untrusted-root" outb "$code" 4 rejected untrusted-root
check "untrusted-root: nothing installed, no trusted/" bash -c "[ ! -e '$bad/targets/main.bin' ] && [ ! -e '$bad/state/trusted' ]"
rm "$bad/director-root.json"
code=$(run_install outc "$bad" status)
check "provisioned root file missing: exit 2" [ "$code" = 2 ]
check "provisioned root file missing: says which" grep -q 'director' outc
finish
