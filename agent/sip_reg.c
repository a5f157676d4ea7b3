// SPDX-License-Identifier: GPL-2.0-only
#include "sip_reg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "log.h"
#include "peers.h"
#include "ratelimit.h"
#include "sip_table.h"

#define S_NS		    1000000000ULL
#define REG_DEFAULT_EXPIRES 3600 /* RFC 3261 §10.2.1.1: what a registrar assumes without one */
/* A refresh's 2xx may still be in the ring buffer when its expiry passes. */
#define REG_GRACE_NS	    (2 * S_NS)
#define REG_LAPSED_KEEP_NS  (3600 * S_NS) /* a lapsed registration is forgotten after an hour */
#define REG_PENDING_KEEP_NS (300 * S_NS)  /* a REGISTER whose outcome was never seen */
#define REG_TEXT_MAX	    96

enum reg_state { REG_PENDING, REG_ACTIVE, REG_LAPSED };
enum reg_attempt {
	ATTEMPT_NONE,
	ATTEMPT_PENDING,
	ATTEMPT_OK,
	ATTEMPT_REJECTED,
	ATTEMPT_UNANSWERED
};

struct sip_reg {
	char aor[REG_TEXT_MAX];
	char contact[REG_TEXT_MAX];
	uint64_t aor_hash, contact_hash;
	struct sip_peer_key peer;
	uint8_t dir;	 /* of the REGISTER */
	uint8_t state;	 /* enum reg_state */
	uint8_t attempt; /* enum reg_attempt: the last REGISTER's outcome */
	bool star;	 /* "Contact: *": removes every binding of the AoR */
	bool deregister; /* the last REGISTER asked for expires 0 */
	uint16_t rejected_code;
	int64_t asked_s;     /* expiry the last REGISTER asked for; -1 = none */
	uint64_t seen_ns;    /* last REGISTER or outcome */
	uint64_t granted_ns; /* last 2xx */
	uint64_t expires_ns; /* granted_ns + the granted expiry */
	uint64_t request_ns; /* last REGISTER */
};

static struct sip_table table;
static struct sip_reg *regs;
static struct sip_reg_causes causes;
static struct ratelimit incident_limit;
static struct metric_family *regs_f, *lapsed_f, *evicted_f;

/* Lapses blamed on a send stall, for the stall incident's count. */
#define STALL_LAPSES 256
static uint64_t stall_lapse_ns[STALL_LAPSES];
static uint64_t stall_lapse_next;

static const char *const cause_names[SIP_REG_CAUSE_MAX] = {
    [SIP_REG_NEIGH_FAILED] = "neigh_failed", [SIP_REG_SEND_STALL] = "send_stall",
    [SIP_REG_TCP_TIMEOUT] = "tcp_timeout",   [SIP_REG_REJECTED] = "rejected",
    [SIP_REG_UNANSWERED] = "unanswered",     [SIP_REG_SILENT] = "silent",
};

const char *sip_reg_cause_name(int cause)
{
	return cause >= 0 && cause < SIP_REG_CAUSE_MAX ? cause_names[cause] : "other";
}

static const char *direction_label(int dir)
{
	return dir == SIP_DIR_RX ? "inbound" : "outbound";
}

int sip_reg_init(uint32_t max, const struct sip_reg_causes *c, uint64_t incident_interval_ns)
{
	free(regs);
	regs = calloc(max ? max : 1, sizeof(*regs));
	if (!regs || sip_table_init(&table, max) ||
	    ratelimit_init(&incident_limit, incident_interval_ns, 256))
		return -1;
	if (c)
		causes = *c;
	stall_lapse_next = 0;
	return 0;
}

void sip_reg_free(void)
{
	sip_table_free(&table);
	ratelimit_fini(&incident_limit);
	free(regs);
	regs = NULL;
}

