#!/usr/bin/env bash
# valgrind (memcheck) on a short scenario: the agent starts in a test namespace, sees a neighbour
# resolution, serves /metrics, /incidents and the landing page, and is stopped; then
# `sipwatch doctor` runs its lifecycle (every concern started, detached and freed). Both must end
# with no error and every heap block freed. Part of `make test-asan`. tests/valgrind.supp holds
# valgrind's false positives on libbpf's bpf(2) calls, each explained.
source "$(dirname "$0")/integration/lib.sh"

VG=(valgrind --error-exitcode=99 --suppressions="$ROOT/tests/valgrind.supp" --leak-check=full
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
lan_up
host_add pbx 1
host_add phone 2

wrapper=$TEST_TMP/vg-agent
printf '#!/bin/sh\nexec %s --log-file=%s %s "$@"\n' "${VG[*]}" "$TEST_TMP/agent.vg" "$SIPWATCH" >"$wrapper"
chmod 755 "$wrapper"
SIPWATCH_REAL=$SIPWATCH
SIPWATCH=$wrapper
# agent_start's 20 s are not enough under valgrind: start it the same way with a longer wait.
AGENT_NS=pbx
ip netns exec "$(ns_of pbx)" "$SIPWATCH" >"$AGENT_LOG" 2>&1 &
AGENT_PID=$!
if wait_for 120 scrape /metrics; then
	in_host pbx ping -c 1 -W 1 10.99.0.2 >/dev/null
	check "agent under valgrind counts a neighbour transition" \
		wait_metric 20 sipwatch_neigh_state_changes_total 'state="reachable"' ge 1
	scrape / >/dev/null
	scrape /incidents >/dev/null
	agent_stop; rc=$?
	check "agent under valgrind exits 0 on SIGTERM" [ "$rc" -eq 0 ]
	check "agent under valgrind: no memory error" grep -q "ERROR SUMMARY: 0 errors" "$TEST_TMP/agent.vg"
	check "agent under valgrind: every heap block freed" grep -q "All heap blocks were freed" "$TEST_TMP/agent.vg"
	grep -q "ERROR SUMMARY: 0 errors" "$TEST_TMP/agent.vg" || cp "$TEST_TMP/agent.vg" /tmp/sipwatch-valgrind-agent.log
else
	echo "FAIL: agent starts under valgrind"
fi

in_host pbx "${VG[@]}" --log-file="$TEST_TMP/doctor.vg" "$SIPWATCH_REAL" doctor >/dev/null
check "doctor under valgrind: no memory error" grep -q "ERROR SUMMARY: 0 errors" "$TEST_TMP/doctor.vg"
check "doctor under valgrind: every heap block freed" grep -q "All heap blocks were freed" "$TEST_TMP/doctor.vg"
grep -q "ERROR SUMMARY: 0 errors" "$TEST_TMP/doctor.vg" || cat "$TEST_TMP/doctor.vg" >&2
