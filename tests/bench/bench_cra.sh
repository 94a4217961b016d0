#!/usr/bin/env bash
# CRA vulnerability handling at fleet scale (docs/sbom.md), release build:
#  - sbom import of one signed target whose SBOM lists 10 000 components (CycloneDX 1.5, made
#    here): target under 1 s;
#  - reports affected --osv over 100 000 devices x 3 ECUs running 100 distinct images of 500
#    components each (the ledger filled by Python's sqlite3 in one transaction, once, into
#    build/bench-cra/): target under 1 s, for an advisory hitting one of the 100 images (3 000
#    rows) and one hitting ten (30 000 rows).
#   tests/bench/bench_cra.sh [BUILDDIR]     (default build/release)
set -u
builddir=${1:-build/release}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
BUNDLE=$top/$builddir/uptane-bundle
PY=/usr/bin/python3
data=$top/build/bench-cra
devices=100000 ecus=3 images=100 per_image=500 big=10000 limit_ms=1000
[ -x "$BUNDLE" ] || { echo "not ok - $BUNDLE is not built"; exit 1; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
fail=0

# ---- import of a 10 000-component SBOM ----
imp=$data/import
rm -rf "$imp"
mkdir -p "$imp"
$PY - "$imp/big.cdx.json" "$big" <<'PY' || exit 1
import hashlib, json, sys
n = int(sys.argv[2])
comps = [{"type": "library", "name": f"pkg-{i}", "version": f"1.{i % 97}.{i}",
          "purl": f"pkg:npm/pkg-{i}@1.{i % 97}.{i}", "supplier": {"name": "Example"},
          "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(str(i).encode()).hexdigest()}]}
         for i in range(n)]
json.dump({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps},
          open(sys.argv[1], "w"))
PY
(
	cd "$imp" && mkdir k && cd k &&
		for r in root targets snap ts droot dtargets dsnap dts osnap oupd; do "$BUNDLE" key generate $r >/dev/null || exit 1; done
) || exit 1
(
	cd "$imp" && "$BUNDLE" init ws --root-key k/root.key --targets-key k/targets.key \
		--snapshot-key k/snap.key --timestamp-key k/ts.key --director-root-key k/droot.key \
		--director-targets-key k/dtargets.key --director-snapshot-key k/dsnap.key \
		--director-timestamp-key k/dts.key --offline-snapshot-key k/osnap.key \
		--offline-updates-key k/oupd.key >/dev/null &&
		head -c 4096 /dev/urandom >img.bin &&
		"$BUNDLE" target add ws img.bin --hardware-id board --sbom big.cdx.json >/dev/null &&
		"$BUNDLE" assign ws --hardware-id board=img.bin >/dev/null &&
		"$BUNDLE" create ws -o b.uptane --fleet f >/dev/null &&
		"$BUNDLE" key generate dev >/dev/null &&
		"$BUNDLE" devices add --ledger import.db --device D --public-key dev.pub >/dev/null
) || { echo "not ok - setting up the import workspace"; exit 1; }
t0=$(date +%s%N)
out=$("$BUNDLE" sbom import "$imp/ws" --ledger "$imp/import.db" | tail -1)
import_ms=$(ms "$t0")
stored=$(sqlite3 "$imp/import.db" 'SELECT count(*) FROM sbom_components')
echo "sbom import of a $big-component SBOM ($(stat -c %s "$imp/big.cdx.json") bytes): $import_ms ms ($out; $stored stored) [target < $limit_ms ms]"
if [ "$stored" = "$big" ] && [ "$import_ms" -lt "$limit_ms" ]; then
	echo "ok - sbom import: $big components in $import_ms ms"
else
	echo "not ok - sbom import: $big components in $import_ms ms ($stored stored)"
	fail=1
fi

# ---- affected over 100 000 devices x 3 ECUs ----
stamp="$(sha256sum "$0" | cut -c1-16) $devices $ecus $images $per_image"
if [ "$(cat "$data/stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -f "$data/fleet.db" "$data/stamp"
	cp "$imp/import.db" "$data/fleet.db" # the schema, SBOM tables included, as our build makes it
	t0=$(date +%s%N)
	$PY - "$data/fleet.db" "$devices" "$ecus" "$images" "$per_image" <<'PY' || exit 1
import hashlib, sqlite3, sys
db, ndev, necu, nimg, per = sys.argv[1], *map(int, sys.argv[2:])
c = sqlite3.connect(db)
c.execute("DELETE FROM sbom_components"); c.execute("DELETE FROM sbom_targets"); c.execute("DELETE FROM devices")
sha = [hashlib.sha256(b"image-%d" % k).hexdigest() for k in range(nimg)]
c.executemany("INSERT INTO sbom_targets VALUES (?, ?, 'CycloneDX', '1.5', ?, ?, '2026-01-01T00:00:00Z')",
              [(sha[k], f"image-{k}.bin", hashlib.sha256(b"sbom-%d" % k).hexdigest(), per) for k in range(nimg)])
# image k holds lib-0 .. lib-(per-1), each at version 1.k.0
c.executemany("INSERT INTO sbom_components VALUES (?, ?, ?, ?, ?, ?, NULL, 'Example', NULL)",
              ((sha[k], j, f"lib-{j}", f"1.{k}.0", f"pkg:npm/lib-{j}@1.{k}.0", f"pkg:npm/lib-{j}")
               for k in range(nimg) for j in range(per)))
def devs():
    for d in range(ndev):
        yield (f"VIN-{d:06d}", hashlib.sha256(b"%d" % d).hexdigest(), "00" * 32,
               "2024-01-01", 5 + d % 10, "2026-01-01T00:00:00Z")
c.executemany("INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?)", devs())
def reps():
    for d in range(ndev):
        t = "2026-%02d-%02dT12:00:00Z" % (1 + d % 5, 1 + d % 28)
        yield (f"VIN-{d:06d}", 1, "00" * 32, t, t, "b.uptane", "device", f"VIN-{d:06d}:1",
               "installed", None, None, "bench", "2026-06-01T00:00:00Z", b"{}")
c.executemany("INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", reps())
def ecus():
    for d in range(ndev):
        for e in range(necu):
            k = (d * necu + e) % nimg
            yield (f"VIN-{d:06d}", 1, f"ecu-{e}", f"image-{k}.bin", 1000, sha[k], "", None, 1, "installed")
c.executemany("INSERT INTO ecu_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ecus())
c.commit()
c.execute("ANALYZE")
c.close()
PY
	echo "generated the fleet ledger ($devices devices x $ecus ECUs, $images images x $per_image components) in $(ms "$t0") ms (Python sqlite3, once)"
	echo "$stamp" >"$data/stamp"
fi
sync
load=$(cut -d' ' -f1 /proc/loadavg)
TIMEFORMAT='%U %S'
# affected ADVISORY WANT_ROWS: three runs; passes when the best wall time is under the limit.
# Wall time is the target; on a shared machine (load average above the cores) the CPU time
# (user + sys) is printed beside it, so a busy machine is told from a slow query.
affected() {
	local adv=$1 want=$2 best=999999 best_cpu=999999 run t st user sys cpu rows unknown
	for run in 1 2 3; do
		t0=$(date +%s%N)
		{ time "$BUNDLE" reports affected --ledger "$data/fleet.db" --osv "$adv" --at 2026-06-01 --json >"$data/affected.json"; } 2>"$data/time"
		st=$? t=$(ms "$t0")
		[ "$st" -eq 0 ] || { echo "not ok - reports affected exited $st"; return 1; }
		read -r user sys <"$data/time"
		cpu=$($PY -c "print(int(($user + $sys) * 1000))")
		echo "reports affected --osv $(basename "$adv") --json, run $run: $t ms wall, $cpu ms cpu"
		[ "$t" -lt "$best" ] && best=$t
		[ "$cpu" -lt "$best_cpu" ] && best_cpu=$cpu
	done
	rows=$(grep -c '"status": "affected"' "$data/affected.json")
	unknown=$(grep -c '"status": "unknown"' "$data/affected.json")
	echo "  $rows affected rows, $unknown unknown (want $want, 0); load average before: $load; $(nproc) cores"
	if [ "$rows" -eq "$want" ] && [ "$unknown" -eq 0 ] && [ "$best" -lt "$limit_ms" ]; then
		echo "ok - reports affected over $devices devices x $ecus ECUs, $want rows: $best ms (best of 3; $best_cpu ms cpu)"
	else
		echo "not ok - reports affected over $devices devices x $ecus ECUs, $want rows: $best ms wall, $best_cpu ms cpu (best of 3), $rows rows"
		return 1
	fi
}
# one image of the 100 affected (3 000 ECUs), then ten (30 000)
cat >"$data/osv1.json" <<'JSON'
{"id": "BENCH-1", "affected": [{"package": {"ecosystem": "npm", "name": "lib-42"},
 "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.50.0"}, {"fixed": "1.51.0"}]}]}]}
JSON
cat >"$data/osv10.json" <<'JSON'
{"id": "BENCH-10", "affected": [{"package": {"ecosystem": "npm", "name": "lib-42"},
 "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.50.0"}, {"fixed": "1.60.0"}]}]}]}
JSON
affected "$data/osv1.json" $((devices * ecus / images)) || fail=1
affected "$data/osv10.json" $((devices * ecus / images * 10)) || fail=1
exit $fail
