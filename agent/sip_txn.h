/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SIP transactions from the messages bpf/sip.bpf.c copies (agent/sip_msg.c parses them), matched
 * as RFC 3261 §17.1.3 / §17.2.3 do: the top Via branch (with the magic cookie z9hG4bK) + sent-by +
 * CSeq method; for a branch without the cookie, Call-ID + CSeq number + method + From tag. Both
 * directions: `direction` is who sent the request (rx: a peer, tx: this host). A transaction
 * without a final response 64 x T1 (32 s) after its request timed out (an INVITE that got a 1xx:
 * after Timer C, 180 s); a finished one is kept 64 x T1 after its final response, and a request
 * or final response seen again meanwhile is a retransmission. Bounded by --sip.transactions-max,
 * the oldest evicted (and counted) when full.
 */
#ifndef SIPWATCH_SIP_TXN_H
#define SIPWATCH_SIP_TXN_H

#include <stdint.h>

#include "metrics.h"
#include "sip_abi.h"
#include "sip_msg.h"

#define SIP_T1_NS	500000000ULL /* RFC 3261 T1 */
#define SIP_TXN_LIFE_NS (64 * SIP_T1_NS)
#define SIP_TIMER_C_NS	(180ULL * 1000000000ULL) /* an INVITE that got a 1xx */

/* Where a parsed message came from. */
struct sip_msg_meta {
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
	int dir;	/* SIP_DIR_*: who sent this message */
	uint8_t transport;
	struct sip_peer_key peer; /* the remote side */
	uint16_t peer_port;
};

int sip_txn_init(uint32_t max);
void sip_txn_free(void);
void sip_txn_register_metrics(struct metrics *reg);
void sip_txn_message(const struct sip_msg *m, const struct sip_msg_meta *meta);
/* Time out what is due at @now_ns (Timer B/F). */
void sip_txn_tick(uint64_t now_ns);
uint32_t sip_txn_in_flight(void);

/* Per peer, the retransmissions seen and the transactions started in [@t0_ns, @t1_ns] that timed
 * out or have no final response yet: for the send_stall incident (which peers a blocked socket
 * hurt). Calls @fn once per peer, for at most 32 peers; the last 1 024 retransmissions/timeouts. */
void sip_txn_peers_hurt_between(uint64_t t0_ns, uint64_t t1_ns,
				void (*fn)(const struct sip_peer_key *peer,
					   uint32_t retransmissions, uint32_t unanswered,
					   void *ctx),
				void *ctx);

#endif
