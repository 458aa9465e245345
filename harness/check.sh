#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make check: install what is missing, prepare the tree, run the static
# checks, build the debug test kernel and the user programs, make the patch
# series and lint every patch of it, boot the guest, and report every test.
# Exit status 0 only when nothing failed.
#   SELFTEST=warn   harness self-test: the guest triggers a WARN_ON first,
#                   so the run must fail with "splat: WARNING".
. "$(dirname "$0")/lib.sh"

t0=$(date +%s)
stamp() { log "$1 done at +$(( $(date +%s) - t0 ))s"; }

"$TOP/harness/deps.sh"
stamp deps
"$TOP/harness/build.sh" configure
stamp "tree and config"
# checkpatch and W=1 run per patch in lint below, not per file here.
LINT_COVERS=1 "$TOP/harness/static.sh"
stamp "static checks"
"$TOP/harness/build.sh" all
stamp build
"$TOP/harness/series.sh" >"$LOGS/series.log" 2>&1 ||
	{ tail -20 "$LOGS/series.log"; printf 'not ok make series\t%s\n' "$LOGS/series.log" >>"$LOGS/static.tap"; }
stamp series
if grep -q '^not ok make series' "$LOGS/static.tap"; then
	:
elif "$TOP/harness/lint.sh" >"$LOGS/lint.log" 2>&1 || [ -s "$LOGS/lint.tap" ]; then
	cat "$LOGS/lint.tap" >>"$LOGS/static.tap"
else
	tail -20 "$LOGS/lint.log"
	printf 'not ok make lint\t%s\n' "$LOGS/lint.log" >>"$LOGS/static.tap"
fi
stamp lint

console=$LOGS/check-console.log
extra=()
[ -n "${SELFTEST:-}" ] && extra+=("harness.selftest=$SELFTEST")
# Time budgets grow with the stress duration (at most 240 s per test).
stress=${STRESS_SECONDS:-10}
if [ -n "${STRESS_SECONDS:-}" ]; then
	extra+=("harness.stress=$STRESS_SECONDS"
		"harness.testtimeout=$((900 + 10 * stress))")
fi
VM_TIMEOUT=${VM_TIMEOUT:-$((1500 + 20 * stress))}
set +e
VM_TIMEOUT=$VM_TIMEOUT "$TOP/harness/vm.sh" check "$console" "${extra[@]}"
vmrc=$?
set -e
stamp "guest (qemu exit $vmrc)"
[ $vmrc = 124 ] && log "guest timed out after ${VM_TIMEOUT}s"
python3 "$TOP/harness/results.py" "$LOGS/static.tap" "$console"
