#!/usr/bin/env bash
# Who was hurt, against SIP stacks nobody here wrote: Kamailio (tests/integration/kamailio-harm.cfg)
# is the PBX (registrar and stateful proxy) in the pbx host, SIPp (tests/integration/sipp/*.xml)
# plays the phones, the callee, a trunk's registrar, and the PBX host registering to trunks. Every
# count sipwatch reports is compared with the stacks' own statistics: SIPp's statistics CSV
# (successful and failed calls, retransmissions, timeouts, response times), Kamailio's usrloc
# (kamcmd: contacts registered, contacts expired), and the drop counters of the nft rules that
# make the losses. Never with a number sipwatch produced itself.
#
# Scenarios: inbound registrations over UDP (every other REGISTER dropped, so SIPp retransmits)
# and TCP; outbound registrations from the PBX host to a trunk; calls (INVITE/ACK/BYE) through
# Kamailio over UDP and TCP, with their durations; REGISTERs to a trunk whose path drops
# everything (timeouts after 64xT1); refreshes answered 403 (lapse "rejected"); phones whose link
# is cut (lapse "neigh_failed", named in the neigh_failed incident); Kamailio's UDP socket blocked
# by its own INVITEs to a dead phone (retransmissions, 408s, lapses "send_stall" named in the
# stall incident); the per-peer fields of /peers. About 90 s.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sip_lib.sh"

SCEN=$ROOT/tests/integration/sipp
KAMCMD=(kamcmd -s tcp:127.0.0.1:2046)
m() { metric "$@"; }

command -v sipp >/dev/null || { echo "FAIL: sipp installed (Debian sip-tester, tests/deps.sh)"; exit 1; }

lan_up
host_add pbx 1
host_add phone 2
host_add callee 3
host_add dead1 4
host_add dead2 5
host_add trunk 6
host_add void 7
host_add dead3 8
host_add dead4 9
# The pbx's neighbour entries age fast, so a dead phone is found FAILED within seconds of the
# PBX's next ping to it.
in_host pbx sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=2000 \
	net.ipv4.neigh.eth0.delay_first_probe_time=1
# One dead peer may park more than Kamailio's whole send buffer (SO_SNDBUF = wmem_default, which a
# child namespace cannot change) in its unresolved queue: then Kamailio's INVITEs to one dead
# phone are enough to block its shared UDP socket (the send-stall scenario at the end).
in_host pbx sysctl -qw net.ipv4.neigh.eth0.unres_qlen_bytes=1048576

KAMAILIO_CFG=$ROOT/tests/integration/kamailio-harm.cfg kamailio_start
check "kamailio listens on 5060" wait_for 20 sip_listening || exit 1
agent_start --sip.ports=5060 --peers.idle-timeout=10m || { echo "FAIL: agent starts"; exit 1; }

# --- Ground-truth helpers ------------------------------------------------------------------------

# users NAME EXPIRES USER...: a SIPp -inf file (one line per call, in order): field0 the user,
# field1 EXPIRES (field2 = "EXPIRES" may be "first;refresh"); prints its path.
users() {
	local f=$TEST_TMP/$1.users e=$2
	shift 2
	{
		echo SEQUENTIAL
		for u in "$@"; do echo "$u;$e"; done
	} >"$f"
	echo "$f"
}

# SIPp with its statistics CSV in $TEST_TMP/NAME.csv (rewritten every second, and at the end) and
# its errors in NAME.err; every run is bounded by SIPp's -timeout and by timeout(1).
sipp_args() { echo -nostdin -trace_stat -stf "$TEST_TMP/$1.csv" -fd 1 -trace_err -error_file "$TEST_TMP/$1.err"; }
# SIPP_TIMEOUT (seconds) ends a run early, cleanly (SIPp's -timeout: final statistics written).
# sipp_fg NAME HOST ARGS...: run to the end; SIPp's exit status (0: every call succeeded).
sipp_fg() {
	local name=$1 host=$2 t=${SIPP_TIMEOUT:-90}
	shift 2
	# shellcheck disable=SC2046 # sipp_args is a list of words without spaces
	in_host "$host" timeout $((t + 10)) sipp "$@" $(sipp_args "$name") -timeout "${t}s" \
		>"$TEST_TMP/$name.out" 2>&1
}
# sipp_bg NAME HOST ARGS...: in the background, tracked; its PID in $BG_PID.
sipp_bg() {
	local name=$1 host=$2 t=${SIPP_TIMEOUT:-140}
	shift 2
	# shellcheck disable=SC2046
	host_bg "$host" timeout $((t + 10)) sipp "$@" $(sipp_args "$name") -timeout "${t}s" \
		>"$TEST_TMP/$name.out" 2>&1
}

