#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make run / make vm-run / make shell: build, boot the guest and show what
# the program printed.
#   run.sh run                 the demo
#   run.sh prog BIN [ARGS]     any static binary; exits with its status,
#                              or 1 if the kernel log has a splat (WARNING,
#                              lockdep, KASAN, BUG, hung task...) and the
#                              program exited 0. SELFTEST=warn WARNs first.
#   run.sh shell               an interactive guest shell
. "$(dirname "$0")/lib.sh"

what=${1:-run}
"$TOP/harness/deps.sh"
case "$what" in
bench)
	# A fine-grained clock. Under TCG the guest cannot calibrate its TSC
	# (no HPET without ACPI, PIT too irregular) and would time with
	# jiffies; TCG's TSC is the host's, so give the guest its frequency.
	export VARIANT=bench BUILD=$OUT/build-bench
	khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	export VM_APPEND="${khz:+tsc_early_khz=$khz} tsc=reliable ${VM_APPEND:-}"
	"$TOP/harness/build.sh" all
	exec "$0" prog "$OUT/uptr_bench"
	;;
prog)
	[ -n "${2:-}" ] && [ -f "$2" ] || die "usage: make vm-run PROG=<static binary> [ARGS=...]"
	PROG=$(realpath "$2") "$TOP/harness/build.sh" all
	shift 2
	echo "$*" >"$OUT/initramfs.args"
	root=$OUT/initramfs
	cp "$OUT/initramfs.args" "$root/extra/args"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initramfs.gz"
	;;
*)
	"$TOP/harness/build.sh" all
	;;
esac

console=$LOGS/$what-console.log
case "$what" in
shell)
	exec "$TOP/harness/vm.sh" shell "$console"
	;;
run)
	"$TOP/harness/vm.sh" run "$console" quiet >/dev/null || true
	log "full console log: $console"
	sed -n '/^@@demo-start/,/^@@demo-end/{/^@@demo/d;p}' "$console" | tr -d '\r'
	grep -q '^@@demo-end 0' "$console"
	;;
prog)
	extra=(quiet log_buf_len=4M)
	[ -n "${SELFTEST:-}" ] && extra+=("harness.selftest=$SELFTEST")
	"$TOP/harness/vm.sh" prog "$console" "${extra[@]}" >/dev/null || true
	log "full console log: $console"
	sed -n '/^@@prog-start/,/^@@prog-exit/{/^@@prog-start/d;/^@@prog-exit/d;p}' "$console" | tr -d '\r'
	rc=$(sed -n 's/^@@prog-exit \([0-9]*\).*/\1/p' "$console" | tail -1)
	# Splats in the kernel log, as make check reports them.
	splats=0
	python3 "$TOP/harness/results.py" --splats-only "$console" >"$LOGS/prog-splats.log" || splats=1
	if [ $splats = 1 ]; then
		grep -v "^PASS" "$LOGS/prog-splats.log" >&2 || true
		log "the kernel reported a splat (full report: $LOGS/prog-splats.log)"
	fi
	[ -n "$rc" ] || die "the program did not finish (see $console)"
	[ "$rc" = 0 ] && [ $splats = 1 ] && rc=1
	exit "$rc"
	;;
esac
