#!/usr/bin/env bash
# Print one line "PROBE <name> <0|1> <reason>" per sipwatch_probe_up series of an agent started
# with the given flags in a test namespace of the running kernel; the reason is the one the agent
# logged for a probe it could not attach. tests/kernels/run.sh builds the probe × kernel matrix
# from these lines (it runs this script on the host and in every guest). Arguments: extra agent flags.
source "$(dirname "$0")/../integration/lib.sh"

lan_up
host_add pbx 1
agent_start --log.level=debug "$@" || { echo "FAIL: agent starts to list its probes"; exit 1; }
series=$(scrape /metrics | sed -n 's/^sipwatch_probe_up{probe="\([^"]*\)"} \([0-9]*\)$/\1 \2/p')
agent_stop
[ -n "$series" ] || { echo "FAIL: the agent reports sipwatch_probe_up series"; exit 1; }
while read -r probe up; do
	reason=
	if [ "$up" != 1 ]; then
		reason=$(grep -F "probe=$probe " "$AGENT_LOG" | grep -F 'msg="probe not attached"' |
			sed -n 's/.* reason="\(\([^"\\]\|\\.\)*\)".*/\1/p' | tail -1)
		[ -n "$reason" ] || reason="(no reason logged)"
	fi
	echo "PROBE $probe $up $reason"
done <<<"$series"

# Which way of timing sends "auto" chose (bpf/sendq.bpf.c): fentry where the kernel lets tracing
# programs attach, else the sock_send_length + sched_switch tracepoints. Asked of bpftrace (its own
# kfunc feature check, and tracefs), not of the agent's way.
mountpoint -q /sys/kernel/tracing 2>/dev/null || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
if timeout 60 bpftrace -e 'kfunc:inet_sendmsg { } BEGIN { exit(); }' >/dev/null 2>&1; then
	want=fentry
elif [ -d /sys/kernel/tracing/events/sock/sock_send_length ]; then
	want=tracepoint
else
	want=none
fi
rung=$(sed -n 's/^send_timing:\([a-z]*\) 1$/\1/p' <<<"$series")
if [ "${rung:-none}" = "$want" ]; then
	echo "PASS: send calls are timed with the ${rung:-no} hooks, as bpftrace's checks say this kernel allows"
else
	echo "FAIL: send calls should be timed with the $want hooks; the agent uses ${rung:-none}: $(grep -o 'cannot time sends[^"]*' "$AGENT_LOG" | tr '\n' ' ')"
fi
