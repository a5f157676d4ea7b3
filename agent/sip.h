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

#endif
