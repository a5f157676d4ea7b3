#!/usr/bin/env bash
# The send-path scenarios (test_sendq.sh, test_sendq_tcp.sh) once per way of timing sends that
# this kernel allows, each forced with --stall.hook: every rung must give the same counts, the
# same stalls and the same incidents. A rung the kernel does not have is said, with the agent's
# reason; which rung "auto" must choose on each kernel is checked by tests/kernels/probes.sh.
source "$(dirname "$0")/lib.sh"

lan_up
host_add pbx 1
# SENDQ_RUNGS: the rungs to try (the kernel matrix leaves out syscalls, the opt-in rung, whose
# programs its BPF layer runs on every kernel: test_sendq_rungs.c).
for rung in ${SENDQ_RUNGS:-fentry tracepoint syscalls}; do
	agent_start --stall.hook="$rung" || { echo "FAIL: agent starts with --stall.hook=$rung"; continue; }
	up=$(metric sipwatch_probe_up "probe=\"send_timing:$rung\"")
	agent_stop
	if [ "$up" != 1 ]; then
		echo "rung $rung: not on this kernel: $(grep -o "cannot time sends with the $rung hooks: [^\"]*" "$AGENT_LOG")"
		continue
	fi
	for t in test_sendq.sh test_sendq_tcp.sh; do
		SIPWATCH_EXTRA_ARGS=--stall.hook=$rung bash "$(dirname "$0")/$t" 2>&1 |
			sed -e "s/^PASS: /PASS: [$rung] /" -e "s/^FAIL: /FAIL: [$rung] /"
		[ "${PIPESTATUS[0]}" -eq 0 ] || echo "FAIL: [$rung] $t exited ${PIPESTATUS[0]}"
	done
done
