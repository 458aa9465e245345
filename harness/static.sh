#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Static checks on uptr's own files, each reported as a test:
#   checkpatch --strict (per file), kernel-doc -none -Wall (per file),
#   the driver built with W=1, sparse C=2, and that the skip allowlist and
#   the mutant list still name what exists.
# Writes "ok NAME" / "not ok NAME" lines to $LOGS/static.tap and the tool
# output of each check to $LOGS/static/NAME.log.
. "$(dirname "$0")/lib.sh"

dir=$LOGS/static
tap=$LOGS/static.tap
rm -rf "$dir"
mkdir -p "$dir"
: >"$tap"

result() { # result NAME LOGFILE: passes when LOGFILE has no finding
	if [ -s "$2" ]; then printf 'not ok %s\t%s\n' "$1" "$2" >>"$tap"; else echo "ok $1" >>"$tap"; fi
}

cd "$SRC"
mapfile -t cfiles < <(find drivers/gpu/drm/uptr tools/testing/selftests/drm/uptr \
	-name '*.[ch]' | sort; echo include/uapi/drm/uptr_drm.h)
mapfile -t kdocfiles < <(find drivers/gpu/drm/uptr -name '*.[ch]' | sort; echo include/uapi/drm/uptr_drm.h)

# Per-file checks run in parallel and are cached by content.
export CACHE=$OUT/static-cache
TOOLSUM=$(cat scripts/checkpatch.pl scripts/kernel-doc "$TOP/harness/static-file.sh" |
	sha256sum | cut -c1-32)
export TOOLSUM
mkdir -p "$CACHE"
per_file() { # per_file KIND NAME-PREFIX FILES...
	local kind=$1 prefix=$2 f n
	shift 2
	printf '%s\n' "$@" | xargs -P "$JOBS" -I{} sh -c \
		"\"$TOP/harness/static-file.sh\" $kind {} >\"$dir/$kind-\$(echo {} | tr / _).log\""
	for f in "$@"; do
		n=$(echo "$f" | tr '/' '_')
		result "$prefix $f" "$dir/$kind-$n.log"
	done
}
# LINT_COVERS=1 (make check): checkpatch and the W=1 build run per patch of
# the series in harness/lint.sh instead.
[ -n "${LINT_COVERS:-}" ] || per_file checkpatch "checkpatch --strict" "${cfiles[@]}"
per_file kernel-doc "kernel-doc -Wall" "${kdocfiles[@]}"

# Every DOC: section that uptr.rst pulls in must exist.
{ grep -A1 -E '^\.\. kernel-doc::' Documentation/gpu/uptr.rst || true; } |
	awk '/kernel-doc::/ { f = $3 } /:doc:/ { sub(/.*:doc: */, ""); print f "\t" $0 }' |
	while IFS=$'\t' read -r f doc; do
		if ! scripts/kernel-doc -rst -function "$doc" "$f" 2>/dev/null | grep -q .; then
			echo "uptr.rst: no 'DOC: $doc' in $f"
		fi
	done >"$dir/doc-refs.log"
result "uptr.rst DOC: references resolve" "$dir/doc-refs.log"

# The harness's lists name what exists: every skip-allowlist entry an
# existing test, every mutant's find string one place of its file.
python3 -c 'import sys; sys.path.insert(0, sys.argv[1] + "/harness")
import testlists
for p in testlists.allowlist_problems(sys.argv[1]):
    print(p)' "$TOP" >"$dir/skip-allowlist.log" 2>&1
result "harness/skip-allowlist names existing tests" "$dir/skip-allowlist.log"
python3 "$TOP/harness/mutants.py" check "$TOP" >"$dir/mutants-list.log" 2>&1 || true
result "harness/mutants.list find strings match once" "$dir/mutants-list.log"
python3 "$TOP/harness/results_test.py" >"$dir/results-selftest.log" 2>&1 ||
	echo "results_test.py failed" >>"$dir/results-selftest.log"
result "harness/results.py self-test" "$dir/results-selftest.log"

# W=1: rebuild the driver with extra warnings; any warning fails.
if [ -z "${LINT_COVERS:-}" ]; then
	kmake W=1 drivers/gpu/drm/uptr/ >"$dir/w1.full.log" 2>&1 || echo "build failed" >>"$dir/w1.full.log"
	grep -E 'warning:|error:|build failed' "$dir/w1.full.log" >"$dir/w1.log" || true
	result "W=1 build of drivers/gpu/drm/uptr" "$dir/w1.log"
fi

# sparse on every uptr file (C=2 checks files even when up to date); this
# also rebuilds the objects with the normal flags again.
kmake C=2 CHECK="sparse" drivers/gpu/drm/uptr/ >"$dir/sparse.full.log" 2>&1 || echo "build failed" >>"$dir/sparse.full.log"
grep -E 'uptr.*(warning|error):|build failed' "$dir/sparse.full.log" >"$dir/sparse.log" || true
result "sparse C=2 on drivers/gpu/drm/uptr" "$dir/sparse.log"

# MAINTAINERS: the entry is well-formed (checkpatch on the patch, less the
# commit-message checks the series supplies) and get_maintainer.pl resolves
# every uptr file to its M: and L: lines.
{ perl scripts/checkpatch.pl --strict --no-tree --terse --show-types \
	--ignore MISSING_SIGN_OFF,COMMIT_MESSAGE "$TOP/MAINTAINERS.patch" 2>&1 || true; } |
	{ grep -E 'ERROR|WARNING|CHECK' || true; } >"$dir/maintainers.log"
m=$(sed -n 's/^+M:\t//p' "$TOP/MAINTAINERS.patch" | head -1)
l=$(sed -n 's/^+L:\t//p' "$TOP/MAINTAINERS.patch" | head -1)
[ -n "$m" ] && [ -n "$l" ] || echo "MAINTAINERS.patch: no M: or L: line" >>"$dir/maintainers.log"
printf '%s\n' "${cfiles[@]}" Documentation/gpu/uptr.rst | while read -r f; do
	got=$(perl scripts/get_maintainer.pl --no-git --no-rolestats -f "$f" 2>&1)
	for want in "$m" "$l"; do
		grep -qxF -- "$want" <<<"$got" || echo "get_maintainer.pl $f: no '$want'"
	done
done >>"$dir/maintainers.log"
result "MAINTAINERS entry resolves every uptr file" "$dir/maintainers.log"

# The selftests' .gitignore names every program the Makefile builds.
st=tools/testing/selftests/drm/uptr
selftest_progs | while read -r p; do
	grep -qxF "$p" "$st/.gitignore" 2>/dev/null || echo "$st/.gitignore: no $p"
done >"$dir/gitignore.log"
result "selftests .gitignore lists every program" "$dir/gitignore.log"
