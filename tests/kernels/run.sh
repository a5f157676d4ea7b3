#!/usr/bin/env bash
# The guest-kernel matrix (make test-kernels; the "kernels" layer of tests/run.sh): for every
# kernel of kernels.list boot a QEMU guest and run GUEST_TESTS in it with the binaries built on
# the host, relay every PASS:/FAIL: line prefixed with the kernel ("PASS: [6.1.0-56-amd64] ..."),
# then print which probes the agent could attach on each kernel as a probe × kernel table.
#
# A kernel that cannot be fetched, a guest that dies, a failure without a FAIL line or a probe that
# is down without an explanation is a FAIL line: nothing here is skipped silently.
# Each guest's whole console is kept in $BUILD/kernels/<kernel>.log.
source "$(dirname "$0")/lib.sh"
cd "$KROOT" || exit 1

# What runs in every guest: tests/run.sh layers and integration scripts, with the same assertions
# as on the host. Add a capability's scenario here when it lands.
GUEST_TESTS=(
	bpf
	tests/integration/test_foundation.sh
	tests/integration/test_neigh.sh
	tests/integration/test_sendq_rungs.sh
	tests/integration/test_drops.sh
	tests/integration/test_tcp_timeouts.sh
	tests/kernels/test_neigh_table_full.sh
)
# KERNEL_TESTS="layer-or-script ..." runs only those (for iterating on one scenario).
[ -n "${KERNEL_TESTS:-}" ] && read -r -a GUEST_TESTS <<<"$KERNEL_TESTS"

# The probe matrix lists what an agent started with these flags attaches: the defaults plus the
# optional managed refresh. --neigh.fail-fast is left out until its attach failure on 6.12 is
# understood (tests/README.md, "Kernel matrix").
PROBE_FLAGS="--neigh.refresh=managed"

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

[ -x "$BUILD/sipwatch" ] || { fail "kernels: $BUILD/sipwatch is not built (make all bpftests first)"; exit 1; }
for t in "${GUEST_TESTS[@]}"; do
	case "$t" in *.sh) [ -f "$t" ] || fail "kernels: GUEST_TESTS names $t, which does not exist" ;; esac
done

pkgs=$(kernel_packages) || { fail "kernels: cannot choose the guest kernels (see above)"; exit 1; }

matrix=$(mktemp)
trap 'rm -f "$matrix"' EXIT

# relay KERNEL LOG RC: the guest's result lines, tagged with the kernel; everything else indented.
# Also counts them and checks them against the guest's own "N passed, N failed" summary.
relay() {
	local k=$1 log=$2 rc=$3 fails summaries summary_failed
	awk -v k="$k" -v matrix="$matrix" '
		/^PASS: / { sub(/^PASS: /, ""); print "PASS: [" k "] " $0; next }
		/^FAIL: / { sub(/^FAIL: /, ""); print "FAIL: [" k "] " $0; next }
		/^\[       OK \] / { sub(/^\[       OK \] /, ""); print "PASS: [" k "] " $0; next }
		/^\[  FAILED  \] [0-9]+ test/ { print "    [" k "] " $0; next }
		/^--- .*: [0-9]+ s$/ { print "=== [" k "] " substr($0, 5); next }
		/^\[  FAILED  \] / { sub(/^\[  FAILED  \] /, ""); print "FAIL: [" k "] " $0; next }
		/^PROBE / { print k, substr($0, 7) >> matrix; next }
		/reboot: Power down/ { next }
		{ print "    [" k "] " $0 }
	' "$log"
	fails=$(grep -cE '^FAIL: |^\[  FAILED  \] [^0-9]' "$log")
	summaries=$(grep -cE '^[0-9]+ passed, [0-9]+ failed$' "$log")
	summary_failed=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
	if [ "$summaries" -ne "${#GUEST_TESTS[@]}" ]; then
		fail "[$k] the guest's test run did not finish ($summaries of ${#GUEST_TESTS[@]} summary lines; see $log)"
	elif [ "$summary_failed" -gt "$fails" ]; then
		fail "[$k] $((summary_failed - fails)) failure(s) without a FAIL line (see $log)"
	fi
	failures=$((failures + fails))
	[ "$rc" -eq 0 ] || [ "$fails" -gt 0 ] || fail "[$k] guest exited $rc without a FAIL line (see $log)"
}