void sip_reg_register_metrics(struct metrics *reg)
{
	regs_f = metrics_gauge(
	    reg, "sipwatch_sip_registrations",
	    "SIP registrations (address of record + contact) by direction (inbound: peers register "
	    "to this host; outbound: this host registers to others) and state (active, lapsed).",
	    LABELS("direction", "state"));
	lapsed_f = metrics_counter(
	    reg, "sipwatch_sip_registrations_lapsed_total",
	    "SIP registrations that reached their expiry without a successful refresh, by the "
	    "cause "
	    "sipwatch saw: neigh_failed, send_stall, tcp_timeout, rejected, unanswered, silent.",
	    LABELS("direction", "cause"));
	evicted_f = metrics_counter(reg, "sipwatch_sip_registrations_evicted_total",
				    "SIP registrations forgotten because the table was full "
				    "(--sip.registrations-max).",
				    NO_LABELS);
	metric_set(evicted_f, NO_LABELS, 0);
	for (int d = 0; d < SIP_DIR_MAX; d++) {
		metric_set(regs_f, LABELS(direction_label(d), "active"), 0);
		metric_set(regs_f, LABELS(direction_label(d), "lapsed"), 0);
	}
}

static void copy_text(char *dst, struct sip_str s)
{
	size_t n = s.len < REG_TEXT_MAX - 1 ? s.len : REG_TEXT_MAX - 1;

	memcpy(dst, s.p, n);
	dst[n] = 0;
}

static uint64_t reg_key(uint64_t aor_hash, uint64_t contact_hash, int dir)
{
	return (aor_hash * 31 + contact_hash) ^ (uint64_t)dir;
}

uint64_t sip_reg_request(const struct sip_msg *m, const struct sip_msg_meta *meta)
{
	struct sip_str star = {"*", 1};
	struct sip_str contact = m->contact_star ? star : m->contacts[0].uri;
	uint64_t aor_hash, contact_hash, key;
	int64_t asked;
	struct sip_reg *r;
	int32_t s;

	/* No Contact: a query for the current bindings, not a registration. */
	if (!regs || !m->nr_contacts || !m->to.uri.len)
		return 0;
	aor_hash = sip_str_hash(SIP_HASH_INIT, m->to.uri);
	contact_hash = sip_str_hash(SIP_HASH_INIT, contact);
	key = reg_key(aor_hash, contact_hash, meta->dir);
	asked = m->contact_star ? m->expires : m->contacts[0].expires;
	if (asked < 0)
		asked = m->expires;
	s = sip_table_find(&table, key);
	if (s < 0) {
		s = sip_table_insert(&table, key);
		if (s < 0) {
			sip_table_remove(&table, sip_table_oldest(&table));
			metric_add(evicted_f, NO_LABELS, 1);
			s = sip_table_insert(&table, key);
			if (s < 0)
				return 0;
		}
		r = &regs[s];
		memset(r, 0, sizeof(*r));
		copy_text(r->aor, m->to.uri);
		copy_text(r->contact, contact);
		r->aor_hash = aor_hash;
		r->contact_hash = contact_hash;
		r->dir = (uint8_t)meta->dir;
		r->star = m->contact_star;
		r->state = REG_PENDING;
	} else {
		r = &regs[s];
		sip_table_touch(&table, s);
	}
	r->peer = meta->peer;
	r->attempt = ATTEMPT_PENDING;
	r->deregister = asked == 0;
	r->asked_s = asked;
	r->request_ns = r->seen_ns = meta->ts_ns;
	return key;
}

/* The granted expiry of @r's binding in a 2xx: its Contact's expires parameter, else the Expires
 * header. -1: the binding is not in the 2xx's list (gone). */
static int64_t granted_expiry(const struct sip_reg *r, const struct sip_msg *m)
{
	int listed = m->nr_contacts < SIP_MSG_CONTACTS_MAX ? m->nr_contacts : SIP_MSG_CONTACTS_MAX;

	for (int i = 0; i < listed; i++) {
		if (sip_str_hash(SIP_HASH_INIT, m->contacts[i].uri) != r->contact_hash)
			continue;
		if (m->contacts[i].expires >= 0)
			return m->contacts[i].expires;
		return m->expires >= 0 ? m->expires : REG_DEFAULT_EXPIRES;
	}
	if (m->nr_contacts > listed) /* beyond what was parsed: trust the header, else assume */
		return m->expires >= 0 ? m->expires : REG_DEFAULT_EXPIRES;
	/* Not listed. A registrar that lists no contact at all (not RFC 3261 §10.3 step 8, but
	 * seen: a bare "200 OK") still said yes: its Expires header, else what was asked for, else
	 * the default. */
	if (!m->nr_contacts)
		return m->expires >= 0	 ? m->expires
		       : r->asked_s >= 0 ? r->asked_s
					 : REG_DEFAULT_EXPIRES;
	return -1;
}

