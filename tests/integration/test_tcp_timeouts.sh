#!/usr/bin/env bash
# TCP timeouts on SIP connections: keepalive expiry (the unplugged cable), retransmission and
# user timeouts with data in flight, the unreachable neighbour, and closes that are not timeouts.
# The PBX (agent's namespace) serves SIP over TCP on 5060; each scenario's client is its own
# test host, whose link is set down to make it vanish.
source "$(dirname "$0")/lib.sh"


lan_up
host_add pbx 1
host_add phone 2
host_add ka 3
host_add rtx 4
host_add ut 5
host_add unr 6
host_add other 7

agent_start --sip.ports=5060 --log.level=debug || { echo "FAIL: agent starts"; exit 1; }
timeouts() { metric sipwatch_tcp_connection_timeouts_total "${1:-}"; }
for p in tcp_set_state tcp_retransmit_skb tcp_audit; do
	check "probe $p is up" eq "$(metric sipwatch_probe_up "probe=\"$p\"")" 1
done
# The reset reason exists from 6.10: before that the probe stays down and the socket state decides.
reason=$(bpftool btf dump file /sys/kernel/btf/vmlinux format raw | grep -c "'SK_RST_REASON_TCP_KEEPALIVE_TIMEOUT'")
check "probe tcp_send_reset is up exactly where the kernel has reset reasons ($reason)" \
	eq "$(metric sipwatch_probe_up 'probe="tcp_send_reset"')" "$reason"
check "timeout counters start at 0 for each cause" \
	eq "$(scrape | grep -c '^sipwatch_tcp_connection_timeouts_total{port="5060",cause=')" 4

# serve_bg NAME ARGS...: a server in pbx, output in $TEST_TMP/NAME; waits until it listens.
serve_bg() {
	local name=$1
	shift
	tcp_peer "$name" pbx serve "$@"
	wait_for 10 grep -q '^listening' "$TEST_TMP/$name"
}
# client_bg HOST NAME ARGS...: a client in HOST connecting to the pbx on 5060.
client_bg() {
	local host=$1 name=$2
	shift 2
	tcp_peer "$name" "$host" connect 10.99.0.1 5060 "$@"
	wait_for 10 grep -q '^connected' "$TEST_TMP/$name"
}
closed_with() { grep -q "^closed .* result=$2 " "$TEST_TMP/$1"; }
# vanish HOST: the unplugged cable.
vanish() { ip -n "$(ns_of "$1")" link set eth0 down; }

# --- Not timeouts: a normal close and a reset by the peer.
serve_bg plain 5060 --accept 2 --deadline 20
client_bg phone c_close --close-after 0.3 --deadline 5
client_bg phone c_reset --close-after 0.3 --reset --deadline 5
check "server saw the normal close (eof)" wait_for 10 closed_with plain eof
check "server saw the reset (ECONNRESET)" wait_for 10 closed_with plain ECONNRESET
check "normal close and peer reset are not timeouts" eq "$(timeouts)" 0

# --- The unplugged cable: keepalive 1 s/1 s/2 probes on the server side.
serve_bg ka 5060 --keepalive 1,1,2 --deadline 30
client_bg ka c_ka --hold 25 --deadline 25
vanish ka
check "server connection dies with ETIMEDOUT" wait_for 15 closed_with ka ETIMEDOUT
check "exactly one keepalive timeout" wait_metric 5 sipwatch_tcp_connection_timeouts_total 'cause="keepalive"' eq 1
check "and no other timeout" eq "$(timeouts)" 1
inc=$(scrape "/incidents?kind=tcp_timeout")
check "incident names the connection and the cause" bash -c \
	'grep -q "\"local\":\"10.99.0.1:5060\"" <<<"$1" && grep -q "\"remote\":\"10.99.0.3:" <<<"$1" && grep -q "\"cause\":\"keepalive\"" <<<"$1"' _ "$inc"
check "incident has the keepalive settings in force" bash -c \
	'grep -q "\"keepalive_idle_seconds\":1," <<<"$1" && grep -q "\"keepalive_probes\":2," <<<"$1" && grep -q "\"keepalive_detection_seconds\":3," <<<"$1"' _ "$inc"
