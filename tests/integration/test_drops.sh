#!/usr/bin/env bash
# SIP packets the kernel drops, against the kernel's own counters: a SIP socket whose receive
# buffer fills while it does not read (drops = burst - read = /proc/net/udp's drops column =
# RcvbufErrors), SIP to a port with no socket (= NoPorts, IPv4 and IPv6), a netfilter rule that
# drops one host's SIP (= the rule's counter), SIP sent to a host whose cable is pulled (tx,
# neigh_failed = what was sent); the per-socket receive gauges; the sip_drops
# incident.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add phone 2
host_add blocked 3
host_add dead 4

# snmp FILE PROTO FIELD: a counter of /proc/net/snmp's "Udp:" lines (or snmp6's "Udp6NoPorts").
snmp() { in_host pbx awk -v p="$1:" -v f="$2" '$1 == p && !n { for (i = 2; i <= NF; i++) h[i] = $i; n = 1; next } $1 == p { for (i = 2; i <= NF; i++) if (h[i] == f) print $i }' /proc/net/snmp; }
snmp6() { in_host pbx awk -v f="$1" '$1 == f { print $2 }' /proc/net/snmp6; }
drops() { metric sipwatch_sip_drops_total "$1"; }

agent_start --sip.ports=5060,5062 --neigh.incident-interval=0 || { echo "FAIL: agent starts"; exit 1; }
check "drop probe up" eq "$(metric sipwatch_probe_up 'probe="kfree_skb_sip"')" 1
in_host phone ping -c 1 -W 1 10.99.0.1 >/dev/null
in_host blocked ping -c 1 -W 1 10.99.0.1 >/dev/null

# --- A SIP socket with a small receive buffer that stops reading: a bounded burst overflows it.
cat >"$TEST_TMP/receiver.py" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
s.bind(("10.99.0.1", 5060))
print("pid", os.getpid())
print("rcvbuf", s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), flush=True)
go, done = sys.argv[1], sys.argv[2]
for _ in range(600):  # at most 60 s
    if os.path.exists(go):
        break
    time.sleep(0.1)
s.setblocking(False)
n = 0
while True:
    try:
        s.recv(2048)
        n += 1
    except BlockingIOError:
        break
print("read", n, flush=True)
for _ in range(600):
    if os.path.exists(done):
        break
    time.sleep(0.1)
PY
host_bg pbx python3 "$TEST_TMP/receiver.py" "$TEST_TMP/go" "$TEST_TMP/done" >"$TEST_TMP/receiver.out"
receiver=$BG_PID
wait_for 10 grep -q '^rcvbuf' "$TEST_TMP/receiver.out"
rcvbuf=$(sed -n 's/^rcvbuf //p' "$TEST_TMP/receiver.out")
receiver_pid=$(sed -n 's/^pid //p' "$TEST_TMP/receiver.out")
errs0=$(snmp Udp RcvbufErrors)
burst=200
in_host phone "$TOOLS/udp_burst" --count "$burst" --size 500 --src-port 5070 --deadline 20 10.99.0.1:5060 >/dev/null
check "receive queue of the SIP socket nearly full before it reads" \
	wait_metric 5 sipwatch_socket_receive_queue_fill_ratio 'proto="udp",port="5060"' ge 0.5
check "receive buffer gauge is the socket's SO_RCVBUF" \
	eq "$(metric sipwatch_socket_receive_buffer_bytes 'proto="udp",port="5060"')" "$rcvbuf"
touch "$TEST_TMP/go"
wait_for 10 grep -q '^read' "$TEST_TMP/receiver.out"
read_n=$(sed -n 's/^read //p' "$TEST_TMP/receiver.out")
lost=$((burst - read_n))
proc_drops=$(in_host pbx awk '$2 ~ /:13C4$/ { print $NF }' /proc/net/udp)
echo "burst $burst, read $read_n, /proc/net/udp drops $proc_drops, RcvbufErrors +$(($(snmp Udp RcvbufErrors) - errs0))"
check "the burst overflowed the socket" [ "$lost" -gt 0 ]
check "/proc/net/udp's drops column = burst - read" eq "$proc_drops" "$lost"
check "RcvbufErrors delta = burst - read" eq "$(($(snmp Udp RcvbufErrors) - errs0))" "$lost"
check "sip_drops_total{rx,udp,5060,socket_rcvbuff} = burst - read" \
	wait_metric 5 sipwatch_sip_drops_total 'direction="rx",proto="udp",port="5060",reason="socket_rcvbuff"' eq "$lost"
check "socket_receive_drops_total = the socket's drops column" \
	wait_metric 5 sipwatch_socket_receive_drops_total 'proto="udp",port="5060"' eq "$proc_drops"
