#!/usr/bin/env bash
# Proactive neighbour refresh and fail-fast (issue 8): sipwatch re-probes SIP peers' next hops in
# the background (use), keeps them managed (managed), never faster than --neigh.refresh-rate,
# changes nothing without the flags, and with --neigh.fail-fast keeps dead peers from stalling
# the shared SIP socket. `ip monitor neigh` in the PBX namespace is the ground truth.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add phone 2
host_add dead 3
for i in $(seq 10 21); do host_add "crowd$i" "$i"; done

# Short neighbour timers in the PBX namespace, so that entries go STALE within seconds:
# reachable time 1–3 s, first unicast probe 1 s after DELAY. The same machinery, faster.
in_host pbx sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=2000 \
	net.ipv4.neigh.eth0.delay_first_probe_time=1


neigh_state() { in_host pbx ip neigh show "$1" dev eth0 | awk '{print $NF}'; }
is_state() { [ "$(neigh_state "$1")" = "$2" ]; }
# The monitor is listening once `ip` (exec'd by ip netns exec) holds its netlink socket.
monitor_listening() { [ "$(cat /proc/"$MONITOR"/comm)" = ip ] && ls -l /proc/"$MONITOR"/fd | grep -q socket; }
monitor_start() {
	ip netns exec "$(ns_of pbx)" ip monitor neigh >"$TEST_TMP/monitor" 2>&1 &
	MONITOR=$!
	wait_for 5 monitor_listening
}
monitor_stop() { kill "$MONITOR" 2>/dev/null; wait "$MONITOR" 2>/dev/null; }

# --- Without the flags sipwatch changes nothing: an idle STALE entry stays STALE, never managed.
agent_start --sip.ports=5060 || { echo "FAIL: agent starts"; exit 1; }
sip_options 10.99.0.2
check "without flags: the contacted peer's entry goes STALE by itself" wait_for 10 is_state 10.99.0.2 STALE
monitor_start
sleep 4
monitor_stop
check "without flags: no neighbour change at all while idle (ip monitor neigh is silent)" \
	[ ! -s "$TEST_TMP/monitor" ]
check "without flags: no refresh request sent" eq "$(metric sipwatch_neigh_refreshes_total)" 0
check "without flags: fail-fast and refresh probes not attached" \
	eq "$(metric sipwatch_probe_up 'probe="failfast_egress"')$(metric sipwatch_probe_up 'probe="neigh_refresh"')" 00
agent_stop

# --- use: a live idle peer is re-probed back to REACHABLE; a dead one is found dead.
agent_start --sip.ports=5060 --neigh.refresh=use --neigh.refresh-window=60s --neigh.refresh-rate=10 ||
	{ echo "FAIL: agent starts (use)"; exit 1; }
monitor_start
sip_options 10.99.0.2 10.99.0.3
# From the monitor, not from `ip neigh show`: with reachable times of 1–3 s an entry may already be
# STALE again when a loaded machine gets round to looking.
resolved() { grep -q "^$1 .*REACHABLE" "$TEST_TMP/monitor"; }
both_resolved() { resolved 10.99.0.2 && resolved 10.99.0.3; }
check "use: both peers resolved" wait_for 5 both_resolved ||
	{ echo "ip neigh:"; in_host pbx ip neigh show dev eth0; echo "monitor:"; cat "$TEST_TMP/monitor"; } >&2
in_host dead ip link set eth0 down
# No application traffic from here on: only sipwatch can make the kernel re-probe.
reprobed() { grep -A100 '^10.99.0.2 .*STALE' "$TEST_TMP/monitor" | grep -q '^10.99.0.2 .*REACHABLE'; }
check "use: the idle live peer returns to REACHABLE after STALE without application traffic" \
	wait_for 20 reprobed
check "use: the dead peer goes FAILED with no application sending to it" \
	wait_for 20 grep -q '^10.99.0.3 .*FAILED' "$TEST_TMP/monitor"
monitor_stop
check "use: refresh requests counted" ge "$(metric sipwatch_neigh_refreshes_total 'family="ipv4"')" 2
check "use: outcome reachable counted" \
	wait_metric 5 sipwatch_neigh_refresh_outcomes_total 'outcome="reachable"' ge 1
check "use: outcome failed counted" \
	wait_metric 5 sipwatch_neigh_refresh_outcomes_total 'outcome="failed"' ge 1
check "use: the dead peer found by refresh is an incident line" \
	grep -Eq 'incident=refresh_dead_peer ifname=eth0 family=ipv4 address=10\.99\.0\.3' "$AGENT_LOG"
agent_stop
in_host dead ip link set eth0 up

# --- managed: entries carry the managed flag while sipwatch runs, and lose it when it exits.
agent_start --sip.ports=5060 --neigh.refresh=managed --neigh.refresh-window=60s ||
	{ echo "FAIL: agent starts (managed)"; exit 1; }
sip_options 10.99.0.2
is_managed() { in_host pbx ip neigh show 10.99.0.2 dev eth0 | grep -qw managed; }
check "managed: the SIP peer's entry is marked managed" wait_for 10 is_managed
agent_stop
check "managed: the flag is gone after sipwatch exits" bash -c '! ip netns exec "$1" ip neigh show 10.99.0.2 dev eth0 | grep -qw managed' _ "$(ns_of pbx)"

