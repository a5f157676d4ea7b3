#!/usr/bin/env bash
# Integration test helpers: a little LAN of network namespaces, the agent running inside the PBX
# namespace, bounded polling, and PASS/FAIL lines for tests/run.sh.
#
# The LAN: one bridge namespace ("br") holding bridge br0, and host namespaces joined to it by
# veth pairs. Host N has eth0 with 10.99.0.N/24 and fd99::N/64. Every address a test sends to is
# one of these hosts. Everything is removed on exit (trap), also when a test fails.
#
#   source "$(dirname "$0")/lib.sh"
#   lan_up; host_add pbx 1; host_add phone 2
#   agent_start --sip.ports=5060
#   in_host pbx ping -c1 -W1 10.99.0.2
#   check "reachable counted" [ "$(metric sipwatch_neigh_state_changes_total 'state="reachable"')" -ge 1 ]
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
SIPWATCH=${SIPWATCH:-$ROOT/$BUILD/sipwatch}
TOOLS=$ROOT/$BUILD/tools
NS_PREFIX="sw$$"
TEST_TMP=$(mktemp -d "/tmp/sipwatch-test.XXXXXX")
AGENT_PID=
AGENT_NS=
AGENT_LOG=$TEST_TMP/agent.log
AGENT_PORT=9060
declare -a HOSTS=()
declare -a BG_PIDS=() # background processes of the test, stopped by PID on exit (bg_track)

ns_of() { echo "$NS_PREFIX-$1"; }
in_host() { local h=$1; shift; ip netns exec "$(ns_of "$h")" "$@"; }
# host_bg NAME CMD...: CMD in host NAME in the background, tracked; its PID in $BG_PID. Not
# "in_host ... &": that backgrounds a subshell running the function, so $! would be the subshell
# and stopping it would leave CMD running. Redirections given to host_bg apply to CMD.
BG_PID=
host_bg() {
	local h=$1
	shift
	ip netns exec "$(ns_of "$h")" "$@" &
	BG_PID=$!
	bg_track "$BG_PID"
}

lan_cleanup() {
	gc_thresh_restore
	bg_stop
	agent_stop >/dev/null 2>&1 || true
	for h in "${HOSTS[@]}" br; do
		# anything still running in a namespace of ours (ours by construction) goes with it
		ip netns pids "$(ns_of "$h")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$(ns_of "$h")" 2>/dev/null || true
	done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TEST_TMP"
}
trap lan_cleanup EXIT

lan_up() {
	local br
	br=$(ns_of br)
	ip netns add "$br"
	ip -n "$br" link set lo up
	ip -n "$br" link add br0 type bridge
	ip -n "$br" link set br0 up
	HOSTS+=()
}

# host_add NAME N: a host namespace with eth0 = 10.99.0.N/24, fd99::N/64 on the bridge.
host_add() {
	local name=$1 idx=$2 ns br
	ns=$(ns_of "$name")
	br=$(ns_of br)
	ip netns add "$ns"
	HOSTS+=("$name")
	ip -n "$ns" link set lo up
	# No DAD: the addresses are usable at once, so tests need not wait for it.
	in_host "$name" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip link add eth0 netns "$ns" type veth peer name "v$idx" netns "$br"
	ip -n "$br" link set "v$idx" master br0 up
	ip -n "$ns" addr add "10.99.0.$idx/24" dev eth0
	ip -n "$ns" addr add "fd99::$idx/64" dev eth0 nodad
	ip -n "$ns" link set eth0 up
}

host_ip() { echo "10.99.0.$2"; }

