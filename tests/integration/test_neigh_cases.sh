#!/usr/bin/env bash
# Neighbour failure cases beyond the plain dead peer: a known peer that stops answering
# (REACHABLE → STALE → DELAY → PROBE → FAILED, counted once), queue overflow (unres_qlen_bytes
# lowered in the PBX namespace → queue_full drops), a dead gateway with a SIP peer behind it, the
# incident rate limit, and another namespace's failures not counted.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add dead 2
host_add known 6
host_add qfull 7
host_add gw 8
host_add other 9
host_add otherdead 10
# A SIP core behind the gateway: its own namespace, reachable only through 10.99.0.8.
ip netns add "$(ns_of core)"
HOSTS+=(core)
ip -n "$(ns_of core)" link set lo up
ip -n "$(ns_of core)" addr add 10.98.0.7/32 dev lo
ip -n "$(ns_of pbx)" route add 10.98.0.0/24 via 10.99.0.8

MON=$TEST_TMP/monitor.log
OMON=$TEST_TMP/other-monitor.log
host_bg pbx ip monitor neigh >"$MON" 2>&1
MON_PID=$BG_PID
host_bg other ip monitor neigh >"$OMON" 2>&1
OMON_PID=$BG_PID
failed_lines() { grep -c "^$1 .*FAILED" "${2:-$MON}" || true; }
# Every IPv4 FAILED transition the kernel announced in the PBX namespace.
all_failed_v4() { grep -c '^10\.[0-9.]* .*FAILED' "$MON" || true; }
burst() {
	in_host "$1" "$TOOLS/udp_burst" --nonblocking --count "$3" --size 1100 --src-port 5060 \
		--deadline 10 "$2" | sed -n 's/.*sent=\([0-9]*\).*/\1/p'
}
incidents_for() { grep "incident=neigh_failed" "$AGENT_LOG" | grep "address=$1 " || true; }
wait_failed() { wait_for "${3:-10}" bash -c "grep -q '^$1 .*FAILED' '${2:-$MON}'"; }

# Quick probes keep the test short; the counts do not depend on timing.
in_host pbx sysctl -qw net.ipv4.neigh.eth0.retrans_time_ms=300 \
	net.ipv4.neigh.eth0.delay_first_probe_time=1
in_host other sysctl -qw net.ipv4.neigh.eth0.retrans_time_ms=300

# Default --neigh.incident-interval (60 s): the rate limit is exercised at the end.
agent_start --sip.ports=5060 || { echo "FAIL: agent starts"; exit 1; }

# --- a known peer stops answering ----------------------------------------------------------------
in_host pbx ping -c 1 -W 1 10.99.0.6 >/dev/null
check "known peer resolved" wait_metric 5 sipwatch_neigh_state_changes_total 'state="reachable"' ge 1
ip -n "$(ns_of known)" link set eth0 down
# As the reachable timer would: the entry goes STALE; the next send re-confirms it (DELAY, PROBE).
in_host pbx ip neigh change 10.99.0.6 dev eth0 nud stale
burst pbx 10.99.0.6:5060 1 >/dev/null
check "known peer: FAILED announced by the kernel" wait_failed 10.99.0.6
check "known peer: counted once" wait_metric 5 sipwatch_neigh_resolution_failures_total 'family="ipv4"' eq 1
check "known peer: exactly one FAILED transition (ip monitor)" eq "$(failed_lines 10.99.0.6)" 1
check "known peer went through probe" ge "$(metric sipwatch_neigh_state_changes_total 'family="ipv4",state="probe"')" 1
check "known peer went through delay" ge "$(metric sipwatch_neigh_state_changes_total 'family="ipv4",state="delay"')" 1
line=$(incidents_for 10.99.0.6)
echo "incident: $line"
check "known peer: incident says it stopped answering, from PROBE, with time since confirmed" \
	bash -c 'grep -q "failure=stopped_answering" <<<"$1" && grep -q "previous_state=probe" <<<"$1" && grep -q "seconds_since_confirmed=" <<<"$1"' _ "$line"
