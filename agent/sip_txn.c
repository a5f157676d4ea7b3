// SPDX-License-Identifier: GPL-2.0-only
#include "sip_txn.h"

#include <stdlib.h>
#include <string.h>

#include "peers.h"
#include "sip.h"
#include "sip_reg.h"
#include "sip_table.h"

struct sip_txn {
	uint64_t start_ns;
	uint64_t expire_ns; /* timed out (unfinished) or forgotten (finished) at this time */
	uint64_t reg_key; /* REGISTER: the registration it refreshes (agent/sip_reg.c); 0 = none */
	struct sip_peer_key peer;
	uint16_t final_code; /* 0: no final response yet */
	uint8_t dir;	     /* of the request */
	uint8_t method;	     /* enum sip_kind */
};

static struct sip_table table;
static struct sip_txn *txns;
static struct metric_family *duration_f, *transactions_f, *finals_f, *retrans_f, *evicted_f,
    *unmatched_f, *in_flight_f;

/*
 * Retransmissions and timeouts by peer and time, for the send_stall incident's "who was hurt":
 * a ring of the most recent ones (an incident looks back seconds, not minutes).
 */
#define HURT_RING 1024
struct hurt {
	uint64_t ts_ns;
	struct sip_peer_key peer;
	bool timeout;
};
static struct hurt hurt_ring[HURT_RING];
static uint64_t hurt_next;

static const double duration_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
					 1,	2,    4,     8,	   16,	32};

static const char *dir_label(int dir)
{
	return dir == SIP_DIR_TX ? "tx" : "rx";
}

int sip_txn_init(uint32_t max)
{
	free(txns);
	txns = calloc(max ? max : 1, sizeof(*txns));
	if (!txns || sip_table_init(&table, max))
		return -1;
	hurt_next = 0;
	return 0;
}

void sip_txn_free(void)
{
	sip_table_free(&table);
	free(txns);
	txns = NULL;
}

uint32_t sip_txn_in_flight(void)
{
	return table.nr;
}

void sip_txn_register_metrics(struct metrics *reg)
{
	duration_f = metrics_histogram(
	    reg, "sipwatch_sip_transaction_duration_seconds",
	    "SIP transactions: request to final response, by who sent the request (rx: a peer, tx: "
	    "this host) and method.",
	    LABELS("direction", "method"), duration_bounds,
	    sizeof(duration_bounds) / sizeof(duration_bounds[0]));
	transactions_f = metrics_counter(
	    reg, "sipwatch_sip_transactions_total",
	    "SIP transactions ended, by outcome: the final response's class (1xx..6xx) or timeout "
	    "(no final response within 64 x T1 = 32 s).",
	    LABELS("direction", "method", "outcome"));
	finals_f =
	    metrics_counter(reg, "sipwatch_sip_final_responses_total",
			    "Final responses to SIP transactions: 408, 480, 486, 487, 503 by "
			    "code, any other by class (2xx..6xx).",
			    LABELS("direction", "method", "code"));
	retrans_f = metrics_counter(
	    reg, "sipwatch_sip_retransmissions_total",
	    "SIP requests or final responses seen again within their transaction; direction: who "
	    "sent the copy, method: the request's.",
	    LABELS("direction", "method"));
	evicted_f =
	    metrics_counter(reg, "sipwatch_sip_transactions_evicted_total",
			    "SIP transactions dropped unfinished because the table was full "
			    "(--sip.transactions-max).",
			    NO_LABELS);
	unmatched_f = metrics_counter(
	    reg, "sipwatch_sip_responses_unmatched_total",
	    "SIP responses for no transaction sipwatch saw start (its request was not seen, or "
	    "was evicted, or this response came after 64 x T1).",
	    LABELS("direction"));
	in_flight_f =
	    metrics_gauge(reg, "sipwatch_sip_transactions_tracked",
			  "SIP transactions in the table now (completed ones stay 32 s to "
			  "recognise retransmissions).",
			  NO_LABELS);
	metric_set(evicted_f, NO_LABELS, 0);
	metric_set(in_flight_f, NO_LABELS, 0);
}

static bool rfc3261_branch(struct sip_str b)
{
	return b.len > 7 && !memcmp(b.p, "z9hG4bK", 7);
}

/*
 * The transaction key of a message: the request's direction, the CSeq method (a CANCEL is its
 * own transaction, RFC 3261 §9.2) and the branch + sent-by, or for a pre-3261 branch the
 * dialog-ish identifiers RFC 2543 matched on.
 */
