#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Common settings of the uptr build-and-test harness. Sourced, not run.
# This directory is tooling for the repository, not part of the patch series.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$TOP/out}
TARBALL=${TARBALL:-/usr/src/linux-source-6.12.tar.xz}
# KSRC: an existing kernel tree to use instead of the extracted Debian source.
SRC=${KSRC:-$OUT/linux-source-6.12}
SRC=$(realpath -m "$SRC")
if [ "${VARIANT:-debug}" = debug ]; then
	BUILD=${BUILD:-$OUT/build}
else
	BUILD=${BUILD:-$OUT/build-$VARIANT}
fi
LOGS=$OUT/logs
JOBS=${JOBS:-$(nproc)}

# ccache lives outside the clone (its default directory) so that a fresh
# clone reuses it; depend mode and a base dir make hits path-independent.
export CCACHE_DEPEND=1
export CCACHE_BASEDIR=$TOP
export CCACHE_SLOPPINESS=time_macros
export KBUILD_BUILD_TIMESTAMP='Thu Nov 26 00:00:00 UTC 2026'
export KBUILD_BUILD_USER=uptr
export KBUILD_BUILD_HOST=harness

kmake() {
	local cc=gcc
	if command -v ccache >/dev/null 2>&1 && [ "${NO_CCACHE:-0}" != 1 ]; then
		cc="ccache gcc"
	fi
	make -C "$SRC" O="$BUILD" CC="$cc" -j"$JOBS" "$@"
}

log() { printf '[harness] %s\n' "$*" >&2; }
die() { printf '[harness] error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$OUT" "$LOGS"

# The programs the uptr selftest Makefile builds (TEST_GEN_PROGS and co.),
# one per line, from the prepared tree.
selftest_progs() {
	make -s -C "$SRC/tools/testing/selftests/drm/uptr" -f - print-progs <<'MK' |
include Makefile
print-progs:
	@echo $(notdir $(TEST_GEN_PROGS) $(TEST_GEN_PROGS_EXTENDED) $(TEST_GEN_FILES))
MK
		tr ' ' '\n' | grep .
}
