#!/usr/bin/env bash
# The ring buffer floods: with the agent's event loop stopped (SIGSTOP), the kernel makes more
# neighbour-failure records than the neigh object's 256 KiB ring holds. Ground truth: the entries
# `ip neigh` shows FAILED afterwards (each address was resolved once, so one FAILED transition
# each). Every record is either read by the agent (one neigh_failed incident line) or counted in
# sipwatch_ringbuf_events_dropped_total; after SIGCONT the agent keeps up with a later failure.
# The kernel may not deliver every neigh_timer_handler call (a timer batch of ~64 entries was lost
# on 6.18 while other tests attached programs): the agent's sweep finds those FAILED entries after
# SIGCONT, counts them and emits their records, so the sums stay exact.
source "$(dirname "$0")/lib.sh"

COUNT=2000 # neigh_failed records are ~640 bytes: about 400 fit in the 256 KiB ring the agent gets here

lan_up
host_add pbx 1
host_add dead 2

# A stopped agent would never see SIGTERM: continue it before lib.sh's cleanup stops it.
trap '[ -n "$AGENT_PID" ] && kill -CONT "$AGENT_PID" 2>/dev/null; lan_cleanup' EXIT
# The global neighbour table must keep COUNT failed entries listed (put back on exit).
gc_thresh_raise 65536

# The dead host owns 10.99.64.0/18 (link down: nobody answers); the pbx reaches it on-link.
python3 -c '
for i in range(1, '$((COUNT + 300))'):
    print("addr add 10.99.%d.%d/18 dev eth0" % (64 + i // 256, i % 256))' >"$TEST_TMP/addrs.batch"
in_host dead ip -batch "$TEST_TMP/addrs.batch"
ip -n "$(ns_of dead)" link set eth0 down
in_host pbx ip route add 10.99.64.0/18 dev eth0

agent_start --neigh.incident-interval=0 --neigh.events-ring-kib=256 || { echo "FAIL: agent starts"; exit 1; }
check "no drops before the flood" eq "$(metric sipwatch_ringbuf_events_dropped_total)" 0

in_range() { grep "incident=neigh_failed" "$AGENT_LOG" | grep -c 'address=10\.99\.\(6[4-9]\|[7-9][0-9]\|1[01][0-9]\|12[0-7]\)\.' || true; }
kill -STOP "$AGENT_PID"
read -r sent _ < <(in_host pbx "$TOOLS/udp_spray" --first 10.99.64.1 --count "$COUNT" --rate 2000 \
	--src-port 5060 --dst-port 5060 | sed -n 's/^sent=\([0-9]*\) seconds=\([0-9.]*\)/\1 \2/p')
check "every datagram sent (one new entry each)" eq "$sent" "$COUNT"
# All entries resolved or failed: none INCOMPLETE in the range any more (3 probes, 1 s apart).
check "the kernel gave up on every entry" wait_for 30 bash -c "[ \$(ip -n $(ns_of pbx) neigh show to 10.99.64.0/18 nud incomplete | wc -l) -eq 0 ]"
failed=$(in_host pbx ip neigh show to 10.99.64.0/18 nud failed | wc -l)
check "the kernel lists every entry FAILED" eq "$failed" "$COUNT"
check "while stopped, the agent has read nothing" eq "$(in_range)" 0
kill -CONT "$AGENT_PID"

check "the overflow is counted" wait_metric 10 sipwatch_ringbuf_events_dropped_total '' gt 0
dropped=$(metric sipwatch_ringbuf_events_dropped_total)
accounted() { eq $(($(in_range) + $(metric sipwatch_ringbuf_events_dropped_total))) "$failed"; }
check "incidents read + records dropped = FAILED entries" wait_for 15 accounted
echo "failed=$failed read=$(in_range) dropped=$dropped swept=$(metric sipwatch_neigh_state_changes_swept_total 'family="ipv4",state="failed"')"
check "the agent read the records the ring held" gt "$(in_range)" 0
check "FAILED transitions counted exactly (BPF map, not the ring)" \
	eq "$(metric sipwatch_neigh_state_changes_total 'family="ipv4",state="failed"')" "$failed" ||
	for id in $(agent_prog_ids "$AGENT_PID"); do bpftool prog show id "$id"; done >&2

# The agent keeps up afterwards: one more failure is logged promptly, nothing more dropped.
in_host pbx ping -c 1 -W 1 10.99.72.1 >/dev/null
check "a later single failure is logged as an incident" \
	wait_for 10 bash -c 'grep "incident=neigh_failed" "$1" | grep -q "address=10.99.72.1 "' _ "$AGENT_LOG"
check "nothing dropped after the flood" eq "$(metric sipwatch_ringbuf_events_dropped_total)" "$dropped"

in_host pbx ip route del 10.99.64.0/18 dev eth0
agent_stop
check "agent exits 0" [ $? -eq 0 ]
gc_thresh_restore
