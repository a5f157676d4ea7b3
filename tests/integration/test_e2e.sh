#!/usr/bin/env bash
# End to end with a real Prometheus (Debian package): it runs in the PBX namespace with its own
# config and data directory, scrapes the agent every second and evaluates dashboards/alerts.yml.
# Scenario: two phones die (link down) while the PBX's shared, blocking SIP socket keeps sending to
# them and to a live phone. Then, through Prometheus's HTTP API: the target is up, the failure
# counters rose, the alert expressions for the scenario return series, every dashboard and alert
# query runs without error; and every metric the queries name is in the agent's exposition.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sip_hello.sh"

PROM_PORT=19090
PROM_URL=http://127.0.0.1:$PROM_PORT


# promq EXPR: the instant query's result, one "labels value" line per series; fails on an API error.
promq() {
	in_host pbx curl -sf --max-time 10 --get --data-urlencode "query=$1" "$PROM_URL/api/v1/query" |
		python3 -c '
import json, sys
body = json.load(sys.stdin)
if body["status"] != "success":
    sys.exit(1)
for s in body["data"]["result"]:
    print(json.dumps(s["metric"], sort_keys=True), s["value"][1])'
}
# promv EXPR: the value of a query that returns one series (empty when none).
promv() { promq "$1" | awk 'NR == 1 { print $NF }'; }
has_series() { [ -n "$(promq "$1")" ]; }
no_series() { local out; out=$(promq "$1") && [ -z "$out" ]; }

lan_up
host_add pbx 1
host_add phone 2
host_add dead1 3
host_add dead2 4
agent_start --sip.ports=5060 --bpf.stats || { echo "FAIL: agent starts"; exit 1; }

# Prometheus: its own config and data directory, inside the PBX namespace, scraping every second.
mkdir -p "$TEST_TMP/prometheus"
cat >"$TEST_TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ["$ROOT/dashboards/alerts.yml"]
scrape_configs:
  - job_name: sipwatch
    static_configs:
      - targets: ["127.0.0.1:$AGENT_PORT"]
YML
ip netns exec "$(ns_of pbx)" prometheus --config.file="$TEST_TMP/prometheus.yml" \
	--storage.tsdb.path="$TEST_TMP/prometheus" --web.listen-address="127.0.0.1:$PROM_PORT" \
	--log.level=warn >"$TEST_TMP/prometheus.log" 2>&1 &
bg_track $!
prom_ready() { in_host pbx curl -sf --max-time 2 "$PROM_URL/-/ready"; }
if ! wait_for 60 prom_ready; then
	echo "FAIL: Prometheus starts"
	cat "$TEST_TMP/prometheus.log" >&2
	exit 1
fi
echo "PASS: Prometheus starts in the PBX namespace"
check "Prometheus loaded every alert rule" bash -c \
	'[ "$(ip netns exec "$1" curl -sf "$2/api/v1/rules?type=alert" | python3 -c "import json,sys; print(sum(len(g[\"rules\"]) for g in json.load(sys.stdin)[\"data\"][\"groups\"]))")" = \
	   "$(grep -c "^ *- alert:" "$3")" ]' _ "$(ns_of pbx)" "$PROM_URL" "$ROOT/dashboards/alerts.yml"
up_is_1() { [ "$(promv 'up{job="sipwatch"}')" = 1 ]; }
check "up{job=\"sipwatch\"} is 1" wait_for 30 up_is_1
before() { promv "sum($1) or vector(0)"; }
failed_before=$(before 'sipwatch_neigh_state_changes_total{state="failed"}')
failures_before=$(before sipwatch_neigh_resolution_failures_total)
drops_before=$(before 'sipwatch_neigh_dropped_packets_total{reason="failed"}')
stalls_before=$(before 'sipwatch_send_stalls_total{proto="udp",port="5060"}')

# First every phone talks SIP to the PBX, as registered phones do: the agent's peer table learns them.
sip_hello 1 phone:2 dead1:3 dead2:4
# The live phone also keeps a SIP TCP connection to the PBX, without keepalive (45 s at most).
tcp_peer tcp_srv pbx serve 5060 --deadline 45
wait_for 10 grep -q '^listening' "$TEST_TMP/tcp_srv"
tcp_peer tcp_cli phone connect 10.99.0.1 5060 --hold 45 --deadline 45
wait_for 10 grep -q '^connected' "$TEST_TMP/tcp_cli"

