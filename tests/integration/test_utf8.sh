#!/usr/bin/env bash
# Issue 17 item 12: an interface name and a process name that are not UTF-8 (both are bytes to the
# kernel) must not make Prometheus reject the scrape or JSON readers the incidents. The PBX gets a
# second link, a veth named $'v\xff' to a test host whose end ($'p\xfe') has ARP switched off (a dead
# peer), and a SIP sender whose process name is $'sip\xff\xfe'. Its datagrams park in the
# unresolved queue of that link and are dropped when the entry fails: the interface name lands in
# metric labels, /neigh/sockets, /incidents and the log; the process name in the last three.
source "$(dirname "$0")/lib.sh"

IFNAME=$'v\xff'
PEERNAME=$'p\xfe'
COMM=$'sip\xff\xfe'

lan_up
host_add pbx 1
host_add dead 2
ip link add "$IFNAME" netns "$(ns_of pbx)" type veth peer name "$PEERNAME" netns "$(ns_of dead)" ||
	{ echo "FAIL: a veth named \$'v\\xff' can be made"; exit 1; }
ip -n "$(ns_of pbx)" addr add 10.98.0.1/24 dev "$IFNAME"
ip -n "$(ns_of dead)" addr add 10.98.0.2/24 dev "$PEERNAME"
ip -n "$(ns_of dead)" link set "$PEERNAME" arp off up
ip -n "$(ns_of pbx)" link set "$IFNAME" up
# Probes 0.5 s apart: the entry fails ~1.5 s after the first datagram.
in_host pbx sysctl -qw "net.ipv4.neigh.$IFNAME.retrans_time_ms=500"
cp "$TOOLS/udp_burst" "$TEST_TMP/$COMM"

# Both log formats: each run must give valid UTF-8 lines.
for fmt in logfmt json; do
	agent_start --sip.ports=5060 --neigh.incident-interval=0 --log.format=$fmt ||
		{ echo "FAIL: agent starts ($fmt)"; exit 1; }
	in_host pbx ip neigh flush dev "$IFNAME"
	in_host pbx "$TEST_TMP/$COMM" --nonblocking --count 5 --size 200 --src-port 5060 \
		--deadline 10 10.98.0.2:5060 >/dev/null
	incident_seen() { scrape '/incidents?kind=neigh_failed' | grep -q '10.98.0.2'; }
	check "$fmt: the neighbour failure behind \$'v\\xff' is an incident" wait_for 15 incident_seen

	scrape /metrics >"$TEST_TMP/metrics.txt"
	check "$fmt: promtool accepts the scrape" promtool check metrics <"$TEST_TMP/metrics.txt"
	check "$fmt: the interface is labelled v\\xff (its byte escaped)" \
		grep -qF 'ifname="v\\xff"' "$TEST_TMP/metrics.txt"
	scrape /incidents >"$TEST_TMP/incidents.json"
	check "$fmt: /incidents is valid JSON" python3 -m json.tool "$TEST_TMP/incidents.json" /dev/null
	check "$fmt: the incident names the interface and the sender" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
i = [i for i in d if i.get("address") == "10.98.0.2"]
sys.exit(not (i and i[0]["ifname"] == "v\\xff" and "comm=sip\\xff\\xfe" in i[0].get("sip_sockets", "")))' \
		"$TEST_TMP/incidents.json"
	scrape '/neigh/sockets?since=60' >"$TEST_TMP/sockets.json"
	check "$fmt: /neigh/sockets is valid JSON naming both" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = [s for s in d["sockets"] if s["comm"] == "sip\\xff\\xfe"]
sys.exit(not (s and any(h["ifname"] == "v\\xff" for h in s[0]["holdings"])))' "$TEST_TMP/sockets.json"
	for path in /peers /tcp /sockets; do
		body=$(scrape "$path") || continue # not every path exists in every build
		check "$fmt: $path is valid JSON" bash -c 'python3 -m json.tool >/dev/null <<<"$1"' _ "$body"
	done
	agent_stop
	check "$fmt: every log line is UTF-8" python3 -c '
import sys
open(sys.argv[1], "rb").read().decode("utf-8")' "$AGENT_LOG"
	check "$fmt: the log names the interface escaped" grep -qF 'v\\xff' "$AGENT_LOG"
	[ "$fmt" = json ] && check "json: every log line is a JSON object" python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    json.loads(line)' "$AGENT_LOG"
done