static void remove_aor(uint64_t aor_hash, int dir)
{
	int32_t next;

	for (int32_t s = sip_table_oldest(&table); s >= 0; s = next) {
		next = sip_table_newer(&table, s);
		if (regs[s].aor_hash == aor_hash && regs[s].dir == dir)
			sip_table_remove(&table, s);
	}
}

static void log_lapse(const struct sip_reg *r, int cause, uint64_t now_ns)
{
	char addr[64], key[RATELIMIT_KEY_MAX];
	uint64_t held_back;
	struct log_line l;

	decode_addr(addr, sizeof(addr), r->peer.family, r->peer.addr);
	snprintf(key, sizeof(key), "registration_lapsed %s %s", addr, cause_names[cause]);
	if (!ratelimit_allow(&incident_limit, key, now_ns, &held_back))
		return;
	incident_begin(&l, "registration_lapsed", "SIP registration lapsed");
	log_str(&l, "aor", r->aor);
	log_str(&l, "contact", r->contact);
	log_str(&l, "peer", addr);
	log_str(&l, "direction", direction_label(r->dir));
	log_str(&l, "cause", cause_names[cause]);
	if (cause == SIP_REG_REJECTED)
		log_uint(&l, "code", r->rejected_code);
	if (r->granted_ns)
		log_double(&l, "seconds_since_granted", (double)(now_ns - r->granted_ns) / 1e9);
	if (held_back)
		log_uint(&l, "suppressed", held_back);
	log_end(&l);
}

/*
 * Why @r lapsed. An answer from the registrar comes first (the kernel did not stop a 403); then
 * what the kernel saw in the window the refresh belonged in (from the last REGISTER, or the
 * second half of the granted interval when none was sent); then what SIP alone shows.
 */
static int lapse_cause(const struct sip_reg *r, uint64_t now_ns)
{
	uint64_t t1 = r->expires_ns ? r->expires_ns : now_ns, t0;

	if (r->attempt == ATTEMPT_REJECTED)
		return SIP_REG_REJECTED;
	if (r->request_ns > r->granted_ns)
		t0 = r->request_ns;
	else
		t0 = r->granted_ns + (t1 - r->granted_ns) / 2;
	if (causes.neigh_failed && causes.neigh_failed(&r->peer, t0, now_ns))
		return SIP_REG_NEIGH_FAILED;
	if (causes.send_stalled && causes.send_stalled(t0, now_ns))
		return SIP_REG_SEND_STALL;
	if (causes.tcp_timed_out && causes.tcp_timed_out(&r->peer, t0, now_ns))
		return SIP_REG_TCP_TIMEOUT;
	if (r->attempt == ATTEMPT_UNANSWERED || r->attempt == ATTEMPT_PENDING)
		return SIP_REG_UNANSWERED;
	return SIP_REG_SILENT;
}

static void lapse(struct sip_reg *r, int cause, uint64_t now_ns)
{
	r->state = REG_LAPSED;
	r->seen_ns = now_ns;
	metric_add(lapsed_f, LABELS(direction_label(r->dir), cause_names[cause]), 1);
	if (cause == SIP_REG_SEND_STALL)
		stall_lapse_ns[stall_lapse_next++ % STALL_LAPSES] = now_ns;
	log_lapse(r, cause, now_ns);
}

