#!/usr/bin/env bash
# SIP classifier and peer table end to end: Kamailio in the pbx host answers OPTIONS/REGISTER from
# a phone over UDP and TCP, IPv4 and IPv6; the agent (in the pbx host) must count exactly what
# crossed the wire in both directions, list exactly the phone's addresses as peers with the right
# next hop, report the phone unreachable once its link is down and resolution fails, and clear
# that when it answers again. On exit every XDP program, tc filter and clsact qdisc is gone.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sip_lib.sh"

m() { metric "$@"; }

lan_up
host_add pbx 1
host_add phone 2
# The pbx's neighbour entries age fast, so a dead phone is found FAILED within seconds.
in_host pbx sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=2000 \
	net.ipv4.neigh.eth0.delay_first_probe_time=1

kamailio_start
check "kamailio listens on 5060" wait_for 20 sip_listening

# XDP ingress only when asked for (the default is tc ingress, see the --xdp.mode=off part below).
agent_start --sip.ports=5060 --peers.idle-timeout=10m --xdp.mode=native
check "xdp probe up on eth0" eq "$(m sipwatch_probe_up 'probe="xdp:eth0"')" 1
check "tc egress probe up on eth0" eq "$(m sipwatch_probe_up 'probe="tc_egress:eth0"')" 1

in_host phone $CLIENT udp 10.99.0.1 5060 OPTIONS 5 >/dev/null
check "kamailio answered 3 REGISTER over UDP" in_host phone $CLIENT udp 10.99.0.1 5060 REGISTER 3
check "kamailio answered 4 OPTIONS over TCP" in_host phone $CLIENT tcp 10.99.0.1 5060 OPTIONS 4
in_host phone $CLIENT tcp 10.99.0.1 5060 REGISTER 2 >/dev/null
check "kamailio answered 2 OPTIONS over UDP/IPv6" in_host phone $CLIENT udp fd99::1 5060 OPTIONS 2

U='transport="udp"'
T='transport="tcp"'
check "rx udp OPTIONS = 7" wait_metric 10 sipwatch_sip_requests_total "direction=\"rx\",$U,method=\"options\"" eq 7
check "rx udp REGISTER = 3" eq "$(m sipwatch_sip_requests_total "direction=\"rx\",$U,method=\"register\"")" 3
check "rx tcp OPTIONS = 4" eq "$(m sipwatch_sip_requests_total "direction=\"rx\",$T,method=\"options\"")" 4
check "rx tcp REGISTER = 2" eq "$(m sipwatch_sip_requests_total "direction=\"rx\",$T,method=\"register\"")" 2
check "tx udp 2xx = 10" eq "$(m sipwatch_sip_responses_total "direction=\"tx\",$U,class=\"2xx\"")" 10
check "tx tcp 2xx = 6" eq "$(m sipwatch_sip_responses_total "direction=\"tx\",$T,class=\"2xx\"")" 6
check "no requests sent, no responses received" eq \
	"$(($(m sipwatch_sip_requests_total 'direction="tx"') + $(m sipwatch_sip_responses_total 'direction="rx"')))" 0
check "nothing unparsed" eq "$(m sipwatch_sip_unparsed_segments_total)" 0

peers_json() { scrape "/peers${1:-}"; }
nr_peers() { peers_json "${1:-}" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["peers"]))'; }
# The agent copies the kernel's peer table once a second.
synced() { [ "$(nr_peers)" = 2 ] && [ "$(peer_fields 10.99.0.2 tx_messages)" = 14 ]; }
check "peer table: exactly the phone's two addresses" wait_for 5 synced
check "peer 10.99.0.2: next hop itself on eth0" \
	[ "$(peer_fields 10.99.0.2 next_hop) $(peer_fields 10.99.0.2 ifname)" = "10.99.0.2 eth0" ]
check "peer fd99::2: next hop itself on eth0" \
	[ "$(peer_fields fd99::2 next_hop) $(peer_fields fd99::2 ifname)" = "fd99::2 eth0" ]
check "peer 10.99.0.2: 10 rx, 10 tx messages" \
	[ "$(peer_fields 10.99.0.2 rx_messages) $(peer_fields 10.99.0.2 tx_messages)" = "14 14" ]