# sipp_stat NAME COLUMN: COLUMN (e.g. "SuccessfulCall(C)", cumulative) of the last line of NAME's
# statistics; response times ("hh:mm:ss:uuuuuu") in seconds. Empty when there is no such file.
sipp_stat() {
	python3 - "$TEST_TMP/$1.csv" "$2" <<'EOF'
import sys
try:
    lines = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
except OSError:
    sys.exit(0)
head, last = lines[0].split(";"), lines[-1].split(";")
v = last[head.index(sys.argv[2])]
if v.count(":") == 3:
    h, m, s, us = (int(x) for x in v.split(":"))
    v = "%.6f" % (h * 3600 + m * 60 + s + us / 1e6)
print(v)
EOF
}

kam() { in_host pbx "${KAMCMD[@]}" "$@"; }
# kam_stat NAME: one usrloc statistic of Kamailio (location_contacts, location_expires, ...).
kam_stat() { kam stats.get_statistics "$1" | sed -n "s/^usrloc:$1 = //p"; }
# kam_aors: the addresses of record registered in Kamailio now, one a line, sorted.
kam_aors() { kam ul.dump | sed -n 's/^[[:space:]]*AoR: //p' | sort; }

# nft_drop HOST NAME RULE...: an nft table NAME in HOST whose input rule RULE ends in a counted
# drop; nft_dropped HOST NAME: that rule's packet count.
nft_drop() {
	local host=$1 name=$2
	shift 2
	in_host "$host" nft -f - <<EOF
table inet $name {
	chain input {
		type filter hook input priority 0; policy accept;
		$* counter drop
	}
}
EOF
}
nft_dropped() { in_host "$1" nft list table inet "$2" | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | head -1; }

TX='direction="tx"'
RX='direction="rx"'
txn() { m sipwatch_sip_transactions_total "$1,method=\"$2\",outcome=\"$3\""; } # DIR METHOD OUTCOME
retrans() { m sipwatch_sip_retransmissions_total "$1,method=\"$2\""; }         # DIR METHOD
regs() { m sipwatch_sip_registrations "direction=\"$1\",state=\"$2\""; }       # DIRECTION STATE
lapsed() { m sipwatch_sip_registrations_lapsed_total "direction=\"$1\",cause=\"$2\""; }
# eventually NAME SECONDS EXPECTED COMMAND...: PASS once COMMAND prints EXPECTED (the stack's
# number); the agent tallies transactions and registrations on its tick, so a bounded wait.
eventually() {
	local name=$1 secs=$2 want=$3
	shift 3
	local -a cmd=("$@")
	# no ground truth (a stack's statistic missing) is a failure, never a vacuous pass
	[[ $want =~ ^[0-9]+$ ]] || { echo "FAIL: $name: the stack's number is '$want'"; return 1; }
	# wait_for runs it within this call, so it sees cmd and want
	_eventually() { eq "$("${cmd[@]}")" "$want"; }
	check "$name" wait_for "$secs" _eventually
}
# between V LO HI: LO <= V <= HI (floats).
between() { ge "$1" "$2" && le "$1" "$3"; }

