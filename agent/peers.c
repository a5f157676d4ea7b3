// SPDX-License-Identifier: GPL-2.0-only
#include "peers.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "ifname.h"
#include "log.h"
#include "neigh.h"

/*
 * Two arrays: the table and the one being rebuilt by a sync; a hash of indices over the table
 * (open addressing, rebuilt with it) makes each sync O(peers).
 */
static struct sip_peer *table, *next_table;
static int32_t *index_of, *next_index;
static uint32_t max_peers, hash_size;
static int nr_peers, nr_next;
static int route_cursor; /* round robin: where the last tick's stale pass stopped */
static uint64_t idle_ns;
static struct metric_family *peers_by_state, *peer_unreachable_f;
static struct metric_family *peer_retrans_f, *peer_unanswered_f, *peer_latency_f, *peer_regs_f;

/*
 * SIP stats of peers not in the table yet: a phone's first REGISTER and its 2xx come before the
 * next sync adds it (once a second). Kept here until then; a small bounded side table, the oldest
 * slot reused when full (a peer that never enters the table loses nothing anyone could see).
 */
#define PENDING_STATS 256
static struct {
	struct sip_peer_key key;
	struct peer_sip_stats sip;
	bool used;
} pending[PENDING_STATS];
static unsigned pending_next;

static size_t addr_len(uint8_t family)
{
	return family == SW_AF_INET6 ? 16 : 4;
}

static uint32_t key_hash(const struct sip_peer_key *k)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	h = (h ^ k->family) * 16777619u;
	for (size_t i = 0; i < sizeof(k->addr); i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h;
}

