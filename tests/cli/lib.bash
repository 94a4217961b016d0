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

# setup [LIB..]: the prologue of a CLI test: sources the named helper libraries (bundle,
# install, usb: tests/cli/LIB_lib.bash, in that order), makes $tmp and removes it at exit
# (KEEP=1 keeps it and says where). Extra clean-up at exit: at_exit COMMAND.
_at_exit=()
at_exit() { _at_exit+=("$*"); }
_on_exit() {
	local cmd
	for cmd in "${_at_exit[@]}"; do eval "$cmd"; done
	if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
setup() {
	local lib
	for lib in "$@"; do
		# shellcheck source=/dev/null
		source "$UPT_TOP/tests/cli/${lib}_lib.bash"
	done
	tmp=$(mktmp)
	trap _on_exit EXIT
}
sha() { sha256sum "$1" | cut -d' ' -f1; } # sha FILE: its SHA-256, hex
# mk ARGS..: make in the top directory without what the calling make passes on (make test runs
# the scripts from a make started with BUILD=asan)
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u BUILDDIR make --no-print-directory -C "$UPT_TOP" "$@"; }
# run_lines WHAT OUT BINDIR < COMMANDS: runs each line as a command (bash -e) with BINDIR first
# on PATH, line N's output in OUT.N, a "not ok" naming each that fails (with its last lines);
# sets ran and failed to the counts. The README tests run the README's command blocks so.
run_lines() {
	local what=$1 out=$2 bindir=$3 cmd
	ran=0 failed=0
	while IFS= read -r cmd; do
		ran=$((ran + 1))
		if ! (PATH=$bindir:$PATH bash -e -c "$cmd") >"$out.$ran" 2>&1; then
			failed=$((failed + 1))
			not_ok "$what command $ran fails: ${cmd:0:100}"
			sed 's/^/#   /' "$out.$ran" | tail -4
		fi
	done
}
