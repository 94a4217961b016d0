# uptane-offline: one plain GNU Makefile.
#   make [BUILD=debug|release|asan|coverage] [WERROR=1]   library + uptane-bundle + uptane-install
#   make test        ASan+UBSan build, every unit and CLI test, ends with "N passed, N failed"
#   make vm-test     the device rig: qemu with Debian's kernel and systemd, USB sticks (tests/vm/)
#   make bench       benchmarks (tests/bench/)
#   make demo        build/demo/: keys, workspace, bundle, simulated device, install, status
#   make fuzz        libFuzzer targets (clang)
#   make install PREFIX=/usr/local DESTDIR=   the release build's binaries, man pages, udev rule, systemd unit
#   make deps        install missing Debian build dependencies (apt-get; sudo when not root)
#   make format-check
#   make CROSS=aarch64-linux-gnu|arm-linux-gnueabihf   cross build in build/cross-TRIPLET/ (release)
#   make test-cross  both cross builds, unit + installer CLI tests under qemu-user (tests/cross/run)
#   make deb         Debian packages (debian/, dpkg-buildpackage) into build/deb/ [DEB_ARCH=arm64]

# CROSS=TRIPLET: Debian's cross toolchain and multiarch libraries (docs/integration.md, "Cross
# builds"). A cross build is what ships on the device: release unless BUILD says otherwise, in
# its own tree, never build/release.
CROSS ?=
ifneq ($(CROSS),)
BUILD ?= release
BUILDDIR ?= build/cross-$(CROSS)$(if $(filter release,$(BUILD)),,-$(BUILD))
CC := $(CROSS)-gcc
AR := $(CROSS)-ar
PKG_CONFIG ?= $(CROSS)-pkg-config
CROSS_ARCH := $(shell dpkg-architecture -qDEB_HOST_ARCH -t$(CROSS) 2>/dev/null)
endif
BUILD ?= debug
BUILDDIR ?= build/$(BUILD)
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
CC ?= cc

PKGS := libsodium libcrypto libarchive libzstd jansson
USB_PKG := libusb-1.0
SQLITE_PKG := sqlite3
TEST_PKG := cmocka
DEB_BUILD_DEPS := build-essential pkg-config libsodium-dev libssl-dev libarchive-dev libzstd-dev \
	libjansson-dev libusb-1.0-0-dev libcmocka-dev libsqlite3-dev
# Test oracles and tools used by tests/ (independent implementations, real filesystems).
DEB_TEST_DEPS := python3 python3-securesystemslib python3-nacl faketime dosfstools mtools \
	libarchive-tools zstd strace clang libclang-rt-14-dev valgrind util-linux \
	systemd e2fsprogs man-db groff-base libubootenv-tool grub-common jq sqlite3 procps chromium
# The qemu device rig (make vm-test, tests/vm/): the machine, the rootfs builder, stick images,
# and what builds the amd64 package its second rootfs installs (make deb-build).
DEB_VM_DEPS := qemu-system-x86 mmdebstrap cpio exfatprogs exfat-fuse fdisk debhelper fakeroot dpkg-dev

# make deps CROSS=TRIPLET (or make deps-cross, both triplets): the cross toolchain, the libraries
# for the foreign architecture (multiarch :ARCH -dev packages), its pkg-config and qemu-user.
CROSS_TRIPLETS := aarch64-linux-gnu arm-linux-gnueabihf
DEB_CROSS_LIBS := libsodium-dev libssl-dev libarchive-dev libzstd-dev libjansson-dev \
	libusb-1.0-0-dev libcmocka-dev libsqlite3-dev pkgconf
DEB_CROSS_TOOLS := qemu-user dpkg-dev
cross_arch = $(if $(filter aarch64-linux-gnu,$(1)),arm64,$(if $(filter arm-linux-gnueabihf,$(1)),armhf,$(error CROSS=$(1): aarch64-linux-gnu or arm-linux-gnueabihf)))
cross_pkgs = crossbuild-essential-$(call cross_arch,$(1)) $(DEB_CROSS_LIBS:%=%:$(call cross_arch,$(1)))
# Debian packages (make deb, debian/): the packaging tools and lintian.
DEB_PKG_DEPS := debhelper devscripts lintian fakeroot dpkg-dev

DEPS_OK := $(shell $(PKG_CONFIG) --exists $(PKGS) $(USB_PKG) $(SQLITE_PKG) $(TEST_PKG) 2>/dev/null && echo 1)

