#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make lint: check every patch of the series harness/series.sh made.
#   - checkpatch.pl --strict on the patch as mailed (commit message,
#     subject and Signed-off-by included): no ERROR, WARNING or CHECK.
#     FILE_PATH_CHANGES ("does MAINTAINERS need updating?") is answered,
#     not ignored: it passes only if get_maintainer.pl, in the tree at that
#     patch, resolves every file the patch adds to the uptr entry (which the
#     first patch adds).
#   - at the end of the series, htmldocs (SPHINXDIRS=gpu): no uptr
#     warning, and the internal kernel-doc rendered.
#   - bisectability: in the tree at that patch, every object of
#     drivers/gpu/drm/uptr present compiles with W=1 (an external-module
#     build against the test kernel's build directory; incremental from
#     one patch to the next, so each object is compiled again only when
#     it or a header it includes changed), and the
#     selftests build once they are in.
# Writes "ok NAME" / "not ok NAME" lines to $LOGS/lint.tap (the format of
# static.tap, for harness/results.py) and each check's output to
# $LOGS/lint/.
. "$(dirname "$0")/lib.sh"

S=$OUT/series-tree/linux-source-6.12
PATCHES=$OUT/series
UPTR=drivers/gpu/drm/uptr
dir=$LOGS/lint
tap=$LOGS/lint.tap
JOBS=${JOBS:-2}
start=$SECONDS

git -C "$S" rev-parse -q --verify series >/dev/null 2>&1 && [ -d "$PATCHES" ] ||
	die "no series: run make series first"

# checkpatch runs scripts/spdxcheck.py, which needs ply and GitPython: use
# the system python3 (not one first on PATH without them).
export PATH=/usr/bin:$PATH
if ! python3 -c 'import ply, git, sphinx' 2>/dev/null; then
	[ "$(id -u)" = 0 ] ||
		die "lint needs: apt-get install python3-ply python3-git python3-sphinx"
	apt-get install -y python3-ply python3-git python3-sphinx >>"$LOGS/apt.log" 2>&1 ||
		die "apt-get install python3-ply python3-git python3-sphinx failed"
fi

rm -rf "$dir"
mkdir -p "$dir"
: >"$tap"
result() { # result NAME LOGFILE: passes when LOGFILE has no finding
	if [ -s "$2" ]; then printf 'not ok %s\t%s\n' "$1" "$2" >>"$tap"; else echo "ok $1" >>"$tap"; fi
}

# The per-patch builds are external-module builds against the test
# kernel's build directory ($BUILD, the tree harness/tree.sh makes): make
# check has built it already; alone, lint prepares it (configure,
# modules_prepare, headers).
"$TOP/harness/build.sh" configure
grep -qE '^CONFIG_DRM_UPTR=[ym]$' "$BUILD/.config" || die "$BUILD: CONFIG_DRM_UPTR not set"
if [ ! -f "$BUILD/Module.symvers" ] || [ ! -d "$BUILD/usr/include/drm" ]; then
	log "preparing $BUILD for module builds"
	{ kmake modules_prepare && kmake headers; } >"$dir/configure.log" 2>&1 ||
		{ tail -30 "$dir/configure.log"; die "preparing $BUILD failed"; }
fi
LB=$OUT/lint
EXT=$LB/ext/uptr
rm -rf "$LB/ext" "$LB/kselftest"
git -C "$S" checkout -q -f series

