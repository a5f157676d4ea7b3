#!/usr/bin/env bash
# Attachment and lifecycle (issue 17, items 1-6): sipwatch must never be what hurts the host.
# - The default ingress hook never reconfigures a device (no XDP unless --xdp.mode asks).
# - A taken port or a bad certificate ends the start before anything is loaded or attached; the
#   systemd unit stops retrying such a start.
# - SIGKILL, 50 times with every hook attached, leaves no hook, program or link: the kernel owns
#   them through links. Where links are missing (forced here with SIPWATCH_LEGACY_HOOKS=1, as on
#   kernels without tcx), the next start removes what the killed agent left, and logs it.
# - A SIGTERM in the middle of start-up is a clean stop; SIGHUP is logged and ignored.
# - Another tool's XDP program and tc filter on the same interface survive sipwatch's start, stop
#   and kill, including a filter added to the clsact qdisc sipwatch created.
# - sipwatch doctor's trial start, interrupted by SIGINT while its hooks are attached, leaves
#   nothing.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
host_add phone 2
PBX=$(ns_of pbx)

# --- helpers -----------------------------------------------------------------------------------
xdp_on() { ip -n "$PBX" -d link show dev eth0 | grep -o 'prog/xdp id [0-9]* name [a-z_]*'; }
xdp_mode_on() { ip -n "$PBX" link show dev eth0 | grep -o 'xdp[a-z]*' | head -1; }
filters_on() { # every tc filter on pbx/eth0, both directions
	for dir in ingress egress; do ip netns exec "$PBX" tc filter show dev eth0 "$dir"; done
}
sip_filters() { filters_on | grep -c 'name sip_tc_'; }
clsact_on() { ip netns exec "$PBX" tc qdisc show dev eth0 | grep -c clsact; }
# Programs and links an agent process holds (its fds' fdinfo).
held_progs() { agent_prog_ids "$1" | tr '\n' ' '; }
held_links() { agent_link_ids "$1" | tr '\n' ' '; }
none_left() { # KIND IDS...: none of these BPF objects exists any more
	local kind=$1 id
	shift
	for id in "$@"; do bpftool "$kind" show id "$id" >/dev/null 2>&1 && { echo "$kind $id still exists" >&2; return 1; }; done
	return 0
}
cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
cgroup_progs() { bpftool cgroup tree "$cg2" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ { print $1 }' | sort -u; }
in_cgroups() { # IDS...: which of these program ids are attached to a cgroup
	local attached id
	attached=$(cgroup_progs)
	for id in "$@"; do grep -qx "$id" <<<"$attached" && echo "$id"; done
}
# sipwatch_log_lines PATTERN: lines of the agent log matching PATTERN
log_has() { grep -q -- "$1" "$AGENT_LOG"; }
# agent_start with a finer poll (the 50-cycle loop's time is mostly waiting for starts).
agent_start_quick() {
	AGENT_NS=pbx
	: >"$AGENT_LOG" # here, not in the child: the poll below must not read the last agent's log
	ip netns exec "$PBX" "$SIPWATCH" "$@" >"$AGENT_LOG" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 1 400); do
		grep -q "sipwatch ready" "$AGENT_LOG" && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$AGENT_LOG" >&2
	return 1
}
agent_kill() { # SIGKILL the agent, reap it
	kill -KILL "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

# Another tool's programs, built here: an XDP program and a tc (cls_bpf) program that pass.
cat >"$TEST_TMP/other.c" <<'EOF'
__attribute__((section("xdp"), used)) int other_xdp(void *ctx) { return 2; /* XDP_PASS */ }
__attribute__((section("tc"), used)) int other_tc(void *ctx) { return -1; /* TC_ACT_UNSPEC */ }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -target bpf -c "$TEST_TMP/other.c" -o "$TEST_TMP/other.o" ||
	{ echo "FAIL: cannot build the other tool's BPF object"; exit 1; }
other_xdp_add() { ip -n "$PBX" ${1:-} link set dev eth0 xdpgeneric obj "$TEST_TMP/other.o" sec xdp; }
other_xdp_id() { xdp_on | sed -n 's/prog\/xdp id \([0-9]*\) name other_xdp/\1/p'; }
other_tc_add() { # DIR: a cls_bpf filter of the other tool at priority 7 (clsact made if missing)
	ip netns exec "$PBX" tc qdisc add dev eth0 clsact 2>/dev/null
	ip netns exec "$PBX" tc filter add dev eth0 "$1" pref 7 bpf da obj "$TEST_TMP/other.o" sec tc
}
other_tc_id() { filters_on | sed -n 's/.* id \([0-9]*\) name other_tc .*/\1/p'; }

# --- 1. the default ingress hook never reconfigures a device ----------------------------------
check "--help says native XDP resets NIC queues and what the default is" \
	bash -c '"$1" --help | grep -- "--xdp.mode" | grep "never reconfigures the device.*native: driver XDP.*resets the NIC.s queues" >/dev/null' _ "$SIPWATCH"
agent_start || { echo "FAIL: agent starts"; exit 1; }
check "default: no XDP program on the interface (neither driver nor generic)" [ -z "$(xdp_on)" ]
check "default: ingress through tc (tc_ingress probe up, no xdp probe)" \
	[ "$(metric sipwatch_probe_up 'probe="tc_ingress:eth0"') $(scrape | grep -c 'probe="xdp:')" = "1 0" ]
in_host phone timeout 5 python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3): s.sendto(b"OPTIONS sip:pbx SIP/2.0\r\n\r\n", ("10.99.0.1", 5060))'
check "default: tc ingress counts SIP (3 OPTIONS in)" \
	wait_metric 5 sipwatch_sip_requests_total 'direction="rx",method="options"' eq 3
agent_stop
agent_start --xdp.mode=native || { echo "FAIL: agent starts with --xdp.mode=native"; exit 1; }
check "--xdp.mode=native: driver XDP only when asked for" [ "$(xdp_mode_on) $(metric sipwatch_probe_up 'probe="xdp:eth0"')" = "xdp 1" ]
agent_stop

# --- 6. SIGHUP is logged and ignored ------------------------------------------------------------
agent_start || { echo "FAIL: agent starts"; exit 1; }
kill -HUP "$AGENT_PID"
check "SIGHUP: logged as ignored" wait_for 5 log_has "received SIGHUP: ignored"
check "SIGHUP: --help says it is ignored" bash -c '"$1" --help | grep "SIGHUP: logged and ignored" >/dev/null' _ "$SIPWATCH"
check "SIGHUP: the agent still runs and serves" bash -c 'kill -0 "$1" && ip netns exec "$2" curl -sf --max-time 5 -o /dev/null "$3"' _ "$AGENT_PID" "$PBX" "$(agent_url)"
agent_stop; rc=$?
check "SIGHUP: a later SIGTERM still stops it cleanly (exit 0)" [ "$rc" -eq 0 ]

# --- 2. a failed start touches nothing ----------------------------------------------------------
# strace records every bpf(2) command: nothing may be loaded (BPF_PROG_LOAD), let alone attached.
no_bpf_start() { # NAME ARGS...: the agent under strace exits 1 or 2 without loading a program
	local name=$1 rc
	shift
	in_host pbx timeout 30 strace -f -qq -e trace=bpf -o "$TEST_TMP/$name.strace" \
		"$SIPWATCH" "$@" >"$TEST_TMP/$name.log" 2>&1
	rc=$?
	echo "$name: exit $rc, bpf(2) calls: $(grep -c 'bpf(' "$TEST_TMP/$name.strace")," \
		"program loads/attaches: $(grep -c 'BPF_PROG_LOAD\|BPF_LINK_CREATE\|BPF_PROG_ATTACH' "$TEST_TMP/$name.strace")"
	{ [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } &&
		! grep -q 'BPF_PROG_LOAD\|BPF_LINK_CREATE\|BPF_PROG_ATTACH' "$TEST_TMP/$name.strace"
}
host_bg pbx timeout 60 python3 -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 9060)); s.listen(1); time.sleep(60)'
squatter=$BG_PID
wait_for 5 in_host pbx bash -c 'ss -Hltn "sport = :9060" | grep -q .'
hooks_before=$(xdp_on; filters_on; clsact_on)
check "port taken: exit 1 or 2, no BPF program loaded or attached" no_bpf_start port_taken
check "port taken: says why" grep -q "cannot listen on" "$TEST_TMP/port_taken.log"
check "port taken: the interface is as it was" [ "$(xdp_on; filters_on; clsact_on)" = "$hooks_before" ]
pid_stop "$squatter"
# A certificate whose key is another certificate's: TLS cannot start.
for n in a b; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$n" -keyout "$TEST_TMP/key_$n.pem" \
		-out "$TEST_TMP/cert_$n.pem" 2>/dev/null
