#!/usr/bin/env bash
# The keepalive audit (iter/tcp): live SIP TCP connections of the agent's namespace with and
# without keepalive, the worst detection time (per-socket values or the namespace's sysctls),
# and the offenders listed at GET /tcp.
source "$(dirname "$0")/lib.sh"


lan_up
host_add pbx 1
host_add phone 2

# The PBX namespace's own keepalive defaults: 600 s idle, 10 s interval, 4 probes → 640 s.
in_host pbx sysctl -qw net.ipv4.tcp_keepalive_time=600 net.ipv4.tcp_keepalive_intvl=10 net.ipv4.tcp_keepalive_probes=4
agent_start --sip.ports=5060 || { echo "FAIL: agent starts"; exit 1; }
conns() { metric sipwatch_tcp_connections "$1"; }
check "no SIP connections yet: both series 0" \
	bash -c '[ "$1" = 0 ] && [ "$2" = 0 ]' _ "$(conns 'port="5060",keepalive="on"')" "$(conns 'port="5060",keepalive="off"')"

# PBX serves 5060 without keepalive (a phone connects) ...
tcp_peer srv pbx serve 5060 --deadline 40
wait_for 10 grep -q '^listening' "$TEST_TMP/srv"
tcp_peer c_off phone connect 10.99.0.1 5060 --hold 35 --deadline 35
# ... and connects out to a SIP peer on 5060: once with its own keepalive 30/5/3 (45 s), once
# with SO_KEEPALIVE only (the namespace's 600/10/4 → 640 s).
tcp_peer peer phone serve 5060 --accept 2 --deadline 40
wait_for 10 grep -q '^listening' "$TEST_TMP/peer"
tcp_peer c_own pbx connect 10.99.0.2 5060 --keepalive 30,5,3 --hold 35 --deadline 35
tcp_peer c_sys pbx connect 10.99.0.2 5060 --keepalive on --hold 35 --deadline 35
# A non-SIP connection is not audited.
tcp_peer other phone serve 5070 --deadline 40
wait_for 10 grep -q '^listening' "$TEST_TMP/other"
tcp_peer c_other pbx connect 10.99.0.2 5070 --keepalive on --hold 35 --deadline 35
for c in c_off c_own c_sys c_other; do wait_for 10 grep -q '^connected' "$TEST_TMP/$c"; done

check "one SIP connection without keepalive" wait_metric 10 sipwatch_tcp_connections 'port="5060",keepalive="off"' eq 1
check "two SIP connections with keepalive (non-SIP one not counted)" eq "$(conns 'port="5060",keepalive="on"')" 2
check "worst detection time is the sysctl one: 600 + 10 x 4" \
	eq "$(metric sipwatch_tcp_keepalive_detection_seconds 'port="5060"')" 640
tcp=$(scrape /tcp)
check "/tcp counts 3 connections, 1 offender" bash -c 'grep -q "\"connections\":3,\"offenders\":1," <<<"$1"' _ "$tcp"
check "/tcp lists the offender first: the PBX's accepted connection" bash -c \
	'python3 -c "import json,sys; d=json.loads(sys.argv[1]); s=d[\"sockets\"][0]; sys.exit(not (s[\"offender\"] and not s[\"keepalive\"] and s[\"local\"]==\"10.99.0.1:5060\"))" "$1"' _ "$tcp"
check "/tcp shows per-socket and sysctl settings with their detection times" bash -c \
	'python3 -c "import json,sys; d=json.loads(sys.argv[1]); t=sorted((s.get(\"detection_seconds\"), s[\"settings\"]) for s in d[\"sockets\"] if s[\"keepalive\"]); sys.exit(t != [(45, \"socket\"), (640, \"sysctl\")])" "$1"' _ "$tcp"

# Issue 17 item 14: GET /tcp shares the scrape's 250 ms scan. 60 requests back to back (one curl,
# one connection): the scans counted are at most one per 250 ms of the time they took, plus the
# scrapes around them; without the sharing, one scan per request.
scans0=$(metric sipwatch_tcp_audit_scans_total)
t0=$(date +%s.%N)
in_host pbx curl -sf --max-time 20 -o /dev/null $(for _ in $(seq 60); do echo "$(agent_url /tcp)"; done)
t1=$(date +%s.%N)
scans1=$(metric sipwatch_tcp_audit_scans_total)
bound=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) / 0.25 + 3 }')
echo "60 GET /tcp in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s: $((scans1 - scans0)) scans (bound $bound)"
check "60 GET /tcp share the 250 ms scan ($((scans1 - scans0)) scans, at most $bound)" \
	bash -c '[ "$1" -le "$2" ] && [ "$2" -lt 60 ]' _ "$((scans1 - scans0))" "$bound"

bg_stop
check "closed connections leave the audit" wait_metric 10 sipwatch_tcp_connections 'port="5060"' eq 0
check "no detection time without keepalive connections" \
	bash -c '! grep -q "^sipwatch_tcp_keepalive_detection_seconds{" <<<"$1"' _ "$(scrape)"
body=$(scrape /metrics)
check "exposition passes promtool check metrics" bash -c 'promtool check metrics <<<"$1" 2>&1 | tee /dev/stderr | [ -z "$(cat)" ]' _ "$body"
agent_stop; rc=$?
check "agent exits 0" [ "$rc" -eq 0 ]
