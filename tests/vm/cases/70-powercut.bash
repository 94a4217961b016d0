# Real power cuts. qemu is SIGKILLed by the host at a random
# instant of an install (the guest's page cache dies with it; what reached its virtio disks
# stays), then the device boots again and reports what survived: `uptane-install status` (which
# recovers an interrupted commit), the file target's bytes, both A/B slots and the boot slot.
# Both ECUs must run the old or the new version, with exactly its bytes, never a mix.
# The trials boot a minimal init (overlay/usr/local/sbin/vm-powercut-init), not systemd: one boot
# per trial, each reporting on the previous cut and then installing the next version.
# PC_TRIALS (30; make vm-powercut: 100) trials; PC_MB (4) MiB per image; PC_BREAK_FSYNC=1 runs
# them with an installer whose staged image is not fsynced (the demonstration that they fail).
pc_ab='{"serial":"pc-fw","hardware_id":"fw-p","install":{"type":"ab","slots":["/dev/vdc","/dev/vdd"],"activate":["/usr/local/sbin/vm-bootenv","{slot}"]}}'
pc_bytes=$((${PC_MB:-4} * 1048576))

# pc_version N: the images and the bundle of version N (pc/pc-N.uptane), their hashes recorded
pc_version() {
	local n=$1 d=$tmp/pc
	[ -f "$d/pc-$n.uptane" ] && return 0
	mkimage "$d/pc-main-$n.bin" "$pc_bytes" "pm$n" && mkimage "$d/pc-fw-$n.bin" "$pc_bytes" "pf$n" &&
		B target add ws "$d/pc-main-$n.bin" --hardware-id board-p --release-counter "$n" &&
		B target add ws "$d/pc-fw-$n.bin" --hardware-id fw-p --release-counter "$n" &&
		B assign ws --device VIN-PC --ecu pc-main=pc-main-$n.bin pc-fw=pc-fw-$n.bin &&
		B create ws -o "$d/pc-$n.uptane" --device VIN-PC || return 1
	pc_hashes "$n"
}
pc_hashes() { # pc_hashes N: adds version N's image hashes to pc/hashes.json
	$PY - "$tmp/pc" "$1" <<'PY'
import hashlib, json, os, sys
d, n = sys.argv[1], sys.argv[2]
p = os.path.join(d, "hashes.json")
h = json.load(open(p)) if os.path.exists(p) else {}
sha = lambda f: hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
h[n] = {"main": sha("pc-main-%s.bin" % n), "fw": sha("pc-fw-%s.bin" % n)}
json.dump(h, open(p, "w"))
PY
}
# pc_device: a factory device (version 0: main.bin and slot A hold pc-*-0, the boot slot is A)
pc_device() {
	local d=$tmp/pc
	rm -rf "$d" && mkdir -p "$d/prov/config" "$d/prov/state" "$d/app/boot" || return 1
	device_json "$d/prov/config" VIN-PC pc-main "$(file_ecu pc-main board-p /opt/app/main.bin)" "$pc_ab" &&
		sed -i 's|"state_dir": "state"|"state_dir": "/var/lib/uptane-offline/state"|' "$d/prov/config/device.json" &&
		mkimage "$d/pc-main-0.bin" "$pc_bytes" pm0 && mkimage "$d/pc-fw-0.bin" "$pc_bytes" pf0 || return 1
	pc_hashes 0
	cp "$d/pc-main-0.bin" "$d/app/main.bin" && echo 0 >"$d/app/boot/slot" &&
		truncate -s 64M "$d/vda.img" && mkfs.ext4 -q -E root_owner=0:0 -d "$d/prov" "$d/vda.img" &&
		truncate -s 64M "$d/vdb.img" && mkfs.ext4 -q -E root_owner=0:0 -d "$d/app" "$d/vdb.img" &&
		cp "$d/pc-fw-0.bin" "$d/vdc.img" && truncate -s "$pc_bytes" "$d/vdd.img"
}
# pc_bundles CUR: the bundles disk (vde) with versions CUR+1 and CUR+2: the guest installs the
# one after what it finds installed
pc_bundles() {
	local d=$tmp/pc
	pc_version $(($1 + 1)) && pc_version $(($1 + 2)) || return 1
	rm -rf "$d/b" "$d/vde.img" && mkdir "$d/b" &&
		ln "$d/pc-$(($1 + 1)).uptane" "$d/pc-$(($1 + 2)).uptane" "$d/b/" &&
		truncate -s $((pc_bytes * 6 / 1048576 + 8))M "$d/vde.img" &&
		mkfs.ext4 -q -E root_owner=0:0 -d "$d/b" "$d/vde.img"
}
# pc_boot MODE: boots the minimal init (MODE trial | check), serial log pc/serial.log
pc_boot() {
	local d=$tmp/pc x
	: >"$d/serial.raw"
	local drives=()
	for x in vda vdb vdc vdd vde; do drives+=(-drive "file=$d/$x.img,if=virtio,format=raw,cache=none"); done
	qemu-system-x86_64 -machine q35 -accel tcg -smp 2 -m 1024 -nographic -no-reboot \
		-kernel "$vm/vmlinuz" -initrd "$pc_initrd" \
		-append "console=ttyS0 rdinit=/usr/local/sbin/vm-powercut-init pcmode=$1 panic=-1 quiet loglevel=3" \
		"${drives[@]}" -nic none -serial "file:$d/serial.raw" -monitor none </dev/null >"$d/qemu.log" 2>&1 &
	qpid=$!
}
pc_wait() { # pc_wait SECONDS: qemu powered itself off
	local n=$(($1 * 10))
	while kill -0 "$qpid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	kill -9 "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; qpid=
	[ $n -gt 0 ]
}
pc_log() { tr -d '\r' <"$tmp/pc/serial.raw"; }
# An installer whose staged images are not fsynced (handlers.c stage_sync_close), appended to
# the initramfs as a second cpio archive (the kernel unpacks both, the later file wins).
pc_broken_initrd() {
	local s=$tmp/pc-src
	rm -rf "$s" && mkdir -p "$s" && cp -r "$top/Makefile" "$top/formats" "$top/installer" "$top/bundler" "$s/" || return 1
	grep -q 'if (fsync(s->fd) != 0)' "$s/installer/handlers.c" || { echo "# stage_sync_close has no fsync to remove"; return 1; }
	sed -i 's/if (fsync(s->fd) != 0)/if (0)/' "$s/installer/handlers.c"
	make -C "$s" --no-print-directory BUILD=release WERROR=0 build/release/uptane-install >/dev/null 2>&1 || return 1
	mkdir -p "$s/ov/usr/local/bin" && cp "$s/build/release/uptane-install" "$s/ov/usr/local/bin/" &&
		(cd "$s/ov" && find . | cpio -o -H newc --quiet) >"$s/ov.cpio" &&
		cat "$vm/initrd.cpio" "$s/ov.cpio" >"$tmp/pc/initrd-nofsync.cpio"
}