ifeq ($(DEPS_OK),)
ifeq ($(filter deps deps-cross deps-deb clean format-check deb deb-build packages,$(MAKECMDGOALS)),)
# Dependencies are missing: install them, then run the requested goal again.
.DEFAULT_GOAL := all
all test bench demo fuzz install fuzz-replay check-vectors $(filter-out all test bench demo fuzz install fuzz-replay check-vectors,$(MAKECMDGOALS)):
	$(MAKE) deps
	$(MAKE) $@
endif
endif

# nodejs/npm only when missing: a NodeSource nodejs (which bundles npm) conflicts with
# Debian's npm package, and tuf-js only needs some node >= 18 with npm.
.PHONY: deps deps-cross deps-deb
# apt_install PACKAGES..: one apt-get install (sudo when not root); foreign architectures named
# in PACKAGES (pkg:arm64) are added to dpkg first.
apt_install = if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	for a in $(sort $(foreach p,$(1),$(if $(findstring :,$(p)),$(lastword $(subst :, ,$(p)))))); do \
		dpkg --print-foreign-architectures | grep -qx $$a || $$SUDO dpkg --add-architecture $$a; done; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(1)
deps:
	@$(call apt_install,$(DEB_BUILD_DEPS) $(DEB_TEST_DEPS) $(DEB_VM_DEPS) \
		$(if $(CROSS),$(call cross_pkgs,$(CROSS)) $(DEB_CROSS_TOOLS))) && \
	if ! command -v npm >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			nodejs npm; fi
deps-cross:
	@$(call apt_install,$(foreach t,$(CROSS_TRIPLETS),$(call cross_pkgs,$(t))) $(DEB_CROSS_TOOLS))
deps-deb:
	@$(call apt_install,$(DEB_PKG_DEPS))

ifeq ($(DEPS_OK),1)

WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wconversion -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif

ifeq ($(BUILD),debug)
OPT := -O0 -g
else ifeq ($(BUILD),release)
OPT := -O2 -DNDEBUG -D_FORTIFY_SOURCE=2 -fstack-protector-strong
else ifeq ($(BUILD),asan)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDOPT := -fsanitize=address,undefined
else ifeq ($(BUILD),coverage)
OPT := -O0 -g --coverage
LDOPT := --coverage
else
$(error BUILD must be debug, release, asan or coverage)
endif

BUILD_TIME := $(shell date -u +%s)
# --version (formats/src/base/version.c): our version and the build variant.
VERSION ?= 0.1.0
CPPFLAGS += -D_GNU_SOURCE -Iformats/include $(shell $(PKG_CONFIG) --cflags $(PKGS))
# 64-bit off_t and time_t on 32-bit targets too (armhf: Debian 12's default time_t is 32 bits):
# images over 4 GiB and expiries past 2038. Harmless where they are 64 bits already. Two objects
# call a library whose ABI has a time_t and which Debian 12 builds with the default one:
# TIME_ABI_OBJ below.
CPPFLAGS += -D_FILE_OFFSET_BITS=64 $(TIME64)
TIME64 := -D_TIME_BITS=64
CFLAGS += $(WARN) $(OPT) -fPIE -pthread -MMD -MP
LDFLAGS += $(LDOPT) -pthread
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
# libusb is dlopen'ed by installer/usb.c when `watch` starts (only its header is needed here):
# an install never maps libusb and libudev. dlopen is in libc since glibc 2.34; -ldl for older.
USB_LIBS := -Wl,--push-state,--as-needed -ldl -Wl,--pop-state
SQLITE_LIBS := $(shell $(PKG_CONFIG) --libs $(SQLITE_PKG))
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs $(TEST_PKG))

