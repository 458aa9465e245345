#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Configure and build the test kernel (tinyconfig + base + Kconfig.frag +
# debug fragments), install the UAPI headers, build the kselftests and the
# demo statically and pack the initramfs.
. "$(dirname "$0")/lib.sh"

# The kselftests the guest also runs as 32-bit programs (the compat ABI
# of every ioctl they use: create, submit, and coherence end to end, in
# both coherence binaries).
M32_RUN="uptr_create_test uptr_submit_test uptr_coherence_mapping_test uptr_coherence_pages_test"

# VARIANT=bench builds the benchmark kernel (no debug options, GUP and HMM
# test drivers) into its own build directory.
FRAGS=("$TOP/harness/config/base.config" "$TOP/Kconfig.frag"
       "$TOP/harness/config/${VARIANT:-debug}.config")

configure() {
	local want stamp=$BUILD/.uptr-config.sha
	want=$(cat "${FRAGS[@]}" | sha256sum | cut -d' ' -f1)
	if [ -f "$BUILD/.config" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	log "configuring $BUILD"
	mkdir -p "$BUILD"
	kmake tinyconfig >"$LOGS/config.log" 2>&1
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" \
		"${FRAGS[@]}" >>"$LOGS/config.log" 2>&1
	kmake olddefconfig >>"$LOGS/config.log" 2>&1
	# Every symbol a fragment asks for must have its value in the result:
	# a dependency that silently drops one would make tests meaningless.
	local bad=0 line sym
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) sym=${line%%=*}
			grep -q "^$sym=" "$BUILD/.config" && { log "config: $sym is set, wanted n"; bad=1; } ;;
		CONFIG_*=*) grep -qxF "$line" "$BUILD/.config" || { log "config: $line not honoured"; bad=1; } ;;
		esac
	done < <(cat "${FRAGS[@]}")
	[ $bad = 0 ] || die "config fragments not honoured (see $LOGS/config.log)"
	echo "$want" >"$stamp"
}

build_kernel() {
	log "building kernel (-j$JOBS)"
	kmake bzImage modules >"$LOGS/build.log" 2>&1 || { tail -40 "$LOGS/build.log"; die "kernel build failed"; }
	kmake headers >>"$LOGS/build.log" 2>&1 || { tail -20 "$LOGS/build.log"; die "headers failed"; }
}

build_user() {
	local hdr=$BUILD/usr/include ks=$OUT/kselftest ks32=$OUT/kselftest32
	log "building kselftests and demo (64 and 32 bit)"
	mkdir -p "$ks" "$ks32"
	make -C "$SRC/tools/testing/selftests/drm/uptr" OUTPUT="$ks" \
		KHDR_INCLUDES="-isystem $hdr" LDFLAGS=-static \
		>"$LOGS/kselftest-build.log" 2>&1 ||
		{ cat "$LOGS/kselftest-build.log"; die "kselftest build failed"; }
	# 32-bit userspace (IA32_EMULATION): every kselftest and the demo
	# build with -m32; the guest runs the compat subset (M32_RUN).
	make -C "$SRC/tools/testing/selftests/drm/uptr" OUTPUT="$ks32" \
		KHDR_INCLUDES="-isystem $hdr" USERCFLAGS=-m32 \
		LDFLAGS="-static -m32" \
		>"$LOGS/kselftest32-build.log" 2>&1 ||
		{ cat "$LOGS/kselftest32-build.log"; die "-m32 kselftest build failed"; }
	gcc -O2 -Wall -Wextra -Werror -static -isystem "$hdr" \
		-I "$SRC/tools/testing/selftests/drm/uptr" \
		-o "$OUT/uptr_demo" "$TOP/harness/demo/uptr_demo.c" \
		"$SRC/tools/testing/selftests/drm/uptr/uptr_util.c" ||
		die "demo build failed"
	gcc -m32 -O2 -Wall -Wextra -Werror -static -isystem "$hdr" \
		-I "$SRC/tools/testing/selftests/drm/uptr" \
		-o "$OUT/uptr_demo32" "$TOP/harness/demo/uptr_demo.c" \
		"$SRC/tools/testing/selftests/drm/uptr/uptr_util.c" ||
		die "-m32 demo build failed"
	gcc -O2 -Wall -Wextra -Werror -static -isystem "$hdr" \
		-I "$SRC/tools/testing/selftests/drm/uptr" \
		-o "$OUT/uptr_bench" "$TOP/harness/bench/uptr_bench.c" \
		"$SRC/tools/testing/selftests/drm/uptr/uptr_util.c" ||
		die "bench build failed"
}

pack_initramfs() {
	local root=$OUT/initramfs
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,mnt,root,kselftest,extra}
	cp /bin/busybox "$root/bin/busybox"
	# The modules (uptr and what it needs), stripped; the guest runs
	# depmod and loads uptr with modprobe.
	kmake INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 DEPMOD=true \
		modules_install >"$LOGS/modules-install.log" 2>&1 ||
		{ tail -20 "$LOGS/modules-install.log"; die "modules_install failed"; }
	cp "$TOP/harness/guest/init" "$root/init"
	chmod +x "$root/init"
	# Only what the Makefile builds now, never a stale program.
	selftest_progs | while read -r t; do
		cp "$OUT/kselftest/$t" "$root/kselftest/$t"
	done
	for t in $M32_RUN; do
		cp "$OUT/kselftest32/$t" "$root/kselftest/${t}_m32"
	done
	cp "$OUT/uptr_demo" "$root/bin/uptr_demo"
	cp "$OUT/uptr_demo32" "$root/bin/uptr_demo32"
	if [ -n "${PROG:-}" ]; then
		cp "$PROG" "$root/extra/$(basename "$PROG")"
	fi
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initramfs.gz"
}

"$TOP/harness/tree.sh"
configure
case "${1:-all}" in
configure) ;;
kernel) build_kernel ;;
user) build_user; pack_initramfs ;;
initramfs) pack_initramfs ;;
all) build_kernel; build_user; pack_initramfs ;;
*) die "unknown step $1" ;;
esac
