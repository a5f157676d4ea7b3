#!/usr/bin/env bash
# Send path on SIP sockets: the measured stall (blocking UDP sender on 5060, two dead peers) is
# timed, counted and logged as an incident; non-blocking EAGAINs are counted exactly; healthy
# sends stay in the lowest buckets; non-SIP sends and other namespaces' sends are not counted.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add dead1 2
host_add dead2 3
host_add live 4

# 5060: the stalled blocking sender; 5062: non-blocking; 5064: healthy; 5066: remote-port match.
agent_start --sip.ports=5060,5062,5064,5066 || { echo "FAIL: agent starts"; exit 1; }
check "send timing: one rung attached" eq "$(metric sipwatch_probe_up 'probe="send_timing:')" 1
check "socket iterators up" eq "$(metric sipwatch_probe_up 'probe="sendq_iter_')" 2

bucket() { metric sipwatch_send_blocked_seconds_bucket "$1,le=\"$2\""; }
count() { metric sipwatch_send_blocked_seconds_count "$1"; }
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }

# --- The measured stall: two hosts whose cable is pulled, ~1.2 KB datagrams alternately to them.
in_host dead1 ip link set eth0 down
in_host dead2 ip link set eth0 down
# SO_SNDBUF of a new socket. Older kernels (6.1 in the guest matrix) do not show net.core in a child
# namespace and use the initial namespace's value.
wmem_default=$(in_host pbx cat /proc/sys/net/core/wmem_default 2>/dev/null || cat /proc/sys/net/core/wmem_default)
in_host pbx "$TOOLS/udp_burst" --count 120 --size 1200 --src 10.99.0.1 --src-port 5060 --deadline 20 \
	10.99.0.2:5060 10.99.0.3:5060 >"$TEST_TMP/stall.out" &
sender=$!
# metric_from FILE NAME MATCHERS: metric() over a saved exposition instead of a fresh scrape.
metric_from() { local file=$1; shift; ( scrape() { cat "$file"; }; metric "$@" ); }
# While the sender is stuck its buffer is full. One exposition and one /sockets taken then are
# checked as a whole (the stall lasts 3 s; slow guests must not let it end between two scrapes).
during=$TEST_TMP/during.prom
sender_stuck() {
	scrape /metrics >"$during" && scrape /sockets >"$TEST_TMP/sockets.json" &&
		ge "$(metric_from "$during" sipwatch_socket_send_queue_fill_ratio 'proto="udp",port="5060"')" 0.9
}
check "send queue of the stalled SIP socket fills up (polled during the stall)" wait_for 10 sender_stuck
check "held_unresolved_bytes non-zero during the stall" \
	gt "$(metric_from "$during" sipwatch_send_queue_held_unresolved_bytes 'proto="udp",port="5060"')" 0
check "socket_send_queue_bytes non-zero during the stall" \
	gt "$(metric_from "$during" sipwatch_socket_send_queue_bytes 'proto="udp",port="5060"')" 0
check "socket_send_buffer_bytes is the socket's SO_SNDBUF" \
	eq "$(metric_from "$during" sipwatch_socket_send_buffer_bytes 'proto="udp",port="5060"')" "$wmem_default"
# /sockets: SO_SNDBUF vs unres_qlen_bytes, and how many dead peers that takes (2 by default).
check "/sockets lists the stalled sender with bytes queued" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [s for s in d["sockets"] if s["proto"] == "udp" and s["port"] == 5060 and s["queued_bytes"] > 0]
' "$TEST_TMP/sockets.json"
check "/sockets: SO_SNDBUF vs unres_qlen_bytes: 2 dead peers stall the default socket" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
unres = [i["unres_qlen_bytes"] for i in d["interfaces"] if i["ifname"] == "eth0" and i["family"] == "ipv4"][0]
s = [s for s in d["sockets"] if s["proto"] == "udp" and s["port"] == 5060][0]
assert s["local"] == "10.99.0.1:5060", s
assert s["sndbuf_bytes"] == int(sys.argv[2]), s
assert s["dead_peers_to_stall"]["eth0"] == s["sndbuf_bytes"] // unres + 1, (s, unres)
assert unres != 212992 or s["sndbuf_bytes"] != 212992 or s["dead_peers_to_stall"]["eth0"] == 2
' "$TEST_TMP/sockets.json" "$wmem_default"
wait "$sender"
out=$(cat "$TEST_TMP/stall.out")
echo "sender (blocking, 2 dead peers): $out"
calls=$(field calls "$out")
slow=$(field slow_calls "$out")
check "the sender itself saw a call blocked for seconds" [ "${slow:-0}" -ge 1 ]
check "every send call on the SIP socket observed" \
	wait_metric 5 sipwatch_send_blocked_seconds_count 'proto="udp",port="5060"' eq "$calls"
check "observations over 1 s = the sender's calls of 1 s or more" \
	eq "$(($(count 'proto="udp",port="5060"') - $(bucket 'proto="udp",port="5060"' 1)))" "$slow"
check "a blocked-time observation over 2.5 s (the neighbour entries' 3 s to FAILED)" \
	ge "$(($(count 'proto="udp",port="5060"') - $(bucket 'proto="udp",port="5060"' 2.5)))" 1