static bool key_equal(const struct sip_peer_key *a, const struct sip_peer_key *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int32_t hash_find(const int32_t *idx, const struct sip_peer *tab,
			 const struct sip_peer_key *k)
{
	for (uint32_t i = key_hash(k) & (hash_size - 1);; i = (i + 1) & (hash_size - 1)) {
		if (idx[i] < 0)
			return -1;
		if (key_equal(&tab[idx[i]].key, k))
			return idx[i];
	}
}

static void hash_insert(int32_t *idx, const struct sip_peer_key *k, int32_t pos)
{
	uint32_t i = key_hash(k) & (hash_size - 1);

	while (idx[i] >= 0)
		i = (i + 1) & (hash_size - 1);
	idx[i] = pos;
}

int peers_init(uint32_t max, uint64_t idle_timeout_ns)
{
	peers_free();
	max_peers = max;
	route_cursor = 0;
	idle_ns = idle_timeout_ns;
	for (hash_size = 16; hash_size < 2 * max; hash_size <<= 1)
		;
	table = calloc(max, sizeof(*table));
	next_table = calloc(max, sizeof(*next_table));
	index_of = malloc(hash_size * sizeof(*index_of));
	next_index = malloc(hash_size * sizeof(*next_index));
	if (!table || !next_table || !index_of || !next_index) {
		peers_free();
		return -1;
	}
	memset(index_of, 0xff, hash_size * sizeof(*index_of));
	return 0;
}

void peers_free(void)
{
	free(table);
	free(next_table);
	free(index_of);
	free(next_index);
	table = next_table = NULL;
	index_of = next_index = NULL;
	nr_peers = nr_next = 0;
	max_peers = 0;
	memset(pending, 0, sizeof(pending));
}

int peers_count(void)
{
	return nr_peers;
}

void peers_sync_begin(void)
{
	nr_next = 0;
	if (next_index)
		memset(next_index, 0xff, hash_size * sizeof(*next_index));
}

static uint64_t last_active_ns(const struct sip_peer_value *v)
{
	return v->last_rx_ns > v->last_tx_ns ? v->last_rx_ns : v->last_tx_ns;
}

static void take_pending_stats(const struct sip_peer_key *key, struct peer_sip_stats *out)
{
	for (int i = 0; i < PENDING_STATS; i++)
		if (pending[i].used && !memcmp(&pending[i].key, key, sizeof(*key))) {
			*out = pending[i].sip;
			pending[i].used = false;
			return;
		}
}

struct peer_sip_stats *peers_sip_stats(const struct sip_peer_key *key)
{
	struct sip_peer *p = peers_find(key);
	unsigned slot;

	if (p)
		return &p->sip;
	for (int i = 0; i < PENDING_STATS; i++)
		if (pending[i].used && !memcmp(&pending[i].key, key, sizeof(*key)))
			return &pending[i].sip;
	slot = pending_next++ % PENDING_STATS;
	memset(&pending[slot], 0, sizeof(pending[slot]));
	pending[slot].key = *key;
	pending[slot].used = true;
	return &pending[slot].sip;
}

bool peers_sync_add(const struct sip_peer_key *key, const struct sip_peer_value *v, uint64_t now_ns,
		    bool verified)
{
	struct sip_peer *p;
	int32_t old;

	if (!next_table || (uint32_t)nr_next >= max_peers)
		return false;
	if (now_ns > last_active_ns(v) && now_ns - last_active_ns(v) > idle_ns)
		return false;
	if (hash_find(next_index, next_table, key) >= 0)
		return true; /* listed twice by one map walk (it changed underneath): keep one */
	p = &next_table[nr_next];
	old = hash_find(index_of, table, key);
	if (old >= 0) {
		*p = table[old];
	} else {
		memset(p, 0, sizeof(*p));
		take_pending_stats(key, &p->sip);
	}
	p->key = *key;
	p->v = *v;
	p->verified = verified;
	hash_insert(next_index, key, nr_next);
	nr_next++;
	return true;
}

void peers_sync_end(void)
{
	struct sip_peer *t = table;
	int32_t *i = index_of;

	table = next_table;
	next_table = t;
	index_of = next_index;
	next_index = i;
	nr_peers = nr_next;
}

struct sip_peer *peers_find(const struct sip_peer_key *key)
{
	int32_t pos;

	if (!table)
		return NULL;
	pos = hash_find(index_of, table, key);
	return pos < 0 ? NULL : &table[pos];
}

static void refresh_route(struct sip_peer *p, uint64_t now_ns)
{
	p->route_checked_ns = now_ns;
	p->has_next_hop = !rtnl_next_hop(p->key.family, p->key.addr, &p->nh_ifindex, p->nh_addr);
}

bool peers_recheck_route(const struct sip_peer_key *key, uint64_t now_ns)
{
	struct sip_peer *p = peers_find(key);

	if (!p)
		return false;
	refresh_route(p, now_ns);
	return true;
}

/*
 * Lookups this tick so that the whole table is re-checked every @max_age_ns: the table's share
 * of one tick, at least PEERS_ROUTE_LOOKUPS_MIN, at most PEERS_ROUTE_LOOKUPS_MAX (each lookup is a
 * synchronous rtnetlink round trip on the agent's only thread). Past the cap, the age scales.
 */
static int route_budget(uint64_t max_age_ns, uint64_t tick_ns)
{
	uint64_t share = max_age_ns ? ((uint64_t)nr_peers * tick_ns + max_age_ns - 1) / max_age_ns
				    : (uint64_t)nr_peers;

	if (share < PEERS_ROUTE_LOOKUPS_MIN)
		return PEERS_ROUTE_LOOKUPS_MIN;
	return share > PEERS_ROUTE_LOOKUPS_MAX ? PEERS_ROUTE_LOOKUPS_MAX : (int)share;
}

int peers_refresh_routes(uint64_t now_ns, uint64_t max_age_ns, uint64_t tick_ns)
{
	int budget = route_budget(max_age_ns, tick_ns), done = 0;

	/* Peers never checked first: a new peer has no next hop (and no state) until then. */
	for (int i = 0; i < nr_peers && done < budget; i++) {
		if (!table[i].route_checked_ns) {
			refresh_route(&table[i], now_ns);
			done++;
		}
	}
	/*
	 * Then stale ones, from where the last tick stopped: scanning from 0 every tick would
	 * re-check the head of the table forever and never reach its tail.
	 */
	for (int n = 0; n < nr_peers && done < budget; n++) {
		struct sip_peer *p;

		if (route_cursor >= nr_peers)
			route_cursor = 0;
		p = &table[route_cursor++];
		if (now_ns - p->route_checked_ns >= max_age_ns) {
			refresh_route(p, now_ns);
			done++;
		}
	}
	return done;
}

static int neigh_cmp(const void *a, const void *b)
{
	const struct rtnl_neigh *x = a, *y = b;

	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

void peers_set_neigh_states(struct rtnl_neigh *tab, int n)
{
	qsort(tab, (size_t)n, sizeof(*tab), neigh_cmp);
	for (int i = 0; i < nr_peers; i++) {
		struct sip_peer *p = &table[i];
		struct rtnl_neigh want = {.ifindex = p->nh_ifindex, .family = p->key.family};
		const struct rtnl_neigh *hit;

		p->has_neigh = false;
		if (!p->has_next_hop)
			continue;
		memcpy(want.addr, p->nh_addr, sizeof(want.addr));
		hit = bsearch(&want, tab, (size_t)n, sizeof(*tab), neigh_cmp);
		if (hit) {
			p->has_neigh = true;
			p->nud_state = hit->state;
		}
	}
}

void peers_for_each(peers_fn fn, void *ctx)
{
	for (int i = 0; i < nr_peers; i++)
		fn(&table[i], ctx);
}

void peers_with_next_hop(int ifindex, uint8_t family, const uint8_t *addr, peers_fn fn, void *ctx)
{
	for (int i = 0; i < nr_peers; i++) {
		const struct sip_peer *p = &table[i];

		if (p->has_next_hop && p->nh_ifindex == ifindex && p->key.family == family &&
		    !memcmp(p->nh_addr, addr, addr_len(family)))
			fn(p, ctx);
	}
}

/*
 * sipwatch_sip_peers{state} by index: 0 is "none" (no neighbour entry), then one per NUD bit,
 * lowest first (SW_NUD_INCOMPLETE 0x01 … SW_NUD_PERMANENT 0x80), named by neigh_state_name().
 */
#define NR_PEER_STATES 9

static uint8_t peer_state_nud(size_t index)
{
	return index ? (uint8_t)(1u << (index - 1)) : SW_NUD_NONE;
}

/* NUD_* values can combine flags; the entry's state is one of them, so the lowest bit names it. */
static size_t peer_state_index(const struct sip_peer *p)
{
	if (!p->has_neigh || !(p->nud_state & 0xff))
		return 0;
	return (size_t)__builtin_ctz(p->nud_state & 0xff) + 1;
}

const char *peer_state_name(const struct sip_peer *p)
{
	return neigh_state_name(peer_state_nud(peer_state_index(p)));
}

bool peer_unreachable(const struct sip_peer *p)
{
	return p->has_neigh && (p->nud_state & (SW_NUD_FAILED | SW_NUD_INCOMPLETE));
}

void peers_note_unreachable(uint64_t now_ns)
{
	for (int i = 0; i < nr_peers; i++)
		if (peer_unreachable(&table[i]))
			table[i].unreachable_ns = now_ns;
}

const char *peer_address(const struct sip_peer *p, char *buf, size_t len)
{
	decode_addr(buf, len, p->key.family, p->key.addr);
	return buf;
}

void peers_register_metrics(struct metrics *reg)
{
	peers_by_state = metrics_gauge(reg, "sipwatch_sip_peers",
				       "SIP peers in the peer table, by the neighbour state of "
				       "their next hop (none: no entry).",
				       LABELS("state"));
	peer_unreachable_f =
	    metrics_gauge(reg, "sipwatch_sip_peer_unreachable",
			  "1 for each SIP peer whose next hop is FAILED or INCOMPLETE now (at most "
			  "--metrics.peer-series series; /peers lists them all).",
			  LABELS("peer", "ifname"));
	peer_retrans_f = metrics_gauge(
	    reg, "sipwatch_sip_peer_retransmissions",
	    "SIP requests and final responses seen again in transactions with this peer, since it "
	    "entered the peer table (only the --metrics.peer-series peers with the most harm).",
	    LABELS("peer"));
	peer_unanswered_f = metrics_gauge(
	    reg, "sipwatch_sip_peer_unanswered_transactions",
	    "SIP transactions with this peer that got no final response within 64 x T1, since it "
	    "entered the peer table (the --metrics.peer-series peers with the most harm).",
	    LABELS("peer"));
	peer_latency_f = metrics_gauge(
	    reg, "sipwatch_sip_peer_transaction_latency_seconds",
	    "Mean request -> final response time of SIP transactions with this peer (the "
	    "--metrics.peer-series peers with the most harm).",
	    LABELS("peer"));
	peer_regs_f = metrics_gauge(
	    reg, "sipwatch_sip_peer_registrations",
	    "SIP registrations from or to this peer now, by state (active, lapsed; the "
	    "--metrics.peer-series peers with the most harm).",
	    LABELS("peer", "state"));
}

void peers_reset_registrations(void)
{
	for (int i = 0; i < nr_peers; i++) {
		table[i].sip.registrations = 0;
		table[i].sip.lapsed = 0;
	}
}

/* How much SIP harm a peer shows: what ranks it for the per-peer series. */
static uint64_t peer_harm(const struct sip_peer *p)
{
	return p->sip.unanswered * 4 + p->sip.lapsed * 4 + p->sip.retransmissions;
}

static int by_harm_desc(const void *a, const void *b)
{
	uint64_t ha = peer_harm(*(const struct sip_peer *const *)a),
		 hb = peer_harm(*(const struct sip_peer *const *)b);

	return ha < hb ? 1 : ha > hb ? -1 : 0;
}

/* The per-peer SIP series, for the @max_series peers with the most harm (none without any). */
static void collect_sip_series(uint32_t max_series)
{
	const struct sip_peer **worst;
	uint32_t n = 0;

	metric_family_clear(peer_retrans_f);
	metric_family_clear(peer_unanswered_f);
	metric_family_clear(peer_latency_f);
	metric_family_clear(peer_regs_f);
	if (!max_series || !nr_peers)
		return;
	worst = malloc((size_t)nr_peers * sizeof(*worst));
	if (!worst)
		return;
	for (int i = 0; i < nr_peers; i++)
		if (peer_harm(&table[i]))
			worst[n++] = &table[i];
	qsort(worst, n, sizeof(*worst), by_harm_desc);
	for (uint32_t i = 0; i < n && i < max_series; i++) {
		const struct sip_peer *p = worst[i];
		char addr[INET6_ADDRSTRLEN];

		peer_address(p, addr, sizeof(addr));
		metric_set(peer_retrans_f, LABELS(addr), (double)p->sip.retransmissions);
		metric_set(peer_unanswered_f, LABELS(addr), (double)p->sip.unanswered);
		if (p->sip.transactions)
			metric_set(peer_latency_f, LABELS(addr),
				   p->sip.latency_sum_s / (double)p->sip.transactions);
		metric_set(peer_regs_f, LABELS(addr, "active"), p->sip.registrations);
		metric_set(peer_regs_f, LABELS(addr, "lapsed"), p->sip.lapsed);
	}
	free(worst);
}

void peers_collect_metrics(uint32_t max_series)
{
	uint32_t series = 0, by_state[NR_PEER_STATES] = {0};

	metric_family_clear(peers_by_state);
	metric_family_clear(peer_unreachable_f);
	for (int i = 0; i < nr_peers; i++) {
		const struct sip_peer *p = &table[i];
		char addr[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];

		/* Counted here, set once per state below: a metric update per peer formats and
		 * looks up the series key, which was a third of a scrape at 10 000 peers. */
		by_state[peer_state_index(p)]++;
		if (!peer_unreachable(p) || series >= max_series)
			continue;
		series++;
		metric_set(peer_unreachable_f,
			   LABELS(peer_address(p, addr, sizeof(addr)),
				  ifname_label(p->nh_ifindex, ifname)),
			   1);
	}
	for (size_t k = 0; k < NR_PEER_STATES; k++)
		metric_set(peers_by_state, LABELS(neigh_state_name(peer_state_nud(k))),
			   by_state[k]);
	collect_sip_series(max_series);
}

static void json_age(struct strbuf *out, const char *name, uint64_t ts, uint64_t now_ns)
{
	if (!ts)
		strbuf_printf(out, ",\"%s\":null", name);
	else
		strbuf_printf(out, ",\"%s\":%.3f", name,
			      now_ns > ts ? (double)(now_ns - ts) / 1e9 : 0.0);
}

void peers_to_json(struct strbuf *out, const char *state, uint64_t now_ns)
{
	bool first = true;

	strbuf_puts(out, "{\"peers\":[");
	for (int i = 0; i < nr_peers; i++) {
		const struct sip_peer *p = &table[i];
		char addr[INET6_ADDRSTRLEN], nh[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];

		if (state && strcmp(state, peer_state_name(p)))
			continue;
		strbuf_puts(out, first ? "{" : ",{");
		first = false;
		strbuf_puts(out, "\"peer\":");
		strbuf_json_string(out, peer_address(p, addr, sizeof(addr)));
		strbuf_printf(out, ",\"family\":\"%s\"", neigh_family_name(p->key.family));
		strbuf_puts(out, ",\"ifname\":");
		strbuf_json_string(
		    out, ifname_label(p->has_next_hop ? p->nh_ifindex : (int)p->v.ifindex, ifname));
		strbuf_puts(out, ",\"next_hop\":");
		if (p->has_next_hop) {
			decode_addr(nh, sizeof(nh), p->key.family, p->nh_addr);
			strbuf_json_string(out, nh);
		} else {
			strbuf_puts(out, "null");
		}
		strbuf_printf(out, ",\"state\":\"%s\",\"verified\":%s", peer_state_name(p),
			      p->verified ? "true" : "false");
		json_age(out, "last_rx_seconds_ago", p->v.last_rx_ns, now_ns);
		json_age(out, "last_tx_seconds_ago", p->v.last_tx_ns, now_ns);
		strbuf_printf(out, ",\"rx_messages\":%llu,\"tx_messages\":%llu",
			      (unsigned long long)p->v.rx_messages,
			      (unsigned long long)p->v.tx_messages);
		strbuf_printf(out,
			      ",\"registrations\":%u,\"registrations_lapsed\":%u,"
			      "\"transactions\":%llu,\"retransmissions\":%llu,"
			      "\"unanswered_transactions\":%llu",
			      p->sip.registrations, p->sip.lapsed,
			      (unsigned long long)p->sip.transactions,
			      (unsigned long long)p->sip.retransmissions,
			      (unsigned long long)p->sip.unanswered);
		if (p->sip.last_final_code)
			strbuf_printf(out, ",\"last_final_code\":%u", p->sip.last_final_code);
		else
			strbuf_puts(out, ",\"last_final_code\":null");
		if (p->sip.transactions)
			strbuf_printf(out,
				      ",\"transaction_latency_seconds\":%.6f,"
				      "\"last_transaction_latency_seconds\":%.6f}",
				      p->sip.latency_sum_s / (double)p->sip.transactions,
				      p->sip.latency_last_s);
		else
			strbuf_puts(out, ",\"transaction_latency_seconds\":null,"
					 "\"last_transaction_latency_seconds\":null}");
	}
	strbuf_puts(out, "]}");
}
