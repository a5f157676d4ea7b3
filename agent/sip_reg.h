/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SIP registrations, both kinds: inbound (a peer's REGISTER rx, this host's 2xx tx: phones) and
 * outbound (REGISTER tx, 2xx rx: trunks). Key: the address of record (To URI) + the contact URI.
 * The granted expiry comes from the 2xx (the binding's Contact expires parameter, else its Expires
 * header). A registration that reaches its expiry without a successful refresh lapses, with the
 * cause sipwatch saw (sip_reg_cause_name()); a de-REGISTER (expires 0) ends one without a lapse.
 * Bounded by --sip.registrations-max, the least recently refreshed evicted (and counted).
 */
#ifndef SIPWATCH_SIP_REG_H
#define SIPWATCH_SIP_REG_H

#include <stdint.h>

#include "metrics.h"
#include "sip_msg.h"
#include "sip_txn.h"

enum sip_reg_cause {
	SIP_REG_NEIGH_FAILED,
	SIP_REG_SEND_STALL,
	SIP_REG_TCP_TIMEOUT,
	SIP_REG_REJECTED,
	SIP_REG_UNANSWERED,
	SIP_REG_SILENT,
	SIP_REG_CAUSE_MAX,
};

/* What the kernel side knew, asked when a registration lapses (NULL members: not known). */
struct sip_reg_causes {
	/* the peer's next hop is FAILED/INCOMPLETE now, or was within [t0, t1] */
	bool (*neigh_failed)(const struct sip_peer_key *peer, uint64_t t0_ns, uint64_t t1_ns);
	/* a SIP socket send stalled within [t0, t1] (CLOCK_MONOTONIC ns) */
	bool (*send_stalled)(uint64_t t0_ns, uint64_t t1_ns);
	/* a TCP connection to the peer timed out within [t0, t1] */
	bool (*tcp_timed_out)(const struct sip_peer_key *peer, uint64_t t0_ns, uint64_t t1_ns);
};

const char *sip_reg_cause_name(int cause);
/* @incident_interval_ns: registration_lapsed incidents per peer and cause, at most one per. */
int sip_reg_init(uint32_t max, const struct sip_reg_causes *causes, uint64_t incident_interval_ns);
void sip_reg_free(void);
void sip_reg_register_metrics(struct metrics *reg);

/* A REGISTER: returns the registration's key, for the outcome calls below (0: not tracked). */
uint64_t sip_reg_request(const struct sip_msg *m, const struct sip_msg_meta *meta);
/* The REGISTER transaction @key got a final response @m. */
void sip_reg_final(uint64_t key, const struct sip_msg *m, const struct sip_msg_meta *meta);
/* ... or none within 64 x T1. */
void sip_reg_unanswered(uint64_t key, uint64_t now_ns);
/* Lapse what expired; recount the gauges and the peers' registration counts. */
void sip_reg_tick(uint64_t now_ns);

/* Address(es) of record registered from @peer (active), for the neigh_failed incident: calls
 * @fn for each. */
void sip_reg_for_peer(const struct sip_peer_key *peer, void (*fn)(const char *aor, void *ctx),
		      void *ctx);
/* registration_lapsed incident lines held back by the rate limit. */
uint64_t sip_reg_incidents_suppressed(void);
/* Lapses attributed to a send stall within [t0, t1]. */
uint32_t sip_reg_lapsed_by_stall_between(uint64_t t0_ns, uint64_t t1_ns);

#endif
