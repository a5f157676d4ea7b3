/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TCP keepalive and timeouts on SIP connections (bpf/tcp.bpf.c): timeouts by cause with an
 * incident per connection, retransmissions, and the keepalive audit (iter/tcp) behind
 * sipwatch_tcp_connections, sipwatch_tcp_keepalive_detection_seconds and GET /tcp.
 */
#ifndef SIPWATCH_AGENT_TCP_H
#define SIPWATCH_AGENT_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "tcp_abi.h"

extern const struct concern tcp_concern;

/* "keepalive", "retransmission", ...: the cause label value (enum tcp_timeout_cause). */
const char *tcp_cause_name(uint8_t cause);
/* "etimedout", "ehostunreach", ...: an errno as a lower-case word. */
const char *tcp_error_name(int err);

/* The kernel's HZ from a kernel config text line "CONFIG_HZ=250"; 0 if the line is not that. */
unsigned tcp_hz_from_config_line(const char *line);
/*
 * HZ from two (jiffies, monotonic ns) samples at least a second apart, snapped to the values
 * Kconfig allows (100, 250, 300, 1000); 0 when the samples do not fit one of them.
 */
unsigned tcp_hz_from_samples(uint64_t jiffies_delta, uint64_t ns_delta);

/*
 * Worst-case time to notice a dead idle peer with these keepalive settings: idle + interval x
 * probes (the kernel's own arithmetic), in seconds; -1 when keepalive is off or HZ unknown.
 */
double tcp_detection_seconds(const struct tcp_keepalive_settings *ka, unsigned hz);

/* The HZ the agent converts kernel jiffies with (0 until known). */
unsigned tcp_kernel_hz(void);

/* A SIP TCP connection to (@family, @addr) timed out (incident recorded) within [@t0_ns, @t1_ns]
 * (CLOCK_MONOTONIC): the SIP registration tracker's tcp_timeout cause. The last 256 timeouts. */
bool tcp_timed_out_between(uint8_t family, const uint8_t *addr, uint64_t t0_ns, uint64_t t1_ns);

#endif