# The receiving socket of a dropped packet is named by kernels whose kfree_skb tracepoint has rx_sk
# (asked of tracefs, not of the agent).
mountpoint -q /sys/kernel/tracing 2>/dev/null || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
if grep -q rx_sk /sys/kernel/tracing/events/skb/kfree_skb/format 2>/dev/null; then
	check "sip_drops incident names the socket, reason, count and owner" \
		wait_for 10 grep -Eq "incident=sip_drops direction=rx proto=udp port=5060 reason=socket_rcvbuff local=10\.99\.0\.1:5060 last_peer=10\.99\.0\.2:5070 drops=$lost .*socket_inode=[1-9][0-9]* pid=$receiver_pid comm=python3" "$AGENT_LOG"
else
	echo "this kernel's kfree_skb has no rx_sk: received drops are counted, not attributed to a socket"
	check "the agent says drops are not attributed on receive" grep -q 'no rx_sk' "$AGENT_LOG"
fi
touch "$TEST_TMP/done"
wait "$receiver" 2>/dev/null

# --- SIP to a port with no socket (a PBX restarting): no_socket, as the kernel's NoPorts.
noports0=$(snmp Udp NoPorts)
noports6=$(snmp6 Udp6NoPorts)
in_host phone "$TOOLS/udp_burst" --count 20 --src-port 5070 10.99.0.1:5062 >/dev/null
in_host phone "$TOOLS/udp_burst" --count 10 --src-port 5070 "[fd99::1]:5062" >/dev/null
check "NoPorts rose by the 20 IPv4 datagrams" eq "$(($(snmp Udp NoPorts) - noports0))" 20
check "Udp6NoPorts rose by the 10 IPv6 datagrams" eq "$(($(snmp6 Udp6NoPorts) - noports6))" 10
check "sip_drops_total{rx,udp,5062,no_socket} = 30 (IPv4 and IPv6)" \
	wait_metric 5 sipwatch_sip_drops_total 'direction="rx",proto="udp",port="5062",reason="no_socket"' eq 30

# --- A firewall rule in the PBX dropping one host's SIP: netfilter_drop = the rule's counter.
in_host pbx nft -f - <<'NFT'
table inet swtest {
	chain input {
		type filter hook input priority 0;
		ip saddr 10.99.0.3 udp dport 5060 counter drop
	}
}
NFT
in_host blocked "$TOOLS/udp_burst" --count 30 --src-port 5060 10.99.0.1:5060 >/dev/null
in_host phone "$TOOLS/udp_burst" --count 5 --src-port 5070 10.99.0.1:5062 >/dev/null
rule=$(in_host pbx nft list chain inet swtest input | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p')
check "the rule dropped the 30 datagrams" eq "${rule:-0}" 30
check "sip_drops_total{reason=netfilter_drop} = the rule's counter" \
	wait_metric 5 sipwatch_sip_drops_total 'direction="rx",port="5060",reason="netfilter_drop"' eq "${rule:-0}"
check "the phone's datagrams still arrive (no_socket, not netfilter)" \
	wait_metric 5 sipwatch_sip_drops_total 'port="5062",reason="no_socket"' eq 35
in_host pbx nft delete table inet swtest

# --- Sent the other way: SIP from the PBX to a host whose cable is pulled waits for ARP and is
# dropped when the entry fails (neigh_failed, tx), every datagram of it.
in_host dead ip link set eth0 down
in_host pbx "$TOOLS/udp_burst" --count 5 --size 200 --src-port 5060 --deadline 10 10.99.0.4:5060 >/dev/null
check "sip_drops_total{tx,udp,5060,neigh_failed} = the 5 datagrams sent to the dead host" \
	wait_metric 10 sipwatch_sip_drops_total 'direction="tx",proto="udp",port="5060",reason="neigh_failed"' eq 5

# --- Nothing counted for other ports.
in_host phone "$TOOLS/udp_burst" --count 20 --src-port 40000 10.99.0.1:40001 >/dev/null
in_host phone "$TOOLS/udp_burst" --count 1 --src-port 5070 10.99.0.1:5062 >/dev/null
check "a non-SIP port's drops are not counted (marker counted)" \
	wait_metric 5 sipwatch_sip_drops_total 'reason="no_socket"' eq 36

check "exposition passes promtool check metrics" \
	bash -c 'promtool check metrics <<<"$1" 2>&1 | tee /dev/stderr | [ -z "$(cat)" ]' _ "$(scrape /metrics)"
agent_stop; rc=$?
check "agent exits 0" [ "$rc" -eq 0 ]
