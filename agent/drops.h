/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SIP packets the kernel drops (bpf/drops.bpf.c): sipwatch_sip_drops_total by the kernel's own drop
 * reason, and the sip_drops incident per socket and burst. The per-socket receive counters
 * (sipwatch_socket_receive_*) come from the socket iterators of the send concern (agent/sendq.c).
 */
#ifndef SIPWATCH_AGENT_DROPS_H
#define SIPWATCH_AGENT_DROPS_H

#include <stdbool.h>

#include "agent.h"

extern const struct concern drops_concern;

/*
 * The label of a drop reason: "SKB_DROP_REASON_SOCKET_RCVBUFF" -> "socket_rcvbuff" if it is one of
 * the reasons sipwatch names (a bounded set), else "other". Written to @buf (at least 32 bytes).
 */
const char *drops_reason_label(const char *enum_name, char *buf, size_t len);

#endif