static uint64_t txn_key(const struct sip_msg *m, int request_dir)
{
	uint64_t h = SIP_HASH_INIT;
	uint8_t head[2] = {(uint8_t)request_dir, (uint8_t)m->cseq_method};
	struct sip_str hs = {(const char *)head, 2};

	h = sip_str_hash(h, hs);
	if (rfc3261_branch(m->via_branch)) {
		h = sip_str_hash(h, m->via_branch);
		return sip_str_hash(h, m->via_sent_by);
	}
	h ^= m->cseq;
	h = sip_str_hash(h, m->call_id);
	h = sip_str_hash(h, m->from.tag);
	return sip_str_hash(h, m->via_branch);
}

static void note_hurt(const struct sip_peer_key *peer, uint64_t ts, bool timeout)
{
	struct hurt *h = &hurt_ring[hurt_next++ % HURT_RING];

	h->ts_ns = ts;
	h->peer = *peer;
	h->timeout = timeout;
}

static void count_retransmission(const struct sip_txn *t, const struct sip_msg_meta *meta)
{
	metric_add(retrans_f, LABELS(dir_label(meta->dir), sip_kind_label(t->method)), 1);
	peers_sip_stats(&t->peer)->retransmissions++;
	note_hurt(&t->peer, meta->ts_ns, false);
}

static void code_label(uint16_t code, char *buf)
{
	switch (code) {
	case 408:
	case 480:
	case 486:
	case 487:
	case 503:
		buf[0] = (char)('0' + code / 100);
		buf[1] = (char)('0' + code / 10 % 10);
		buf[2] = (char)('0' + code % 10);
		break;
	default:
		buf[0] = (char)('0' + code / 100);
		buf[1] = buf[2] = 'x';
	}
	buf[3] = 0;
}

static void finish(struct sip_txn *t, const struct sip_msg *m, const struct sip_msg_meta *meta)
{
	const char *dir = dir_label(t->dir), *method = sip_kind_label(t->method);
	double secs = meta->ts_ns > t->start_ns ? (double)(meta->ts_ns - t->start_ns) / 1e9 : 0;
	char outcome[4], code[4];
	struct peer_sip_stats *p = peers_sip_stats(&t->peer);

	t->final_code = m->status;
	outcome[0] = (char)('0' + m->status / 100);
	outcome[1] = outcome[2] = 'x';
	outcome[3] = 0;
	code_label(m->status, code);
	metric_observe(duration_f, LABELS(dir, method), secs);
	metric_add(transactions_f, LABELS(dir, method, outcome), 1);
	metric_add(finals_f, LABELS(dir, method, code), 1);
	p->transactions++;
	p->latency_sum_s += secs;
	p->latency_last_s = secs;
	p->last_final_code = m->status;
	if (t->reg_key)
		sip_reg_final(t->reg_key, m, meta);
}

static void on_request(const struct sip_msg *m, const struct sip_msg_meta *meta)
{
	uint64_t key;
	int32_t s;
	struct sip_txn *t;

	/* An ACK is no transaction of its own (RFC 3261 §17): for a non-2xx it belongs to the
	 * INVITE's, for a 2xx it is end to end. Neither has a response to wait for. */
	if (m->method == SIP_REQ_ACK || m->cseq_method != m->method)
		return;
	key = txn_key(m, meta->dir);
	s = sip_table_find(&table, key);
	if (s >= 0) {
		t = &txns[s];
		if (t->dir == meta->dir)
			count_retransmission(t, meta);
		return;
	}
	s = sip_table_insert(&table, key);
	if (s < 0) {
		int32_t old = sip_table_oldest(&table);

		/* The oldest may have finished already: only an unfinished one is a loss. */
		if (!txns[old].final_code)
			metric_add(evicted_f, NO_LABELS, 1);
		sip_table_remove(&table, old);
		s = sip_table_insert(&table, key);
		if (s < 0)
			return;
	}
	t = &txns[s];
	memset(t, 0, sizeof(*t));
	t->start_ns = meta->ts_ns;
	t->expire_ns = meta->ts_ns + SIP_TXN_LIFE_NS;
	t->peer = meta->peer;
	t->dir = (uint8_t)meta->dir;
	t->method = (uint8_t)m->method;
	if (m->method == SIP_REQ_REGISTER)
		t->reg_key = sip_reg_request(m, meta);
}