# The scenario: two phones die; the PBX's blocking SIP socket keeps sending 1.2 KB messages to them
# and to a live phone (300 messages, 30 s at most).
in_host dead1 ip link set eth0 down
in_host dead2 ip link set eth0 down
in_host pbx "$TOOLS/udp_burst" --count 300 --size 1200 --src-port 5060 --deadline 30 \
	10.99.0.3:5060 10.99.0.4:5060 10.99.0.2:5060 >"$TEST_TMP/sender.out"
echo "scenario: $(cat "$TEST_TMP/sender.out")"
failed_rose() { gt "$(promv 'sum(sipwatch_neigh_state_changes_total{state="failed"})')" "${failed_before:-0}"; }
check "the neighbour failure counter rose (both dead phones), seen through Prometheus" wait_for 30 failed_rose
rose() { gt "$(promv "sum($1)")" "${2:-0}"; }
check "sipwatch_neigh_resolution_failures_total rose" wait_for 10 rose sipwatch_neigh_resolution_failures_total "$failures_before"
check "sipwatch_neigh_dropped_packets_total{reason=\"failed\"} rose" \
	wait_for 10 rose 'sipwatch_neigh_dropped_packets_total{reason="failed"}' "$drops_before"
check "sipwatch_send_stalls_total{proto=\"udp\",port=\"5060\"} rose" \
	wait_for 10 rose 'sipwatch_send_stalls_total{proto="udp",port="5060"}' "$stalls_before"
check "both dead phones counted as failed" \
	ge "$(promv 'sum(sipwatch_neigh_state_changes_total{state="failed",family="ipv4"})')" 2
incidents=$(scrape '/incidents?kind=neigh_failed')
check "both dead phones, and only they, are neigh_failed incidents" bash -c \
	'grep -q "\"address\":\"10.99.0.3\"" <<<"$1" && grep -q "\"address\":\"10.99.0.4\"" <<<"$1" &&
	 ! grep -q "\"address\":\"10.99.0.2\"" <<<"$1"' _ "$incidents"

# The phones' SIP hellos, classified by the agent (XDP on the PBX's eth0): exactly 3 OPTIONS in.
check "SIP traffic: the phones' 3 OPTIONS counted (sipwatch_sip_requests_total)" eq \
	"$(promv 'sum(sipwatch_sip_requests_total{direction="rx",transport="udp",method="options"})')" 3

# The alert expressions of the scenario, as Prometheus evaluates them (not waiting for `for:`).
alert_expr() { python3 -c '
import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        if r.get("alert") == sys.argv[2]:
            print(r["expr"])' "$ROOT/dashboards/alerts.yml" "$1"; }
for alert in SipwatchSipPeersUnreachable SipwatchSipSendStalls; do
	expr=$(alert_expr "$alert")
	check "alert expression $alert returns series" wait_for 20 has_series "$expr"
done
# SipwatchSipSendStalls has no `for:`: Prometheus's own rule evaluation fires it.
check "Prometheus fires SipwatchSipSendStalls for the stalled socket" wait_for 20 has_series \
	'ALERTS{alertname="SipwatchSipSendStalls",alertstate="firing",severity="critical",proto="udp",port="5060"}'
check "alert expression SipwatchSipTcpWithoutKeepalive returns series" \
	wait_for 20 has_series "$(alert_expr SipwatchSipTcpWithoutKeepalive)"
check "exactly the phone's connection counted without keepalive" \
	eq "$(promv 'sum(sipwatch_tcp_connections{keepalive="off",port="5060"})')" 1
check "alert expression SipwatchDown returns nothing while the agent is up" \
	no_series "$(alert_expr SipwatchDown)"

# Every dashboard and alert query runs on this Prometheus without error, and every metric they
# name is in the agent's live exposition.
scrape /metrics >"$TEST_TMP/exposition.txt"
in_host pbx python3 "$ROOT/tests/dashboards/check_queries.py" --prometheus "$PROM_URL" \
	--exposition "$TEST_TMP/exposition.txt" | grep -E '^(PASS|FAIL): (all|every metric)'
