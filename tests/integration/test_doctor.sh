#!/usr/bin/env bash
# sipwatch doctor: a namespace with risky settings (kernel defaults: unres_qlen_bytes equal to the
# default send buffer, 2-hour keepalive, a SIP TCP connection without SO_KEEPALIVE) is flagged with
# exit 1; a tuned namespace running the same SIP sockets is clean with exit 0.
source "$(dirname "$0")/lib.sh"

lan_up
host_add risky 1
host_add tuned 2
host_add peer 3

# sip_sockets HOST KEEPALIVE: a UDP socket on :5060 and a TCP connection to peer:5060 (with
# SO_KEEPALIVE and a 2 MiB receive buffer when KEEPALIVE is 1), held open until the test ends (bounded: 120 s).
sip_sockets() {
	in_host "$1" timeout 120 python3 -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5060))
# tuned: a receive buffer for a burst (SO_RCVBUFFORCE = 33: past net.core.rmem_max, as root)
if sys.argv[1] == "1": u.setsockopt(socket.SOL_SOCKET, 33, 1 << 20)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if sys.argv[1] == "1": t.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
t.connect(("10.99.0.3", 5060)); print("ready", flush=True); time.sleep(120)' "$2" >"$TEST_TMP/$1.sock" 2>&1 &
}
# The SIP server on the peer: accept and hold connections (bounded).
in_host peer timeout 120 python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.3", 5060)); s.listen(8); c = [s.accept()[0] for _ in range(2)]; time.sleep(120)' &
wait_for 5 in_host peer bash -c 'ss -Hltn "sport = :5060" | grep -q .'

for fam in ipv4 ipv6; do in_host tuned sysctl -qw net.$fam.neigh.eth0.unres_qlen_bytes=16384; done
in_host tuned sysctl -qw net.ipv4.tcp_keepalive_time=60 net.ipv4.tcp_keepalive_intvl=10 \
	net.ipv4.tcp_keepalive_probes=3
sip_sockets risky 0
sip_sockets tuned 1
wait_for 5 grep -q ready "$TEST_TMP/risky.sock"
wait_for 5 grep -q ready "$TEST_TMP/tuned.sock"

out=$(in_host risky "$SIPWATCH" doctor --sip.ports=5060); rc=$?
echo "$out"
check "risky namespace: exit 1" [ "$rc" -eq 1 ]
check "risky: the shared UDP socket stalls with 1 dead peer (SO_SNDBUF 212992 = unres_qlen_bytes)" \
	grep -q '^crit sndbuf_unres_qlen udp 0.0.0.0:5060 via eth0: SO_SNDBUF 212992 <= 1 x ipv4 unres_qlen_bytes 212992: 1 dead peer being resolved stalls this socket for up to 3.0 s; fix: sysctl -w net.ipv4.neigh.eth0.unres_qlen_bytes=26624' <<<"$out"
check "risky: the default receive buffer holds 92 datagrams, not a burst of 256" \
	grep -q '^warn rcvbuf_burst udp 0.0.0.0:5060: SO_RCVBUF 212992 holds 92 datagrams of 2304 bytes truesize' <<<"$out"
check "risky: keepalive detection 7200 + 9 x 75 = 7875 s flagged with the fix" \
	grep -q '^warn tcp_keepalive .*= 7875 s (bound 120 s); fix: sysctl -w net.ipv4.tcp_keepalive_time=60' <<<"$out"
check "risky: the SIP TCP connection without SO_KEEPALIVE is named" \
	grep -q '^warn tcp_no_keepalive tcp 10.99.0.1:[0-9]* -> 10.99.0.3:5060' <<<"$out"
check "risky: the IPv4-only socket is not judged against IPv6 settings" \
	bash -c '! grep -q "sndbuf_unres_qlen.*ipv6" <<<"$1"' _ "$out"
nprobes=$(grep -c . <<<"$(grep -o 'probe="[^"]*"' <<<"$(in_host risky timeout 20 bash -c "$SIPWATCH --web.listen-address=127.0.0.1:9069 & p=\$!; for i in \$(seq 50); do curl -sf 127.0.0.1:9069/metrics && break; sleep 0.2; done; kill \$p; wait \$p" 2>/dev/null | grep '^sipwatch_probe_up{')")")
check "risky: the kernel check tried every probe the agent has ($nprobes) and all attach" \
	grep -qx "info kernel_probes probes: $nprobes of $nprobes probes attach on this kernel" <<<"$out"
out_nobody=$(in_host risky setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$SIPWATCH" doctor --sip.ports=5060)
check "without privileges the probes are reported unchecked, the other rules still run" \
	bash -c 'grep -q "^info kernel_probes probes: probes not checked: no probe could be loaded without root" <<<"$1" && grep -q "^crit sndbuf_unres_qlen udp 0.0.0.0:5060" <<<"$1"' _ "$out_nobody"
out_disabled=$(in_host risky "$SIPWATCH" doctor --sip.ports=5060 --probe.disable=neigh_update)
check "a probe that does not attach (disabled here) is flagged by name" \
	grep -q '^warn kernel_probe neigh_update: ' <<<"$out_disabled"
json=$(in_host risky "$SIPWATCH" doctor --sip.ports=5060 --format=json); rc=$?
check "risky --format=json: exit 1, valid JSON, at_risk true, one finding per text line" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert int(sys.argv[3]) == 1 and d["at_risk"] is True
assert len(d["findings"]) == len(sys.argv[2].splitlines()), (len(d["findings"]), sys.argv[2])
assert {"severity", "rule", "subject", "evidence", "fix"} <= set(d["findings"][0])' "$json" "$out" "$rc"

out=$(in_host tuned "$SIPWATCH" doctor --sip.ports=5060); rc=$?
echo "$out"
check "tuned namespace: exit 0, nothing at risk" bash -c '[ "$1" -eq 0 ] && [ "$(grep -v "^info kernel_probes" <<<"$2")" = "ok: nothing at risk" ]' _ "$rc" "$out"
json=$(in_host tuned "$SIPWATCH" doctor --sip.ports=5060 --format=json)
check "tuned --format=json: at_risk false" python3 -c 'import json,sys; assert json.loads(sys.argv[1])["at_risk"] is False' "$json"

# The sockets are found by port: with other SIP ports the UDP socket is not judged.
# doctor only reads: given the keepalive policy flag, it must not apply it to live connections.
in_host risky "$SIPWATCH" doctor --sip.ports=5060 --tcp.keepalive=2,1,2 >/dev/null
out=$(in_host risky "$SIPWATCH" doctor --sip.ports=5060)
check "doctor with --tcp.keepalive changed no connection (still flagged without keepalive)" \
	grep -q '^warn tcp_no_keepalive tcp 10.99.0.1:[0-9]* -> 10.99.0.3:5060' <<<"$out"
out=$(in_host risky "$SIPWATCH" doctor --sip.ports=5999)
check "only sockets on --sip.ports are judged" bash -c '! grep -q "sndbuf_unres_qlen\|tcp_no_keepalive" <<<"$1"' _ "$out"
out=$("$SIPWATCH" doctor --format=yaml 2>&1); rc=$?
check "bad --format exits 2 naming the flag" bash -c '[ "$1" -eq 2 ] && grep -q -- "--format" <<<"$2"' _ "$rc" "$out"
out=$("$SIPWATCH" doctor --sip.ports=0 2>&1); rc=$?
check "bad agent flag to doctor exits 2 naming it" bash -c '[ "$1" -eq 2 ] && grep -q -- "--sip.ports" <<<"$2"' _ "$rc" "$out"
