#!/usr/bin/env bash
# Issue 17 item 10: --netns.all observes every namespace but must not change another namespace's
# SIP connections with the keepalive policy; only --tcp.policy-all-netns says so. A phone opens SIP
# TCP connections to a server in the PBX's namespace and to one in another namespace; neither server
# enables keepalive, so what each accepted connection carries is what the policy did. SIP port 5999:
# while --tcp.policy-all-netns is on, it touches that port's connections anywhere on the host.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add phone 2
host_add other 4

OFF="keepalive=0 idle=7200 intvl=75 cnt=9 user_timeout=0"
POLICY="keepalive=1 idle=2 intvl=1 cnt=2 user_timeout=0"
up() { wait_for 10 grep -q "^$2" "$TEST_TMP/$1"; }
# nth_accepted NAME N: the settings of server NAME's Nth accepted connection.
nth_accepted() { grep '^accepted' "$TEST_TMP/$1" | sed -n "${2}p" | grep -o 'keepalive=.*'; }

tcp_peer pbxsrv pbx serve 5999 --accept 2 --deadline 60
tcp_peer othersrv other serve 5999 --accept 2 --deadline 60
up pbxsrv listening
up othersrv listening

# connect_both N: one connection from the phone to each server; waits for both to be accepted.
connect_both() {
	tcp_peer "c_pbx$1" phone connect 10.99.0.1 5999 --hold 30 --deadline 30
	tcp_peer "c_other$1" phone connect 10.99.0.4 5999 --hold 30 --deadline 30
	wait_for 10 bash -c "[ \$(grep -c '^accepted' '$TEST_TMP/pbxsrv') -ge $1 ] &&
		[ \$(grep -c '^accepted' '$TEST_TMP/othersrv') -ge $1 ]"
}

agent_start --sip.ports=5999 --netns.all --tcp.keepalive=2,1,2 ||
	{ echo "FAIL: agent starts with --netns.all and a policy"; exit 1; }
connect_both 1
check "--netns.all: the agent's namespace gets the policy" [ "$(nth_accepted pbxsrv 1)" = "$POLICY" ]
check "--netns.all: another namespace's SIP connection is untouched" [ "$(nth_accepted othersrv 1)" = "$OFF" ]
check "counted once (the agent's namespace only)" \
	eq "$(metric sipwatch_tcp_keepalive_policy_applied_total 'port="5999",connections="new"')" 1
agent_stop

agent_start --sip.ports=5999 --netns.all --tcp.keepalive=2,1,2 --tcp.policy-all-netns ||
	{ echo "FAIL: agent starts with --tcp.policy-all-netns"; exit 1; }
connect_both 2
check "--tcp.policy-all-netns: the agent's namespace gets the policy" [ "$(nth_accepted pbxsrv 2)" = "$POLICY" ]
check "--tcp.policy-all-netns: so does another namespace's SIP connection" \
	[ "$(nth_accepted othersrv 2)" = "$POLICY" ]
agent_stop
