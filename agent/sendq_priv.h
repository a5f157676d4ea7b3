/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the send-path concern's files share (sendq.c: lifecycle, timing, send-call metrics;
 * sendq_sockets.c: the socket scans, their gauges and GET /sockets; sendq_stalls.c: the
 * send_stall incident). One concern: only these files include this header. It does not include
 * sendq.h, which sendq.c implements: the include graph stays a line (tests/check_layers.sh).
 */
#ifndef SIPWATCH_AGENT_SENDQ_PRIV_H
#define SIPWATCH_AGENT_SENDQ_PRIV_H

#include <stddef.h>

#include "agent.h"
#include "http.h"
#include "sendq_abi.h"

/* Set by sendq_start(), cleared by sendq_stop(). */
extern struct agent *sendq_agent;

/* sendq_sockets.c */
void sendq_sockets_register(struct agent *ag);
/* Our own iterator links for the programs of @iters that loaded (udp, tcp). */
void sendq_sockets_attach(struct bpf_program *iters[2]);
/* Scan and rebuild the gauges, at most every KERNEL_SCAN_MIN_NS: 0, or the last scan's errno. */
int sendq_sockets_sample(struct agent *ag);
void sendq_sockets_stop(void);
int sendq_route_sockets(void *ctx, struct http_request *req, struct strbuf *out,
			const char **content_type);

/* sendq_stalls.c */
/* Note who holds the buffers of the nearly full sockets of a scan. */
void sendq_stalls_remember(const struct sendq_sock_record *socks, size_t nr_socks);
int sendq_on_event(void *ctx, void *data, size_t size);
void sendq_stalls_reset(void);

#endif
