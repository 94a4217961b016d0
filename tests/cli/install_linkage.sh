#!/usr/bin/env bash
# How uptane-install is linked (Makefile, INSTALLER_STATIC: an install's peak RSS
# <= 8 MiB, measured by tests/bench/bench_install.sh):
#   - a PIE with full RELRO (-z relro -z now): static linking must not cost the hardening;
#   - libarchive, libcrypto, libzstd, libsodium and jansson are linked in, not loaded (nor
#     anything they drag in: libxml2, ICU, libstdc++..), and neither are libusb and libudev;
#   - hashing uses OpenSSL's low-level SHA code only: EVP and OPENSSL_init_crypto (providers,
#     config loading: ~3 MiB resident once linked in) are absent;
#   - libusb is only loaded by `watch`: with it unloadable, an install still succeeds and watch
#     falls back to polling /sys/block, saying why.
# The default build links statically; a build made with INSTALLER_STATIC=0 fails the second
# group on purpose (it is not what we ship).
source "$(dirname "$0")/lib.bash"
setup bundle install
wpid=
at_exit '[ -n "$wpid" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null'
cd "$tmp" || exit 1

if ! command -v readelf >/dev/null || ! command -v nm >/dev/null; then
	skip "readelf/nm (binutils) missing: linkage not checked"
	finish
fi
readelf -hdlW "$INSTALL_ELF" >elf 2>&1
check "a position-independent executable" \
	bash -c 'grep -q "Type: *DYN" elf && grep -q "FLAGS_1.*PIE" elf'
check "full RELRO: GNU_RELRO and BIND_NOW" \
	bash -c 'grep -q "GNU_RELRO" elf && grep -Eq "\(FLAGS\).*BIND_NOW|FLAGS_1.*NOW" elf'
needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' elf | tr '\n' ' ')
bad=$(echo "$needed" | tr ' ' '\n' |
	grep -E '^lib(archive|crypto|ssl|zstd|sodium|jansson|usb|udev|xml2|icu|stdc\+\+|lzma|lz4|bz2|nettle|acl)' |
	tr '\n' ' ')
check "no shared library but libc and the sanitizers (NEEDED: $needed)" test -z "$bad"
nm "$INSTALL_ELF" >syms 2>/dev/null
check "symbols present (not stripped): the next checks mean something" grep -q ' upt_hasher_new$' syms
check "no OpenSSL EVP or init machinery linked in" \
	bash -c '! grep -Eq " (OPENSSL_init_crypto|EVP_DigestInit_ex|OSSL_PROVIDER_load)$" syms'
check "the SHA-NI/AVX2 block functions are in" \
	bash -c 'grep -q " sha256_block_data_order$" syms && grep -q " sha512_block_data_order$" syms'
check "no zstd compressor linked in (the installer only decompresses)" \
	bash -c '! grep -Eq " ZSTD_compressStream2?$" syms'

# ---- without libusb ----
lib=${UPT_LIBUSB:-$(ldconfig -p 2>/dev/null | sed -n 's/.*libusb-1\.0\.so\.0 (libc6,x86-64) => //p' | head -1)}
if [ "$(id -u)" != 0 ] || [ -z "$lib" ] || ! unshare -m true 2>/dev/null; then
	skip "not root, no libusb or no mount namespaces: the run without libusb was not exercised"
	finish
fi
# nolib CMD..: CMD in a private mount namespace where libusb-1.0.so.0 is /dev/null (dlopen
# fails: "file too short"), as on a device that does not have libusb installed.
# It execs all the way down: run in the background, $! is the command's own pid.
nolib() {
	exec unshare -m --propagation private sh -c 'mount --bind /dev/null "$0" && exec "$@"' "$lib" "$@"
}
check "the namespace really hides libusb" test "$( (nolib cat "$lib") | wc -c)" = 0

ws_setup "$tmp" || { not_ok "workspace"; finish; }
WS=$tmp/ws
mkimage main.bin 200000 m1
"$BUNDLE" target add ws main.bin --hardware-id board-a --release-counter 1 >/dev/null &&
	"$BUNDLE" assign ws --device VIN-1 --ecu ecu-main=main.bin >/dev/null &&
	"$BUNDLE" create ws -o b1.uptane --device VIN-1 >/dev/null
check "bundler: b1" test -f b1.uptane
dev=$tmp/dev
device_json "$dev" VIN-1 ecu-main "$(file_ecu ecu-main board-a targets/main.bin)"
mkdir -p "$dev/targets"
code=$(cd "$dev" && (nolib "$INSTALL" --config device.json --json install "$tmp/b1.uptane") >"$tmp/o1" 2>"$tmp/o1.err"; echo $?)
expect_result "install without libusb" "$tmp/o1" "$code" 0 installed null
check "install without libusb: the image is in place" cmp -s "$dev/targets/main.bin" main.bin

(cd "$dev" && nolib "$INSTALL" --config device.json watch) >w1 2>&1 &
wpid=$!
waited=0
until grep -q 'Waiting for USB sticks' w1 2>/dev/null || [ $waited -ge 100 ]; do sleep 0.1; waited=$((waited + 1)); done
check "watch without libusb: polls /sys/block" grep -q 'Waiting for USB sticks (polling /sys/block' w1
check "watch without libusb: says why" grep -q 'libusb: .*libusb-1\.0\.so\.0' w1
grep -v '^$' w1 | sed 's/^/# /' | head -3
kill -TERM $wpid 2>/dev/null
wait $wpid
code=$?
wpid=
check "watch without libusb: SIGTERM stops it, exit 0 (got $code)" test "$code" = 0
finish