# --- Timeouts: the PBX host registers to a trunk whose path drops everything ---------------------
# Started first: the agent decides "timeout" 64xT1 = 32 s after each request. SIPp gives up after
# its own retransmissions (-max_non_invite_retrans 5: 0.5+1+2+4+4 s, within the 32 s), so both
# count each REGISTER once as timed out and every retransmission.
nft_drop void harm_void 'udp dport 5060'
VOID_CALLS=3
sipp_bg void pbx 10.99.0.7:5060 -sf "$SCEN/register.xml" -i 10.99.0.1 -p 5072 \
	-inf "$(users void 60 trunk-void1 trunk-void2 trunk-void3)" -m $VOID_CALLS -r 10 \
	-max_non_invite_retrans 5
void_pid=$BG_PID

# --- Outbound registrations: the PBX host (SIPp, port 5070) registers to a trunk's registrar -----
sipp_bg trunk trunk 10.99.0.1:5070 -sf "$SCEN/registrar.xml" -i 10.99.0.6 -p 5060 -m 3
trunk_pid=$BG_PID
check "outbound: SIPp registered 3 trunk accounts" sipp_fg outreg pbx 10.99.0.6:5060 \
	-sf "$SCEN/register.xml" -i 10.99.0.1 -p 5070 -r 10 -m 3 \
	-inf "$(users outreg 120 trunk-a trunk-b trunk-c)"
wait "$trunk_pid"
out_ok=$(sipp_stat outreg 'SuccessfulCall(C)')
echo "SIPp trunk registrations: $out_ok successful (registrar side: $(sipp_stat trunk 'SuccessfulCall(C)'))"
eventually "outbound registrations active = SIPp's successful REGISTERs ($out_ok)" 10 "$out_ok" \
	regs outbound active
eventually "tx REGISTER transactions 2xx = SIPp's successful REGISTERs" 10 "$out_ok" txn "$TX" register 2xx

# --- Inbound registrations over UDP, every other REGISTER dropped on the way into Kamailio --------
# The drop is in the pbx's netfilter input hook, after sipwatch's ingress hook has seen the packet:
# each dropped REGISTER is retransmitted by SIPp, and sipwatch sees both copies.
nft_drop pbx harm_reg 'udp dport 5060 @th,64,64 0x5245474953544552 numgen inc mod 2 == 0'
UDP_USERS=$(seq 2001 2010)
# shellcheck disable=SC2086
check "udp: SIPp registered 10 phones (through the drops)" sipp_fg reg_udp phone 10.99.0.1:5060 \
	-sf "$SCEN/register.xml" -i 10.99.0.2 -p 5070 -r 5 -m 10 -inf "$(users reg_udp 240 $UDP_USERS)"
reg_dropped=$(nft_dropped pbx harm_reg)
in_host pbx nft delete table inet harm_reg
udp_ok=$(sipp_stat reg_udp 'SuccessfulCall(C)')
udp_retrans=$(sipp_stat reg_udp 'Retransmissions(C)')
echo "SIPp UDP registrations: $udp_ok successful, $udp_retrans retransmissions; nft dropped $reg_dropped"
check "the drops made SIPp retransmit (nft's count = SIPp's)" \
	bash -c '[ "$1" -ge 1 ] && [ "$1" = "$2" ]' _ "$udp_retrans" "$reg_dropped"
eventually "rx REGISTER retransmissions = SIPp's ($udp_retrans)" 10 "$udp_retrans" retrans "$RX" register

# TCP: no retransmissions (reliable transport), one transaction per REGISTER.
# shellcheck disable=SC2086
check "tcp: SIPp registered 5 phones" sipp_fg reg_tcp phone 10.99.0.1:5060 -t t1 \
	-sf "$SCEN/register.xml" -i 10.99.0.2 -p 5071 -r 5 -m 5 -inf "$(users reg_tcp 240 $(seq 3001 3005))"
tcp_ok=$(sipp_stat reg_tcp 'SuccessfulCall(C)')
contacts=$(kam_stat location_contacts)
echo "SIPp TCP registrations: $tcp_ok successful; Kamailio usrloc contacts: $contacts"
eventually "inbound registrations active = Kamailio's usrloc contacts ($contacts)" 10 "$contacts" \
	regs inbound active
eventually "rx REGISTER transactions 2xx = SIPp's successful REGISTERs ($((udp_ok + tcp_ok)))" 10 \
	"$((udp_ok + tcp_ok))" txn "$RX" register 2xx
