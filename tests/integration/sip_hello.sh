#!/usr/bin/env bash
# Sourced by test_e2e.sh and test_status_page.sh (after lib.sh): phones that talk SIP to the PBX
# before the test kills them, so that the agent's SIP peer table knows them — without the PBX
# learning their link-layer addresses. The PBX's first send to a dead phone must then resolve it
# (INCOMPLETE), which is what parks packets and stalls the SIP socket; an entry learned earlier
# would first go STALE → DELAY → PROBE while sends pass straight through.

# sip_hello PBX_N HOST:N...: each HOST sends one SIP OPTIONS datagram from 10.99.0.N:5060 to the
# PBX's 10.99.0.PBX_N:5060. The hosts know the PBX's MAC statically (no ARP request that would
# teach the PBX theirs) and a short-lived socket on the PBX receives the datagrams (no ICMP
# port-unreachable reply that would need their MAC).
sip_hello() {
	local pbx_n=$1 mac listener hn rc
	shift
	mac=$(in_host pbx cat /sys/class/net/eth0/address)
	# Receives until every host was heard from, 10 s at most.
	in_host pbx timeout 10 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.99.0.%s" % sys.argv[1], 5060))
want = set("10.99.0.%s" % n for n in sys.argv[2:])
while want:
    want.discard(s.recvfrom(4096)[1][0])' "$pbx_n" "${@##*:}" &
	listener=$!
	_bound() { in_host pbx ss -Hlun "sport = :5060" | grep -q .; }
	wait_for 5 _bound
	for hn in "$@"; do
		in_host "${hn%%:*}" ip neigh replace "10.99.0.$pbx_n" lladdr "$mac" dev eth0 nud permanent
		in_host "${hn%%:*}" python3 -c '
import socket, sys
pbx, me = "10.99.0." + sys.argv[1], "10.99.0." + sys.argv[2]
msg = ("OPTIONS sip:pbx@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%s\r\n"
       "From: <sip:phone@%s>;tag=1\r\nTo: <sip:pbx@%s>\r\nCall-ID: hello@%s\r\n"
       "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (pbx, me, sys.argv[2], me, pbx, me)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((me, 5060))
s.sendto(msg.encode(), (pbx, 5060))' "$pbx_n" "${hn##*:}"
	done
	wait "$listener"
	rc=$?
	[ "$rc" -eq 0 ] || echo "sip_hello: the PBX did not hear from every phone (listener exit $rc)" >&2
	return "$rc"
}
