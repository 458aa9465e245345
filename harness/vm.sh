#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Boot the test kernel in QEMU: vm.sh MODE LOGFILE [EXTRA_CMDLINE...]
# Runs under TCG unless the CPU advertises vmx/svm and /dev/kvm is usable.
# Exits with QEMU's status, or 124 when the time budget (VM_TIMEOUT seconds)
# ran out.
. "$(dirname "$0")/lib.sh"

mode=$1 logfile=$2
shift 2
accel=(-accel tcg)
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	accel=(-accel kvm -cpu host)
fi
serial=(-serial stdio)
stdin=/dev/null
if [ "$mode" = shell ]; then
	serial=(-serial mon:stdio)
	stdin=/dev/stdin
fi
cmdline="console=ttyS0 numa=fake=2 panic=-1 harness.mode=$mode ${VM_APPEND:-} $*"

# shellcheck disable=SC2086
timeout --foreground -k 10 "${VM_TIMEOUT:-1500}" \
	qemu-system-x86_64 -nodefaults -display none "${accel[@]}" \
	-bios /usr/share/qemu/qboot.rom -m "${VM_MEM:-2G}" -smp 2 -no-reboot \
	"${serial[@]}" -kernel "$BUILD/arch/x86/boot/bzImage" \
	-initrd "$OUT/initramfs.gz" -append "$cmdline" <"$stdin" |
	tee "$logfile" | { if [ "$mode" = check ] && [ "${VERBOSE:-0}" != 1 ]; then
		# Live progress only; the full console is in $logfile.
		grep --line-buffered -E '^(\[[ 0-9.]+\] )?( *# Subtest:|ok |not ok )|^ks:[^:]*: (not )?ok |^hs: ' || true
	else cat; fi; }
exit "${PIPESTATUS[0]}"