check "no REGISTER retransmission over TCP counted" eq "$(retrans "$RX" register)" "$udp_retrans"

# --- Calls through Kamailio: SIPp phone -> Kamailio -> SIPp callee, over UDP, then TCP ----------
# Each call is two INVITE and two BYE transactions for sipwatch: the phone's (rx, to Kamailio) and
# Kamailio's (tx, to the callee). The callee answers 200 ms after the INVITE.
# calls NAME TRANSPORT(u1|t1) PORT N: N calls; prints nothing, leaves NAME-uac/NAME-uas stats.
callee_listening() { in_host callee ss -Hlntu 'sport = :5060' | grep -q .; }
calls() {
	local name=$1 t=$2 port=$3 n=$4
	sipp_bg "$name-uas" callee -sf "$SCEN/uas_call.xml" -t "$t" -i 10.99.0.3 -p 5060 -m "$n"
	local uas=$BG_PID
	wait_for 5 callee_listening
	sipp_fg "$name-uac" phone 10.99.0.3:5060 -sf "$SCEN/uac_call.xml" -t "$t" -s callee \
		-rsa 10.99.0.1:5060 -i 10.99.0.2 -p "$port" -r 5 -m "$n"
	local rc=$?
	wait "$uas"
	return $rc
}
check "udp calls: SIPp placed 10 calls through Kamailio" calls call_udp u1 5074 10
check "tcp calls: SIPp placed 5 calls through Kamailio" calls call_tcp t1 5076 5
uac_ok=$(($(sipp_stat call_udp-uac 'SuccessfulCall(C)') + $(sipp_stat call_tcp-uac 'SuccessfulCall(C)')))
uas_ok=$(($(sipp_stat call_udp-uas 'SuccessfulCall(C)') + $(sipp_stat call_tcp-uas 'SuccessfulCall(C)')))
echo "SIPp calls: caller $uac_ok successful, callee $uas_ok successful"
eventually "rx INVITE 2xx = the caller's successful calls ($uac_ok)" 10 "$uac_ok" txn "$RX" invite 2xx
eventually "tx INVITE 2xx = the callee's successful calls ($uas_ok)" 10 "$uas_ok" txn "$TX" invite 2xx
eventually "rx BYE 2xx = the caller's successful calls" 10 "$uac_ok" txn "$RX" bye 2xx
eventually "tx BYE 2xx = the callee's successful calls" 10 "$uas_ok" txn "$TX" bye 2xx
check "no INVITE timed out or failed" eq \
	"$(($(m sipwatch_sip_transactions_total 'method="invite"') - $(txn "$RX" invite 2xx) - $(txn "$TX" invite 2xx)))" 0
hist() { m "sipwatch_sip_transaction_duration_seconds_$1" "$2,method=\"$3\""; } # SUFFIX DIR METHOD
check "rx INVITE durations observed once per call" eq "$(hist count "$RX" invite)" "$uac_ok"
check "tx INVITE durations observed once per call" eq "$(hist count "$TX" invite)" "$uas_ok"
# The mean INVITE time lies between the callee's 200 ms pause and what the caller measured (SIPp's
# mean INVITE -> 200 time, rtd): Kamailio's host sees each transaction start later and end earlier.
rtd_udp=$(sipp_stat call_udp-uac 'ResponseTime1(C)')
rtd_tcp=$(sipp_stat call_tcp-uac 'ResponseTime1(C)')
rtd_mean=$(awk -v a="$rtd_udp" -v b="$rtd_tcp" -v na="$(sipp_stat call_udp-uac 'SuccessfulCall(C)')" \
	-v nb="$(sipp_stat call_tcp-uac 'SuccessfulCall(C)')" 'BEGIN { printf "%.6f", (a * na + b * nb) / (na + nb) }')