check "known peer: nothing was parked, nothing dropped" \
	eq "$(metric sipwatch_neigh_dropped_packets_total 'family="ipv4"')" 0

# --- a dead gateway with a SIP peer behind it ----------------------------------------------------
ip -n "$(ns_of gw)" link set eth0 down
sent=$(burst pbx 10.98.0.7:5060 5)
check "gateway: burst accepted" eq "$sent" 5
check "gateway: FAILED announced" wait_failed 10.99.0.8
# The kernel does not promise every tracepoint call reaches the programs (docs/design.md,
# "Neighbour resolution": the sweep): when the timer's calls went by unseen, the sweep reports the
# FAILED state (detected_by=sweep) but the drops made in that same timer run cannot be counted.
# Said so, and the scenario runs once more.
gateway_drops=5
if ! wait_metric 5 sipwatch_neigh_dropped_packets_total 'family="ipv4",reason="failed"' eq 5 &&
	incidents_for 10.99.0.8 | grep -q 'detected_by=sweep'; then
	echo "gateway: the kernel's FAILED transition reached no program (found by the sweep); once more"
	before=$(metric sipwatch_neigh_dropped_packets_total 'family="ipv4",reason="failed"')
	failed_lines=$(grep -c '^10.99.0.8 .*FAILED' "$MON")
	in_host pbx ip neigh flush 10.99.0.8 dev eth0
	sent=$(burst pbx 10.98.0.7:5060 5)
	wait_for 10 bash -c "[ \$(grep -c '^10.99.0.8 .*FAILED' '$MON') -gt $failed_lines ]"
	gateway_drops=$((${before%.*} + 5))
fi
check "gateway: the 5 datagrams dropped as failed" \
	wait_metric 5 sipwatch_neigh_dropped_packets_total 'family="ipv4",reason="failed"' eq "$gateway_drops"
line=$(incidents_for 10.99.0.8 | tail -1)
echo "incident: $line"
check "gateway: incident names the gateway, the peer behind it and the socket" \
	bash -c 'grep -q "failure=no_answer" <<<"$1" && grep -q "peers_behind=10.98.0.7" <<<"$1" && grep -q "udp:5060" <<<"$1" && grep -q "dropped_packets=5 " <<<"$1"' _ "$line"

# --- queue overflow: unres_qlen_bytes lowered in the PBX namespace ------------------------------
in_host pbx sysctl -qw net.ipv4.neigh.eth0.unres_qlen_bytes=10000
ip -n "$(ns_of qfull)" link set eth0 down
before_failed=$(metric sipwatch_neigh_dropped_packets_total 'family="ipv4",reason="failed"')
sent=$(burst pbx 10.99.0.7:5060 20)
check "queue overflow: burst accepted" eq "$sent" 20
check "queue overflow: FAILED announced" wait_failed 10.99.0.7
wait_for 5 bash -c "grep 'incident=neigh_failed' '$AGENT_LOG' | grep -q 'address=10.99.0.7 '"
in_host pbx sysctl -qw net.ipv4.neigh.eth0.unres_qlen_bytes=212992
qf=$(metric sipwatch_neigh_dropped_packets_total 'family="ipv4",reason="queue_full"')
failed=$(awk -v a="$(metric sipwatch_neigh_dropped_packets_total 'family="ipv4",reason="failed"')" -v b="$before_failed" 'BEGIN { print a - b }')
echo "queue_full=$qf failed=$failed (of $sent)"
check "queue overflow: evictions counted as queue_full" ge "$qf" 10
check "queue overflow: queue_full + failed = datagrams sent" eq "$(awk -v a="$qf" -v b="$failed" 'BEGIN { print a + b }')" "$sent"
line=$(incidents_for 10.99.0.7)
check "queue overflow: the incident's dropped packets are the ones still queued at FAILED" \
	bash -c 'grep -q "dropped_packets=$2 " <<<"$1"' _ "$line" "$failed"
