#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# static-file.sh KIND FILE: run one per-file static check (checkpatch or
# kernel-doc) from the kernel tree, print its findings. Results are cached
# by the file's content, so an unchanged file is not checked again.
set -euo pipefail
kind=$1 f=$2
cache=$CACHE/$kind-$({ echo "$f $TOOLSUM"; cat "$f"; } | sha256sum | cut -c1-32)
if [ -f "$cache" ]; then
	cat "$cache"
	exit 0
fi
case "$kind" in
checkpatch)
	# Any ERROR, WARNING or CHECK fails.
	level='ERROR|WARNING|CHECK'
	{ perl scripts/checkpatch.pl --strict --no-tree --terse --show-types \
		--ignore FILE_PATH_CHANGES -f "$f" 2>&1 || true; } |
		{ grep -E "$level" || true; } >"$cache.tmp"
	;;
kernel-doc)
	scripts/kernel-doc -none -Wall "$f" >"$cache.tmp" 2>&1 || true
	;;
esac
mv "$cache.tmp" "$cache"
cat "$cache"
