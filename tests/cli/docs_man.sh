#!/usr/bin/env bash
# The documentation shipped with the tools (docs/man/, installed by make install):
#   - every --option that a tool's or a command's --help lists appears in that tool's man page
#     (a new option without documentation fails here, not in a technician's hands);
#   - man -l renders each page without a groff/man warning (a broken macro shows as text);
#   - every result reason and warning code the installer emits is in README and uptane-install(8);
#   - no file in the repository refers to the design notes outside it (a clone does not have
#     them: docs/ is the reference).
source "$(dirname "$0")/lib.bash"
man1=$UPT_TOP/docs/man/uptane-bundle.1
man5=$UPT_TOP/docs/man/uptane-device.json.5
man8=$UPT_TOP/docs/man/uptane-install.8
tmp=$(mktmp)
trap 'rm -rf "$tmp"' EXIT

# The options a page documents: roff source with "\-" as "-" and font escapes removed.
man_text() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(dq/"/g' "$1"; }
man_text "$man1" >"$tmp/man1"
man_text "$man8" >"$tmp/man8"

# check_help PAGE_TEXT LABEL COMMAND..: the help text (stdout and stderr: some commands print
# their usage on stderr) lists options; each must be in the page.
check_help() {
	local page=$1 label=$2 missing=
	shift 2
	"$@" --help >"$tmp/help" 2>&1
	local opts
	opts=$(grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u)
	if [ -z "$opts" ] && [ "$label" != "canonical" ] && [ "$label" != "key generate" ] &&
		[ "$label" != "sign" ]; then
		not_ok "$label --help lists options (got none)"
		return
	fi
	for o in $opts; do
		grep -qe "$o\b" "$page" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then ok "$label: every option of --help is in the man page"
	else not_ok "$label: not in the man page:$missing"; fi
}

check_help "$tmp/man1" "uptane-bundle" "$BUNDLE"
for c in "key generate" init delegate "target add" assign create rotate sign pack verify \
	inspect "devices add" "reports ingest" "reports affected" "sbom import" canonical; do
	# shellcheck disable=SC2086 # the command words split on purpose
	check_help "$tmp/man1" "$c" "$BUNDLE" $c
done
check_help "$tmp/man8" "uptane-install" "$INSTALL"

# device.json keys: every key the parser allows is in uptane-device.json(5).
man_text "$man5" >"$tmp/man5"
missing=
for k in device_id primary_ecu ecus state_dir trusted_roots report_key accept time_floor \
	serial hardware_id release_counter install type path slots activate confirm command \
	timeout_seconds '{slot}' '{device}' '{image}'; do
	grep -qF -- "$k" "$tmp/man5" || missing="$missing $k"
done
check "uptane-device.json(5) names every configuration key and placeholder${missing:+ (missing:$missing)}" \
	test -z "$missing"

# Every result reason and warning code the installer can emit is in README's list and in
# uptane-install(8): the rejection classes (formats/src/base/err.c, exit status 4), the reasons
# installer/*.c sets, and the code of every ev_warning call.
$PY - "$UPT_TOP" >"$tmp/codes" <<'PY'
import glob, re, sys
top = sys.argv[1]
err = open(top + "/formats/src/base/err.c").read()
names = set(re.findall(r'\{UPT_E_[A-Z_]+, "([a-z-]+)", 4\}', err))
src = "".join(open(f).read() for f in glob.glob(top + "/installer/*.c"))
names |= set(re.findall(r'reason = "([a-z-]+)"', src))
names |= set(re.findall(r'ev_result\([^,]+, "failed", "([a-z-]+)"', src))
names |= set(re.findall(r'ev_warning\(\s*[^,]+,\s*"([a-z-]+)"', src))
print("\n".join(sorted(names)))
PY
# README writes them as `code`, the man page as .B code or .BR code ,
for page in README.md man8; do
	missing=
	while read -r c; do
		if [ $page = README.md ]; then grep -qF -- "\`$c\`" "$UPT_TOP/README.md"
		else grep -qE -- "^\.BR? $c( |$)" "$tmp/man8"; fi || missing="$missing $c"
	done <"$tmp/codes"
	check "$page: every reason and warning code ($(wc -l <"$tmp/codes") of them)${missing:+ (missing:$missing)}" \
		bash -c "[ -z '$missing' ] && [ $(wc -l <"$tmp/codes") -gt 20 ]"
done

if command -v man >/dev/null && command -v groff >/dev/null; then
	for p in "$man1" "$man5" "$man8"; do
		MANWIDTH=80 man -l --warnings "$p" >/dev/null 2>"$tmp/warn"
		check "man -l $(basename "$p"): renders without warnings$(head -c 300 "$tmp/warn")" \
			test ! -s "$tmp/warn"
	done
else
	skip "man/groff missing (make deps installs man-db groff-base): rendering not checked"
fi

# The design notes' name is built here so that this file does not match itself.
design="DESIGN""\.md"
# git grep where this is a checkout (ignores build/), a plain grep in an exported tree.
if git -C "$UPT_TOP" rev-parse >/dev/null 2>&1; then
	hits=$(cd "$UPT_TOP" && git grep -lE "$design" -- . | tr '\n' ' ')
else
	hits=$(cd "$UPT_TOP" && grep -rlE --exclude-dir=build "$design" . | tr '\n' ' ')
fi
check "no file in the repository cites the design notes outside it (${hits:-none})" test -z "$hits"
finish
