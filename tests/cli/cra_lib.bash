# Helpers for the CRA tests (tests/cli/cra_*.sh): the pinned npm oracles of tests/interop/cra
# (@cyclonedx/cyclonedx-library's validator, semver), installed on first use (npm ci, from
# package-lock.json), and real SBOMs made by npm's own generator (npm sbom) from the small npm
# projects of tests/data/cra (their lock files only: no network once npm is installed).
CRA_NODE=$UPT_TOP/tests/interop/cra

# cra_oracles: installs the pinned node packages once; false (and says why) when it cannot
cra_oracles() {
	if [ ! -d "$CRA_NODE/node_modules/@cyclonedx/cyclonedx-library" ] ||
		[ ! -d "$CRA_NODE/node_modules/semver" ]; then
		(cd "$CRA_NODE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || {
			echo "# npm ci in tests/interop/cra failed (registry unreachable?)" >&2
			return 1
		}
	fi
}

# cra_sbom APP FORMAT OUT: npm sbom (cyclonedx or spdx) of tests/data/cra/APP
cra_sbom() {
	(cd "$UPT_TOP/tests/data/cra/$1" && npm sbom --sbom-format "$2" --package-lock-only) >"$3"
}
