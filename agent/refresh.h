/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Proactive neighbour refresh for SIP peers (--neigh.refresh=off|use|managed) and the decisions
 * behind fail-fast (--neigh.fail-fast).
 *
 * The agent follows the neighbour table through rtnetlink (RTNLGRP_NEIGH notifications plus one
 * dump at start). Candidates are the next hops of SIP peers active within --neigh.refresh-window.
 * "use": when a candidate's entry goes STALE (or FAILED), ask the kernel to re-probe it now
 * (RTM_NEWNEIGH with NTF_USE) instead of waiting for the PBX's next packet to find it dead.
 * "managed": mark candidates NTF_EXT_MANAGED (5.16+), so the kernel keeps them resolved itself;
 * the flag is removed again when a peer stops being a candidate and when sipwatch exits.
 * Refreshes are paced by a token bucket (--neigh.refresh-rate) and never repeat for one entry
 * sooner than the shortest reachable time the kernel could have given it.
 */
#ifndef SIPWATCH_REFRESH_H
#define SIPWATCH_REFRESH_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"

extern const struct concern refresh_concern;

/* A SIP peer was active: its next hop (@family, @addr on @ifindex) is a candidate until @until_ms.
 */
void refresh_note_candidate(int ifindex, uint8_t family, const uint8_t *nexthop,
			    const uint8_t *peer, uint64_t until_ms);

/* Token bucket: @rate tokens per second, at most @burst stored. Exposed for the unit tests. */
struct token_bucket {
	double rate;
	double burst;
	double tokens;
	uint64_t last_ms;
};

void token_bucket_init(struct token_bucket *tb, double rate, double burst, uint64_t now_ms);
bool token_bucket_take(struct token_bucket *tb, uint64_t now_ms);

#endif