socks=$(scrape '/neigh/sockets?since=60')
check "queue overflow: the socket's peak holding stayed under unres_qlen_bytes" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
h = [h for s in d["sockets"] if s["port"] == 5060 for h in s["holdings"] if h["address"] == "10.99.0.7"]
sys.exit(not (h and 0 < h[0]["bytes"] <= 10000 and h[0]["packets"] == int(sys.argv[2])))' "$socks" "$failed"

# --- another namespace's failures are not ours ---------------------------------------------------
snapshot() { scrape /metrics | grep -E '^sipwatch_neigh_(resolution_failures_total|dropped_packets_total)' | sort; }
before=$(snapshot)
ip -n "$(ns_of otherdead)" link set eth0 down
burst other 10.99.0.10:5060 10 >/dev/null
check "other namespace: its entry failed" wait_failed 10.99.0.10 "$OMON"
sleep 0.5 # let a (wrong) count reach the maps; the check below is an equality, not a wait
check "other namespace: nothing counted by the PBX's agent" [ "$before" = "$(snapshot)" ]

# --- rate limit: the same address failing again within the interval ------------------------------
ip -n "$(ns_of dead)" link set eth0 down
burst pbx 10.99.0.2:5060 2 >/dev/null
check "first failure of 10.99.0.2" wait_failed 10.99.0.2
wait_for 5 bash -c "grep 'incident=neigh_failed' '$AGENT_LOG' | grep -q 'address=10.99.0.2 '"
burst pbx 10.99.0.2:5060 2 >/dev/null
wait_for 10 bash -c "[ \$(grep -c '^10.99.0.2 .*FAILED' '$MON') -ge 2 ]"
check "second FAILED of the same address counted" \
	wait_metric 5 sipwatch_neigh_resolution_failures_total 'family="ipv4"' eq "$(all_failed_v4)"
check "...but its incident line suppressed" eq "$(incidents_for 10.99.0.2 | wc -l)" 1
check "...and counted as suppressed" eq "$(metric sipwatch_incidents_suppressed_total 'kind="neigh_failed"')" 1
check "failures = every FAILED transition ip monitor saw" \
	eq "$(metric sipwatch_neigh_resolution_failures_total 'family="ipv4"')" "$(all_failed_v4)"

agent_stop
check "agent exits 0" [ $? -eq 0 ]

# --- --netns.all: the other namespace's failures are counted, under its own netns label ----------
agent_start --sip.ports=5060 --netns.all || { echo "FAIL: agent starts with --netns.all"; exit 1; }
other_ino=$(in_host other readlink /proc/self/ns/net | tr -dc 0-9)
burst other 10.99.0.10:5060 3 >/dev/null
wait_for 10 bash -c "[ \$(grep -c '^10.99.0.10 .*FAILED' '$OMON') -ge 2 ]"
check "--netns.all: the other namespace's failure counted under its netns" \
	wait_metric 5 sipwatch_neigh_resolution_failures_total "netns=\"$other_ino\",ifname=\"eth0\",family=\"ipv4\"" eq 1
check "--netns.all: its 3 parked datagrams counted as failed drops" \
	wait_metric 5 sipwatch_neigh_dropped_packets_total "netns=\"$other_ino\",reason=\"failed\"" eq 3
body=$(scrape /metrics)
check "--netns.all exposition passes promtool check metrics" \
	bash -c 'promtool check metrics <<<"$1" 2>&1 | tee /dev/stderr | [ -z "$(cat)" ]' _ "$body"
kill "$MON_PID" "$OMON_PID" 2>/dev/null
wait "$MON_PID" "$OMON_PID" 2>/dev/null
agent_stop
check "agent exits 0 (--netns.all)" [ $? -eq 0 ]
