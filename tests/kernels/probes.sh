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

# Which fd -> socket walk sendq loaded (bpf/sendq.bpf.c): direct loads where the kernel has the
# bpf_rdonly_cast kfunc, probe reads where it has not. Asked of kallsyms, not of the agent's way
# (its BTF): in the 6.12 guest a "bpftool btf dump" check found no kfunc the agent found and used.
walk=$(grep -o 'matched to their socket with [^"]*' "$AGENT_LOG" | tail -1)
if grep -qw bpf_rdonly_cast /proc/kallsyms; then
	want="direct loads"
else
	want="probe reads"
fi
case $walk in
*"$want"*) echo "PASS: sendq's send calls are $walk" ;;
*) echo "FAIL: sendq should match send calls to sockets with $want; the agent logged: ${walk:-nothing}" ;;
esac