# Bounded poll: wait_for SECONDS COMMAND... — true as soon as COMMAND succeeds.
wait_for() {
	local deadline=$(($(date +%s) + $1))
	shift
	while [ "$(date +%s)" -lt "$deadline" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	"$@" >/dev/null 2>&1
}

# gc_thresh1/2/3 belong to the (global) neighbour table, not to a namespace. gc_thresh_raise N sets
# all three to N in the initial namespace, saving what they were (once); gc_thresh_restore puts
# that back (lan_cleanup too).
SAVED_GC=
gc_thresh_raise() {
	[ -n "$SAVED_GC" ] || SAVED_GC=$(sysctl -n net.ipv4.neigh.default.gc_thresh1 \
		net.ipv4.neigh.default.gc_thresh2 net.ipv4.neigh.default.gc_thresh3 | tr '\n' ' ')
	sysctl -qw net.ipv4.neigh.default.gc_thresh1="$1" net.ipv4.neigh.default.gc_thresh2="$1" \
		net.ipv4.neigh.default.gc_thresh3="$1"
}
gc_thresh_restore() {
	[ -n "$SAVED_GC" ] || return 0
	set -- $SAVED_GC
	sysctl -qw net.ipv4.neigh.default.gc_thresh1="$1" net.ipv4.neigh.default.gc_thresh2="$2" \
		net.ipv4.neigh.default.gc_thresh3="$3"
	SAVED_GC=
}

# bg_track PID: a background process of the test (server, traffic peer) that lan_cleanup stops.
bg_track() { BG_PIDS+=("$1"); }

# pid_stop PID [TENTHS]: SIGTERM, at most TENTHS tenths of a second (default 50) to exit, then
# SIGKILL; reaped and no longer tracked. Only for processes this test started.
pid_stop() {
	local pid=$1 tenths=${2:-50} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 "$tenths"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for i in "${!BG_PIDS[@]}"; do [ "${BG_PIDS[i]}" = "$pid" ] && unset 'BG_PIDS[i]'; done
	return 0
}

# bg_stop: stop every tracked background process.
bg_stop() {
	local p
	for p in "${BG_PIDS[@]}"; do pid_stop "$p" 100; done
	BG_PIDS=()
}

# tcp_peer NAME HOST ARGS...: tests/tools/tcp_peer.py ARGS (serve/connect, bounded by its
# --deadline) in HOST, in the background and tracked; its output in $TEST_TMP/NAME.
tcp_peer() {
	local name=$1 host=$2
	shift 2
	ip netns exec "$(ns_of "$host")" python3 "$ROOT/tests/tools/tcp_peer.py" "$@" \
		>"$TEST_TMP/$name" 2>&1 &
	bg_track $!
}

agent_url() { echo "http://127.0.0.1:$AGENT_PORT${1:-/metrics}"; }

scrape() { in_host "$AGENT_NS" curl -sf --max-time 5 "$(agent_url "${1:-/metrics}")"; }
# peer_fields PEER FIELD...: those fields of PEER's entry in the agent's /peers, space-separated
# ("-" for each when /peers has no such peer).
peer_fields() {
	scrape /peers | python3 -c 'import json, sys
p = [p for p in json.load(sys.stdin)["peers"] if p["peer"] == sys.argv[1]]
print(" ".join(str(p[0][f]) if p else "-" for f in sys.argv[2:]))' "$@"
}

# agent_start [FLAGS...]: run sipwatch in the pbx namespace (or $AGENT_HOST) and wait until it serves.
# sip_options DST...: one SIP OPTIONS datagram from the pbx host's port 5060 to each address (a
# request the PBX sends makes the peer a verified SIP peer, and a refresh candidate).
sip_options() {
	in_host pbx python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5060))
for dst in sys.argv[1:]:
    msg = ("OPTIONS sip:ping@%s SIP/2.0\r\nVia: SIP/2.0/UDP 10.99.0.1:5060;branch=z9hG4bK1\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:pbx@10.99.0.1>;tag=1\r\nTo: <sip:ping@%s>\r\n"
           "Call-ID: sipwatch-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (dst, dst)
    s.sendto(msg.encode(), (dst, 5060))' "$@"
}

