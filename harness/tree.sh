#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Prepare the kernel tree: extract the Debian 6.12 source once (or use
# KSRC), copy the repository's kernel files over it and wire the in-tree
# hooks exactly as the patch series does. Idempotent: a re-run copies only
# the files whose content changed, so kbuild rebuilds only what it must.
. "$(dirname "$0")/lib.sh"

if [ ! -f "$SRC/Makefile" ]; then
	[ -n "${KSRC:-}" ] && die "KSRC=$KSRC is not a kernel tree"
	[ -f "$TARBALL" ] || die "$TARBALL missing (apt-get install linux-source-6.12)"
	log "extracting $TARBALL"
	tar -xf "$TARBALL" -C "$OUT"
fi

# Directories owned by uptr are mirrored (files removed from the repository
# disappear from the tree too); single files are copied when changed.
sync_dir() {
	mkdir -p "$SRC/$1"
	rsync -rc --delete --out-format='[harness] sync %n' "$TOP/$1/" "$SRC/$1/"
}
sync_file() {
	mkdir -p "$(dirname "$SRC/$1")"
	rsync -c --out-format='[harness] sync %n' "$TOP/$1" "$SRC/$1"
}
sync_dir drivers/gpu/drm/uptr
sync_dir tools/testing/selftests/drm/uptr
sync_file include/uapi/drm/uptr_drm.h
sync_file Documentation/gpu/uptr.rst

# insert_after FILE ANCHOR LINE: add LINE after the first line equal to
# ANCHOR, unless LINE is already there.
insert_after() {
	local file=$SRC/$1 anchor=$2 line=$3
	grep -qxF -- "$line" "$file" && return 0
	grep -qxF -- "$anchor" "$file" || die "$1: anchor '$anchor' not found"
	awk -v a="$anchor" -v l="$line" '
		{ print } !done && $0 == a { print l; done = 1 }' \
		"$file" >"$file.uptr.tmp"
	mv "$file.uptr.tmp" "$file"
	log "wired $1"
}
insert_after drivers/gpu/drm/Kconfig 'source "drivers/gpu/drm/udl/Kconfig"' \
	'source "drivers/gpu/drm/uptr/Kconfig"'
insert_after drivers/gpu/drm/Makefile 'obj-$(CONFIG_DRM_UDL) += udl/' \
	'obj-$(CONFIG_DRM_UPTR) += uptr/'
insert_after tools/testing/selftests/Makefile 'TARGETS += drivers/dma-buf' \
	'TARGETS += drm/uptr'
insert_after Documentation/gpu/drivers.rst '   tve200' '   uptr'

# MAINTAINERS: keep the pristine file aside and re-apply the patch whenever
# MAINTAINERS.patch changes.
stamp=$SRC/.uptr-maintainers.sha
want=$(sha256sum "$TOP/MAINTAINERS.patch" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	[ -f "$SRC/MAINTAINERS.uptr-orig" ] || cp "$SRC/MAINTAINERS" "$SRC/MAINTAINERS.uptr-orig"
	cp "$SRC/MAINTAINERS.uptr-orig" "$SRC/MAINTAINERS"
	patch -s -p1 -d "$SRC" --no-backup-if-mismatch <"$TOP/MAINTAINERS.patch" ||
		die "MAINTAINERS.patch does not apply"
	echo "$want" >"$stamp"
	log "applied MAINTAINERS.patch"
fi