done
printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\n' "$TEST_TMP/cert_a.pem" "$TEST_TMP/key_b.pem" \
	>"$TEST_TMP/bad_web.yml"
check "certificate and key that do not match: exit 1 or 2, no BPF program loaded" \
	no_bpf_start bad_cert --web.config.file="$TEST_TMP/bad_web.yml"
# The unit stops retrying a start that keeps failing: more failed starts than the burst fit into
# the interval at RestartSec apart, and bad flags (exit 2) are not retried at all.
UNIT=$ROOT/agent/sipwatch.service
unit_val() { sed -n "s/^$1=//p" "$UNIT"; }
secs() { local v=$1; case "$v" in *min) echo $((${v%min} * 60)) ;; *s) echo "${v%s}" ;; *) echo "$v" ;; esac; }
burst=$(unit_val StartLimitBurst)
interval=$(secs "$(unit_val StartLimitIntervalSec)")
restart=$(secs "$(unit_val RestartSec)")
echo "unit: StartLimitBurst=$burst StartLimitIntervalSec=${interval}s RestartSec=${restart}s"
check "systemd unit: a start limit in [Unit] that a failing start reaches (burst x RestartSec < interval)" \
	bash -c '[ -n "$1" ] && [ -n "$2" ] && [ "$(($1 * $3))" -lt "$2" ] &&
		sed -n "/^\[Unit\]/,/^\[/p" "$4" | grep -q "^StartLimitBurst="' _ "$burst" "$interval" "$restart" "$UNIT"