kernels=()
# The host's own kernel first: the reference column of the matrix.
host=$(uname -r)
kernels+=("$host")
out=$(bash tests/kernels/probes.sh $PROBE_FLAGS 2>&1)
sed -n 's/^PROBE /'"$host"' /p' <<<"$out" >>"$matrix"
grep -q "^$host " "$matrix" || fail "[$host] the agent listed no probes: $out"

# run_guest DIR KERNEL: GUEST_TESTS in a guest of that kernel, its console in $KCACHE/KERNEL.log,
# its exit status and time in KERNEL.rc / KERNEL.secs there.
run_guest() {
	local dir=$1 k=$2 start rc
	start=$(date +%s)
	# One tests/run.sh per test, timed (TCG makes time the scarce thing); relay() adds up the
	# summaries.
	vm_run "$dir" env BUILD="$BUILD" PROBE_FLAGS="$PROBE_FLAGS" SENDQ_RUNGS="fentry tracepoint" bash -c '
		rc=0
		for t; do
			start=$(date +%s)
			tests/run.sh "$t" || rc=1
			echo "--- $t: $(($(date +%s) - start)) s"
		done
		bash tests/kernels/probes.sh $PROBE_FLAGS || rc=1
		exit $rc' _ "${GUEST_TESTS[@]}" >"$KCACHE/$k.log" 2>&1
	rc=$?
	sed -i 's/\r$//' "$KCACHE/$k.log" # the serial console ends its lines with CR LF
	echo "$rc" >"$KCACHE/$k.rc"
	echo "$(($(date +%s) - start))" >"$KCACHE/$k.secs"
}

dirs=()
guests=()
for pkg in $pkgs; do
	dir=$(kernel_prepare "$pkg") || { fail "[$pkg] cannot fetch or unpack the kernel (see above)"; continue; }
	dirs+=("$dir")
	guests+=("$(cat "$dir/kver")")
done
# The guests run side by side where there is a core for each: a guest is one single-threaded TCG
# process (KERNELS_PARALLEL=0 runs them one after the other).
parallel=${KERNELS_PARALLEL:-$([ "$(nproc)" -ge "${#guests[@]}" ] && echo 1 || echo 0)}
pids=()
for i in "${!guests[@]}"; do
	echo "=== guest ${guests[$i]}: ${GUEST_TESTS[*]}"
	run_guest "${dirs[$i]}" "${guests[$i]}" &
	pids+=("$!")
	[ "$parallel" = 1 ] || wait "$!"
done
wait "${pids[@]}"
for k in "${guests[@]}"; do
	kernels+=("$k")
	relay "$k" "$KCACHE/$k.log" "$(cat "$KCACHE/$k.rc" 2>/dev/null || echo 125)"
	grep -q "^$k " "$matrix" || fail "[$k] the agent listed no probes"
	echo "=== guest $k: $(cat "$KCACHE/$k.secs" 2>/dev/null) s"
done

# Every probe that is down on a kernel must say why: the hook is absent there. A load or attach
# failure is a bug (CO-RE relocation, verifier), not an explanation.
while read -r k probe up reason; do
	[ "$up" = 1 ] && continue
	case "${reason,,}" in
	*fail* | *cannot* | *error* | *invalid* | "(no reason logged)") fail "[$k] probe $probe is down: $reason" ;;
	*) echo "PASS: [$k] probe $probe is down with a reason: $reason" ;;
	esac
done <"$matrix"

# The matrix: one row per probe, one column per kernel (host first).
echo
echo "Probe matrix (sipwatch_probe_up; 1 = attached):"
echo
printf '| probe |'
printf ' %s |' "${kernels[@]}"
echo
printf '|---|'
printf -- '---|%.0s' "${kernels[@]}"
echo
for probe in $(awk '{ print $2 }' "$matrix" | sort -u); do
	printf '| `%s` |' "$probe"
	for k in "${kernels[@]}"; do
		printf ' %s |' "$(awk -v k="$k" -v p="$probe" '$1 == k && $2 == p { v = $3 } END { print (v == "" ? "-" : v) }' "$matrix")"
	done
	echo
done
[ "$failures" -eq 0 ]