check "incident has the connection age and idle time (3 s: 1 + 1 x 2)" bash -c \
	'grep -q "\"age_seconds\":[0-9]" <<<"$1" && grep -q "\"idle_seconds\":[3-9]" <<<"$1"' _ "$inc"
check "incident line in the log" grep -q 'tcp_timeout.*cause=keepalive' "$AGENT_LOG"

# --- Data in flight to a vanished peer, tcp_retries2 = 3 in the PBX namespace only.
in_host pbx sysctl -qw net.ipv4.tcp_retries2=3
serve_bg rtx 5060 --send-on "$TEST_TMP/go_rtx" --deadline 40
client_bg rtx c_rtx --hold 35 --deadline 35
vanish rtx
retrans_before=$(metric sipwatch_tcp_retransmits_total 'port="5060"')
touch "$TEST_TMP/go_rtx"
check "retransmitting server connection dies with ETIMEDOUT" wait_for 30 closed_with rtx ETIMEDOUT
check "counted as a retransmission timeout" wait_metric 5 sipwatch_tcp_connection_timeouts_total 'cause="retransmission"' eq 1
check "not as keepalive" eq "$(timeouts 'cause="keepalive"')" 1
check "its retransmissions counted (at least tcp_retries2)" \
	ge "$(metric sipwatch_tcp_retransmits_total 'port="5060"')" $((retrans_before + 3))
in_host pbx sysctl -qw net.ipv4.tcp_retries2=15

# --- The same with TCP_USER_TIMEOUT 3000 ms.
serve_bg ut 5060 --user-timeout 3000 --send-on "$TEST_TMP/go_ut" --deadline 30
client_bg ut c_ut --hold 25 --deadline 25
vanish ut
touch "$TEST_TMP/go_ut"
check "user-timeout server connection dies with ETIMEDOUT" wait_for 20 closed_with ut ETIMEDOUT
check "counted as a user timeout" wait_metric 5 sipwatch_tcp_connection_timeouts_total 'cause="user_timeout"' eq 1
check "keepalive and retransmission unchanged" \
	bash -c '[ "$1" = 1 ] && [ "$2" = 1 ]' _ "$(timeouts 'cause="keepalive"')" "$(timeouts 'cause="retransmission"')"

# --- The neighbour fails first (its entry flushed, the host gone): EHOSTUNREACH.
serve_bg unr 5060 --user-timeout 6000 --send-on "$TEST_TMP/go_unr" --deadline 30
client_bg unr c_unr --hold 25 --deadline 25
vanish unr
ip -n "$(ns_of pbx)" neigh flush to 10.99.0.6
touch "$TEST_TMP/go_unr"
check "server connection dies with EHOSTUNREACH" wait_for 20 closed_with unr EHOSTUNREACH
check "counted as unreachable" wait_metric 5 sipwatch_tcp_connection_timeouts_total 'cause="unreachable"' eq 1
check "four timeouts in all" eq "$(timeouts)" 4
check "four tcp_timeout incidents" eq "$(scrape "/incidents?kind=tcp_timeout" | grep -o '"kind":"tcp_timeout"' | wc -l)" 4

# --- Another namespace's timeout is not ours.
in_host other sysctl -qw net.ipv4.tcp_retries2=2
tcp_peer other other serve 5060 --user-timeout 2000 --send-on "$TEST_TMP/go_other" --deadline 20
wait_for 10 grep -q '^listening' "$TEST_TMP/other"
tcp_peer c_other phone connect 10.99.0.7 5060 --hold 15 --deadline 15
wait_for 10 grep -q '^connected' "$TEST_TMP/c_other"
vanish phone
touch "$TEST_TMP/go_other"
wait_for 15 closed_with other ETIMEDOUT
check "a timeout in another namespace is not counted" eq "$(timeouts)" 4

body=$(scrape /metrics)
check "exposition passes promtool check metrics" bash -c 'promtool check metrics <<<"$1" 2>&1 | tee /dev/stderr | [ -z "$(cat)" ]' _ "$body"
bg_stop
agent_stop; rc=$?
check "agent exits 0" [ "$rc" -eq 0 ]
