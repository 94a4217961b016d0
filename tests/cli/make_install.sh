#!/usr/bin/env bash
# make install: a plain `make install PREFIX=/usr DESTDIR=rootfs` ships the
# release build (-O2, _FORTIFY_SOURCE), never the -O0 -g debug default, into $(PREFIX)/bin, with
# the man pages, the udev rule and the unit.
# Cheap on purpose (it runs inside make test, on the asan build): the release choice is checked
# on `make -n` (what would be compiled and copied, nothing built); the real copy is checked with
# the build under test (already built: make only copies), into a temporary DESTDIR.
source "$(dirname "$0")/lib.bash"
setup
# make test runs us from a make started with BUILD=asan: MAKEFLAGS and the environment (make
# exports command-line variables) would pass BUILD on.

mk -n install PREFIX=/usr DESTDIR="$tmp/dry" >"$tmp/dry.log" 2>&1
check "make -n install: copies build/release/ binaries to \$(PREFIX)/bin" \
	grep -q "install -m 0755 build/release/uptane-bundle build/release/uptane-install $tmp/dry/usr/bin/" "$tmp/dry.log"
check "make -n install: nothing from build/debug" bash -c "! grep -q 'build/debug/' '$tmp/dry.log'"
check "make -n install: what it compiles is -O2, never -O0 -g" \
	bash -c "! grep -E '^cc .*-O0' '$tmp/dry.log' | grep -q . && ! grep -E '^cc .* -c ' '$tmp/dry.log' | grep -v -- '-O2' | grep -q ."
check "make -n install: built nothing" test ! -e "$tmp/dry"

variant=$(basename "$UPT_BUILD")
mk install BUILD="$variant" BUILDDIR="$UPT_BUILD" PREFIX=/usr DESTDIR="$tmp/root" >"$tmp/real.log" 2>&1
rc=$?
check "make install BUILD=$variant: succeeds (exit $rc) $(tail -3 "$tmp/real.log" | tr '\n' ' ')" test "$rc" -eq 0
for f in usr/bin/uptane-bundle usr/bin/uptane-install; do
	check "$f installed, executable, the build's own" \
		bash -c "[ -x '$tmp/root/$f' ] && cmp -s '$tmp/root/$f' '$UPT_BUILD/$(basename $f)'"
done
for f in usr/share/man/man1/uptane-bundle.1 usr/share/man/man5/uptane-device.json.5 \
	usr/share/man/man8/uptane-install.8 lib/udev/rules.d/80-uptane-install.rules; do
	check "$f installed" test -s "$tmp/root/$f"
done
check "the unit runs \$(BINDIR)/uptane-install" \
	grep -q '^ExecStart=/usr/bin/uptane-install ' "$tmp/root/lib/systemd/system/uptane-install@.service"
finish
