#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make kunit: run the driver's .kunitconfig through kunit.py on x86_64 (TCG).
. "$(dirname "$0")/lib.sh"

"$TOP/harness/deps.sh"
"$TOP/harness/tree.sh"
cc=gcc
command -v ccache >/dev/null && [ "${NO_CCACHE:-0}" != 1 ] && cc="ccache gcc"
cd "$SRC"
exec python3 tools/testing/kunit/kunit.py run --arch=x86_64 \
	--kunitconfig=drivers/gpu/drm/uptr/.kunitconfig \
	--build_dir="$OUT/kunit" --jobs="$JOBS" --timeout=900 \
	--make_options "CC=$cc"
