#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make series: commit the repository's kernel files as a patch series on top
# of the pristine Debian 6.12 source and write it, with a cover letter, to
# $OUT/series/ (git format-patch).
#
# The history lives in its own tree, $OUT/series-tree/linux-source-6.12
# (never the tree the other targets build in): the first commit, tagged
# "pristine", is the extracted tarball; branch "series" carries the patches.
# Each patch's files, in order, are listed in STEPS below; its subject, why
# and Signed-off-by are reviewed text in harness/series/NN-*.msg, the cover
# letter is harness/series/cover.txt. Every file is taken as it is in this
# checkout, except two that must grow with the series and are derived from
# their final version here:
#   drivers/gpu/drm/uptr/Makefile  lists only the objects whose source is
#                                  already in the tree;
#   drivers/gpu/drm/uptr/Kconfig   lacks DRM_UPTR_KUNIT_TEST until the KUnit
#                                  patch.
# At the end the series' tree is compared with what harness/tree.sh makes of
# the pristine tree: they must be identical.
#
# Only the pristine files the series changes are committed (the rest of the
# extracted tree stays untracked and untouched), so making the history
# costs seconds, not the minutes of hashing the whole kernel tree; the
# patches are the same.
. "$(dirname "$0")/lib.sh"

SERIES_TREE=$OUT/series-tree
S=$SERIES_TREE/linux-source-6.12
PATCHES=$OUT/series
MSGS=$TOP/harness/series
UPTR=drivers/gpu/drm/uptr
# The pristine files the series changes (MAINTAINERS and the hooks).
PRISTINE_FILES="MAINTAINERS drivers/gpu/drm/Kconfig drivers/gpu/drm/Makefile
	tools/testing/selftests/Makefile Documentation/gpu/drivers.rst"
# What the series adds.
ADDED="$UPTR include/uapi/drm/uptr_drm.h Documentation/gpu/uptr.rst
	tools/testing/selftests/drm/uptr"

# One line per patch: the message file, then what the patch adds. A path is
# copied from this checkout (a directory with all its files), an @word is
# an edit done by the function of that name below.
STEPS=(
	"01-maintainers MAINTAINERS.patch"
	"02-uapi include/uapi/drm/uptr_drm.h"
	"03-mirror $UPTR/uptr_mirror.h $UPTR/uptr_mirror.c $UPTR/uptr_mirror_busy.c $UPTR/uptr_trace.h $UPTR/uptr_trace.c @makefile"
	"04-device $UPTR/uptr_drv.h $UPTR/uptr_engine.h $UPTR/uptr_job.h $UPTR/uptr_job.c $UPTR/uptr_fence.h $UPTR/uptr_fence.c @makefile"
	"05-userptr $UPTR/uptr_userptr.h $UPTR/uptr_userptr.c @makefile"
	"06-bo $UPTR/uptr_bo.h $UPTR/uptr_bo.c @makefile"
	"07-engine $UPTR/uptr_engine.c @makefile"
	"08-submit $UPTR/uptr_submit.c @makefile"
	"09-debugfs $UPTR/uptr_debugfs.c @makefile"
	"10-driver $UPTR/uptr_drv.c @makefile"
	"11-kconfig @kconfig @hook_drm"
	"12-kunit $UPTR/tests $UPTR/.kunitconfig @kconfig @makefile"
	"13-selftests tools/testing/selftests/drm/uptr @hook_selftests"
	"14-docs Documentation/gpu/uptr.rst @hook_docs"
)

# insert_after FILE ANCHOR LINE: LINE after the first line equal to ANCHOR
# (the same wiring harness/tree.sh does, checked against it at the end).
insert_after() {
	local file=$S/$1
	grep -qxF -- "$2" "$file" || die "$1: anchor '$2' not found"
	awk -v a="$2" -v l="$3" '{ print } !done && $0 == a { print l; done = 1 }' \
		"$file" >"$file.tmp"
	mv "$file.tmp" "$file"
	git -C "$S" add -f -- "$1"
}

