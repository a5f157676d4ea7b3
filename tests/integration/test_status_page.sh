#!/usr/bin/env bash
# The status page at "/" in a real browser (headless Chromium) while two SIP phones are dead and the
# PBX's SIP socket stalled on them: the page's script fetches /metrics, /incidents and /peers, and
# the dead peers show up in the incident list and the unreachable-peer table, next to the stall.
# The screenshot is kept in $BUILD/artifacts/status-page.png.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sip_hello.sh"

ARTIFACTS=$ROOT/$BUILD/artifacts
mkdir -p "$ARTIFACTS"
if ! command -v chromium >/dev/null; then
	echo "FAIL: chromium is not installed (tests/deps.sh installs it)"
	exit 1
fi

lan_up
host_add pbx 1
host_add phone 2
host_add dead1 3
host_add dead2 4
agent_start --sip.ports=5060 || { echo "FAIL: agent starts"; exit 1; }

# First every phone talks SIP to the PBX, as registered phones do: the agent's peer table learns them.
sip_hello 1 phone:2 dead1:3 dead2:4
# Two phones that crashed: their links are down, so nobody answers ARP for 10.99.0.3 and .4. The
# PBX's shared, blocking SIP socket sends to them and to a live phone: it stalls (~3 s).
in_host dead1 ip link set eth0 down
in_host dead2 ip link set eth0 down
in_host pbx "$TOOLS/udp_burst" --count 150 --size 1200 --src-port 5060 --deadline 20 \
	10.99.0.3:5060 10.99.0.4:5060 10.99.0.2:5060 >/dev/null
dead_peer_incident() { scrape '/incidents?kind=neigh_failed' | grep -q '"address":"10.99.0.3"'; }
check "the dead phone's resolution failure is an incident" wait_for 15 dead_peer_incident
stall_incident() { scrape '/incidents?kind=send_stall' | grep -q '"port":"5060"'; }
check "the stall is an incident" wait_for 15 stall_incident

# Chromium, inside the PBX namespace (the agent listens on its loopback). The virtual-time budget
# lets the page's script run its fetches and render before the DOM is dumped.
browser() {
	in_host pbx timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--disable-background-networking --disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$TEST_TMP/chromium" --virtual-time-budget=10000 --window-size=1280,1000 \
		"$@" "$(agent_url /)" 2>>"$TEST_TMP/chromium.log"
}
dom=$(browser --dump-dom)
printf '%s\n' "$dom" >"$TEST_TMP/dom.html"
# One row of the incident table, as the script built it: a <tr data-kind="neigh_failed"> naming the peer.
incident_row=$(grep -o '<tr data-kind="neigh_failed">.*' <<<"$dom" | sed 's|</tr>.*||')
check "the page's script ran and rendered the incident table" grep -q '<tr data-kind=' <<<"$dom"
check "the dead peer appears in the incident list" grep -q '10\.99\.0\.3' <<<"$incident_row"
check "the stall appears in the incident list" grep -q '<tr data-kind="send_stall">' <<<"$dom"
check "the dead peers are listed as unreachable" bash -c \
	'grep -q "class=\"unreachable-peer\" data-peer=\"10.99.0.3\"" <<<"$1" && grep -q "class=\"unreachable-peer\" data-peer=\"10.99.0.4\"" <<<"$1"' _ "$dom"
check "the live phone is not listed as unreachable" bash -c '! grep -q "data-peer=\"10.99.0.2\"" <<<"$1"' _ "$dom"
check "probes rendered from /metrics, all up" \
	bash -c 'grep -q "class=\"chip up\" data-probe=\"neigh_update\"" <<<"$1" && ! grep -q "chip down" <<<"$1"' _ "$dom"
check "agent health rendered (version from build_info)" grep -q "$("$SIPWATCH" --version | awk '{print $2}')" <<<"$dom"
# 10 s of virtual time at one refresh every 2 s: several redraws in place, no reload.
check "the page refreshed itself in place" \
	ge "$(grep -o 'data-refreshes="[0-9]*"' <<<"$dom" | tr -dc 0-9)" 3
check "no error banner (every fetch answered)" grep -q '<div id="error"></div>\|<div id="error" style="display: none;">' <<<"$dom"

rm -f "$ARTIFACTS/status-page.png"
browser --screenshot="$ARTIFACTS/status-page.png" >/dev/null
check "screenshot taken ($ARTIFACTS/status-page.png)" \
	bash -c 'head -c 8 "$1" | od -An -tx1 | grep -q "89 50 4e 47" && [ "$(stat -c %s "$1")" -gt 10000 ]' _ "$ARTIFACTS/status-page.png"
