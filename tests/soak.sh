#!/usr/bin/env bash
# make soak: the agent under churn for SOAK_SECONDS (default 600): phones resolved, killed (link
# down: resolution fails) and revived in turn, SIP UDP sent to live and dead phones, a scrape every
# second. RSS and open fds are sampled every 30 s; after a 60 s warm-up RSS may not grow by more
# than 8 MiB and the fd count must end where it was. Then the one structure that grows with churn,
# the neighbour holdings snapshot, is filled to its bound: RSS must stop there. Not part of make test.
source "$(dirname "$0")/integration/lib.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
lan_up
host_add pbx 1
for i in 2 3 4 5; do host_add "phone$i" "$i"; done
agent_start || { echo "FAIL: agent starts"; exit 1; }

rss() { awk '/^VmRSS:/ {print $2 * 1024}' /proc/"$AGENT_PID"/status; }
fds() { ls /proc/"$AGENT_PID"/fd | wc -l; }
start=$(date +%s)
deadline=$((start + SOAK_SECONDS))
next_sample=$start
warm_rss=
warm_fds=
max_rss=0
scrapes=0
failed_scrapes=0
round=0
printf '%8s %12s %6s\n' seconds rss_bytes fds
while [ "$(date +%s)" -lt "$deadline" ]; do
	round=$((round + 1))
	victim=$((2 + round % 4))
	# Kill one phone for this round: its link goes down, so the PBX's resolution fails.
	ip -n "$(ns_of "phone$victim")" link set eth0 down
	pings=()
	for i in 2 3 4 5; do
		in_host pbx timeout 5 ping -c 1 -W 1 "10.99.0.$i" >/dev/null 2>&1 &
		pings+=($!)
	done
	in_host pbx timeout 5 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2, 6):
    for _ in range(5):
        s.sendto(b"OPTIONS sip:phone SIP/2.0\r\n\r\n", ("10.99.0.%d" % i, 5060))' >/dev/null 2>&1
	for _ in 1 2 3; do
		if scrape /metrics >/dev/null; then scrapes=$((scrapes + 1)); else failed_scrapes=$((failed_scrapes + 1)); fi
		sleep 1
	done
	wait "${pings[@]}"
	ip -n "$(ns_of "phone$victim")" link set eth0 up
	in_host pbx ip neigh flush dev eth0 >/dev/null 2>&1
	now=$(date +%s)
	if [ "$now" -ge "$next_sample" ]; then
		r=$(rss)
		f=$(fds)
		printf '%8d %12d %6d\n' $((now - start)) "$r" "$f"
		if [ -z "$warm_rss" ] && [ $((now - start)) -ge 60 ]; then
			warm_rss=$r
			warm_fds=$f
		fi
		[ -n "$warm_rss" ] && [ "$r" -gt "$max_rss" ] && max_rss=$r
		next_sample=$((now + 30))
	fi
done
final_fds=$(fds)
final_rss=$(rss)
[ "$final_rss" -gt "$max_rss" ] && max_rss=$final_rss
echo "rounds $round, scrapes $scrapes ok / $failed_scrapes failed"

# What RSS the churn adds is the neighbour holdings snapshot (neigh.c: static keys/vals and
# holds_snap, read on every scrape) being touched as the LRU map neigh_holds fills, ~320 bytes per
# (entry, socket); it stops at the map's 8192 entries (~2.5 MiB). Shown here: new sockets queue at
# dead phones until the map is full, then 6 more such rounds may not grow RSS.
holds_map=
for f in /proc/"$AGENT_PID"/fdinfo/*; do
	id=$(awk '/^map_id:/ {print $2}' "$f")
	[ -n "$id" ] && bpftool map show id "$id" | grep -q 'name neigh_holds ' && holds_map=$id && break
done
holds() { bpftool -j map dump id "$holds_map" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }
for i in 2 3 4 5; do ip -n "$(ns_of "phone$i")" link set eth0 down; done
fill_round() { # 2100 new UDP sockets, one datagram each to a dead phone, then 3 scrapes
	in_host pbx timeout 60 python3 -c '
import resource, socket
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
socks = []
for n in range(2100):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socks.append(s)
    try:
        s.sendto(b"OPTIONS sip:phone SIP/2.0\r\n\r\n", ("10.99.0.%d" % (2 + n % 4), 5060))
    except OSError:
        pass' >/dev/null 2>&1
	for _ in 1 2 3; do scrape /metrics >/dev/null; done
}
for _ in $(seq 1 12); do
	[ "$(holds)" -ge 7950 ] && break
	fill_round
done
full_rss=$(rss)
echo "neigh_holds full: $(holds) entries, RSS $full_rss"
for _ in $(seq 1 6); do fill_round; done
after_rss=$(rss)
echo "after 6 more rounds: $(holds) entries, RSS $after_rss"
check "neigh_holds filled to its LRU size (7950+ of 8192)" [ "$(holds)" -ge 7950 ]
check "RSS stops growing once neigh_holds is full: $full_rss -> $after_rss (< 256 KiB)" \
	[ $((after_rss - full_rss)) -lt $((256 << 10)) ]
check "agent alive after ${SOAK_SECONDS}s of churn" kill -0 "$AGENT_PID"
check "every scrape answered ($scrapes)" [ "$failed_scrapes" -eq 0 ]
if [ -n "$warm_rss" ]; then
	check "RSS stable: max $max_rss after warm-up $warm_rss (< 8 MiB growth)" \
		[ $((max_rss - warm_rss)) -lt $((8 << 20)) ]
	check "open fds stable: $final_fds at the end, $warm_fds after warm-up" [ "$final_fds" -eq "$warm_fds" ]
else
	echo "FAIL: soak shorter than the 60 s warm-up (SOAK_SECONDS=$SOAK_SECONDS)"
fi
check "neighbour failures were seen (the churn happened)" \
	gt "$(metric sipwatch_neigh_state_changes_total 'state="failed"')" 0
agent_stop; rc=$?
check "exits 0 after the soak" [ "$rc" -eq 0 ]