check "sip_peers gauge counts both" eq "$(m sipwatch_sip_peers)" 2

# The phone's cable is pulled; the PBX keeps sending to it until resolution fails.
in_host phone ip link set eth0 down
unreachable_v4() { eq "$(m sipwatch_sip_peer_unreachable 'peer="10.99.0.2",ifname="eth0"')" 1; }
failed_peers() { peers_json '?state=failed' | python3 -c 'import json,sys; print(" ".join(p["peer"] for p in json.load(sys.stdin)["peers"]))'; }
# The PBX sends to the dead phone until its entry is FAILED. Each send to a FAILED entry starts a
# new resolution (INCOMPLETE for 3 s), so the sends stop as soon as FAILED is seen; then FAILED
# stays. The phone's IPv6 address may fail too (the kernel's NUD probes the entry the replies
# used): the filter must list 10.99.0.2 and nothing but the phone's addresses.
poke_until_failed() {
	in_host pbx $CLIENT udp 10.99.0.2 5060 OPTIONS 1 >/dev/null 2>&1
	[ "$(peer_fields 10.99.0.2 state)" = failed ]
}
check "dead phone: its next hop goes failed in /peers" wait_for 40 poke_until_failed
only_phone_failed() {
	case " $(failed_peers) " in
	" 10.99.0.2 " | " fd99::2 10.99.0.2 " | " 10.99.0.2 fd99::2 ") return 0 ;;
	*) return 1 ;;
	esac
}
failed_seen() { only_phone_failed && unreachable_v4; }
check "dead phone: in /peers?state=failed and sip_peer_unreachable 1" wait_for 5 failed_seen

# Back: the phone talks again, the PBX learns its address, the peer leaves "failed".
in_host phone ip link set eth0 up
recovered() {
	in_host phone $CLIENT udp 10.99.0.1 5060 OPTIONS 1 >/dev/null 2>&1
	[ "$(peer_fields 10.99.0.2 state)" != failed ] && ! unreachable_v4
}
check "phone back: no longer failed nor unreachable" wait_for 30 recovered

pid=$AGENT_PID
agent_stop
check "agent exited cleanly" [ $? -eq 0 ]
check "no XDP program left on eth0" bash -c "! ip -n $(ns_of pbx) link show dev eth0 | grep -q xdp"
check "no tc filter left on eth0" [ -z "$(in_host pbx tc filter show dev eth0 egress)$(in_host pbx tc filter show dev eth0 ingress)" ]
check "no clsact qdisc left on eth0" bash -c "! ip netns exec $(ns_of pbx) tc qdisc show dev eth0 | grep -q clsact"

# --xdp.mode=off: ingress through tc instead, counted the same; again nothing left behind.
agent_start --sip.ports=5060 --xdp.mode=off
check "xdp.mode=off: xdp probe 0, tc ingress probe 1" \
	[ "$(m sipwatch_probe_up 'probe="xdp:eth0"') $(m sipwatch_probe_up 'probe="tc_ingress:eth0"')" = "0 1" ]
in_host phone $CLIENT udp 10.99.0.1 5060 OPTIONS 3 >/dev/null
in_host phone $CLIENT tcp 10.99.0.1 5060 REGISTER 2 >/dev/null
check "tc ingress: rx udp OPTIONS = 3" wait_metric 10 sipwatch_sip_requests_total "direction=\"rx\",$U,method=\"options\"" eq 3
check "tc ingress: rx tcp REGISTER = 2" eq "$(m sipwatch_sip_requests_total "direction=\"rx\",$T,method=\"register\"")" 2
check "tc ingress: tx 2xx = 5" eq "$(m sipwatch_sip_responses_total 'direction="tx",class="2xx"')" 5
agent_stop
check "xdp.mode=off: agent exited cleanly" [ $? -eq 0 ]
check "xdp.mode=off: no tc filter or clsact left" bash -c "[ -z \"\$(ip netns exec $(ns_of pbx) tc filter show dev eth0 ingress)\" ] && ! ip netns exec $(ns_of pbx) tc qdisc show dev eth0 | grep -q clsact"
kamailio_stop
