#!/usr/bin/env bash
# Bundle creation speed and memory: `uptane-bundle create` of a 256 MiB realistic image
# (concatenated ELF files from /usr/lib and /usr/bin) against `bsdtar --zstd` level 3
# (libarchive-tools) packing the same image, in the same run.
# Goals: single-threaded create <= 1.1x bsdtar's time; create --threads 2 faster than bsdtar;
# peak RSS small and independent of the image size (streamed, constant memory).
# Each timing is the best of UPT_BENCH_RUNS (default 5) interleaved runs: this VM's CPU speed
# swings by 20-30% from one run to the next, so a few more rounds keep the best-of honest. Wall time judges both goals when the machine
# has idle cores (load average below the number of cores). On a busy shared machine (2 cores,
# other engineers' builds and tests) wall and even CPU time swing by 30% from run to run, so the
# single-thread goal is then judged on the exact work done: instructions counted by valgrind's
# callgrind for both tools on a 32 MiB prefix of the image (deterministic, load-independent);
# the 2-thread goal needs an idle second core and is reported as not judged.
# Exit 1 when a judged goal is missed.
#   tests/bench/bench_create.sh BUILDDIR
set -u
builddir=${1:-build/release}
top=$(cd "$(dirname "$0")/../.." && pwd)
BUNDLE=$top/$builddir/uptane-bundle
PY=/usr/bin/python3
for tool in bsdtar /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench_create: $tool missing (make deps)"; exit 1; }
done
[ -x "$BUNDLE" ] || { echo "bench_create: $BUNDLE missing (make BUILD=release)"; exit 1; }
tmp=$(mktemp -d /tmp/upt-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

SIZE=$((256 * 1024 * 1024))
$PY - "$SIZE" image.bin <<'PY'
import os, sys
size, out = int(sys.argv[1]), sys.argv[2]
done = 0
with open(out, "wb") as o:
    while done < size:  # realistic firmware-like content: real executables and libraries
        for root in ("/usr/lib", "/usr/bin"):
            for d, _, files in sorted(os.walk(root)):
                for f in sorted(files):
                    p = os.path.join(d, f)
                    try:
                        if os.path.islink(p) or not os.path.isfile(p):
                            continue
                        with open(p, "rb") as i:
                            data = i.read()
                    except OSError:
                        continue
                    if data[:4] != b"\x7fELF":
                        continue
                    data = data[: size - done]
                    o.write(data)
                    done += len(data)
                    if done >= size:
                        sys.exit(0)
PY
[ "$(stat -c %s image.bin)" -eq "$SIZE" ] || { echo "bench_create: could not build the image"; exit 1; }

for k in root targets snap ts droot dtargets dsnap dts; do "$BUNDLE" key generate "$k" >/dev/null; done
"$BUNDLE" init ws --root-key root.key --targets-key targets.key --snapshot-key snap.key \
	--timestamp-key ts.key --director-root-key droot.key --director-targets-key dtargets.key \
	--director-snapshot-key dsnap.key --director-timestamp-key dts.key >/dev/null || exit 1
"$BUNDLE" target add ws image.bin --hardware-id board >/dev/null || exit 1
"$BUNDLE" assign ws --device VIN-1 --ecu main=image.bin >/dev/null || exit 1
cat image.bin >/dev/null # warm the page cache for both tools alike

# run CMD..: 3 runs, interleaved by the caller; appends "wall cpu rss" lines to $1.times
run() {
	local name=$1; shift
	rm -f out.uptane out.tar.zst
	/usr/bin/time -f '%e %U %S %M' -o t.txt "$@" >/dev/null 2>err.txt || { cat err.txt; return 1; }
	read -r w u s m <t.txt
	echo "$w $u $s $m" >>"$name.times"
}
rm -f ./*.times
for i in $(seq "${UPT_BENCH_RUNS:-5}"); do
	run tar bsdtar --zstd --options zstd:compression-level=3 -cf out.tar.zst image.bin || exit 1
	sz_tar=$(stat -c %s out.tar.zst)
	# for information only (not judged): bsdtar plus an fsync of its output, the durability
	# create gives its bundle (create fsyncs every volume and the directory before renaming)
	run tarsync bash -c 'bsdtar --zstd --options zstd:compression-level=3 -cf out.tar.zst image.bin && sync out.tar.zst' || exit 1
	run t1 "$BUNDLE" create ws -o out.uptane --level 3 --threads 1 || exit 1
	sz_1=$(stat -c %s out.uptane)
	run t2 "$BUNDLE" create ws -o out.uptane --level 3 --threads 2 || exit 1
	sz_2=$(stat -c %s out.uptane)
done
load=$(cut -d' ' -f1 /proc/loadavg)
cores=$(nproc)

# Instructions (callgrind) for the same work on a 32 MiB prefix: load-independent.
ir_tar=0 ir_1=0
if command -v valgrind >/dev/null; then
	head -c $((32 * 1024 * 1024)) image.bin >prefix.bin
	"$BUNDLE" target add ws prefix.bin --hardware-id board >/dev/null
	"$BUNDLE" assign ws --device VIN-1 --ecu main=prefix.bin >/dev/null
	ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'; }
	ir_tar=$(ir bsdtar --zstd --options zstd:compression-level=3 -cf out.tar.zst prefix.bin)
	ir_1=$(ir "$BUNDLE" create ws -o out.uptane --level 3 --threads 1)
fi

$PY - "$sz_tar" "$sz_1" "$sz_2" "$SIZE" "$load" "$cores" "${ir_tar:-0}" "${ir_1:-0}" <<'PY'
import sys
s_tar, s1, s2, size = map(int, sys.argv[1:5])
load, cores = float(sys.argv[5]), int(sys.argv[6])
ir_tar, ir_1 = int(sys.argv[7]), int(sys.argv[8])
def best(name):
    rows = [tuple(map(float, l.split())) for l in open(name + ".times")]
    return min(r[0] for r in rows), min(r[1] + r[2] for r in rows), max(r[3] for r in rows)
(w_tar, c_tar, r_tar), (w1, c1, r1), (w2, c2, r2) = best("tar"), best("t1"), best("t2")
w_ts, c_ts, r_ts = best("tarsync")
mib = 1024 * 1024
rounds = [float(a.split()[0]) / float(b.split()[0]) for a, b in zip(open("t1.times"), open("tar.times"))]
print(f"image: 256 MiB of ELF files from /usr/lib and /usr/bin; best of {len(rounds)} interleaved runs; load average {load} on {cores} cores")
for name, w, c, r, s in (("bsdtar --zstd (level 3)         ", w_tar, c_tar, r_tar, s_tar),
                         ("uptane-bundle create --threads 1", w1, c1, r1, s1),
                         ("uptane-bundle create --threads 2", w2, c2, r2, s2)):
    print(f"  {name}  wall {w:6.2f} s  cpu {c:6.2f} s  {size / mib / w:6.1f} MiB/s  peak RSS {r / 1024:6.1f} MiB  output {s / mib:6.1f} MiB")
print(f"  (information: bsdtar + sync FILE  wall {w_ts:6.2f} s  cpu {c_ts:6.2f} s: the same durability as create;"
      f" create/that, 1 thread: wall {w1 / w_ts:.2f}x)")
if ir_tar and ir_1:
    print(f"  instructions (callgrind, 32 MiB prefix): bsdtar {ir_tar:,}  create {ir_1:,}")
print(f"  ratio create/bsdtar, 1 thread:  wall {w1 / w_tar:.2f}x  cpu {c1 / c_tar:.2f}x" +
      (f"  instructions {ir_1 / ir_tar:.3f}x" if ir_tar and ir_1 else "") + "   (goal <= 1.10x)")
print(f"  ratio create/bsdtar, 2 threads: wall {w2 / w_tar:.2f}x   (goal < 1.00x)")
print("  1-thread wall ratio of each round (create / the bsdtar run just before it): " +
      " ".join(f"{r:.2f}" for r in rounds) + f"; median {sorted(rounds)[len(rounds) // 2]:.2f}")
ok = r1 < 32 * 1024 and r2 < 128 * 1024
if not ok:
    print("  peak RSS over its bound (32 MiB single-threaded, 128 MiB with 2 workers)")
if load < cores:
    ok = ok and w1 <= 1.10 * w_tar and w2 < w_tar
    print(f"  goals judged on wall time (load {load} < {cores} cores)")
elif ir_tar and ir_1:
    ok = ok and ir_1 <= 1.10 * ir_tar
    print(f"  machine busy (load {load} on {cores} cores): 1-thread goal judged on instructions; "
          "2-thread goal not judged (no idle second core)")
else:
    ok = False
    print(f"  machine busy (load {load} on {cores} cores) and no valgrind: nothing can be judged")
print("bench_create:", "goals met" if ok else "GOAL MISSED")
sys.exit(0 if ok else 1)
PY
