#!/usr/bin/env bash
# SIP scenario helpers (source after lib.sh): Kamailio in the pbx host with
# tests/integration/kamailio.cfg (or the file $KAMAILIO_CFG names), started and stopped by its PID
# (stopped on exit by lan_cleanup), and the SIP test client.
CLIENT="python3 $ROOT/tests/integration/sip_client.py"
KAMAILIO_PID=

# kamailio_start: in the background; its log appended to $TEST_TMP/kamailio.log.
kamailio_start() {
	mkdir -p "$TEST_TMP/kamailio"
	ip netns exec "$(ns_of pbx)" kamailio -DD -E -f "${KAMAILIO_CFG:-$ROOT/tests/integration/kamailio.cfg}" \
		-P "$TEST_TMP/kamailio/pid" -Y "$TEST_TMP/kamailio" -w "$TEST_TMP/kamailio" \
		>>"$TEST_TMP/kamailio.log" 2>&1 &
	KAMAILIO_PID=$!
	bg_track "$KAMAILIO_PID"
}

kamailio_stop() {
	pid_stop "$KAMAILIO_PID"
	KAMAILIO_PID=
}

# Something (Kamailio) listens on the pbx host's SIP port, UDP or TCP.
sip_listening() { in_host pbx ss -Hlntu | grep -q ':5060 '; }
