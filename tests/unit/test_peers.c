// SPDX-License-Identifier: GPL-2.0-only
/* The agent's SIP peer table (agent/peers.c): bound, idle eviction, next-hop states, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "peers.h"

#define S 1000000000ULL

static struct sip_peer_key v4(uint8_t last)
{
	struct sip_peer_key k = {.family = SW_AF_INET, .addr = {10, 99, 0, last}};

	return k;
}

static struct sip_peer_value seen(uint64_t rx_ns, uint64_t tx_ns)
{
	struct sip_peer_value v = {.last_rx_ns = rx_ns, .last_tx_ns = tx_ns, .rx_messages = 1};

	return v;
}

static int teardown(void **state)
{
	peers_free();
	return 0;
}

static void test_bound(void **state)
{
	assert_int_equal(peers_init(16, 600 * S), 0);
	peers_sync_begin();
	for (int i = 1; i <= 20; i++) {
		struct sip_peer_key k = v4((uint8_t)i);
		struct sip_peer_value v = seen(100 * S, 0);

		/* the 17th and later do not fit: the caller drops them from the kernel map */
		assert_int_equal(peers_sync_add(&k, &v, 101 * S, true), i <= 16);
	}
	peers_sync_end();
	assert_int_equal(peers_count(), 16);
}

static void test_idle_eviction(void **state)
{
	struct sip_peer_key a = v4(2), b = v4(3), c = v4(4);
	struct sip_peer_value old = seen(10 * S, 20 * S), fresh = seen(10 * S, 95 * S),
			      rx_only = seen(50 * S, 0);

	assert_int_equal(peers_init(64, 60 * S), 0);
	peers_sync_begin();
	assert_false(peers_sync_add(&a, &old, 100 * S, true));	  /* last activity 80 s ago */
	assert_true(peers_sync_add(&b, &fresh, 100 * S, true));	  /* tx 5 s ago keeps it */
	assert_true(peers_sync_add(&c, &rx_only, 100 * S, true)); /* exactly 50 s ago */
	peers_sync_end();
	assert_int_equal(peers_count(), 2);
	assert_null(peers_find(&a));
	assert_non_null(peers_find(&b));
	/* A later sync without c (the kernel's LRU dropped it): gone here too. */
	peers_sync_begin();
	assert_true(peers_sync_add(&b, &fresh, 100 * S, true));
	peers_sync_end();
	assert_int_equal(peers_count(), 1);
	assert_null(peers_find(&c));
}

/* What the agent learnt (next hop, state) survives a resync. */
static void test_state_kept_and_neighbours(void **state)
{
	struct sip_peer_key a = v4(2), b = v4(3);
	struct sip_peer_value v = seen(10 * S, 0);
	struct rtnl_neigh tab[3] = {
	    {.ifindex = 2, .family = SW_AF_INET, .addr = {10, 99, 0, 9}, .state = SW_NUD_FAILED},
	    {.ifindex = 2, .family = SW_AF_INET, .addr = {10, 99, 0, 2}, .state = SW_NUD_REACHABLE},
	    {.ifindex = 3, .family = SW_AF_INET, .addr = {10, 99, 0, 9}, .state = SW_NUD_STALE},
	};
	struct sip_peer *p;
	struct strbuf out;

	assert_int_equal(peers_init(64, 600 * S), 0);
	peers_sync_begin();
	peers_sync_add(&a, &v, 11 * S, true);
	peers_sync_add(&b, &v, 11 * S, true);
	peers_sync_end();
	p = peers_find(&a); /* on-link */
	p->has_next_hop = true;
	p->nh_ifindex = 2;
	memcpy(p->nh_addr, a.addr, 4);
	p = peers_find(&b); /* behind a gateway 10.99.0.9 on ifindex 2 */
	p->has_next_hop = true;
	p->nh_ifindex = 2;
	memcpy(p->nh_addr, (uint8_t[]){10, 99, 0, 9}, 4);
	peers_set_neigh_states(tab, 3);

	peers_sync_begin();
	peers_sync_add(&a, &v, 12 * S, true);
	peers_sync_add(&b, &v, 12 * S, true);
	peers_sync_end();
	assert_string_equal(peer_state_name(peers_find(&a)), "reachable");
	assert_string_equal(peer_state_name(peers_find(&b)), "failed");
	assert_false(peer_unreachable(peers_find(&a)));
	assert_true(peer_unreachable(peers_find(&b)));

	strbuf_init(&out);
	peers_to_json(&out, "failed", 12 * S);
	assert_non_null(strstr(out.data, "\"peer\":\"10.99.0.3\""));
	assert_non_null(strstr(out.data, "\"next_hop\":\"10.99.0.9\""));
	assert_non_null(strstr(out.data, "\"last_rx_seconds_ago\":2.000"));
	assert_non_null(strstr(out.data, "\"last_tx_seconds_ago\":null"));
	assert_null(strstr(out.data, "10.99.0.2"));
	strbuf_free(&out);
}

