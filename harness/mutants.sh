#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make mutants [MUTANTS="name ..."]: for each mutant of harness/mutants.list
# (all by default), apply it to a copy of the repository, build the test
# kernel from that copy (incrementally, in $OUT/build), boot the guest with
# shorter stress runs and time budget, and compare its results with those
# of the unmutated tree: a mutant is killed when a test fails that passes
# without it. Writes into $OUT/mutants/:
#   baseline.results, NAME.results   results.py output of each run
#   NAME.console.log                 the guest console of each run
#   table.txt                        one line per mutant, killed/survived
#                                    and the tests that killed it
#   MUTANTS_BASELINE=FILE   use FILE (results.py output of the unmutated
#                           tree with the same settings) as baseline
#   MUTANT_STRESS=N         stress seconds per test (default 2)
#   MUTANT_TIMEOUT=N        guest time budget in seconds (default 900)
# A mutant with "suites:" runs only those kselftests (KUnit always runs);
# the binaries it leaves out are then not counted as killing it.
# Exit status 0 only when every mutant run was killed.
. "$(dirname "$0")/lib.sh"

dir=$OUT/mutants
suites=
copy=$dir/tree
mkdir -p "$dir"
stress=${MUTANT_STRESS:-2}
budget=${MUTANT_TIMEOUT:-900}

python3 "$TOP/harness/mutants.py" check "$TOP" || die "harness/mutants.list is stale"
if [ -n "${MUTANTS:-}" ]; then
	read -r -a names <<<"$MUTANTS"
else
	mapfile -t names < <(python3 "$TOP/harness/mutants.py" names "$TOP")
fi

# A clean copy of the repository's tracked files, mutated in place.
fresh_copy() {
	mkdir -p "$copy"
	(cd "$TOP" && git ls-files -z) |
		rsync -c -q --from0 --files-from=- "$TOP/" "$copy/"
}

# run_tree TREE NAME: build TREE into $OUT, boot it, write NAME.results.
run_tree() {
	local tree=$1 name=$2 tap=$dir/empty.tap console=$dir/$2.console.log
	: >"$tap"
	log "mutant run $name: build"
	if ! OUT=$OUT "$tree/harness/build.sh" all >"$dir/$name.build.log" 2>&1; then
		printf 'FAIL  build\n' >"$dir/$name.results"
		return 0
	fi
	log "mutant run $name: guest"
	OUT=$OUT VM_TIMEOUT=$budget "$tree/harness/vm.sh" check "$console" \
		"harness.stress=$stress" "harness.testtimeout=$((budget / 3))" \
		${suites:+"harness.kselftests=$suites"} >/dev/null 2>&1 || true
	python3 "$tree/harness/results.py" "$tap" "$console" >"$dir/$name.results" || true
}

"$TOP/harness/deps.sh"
base=${MUTANTS_BASELINE:-$dir/baseline.results}
if [ ! -s "$base" ]; then
	fresh_copy
	run_tree "$copy" baseline
	base=$dir/baseline.results
fi

table=$dir/table.txt
[ -f "$table" ] || printf '%-32s %-9s %s\n' MUTANT VERDICT "KILLED BY" >"$table"
all_killed=1
for name in "${names[@]}"; do
	fresh_copy
	python3 "$TOP/harness/mutants.py" apply "$TOP" "$name" "$copy"
	# The mutant's "suites:" (default all); KUnit always runs at boot.
	suites=$(python3 "$TOP/harness/mutants.py" suites "$TOP" "$name" | tr ' ' ,)
	run_tree "$copy" "$name"
	suites=
	verdict=$(python3 "$TOP/harness/mutants.py" verdict "$base" "$dir/$name.results")
	case "$verdict" in killed\ *) ;; *) all_killed=0 ;; esac
	sed -i "/^$name /d" "$table"
	printf '%-32s %-9s %s\n' "$name" "${verdict%% *}" \
		"$(echo "$verdict" | sed -n 's/^killed //p')" >>"$table"
	log "mutant $name: $verdict"
done
# Leave the shared kernel tree as the repository has it.
OUT=$OUT "$TOP/harness/tree.sh" >/dev/null
cat "$table"
[ $all_killed = 1 ]
