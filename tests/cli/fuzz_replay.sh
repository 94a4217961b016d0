#!/usr/bin/env bash
# Replays every fuzz target's seed corpus (tests/fuzz/corpus_<name>/) through the target's
# LLVMFuzzerTestOneInput, linked with a plain driver (tests/fuzz/replay_main.c) against the
# library under test (ASan+UBSan in `make test`), so the corpora and every crash input ever
# fixed stay regression tests. The libFuzzer builds themselves are `make fuzz`.
source "$(dirname "$0")/lib.bash"
cd "$UPT_TOP"
out=$UPT_BUILD/fuzz-replay
mkdir -p "$out"
flags=(-std=c11 -g -O1 -D_GNU_SOURCE -Iformats/include $(pkg-config --cflags libsodium jansson))
case $UPT_BUILD in */asan) flags+=(-fsanitize=address,undefined -fno-sanitize-recover=all) ;; esac
libs=$(pkg-config --libs libsodium libcrypto libarchive libzstd jansson)
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=tests/fuzz/corpus_${name#fuzz_}
	if ! ${CC:-cc} "${flags[@]}" -o "$out/$name" "$src" tests/fuzz/replay_main.c \
		"$UPT_BUILD/libuptane-formats.a" $libs -pthread; then
		not_ok "$name: replay driver builds"
		continue
	fi
	n=$(find "$corpus" -type f | wc -l)
	if [ "$n" -lt 3 ]; then
		not_ok "$name: seed corpus $corpus has $n inputs"
		continue
	fi
	if res=$("$out/$name" "$corpus" 2>&1); then
		ok "$name: $res from $corpus"
	else
		echo "$res" | tail -20
		not_ok "$name: corpus replay"
	fi
done
finish