static int count_cb_calls;
static void count_cb(const struct sip_peer *p, void *ctx)
{
	count_cb_calls++;
}

static void test_with_next_hop(void **state)
{
	struct sip_peer_value v = seen(10 * S, 0);
	const uint8_t gw[4] = {10, 99, 0, 9};

	assert_int_equal(peers_init(64, 600 * S), 0);
	peers_sync_begin();
	for (int i = 2; i < 6; i++) {
		struct sip_peer_key k = v4((uint8_t)i);

		peers_sync_add(&k, &v, 11 * S, true);
	}
	peers_sync_end();
	for (int i = 2; i < 5; i++) {
		struct sip_peer_key k = v4((uint8_t)i);
		struct sip_peer *p = peers_find(&k);

		p->has_next_hop = true;
		p->nh_ifindex = 2;
		memcpy(p->nh_addr, gw, 4);
	}
	count_cb_calls = 0;
	peers_with_next_hop(2, SW_AF_INET, gw, count_cb, NULL);
	assert_int_equal(count_cb_calls, 3);
	count_cb_calls = 0;
	peers_with_next_hop(3, SW_AF_INET, gw, count_cb, NULL);
	assert_int_equal(count_cb_calls, 0);
	count_cb_calls = 0;
	peers_for_each(count_cb, NULL);
	assert_int_equal(count_cb_calls, 4);
}

static void resync_cb(const struct sip_peer *p, void *ctx)
{
	peers_sync_add(&p->key, &p->v, *(uint64_t *)ctx, true);
}

static uint64_t oldest_check;
static void oldest_cb(const struct sip_peer *p, void *ctx)
{
	if (p->route_checked_ns < oldest_check)
		oldest_check = p->route_checked_ns;
}

/*
 * 10 000 peers, one tick a second: every peer gets its next hop looked up within one re-check
 * age, new peers before stale ones, and none waits much longer than the age afterwards. (A fixed
 * 256 lookups a tick from the head of the table starved every peer past 7 680.)
 */
static void test_route_refresh_scales(void **state)
{
	const int n = 10000;
	const uint64_t age = 30 * S, tick = S;
	struct sip_peer_value v = seen(1 * S, 0);
	uint64_t now = 2 * S;
	struct sip_peer_key late;

	assert_int_equal(peers_init((uint32_t)n + 1, 3600 * S), 0);
	peers_sync_begin();
	for (int i = 0; i < n; i++) {
		struct sip_peer_key k = {.family = SW_AF_INET,
					 .addr = {10, 98, (uint8_t)(i >> 8), (uint8_t)i}};

		assert_true(peers_sync_add(&k, &v, now, true));
	}
	peers_sync_end();
	for (int t = 0; t < 30; t++, now += tick) {
		int done = peers_refresh_routes(now, age, tick);

		assert_in_range(done, PEERS_ROUTE_LOOKUPS_MIN, PEERS_ROUTE_LOOKUPS_MAX);
	}
	for (int i = 0; i < n; i++) {
		struct sip_peer_key k = {.family = SW_AF_INET,
					 .addr = {10, 98, (uint8_t)(i >> 8), (uint8_t)i}};

		assert_int_not_equal(peers_find(&k)->route_checked_ns, 0);
	}
	/* A peer that appears while everything is stale is looked up at the next tick. */
	now += 2 * age;
	late = v4(250);
	peers_sync_begin();
	peers_for_each(resync_cb, &now);
	assert_true(peers_sync_add(&late, &v, now, true));
	peers_sync_end();
	peers_refresh_routes(now, age, tick);
	assert_int_equal(peers_find(&late)->route_checked_ns, now);
	/* Two more ages of ticks: no peer's lookup is older than an age and a tick. */
	for (int t = 0; t < 60; t++, now += tick)
		peers_refresh_routes(now, age, tick);
	oldest_check = now;
	peers_for_each(oldest_cb, NULL);
	assert_true(now - oldest_check <= age + tick);
}

/*
 * Verified and unverified peers (issue 17 item 13): the flag follows the map a peer was synced
 * from, survives a re-sync that verifies it, and /peers says which; a verified peer keeps what the
 * agent knew of it (next-hop lookup time) when it moves over from the unverified map.
 */