check "systemd unit: exit 2 (bad flags) is not restarted" grep -q '^RestartPreventExitStatus=2$' "$UNIT"

# --- 3. a SIGTERM during start-up is a clean stop -----------------------------------------------
term_ok=0
for i in 1 2 3 4 5; do
	ip netns exec "$PBX" "$SIPWATCH" --log.level=debug >"$AGENT_LOG" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 1 500); do log_has "starting" && break; sleep 0.01; done
	sleep "0.$((i - 1))"
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	rc=$?
	AGENT_PID=
	if [ "$rc" -eq 0 ] && log_has "shutting down" && [ -z "$(xdp_on)" ] && [ "$(sip_filters)" = 0 ]; then
		term_ok=$((term_ok + 1))
	else
		echo "SIGTERM at start-up, run $i: exit $rc; $(grep -c 'probe attached' "$AGENT_LOG") probes had attached" >&2
	fi
done
check "SIGTERM 0-0.4 s into start-up, 5 runs: each a clean stop (exit 0), nothing left" [ "$term_ok" -eq 5 ]

# --- 4. another tool's XDP program and tc filter survive ----------------------------------------
other_xdp_add || { echo "FAIL: the other tool's XDP program attaches"; exit 1; }
other_tc_add ingress || { echo "FAIL: the other tool's tc filter attaches"; exit 1; }
oxdp=$(other_xdp_id)
otc=$(other_tc_id)
echo "other tool: XDP program $oxdp, tc filter program $otc"
others_intact() { [ -n "$oxdp" ] && [ "$(other_xdp_id)" = "$oxdp" ] && [ "$(other_tc_id)" = "$otc" ]; }
for mode in auto generic native; do
	agent_start --xdp.mode=$mode || { echo "FAIL: agent starts (--xdp.mode=$mode)"; continue; }
	check "--xdp.mode=$mode next to another tool's XDP: sipwatch sees ingress through tc instead" \
		[ "$(metric sipwatch_probe_up 'probe="tc_ingress:eth0"')" = 1 ]
	check "--xdp.mode=$mode: the other tool's XDP program and tc filter survive the start" others_intact
	agent_stop
	check "--xdp.mode=$mode: ... and the stop" others_intact
	agent_start --xdp.mode=$mode >/dev/null || continue
	agent_kill
	check "--xdp.mode=$mode: ... and a SIGKILL" others_intact