void sip_reg_final(uint64_t key, const struct sip_msg *m, const struct sip_msg_meta *meta)
{
	int32_t s = sip_table_find(&table, key);
	struct sip_reg *r;
	int64_t granted;

	if (s < 0)
		return;
	r = &regs[s];
	r->seen_ns = meta->ts_ns;
	if (m->status >= 300) {
		/* A challenge (401/407) or "interval too brief" (423) is answered by a new REGISTER
		 * (RFC 3261 §22.2, §10.2.8): part of registering, not a refusal. 3xx redirects. */
		if (m->status < 400 || m->status == 401 || m->status == 407 || m->status == 423)
			return;
		r->attempt = ATTEMPT_REJECTED;
		r->rejected_code = m->status;
		/* Never granted: nothing will expire, the refusal is the lapse. */
		if (r->state == REG_PENDING)
			lapse(r, SIP_REG_REJECTED, meta->ts_ns);
		return;
	}
	if (r->star) {
		if (r->deregister)
			remove_aor(r->aor_hash, r->dir);
		else
			sip_table_remove(&table, s);
		return;
	}
	granted = granted_expiry(r, m);
	if (granted <= 0 || r->deregister) {
		sip_table_remove(&table, s); /* ended, not lapsed */
		return;
	}
	r->attempt = ATTEMPT_OK;
	r->state = REG_ACTIVE;
	r->granted_ns = meta->ts_ns;
	r->expires_ns = meta->ts_ns + (uint64_t)granted * S_NS;
}

void sip_reg_unanswered(uint64_t key, uint64_t now_ns)
{
	int32_t s = sip_table_find(&table, key);
	struct sip_reg *r;

	if (s < 0)
		return;
	r = &regs[s];
	if (r->attempt != ATTEMPT_PENDING)
		return;
	r->attempt = ATTEMPT_UNANSWERED;
	/* Never granted: nothing will expire; the registration the client wanted did not happen. */
	if (r->state == REG_PENDING)
		lapse(r, lapse_cause(r, now_ns), now_ns);
}

static void count_for_peer(const struct sip_reg *r)
{
	struct sip_peer *p = peers_find(&r->peer);

	if (!p)
		return;
	if (r->state == REG_ACTIVE)
		p->sip.registrations++;
	else if (r->state == REG_LAPSED)
		p->sip.lapsed++;
}

void sip_reg_tick(uint64_t now_ns)
{
	uint32_t counts[SIP_DIR_MAX][2] = {{0}};
	int32_t next;

	if (!regs)
		return;
	peers_reset_registrations();
	for (int32_t s = sip_table_oldest(&table); s >= 0; s = next) {
		struct sip_reg *r = &regs[s];

		next = sip_table_newer(&table, s);
		if (r->state == REG_ACTIVE && now_ns >= r->expires_ns + REG_GRACE_NS)
			lapse(r, lapse_cause(r, now_ns), now_ns);
		if (now_ns > r->seen_ns &&
		    ((r->state == REG_LAPSED && now_ns - r->seen_ns > REG_LAPSED_KEEP_NS) ||
		     (r->state == REG_PENDING && now_ns - r->seen_ns > REG_PENDING_KEEP_NS))) {
			sip_table_remove(&table, s);
			continue;
		}
		if (r->state != REG_PENDING)
			counts[r->dir][r->state == REG_LAPSED]++;
		count_for_peer(r);
	}
	for (int d = 0; d < SIP_DIR_MAX; d++) {
		metric_set(regs_f, LABELS(direction_label(d), "active"), counts[d][0]);
		metric_set(regs_f, LABELS(direction_label(d), "lapsed"), counts[d][1]);
	}
}

void sip_reg_for_peer(const struct sip_peer_key *peer, void (*fn)(const char *aor, void *ctx),
		      void *ctx)
{
	int32_t next;

	for (int32_t s = sip_table_oldest(&table); s >= 0; s = next) {
		next = sip_table_newer(&table, s);
		if (regs[s].state == REG_ACTIVE && !memcmp(&regs[s].peer, peer, sizeof(*peer)))
			fn(regs[s].aor, ctx);
	}
}

uint64_t sip_reg_incidents_suppressed(void)
{
	return incident_limit.suppressed_total;
}

uint32_t sip_reg_lapsed_by_stall_between(uint64_t t0_ns, uint64_t t1_ns)
{
	uint32_t n = 0;
	uint64_t first = stall_lapse_next > STALL_LAPSES ? stall_lapse_next - STALL_LAPSES : 0;

	for (uint64_t i = first; i < stall_lapse_next; i++) {
		uint64_t t = stall_lapse_ns[i % STALL_LAPSES];

		if (t >= t0_ns && t <= t1_ns)
			n++;
	}
	return n;
}
