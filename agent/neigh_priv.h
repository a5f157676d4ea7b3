/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the neighbour concern's files share (neigh.c: lifecycle and metrics; neigh_holdings.c:
 * which socket parked what, /neigh/sockets; neigh_incidents.c: the neigh_failed incident). One
 * concern: only these files include this header. It does not include neigh.h, which neigh.c
 * implements: the include graph stays a line (tests/check_layers.sh).
 */
#ifndef SIPWATCH_AGENT_NEIGH_PRIV_H
#define SIPWATCH_AGENT_NEIGH_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "agent.h"
#include "http.h"
#include "ratelimit.h"

struct neigh_bpf;

/* Set by neigh_start(), cleared by neigh_stop(). */
extern struct neigh_bpf *neigh_skel;
extern struct agent *neigh_agent;
extern bool neigh_with_netns;
extern unsigned neigh_kernel_hz; /* CONFIG_HZ, 0 while unknown */
extern struct ratelimit neigh_incident_limit;

/* neigh_holdings.c: the snapshot buffer, and GET /neigh/sockets. */
int neigh_holdings_init(void);
void neigh_holdings_fini(void);
int neigh_route_sockets(void *ctx, struct http_request *req, struct strbuf *out,
			const char **content_type);

/* neigh_incidents.c: the ring buffer's records. */
int neigh_on_event(void *ctx, void *data, size_t size);

#endif
