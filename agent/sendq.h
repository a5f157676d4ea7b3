/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Send path on SIP sockets (bpf/sendq.bpf.c): time each send call spends in the kernel, stalls,
 * errors by class, and the send-buffer fill of every SIP socket sampled with BPF iterators.
 */
#ifndef SIPWATCH_AGENT_SENDQ_H
#define SIPWATCH_AGENT_SENDQ_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "neigh.h"
#include "sendq_abi.h"

extern const struct concern sendq_concern;

/* Label value of sipwatch_send_errors_total{error} for an enum sendq_error. */
const char *sendq_error_name(int error);
/* "udp" / "tcp" for SENDQ_PROTO_*. */
const char *sendq_proto_name(uint8_t proto);

/*
 * Dead peers it takes to stall a socket with send buffer @sndbuf when each unresolved neighbour
 * queue is capped at @unres_qlen_bytes: a queue evicts its oldest packet (releasing its share of
 * the sender's buffer) before it grows past the cap, so n queues hold less than
 * n * unres_qlen_bytes and the sender blocks only once that reaches SO_SNDBUF. 0 if unknown.
 */
uint32_t sendq_dead_peers_to_stall(uint32_t sndbuf, uint32_t unres_qlen_bytes);

/* Per (proto, SIP port) summary of the SIP sockets one iterator scan found. */
struct sendq_port_summary {
	uint8_t proto;
	uint16_t port;
	uint32_t sockets;
	uint64_t queued_bytes;	  /* sum over the sockets */
	double max_fill_ratio;	  /* the fullest socket: queued / SO_SNDBUF */
	uint32_t min_sndbuf;	  /* the smallest SO_SNDBUF: the socket dead peers stall first */
	uint64_t rx_drops;	  /* the kernel's per-socket drop counts, summed */
	double max_rx_fill_ratio; /* the fullest receive queue: sk_rmem_alloc / sk_rcvbuf */
	uint32_t min_rcvbuf;	  /* the smallest receive buffer */
};

/* The SIP port a socket counts under: its local port if that is one, else its remote port. */
uint16_t sendq_record_sip_port(const struct sendq_sock_record *r, const uint16_t *ports,
			       int nr_ports);
/* Fill ratio of one socket: what SO_SNDBUF limits, over SO_SNDBUF (0 when sndbuf is 0). */
double sendq_record_fill_ratio(const struct sendq_sock_record *r);
/*
 * Fold @nr records into at most @max summaries (one per proto and SIP port). Returns how many
 * summaries were filled.
 */
int sendq_summarize(const struct sendq_sock_record *recs, size_t nr, const uint16_t *ports,
		    int nr_ports, struct sendq_port_summary *out, int max);

/*
 * Add holding @h to @out (@n filled, room for @max), or keep the larger byte count if that peer
 * (family, address, interface) is already there. Returns the new count.
 */
int sendq_merge_holding(struct neigh_holding *out, int n, int max, const struct neigh_holding *h);

/* A send call on a SIP socket stalled (incident recorded) at some time within [@t0_ns, @t1_ns]
 * (CLOCK_MONOTONIC): the SIP registration tracker's send_stall cause. The last 256 stalls. */
bool sendq_stalled_between(uint64_t t0_ns, uint64_t t1_ns);

#endif
