#!/usr/bin/env bash
# Forged SIP sources (issue 17, item 13): a flood of "\r\n\r\n" datagrams to the PBX's port 5060
# from 100 source addresses (all of them owned by one test host, "spoofer", so that anything the
# PBX might send back reaches a test host) into a peer table of 16 must not evict the two real
# phones the PBX talks to, and must not spend a single neighbour refresh on the forged sources.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add phone 2
host_add phone2 3
host_add spoofer 4
for i in $(seq 100 199); do in_host spoofer ip addr add "10.99.0.$i/32" dev eth0; done
# Long reachable times on the PBX (60-180 s): the real phones' entries stay REACHABLE through the
# test, so that any refresh at all would be one spent on a forged source.
in_host pbx sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=120000

# The PBX: port 5060 bound (no ICMP port unreachable goes back to the forged sources), an OPTIONS
# to each real phone every 2 s (phones are quiet most of the time), everything received read and dropped. Bounded: 60 s.
ip netns exec "$(ns_of pbx)" python3 -c '
import socket, time, select
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.99.0.1", 5060)); s.setblocking(False)
end, nxt = time.time() + 60, 0
while time.time() < end:
    if time.time() >= nxt:
        for dst in ("10.99.0.2", "10.99.0.3"):
            s.sendto(("OPTIONS sip:ping@%s SIP/2.0\r\nVia: SIP/2.0/UDP 10.99.0.1:5060;branch=z9hG4bK1\r\n"
                      "Max-Forwards: 70\r\nFrom: <sip:pbx@10.99.0.1>;tag=1\r\nTo: <sip:ping@%s>\r\n"
                      "Call-ID: spoof-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" % (dst, dst)).encode(), (dst, 5060))
        nxt = time.time() + 2
    select.select([s], [], [], 0.1)
    try:
        while True: s.recv(65536)
    except BlockingIOError:
        pass' &
bg_track $!

agent_start --sip.ports=5060 --peers.max=16 --neigh.refresh=use --neigh.refresh-rate=10 \
	--neigh.refresh-window=60s || { echo "FAIL: agent starts"; exit 1; }
real_peers() {
	local p
	p=$(scrape /peers) || return 1
	grep -q '"peer":"10.99.0.2"[^}]*"verified":true' <<<"$p" &&
		grep -q '"peer":"10.99.0.3"[^}]*"verified":true' <<<"$p"
}
check "before: both phones are verified peers" wait_for 10 real_peers
# The spoofer knows the PBX's address already: it sends no ARP from a forged source.
in_host spoofer ping -c1 -W2 10.99.0.1 >/dev/null

# The flood: 12 rounds of one "\r\n\r\n" from each of the 100 sources (1200 datagrams, < 10 s),
# while /peers is sampled every 0.5 s: 16 entries cannot hold them, so the LRU must evict.
ip netns exec "$(ns_of spoofer)" python3 -c '
import socket, time
socks = []
for i in range(100, 200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.99.0.%d" % i, 5060)); socks.append(s)
end = time.time() + 10
for _ in range(12):
    for s in socks:
        s.sendto(b"\r\n\r\n", ("10.99.0.1", 5060))
    if time.time() > end: break
    time.sleep(0.3)' &
flood=$!
bg_track $flood
samples=0 missing=0 forged_seen=0
for _ in $(seq 1 16); do
	p=$(scrape /peers)
	samples=$((samples + 1))
	grep -q '"peer":"10.99.0.2"[^}]*"verified":true' <<<"$p" &&
		grep -q '"peer":"10.99.0.3"[^}]*"verified":true' <<<"$p" || missing=$((missing + 1))
	n=$(grep -o '"peer":"10\.99\.0\.1[0-9][0-9]"[^}]*"verified":false' <<<"$p" | wc -l)
	[ "$n" -gt "$forged_seen" ] && forged_seen=$n
	sleep 0.5
done
pid_stop "$flood"
echo "peer table samples: $samples, with a phone missing: $missing, most forged sources listed: $forged_seen"
check "the flood reached the peer table (forged sources listed, unverified)" [ "$forged_seen" -ge 5 ]
check "the forged sources never took more than the room the real peers leave (16 - 2)" [ "$forged_seen" -le 14 ]
check "both real phones stayed in the peer table in every sample" [ "$missing" = 0 ]
sleep 3 # a few more ticks of the refresh
check "both real phones are still verified peers after the flood" real_peers
check "no refresh spent on forged sources: no refresh request at all" \
	eq "$(metric sipwatch_neigh_refreshes_total)" 0
check "no refresh held back by the rate limit either" \
	eq "$(metric sipwatch_neigh_refreshes_skipped_total 'reason="rate_limit"')" 0
check "no neighbour entry for any forged source on the PBX (no ARP probe sent for one)" \
	bash -c "! ip netns exec $(ns_of pbx) ip neigh show | grep -q '^10\.99\.0\.1[0-9][0-9] '"
agent_stop