static void test_verified(void **state)
{
	struct sip_peer_value v = seen(10 * S, 0);
	struct sip_peer_key real = v4(2), forged = v4(150);
	struct strbuf out;

	assert_int_equal(peers_init(16, 3600 * S), 0);
	peers_sync_begin();
	assert_true(peers_sync_add(&real, &v, 11 * S, false));
	assert_true(peers_sync_add(&forged, &v, 11 * S, false));
	peers_sync_end();
	assert_false(peers_find(&real)->verified);
	peers_find(&real)->route_checked_ns = 11 * S;
	peers_sync_begin();
	assert_true(peers_sync_add(&real, &v, 12 * S, true)); /* the PBX sent it a request */
	/* Listed again by the unverified map's walk (moved between the two walks): one entry. */
	assert_true(peers_sync_add(&real, &v, 12 * S, false));
	assert_true(peers_sync_add(&forged, &v, 12 * S, false));
	peers_sync_end();
	assert_int_equal(peers_count(), 2);
	assert_true(peers_find(&real)->verified);
	assert_int_equal(peers_find(&real)->route_checked_ns, 11 * S);
	assert_false(peers_find(&forged)->verified);
	strbuf_init(&out);
	peers_to_json(&out, NULL, 12 * S);
	assert_non_null(strstr(out.data, "\"peer\":\"10.99.0.2\""));
	assert_non_null(strstr(out.data, "\"verified\":true"));
	assert_non_null(strstr(out.data, "\"verified\":false"));
	strbuf_free(&out);
	assert_false(peers_recheck_route(&(struct sip_peer_key){.family = SW_AF_INET}, 12 * S));
}

/*
 * Issue 18: a peer's SIP stats survive syncs, stats of a peer not in the table yet wait for it,
 * the unreachable stamp is kept after the next hop recovers, /peers carries the fields, and the
 * per-peer series go to the peers with the most harm only.
 */
static void test_sip_stats(void **state)
{
	struct sip_peer_key a = v4(2), b = v4(3), c = v4(4);
	struct sip_peer_value v = seen(10 * S, 0);
	struct rtnl_neigh failed = {
	    .ifindex = 2, .family = SW_AF_INET, .addr = {10, 99, 0, 2}, .state = SW_NUD_FAILED};
	struct metrics *reg = metrics_new();
	struct sip_peer *p;
	struct strbuf out;

	assert_int_equal(peers_init(64, 600 * S), 0);
	peers_register_metrics(reg);
	peers_sync_begin();
	peers_sync_add(&a, &v, 11 * S, true);
	peers_sync_end();
	/* b is not in the table yet: its stats wait for the sync that adds it */
	peers_sip_stats(&b)->retransmissions = 5;
	peers_sip_stats(&a)->unanswered = 2;
	peers_sip_stats(&a)->transactions = 2;
	peers_sip_stats(&a)->latency_sum_s = 0.5;
	peers_sip_stats(&a)->last_final_code = 486;
	p = peers_find(&a);
	p->has_next_hop = true;
	p->nh_ifindex = 2;
	memcpy(p->nh_addr, a.addr, 4);
	peers_set_neigh_states(&failed, 1);
	peers_note_unreachable(11 * S);
	peers_sync_begin();
	peers_sync_add(&a, &v, 12 * S, true);
	peers_sync_add(&b, &v, 12 * S, true);
	peers_sync_add(&c, &v, 12 * S, true);
	peers_sync_end();
	assert_int_equal(peers_find(&a)->sip.unanswered, 2);
	assert_int_equal(peers_find(&a)->unreachable_ns, 11 * S);
	assert_int_equal(peers_find(&b)->sip.retransmissions, 5);
	assert_int_equal(peers_find(&c)->sip.retransmissions, 0);

	strbuf_init(&out);
	peers_to_json(&out, NULL, 12 * S);
	assert_non_null(strstr(out.data, "\"unanswered_transactions\":2,\"last_final_code\":486,"
					 "\"transaction_latency_seconds\":0.250000"));
	assert_non_null(strstr(out.data, "\"retransmissions\":5"));
	strbuf_free(&out);

	/* one series allowed: a (harm 2 x 4) before b (5); c has none and never gets one */
	peers_collect_metrics(1);
	assert_int_equal(
	    metric_family_series(metrics_find(reg, "sipwatch_sip_peer_unanswered_transactions")),
	    1);
	assert_int_equal(
	    metric_value(metrics_find(reg, "sipwatch_sip_peer_unanswered_transactions"),
			 LABELS("10.99.0.2")),
	    2);
	peers_collect_metrics(10);
	assert_int_equal(
	    metric_family_series(metrics_find(reg, "sipwatch_sip_peer_retransmissions")), 2);
	metrics_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_bound, teardown),
	    cmocka_unit_test_teardown(test_idle_eviction, teardown),
	    cmocka_unit_test_teardown(test_state_kept_and_neighbours, teardown),
	    cmocka_unit_test_teardown(test_with_next_hop, teardown),
	    cmocka_unit_test_teardown(test_route_refresh_scales, teardown),
	    cmocka_unit_test_teardown(test_verified, teardown),
	    cmocka_unit_test_teardown(test_sip_stats, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