done
# The other tool adds its filter after sipwatch made the clsact qdisc (tc filters: legacy hooks).
ip -n "$PBX" link set dev eth0 xdpgeneric off
ip netns exec "$PBX" tc qdisc del dev eth0 clsact
SIPWATCH_LEGACY_HOOKS=1 agent_start || { echo "FAIL: agent starts with legacy hooks"; exit 1; }
check "legacy hooks: sipwatch made the clsact qdisc for its tc filters" [ "$(clsact_on) $(sip_filters)" = "1 2" ]
other_tc_add egress
otc=$(other_tc_id)
agent_stop
check "legacy hooks: stop removes sipwatch's filters, keeps the qdisc holding the other tool's" \
	[ "$(sip_filters) $(clsact_on) $(other_tc_id)" = "0 1 $otc" ]
# sipwatch's netlink XDP replaced by another tool's (ip -force): sipwatch's stop leaves it.
ip netns exec "$PBX" tc qdisc del dev eth0 clsact
SIPWATCH_LEGACY_HOOKS=1 agent_start --xdp.mode=generic || { echo "FAIL: agent starts"; exit 1; }
check "legacy hooks: sipwatch's XDP attached through netlink" bash -c 'grep -q "name sip_xdp" <<<"$1"' _ "$(xdp_on)"
other_xdp_add -force
oxdp=$(other_xdp_id)
agent_stop
check "legacy hooks: the XDP program that replaced sipwatch's survives sipwatch's stop" \
	[ -n "$oxdp" ] && [ "$(other_xdp_id)" = "$oxdp" ]
ip -n "$PBX" link set dev eth0 xdpgeneric off
check "legacy hooks: sipwatch's stop removed its filters and the qdisc it made (nothing else there)" \
	[ "$(sip_filters) $(clsact_on)" = "0 0" ]