# --- Rate limit: twelve candidates going STALE together, at most 1 request per second.
agent_start --sip.ports=5060 --neigh.refresh=use --neigh.refresh-window=60s --neigh.refresh-rate=1 ||
	{ echo "FAIL: agent starts (rate limit)"; exit 1; }
crowd=$(for i in $(seq 10 21); do printf '10.99.0.%d ' "$i"; done)
# shellcheck disable=SC2086
sip_options $crowd
all_stale() { [ "$(in_host pbx ip neigh show dev eth0 | grep -c '^10\.99\.0\.\(1[0-9]\|2[01]\) .*STALE')" -ge 6 ]; }
wait_for 15 all_stale
t0=$(date +%s.%N)
r0=$(metric sipwatch_neigh_refreshes_total)
sleep 6
r1=$(metric sipwatch_neigh_refreshes_total)
t1=$(date +%s.%N)
echo "rate limit: $((${r1%.*} - ${r0%.*})) refreshes in $(python3 -c "print(round($t1 - $t0, 2))") s"
check "rate limit: never more than 1/s (+ a burst of 1)" \
	python3 -c "import sys; sys.exit(not ($r1 - $r0 <= ($t1 - $t0) * 1 + 1))"
check "rate limit: the refreshes it held back are counted" \
	ge "$(metric sipwatch_neigh_refreshes_skipped_total 'reason="rate_limit"')" 1
agent_stop

# --- Fail-fast: the measured stall scenario, once both dead peers are FAILED.
in_host pbx sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=30000 net.ipv4.neigh.eth0.delay_first_probe_time=5
host_add dead2 4
host_add live 5
ip netns exec "$(ns_of live)" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.99.0.5", 5060)); s.settimeout(1)
n, end = 0, time.time() + 60
while time.time() < end:
    try:
        s.recv(65536); n += 1
        open("'"$TEST_TMP"'/live.count", "w").write(str(n))
    except socket.timeout:
        pass' &
receiver=$!
agent_start --sip.ports=5060 --neigh.refresh=use --neigh.fail-fast --neigh.refresh-window=120s ||
	{ echo "FAIL: agent starts (fail-fast)"; exit 1; }
check "fail-fast: probe attached" eq "$(metric sipwatch_probe_up 'probe="failfast_egress"')" 1
sip_options 10.99.0.3 10.99.0.4 10.99.0.5 # all three are SIP peers the agent knows
in_host dead ip link set eth0 down
in_host dead2 ip link set eth0 down
# Phones that died a while ago: their entries have been collected, so the next send must resolve.
in_host pbx ip neigh del 10.99.0.3 dev eth0
in_host pbx ip neigh del 10.99.0.4 dev eth0
# First burst: the classic stall, until both entries are FAILED.
in_host pbx "$TOOLS/udp_burst" --count 40 --size 1200 --src-port 5060 --deadline 20 \
	10.99.0.3:5060 10.99.0.4:5060 >/dev/null
both_blocked() { eq "$(metric sipwatch_neigh_failfast_peers)" 2; }
check "fail-fast: both dead peers blocked once FAILED" wait_for 10 both_blocked
check "fail-fast: entering is an incident line" grep -q 'incident=fail_fast_enter .*address=10.99.0.3' "$AGENT_LOG"
drops0=$(metric sipwatch_neigh_dropped_packets_total 'reason="fail_fast"')
out=$(in_host pbx "$TOOLS/udp_burst" --count 90 --size 1200 --src-port 5060 --deadline 20 \
	10.99.0.3:5060 10.99.0.4:5060 10.99.0.5:5060)
echo "burst with fail-fast: $out"
max_us=$(sed -n 's/.*max_call_us=\([0-9]*\).*/\1/p' <<<"$out")
check "fail-fast: no send blocked as long as the stall threshold (500 ms)" [ "${max_us:-999999999}" -lt 500000 ]
check "fail-fast: the live peer got its 30 messages" wait_for 5 bash -c '[ "$(cat "$1" 2>/dev/null)" -ge 30 ]' _ "$TEST_TMP/live.count"
check "fail-fast: the dead peers' 60 messages counted as fail_fast drops" \
	wait_metric 5 sipwatch_neigh_dropped_packets_total 'reason="fail_fast"' eq "$((${drops0%.*} + 60))"
# A dead host comes back: refresh re-probes FAILED entries, the block lifts, messages flow.
in_host dead ip link set eth0 up
left() { grep -q 'incident=fail_fast_leave .*address=10.99.0.3 ' "$AGENT_LOG"; }
check "fail-fast: lifts when the dead host answers again (within 30 s), logged as an incident" wait_for 30 left
check "fail-fast: the other dead peer stays blocked" eq "$(metric sipwatch_neigh_failfast_peers)" 1
out=$(in_host pbx "$TOOLS/udp_burst" --count 5 --size 200 --src-port 5060 --deadline 5 10.99.0.3:5060)
check "fail-fast: messages to the returned host are sent again" grep -q 'errors=0' <<<"$out"
agent_stop
kill "$receiver" 2>/dev/null
