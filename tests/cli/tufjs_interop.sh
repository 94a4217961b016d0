#!/usr/bin/env bash
# Independent TUF client check (docs/bundle-format.md: independent TUF clients read our Image
# repository): tuf-js 5 and @tufjs/models 4 from npm (installed into tests/interop/node_modules,
# gitignored) on Debian's node. Our metadata (tests/interop/genrepo.c, built on the scenario
# generator) must be accepted by tuf-js over HTTP from 127.0.0.1; repositories built with
# @tufjs/models, valid and attacked, must be judged alike by tuf-js and by our engine
# (tests/interop/harness.c), except the divergences tests/interop/interop.mjs lists with reasons.
# Without node/npm (or the registry) this fails: the check is part of the acceptance.
source "$(dirname "$0")/lib.bash"
cd "$UPT_TOP"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	not_ok "tuf-js interop: node and npm are required (Debian packages nodejs npm)"
	finish
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
	not_ok "tuf-js interop: node >= 20 required, found $(node --version)"
	finish
fi
idir=tests/interop
if [ ! -d $idir/node_modules/tuf-js ] || [ ! -d $idir/node_modules/@tufjs/models ]; then
	if ! (cd $idir && npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
		not_ok "tuf-js interop: npm install of tuf-js and @tufjs/models failed (registry unreachable?)"
		finish
	fi
fi
ok "tuf-js $(node -p "require('./$idir/node_modules/tuf-js/package.json').version"), @tufjs/models $(node -p "require('./$idir/node_modules/@tufjs/models/package.json').version"), node $(node --version)"

# The harness and the generator are built by the Makefile (make units) against this build.
out=$UPT_BUILD/interop
if [ ! -x "$out/harness" ] || [ ! -x "$out/genrepo" ]; then
	not_ok "tuf-js interop: $out/harness and genrepo are not built (make units)"
	finish
fi
work=$(mktmp)
trap 'rm -rf "$work"' EXIT
check "our Image repository generated (scenario generator, metabuild)" "$out/genrepo" "$work/ours"
mkdir -p "$work/cases"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} node $idir/interop.mjs "$out/harness" "$work/ours" "$work/cases"
status=$?
[ $status -eq 0 ] || not_ok "tuf-js interop: node test exited $status"
finish
