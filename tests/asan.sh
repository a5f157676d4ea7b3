#!/usr/bin/env bash
# make test-asan: the integration scenarios with the agent (and the test tools) built with
# AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/, then valgrind on a short
# scenario. Any sanitizer report fails the run, also one from a run whose test passed.
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build-asan}
reports=$(mktemp -d /tmp/sipwatch-asan.XXXXXX)
chmod 1777 "$reports" # the capability test runs the agent as nobody
trap 'rm -rf "$reports"' EXIT
# exitcode: a sanitizer finding also makes the agent exit non-zero, which the scripts check.
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:exitcode=23"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="log_path=$reports/lsan"
rc=0
if [ $# -gt 0 ]; then
	tests/run.sh "$@" || rc=1
else
	tests/run.sh integration || rc=1
fi
if compgen -G "$reports/*" >/dev/null; then
	echo "sanitizer reports:"
	for f in "$reports"/*; do echo "== $f"; cat "$f"; done
	echo "FAIL: sanitizer reports (above)"
	rc=1
else
	echo "PASS: no AddressSanitizer, LeakSanitizer or UBSan report from any process"
fi
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
[ -n "${SKIP_VALGRIND:-}" ] || BUILD=build tests/run.sh tests/valgrind.sh || rc=1
exit $rc
