#!/usr/bin/env bash
# Send path on a SIP TCP connection whose peer vanishes while data is in flight: the unacknowledged
# bytes show in socket_send_queue_bytes{proto="tcp"}, the writes are timed under proto="tcp", and
# the connection appears in /sockets.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add phone 2

agent_start --sip.ports=5060 || { echo "FAIL: agent starts"; exit 1; }

# The phone: a SIP TCP listener that accepts and reads what arrives, for at most 30 s.
in_host phone timeout 30 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.2", 5060)); s.listen(1)
c, _ = s.accept()
while c.recv(65536): pass
' &
# The PBX side: connect, send one message, wait for "go", then send 40 KB the phone never acks.
# Bounded: at most 30 s, writes are non-blocking.
in_host pbx timeout 30 python3 -c '
import os, socket, sys, time
tmp = sys.argv[1]
for _ in range(100):
    try:
        c = socket.create_connection(("10.99.0.2", 5060), timeout=2); break
    except OSError: time.sleep(0.1)
c.sendall(b"OPTIONS sip:phone SIP/2.0\r\n\r\n")
open(tmp + "/connected", "w").close()
while not os.path.exists(tmp + "/go"): time.sleep(0.05)
c.setblocking(False)
sent = 0
for _ in range(40):
    try: sent += c.send(b"x" * 1000)
    except BlockingIOError: break
open(tmp + "/sent", "w").write(str(sent))
while not os.path.exists(tmp + "/done"): time.sleep(0.05)
' "$TEST_TMP" &
client=$!

check "TCP connection to the phone's SIP port established" wait_for 10 test -e "$TEST_TMP/connected"
check "the first write is timed under proto=tcp" \
	wait_metric 5 sipwatch_send_blocked_seconds_count 'proto="tcp",port="5060"' ge 1
# The phone's cable is pulled: what the PBX writes now stays unacknowledged in its socket.
in_host phone ip link set eth0 down
touch "$TEST_TMP/go"
check "the PBX wrote while the peer was gone" wait_for 10 test -s "$TEST_TMP/sent"
sent=$(cat "$TEST_TMP/sent" 2>/dev/null || echo 0)
echo "bytes written after the peer vanished: $sent"
check "socket_send_queue_bytes{proto=tcp} counts the stuck bytes" \
	wait_metric 5 sipwatch_socket_send_queue_bytes 'proto="tcp",port="5060"' eq "$sent"
check "fill ratio of the stuck connection is above 0" \
	gt "$(metric sipwatch_socket_send_queue_fill_ratio 'proto="tcp",port="5060"')" 0
check "/sockets lists the connection with its remote SIP port and queued bytes" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
s = [s for s in d["sockets"] if s["proto"] == "tcp" and s["remote"] == "10.99.0.2:5060"][0]
assert s["port"] == 5060 and s["queued_bytes"] == int(sys.argv[2]), s
assert s["local"].startswith("10.99.0.1:"), s
' "$(scrape /sockets)" "$sent"
check "every write counted (1 + the ones after the peer vanished)" \
	ge "$(metric sipwatch_send_blocked_seconds_count 'proto="tcp",port="5060"')" 2
# Retransmits are the TCP concern's counter (bpf/tcp.bpf.c); assert them when it is there.
if scrape /metrics | grep -q '^# TYPE sipwatch_tcp_retransmits_total'; then
	check "retransmits of the stuck data counted" \
		wait_metric 10 sipwatch_tcp_retransmits_total 'port="5060"' ge 1
fi
touch "$TEST_TMP/done"
wait "$client"
agent_stop; rc=$?
check "agent exits 0" [ "$rc" -eq 0 ]