mean_rx=$(awk -v s="$(hist sum "$RX" invite)" -v c="$(hist count "$RX" invite)" 'BEGIN { if (c) printf "%.6f", s / c }')
mean_tx=$(awk -v s="$(hist sum "$TX" invite)" -v c="$(hist count "$TX" invite)" 'BEGIN { if (c) printf "%.6f", s / c }')
echo "INVITE mean time: SIPp caller $rtd_mean s, sipwatch rx $mean_rx s, tx $mean_tx s"
check "rx INVITE mean time within [callee's 0.2 s pause, SIPp's mean + 5 ms]" \
	between "${mean_rx:-0}" 0.2 "$(awk -v r="$rtd_mean" 'BEGIN { print r + 0.005 }')"
check "tx INVITE mean time within [0.2 s, rx mean]" between "${mean_tx:-0}" 0.2 "${mean_rx:-0}"

# --- Lapses: refreshes answered 403, and phones whose link is cut --------------------------------
# refused*: registered for 6 s, refreshed after 3 s, refresh answered 403 by Kamailio; the
# registration runs out 3 s later. dead1/dead2: registered for 12 s from their own hosts, then
# their links go down; Kamailio's pings to them (every 2 s) find the next hop FAILED within ~8 s.
# dead3/dead4 die the same way but stay registered (120 s): the stall scenario calls them.
expires_before=$(kam_stat location_expires)
sipp_bg refused phone 10.99.0.1:5060 -sf "$SCEN/register_refused.xml" -i 10.99.0.2 -p 5078 \
	-d 3000 -r 10 -m 2 -inf "$(users refused 6 refused1 refused2)"
refused_pid=$BG_PID
for d in dead1:4:12 dead2:5:12 dead3:8:120 dead4:9:120; do
	IFS=: read -r name idx exp <<<"$d"
	check "$name: SIPp registered it" sipp_fg "reg_$name" "$name" 10.99.0.1:5060 \
		-sf "$SCEN/register.xml" -i "10.99.0.$idx" -p 5060 -m 1 -inf "$(users "$name" "$exp" "$name")"
done
for d in dead1 dead2 dead3 dead4; do in_host "$d" ip link set eth0 down; done
wait "$refused_pid"
refused_ok=$(sipp_stat refused 'SuccessfulCall(C)')
echo "SIPp refused refreshes (403 received): $refused_ok"
check "both refreshes were answered 403 (SIPp)" eq "$refused_ok" 2
gone() { ! kam_aors | grep -Eq '^(refused1|refused2|dead1|dead2)$'; }
check "Kamailio expired the refused and dead phones' contacts" wait_for 25 gone
expired=$(($(kam_stat location_expires) - expires_before))
echo "Kamailio usrloc contacts expired meanwhile: $expired"
check "Kamailio counted the 4 expiries (2 refused, 2 dead)" eq "$expired" 4
check "rx REGISTER 4xx = SIPp's 403s" eq "$(txn "$RX" register 4xx)" "$refused_ok"
eventually "lapsed rejected = SIPp's refused refreshes ($refused_ok)" 15 "$refused_ok" lapsed inbound rejected
eventually "lapsed neigh_failed = dead phones' contacts Kamailio expired (2)" 15 \
	"$((expired - refused_ok))" lapsed inbound neigh_failed
eventually "inbound lapses in all = Kamailio's expired contacts ($expired)" 15 "$expired" \
	m sipwatch_sip_registrations_lapsed_total 'direction="inbound"'
eventually "inbound registrations active = Kamailio's usrloc contacts again" 15 \
	"$(kam_stat location_contacts)" regs inbound active
check "the neigh_failed incident names dead1's address of record" \
	grep -Eq 'incident=neigh_failed .*10\.99\.0\.4.*dead1@' "$AGENT_LOG"
check "the neigh_failed incident names dead2's address of record" \
	grep -Eq 'incident=neigh_failed .*10\.99\.0\.5.*dead2@' "$AGENT_LOG"
check "a registration_lapsed incident says cause=neigh_failed for dead1" \
	grep -Eq 'incident=registration_lapsed .*dead1@.*cause=neigh_failed|incident=registration_lapsed .*cause=neigh_failed.*dead1@' "$AGENT_LOG"
