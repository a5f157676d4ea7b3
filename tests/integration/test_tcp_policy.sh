#!/usr/bin/env bash
# The opt-in keepalive policy: without the flag nothing changes; with --tcp.keepalive=2,1,2 an
# existing SIP connection is changed at start-up, a new one at establishment (the application
# never enables keepalive), a vanished client is detected within 2 + 1 x 2 s, a non-SIP
# connection and another namespace's SIP connection are untouched, and the settings outlive the
# agent while its sockops program does not.
source "$(dirname "$0")/lib.sh"


lan_up
host_add pbx 1
host_add phone 2
host_add gone 3
host_add other 4

up() { wait_for 10 grep -q "^$2" "$TEST_TMP/$1"; }
# setting NAME LINE-PREFIX: the settings fields of the last matching line.
settings() { grep "^$2" "$TEST_TMP/$1" | tail -1 | grep -o 'keepalive=.*'; }
OFF="keepalive=0 idle=7200 intvl=75 cnt=9 user_timeout=0"
POLICY="keepalive=1 idle=2 intvl=1 cnt=2 user_timeout=0"

# report NAME: have server NAME print its connections' settings again; waits for the lines.
report() {
	local n
	n=$(grep -c '^settings' "$TEST_TMP/$1")
	touch "$TEST_TMP/$1.report"
	wait_for 5 bash -c "[ \$(grep -c '^settings' '$TEST_TMP/$1') -gt $n ]"
}
# settings_of NAME REMOTE-HOST-IP: the last reported settings of the connection from that host.
settings_of() { grep "^settings .* $2:" "$TEST_TMP/$1" | tail -1 | grep -o 'keepalive=.*'; }

# An existing SIP connection (the PBX serves 5060 and never enables keepalive).
tcp_peer old pbx serve 5060 --accept 3 --report-on "$TEST_TMP/old.report" --deadline 90
up old listening
tcp_peer c_old phone connect 10.99.0.1 5060 --hold 85 --deadline 85
up c_old connected
up old accepted
check "the application's connection has no keepalive" [ "$(settings old accepted)" = "$OFF" ]

# Without the flag: nothing changes, no policy probe.
agent_start --sip.ports=5060 || { echo "FAIL: agent starts"; exit 1; }
check "no keepalive_policy probe without the flag" eq "$(scrape | grep -c 'probe="keepalive_policy"')" 0
tcp_peer c_ka gone connect 10.99.0.1 5060 --hold 85 --deadline 85
up c_ka connected
wait_for 10 bash -c "[ \$(grep -c '^accepted' '$TEST_TMP/old') -ge 2 ]"
report old
check "without the flag a new SIP connection keeps no keepalive" [ "$(settings_of old 10.99.0.3)" = "$OFF" ]
check "without the flag an existing one keeps none either" [ "$(settings_of old 10.99.0.2)" = "$OFF" ]
agent_stop

# Another namespace's SIP server and a non-SIP server in the PBX, both without keepalive.
tcp_peer othersrv other serve 5060 --deadline 90
tcp_peer nonsip pbx serve 5070 --deadline 90
up othersrv listening
up nonsip listening

# With the policy: the existing connections are changed at start-up.
agent_start --sip.ports=5060 --tcp.keepalive=2,1,2 || { echo "FAIL: agent starts with the policy"; exit 1; }
check "keepalive_policy probe is up" eq "$(metric sipwatch_probe_up 'probe="keepalive_policy"')" 1
check "start-up changed the 2 existing SIP connections" \
	eq "$(metric sipwatch_tcp_keepalive_policy_applied_total 'port="5060",connections="existing"')" 2
check "each change is logged with the settings before" \
	bash -c '[ "$(grep -c "keepalive policy applied to an existing connection.*before_keepalive=off" "$1")" -eq 2 ]' _ "$AGENT_LOG"
report old
check "the existing connection now has the policy's keepalive" [ "$(settings_of old 10.99.0.2)" = "$POLICY" ]

# A new SIP connection: the PBX application still never enables keepalive.
tcp_peer c_new phone connect 10.99.0.1 5060 --hold 60 --deadline 60
up c_new connected
wait_for 10 bash -c "[ \$(grep -c '^accepted' '$TEST_TMP/old') -ge 3 ]"
check "a new SIP connection gets the policy at establishment" \
	[ "$(grep '^accepted' "$TEST_TMP/old" | sed -n 3p | grep -o 'keepalive=.*')" = "$POLICY" ]
check "counted as new" eq "$(metric sipwatch_tcp_keepalive_policy_applied_total 'port="5060",connections="new"')" 1

# Untouched: a non-SIP connection in the PBX, a SIP connection in another namespace.
tcp_peer c_nonsip phone connect 10.99.0.1 5070 --hold 60 --deadline 60
tcp_peer c_other phone connect 10.99.0.4 5060 --hold 60 --deadline 60
up nonsip accepted
up othersrv accepted
check "a non-SIP connection keeps its own settings" [ "$(settings nonsip accepted)" = "$OFF" ]
check "another namespace's SIP connection is untouched" [ "$(settings othersrv accepted)" = "$OFF" ]

# A client that vanishes is detected within the policy's bound: 2 + 1 x 2 = 4 s (+2 s slack).
# Its connection was established before the policy and changed at start-up.
t0=$(date +%s.%N)
ip -n "$(ns_of gone)" link set eth0 down
check "the vanished client's connection dies with ETIMEDOUT" \
	wait_for 15 grep -q "^closed 10.99.0.1:5060 10.99.0.3:.* result=ETIMEDOUT" "$TEST_TMP/old"
t1=$(grep "^closed 10.99.0.1:5060 10.99.0.3:" "$TEST_TMP/old" | grep -o 't=[0-9.]*' | cut -d= -f2)
check "detected within 2 + 1 x 2 s (+2 s slack): took $(awk -v a="$t0" -v b="${t1:-0}" 'BEGIN{printf "%.1f", b-a}') s" \
	awk -v a="$t0" -v b="${t1:-1e12}" 'BEGIN { exit !(b - a <= 6) }'
check "counted as one keepalive timeout" wait_metric 5 sipwatch_tcp_connection_timeouts_total 'cause="keepalive"' eq 1
check "/tcp states the policy bound" bash -c 'grep -q "\"policy_detection_seconds\":4" <<<"$1"' _ "$(scrape /tcp)"
body=$(scrape /metrics)
check "exposition passes promtool check metrics" bash -c 'promtool check metrics <<<"$1" 2>&1 | tee /dev/stderr | [ -z "$(cat)" ]' _ "$body"

ids=$(agent_prog_ids "$AGENT_PID")
agent_stop; rc=$?
check "agent exits 0" [ "$rc" -eq 0 ]
no_progs_left() { for id in $ids; do bpftool prog show id "$id" >/dev/null 2>&1 && return 1; done; return 0; }
check "its programs (the sockops one too) are gone after exit" wait_for 5 no_progs_left
report old
check "connections keep the policy after exit" \
	bash -c '[ "$1" = "$3" ] && [ "$2" = "$3" ]' _ "$(settings_of old 10.99.0.2)" "$(grep '^settings .* 10.99.0.2:' "$TEST_TMP/old" | tail -1 | grep -o 'keepalive=.*')" "$POLICY"
# The old server stopped listening after 3 connections: a new one on 5060 after exit.
tcp_peer late pbx serve 5060 --deadline 20
up late listening
tcp_peer c_late phone connect 10.99.0.1 5060 --hold 10 --deadline 10
up late accepted
check "after exit new SIP connections are no longer changed" [ "$(settings late accepted)" = "$OFF" ]