check "stall counted" ge "$(metric sipwatch_send_stalls_total 'proto="udp",port="5060"')" 1
check "no error on the blocking sender" eq "$(metric sipwatch_send_errors_total 'port="5060"')" 0
check "send_stall incident logged with process, socket and duration" \
	grep -Eq 'incident=send_stall pid=[0-9]+ .*comm=udp_burst proto=udp local=10\.99\.0\.1:5060 port=5060 blocked_seconds=[2-9]' "$AGENT_LOG"
check "the incident names both dead peers with the bytes they held" \
	grep -Eq 'incident=send_stall .*peers=2 held_bytes=[1-9][0-9]* held_by=.*10\.99\.0\.2@eth0:[1-9].*' "$AGENT_LOG"
check "... the second one too" grep -Eq 'incident=send_stall .*held_by=.*10\.99\.0\.3@eth0:[1-9]' "$AGENT_LOG"
held=$(sed -n 's/.*incident=send_stall .* held_bytes=\([0-9]*\) .*/\1/p' "$AGENT_LOG" | head -1)
check "the two peers together held (nearly) the whole send buffer" ge "${held:-0}" "$((wmem_default * 9 / 10))"
check "the incident is served at /incidents?kind=send_stall" \
	bash -c 'grep -q "\"blocked_seconds\"" <<<"$1"' _ "$(scrape '/incidents?kind=send_stall')"
check "send queue gauge empty once the socket is gone" \
	wait_metric 5 sipwatch_socket_send_queue_bytes 'proto="udp",port="5060"' eq 0
check "held_unresolved_bytes back to 0 after the stall" \
	wait_metric 10 sipwatch_send_queue_held_unresolved_bytes 'proto="udp",port="5060"' eq 0

# --- Non-blocking sender: EAGAIN instead of a stall, counted exactly.
out=$(in_host pbx "$TOOLS/udp_burst" --nonblocking --count 300 --size 1200 --src-port 5062 \
	--deadline 20 10.99.0.2:5060 10.99.0.3:5060)
echo "sender (non-blocking, 2 dead peers): $out"
eagain=$(field eagain "$out")
check "the non-blocking sender saw EAGAIN" [ "${eagain:-0}" -ge 1 ]
check "send_errors_total{error=eagain} = the sender's EAGAINs" \
	wait_metric 5 sipwatch_send_errors_total 'port="5062",error="eagain"' eq "$eagain"
check "no other error class on the non-blocking sender" \
	eq "$(metric sipwatch_send_errors_total 'port="5062"')" "$eagain"
check "every non-blocking call observed" \
	eq "$(count 'proto="udp",port="5062"')" "$(field calls "$out")"
check "no stall on the non-blocking sender" eq "$(metric sipwatch_send_stalls_total 'port="5062"')" 0

# --- Healthy burst to a live host: no stall, every call in the lowest buckets.
out=$(in_host pbx "$TOOLS/udp_burst" --count 200 --size 1200 --src-port 5064 10.99.0.4:5060)
echo "sender (healthy): $out"
check "healthy burst: every call observed" \
	wait_metric 5 sipwatch_send_blocked_seconds_count 'port="5064"' eq 200
check "healthy burst: no stall" eq "$(metric sipwatch_send_stalls_total 'port="5064"')" 0
check "healthy burst: all observations at or under 100 ms" eq "$(bucket 'port="5064"' 0.1)" 200
in_host pbx "$TOOLS/udp_burst" --count 50 --src-port 5064 "[fd99::4]:5060" >/dev/null
check "IPv6 sends counted too" wait_metric 5 sipwatch_send_blocked_seconds_count 'port="5064"' eq 250

# --- Remote port: an ephemeral-port socket sending to a SIP port, through sendmsg and sendmmsg.
in_host pbx "$TOOLS/udp_burst" --count 30 --call sendmsg 10.99.0.4:5066 >/dev/null
in_host pbx "$TOOLS/udp_burst" --count 20 --call sendmmsg 10.99.0.4:5066 >/dev/null
check "sendmsg/sendmmsg to a remote SIP port counted under it" \
	wait_metric 5 sipwatch_send_blocked_seconds_count 'proto="udp",port="5066"' eq 50

# --- Not counted: a non-SIP port, and SIP sends from another namespace.
before=$(metric sipwatch_send_blocked_seconds_count)
in_host pbx "$TOOLS/udp_burst" --count 100 --src-port 40000 10.99.0.4:40001 >/dev/null
in_host live "$TOOLS/udp_burst" --count 100 --src-port 5060 10.99.0.1:5060 >/dev/null
# A SIP send afterwards proves the agent has processed everything before it.
in_host pbx "$TOOLS/udp_burst" --count 1 --src-port 5064 10.99.0.4:5060 >/dev/null
check "marker send counted" wait_metric 5 sipwatch_send_blocked_seconds_count 'port="5064"' eq 251
check "non-SIP port and other namespaces not counted" \
	eq "$(metric sipwatch_send_blocked_seconds_count)" "$((before + 1))"

check "exposition passes promtool check metrics" \
	bash -c 'promtool check metrics <<<"$1" 2>&1 | tee /dev/stderr | [ -z "$(cat)" ]' _ "$(scrape /metrics)"
agent_stop; rc=$?
check "agent exits 0" [ "$rc" -eq 0 ]