check "a registration_lapsed incident says cause=rejected for refused1" \
	grep -Eq 'incident=registration_lapsed .*refused1@.*cause=rejected|incident=registration_lapsed .*cause=rejected.*refused1@' "$AGENT_LOG"

# --- A blocked PBX socket: Kamailio's INVITEs to a dead phone fill its UDP socket's send buffer ---
# A SIPp caller on the callee host calls dead3 (registered, link cut) 40 times a second for 10 s;
# Kamailio relays and retransmits each INVITE to it, the packets park in dead3's unresolved
# neighbour queue and hold the socket's buffer until the entry fails (3 s), again and again: every
# Kamailio process blocks in sendto. After 4 s without an answer Kamailio answers the caller 408. Meanwhile 6 phones (victim1..6, one a second) register for 5 s and refresh
# after 4 s. Whether a refresh's 200 came after its registration ran out is SIPp's own measure:
# the refresh's response time (rtd) against the 1 s left.
dead_failed() { in_host pbx ip neigh show 10.99.0.8 dev eth0 | grep -q FAILED; }
check "dead3's next hop is FAILED in the pbx (the next send parks)" wait_for 20 dead_failed
reg_retrans_before=$(retrans "$RX" register)
inv_retrans_before=$(retrans "$RX" invite)
stall_before=$(m sipwatch_sip_registrations_lapsed_total 'direction="inbound",cause="send_stall"')
expires_before=$(kam_stat location_expires)
SIPP_TIMEOUT=60 sipp_bg flood callee 10.99.0.1:5060 -sf "$SCEN/uac_unanswered.xml" -s dead3 \
	-i 10.99.0.3 -p 5082 -r 40 -m 400
flood_pid=$BG_PID
# the per-call response times (-trace_rtt) are written to the working directory
(cd "$TEST_TMP" && sipp_fg victims phone 10.99.0.1:5060 -sf "$SCEN/register_refresh.xml" \
	-i 10.99.0.2 -p 5080 -d 4000 -r 1 -m 6 -trace_rtt -rtt_freq 1 \
	-inf "$(users victims '5;120' victim1 victim2 victim3 victim4 victim5 victim6)")
