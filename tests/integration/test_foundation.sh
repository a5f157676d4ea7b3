#!/usr/bin/env bash
# The agent starts, serves lint-clean metrics and a landing page, sees its own namespace's
# neighbour transitions (and no other namespace's), rejects bad flags, and leaves nothing behind.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add phone 2
host_add other1 3
host_add other2 4

# Bad flags never start anything: exit 2 and one line naming the flag.
out=$("$SIPWATCH" --web.listen-address=nonsense 2>&1); rc=$?
check "bad flag value exits 2 naming the flag" \
	bash -c '[ "$1" -eq 2 ] && grep -q -- "--web.listen-address" <<<"$2" && [ "$(wc -l <<<"$2")" -eq 1 ]' _ "$rc" "$out"
out=$("$SIPWATCH" --no-such-flag 2>&1); rc=$?
check "unknown flag exits 2 naming it" bash -c '[ "$1" -eq 2 ] && grep -q -- "--no-such-flag" <<<"$2"' _ "$rc" "$out"

# make install honours DESTDIR and PREFIX, and the unit runs the binary where it was put.
make -s -C "$ROOT" install DESTDIR="$TEST_TMP/root" PREFIX=/usr >/dev/null
check "make install puts binary, unit, defaults and dashboards under DESTDIR/PREFIX" bash -c '
	r=$1
	[ -x "$r/usr/sbin/sipwatch" ] && [ -f "$r/etc/default/sipwatch" ] &&
	[ -f "$r/usr/share/sipwatch/dashboards/sipwatch-overview.json" ] &&
	[ -f "$r/usr/share/sipwatch/dashboards/alerts.yml" ] &&
	grep -q "^ExecStart=/usr/sbin/sipwatch " "$r/lib/systemd/system/sipwatch.service"' _ "$TEST_TMP/root"

agent_start --log.level=debug || { echo "FAIL: agent starts"; exit 1; }
echo "PASS: agent starts and serves $(agent_url)"

body=$(scrape /metrics)
check "exposition passes promtool check metrics" bash -c 'promtool check metrics <<<"$1" 2>&1 | tee /dev/stderr | [ -z "$(cat)" ]' _ "$body"
check "content type is text format 0.0.4" bash -c \
	'ip netns exec "$1" curl -sI "$2" | grep -qi "^content-type: text/plain; version=0.0.4"' _ "$(ns_of pbx)" "$(agent_url)"
check "landing page links to the metrics" bash -c 'grep -q "href=\"/metrics\"" <<<"$1"' _ "$(scrape /)"
check "unknown path is 404" bash -c '[ "$(ip netns exec "$1" curl -s -o /dev/null -w "%{http_code}" "$2")" = 404 ]' _ "$(ns_of pbx)" "$(agent_url /nope)"
check "POST is 405" bash -c '[ "$(ip netns exec "$1" curl -s -X POST -o /dev/null -w "%{http_code}" "$2")" = 405 ]' _ "$(ns_of pbx)" "$(agent_url)"
check "build_info is 1" eq "$(metric sipwatch_build_info)" 1
check "every neigh probe is up" eq "$(metric sipwatch_probe_up 'probe="neigh_')" 6
check "process metrics present" gt "$(metric process_resident_memory_bytes)" 0

# Per-concern collector status, as node_exporter reports its collectors: every concern with a
# collect() says whether its last one succeeded and how long it took (issue 21 item 2).
COLLECTING="neigh sendq failfast tcp tcp_policy sip drops"
collector_line() { # BODY NAME CONCERN: the series' line, or nothing
	grep "^$2{concern=\"$3\"} " <<<"$1"
}
body=$(scrape /metrics)
for c in $COLLECTING; do
	check "collector $c reports success 1" [ "$(collector_line "$body" sipwatch_collector_success "$c")" = \
		"sipwatch_collector_success{concern=\"$c\"} 1" ]
	check "collector $c reports a duration >= 0" awk -v l="$(collector_line "$body" \
		sipwatch_collector_duration_seconds "$c")" 'BEGIN { n = split(l, f, " "); exit !(n == 2 && f[2] >= 0) }'
done
check "no concern reports a failed collect" bash -c \
	'! grep "^sipwatch_collector_success{" <<<"$1" | grep -qv " 1$"' _ "$body"

# Traffic between two other namespaces must not be counted by an agent observing pbx only.
in_host other1 ping -c 2 -i 0.2 -W 1 10.99.0.4 >/dev/null
sleep 0.5
check "other namespaces' neighbour churn not counted" eq "$(metric sipwatch_neigh_state_changes_total)" 0

in_host pbx ping -c 1 -W 1 10.99.0.2 >/dev/null
check "pinging a test host counts a transition into reachable" \
	wait_metric 5 sipwatch_neigh_state_changes_total 'ifname="eth0",family="ipv4",state="reachable"' ge 1
check "the same resolution went through incomplete first" \
	ge "$(metric sipwatch_neigh_state_changes_total 'family="ipv4",state="incomplete"')" 1
in_host pbx ping -6 -c 1 -W 1 fd99::2 >/dev/null
check "IPv6 (NDP) transitions counted" \
	wait_metric 5 sipwatch_neigh_state_changes_total 'family="ipv6",state="reachable"' ge 1

ids=$(agent_prog_ids "$AGENT_PID")
links=$(agent_link_ids "$AGENT_PID")
check "agent holds its BPF programs while running" [ -n "$ids" ]
check "agent holds its BPF links while running" [ -n "$links" ]
agent_stop; rc=$?
check "SIGTERM exits 0" [ "$rc" -eq 0 ]
# The kernel frees programs after an RCU grace period: poll (bounded) until none is left.
no_progs_left() { for id in $ids; do bpftool prog show id "$id" >/dev/null 2>&1 && return 1; done; return 0; }
check "no BPF program of sipwatch left after exit" wait_for 5 no_progs_left
no_links_left() { for id in $links; do bpftool link show id "$id" >/dev/null 2>&1 && return 1; done; return 0; }
check "no BPF link of sipwatch left after exit" wait_for 5 no_links_left

# A concern that could not start reports success 0 (its metrics are not being kept up to date):
# the keepalive policy asked for with its sockops program switched off cannot be attached, so
# tcp_policy's start() fails; the other concerns carry on and report 1.
agent_start --tcp.keepalive=60,10,3 --probe.disable=tcp_keepalive_policy ||
	{ echo "FAIL: agent starts with tcp_policy unable to start"; exit 1; }
echo "PASS: agent starts with one concern unable to start"
body=$(scrape /metrics)
check "the log says tcp_policy did not start" grep -q "tcp_policy: not started" "$AGENT_LOG"
check "a concern that did not start reports success 0" [ "$(collector_line "$body" \
	sipwatch_collector_success tcp_policy)" = 'sipwatch_collector_success{concern="tcp_policy"} 0' ]
check "... and still a duration" [ -n "$(collector_line "$body" sipwatch_collector_duration_seconds tcp_policy)" ]
check "the concerns that started report success 1" [ "$(collector_line "$body" \
	sipwatch_collector_success neigh)" = 'sipwatch_collector_success{concern="neigh"} 1' ]
agent_stop; rc=$?
check "SIGTERM exits 0 with a concern that did not start" [ "$rc" -eq 0 ]