# uptane-install's link (an install's peak RSS stays at most 8 MiB, tests/bench). INSTALLER_STATIC=1 links
# libarchive, libcrypto, libzstd, libsodium and jansson into uptane-install statically, so an
# install maps only the objects it uses: dynamically, libarchive alone drags in libxml2, ICU
# (libicuuc + libicudata), libstdc++, liblzma, lz4, bz2, nettle and acl, and every mapped
# library costs resident pages (page-cache fault-around, relocations). Measured with
# tests/bench/bench_install.sh (256 MiB, 1 GiB, 4 GiB sparse images): peak RSS 13.5, 13.4,
# 13.3 MiB dynamic; 6.4, 6.6, 6.2 MiB static (with hash.c off EVP and libusb dlopen'ed).
# Security trade-off: a libarchive/OpenSSL/libsodium/zstd/jansson security fix then needs a
# rebuild of uptane-install, not only a package upgrade (acceptable: the installer is itself
# delivered by bundles). It stays a PIE with full RELRO (-z relro -z now, checked by
# tests/cli/install_linkage.sh); libc stays dynamic. Default on in every build, so the tests
# run against the binary we ship; INSTALLER_STATIC=0 links the shared libraries instead.
INSTALLER_STATIC ?= 1
INSTALL_HARDEN := -pie -Wl,-z,relro -Wl,-z,now
ifeq ($(INSTALLER_STATIC),1)
# Explicit order (an archive must follow what uses it). With only the tar reader used,
# libarchive.a needs nothing else; a missing .a fails the link rather than falling back.
INSTALL_LIBS := $(shell $(PKG_CONFIG) --libs-only-L $(PKGS)) \
	-Wl,-Bstatic -larchive -lcrypto -lzstd -lsodium -ljansson -Wl,-Bdynamic
else
INSTALL_LIBS := $(LIBS)
endif
# The link line is a prerequisite of the binary: switching INSTALLER_STATIC relinks it.
INSTALL_LINK := $(BUILDDIR)/installer.link
INSTALL_LINK_LINE := $(INSTALL_HARDEN) $(INSTALL_LIBS)
ifneq ($(shell cat $(INSTALL_LINK) 2>/dev/null),$(strip $(INSTALL_LINK_LINE)))
$(shell mkdir -p $(BUILDDIR) && echo '$(strip $(INSTALL_LINK_LINE))' >$(INSTALL_LINK))
endif

# The library by layer: base (errors, buffers, files, hashes, JSON, time), uptane (metadata,
# signatures, trusted state, the verification engine), bundle (the container), device (the
# device configuration, its state records, reports).
LIB_SRC := $(sort $(wildcard formats/src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILDDIR)/%.o)
LIB := $(BUILDDIR)/libuptane-formats.a