# The driver Makefile with the object lists cut down to the objects whose
# .c is in the tree; a list left empty goes, with the blank line after it.
makefile() {
	awk -v dir="$S/$UPTR" '
	function flush(i) {
		if (n) {
			print hdr
			for (i = 1; i <= n; i++)
				print items[i] (i < n ? " \\" : "")
		} else {
			skip = 1
		}
		inlist = 0
		n = 0
	}
	inlist {
		item = $0
		cont = sub(/ \\$/, "", item)
		f = item
		sub(/^\t/, "", f)
		sub(/\.o$/, ".c", f)
		if (system("test -f \"" dir "/" f "\"") == 0)
			items[++n] = item
		if (!cont)
			flush()
		next
	}
	/[:+]= \\$/ { hdr = $0; inlist = 1; n = 0; next }
	skip && /^$/ { skip = 0; next }
	{ skip = 0; print }' "$TOP/$UPTR/Makefile" >"$S/$UPTR/Makefile"
	git -C "$S" add -f -- "$UPTR/Makefile"
}

# The driver Kconfig; without the KUnit symbol until its tests are in.
kconfig() {
	if [ -d "$S/$UPTR/tests" ]; then
		cp "$TOP/$UPTR/Kconfig" "$S/$UPTR/Kconfig"
	else
		perl -0pe 's/\n+config DRM_UPTR_KUNIT_TEST\n.*\z/\n/s' \
			"$TOP/$UPTR/Kconfig" >"$S/$UPTR/Kconfig"
	fi
	git -C "$S" add -f -- "$UPTR/Kconfig"
}

hook_drm() {
	insert_after drivers/gpu/drm/Kconfig 'source "drivers/gpu/drm/udl/Kconfig"' \
		'source "drivers/gpu/drm/uptr/Kconfig"'
	insert_after drivers/gpu/drm/Makefile 'obj-$(CONFIG_DRM_UDL) += udl/' \
		'obj-$(CONFIG_DRM_UPTR) += uptr/'
}
hook_selftests() {
	insert_after tools/testing/selftests/Makefile 'TARGETS += drivers/dma-buf' \
		'TARGETS += drm/uptr'
}
hook_docs() {
	insert_after Documentation/gpu/drivers.rst '   tve200' '   uptr'
}

add_path() {
	case "$1" in
	MAINTAINERS.patch)
		patch -s -p1 -d "$S" --no-backup-if-mismatch <"$TOP/MAINTAINERS.patch" ||
			die "MAINTAINERS.patch does not apply"
		git -C "$S" add -f -- MAINTAINERS
		return ;;
	esac
	[ -e "$TOP/$1" ] || die "$1: not in $TOP"
	mkdir -p "$(dirname "$S/$1")"
	rm -rf "${S:?}/$1"
	cp -a "$TOP/$1" "$S/$1"
	git -C "$S" add -f -- "$1"
}

# The text of the section titled $1 (an underlined title) of file $2
# (default: uptr.rst), up to the next title.
rst_section() {
	awk -v t="$1" '
		$0 == t { on = 1; getline; next }
		on && /^[-=]+$/ { n--; exit }
		on { buf[++n] = $0 }
		END { for (i = 1; i <= n; i++) print buf[i] }' \
		"${2:-$TOP/Documentation/gpu/uptr.rst}" | cat -s | sed -e '1{/^$/d}' -e '${/^$/d}'
}

# The first literal block (after "::") of that section.
rst_literal() {
	rst_section "$1" | awk '
		!on && /^::$/ { on = 1; next }
		on && /^[^ ]/ { exit }
		on { print }' | sed -e '1{/^$/d}' -e '${/^$/d}'
}

# The output of "$@", which must not be empty: a section renamed or moved
# must not leave a hole in the cover letter.
nonempty() {
	local text
	text=$("$@") && [ -n "$text" ] || die "cover letter: no text from: $*"
	printf '%s\n' "$text"
}

# The result line of the last `make check`, recomputed from its logs.
check_result() {
	local logs=${CHECK_LOGS:-$LOGS} line
	if [ -s "$logs/static.tap" ] && [ -s "$logs/check-console.log" ]; then
		line=$(python3 "$TOP/harness/results.py" "$logs/static.tap" \
			"$logs/check-console.log" 2>/dev/null | tail -1 || true)
		case "$line" in
		*passed,*failed*)
			printf '  %s\n' "$line"
			printf '  (make check, %s)\n' \
				"$(date -u -r "$logs/check-console.log" '+%Y-%m-%d %H:%M UTC')"
			return ;;
		esac
	fi
	printf '  No make check logs were found when this letter was made; run\n'
	printf '  "make check" in the repository for the line\n'
	printf '  "N passed, N failed, N skipped".\n'
}

start=$SECONDS

