#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make distro-check: build uptr as a module the way a distribution does.
#  1. In the tree, with Debian's own amd64 config (linux-config-6.12) and
#     CONFIG_DRM_UPTR=m, after modules_prepare, with W=1 and sparse C=2:
#     any warning fails.
#  2. Out of tree (DKMS style) against Debian's prepared headers
#     (the newest linux-headers-6.12.*-amd64): modpost must resolve every
#     symbol, and every undefined symbol of uptr.ko must be among the
#     exports of that kernel's Module.symvers.
. "$(dirname "$0")/lib.sh"

hdrpkg=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' 2>/dev/null |
	cut -d' ' -f1 | sort -V | tail -1)
[ -n "$hdrpkg" ] || die "no linux-headers-6.12.*-amd64 package in apt"
"$TOP/harness/deps.sh" linux-config-6.12 "$hdrpkg"
"$TOP/harness/tree.sh"

D=$OUT/distro
HDR=/usr/src/linux-headers-${hdrpkg#linux-headers-}
CFG=/usr/src/linux-config-6.12/config.amd64_none_amd64.xz
log=$LOGS/distro-check.log
fails=0
: >"$log"
mkdir -p "$D"
t0=$(date +%s)

check() { # check NAME FINDINGS-FILE
	if [ -s "$2" ]; then
		echo "FAIL  distro: $1"
		sed 's/^/      /' "$2"
		fails=$((fails + 1))
	else
		echo "PASS  distro: $1"
	fi
}

# 1. In-tree, Debian's config. The tree's own signing keys do not exist
# here; module signing is not what is checked.
stamp=$D/.uptr-config.sha
want=$(cat "$CFG" "$TOP/drivers/gpu/drm/uptr/Kconfig" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	log "configuring $D from $(basename "$CFG")"
	xz -dc "$CFG" >"$D/.config"
	"$SRC/scripts/config" --file "$D/.config" -m DRM_UPTR \
		-d DRM_UPTR_KUNIT_TEST --set-str SYSTEM_TRUSTED_KEYS "" \
		--set-str SYSTEM_REVOCATION_KEYS "" --set-str MODULE_SIG_KEY ""
	make -C "$SRC" O="$D" olddefconfig >>"$log" 2>&1
	log "modules_prepare (-j$JOBS)"
	make -C "$SRC" O="$D" -j"$JOBS" modules_prepare >>"$log" 2>&1 ||
		{ tail -30 "$log"; die "modules_prepare failed"; }
	echo "$want" >"$stamp"
fi
grep -qx 'CONFIG_DRM_UPTR=m' "$D/.config" || die "Debian config refused CONFIG_DRM_UPTR=m"

# 6.12 writes a module's objects next to its sources (no MO=), so the
# module is built from a copy; M= must be absolute with O=.
log "building uptr.ko in the tree with Debian's config, W=1 C=2"
M=$D/uptr
rm -rf "$M"
cp -r "$SRC/drivers/gpu/drm/uptr" "$M"
# Without vmlinux, modpost cannot resolve symbols here: part 2 does.
make -C "$SRC" O="$D" -j"$JOBS" W=1 C=2 CHECK=sparse M="$M" \
	KBUILD_MODPOST_WARN=1 modules \
	>"$D/intree.log" 2>&1 || echo "build failed" >>"$D/intree.log"
grep -E 'warning:|error:|build failed' "$D/intree.log" |
	grep -v 'modpost: .* undefined!' >"$D/intree.findings" || true
[ -f "$M/uptr.ko" ] || echo "no uptr.ko built" >>"$D/intree.findings"
check "uptr.ko with Debian's amd64 config, W=1 and sparse C=2 clean" "$D/intree.findings"

# 2. DKMS style, against the distribution's prepared headers: a copy of
# the driver with the UAPI header it needs, nothing else of the series.
K=$D/dkms
rm -rf "$K"
mkdir -p "$K/include/uapi/drm"
cp -r "$TOP/drivers/gpu/drm/uptr/." "$K/"
cp "$TOP/include/uapi/drm/uptr_drm.h" "$K/include/uapi/drm/"
# uptr_drm.h includes "drm.h" as UAPI headers do: from the headers'
# common tree.
common=$(sed -n 's|^include \(.*\)/Makefile$|\1|p' "$HDR/Makefile")
log "building uptr.ko against $(basename "$HDR")"
make -C "$HDR" M="$K" -j"$JOBS" CONFIG_DRM_UPTR=m \
	KCFLAGS="-I$K/include -I$K/include/uapi -I$common/include/uapi/drm" \
	modules >"$D/dkms.log" 2>&1 ||
	echo "build failed" >>"$D/dkms.log"
grep -E 'warning:|error:|undefined!|build failed' "$D/dkms.log" >"$D/dkms.findings" || true
check "uptr.ko builds against $(basename "$HDR") with every symbol resolved" "$D/dkms.findings"

# Every undefined symbol of each module against that kernel's exports.
awk '{ print $2 }' "$HDR/Module.symvers" | sort -u >"$D/exports"
for ko in "$M/uptr.ko" "$K/uptr.ko"; do
	[ -f "$ko" ] || continue
	nm -u "$ko" | awk '{ print $2 }' | sort -u | comm -23 - "$D/exports" |
		sed "s|^|${ko#"$OUT"/}: not exported: |"
done >"$D/symbols.findings"
n=$(nm -u "$K/uptr.ko" 2>/dev/null | wc -l)
check "all $n undefined symbols of uptr.ko exported by $(basename "$HDR")" "$D/symbols.findings"

log "distro-check took $(( $(date +%s) - t0 ))s"
echo "$((3 - fails)) passed, $fails failed"
[ $fails = 0 ]
