#!/usr/bin/env bash
# Neighbour entries sipwatch does not own (issue 17, item 9): a static (PERMANENT) entry, a NOARP
# entry, an externally learned entry and an operator's managed entry, each the next hop of a SIP
# peer, are left exactly as the operator made them by every refresh mode (off, use, managed, and
# fail-fast with refresh off). A managed flag sipwatch set and could not remove (SIGKILL) is
# removed by the next start, and the operator's managed flag is not.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add phone 2 # an ordinary dynamic entry: sipwatch's to refresh (the control)
host_add st 6    # static: PERMANENT
host_add na 7    # NOARP
host_add el 8    # externally learned (extern_learn), STALE
host_add om 9    # the operator's managed entry (the kernel keeps it resolved itself)

# Short neighbour timers in the PBX namespace: entries go STALE within seconds, so that every
# mode gets to act on them while the test runs.
in_host pbx sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=2000 \
	net.ipv4.neigh.eth0.delay_first_probe_time=1

mac_of() { in_host "$1" cat /sys/class/net/eth0/address; }
# The operator's entries, made again before each mode so that every mode is judged on its own.
operator_entries() {
	in_host pbx ip neigh replace 10.99.0.6 lladdr "$(mac_of st)" dev eth0 nud permanent
	in_host pbx ip neigh replace 10.99.0.7 lladdr "$(mac_of na)" dev eth0 nud noarp
	in_host pbx ip neigh replace 10.99.0.8 lladdr "$(mac_of el)" dev eth0 nud stale extern_learn
	in_host pbx ip neigh replace 10.99.0.9 dev eth0 managed
}
operator_entries

PEERS="10.99.0.2 10.99.0.6 10.99.0.7 10.99.0.8 10.99.0.9"

entry() { in_host pbx ip -d neigh show "$1" dev eth0 nud all; }
# What the operator made, per entry: the static ones entirely (state, address), the others by
# their flags (the kernel's own probing may change their state, never their flags).
static_line() { entry "$1" | grep -o 'lladdr [0-9a-f:]* .*\(PERMANENT\|NOARP\)'; }
S6=$(static_line 10.99.0.6)
S7=$(static_line 10.99.0.7)
[ -n "$S6" ] && [ -n "$S7" ] || { echo "FAIL: test setup: static entries"; entry 10.99.0.6; entry 10.99.0.7; exit 1; }
check_untouched() { # MODE
	check "$1: the static entry is unchanged" [ "$(static_line 10.99.0.6)" = "$S6" ]
	check "$1: the NOARP entry is unchanged" [ "$(static_line 10.99.0.7)" = "$S7" ]
	check "$1: the externally learned entry keeps extern_learn" bash -c "ip netns exec $(ns_of pbx) ip neigh show 10.99.0.8 dev eth0 | grep -qw extern_learn"
	check "$1: the operator's managed entry keeps managed" bash -c "ip netns exec $(ns_of pbx) ip neigh show 10.99.0.9 dev eth0 | grep -qw managed"
	check "$1: sipwatch stamped none of the operator's entries" \
		bash -c "! ip netns exec $(ns_of pbx) ip -d neigh show dev eth0 | grep -E '^10\.99\.0\.[6-9] ' | grep -q 'proto 0xf5\|proto 245'"
}

sip_options $PEERS
resolved() { entry 10.99.0.9 | grep -q lladdr; }
check "setup: the operator's managed entry is resolved by the kernel" wait_for 15 resolved

# run_mode NAME WAIT_CMD FLAGS...: the agent in one mode; WAIT_CMD says it has acted (on the
# control peer); then a few more seconds of ticks, a stop, and every entry compared.
run_mode() {
	local name=$1 until=$2
	shift 2
	operator_entries
	agent_start --sip.ports=5060 --neigh.refresh-window=60s --neigh.refresh-rate=20 "$@" ||
		{ echo "FAIL: agent starts ($name)"; return 1; }
	sip_options $PEERS
	check "$name: the agent acted on the ordinary peer" wait_for 20 $until
	sip_options $PEERS
	sleep 5 # ticks in which every entry is due: STALE (reachable time 1-3 s), or not yet managed
	check_untouched "$name (running)"
	agent_stop
	check_untouched "$name (after exit)"
}

refreshed() { ge "$(metric sipwatch_neigh_refreshes_total)" 2; }
phone_managed() { in_host pbx ip neigh show 10.99.0.2 dev eth0 | grep -qw managed; }
seen_peers() { scrape /peers | grep -q '"peer":"10.99.0.9"'; }

run_mode off seen_peers
run_mode use refreshed --neigh.refresh=use
run_mode managed phone_managed --neigh.refresh=managed
check "managed: the ordinary peer's flag removed on exit" bash -c '! ip netns exec "$1" ip neigh show 10.99.0.2 dev eth0 | grep -qw managed' _ "$(ns_of pbx)"
run_mode "fail-fast with refresh off" seen_peers --neigh.fail-fast

# --- A managed flag sipwatch set and never removed (killed): the next start removes it, and
# only it.
agent_start --sip.ports=5060 --neigh.refresh=managed --neigh.refresh-window=60s ||
	{ echo "FAIL: agent starts (kill)"; exit 1; }
sip_options $PEERS
check "kill: the ordinary peer is managed by sipwatch, stamped with its protocol" wait_for 20 phone_managed
check "kill: the stamp is visible (proto 245)" bash -c "ip netns exec $(ns_of pbx) ip -d neigh show 10.99.0.2 dev eth0 | grep -q 'proto 0xf5\|proto 245'"
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
check "kill: SIGKILL left the flag behind" phone_managed
agent_start --sip.ports=5060 || { echo "FAIL: agent starts (after kill)"; exit 1; }
unmanaged() { ! phone_managed; }
check "next start (no refresh flags): the flag sipwatch left is removed" wait_for 10 unmanaged
check "next start: the removal is logged" grep -q 'removed the managed flag an earlier sipwatch left on 10.99.0.2' "$AGENT_LOG"
check_untouched "next start"
agent_stop