echo "victims: $(sipp_stat victims 'SuccessfulCall(C)') refreshed, $(sipp_stat victims 'Retransmissions(C)') retransmissions"
# lapsed: refreshes answered more than 1 s after they were sent, or never; a 50 ms band either side
# is within the two clocks' disagreement (SIPp's on the phone, sipwatch's on the PBX)
read -r lapse_min lapse_max < <(awk -F';' -v failed="$(sipp_stat victims 'FailedCall(C)')" '
	FNR > 1 && $3 == 1 { n++; if ($2 > 1050) lo++; if ($2 > 950) hi++ }
	END { print lo + failed, (n || failed ? hi + failed : -1) }' "$TEST_TMP"/register_refresh_*_rtt.csv)
echo "victims whose refresh came after their registration ran out (SIPp's rtd): $lapse_min..$lapse_max"
# the registrar's view, to the second (Kamailio's expiry times are whole seconds): shown, not checked
echo "victims' contacts Kamailio expired meanwhile: $(($(kam_stat location_expires) - expires_before))"
wait "$flood_pid"
flood_408=$(sipp_stat flood 'SuccessfulCall(C)')
echo "caller to dead3: $flood_408 calls answered 408 by Kamailio, $(sipp_stat flood 'FailedCall(C)') failed"
check "the stall held at least one victim's refresh past its expiry (SIPp)" ge "${lapse_min:-0}" 1
stall_lapses() {
	local n
	n=$(($(m sipwatch_sip_registrations_lapsed_total 'direction="inbound",cause="send_stall"') - stall_before))
	between "$n" "$lapse_min" "$lapse_max"
}
check "lapsed send_stall = victims SIPp saw answered too late ($lapse_min..$lapse_max)" wait_for 15 stall_lapses
check "rx REGISTER retransmissions during the stall = the victims' (SIPp)" \
	eq "$(($(retrans "$RX" register) - reg_retrans_before))" "$(sipp_stat victims 'Retransmissions(C)')"
check "rx INVITE retransmissions during the stall = the caller's (SIPp)" \
	eq "$(($(retrans "$RX" invite) - inv_retrans_before))" "$(sipp_stat flood 'Retransmissions(C)')"
check "a send_stall incident names the victims' host among the peers hurt" \
	grep -Eq 'incident=send_stall .*10\.99\.0\.2([^0-9]|$)' "$AGENT_LOG"
check "a send_stall incident counts registrations lapsed because of it" \
	grep -Eq 'incident=send_stall .*lapsed[a-z_]*=[1-9]' "$AGENT_LOG"
eventually "rx INVITE 408s = the 408s SIPp's caller got ($flood_408)" 10 "$flood_408" \
	m sipwatch_sip_final_responses_total "$RX,method=\"invite\",code=\"408\""

# --- Timeouts (started first) ---------------------------------------------------------------------
wait "$void_pid"
void_to=$(sipp_stat void 'FailedMaxUDPRetrans(C)')
void_retrans=$(sipp_stat void 'Retransmissions(C)')
void_dropped=$(nft_dropped void harm_void)
echo "SIPp to the dropped trunk: $void_to timed out, $void_retrans retransmissions; nft dropped $void_dropped"
check "every REGISTER to the dropped trunk timed out in SIPp" eq "$void_to" "$VOID_CALLS"
check "nft dropped SIPp's requests and retransmissions" eq "$void_dropped" "$((VOID_CALLS + void_retrans))"
eventually "tx REGISTER timeouts = SIPp's ($void_to)" 40 "$void_to" txn "$TX" register timeout
# Each of those REGISTERs was the first for its account and never answered: a registration that
# never happened lapses at once, one per SIPp timeout, as unanswered unless a kernel cause showed
# in its window (the stall scenario runs meanwhile).
outbound_lapses() {
	local sum=0 cause v
	for cause in unanswered send_stall neigh_failed tcp_timeout rejected silent; do
		v=$(lapsed outbound "$cause")
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}
eventually "outbound lapses = SIPp's timed-out REGISTERs ($void_to)" 10 "$void_to" outbound_lapses
echo "outbound lapses by cause: unanswered=$(lapsed outbound unanswered) send_stall=$(lapsed outbound send_stall) silent=$(lapsed outbound silent)"
# This host's REGISTERs repeated (to the trunks), and its 200s repeated: Kamailio answers every copy
# of a victim's REGISTER it finally reads after the stall, so each copy SIPp retransmitted comes
# back as a response seen again.
check "tx REGISTER retransmissions = SIPp's to the trunks + the victims' answered again" \
	eq "$(retrans "$TX" register)" \
	"$((void_retrans + $(sipp_stat outreg 'Retransmissions(C)') + $(sipp_stat victims 'Retransmissions(C)')))"

# Per peer (/peers): the dropped trunk's unanswered transactions and retransmissions are SIPp's,
# the live trunk holds SIPp's 3 registrations, answered 200; each dead phone lost its one.
check "/peers 10.99.0.7: unanswered and retransmissions = SIPp's ($void_to, $void_retrans)" \
	[ "$(peer_fields 10.99.0.7 unanswered_transactions retransmissions)" = "$void_to $void_retrans" ]
check "/peers 10.99.0.6: registrations = SIPp's successful ($out_ok), last final 200" \
	[ "$(peer_fields 10.99.0.6 registrations last_final_code)" = "$out_ok 200" ]
check "/peers dead1, dead2: one registration lapsed each (Kamailio expired them)" \
	[ "$(peer_fields 10.99.0.4 registrations_lapsed) $(peer_fields 10.99.0.5 registrations_lapsed)" = "1 1" ]

scrape /metrics >"$TEST_TMP/final.prom" # for the failure report
check "exposition passes promtool check metrics" \
	bash -c 'promtool check metrics <<<"$1" 2>&1 | tee /dev/stderr | [ -z "$(cat)" ]' _ "$(scrape /metrics)"
agent_stop
check "agent exits 0" [ $? -eq 0 ]
kamailio_stop
