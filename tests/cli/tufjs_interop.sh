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

out=$UPT_BUILD/interop
mkdir -p "$out"
flags=(-std=c11 -g -O1 -D_GNU_SOURCE -Iformats/include $(pkg-config --cflags libsodium jansson))
case $UPT_BUILD in */asan) flags+=(-fsanitize=address,undefined -fno-sanitize-recover=all) ;; esac
libs=$(pkg-config --libs libsodium libcrypto libarchive libzstd jansson)
if ! ${CC:-cc} "${flags[@]}" -o "$out/harness" $idir/harness.c "$UPT_BUILD/libuptane-formats.a" $libs -pthread ||
   ! ${CC:-cc} "${flags[@]}" -o "$out/genrepo" $idir/genrepo.c tests/unit/scenario.c \
	"$UPT_BUILD/libuptane-formats.a" $libs -pthread; then
	not_ok "tuf-js interop: harness and generator build"
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