BUNDLE_SRC := $(sort $(wildcard bundler/*.c))
BUNDLE_OBJ := $(BUNDLE_SRC:%.c=$(BUILDDIR)/%.o)
INSTALL_SRC := $(sort $(wildcard installer/*.c))
INSTALL_OBJ := $(INSTALL_SRC:%.c=$(BUILDDIR)/%.o)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILDDIR)/tests/%)
# Shared test helpers (tests/unit/*.c that are not test_*.c) go into every unit binary.
TESTLIB_SRC := $(filter-out $(UNIT_SRC),$(sort $(wildcard tests/unit/*.c)))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILDDIR)/%.o)

# Interoperability helpers (tests/interop/*.c): test-only programs on the library, run by the
# CLI tests against independent implementations (securesystemslib, PyNaCl, tuf-js).
INTEROP_SRC := $(sort $(wildcard tests/interop/*.c))
INTEROP_BIN := $(INTEROP_SRC:tests/interop/%.c=$(BUILDDIR)/interop/%)

BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILDDIR)/bench/%)

BUNDLE_BIN := $(BUILDDIR)/uptane-bundle
INSTALL_BIN := $(BUILDDIR)/uptane-install

.DEFAULT_GOAL := all
.PHONY: all test bench demo fuzz fuzz-run fuzz-replay install format-check clean units
# Keep test objects: they are intermediate in the pattern chain and make would delete them.
.SECONDARY:

all: $(LIB) $(BUNDLE_BIN) $(INSTALL_BIN)

$(BUILDDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILDDIR)/installer/%.o: CPPFLAGS += $(shell $(PKG_CONFIG) --cflags $(USB_PKG)) -DUPT_BUILD_TIME=$(BUILD_TIME)
$(BUILDDIR)/bundler/%.o: CPPFLAGS += $(shell $(PKG_CONFIG) --cflags $(SQLITE_PKG))
$(BUILDDIR)/formats/src/base/version.o: CPPFLAGS += -DUPT_VERSION='"$(VERSION)"' -DUPT_BUILD_TYPE='"$(BUILD)"'
# --version says static or shared: main.o is rebuilt when INSTALLER_STATIC changes.
$(BUILDDIR)/installer/main.o: CPPFLAGS += -DUPT_INSTALLER_STATIC=$(INSTALLER_STATIC)
$(BUILDDIR)/installer/main.o: $(INSTALL_LINK)

# These call libarchive (archive_entry_set_mtime) and libusb (struct timeval) with a time_t in
# the ABI; Debian 12's armhf libraries have a 32-bit one, so these two objects are compiled with
# the default time_t the libraries were built with (bundle_writer.c checks the range).
TIME_ABI_OBJ := $(BUILDDIR)/formats/src/bundle/bundle_writer.o $(BUILDDIR)/installer/usb.o
$(TIME_ABI_OBJ): TIME64 :=

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(BUNDLE_BIN): $(BUNDLE_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(BUNDLE_OBJ) $(LIB) $(LIBS) $(SQLITE_LIBS)

$(INSTALL_BIN): $(INSTALL_OBJ) $(LIB) $(INSTALL_LINK)
	$(CC) $(LDFLAGS) $(INSTALL_HARDEN) -o $@ $(INSTALL_OBJ) $(LIB) $(INSTALL_LIBS) $(USB_LIBS)

$(BUILDDIR)/tests/%: $(BUILDDIR)/tests/unit/%.o $(TESTLIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(filter $(BUILDDIR)/bundler/%.o,$^) $(TESTLIB_OBJ) $(LIB) $(LIBS) $(CMOCKA_LIBS)

# Unit tests of station-side modules link the bundler object they test (never main.o).
$(BUILDDIR)/tests/test_version_order: $(BUILDDIR)/bundler/version_order.o
$(BUILDDIR)/tests/test_sbom: $(BUILDDIR)/bundler/sbom.o

# genrepo builds metadata with the unit tests' scenario generator.
$(BUILDDIR)/interop/genrepo: $(BUILDDIR)/tests/unit/scenario.o
$(BUILDDIR)/interop/%: $(BUILDDIR)/tests/interop/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LIBS)

$(BUILDDIR)/bench/%: $(BUILDDIR)/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LIBS)

units: $(UNIT_BIN) $(INTEROP_BIN)

# make test: always the ASan+UBSan build, then every unit binary and CLI script.
ifeq ($(BUILD),asan)
test: all units
	@tests/run $(BUILDDIR)
else
test:
	@$(MAKE) --no-print-directory BUILD=asan test
endif

bench:
	@$(MAKE) --no-print-directory BUILD=release all $(patsubst build/release/%,build/release/%,$(BENCH_SRC:tests/bench/%.c=build/release/bench/%))
	@tests/bench/run build/release

demo: all
	@bash samples/demo.sh $(BUILDDIR)

# libFuzzer targets (clang): the library is compiled once with coverage instrumentation.
#   make fuzz                 build/fuzz/fuzz_* (tests/fuzz/fuzz_*.c), clang ASan + UBSan
#   make fuzz-run [FUZZ_RUNS=10000000] [FUZZ_TIME=0]   each fuzzer for FUZZ_RUNS executions (or
#                             FUZZ_TIME seconds, 0: no time limit) on a copy of its corpus
#   make fuzz-replay          the seed corpora through the plain replay driver (ASan), as in make test
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_FLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_TIME ?= 0
FUZZ_RUNS ?= 10000000
fuzz: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_OBJ)

build/fuzz/formats/src/%.o: formats/src/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(CPPFLAGS) -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_format.h $(FUZZ_OBJ)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer $(CPPFLAGS) -o $@ $< $(FUZZ_OBJ) $(LIBS)

fuzz-run: fuzz
	@for b in $(FUZZ_BIN); do n=$$(basename $$b); c=build/fuzz/corpus_$${n#fuzz_}; \
	  mkdir -p $$c && cp -n tests/fuzz/corpus_$${n#fuzz_}/* $$c/ && \
	  $$b -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 -artifact_prefix=build/fuzz/$$n- $$c \
	    2>&1 | grep -E '^stat::number_of_executed_units|^==.*ERROR|^artifact_prefix|Test unit written' \
	    | sed "s|^|$$n: |" || exit 1; done

# The device rig: Debian's kernel and systemd in qemu, sticks hot-plugged (tests/vm/run).
.PHONY: vm-test vm-powercut
vm-test:
	@$(MAKE) --no-print-directory BUILD=release all
	@tests/vm/run
# Only the power-cut trials, 100 of them (PC_TRIALS); PC_BREAK_FSYNC=1 shows them failing
# with an installer that does not fsync its staged images.
vm-powercut:
	@$(MAKE) --no-print-directory BUILD=release all
	@PC_TRIALS=$${PC_TRIALS:-100} tests/vm/run power-cut

fuzz-replay:
	@$(MAKE) --no-print-directory BUILD=asan all
	@tests/run build/asan fuzz_replay

# What ships is the release build: a plain `make install` (BUILD not given) builds and installs
# build/release/, never the -O0 -g debug default. An explicit BUILD=... installs that variant.
ifeq ($(origin BUILD),file)
install:
	@$(MAKE) --no-print-directory BUILD=release install
else
install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BUNDLE_BIN) $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 docs/man/uptane-bundle.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/man/uptane-device.json.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 docs/man/uptane-install.8 $(DESTDIR)$(MANDIR)/man8/
	@if [ -f udev/install.mk ]; then $(MAKE) -f udev/install.mk DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) BINDIR=$(BINDIR); fi
endif

# Cross builds under emulation: both triplets built (-Werror), their unit tests and installer
# CLI tests run by qemu-user (tests/cross/run), the two triplets side by side (one qemu each);
# the bundler making the test bundles is native.
.PHONY: test-cross
test-cross:
	@$(MAKE) --no-print-directory BUILD=release all
	@for t in $(CROSS_TRIPLETS); do $(MAKE) --no-print-directory CROSS=$$t WERROR=1 all units || exit 1; done
	@for t in $(CROSS_TRIPLETS); do \
	  (tests/cross/run $$t >build/cross-$$t.log 2>&1; echo $$? >build/cross-$$t.rc) & done; wait; \
	  rc=0; for t in $(CROSS_TRIPLETS); do echo "=== $$t (qemu-user)"; cat build/cross-$$t.log; \
	  [ "$$(cat build/cross-$$t.rc)" = 0 ] || rc=1; done; exit $$rc

-include $(LIB_OBJ:.o=.d) $(BUNDLE_OBJ:.o=.d) $(INSTALL_OBJ:.o=.d) $(TESTLIB_OBJ:.o=.d) \
	$(UNIT_SRC:tests/unit/%.c=$(BUILDDIR)/tests/unit/%.d) \
	$(INTEROP_SRC:tests/interop/%.c=$(BUILDDIR)/tests/interop/%.d)

endif # DEPS_OK

# Debian packages (debian/): dpkg-buildpackage -b for DEB_ARCH (default: this machine's; arm64
# and armhf cross-build with `make deps-cross`), the .debs moved from the parent directory, where
# dpkg-buildpackage writes them, to build/deb/; lintian on each. make packages: all three.
DEB_ARCH ?= $(shell dpkg --print-architecture)
DEB_VERSION = $(shell dpkg-parsechangelog -SVersion)
DEB_FILES = $(foreach p,uptane-bundle uptane-install,../$(p)_$(DEB_VERSION)_$(DEB_ARCH).deb \
	../$(p)-dbgsym_$(DEB_VERSION)_$(DEB_ARCH).deb) ../uptane-offline_$(DEB_VERSION)_$(DEB_ARCH).buildinfo \
	../uptane-offline_$(DEB_VERSION)_$(DEB_ARCH).changes
.PHONY: deb deb-build packages
deb-build:
	dpkg-buildpackage -us -uc -b $(if $(filter-out $(shell dpkg --print-architecture),$(DEB_ARCH)),-a $(DEB_ARCH))
	@mkdir -p build/deb && for f in $(DEB_FILES); do if [ -e $$f ]; then mv -f $$f build/deb/; fi; done
deb: deb-build
	dpkg-deb -c build/deb/uptane-bundle_$(DEB_VERSION)_$(DEB_ARCH).deb
	dpkg-deb -c build/deb/uptane-install_$(DEB_VERSION)_$(DEB_ARCH).deb
	lintian --fail-on error build/deb/uptane-offline_$(DEB_VERSION)_$(DEB_ARCH).changes
packages:
	@for a in amd64 arm64 armhf; do $(MAKE) --no-print-directory deb DEB_ARCH=$$a || exit 1; done

FORMAT_SRC = $(shell find formats bundler installer tests -name '*.[ch]' 2>/dev/null)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format-check: clean"

format:
	@clang-format -i $(FORMAT_SRC)

clean:
	rm -rf build
