#!/usr/bin/env bash
# Run every test layer and finish with one line "N passed, N failed".
#
#   tests/run.sh                    all layers: unit, unit-asan, bpf, dashboards, integration, kernels
#   tests/run.sh unit               one layer
#   tests/run.sh kernels            bpf + integration tests again in QEMU guests running Debian's
#                                   6.1 and 6.12 kernels (tests/kernels/run.sh)
#   tests/run.sh tests/integration/test_neigh.sh   one integration script
#
# Unit and BPF tests are cmocka binaries (their "[  PASSED  ]"/"[  FAILED  ]" lines are counted);
# integration scripts print "PASS: name" / "FAIL: name: why" lines (tests/integration/lib.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD

passed=0
failed=0
failures=()

count_cmocka() { # binary
	local out rc p f
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	[ -n "${f:-}" ] && failures+=("$*")
	if [ "$rc" -ne 0 ] && [ -z "${f:-}" ]; then
		failed=$((failed + 1))
		failures+=("$* (exit $rc)")
	fi
}

run_script() { # script [timeout-seconds]
	local out rc p f
	echo "=== $1"
	out=$(timeout --kill-after=10 "${2:-${TEST_TIMEOUT:-600}}" bash "$1" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -c '^PASS: ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL: ')
	passed=$((passed + p))
	failed=$((failed + f))
	while IFS= read -r line; do failures+=("$1: ${line#FAIL: }"); done < <(printf '%s\n' "$out" | grep '^FAIL: ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$1 (exit $rc without a FAIL line)")
	fi
}

run_layer() {
	case "$1" in
	unit)
		for t in "$BUILD"/tests/test_*; do [ -x "$t" ] && count_cmocka "$t"; done ;;
	unit-asan)
		for t in "$BUILD"/tests-asan/test_*; do [ -x "$t" ] && count_cmocka "$t"; done ;;
	bpf)
		for t in "$BUILD"/tests/bpf/test_*; do [ -x "$t" ] && count_cmocka "$t"; done ;;
	dashboards)
		for t in tests/dashboards/test_*.sh; do run_script "$t"; done ;;
	integration)
		for t in tests/integration/test_*.sh; do run_script "$t"; done ;;
	kernels)
		# Boots one guest per kernel and runs the bpf and integration tests in each.
		run_script tests/kernels/run.sh "${KERNELS_TIMEOUT:-1800}" ;;
	*.sh)
		run_script "$1" ;;
	*)
		echo "run.sh: unknown layer or script $1" >&2
		exit 2 ;;
	esac
}

layers=("$@")
[ ${#layers[@]} -eq 0 ] && layers=(unit unit-asan bpf dashboards integration kernels)
for layer in "${layers[@]}"; do
	run_layer "$layer"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo
	echo "Failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
