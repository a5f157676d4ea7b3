/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Neighbour resolution (bpf/neigh.bpf.c): NUD state transitions, failures, drops, the packets each
 * socket has parked in unresolved queues, incidents.
 */
#ifndef SIPWATCH_AGENT_NEIGH_H
#define SIPWATCH_AGENT_NEIGH_H

#include <stdint.h>

#include "agent.h"
#include "decode.h"
#include "neigh_abi.h"

extern const struct concern neigh_concern;

/* The label values of a NUD state and a family: decode.h's, under the names peers.c uses. */
static inline const char *neigh_state_name(uint8_t state)
{
	return decode_nud_state_name(state);
}

static inline const char *neigh_family_name(uint8_t family)
{
	return decode_family_name(family);
}

/* "failed", "queue_full", "dead", "create_failed": label value for an enum neigh_drop_reason. */
const char *neigh_drop_reason_name(uint8_t reason);

struct neigh_holding {
	char ifname[16];
	uint8_t family;	  /* SW_AF_INET / SW_AF_INET6 */
	uint8_t addr[16]; /* the neighbour entry's address (the next hop) */
	uint64_t bytes; /* most bytes this socket had parked in that entry's queue in the window */
	uint32_t packets;
};

/* Entries whose unresolved queue held skbs charged to socket @sk (its kernel address, as BPF sees
 * skb->sk) at any time since @since_ns (bpf_ktime_get_ns clock). Returns how many were filled. */
int neigh_socket_holdings(uint64_t sk, uint64_t since_ns, struct neigh_holding *out, int max);
/* Bytes that sockets bound to a SIP port have parked in unresolved queues right now. */
void neigh_for_each_sip_held(void (*fn)(uint8_t proto, uint16_t port, uint64_t bytes, void *ctx),
			     void *ctx);

/*
 * The bookkeeping behind the two calls above, on a snapshot of the BPF holdings map (exposed for
 * the unit tests). @episode_open(neigh, gen) tells whether that entry's queue episode is still the
 * current one (a holding whose entry vanished unseen is not parked any more).
 */
struct neigh_hold_snapshot {
	struct neigh_hold_key key;
	struct neigh_hold hold;
};
typedef bool (*neigh_episode_open_fn)(uint64_t neigh, uint32_t gen, void *ctx);

int neigh_holdings_select(const struct neigh_hold_snapshot *snap, int n, uint64_t sk,
			  uint64_t since_ns, neigh_episode_open_fn open, void *open_ctx,
			  struct neigh_holding *out, int max);

struct neigh_sip_held {
	uint8_t proto;
	uint16_t port;
	uint64_t bytes;
};
/* Sum what sockets on a SIP port (@is_sip) hold now, per (proto, port). Returns entries filled. */
int neigh_sip_held_sum(const struct neigh_hold_snapshot *snap, int n, bool (*is_sip)(uint16_t port),
		       neigh_episode_open_fn open, void *open_ctx, struct neigh_sip_held *out,
		       int max);

/*
 * GET /neigh/sockets?since=SECONDS: whole seconds, at most NEIGH_SINCE_MAX_S, as nanoseconds in
 * *@window_ns. -1 for anything else (a sign, a fraction, or a number whose nanoseconds would wrap
 * around 64 bits and turn "the last 600 years" into "the last few seconds").
 */
#define NEIGH_SINCE_MAX_S (366ULL * 86400)
int neigh_since_window_ns(const char *arg, uint64_t *window_ns);

/*
 * sipwatch_neigh_dropped_packets_total is this concern's; another concern that refuses or drops
 * packets for want of a neighbour (fail-fast) reports them here: @total is that source's running
 * count for (@netns_ino, @ifname, @family, @reason), not an increment. @reason: a string literal.
 * Any order of the concerns' collect() calls gives the same family.
 */
void neigh_add_drops(uint32_t netns_ino, const char *ifname, uint8_t family, const char *reason,
		     uint64_t total);

/*
 * For the unit tests: bind neigh_add_drops() and the collect-time rebuild to @f (neigh_start()
 * binds the registered family; NULL unbinds) and forget every reported total; and that rebuild
 * (clear, the BPF map's series while the object runs, then the reported totals).
 */
void neigh_drops_bind(struct metric_family *f, bool with_netns);
int neigh_drops_collect(void);

/*
 * What a later concern adds to each neigh_failed incident line (agent/sip.c: the addresses of
 * record registered from the peers behind that next hop). The later concern sets it at its start,
 * so the neighbour concern never calls up; NULL (the default) adds nothing.
 */
struct log_line;
typedef void (*neigh_failed_annotator_fn)(struct log_line *l, int ifindex, uint8_t family,
					  const uint8_t *addr);
void neigh_set_failed_annotator(neigh_failed_annotator_fn fn);

#endif