# The pristine tree and its commit, once.
if ! git -C "$S" rev-parse -q --verify pristine >/dev/null 2>&1; then
	rm -rf "$SERIES_TREE"
	mkdir -p "$SERIES_TREE"
	[ -f "$TARBALL" ] || die "$TARBALL missing (apt-get install linux-source-6.12)"
	log "extracting $TARBALL into $SERIES_TREE"
	tar -xf "$TARBALL" -C "$SERIES_TREE"
	[ -f "$S/Makefile" ] || die "$S: not a kernel tree after extraction"
	log "committing the pristine tree"
	git -C "$S" init -q -b pristine-base
	git -C "$S" config user.name 'Jane Doe'
	git -C "$S" config user.email 'jane.doe@example.org'
	git -C "$S" config core.abbrev 12
	git -C "$S" add -f -- $PRISTINE_FILES
	GIT_AUTHOR_DATE='2026-11-26T00:00:00Z' GIT_COMMITTER_DATE='2026-11-26T00:00:00Z' \
		git -C "$S" commit -q -m 'Linux 6.12 (Debian linux-source-6.12)'
	git -C "$S" tag pristine
fi

log "building the series in $S"
git -C "$S" checkout -q -f -B series pristine
# Leftovers of an earlier run, only where the series adds files.
# shellcheck disable=SC2086
(cd "$S" && rm -rf -- $ADDED)

n=0
for step in "${STEPS[@]}"; do
	read -r -a words <<<"$step"
	msg=$MSGS/${words[0]}.msg
	[ -f "$msg" ] || die "$msg missing"
	grep -qxF 'Signed-off-by: Jane Doe <jane.doe@example.org>' "$msg" ||
		die "$msg: no Signed-off-by"
	for w in "${words[@]:1}"; do
		case "$w" in
		@*) "${w#@}" ;;
		*) add_path "$w" ;;
		esac
	done
	git -C "$S" diff --cached --quiet && die "${words[0]}: the patch is empty"
	n=$((n + 1))
	d=$(printf '2026-11-26T10:%02d:00Z' "$n")
	GIT_AUTHOR_DATE=$d GIT_COMMITTER_DATE=$d git -C "$S" commit -q -F "$msg"
done

# Every kernel file of the repository is in the series, as it is here,
# and the hooks are wired as harness/tree.sh wires them: the series' last
# tree equals what tree.sh made of the pristine tree ($SRC), file by file.
log "checking the series' tree against harness/tree.sh"
"$TOP/harness/tree.sh" >"$LOGS/series-verify.log" 2>&1 ||
	{ cat "$LOGS/series-verify.log"; die "harness/tree.sh failed"; }
# shellcheck disable=SC2086
{
	git -C "$S" ls-tree -r --name-only series
	(cd "$SRC" && find $ADDED -type f ! -name '*.o' ! -name '.*' \
		! -name '*.ko' ! -name '*.mod*' ! -name 'modules.order' \
		! -name 'Module.symvers' ! -name '*.a')
} | sort -u | while read -r f; do
	if ! git -C "$S" cat-file -e "series:$f" 2>/dev/null; then
		echo "$f: in harness/tree.sh's tree, not in the series"
	elif ! git -C "$S" show "series:$f" | cmp -s - "$SRC/$f"; then
		echo "$f: differs between the series and harness/tree.sh's tree"
	fi
done >"$LOGS/series-verify.diff"
if [ -s "$LOGS/series-verify.diff" ]; then
	cat "$LOGS/series-verify.diff" >&2
	die "the series' tree differs from harness/tree.sh's"
fi

# The cover letter: the branch description, which format-patch uses.
desc=$(mktemp)
trap 'rm -f "$desc"' EXIT
while IFS= read -r line; do
	case "$line" in
	@LOCK_ORDER@) nonempty rst_literal 'Lock order' ;;
	@PERFORMANCE@) nonempty rst_section 'Benchmark' "$TOP/README" ;;
	@TEST_RESULTS@) check_result ;;
	*) printf '%s\n' "$line" ;;
	esac
done <"$MSGS/cover.txt" >"$desc"
git -C "$S" config branch.series.description "$(cat "$desc")"

rm -rf "$PATCHES"
git -C "$S" format-patch -q --cover-letter --cover-from-description=subject \
	--no-signature -o "$PATCHES" pristine..series
log "$n patches and a cover letter in $PATCHES ($((SECONDS - start)) s)"
ls "$PATCHES" >&2