powercut() {
	local n=${PC_TRIALS:-30} cur=0 i r out span rolled=0 old=0 new=0 mixes=0
	local -A cuts=([verify]=0 [stream]=0 [sync]=0 [activate]=0 [after]=0)
	pc_device || { not_ok "power-cut: the factory device"; return; }
	pc_initrd=$vm/initrd.cpio
	if [ -n "${PC_BREAK_FSYNC:-}" ]; then
		pc_broken_initrd || { not_ok "power-cut: build the installer without the staging fsync"; return; }
		pc_initrd=$tmp/pc/initrd-nofsync.cpio
		echo "# PC_BREAK_FSYNC: the installer does not fsync staged images; these trials should fail"
	fi
	# The timing run: the factory state loads, version 1 installs uninterrupted.
	pc_bundles 0 || { not_ok "power-cut: bundles"; return; }
	pc_boot trial
	r=$($PY "$here/powercut.py" cut "$tmp/pc/serial.raw" "$qpid" -1 300)
	pc_wait 60
	pc_log >"$tmp/pc/boot-0.log"
	t "power-cut: the factory device's state loads" eval \
		'[ "$($PY "$here/powercut.py" check "$tmp/pc/boot-0.log" "$tmp/pc/hashes.json" 0)" = "old 0" ]'
	local sync_from sync_to
	read -r _ span sync_from sync_to <<<"$r"
	t "power-cut: the timing run installs version 1 uninterrupted ($r s)" test "${r%% *}" = finished || return
	echo "# $n trials, cuts spread over 0..$span s x 1.1 after the install starts; every 5th in the fsync and journal window $sync_from..$sync_to s"
	for i in $(seq 1 "$n"); do
		# what the previous boot's install did (cur + 1 attempted) is reported by this boot
		pc_bundles "$cur" || { not_ok "power-cut: bundles"; return; }
		pc_boot trial
		# stratified: trial i cuts in the i-th of n equal slices of 1.1 x the install's span;
		# every 5th instead inside the fsync and journal window, short next to the streaming
		local delay
		delay=$($PY -c 'import random, sys
i, n, s, a, b = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
print("%.4f" % (a + (b - a) * random.random() if i % 5 == 0 else s * 1.1 * (i - 1 + random.random()) / n))' \
			"$i" "$n" "$span" "$sync_from" "$sync_to")
		r=$($PY "$here/powercut.py" cut "$tmp/pc/serial.raw" "$qpid" "$delay" 300)
		wait "$qpid" 2>/dev/null; qpid=
		pc_log >"$tmp/pc/boot-$i.log"
		out=$($PY "$here/powercut.py" check "$tmp/pc/boot-$i.log" "$tmp/pc/hashes.json" "$cur")
		pc_outcome $((i - 1)) "$out" "$tmp/pc/boot-$i.log" || break # the chain of versions is broken: no further trials
		local what at ph
		IFS=$'\t' read -r what at ph r <<<"$r"
		[ "$what" = killed ] || { not_ok "power-cut trial $i: $what $at"; sed 's/^/#   /' "$tmp/pc/boot-$i.log" | tail -5; return; }
		kill_line="killed at $at s, $ph: $r"
		cuts[$ph]=$((cuts[$ph] + 1))
	done
	if [ "$mixes" = 0 ]; then
		pc_bundles "$cur" && pc_boot check || { not_ok "power-cut: the last check boot"; return; }
		pc_wait 120
		pc_log >"$tmp/pc/boot-final.log"
		out=$($PY "$here/powercut.py" check "$tmp/pc/boot-final.log" "$tmp/pc/hashes.json" "$cur")
		pc_outcome "$n" "$out" "$tmp/pc/boot-final.log"
	fi
	echo "# power-cut: $n trials: $old old, $new new, $mixes mixed; cuts while verifying ${cuts[verify]}, streaming ${cuts[stream]}, syncing and writing the journal ${cuts[sync]}, activating ${cuts[activate]}, after the install ${cuts[after]}; $rolled completed by status at the next boot"
	t "power-cut: $n trials, every one old or new after reboot" test "$mixes" = 0
	t "power-cut: cuts hit image streaming (${cuts[stream]}), the fsync and commit (${cuts[sync]}) and activation (${cuts[activate]})" \
		test "${cuts[stream]}" -ge 1 -a "${cuts[sync]}" -ge 1 -a "${cuts[activate]}" -ge 1
	t "power-cut: outcomes of both kinds (old $old, new $new), some after completing the commit ($rolled)" \
		test "$old" -ge 1 -a "$new" -ge 1 -a "$rolled" -ge 1
}
# pc_outcome TRIAL CHECK_OUTPUT LOG: prints the trial's line (kill_line from the trial itself)
pc_outcome() {
	local i=$1 out=$2 log=$3 outcome ver note
	read -r outcome ver note <<<"$out"
	if [ "$i" = 0 ]; then
		t "power-cut: after the timing run the device runs version 1 ($out)" test "$outcome $ver" = "new 1"
		cur=1
		return
	fi
	case $outcome in
	old | new)
		pass "power-cut trial $i: $kill_line, after reboot: $outcome${note:+ $note}"
		[ "$outcome" = old ] && old=$((old + 1)) || new=$((new + 1))
		[ -n "$note" ] && rolled=$((rolled + 1))
		cur=$ver ;;
	*)
		mixes=$((mixes + 1)); not_ok "power-cut trial $i: $kill_line, after reboot: $out"
		sed 's/^/#   /' "$log" | grep -E 'PC-|"event"' | tail -12
		return 1 ;;
	esac
}
want "power-cut" && powercut