# --- 3. 50 x SIGKILL with every hook attached ---------------------------------------------------
# Every hook: tc/tcx ingress and egress (XDP ingress every other cycle), neighbour and TCP
# tracepoints, iterators, the fail-fast cgroup program, the keepalive policy's sockops.
other_tc_add ingress
otc=$(other_tc_id)
extra=()
help=$("$SIPWATCH" --help) # not "--help | grep -q": with pipefail, grep's early exit is a failure
grep -q -- '--neigh.refresh=' <<<"$help" && extra+=(--neigh.refresh=managed)
grep -q -- '--neigh.fail-fast' <<<"$help" && extra+=(--neigh.fail-fast)
grep -q -- '--tcp.keepalive=' <<<"$help" && extra+=(--tcp.keepalive=60,10,3)
prog_ids=
link_ids=
link_counts=
kills=0
t0=$(date +%s)
for i in $(seq 1 50); do
	mode=auto
	[ $((i % 2)) -eq 0 ] && mode=generic
	agent_start_quick "${extra[@]}" --xdp.mode=$mode || { echo "cycle $i: agent did not start" >&2; break; }
	[ "$i" -eq 1 ] && echo "cycle 1 probes up: $(metric sipwatch_probe_up) ($(scrape | grep -c '^sipwatch_probe_up{.*} 0$') down)"
	held=$(cat /proc/"$AGENT_PID"/fdinfo/* 2>/dev/null)
	prog_ids+=" $(sed -n 's/^prog_id:[[:space:]]*//p' <<<"$held" | sort -un | tr '\n' ' ')"
	links=$(sed -n 's/^link_id:[[:space:]]*//p' <<<"$held" | sort -un | tr '\n' ' ')
	link_ids+=" $links"
	link_counts+=" $(wc -w <<<"$links")"
	agent_kill
	kills=$i
done
echo "50 SIGKILL cycles in $(($(date +%s) - t0)) s: $(wc -w <<<"$prog_ids") programs, $(wc -w <<<"$link_ids") links held"
check "50 starts, each SIGKILLed with every hook attached (flags: ${extra[*]})" [ "$kills" -eq 50 ]
echo "links held by each agent when killed: $link_counts"
# Same flags, same links: each agent of a mode held as many as the first of that mode (tc hooks
# are links only where the kernel has tcx, so the two modes differ by one on 6.1).
check "... each killed with all its hooks attached: every agent held as many links (tracepoints, iterators, cgroup, tcx/XDP) as the first of its --xdp.mode" \
	bash -c 'set -- $1; a=$1; b=$2; [ "$a" -ge 10 ] && [ "$b" -ge 10 ] || exit 1
		while [ $# -ge 2 ]; do [ "$1 $2" = "$a $b" ] || exit 1; shift 2; done' _ "$link_counts"
# A kernel without tcx (before 6.6) keeps the last agent's tc filters (every other start removed
# its predecessor's): the next start must remove them, and say so.
left="$(xdp_on | grep -c sip_xdp) $(sip_filters)"
echo "left on eth0 by the last killed agent (XDP, tc filters): $left"
agent_start || echo "agent did not start after the kills" >&2
removed="$(grep -c 'removed XDP program id' "$AGENT_LOG") $(grep -c 'removed tc filter' "$AGENT_LOG")"
agent_stop
check "the 50th agent's hooks: none left, or the next start removed exactly those (logged)" [ "$removed" = "$left" ]
check "no BPF link of the 50 killed agents left" wait_for 10 none_left link $link_ids
check "no BPF program of the 50 killed agents left (none attached anywhere)" wait_for 10 none_left prog $prog_ids
check "no XDP program on the interface" [ -z "$(xdp_on)" ]
check "no sipwatch tc filter on the interface" [ "$(sip_filters)" = 0 ]
check "none of their programs on a cgroup (bpftool cgroup tree)" [ -z "$(in_cgroups $prog_ids)" ]
check "the other tool's tc filter survived the 50 kills" [ "$(other_tc_id)" = "$otc" ]
hooks_left() { # every XDP program and tc filter on every test interface
	local h dev
	for h in pbx phone br; do
		for dev in $(ip -n "$(ns_of "$h")" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
			ip -n "$(ns_of "$h")" -d link show dev "$dev" | grep -o 'prog/xdp id [0-9]* name sip_[a-z_]*'
			for dir in ingress egress; do ip netns exec "$(ns_of "$h")" tc filter show dev "$dev" "$dir" 2>/dev/null; done
		done
	done | grep 'sip_'
}
check "nothing of sipwatch's on any test interface" [ -z "$(hooks_left)" ]

# --- 3. where the kernel has no link: the next start removes what a killed agent left ---------
# Odd runs: generic XDP ingress + tc egress filter; even runs: tc ingress + egress filters.
legacy_ok=0
want_xdp=0
want_filters=0
for i in 1 2 3 4 5 6; do
	mode=auto
	[ $((i % 2)) -eq 1 ] && mode=generic
	SIPWATCH_LEGACY_HOOKS=1 agent_start --xdp.mode=$mode || break
	removed="$(grep -c 'removed XDP program id' "$AGENT_LOG") $(grep -c 'removed tc filter' "$AGENT_LOG")"
	if [ "$removed" != "$want_xdp $want_filters" ]; then
		echo "legacy run $i: removed (XDP, filters) $removed, expected $want_xdp $want_filters" >&2
		break
	fi
	# exactly one set: the new agent's, the other tool's filter beside it
	want_xdp=$((i % 2))
	want_filters=$((2 - i % 2))
	now="$(xdp_on | grep -c sip_xdp) $(sip_filters) $(other_tc_id)"
	[ "$now" = "$want_xdp $want_filters $otc" ] || { echo "legacy run $i: attached $now" >&2; break; }
	agent_kill
	# what a kernel without links keeps after SIGKILL, for the next start to remove
	[ "$(xdp_on | grep -c sip_xdp) $(sip_filters)" = "$want_xdp $want_filters" ] ||
		{ echo "legacy run $i: nothing left after SIGKILL?" >&2; break; }
	legacy_ok=$i
done
agent_stop >/dev/null # when a run above broke off
check "legacy hooks, 6 x SIGKILL: each next start removed the killed agent's XDP program and tc filters, logged, no pile-up" [ "$legacy_ok" -eq 6 ]
SIPWATCH_LEGACY_HOOKS=1 agent_start >/dev/null || echo "agent did not start" >&2
agent_stop
check "legacy hooks: a last start + stop leaves no sipwatch XDP or filter, the other tool's filter stays" \
	[ "$(xdp_on | grep -c sip_xdp) $(sip_filters) $(other_tc_id)" = "0 0 $otc" ]
# The same clean-up as the systemd unit runs it: an unprivileged user with only CAP_BPF,
# CAP_PERFMON and CAP_NET_ADMIN (no CAP_SYS_ADMIN: programs are not looked up by id).
as_unit_user=$TEST_TMP/as-unit-user
printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs --inh-caps=-all,%s --ambient-caps=-all,%s --bounding-set=-all,%s %s "$@"\n' \
	+bpf,+perfmon,+net_admin +bpf,+perfmon,+net_admin +bpf,+perfmon,+net_admin "$SIPWATCH" >"$as_unit_user"
chmod 755 "$as_unit_user"
SIPWATCH_LEGACY_HOOKS=1 SIPWATCH=$as_unit_user agent_start || echo "agent did not start as the unit's user" >&2
agent_kill
left=$(sip_filters)
SIPWATCH_LEGACY_HOOKS=1 SIPWATCH=$as_unit_user agent_start || echo "agent did not start as the unit's user" >&2
check "as the unit's user (3 capabilities): the next start removed the killed agent's $left tc filters (logged)" \
	[ "$left $(grep -c 'removed tc filter' "$AGENT_LOG") $(sip_filters)" = "2 2 2" ]
agent_stop

# whatever an earlier failure left, so that the doctor runs start from a clean interface
ip netns exec "$PBX" tc qdisc del dev eth0 clsact 2>/dev/null
ip -n "$PBX" link set dev eth0 xdp off 2>/dev/null

# --- 5. sipwatch doctor interrupted (SIGINT) during its trial start -------------------------
# A launcher in the namespace runs the doctor (SIGINT at its default action, as from a terminal)
# and sends SIGINT during the trial: DELAY s after the doctor's first BPF program is loaded, or at
# once when a packet hook of the trial is seen (a tcx/XDP link among its fds, or an XDP program or
# sipwatch tc filter on the interface). Runs with DELAY 0 and 0.2 interrupt the loading, DELAY
# "xdp" the moment the SIP programs are loaded (an XDP program among its fds: the hooks come next),
# DELAY 30 only a hook seen. Bounded: 10 s, 1 ms steps. Prints the doctor's exit status (130: the
# SIGINT ended it, after its clean-up).
cat >"$TEST_TMP/interrupt.py" <<'EOF'
import os, signal, subprocess, sys, threading, time
at_xdp = sys.argv[1] == "xdp"
delay, cmd = 30.0 if at_xdp else float(sys.argv[1]), sys.argv[2:]
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
deadline = time.time() + 10
def fdinfo():
    out = []
    try:
        for fd in os.listdir(f"/proc/{p.pid}/fdinfo"):
            with open(f"/proc/{p.pid}/fdinfo/{fd}") as f:
                out.append(f.read())
    except OSError:
        pass
    return out
on_interface = threading.Event()
def watch_interface():  # netlink XDP or tc filters (not links): ~10 ms a look, so in a thread
    run = lambda *a: subprocess.run(a, capture_output=True, text=True).stdout
    while p.poll() is None and time.time() < deadline and not on_interface.is_set():
        if "prog/xdp" in run("ip", "-d", "link", "show", "dev", "eth0") or \
                "sip_tc" in run("tc", "filter", "show", "dev", "eth0", "egress"):
            on_interface.set()
threading.Thread(target=watch_interface, daemon=True).start()
first_prog, how = None, "never: the doctor ended first"
while time.time() < deadline and p.poll() is None:
    info = fdinfo()
    if first_prog is None and any("prog_id:" in t for t in info):
        first_prog = time.time()
    hook = on_interface.is_set() or \
        any("link_type:\ttcx" in t or "link_type:\txdp" in t for t in info)
    xdp = at_xdp and any("prog_type:\t6\n" in t for t in info)
    if hook or xdp or (first_prog is not None and time.time() - first_prog >= delay):
        p.send_signal(signal.SIGINT)
        how = "with a packet hook attached" if hook else "as its XDP program loaded" if xdp \
            else f"{delay} s after its first program"
        break
    time.sleep(0.001)
try:
    rc = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    p.kill(); rc = p.wait()
print(f"doctor: SIGINT {how}; exit {128 - rc if rc < 0 else rc}", file=sys.stderr)
print(128 - rc if rc < 0 else rc)
EOF
doctor_ok=0
by_sigint=0
for delay in 0 0.2 xdp 30 30 30 30 30; do
	rc=$(in_host pbx timeout 40 python3 "$TEST_TMP/interrupt.py" "$delay" \
		"$SIPWATCH" doctor --sip.ports=5060 --xdp.mode=native)
	[ "$rc" = 130 ] && by_sigint=$((by_sigint + 1))
	if [ -z "$(xdp_on)$(filters_on)" ] && [ "$(clsact_on)" = 0 ]; then
		doctor_ok=$((doctor_ok + 1))
	else
		echo "doctor run at $delay s (exit $rc): left $(xdp_on) $(filters_on) $(clsact_on) clsact" >&2
		ip -n "$PBX" link set dev eth0 xdp off
		ip netns exec "$PBX" tc qdisc del dev eth0 clsact
	fi
done
echo "doctor: $by_sigint of 8 runs ended by the SIGINT (exit 130)"
check "sipwatch doctor --xdp.mode=native, SIGINT during the trial start, 8 runs (>= 4 ended by it): nothing left" \
	bash -c '[ "$1" -eq 8 ] && [ "$2" -ge 4 ]' _ "$doctor_ok" "$by_sigint"
# As on a kernel without tcx: the doctor does not attach tc filters (they would outlive it), and
# leaves those probes out of its report rather than flagging them.
out=$(SIPWATCH_LEGACY_HOOKS=1 in_host pbx "$SIPWATCH" doctor --sip.ports=5060 2>&1)
check "sipwatch doctor without tcx links: no tc filter, no clsact qdisc, tc probes not flagged" \
	bash -c '[ -z "$1" ] && [ "$2" = 0 ] && ! grep -q "kernel_probe tc_" <<<"$3" && grep -q "^info kernel_probes" <<<"$3"' \
	_ "$(filters_on)" "$(clsact_on)" "$out"
