/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SIP peer table as the agent sees it: the kernel's LRU maps (bpf/sip.bpf.c, sip_peers4/6)
 * copied once a second, each peer with its next hop (rtnetlink route lookup) and that next hop's
 * neighbour state (rtnetlink neighbour dump). Bounded by --peers.max; peers idle longer than
 * --peers.idle-timeout are dropped (also from the kernel map). Other concerns read it through
 * peers_for_each() and peers_with_next_hop().
 */
#ifndef SIPWATCH_PEERS_H
#define SIPWATCH_PEERS_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "rtnl.h"
#include "sip_abi.h"
#include "strbuf.h"

/*
 * What the SIP transaction and registration trackers (agent/sip_txn.c, sip_reg.c) saw of a peer:
 * kept across table syncs like the next hop. Counted from when the peer entered the table.
 */
struct peer_sip_stats {
	uint64_t transactions;	  /* completed with a final response, both directions */
	uint64_t retransmissions; /* requests or final responses seen again, either side */
	uint64_t unanswered;	  /* transactions that timed out (64 x T1) */
	double latency_sum_s;	  /* request -> final response, over @transactions */
	double latency_last_s;
	uint16_t last_final_code; /* 0: none yet */
	uint32_t registrations;	  /* active now (recounted every tick) */
	uint32_t lapsed;	  /* lapsed now, not re-registered */
};

struct sip_peer {
	struct sip_peer_key key;
	struct sip_peer_value v;
	bool verified; /* the PBX sent it a request or ping, or it spoke TCP (sip_abi.h) */
	bool has_next_hop;
	int nh_ifindex;
	uint8_t nh_addr[16];
	uint64_t route_checked_ns; /* CLOCK_MONOTONIC; 0 = never */
	bool has_neigh;		   /* the next hop has a neighbour entry */
	uint16_t nud_state;
	uint64_t unreachable_ns; /* last tick its next hop was FAILED/INCOMPLETE; 0 = never */
	struct peer_sip_stats sip;
};

typedef void (*peers_fn)(const struct sip_peer *p, void *ctx);

int peers_init(uint32_t max, uint64_t idle_timeout_ns);
void peers_free(void);
int peers_count(void);

/*
 * Resynchronise from the kernel table: begin, one add per kernel entry, end. add() keeps what the
 * agent knew about the peer (next hop, state) and returns false when the peer is idle past the
 * timeout or the table is full: the caller then deletes it from the kernel map.
 */
void peers_sync_begin(void);
bool peers_sync_add(const struct sip_peer_key *key, const struct sip_peer_value *v, uint64_t now_ns,
		    bool verified);
void peers_sync_end(void);

/*
 * Next-hop lookups for one tick of @tick_ns: peers never checked first, then peers not checked
 * for @max_age_ns in round robin. The budget scales with the table (every peer once per
 * @max_age_ns), bounded per tick by PEERS_ROUTE_LOOKUPS_MIN/MAX. Returns the lookups done.
 */
#define PEERS_ROUTE_LOOKUPS_MIN 256
#define PEERS_ROUTE_LOOKUPS_MAX 2048
int peers_refresh_routes(uint64_t now_ns, uint64_t max_age_ns, uint64_t tick_ns);
/* Neighbour states from a table dump (@tab is sorted in place). */
void peers_set_neigh_states(struct rtnl_neigh *tab, int n);

void peers_for_each(peers_fn fn, void *ctx);
/* Every peer whose next hop is (@ifindex, @family, @addr). */
void peers_with_next_hop(int ifindex, uint8_t family, const uint8_t *addr, peers_fn fn, void *ctx);
struct sip_peer *peers_find(const struct sip_peer_key *key);
/* Look up @key's route now (not at its turn in the round robin); false if it is not in the table.
 */
bool peers_recheck_route(const struct sip_peer_key *key, uint64_t now_ns);

/* "reachable", "failed", ... of the next hop's entry; "none" without one. */
const char *peer_state_name(const struct sip_peer *p);
/* The next hop is FAILED or INCOMPLETE now. */
bool peer_unreachable(const struct sip_peer *p);
/* Stamp @now_ns on every peer unreachable now (after peers_set_neigh_states()): a registration
 * that lapses later asks whether its peer was unreachable at any time in its refresh window. */
void peers_note_unreachable(uint64_t now_ns);
const char *peer_address(const struct sip_peer *p, char *buf, size_t len);

/* sipwatch_sip_peers{state} and sipwatch_sip_peer_unreachable{peer,ifname} (at most @max_series),
 * and the per-peer SIP harm series for the @max_series peers with the most. */
void peers_register_metrics(struct metrics *reg);
void peers_collect_metrics(uint32_t max_series);
/* @key's SIP stats: the peer's, or (not in the table yet) kept until the sync that adds it. */
struct peer_sip_stats *peers_sip_stats(const struct sip_peer_key *key);
/* Zero every peer's registration counts (agent/sip_reg.c recounts them each tick). */
void peers_reset_registrations(void);
/* {"peers": [...]} with only peers in @state when it is not NULL. */
void peers_to_json(struct strbuf *out, const char *state, uint64_t now_ns);

#endif
