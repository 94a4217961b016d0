# Shared helpers for CLI tests: TAP-style "ok - name" / "not ok - name" lines that tests/run
# counts. Source it; UPT_TOP and UPT_BUILD are set by tests/run (defaults for direct runs).
UPT_TOP=${UPT_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
UPT_BUILD=${UPT_BUILD:-$UPT_TOP/build/asan}
# The commands under test. UPT_INSTALL / UPT_BUNDLE replace them (tests/cross/run: the foreign
# installer through qemu-user, the native bundler); INSTALL_ELF is the installer's binary itself.
BUNDLE=${UPT_BUNDLE:-$UPT_BUILD/uptane-bundle}
INSTALL=${UPT_INSTALL:-$UPT_BUILD/uptane-install}
INSTALL_ELF=$UPT_BUILD/uptane-install
PY=/usr/bin/python3 # Debian's python: sees python3-securesystemslib (pyenv's does not)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
_fails=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; _fails=$((_fails + 1)); }
check() { # check NAME COMMAND...: passes when the command succeeds
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
skip() { echo "ok - SKIP $*"; }
finish() { exit $((_fails > 0)); }
mktmp() { mktemp -d /tmp/upt-test.XXXXXX; }