static void on_response(const struct sip_msg *m, const struct sip_msg_meta *meta)
{
	int request_dir = meta->dir == SIP_DIR_RX ? SIP_DIR_TX : SIP_DIR_RX;
	int32_t s;
	struct sip_txn *t;

	if (m->cseq_method == SIP_REQ_ACK)
		return;
	s = sip_table_find(&table, txn_key(m, request_dir));
	if (s < 0) {
		metric_add(unmatched_f, LABELS(dir_label(meta->dir)), 1);
		return;
	}
	t = &txns[s];
	if (m->status < 200) {
		/* A ringing INVITE may wait minutes for its answer: Timer B stops at the first
		 * provisional response, and proxies give up after Timer C (RFC 3261 §16.6). */
		if (t->method == SIP_REQ_INVITE && !t->final_code &&
		    t->expire_ns < meta->ts_ns + SIP_TIMER_C_NS)
			t->expire_ns = meta->ts_ns + SIP_TIMER_C_NS;
		return;
	}
	if (t->final_code) {
		/* The same final response again (the UAS retransmits it until the ACK, or for each
		 * retransmitted request). A different one is a UAS bug, not a retransmission. */
		if (t->final_code == m->status)
			count_retransmission(t, meta);
		return;
	}
	finish(t, m, meta);
	/* Retransmissions of the final response come for up to 64 x T1 after it (Timer G/J);
	 * Timer C no longer matters. */
	t->expire_ns = meta->ts_ns + SIP_TXN_LIFE_NS;
}

void sip_txn_message(const struct sip_msg *m, const struct sip_msg_meta *meta)
{
	if (!txns || !table.max)
		return;
	if (m->request)
		on_request(m, meta);
	else
		on_response(m, meta);
}

void sip_txn_tick(uint64_t now_ns)
{
	int32_t s, next;

	/* Every entry, once a second: their deadlines differ (Timer C), and --sip.transactions-max
	 * entries are a few microseconds' walk. */
	for (s = sip_table_oldest(&table); s >= 0; s = next) {
		struct sip_txn *t = &txns[s];

		next = sip_table_newer(&table, s);
		if (t->expire_ns > now_ns)
			continue;
		if (!t->final_code) {
			metric_add(transactions_f,
				   LABELS(dir_label(t->dir), sip_kind_label(t->method), "timeout"),
				   1);
			peers_sip_stats(&t->peer)->unanswered++;
			note_hurt(&t->peer, t->start_ns, true);
			if (t->reg_key)
				sip_reg_unanswered(t->reg_key, now_ns);
		}
		sip_table_remove(&table, s);
	}
	if (in_flight_f)
		metric_set(in_flight_f, NO_LABELS, table.nr);
}

struct hurt_peer {
	struct sip_peer_key peer;
	uint32_t retrans, unanswered;
};

#define HURT_PEERS_MAX 32 /* an incident names the first 32 */

/* @peer's slot in @seen (added if there is room), or NULL. */
static struct hurt_peer *hurt_slot(struct hurt_peer *seen, int *n, const struct sip_peer_key *peer)
{
	for (int k = 0; k < *n; k++)
		if (!memcmp(&seen[k].peer, peer, sizeof(*peer)))
			return &seen[k];
	if (*n == HURT_PEERS_MAX)
		return NULL;
	memset(&seen[*n], 0, sizeof(seen[*n]));
	seen[*n].peer = *peer;
	return &seen[(*n)++];
}

void sip_txn_peers_hurt_between(uint64_t t0_ns, uint64_t t1_ns,
				void (*fn)(const struct sip_peer_key *peer,
					   uint32_t retransmissions, uint32_t unanswered,
					   void *ctx),
				void *ctx)
{
	struct hurt_peer seen[HURT_PEERS_MAX], *h;
	int n = 0;
	uint64_t first = hurt_next > HURT_RING ? hurt_next - HURT_RING : 0;

	for (uint64_t i = first; i < hurt_next; i++) {
		const struct hurt *e = &hurt_ring[i % HURT_RING];

		if (e->ts_ns < t0_ns || e->ts_ns > t1_ns || !(h = hurt_slot(seen, &n, &e->peer)))
			continue;
		if (e->timeout)
			h->unanswered++;
		else
			h->retrans++;
	}
	/* Started in the window and still without a final response: unanswered so far (the stall
	 * incident comes when the send returns, long before their 64 x T1 is up). */
	for (int32_t s = sip_table_oldest(&table); s >= 0; s = sip_table_newer(&table, s)) {
		const struct sip_txn *t = &txns[s];

		if (t->final_code || t->start_ns < t0_ns || t->start_ns > t1_ns ||
		    !(h = hurt_slot(seen, &n, &t->peer)))
			continue;
		h->unanswered++;
	}
	for (int k = 0; k < n; k++)
		fn(&seen[k].peer, seen[k].retrans, seen[k].unanswered, ctx);
}