mapfile -t commits < <(git -C "$S" rev-list --reverse pristine..series)
mapfile -t files < <(ls "$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch | grep -v /0000-cover-letter)
[ "${#commits[@]}" = "${#files[@]}" ] ||
	die "${#commits[@]} commits but ${#files[@]} patches in $PATCHES: run make series"

m=$(sed -n 's/^+M:\t//p' "$TOP/MAINTAINERS.patch" | head -1)
for i in "${!commits[@]}"; do
	c=${commits[$i]}
	p=${files[$i]}
	nr=$(printf '%04d' $((i + 1)))
	subj=$(git -C "$S" log -1 --format=%s "$c")
	name="$nr $subj"
	git -C "$S" checkout -q -f --detach "$c"

	# checkpatch --strict on the mailed patch, from the tree at the patch.
	out=$dir/$nr-checkpatch.full.log
	rc=0
	(cd "$S" && perl scripts/checkpatch.pl --strict --show-types --terse "$p" >"$out" 2>&1) || rc=$?
	{
		grep -E 'ERROR|WARNING|CHECK' "$out" | grep -v ':FILE_PATH_CHANGES:' || true
		if grep -q ':FILE_PATH_CHANGES:' "$out"; then
			git -C "$S" diff --name-only --diff-filter=A "$c~1" "$c" | while read -r f; do
				(cd "$S" && perl scripts/get_maintainer.pl --no-git --no-rolestats -f "$f") |
					grep -qxF -- "$m" ||
					echo "FILE_PATH_CHANGES: $f is not covered by the uptr MAINTAINERS entry"
			done
		fi
		# A non-zero exit is a finding (the lines above) or a failure.
		[ $rc = 0 ] || grep -qE 'ERROR|WARNING|CHECK' "$out" ||
			echo "checkpatch failed (exit $rc), see $out"
	} >"$dir/$nr-checkpatch.log"
	result "lint $name: checkpatch --strict" "$dir/$nr-checkpatch.log"

	# Bisectability: the driver objects present, then the selftests.
	out=$dir/$nr-build.full.log
	: >"$out"
	if [ -d "$S/$UPTR" ]; then
		mkdir -p "$EXT"
		rsync -a --delete --exclude='*.o' --exclude='.*.cmd' --exclude='*.a' \
			--exclude='*.mod' --exclude='*.mod.c' --exclude='*.ko' \
			--exclude='modules.order' --exclude='Module.symvers' "$S/$UPTR/" "$EXT/"
		mapfile -t objs < <(cd "$EXT" && find . -name '*.c' | sed 's|^\./||; s|\.c$|.o|' | sort)
		kmake M="$EXT" W=1 "${objs[@]}" >>"$out" 2>&1 || echo "build failed" >>"$out"
	fi
	if [ -d "$S/tools/testing/selftests/drm/uptr" ]; then
		mkdir -p "$LB/kselftest"
		make -C "$S/tools/testing/selftests/drm/uptr" -j"$JOBS" OUTPUT="$LB/kselftest" \
			KHDR_INCLUDES="-isystem $BUILD/usr/include" >>"$out" 2>&1 ||
			echo "selftests build failed" >>"$out"
	fi
	# Warnings of the selftests' own (pristine) kselftest_harness.h under
	# -Wextra are not the series'.
	{ grep -E 'warning:|error:|build failed' "$out" |
		grep -v '^\.\./\.\./kselftest_harness\.h:[0-9:]* warning:' || true; } >"$dir/$nr-build.log"
	result "lint $name: builds" "$dir/$nr-build.log"
	log "$nr: $(tail -2 "$tap" | cut -f1 | sed 's/ lint [0-9]* .*: /:/' | tr '\n' ' ')"
done
git -C "$S" checkout -q -f series

# htmldocs of Documentation/gpu in the tree at the end of the series: no
# warning that names a uptr file, and the driver's internal kernel-doc
# (struct uptr_device, the mirror API), not only its DOC blocks, rendered.
out=$dir/htmldocs.full.log
html=$LB/htmldocs/Documentation/output/gpu/uptr.html
make -C "$S" O="$LB/htmldocs" SPHINXDIRS=gpu htmldocs >"$out" 2>&1 ||
	echo "htmldocs failed" >>"$out"
{
	grep -E 'uptr' "$out" | grep -iE 'warning|error' || true
	grep -q 'htmldocs failed' "$out" && echo "htmldocs failed, see $out"
	for sym in uptr_device uptr_mirror_populate uptr_mirror_ops uptr_job uptr_fence; do
		grep -q "$sym" "$html" 2>/dev/null || echo "$html: $sym not rendered"
	done
} >"$dir/htmldocs.log"
result "lint htmldocs SPHINXDIRS=gpu: uptr renders without warning" "$dir/htmldocs.log"

nok=$(grep -c '^ok ' "$tap" || true)
nfail=$(grep -c '^not ok ' "$tap" || true)
log "lint: $nok ok, $nfail not ok ($((SECONDS - start)) s), $tap"
[ "$nfail" = 0 ]
