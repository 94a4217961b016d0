# Through the shipped udev rule and unit on the
# guest's own vfat and exfat drivers (the host kernel has neither, so tests/cli/usb_media.sh only
# runs its ext4 half; its FAT cases live here, and run on exFAT too):
#   no bundle; another device's bundle; the stick pulled over QMP while a 96 MiB image streams
#   (exit 7, nothing activated, the restart ends as "no longer there", plugged back: installs);
#   a write-protected stick (installs, report kept in the state directory, warning); several
#   bundles (newest chosen, in uptane/, "._" and hidden files ignored); split volumes; a full
#   stick. The unit's sandbox is the real one here (usb_media.sh's case 9 approximates it).
# A fresh device per filesystem; target release counters rise in the order the sticks come.

# media targets, added once: u-pull (96 MiB: streaming takes about 3 s under TCG, long enough
# to pull the stick after the first progress event reached the host), u-ro, u-old, u-new, u-split (2.5 MB, 1 MiB
# volumes), u-full; release counters 21..26 (above every other case's).
media_targets() {
	[ -f u-full.bin ] && return 0
	mkimage u-pull.bin $((96 << 20)) upull && B target add ws u-pull.bin --hardware-id board-a --release-counter 21 &&
		mkimage u-ro.bin 310000 uro && B target add ws u-ro.bin --hardware-id board-a --release-counter 22 &&
		mkimage u-old.bin 320000 uold && B target add ws u-old.bin --hardware-id board-a --release-counter 23 &&
		mkimage u-new.bin 330000 unew && B target add ws u-new.bin --hardware-id board-a --release-counter 24 &&
		mkimage u-split.bin 2500000 usplit && B target add ws u-split.bin --hardware-id board-a --release-counter 25 &&
		mkimage u-full.bin 340000 ufull && B target add ws u-full.bin --hardware-id board-a --release-counter 26
}
# stick_put KIND IMG DIR FILE..: FILEs into DIR ("" = top) of a fat32 or exfat stick image
stick_put() {
	local kind=$1 img=$2 dir=$3 f; shift 3
	case $kind in
	fat32)
		[ -z "$dir" ] || mmd -D s -i "$img" "::/$dir" 2>/dev/null || mdir -i "$img" "::/$dir" >/dev/null || return 1
		for f; do mcopy -i "$img" "$f" "::/$dir/$(basename "$f")" || return 1; done ;;
	exfat) exfat_do "$img" sh -c 'd=$1.m/$2; shift 2; mkdir -p "$d" && cp "$@" "$d/"' sh "$img" "$dir" "$@" ;;
	esac
}
# stick_fill KIND IMG: no free cluster left (without mounting on the host for FAT: mtools)
stick_fill() {
	local kind=$1 img=$2 free
	case $kind in
	fat32)
		free=$(mdir -i "$img" ::/ | sed -n 's/^ *\([0-9 ]*\) bytes free.*/\1/p' | tr -d ' ')
		[ -n "$free" ] && head -c "$free" /dev/zero >"$img.filler" && mcopy -i "$img" "$img.filler" ::/filler.bin &&
			rm -f "$img.filler" && mdir -i "$img" ::/ | grep -q '^ *0 bytes free' ;;
	exfat) exfat_do "$img" sh -c 'dd if=/dev/zero of="$1.m/filler.bin" bs=64k 2>/dev/null
		dd if=/dev/zero of="$1.m/filler2.bin" bs=512 2>/dev/null; sync; true' sh "$img" ;;
	esac
}
# plug_run KIND IMG ID SERIAL [ro]: plugs the stick, waits for the unit's exit, unplugs; sets
# code (exit status) and ev (the run's JSON lines in $tmp/ev-ID)
plug_run() {
	local kind=$1 img=$2 id=$3 serial=$4 from
	from=$(lines)
	ev=$tmp/ev-$id
	qmp plug "$id" "$img" "$serial" $5 || { code=qmp; return; }
	code=$(unit_result "$from" 240)
	qmp unplug "$id"
	unit_events "$from" "$ev"
}
app_sha() { vsh 'sha256sum </opt/app/main.bin' | cut -c1-64; }
sha() { sha256sum <"$1" | cut -c1-64; }
# stick_report KIND IMG OUT: the newest report on the stick, verified; its "signed" in OUT.s
stick_report() {
	local n
	n=$(report_counter "$1" "$2") && [ -n "$n" ] && stick_get "$1" "$2" "uptane-reports/VIN-1/$n.json" "$3" &&
		report_ok "$3" "$tmp/prov/config/device.pub"
}
# report_names KIND IMG: the names in the stick's uptane-reports/VIN-1/
report_names() {
	case $1 in
	fat32) mdir -b -i "$2" ::/uptane-reports/VIN-1 2>/dev/null | sed 's|.*/||' ;;
	exfat) exfat_do "$2" ls "$2.m/uptane-reports/VIN-1" ;;
	esac
}
rep_is() { $PY -c 'import json,sys; s=json.load(open(sys.argv[1]))["signed"]; sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }

media_suite() {
	local kind=$1 d=$tmp/m-$kind img from n before
	local K="$kind:"
	mkdir -p "$d" && rm -f "$d"/*
	media_targets || { not_ok "$K media targets"; return; }
	APP_MB=256 disks # the 96 MiB image staged beside the old one
	boot || { not_ok "$K boot the device"; return; }

	# No bundle: exit 3, and the no-bundle report goes on the stick.
	echo hello >"$d/README.txt" && echo "not a bundle" >"$d/notes.txt"
	img=$d/none.img
	stick "$kind" "$img" "$d/README.txt" && stick_put "$kind" "$img" uptane "$d/notes.txt" || { not_ok "$K stick"; return; }
	plug_run "$kind" "$img" "${kind}n" NONE
	t "$K no bundle: exit 3 (no-bundle)" ev_has "$ev" 'e["event"] == "result" and e["status"] == "no-bundle"'
	t "$K no bundle: the unit's exit status is 3" test "$code" = 3
	t "$K no bundle: the report on the stick verifies and says no-bundle" \
		eval 'stick_report "$kind" "$img" "$d/r-none.json" && rep_is "$d/r-none.json" "s[\"result\"][\"status\"] == \"no-bundle\""'
	local fsname=vfat
	[ "$kind" = exfat ] && fsname=exfat
	t "$K the medium event: $fsname, mounted privately, nosymfollow" ev_has "$ev" \
		"e['event'] == 'medium' and e['filesystem'] == '$fsname' and e['private'] is True and e['nosymfollow'] is True"
	vsh 'cat /var/lib/uptane-offline/state/reports/1.json' >"$d/r-none-dev.json"
	t "$K the report on the stick is the one kept on the device" $PY -c '
import json, sys
assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))' "$d/r-none.json" "$d/r-none-dev.json"

	# Another device's bundle: exit 3, the message says whom it is for.
	B assign ws --device VIN-2 --ecu ecu-main=u-ro.bin && B create ws -o "$d/other.uptane" --device VIN-2
	img=$d/other.img
	stick "$kind" "$img" "$d/other.uptane" || { not_ok "$K stick"; return; }
	plug_run "$kind" "$img" "${kind}o" OTHER
	t "$K another device's bundle: exit 3, not-for-this-device, names VIN-2" \
		eval 'test "$code" = 3 && ev_has "$ev" "e[\"event\"] == \"result\" and e[\"status\"] == \"not-for-this-device\" and \"VIN-2\" in e[\"message\"]"'
	t "$K another device's bundle: the ECU still runs the factory image" test "$(app_sha)" = "$(sha "$tmp/app/main.bin")"

	# Pulled while the 96 MiB image streams (QMP device_del after the first progress event).
	mk "$d/pull.uptane" u-pull.bin && STICK_MB=192 stick "$kind" "$d/pull.img" "$d/pull.uptane" || { not_ok "$K stick"; return; }
	img=$d/pull.img
	local appdir=$(vsh 'ls -A /opt/app' | tr '\n' ' ')
	from=$(lines)
	qmp plug "${kind}p1" "$img" PULL
	if wait_console '"event": *"progress"' 240 "$from" >/dev/null; then
		qmp unplug "${kind}p1"
		# The unit's run (exit 7), then its restart 10 s later (RestartSec), on a vanished node.
		wait_console 'UNIT-EXIT .*' 120 "$from" >/dev/null
		local restart=$(lines)
		wait_console 'UNIT-EXIT .*' 60 "$restart" >/dev/null
		unit_events "$from" "$d/ev-pull"
		t "$K pulled mid-stream: exit 7 (failed, io); the restart: exit 3 (exits: $(unit_exits "$from"))" \
			test "$(unit_exits "$from")" = "7 3"
		t "$K pulled: the result says io" ev_has "$d/ev-pull" 'e["event"] == "result" and e["status"] == "failed" and e["reason"] == "io"'
		t "$K pulled: the restart found the stick gone (\"no longer there\")" \
			ev_has "$d/ev-pull" 'e["event"] == "result" and e["status"] == "no-bundle" and "no longer there" in e["message"]'
		t "$K pulled: nothing activated, the factory image runs" test "$(app_sha)" = "$(sha "$tmp/app/main.bin")"
		t "$K pulled: no staging file left beside the target" test "$(vsh 'ls -A /opt/app' | tr '\n' ' ')" = "$appdir"
		# Plugged back in: the same stick installs (the start limit was not used up).
		plug_run "$kind" "$img" "${kind}p2" PULL
		t "$K pulled, plugged back in: exit 0 (got $code), runs u-pull" eval 'test "$code" = 0 && test "$(app_sha)" = "$(sha u-pull.bin)"'
	else
		not_ok "$K pulled: no progress event (the install never started streaming)"
		qmp unplug "${kind}p1"
	fi

	# Write-protected stick (the drive read-only in qemu: the guest sees a write-protected disk).
	mk "$d/ro.uptane" u-ro.bin && stick "$kind" "$d/ro.img" "$d/ro.uptane" || { not_ok "$K stick"; return; }
	n=$(vsh 'ls /var/lib/uptane-offline/state/reports | wc -l' | head -1)
	plug_run "$kind" "$d/ro.img" "${kind}r" RO ro
	t "$K write-protected stick: installs (exit 0), runs u-ro" eval 'test "$code" = 0 && test "$(app_sha)" = "$(sha u-ro.bin)"'
	t "$K write-protected: a report-not-on-medium warning (read-only)" \
		ev_has "$ev" 'e["event"] == "warning" and e["code"] == "report-not-on-medium" and "read-only" in e["message"]'
	t "$K write-protected: no report on the stick" test -z "$(report_counter "$kind" "$d/ro.img")"
	# The report stayed in the state directory: one more there, installed, signed.
	vsh 'f=$(ls /var/lib/uptane-offline/state/reports | sort -n | tail -1); cat /var/lib/uptane-offline/state/reports/$f' >"$d/r-ro.json"
	t "$K write-protected: the report is kept in the state directory, verifies, installed u-ro" \
		eval 'test "$(vsh "ls /var/lib/uptane-offline/state/reports | wc -l" | head -1)" = $((n + 1)) &&
			report_ok "$d/r-ro.json" "$tmp/prov/config/device.pub" &&
			rep_is "$d/r-ro.json" "s[\"result\"][\"status\"] == \"installed\" and s[\"bundle\"][\"file\"] == \"ro.uptane\""'

	# Several bundles: the installed one in uptane/, a newer one at the top, a macOS "._"
	# companion and a hidden file that look like bundles: the newer installs, the other is
	# skipped as up to date, the decoys never considered.
	mk "$d/new.uptane" u-new.bin && head -c 4096 /dev/urandom >"$d/._new.uptane" && head -c 4096 /dev/urandom >"$d/.b9.uptane"
	img=$d/several.img
	stick "$kind" "$img" "$d/new.uptane" "$d/._new.uptane" "$d/.b9.uptane" && stick_put "$kind" "$img" uptane "$d/ro.uptane" ||
		{ not_ok "$K stick"; return; }
	plug_run "$kind" "$img" "${kind}s" SEVERAL
	t "$K several bundles: the newest installs (exit 0, runs u-new)" eval 'test "$code" = 0 && test "$(app_sha)" = "$(sha u-new.bin)"'
	t "$K several: uptane/ro.uptane skipped as up-to-date; ._ and hidden files never considered" $PY - "$ev" <<'PY'
import json, sys
ev = []
for l in open(sys.argv[1]):
    try: ev.append(json.loads(l))
    except ValueError: pass
sk = [e for e in ev if e["event"] == "skipped"]
assert len(sk) == 1 and sk[0]["file"].endswith("uptane/ro.uptane") and sk[0]["status"] == "up-to-date", sk
assert not any("._" in json.dumps(e) or ".b9" in json.dumps(e) for e in ev)
PY
	t "$K several: the report on the stick lists the skipped bundle" \
		eval 'stick_report "$kind" "$img" "$d/r-sev.json" && rep_is "$d/r-sev.json" "[x[\"file\"] for x in s.get(\"skipped\", [])] == [\"ro.uptane\"]"'
	local names
	names=$(report_names "$kind" "$img")
	t "$K several: only N.json in the report directory, no temp file left ($(echo $names))" \
		eval '[ -n "$names" ] && ! grep -qv "^[0-9][0-9]*\.json$" <<<"$names"'

	# Split volumes (FAT32's 4 GiB file limit: .000, .001, ...).
	mkdir -p "$d/split" && B assign ws --device VIN-1 --ecu ecu-main=u-split.bin && B create ws -o "$d/split/sp.uptane" --device VIN-1 --split-size 1M && stick "$kind" "$d/split.img" "$d"/split/sp.uptane.* ||
		{ not_ok "$K stick"; return; }
	plug_run "$kind" "$d/split.img" "${kind}v" SPLIT
	t "$K split volumes ($(ls "$d/split" | wc -l)): exit 0, runs u-split" eval 'test "$code" = 0 && test "$(app_sha)" = "$(sha u-split.bin)"'

	# A full stick: installs; the report cannot go on it, stays on the device, a warning says so.
	mk "$d/full.uptane" u-full.bin && stick "$kind" "$d/full.img" "$d/full.uptane" && stick_fill "$kind" "$d/full.img" ||
		{ not_ok "$K full stick"; return; }
	plug_run "$kind" "$d/full.img" "${kind}f" FULL
	t "$K full stick: installs (exit 0, runs u-full)" eval 'test "$code" = 0 && test "$(app_sha)" = "$(sha u-full.bin)"'
	t "$K full: warning, the report could not be written and stayed on the device" \
		ev_has "$ev" 'e["event"] == "warning" and e["code"] == "report-not-on-medium" and "could not be written" in e["message"]'
	t "$K full: no report on the stick" test -z "$(report_counter "$kind" "$d/full.img")"
	halt
}
for kind in fat32 exfat; do
	want "media $kind: no bundle, another device, pulled, write-protected, several, split, full" && media_suite "$kind"
done
