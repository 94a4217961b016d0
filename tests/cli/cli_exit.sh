#!/usr/bin/env bash
# The bundler's one exit table (bundler/args.h, issue 14 item 4):
#   - `uptane-bundle --help` prints it, and README.md and uptane-bundle(1) list the same statuses;
#   - the codes that moved to it: a malformed file to canonical is an input error (2, was 4);
#     a ledger that cannot be opened for writing is an input error for devices add (2, was 1);
#   - commands moved onto the shared option parser keep refusing what they refused, and now
#     refuse a single-valued option given twice (devices add --ledger twice, reports show
#     --json with --csv) with 2 and the usage;
#   - every status stays what scripts use: 0 ok, 2 usage error on every command.
source "$(dirname "$0")/lib.bash"
setup bundle
cd "$tmp" || exit 1

"$BUNDLE" --help >help 2>&1
for n in 0 1 2 3 4; do
	check "--help: exit status $n in the table" grep -qE "^  $n  [a-z]" help
	check "README: exit status $n in the bundler's table" \
		grep -qE "^\| $n \| " "$UPT_TOP/README.md"
	check "uptane-bundle(1): exit status $n under EXIT STATUS" bash -c \
		"sed -n '/^\.SH EXIT STATUS/,/^\.SH FILES/p' '$UPT_TOP/docs/man/uptane-bundle.1' |
		grep -qx '\.B $n'"
done

echo '{bad' >bad.json
check "canonical: malformed JSON is an input error (2)" expect_exit 2 "$BUNDLE" canonical bad.json
check "canonical: a missing file is an input error (2)" expect_exit 2 "$BUNDLE" canonical nope.json
check "canonical: two files (2)" expect_exit 2 "$BUNDLE" canonical bad.json bad.json
check "canonical: an unknown option (2)" expect_exit 2 "$BUNDLE" canonical --pretty bad.json
"$BUNDLE" key generate dev >/dev/null
check "key generate: an existing key is refused (2)" expect_exit 2 "$BUNDLE" key generate dev
check "key generate: no NAME (2)" expect_exit 2 "$BUNDLE" key generate
check "key generate: an unknown option (2)" expect_exit 2 "$BUNDLE" key generate --x448 k
check "key generate: an unknown subcommand (2)" expect_exit 2 "$BUNDLE" key make k
check "key generate NAME --x25519: the option after the name" \
	expect_exit 0 "$BUNDLE" key generate enc --x25519
check "  ... an X25519 pair" grep -q x25519 enc.pub

check "devices add: a ledger that cannot be created is an input error (2)" \
	expect_exit 2 "$BUNDLE" devices add --ledger /proc/nope.db --device V1 --public-key dev.pub
check "devices add: --ledger twice is a usage error (2)" \
	expect_exit 2 "$BUNDLE" devices add --ledger a.db --ledger b.db --device V1 \
	--public-key dev.pub
check "  ... neither ledger created" bash -c '[ ! -e a.db ] && [ ! -e b.db ]'
check "devices add: --device missing (2)" \
	expect_exit 2 "$BUNDLE" devices add --ledger l.db --public-key dev.pub
check "devices add: a stray word (2)" \
	expect_exit 2 "$BUNDLE" devices add --ledger l.db --device V1 --public-key dev.pub x
check "devices add --ledger=FILE: registered (0)" \
	expect_exit 0 "$BUNDLE" devices add --ledger=l.db --device V1 --public-key dev.pub
check "devices import: two CSVs (2)" expect_exit 2 "$BUNDLE" devices import --ledger l.db a b
check "devices list: an unknown option (2)" expect_exit 2 "$BUNDLE" devices list --ledger l.db -x
check "devices list --json (0)" expect_exit 0 "$BUNDLE" devices list --ledger l.db --json
check "reports show: --json with --csv (2)" \
	expect_exit 2 "$BUNDLE" reports show --ledger l.db --json --csv
check "reports show: a bad --at (2)" expect_exit 2 "$BUNDLE" reports show --ledger l.db --at x
check "reports show: a stray word (2)" expect_exit 2 "$BUNDLE" reports show --ledger l.db x
check "reports show --csv (0)" expect_exit 0 "$BUNDLE" reports show --ledger l.db --csv
check "reports ingest: no DIR (2)" expect_exit 2 "$BUNDLE" reports ingest --ledger l.db
check "reports ingest: an empty directory, nothing rejected (0)" \
	bash -c "mkdir -p empty/uptane-reports && '$BUNDLE' reports ingest empty --ledger l.db"
check "reports: an unknown subcommand (2)" expect_exit 2 "$BUNDLE" reports drop
check "devices: an unknown subcommand (2)" expect_exit 2 "$BUNDLE" devices drop
finish
