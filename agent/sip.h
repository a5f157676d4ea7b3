/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SIP traffic (bpf/sip.bpf.c): XDP ingress / tc egress classifier on the chosen interfaces, the
 * sipwatch_sip_*_total counters, and the kernel side of the peer table (agent/peers.c).
 */
#ifndef SIPWATCH_AGENT_SIP_H
#define SIPWATCH_AGENT_SIP_H

#include "agent.h"
#include "log.h"

extern const struct concern sip_concern;

/* --xdp.mode; the order is the option parser's. */
enum sip_xdp_mode { SIP_XDP_AUTO, SIP_XDP_NATIVE, SIP_XDP_GENERIC, SIP_XDP_OFF };

/* Label value of a classifier result within its family ("invite", "2xx", "crlf_ping", "tls"). */
const char *sip_kind_label(int kind);

/*
 * The joins of issue 18, for other concerns' incidents. Into a send_stall incident: the peers
 * whose SIP transactions were retransmitted, or are still (or were left) unanswered, within the
 * blocked interval, and the registrations that lapsed blaming a stall in it so far.
 */
void sip_log_stall_harm(struct log_line *l, uint64_t start_ns, uint64_t end_ns);
/* Into a neigh_failed incident: the addresses of record registered from the peers whose next hop
 * is (@ifindex, @family, @addr). */
void sip_log_registrations_behind(struct log_line *l, int ifindex, uint8_t family,
				  const uint8_t *addr);

#endif