# SIPWATCH_EXTRA_ARGS: flags added to every agent of the test (test_sendq_rungs.sh forces one way
# of timing sends with it).
agent_start() {
	AGENT_NS=${AGENT_HOST:-pbx}
	# ip netns exec execs sipwatch, so $! is the agent's own pid.
	# shellcheck disable=SC2086 # SIPWATCH_EXTRA_ARGS is a list of flags
	ip netns exec "$(ns_of "$AGENT_NS")" "$SIPWATCH" "$@" ${SIPWATCH_EXTRA_ARGS:-} >"$AGENT_LOG" 2>&1 &
	AGENT_PID=$!
	# 60 s: under TCG (the kernel matrix) with two guests side by side, loading every object
	# took over 20 s once
	if ! wait_for 60 scrape /metrics; then
		echo "agent did not start; its log:" >&2
		cat "$AGENT_LOG" >&2
		return 1
	fi
}

# agent_stop: SIGTERM and wait; returns the agent's exit status.
# A wrapper (strace, setpriv…) may run the agent as its child: the child is signalled first, so
# that no agent outlives its test (a traced agent survives strace's own SIGTERM).
agent_stop() {
	local rc=0 kids
	[ -n "$AGENT_PID" ] || return 0
	kids=$(pgrep -P "$AGENT_PID")
	[ -n "$kids" ] && kill -TERM $kids 2>/dev/null
	kill -TERM "$AGENT_PID" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$AGENT_PID" $kids 2>/dev/null && rc=137
	wait "$AGENT_PID" 2>/dev/null || rc=$?
	AGENT_PID=
	return $rc
}

# metric NAME [LABEL_MATCHERS]: sum of the series of NAME whose labels contain every matcher
# (comma-separated 'key="value"'); 0 when none match.
metric() {
	scrape /metrics | awk -v name="$1" -v want="${2:-}" '
		BEGIN { n = split(want, m, ","); }
		/^#/ { next }
		{
			series = $1; value = $2;
			base = series; sub(/\{.*/, "", base);
			if (base != name) next;
			ok = 1;
			for (i = 1; i <= n; i++) if (index(series, m[i]) == 0) ok = 0;
			if (ok) sum += value;
		}
		END { printf "%.17g\n", sum + 0 }'
}

# check NAME COMMAND...: PASS when COMMAND succeeds, FAIL (and status 1) otherwise.
check() {
	local name=$1
	shift
	LAST_CMP=
	if "$@"; then
		echo "PASS: $name"
	else
		echo "FAIL: $name"
		[ -n "${LAST_CMP:-}" ] && echo "    last comparison: $LAST_CMP"
		[ -f "$AGENT_LOG" ] && { echo "--- agent log (last 20 lines)"; tail -20 "$AGENT_LOG"; } >&2
		return 1
	fi
}

# Numeric comparisons that work on metric values (floats): ge A B, eq A B, le A B, gt A B.
# Each notes what it compared, so that a FAIL line can say what was seen (LAST_CMP).
compare() { # OP A B
	LAST_CMP="$2 $1 $3"
	awk -v a="$2" -v b="$3" "BEGIN { exit !(a $1 b) }"
}
ge() { compare '>=' "$1" "$2"; }
gt() { compare '>' "$1" "$2"; }
le() { compare '<=' "$1" "$2"; }
eq() { compare '==' "$1" "$2"; }

# Bounded wait until metric NAME{MATCHERS} satisfies OP VALUE (ge/gt/eq/le).
wait_metric() { # SECONDS NAME MATCHERS OP VALUE
	local secs=$1 name=$2 matchers=$3 op=$4 value=$5
	_metric_ok() { $op "$(metric "$name" "$matchers")" "$value"; }
	wait_for "$secs" _metric_ok
}

# The IDs of the BPF programs the agent process holds: each prog fd's fdinfo names its prog_id.
agent_prog_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:[[:space:]]*//p' | sort -un
}

# The IDs of the BPF links the agent process holds.
agent_link_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | sed -n 's/^link_id:[[:space:]]*//p' | sort -un
}
