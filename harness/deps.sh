#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages the harness needs, and any named as
# arguments (as root), or print the one apt-get line that would (as any
# other user) and fail.
. "$(dirname "$0")/lib.sh"

PKGS=(linux-source-6.12 qemu-system-x86 gcc make flex bison bc libelf-dev
      libssl-dev cpio busybox-static ccache sparse python3 perl rsync
      xz-utils gzip libc6-dev kmod patch e2fsprogs gcc-multilib
      python3-sphinx python3-ply python3-git)
# Callers may ask for more (make distro-check: Debian's configs and headers).
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	log "missing packages; as root run:"
	echo "  $line"
	exit 1
fi
log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >"$LOGS/apt.log" 2>&1 || { cat "$LOGS/apt.log"; die "apt-get update failed"; }
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends ${missing[*]} >>"$LOGS/apt.log" 2>&1 ||
	{ tail -30 "$LOGS/apt.log"; die "apt-get install failed"; }
