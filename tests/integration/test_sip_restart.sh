#!/usr/bin/env bash
# Reliability: the SIP server restarts while the agent runs. Kamailio (pbx host) is stopped and
# started again by PID; the agent keeps counting SIP traffic exactly across the restart (also the
# requests that reach the PBX while nothing listens: the classifier sees packets, not sockets), the
# new server's sockets are counted, and the peer table keeps the phone with its counters going on.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sip_lib.sh"

m() { metric "$@"; }
not_listening() { ! sip_listening; }
U='transport="udp"'
T='transport="tcp"'
rx_opt() { m sipwatch_sip_requests_total "direction=\"rx\",$1,method=\"options\""; }
tx_2xx() { m sipwatch_sip_responses_total "direction=\"tx\",$1,class=\"2xx\""; }

lan_up
host_add pbx 1
host_add phone 2

kamailio_start
check "kamailio listens on 5060" wait_for 20 sip_listening
agent_start --sip.ports=5060 --peers.idle-timeout=10m || { echo "FAIL: agent starts"; exit 1; }

check "before: kamailio answered 3 OPTIONS over UDP" in_host phone $CLIENT udp 10.99.0.1 5060 OPTIONS 3
check "before: kamailio answered 2 OPTIONS over TCP" in_host phone $CLIENT tcp 10.99.0.1 5060 OPTIONS 2
check "before: rx udp OPTIONS = 3" wait_metric 10 sipwatch_sip_requests_total "direction=\"rx\",$U,method=\"options\"" eq 3
check "before: rx tcp OPTIONS = 2" wait_metric 5 sipwatch_sip_requests_total "direction=\"rx\",$T,method=\"options\"" eq 2
synced() { [ "$(peer_fields 10.99.0.2 rx_messages) $(peer_fields 10.99.0.2 tx_messages)" = "5 5" ]; }
check "before: peer 10.99.0.2 has 5 rx, 5 tx messages" wait_for 5 synced

# --- the server goes away ------------------------------------------------------------------------
kamailio_stop
check "kamailio is gone (nothing listens on 5060)" wait_for 10 not_listening
# The phone asks once; nobody answers (the PBX's ICMP port unreachable fails the client's
# connected socket): the request still reached the PBX.
unanswered() { ! in_host phone $CLIENT udp 10.99.0.1 5060 OPTIONS 1 >/dev/null 2>&1; }
check "while down: no answer" unanswered
check "while down: the requests that arrived are counted (rx udp OPTIONS = 4)" \
	wait_metric 5 sipwatch_sip_requests_total "direction=\"rx\",$U,method=\"options\"" eq 4
check "while down: no response sent" eq "$(tx_2xx "$U")" 3
check "the agent still serves" scrape /metrics >/dev/null

# --- the server is back ----------------------------------------------------------------------------
kamailio_start
check "kamailio listens again" wait_for 20 sip_listening
check "after: kamailio answered 4 OPTIONS over UDP" in_host phone $CLIENT udp 10.99.0.1 5060 OPTIONS 4
check "after: kamailio answered 3 OPTIONS over TCP" in_host phone $CLIENT tcp 10.99.0.1 5060 OPTIONS 3
check "after: rx udp OPTIONS = 3 + 1 + 4" wait_metric 10 sipwatch_sip_requests_total "direction=\"rx\",$U,method=\"options\"" eq 8
check "after: tx udp 2xx = 3 + 4" wait_metric 5 sipwatch_sip_responses_total "direction=\"tx\",$U,class=\"2xx\"" eq 7
check "after: rx tcp OPTIONS = 2 + 3 (the new server's connection)" \
	wait_metric 5 sipwatch_sip_requests_total "direction=\"rx\",$T,method=\"options\"" eq 5
check "after: tx tcp 2xx = 2 + 3" wait_metric 5 sipwatch_sip_responses_total "direction=\"tx\",$T,class=\"2xx\"" eq 5
synced_after() { [ "$(peer_fields 10.99.0.2 rx_messages) $(peer_fields 10.99.0.2 tx_messages)" = "13 12" ]; }
check "peer table: 10.99.0.2 goes on counting (13 rx, 12 tx)" wait_for 5 synced_after
nr_failed() { scrape "/peers?state=failed" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["peers"]))'; }
check "peer table: the phone is not failed" eq "$(nr_failed)" 0
check "nothing unparsed" eq "$(m sipwatch_sip_unparsed_segments_total)" 0

kamailio_stop
agent_stop
check "agent exits 0" [ $? -eq 0 ]
