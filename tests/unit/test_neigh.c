// SPDX-License-Identifier: GPL-2.0-only
/*
 * Neighbour concern, userspace side: state and reason names (the metric label values), the
 * holdings bookkeeping behind neigh_socket_holdings()/neigh_for_each_sip_held(), and the incident
 * rate limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"
#include "neigh.h"
#include "ratelimit.h"

#define NEIGH_A 0xffff888000001000ull
#define NEIGH_B 0xffff888000002000ull
#define SOCK_1	0xffff888100000100ull
#define SOCK_2	0xffff888100000200ull
#define SEC	1000000000ull

static void test_drop_reason_names(void **state)
{
	assert_string_equal(neigh_drop_reason_name(NEIGH_DROP_FAILED), "failed");
	assert_string_equal(neigh_drop_reason_name(NEIGH_DROP_QUEUE_FULL), "queue_full");
	assert_string_equal(neigh_drop_reason_name(NEIGH_DROP_DEAD), "dead");
	assert_string_equal(neigh_drop_reason_name(NEIGH_DROP_CREATE_FAILED), "create_failed");
	assert_string_equal(neigh_drop_reason_name(NEIGH_DROP_NR), "other");
}

static struct neigh_hold_snapshot hold(uint64_t neigh, uint64_t sk, uint32_t gen, uint8_t release,
				       uint64_t released_ns, uint64_t bytes, uint64_t peak,
				       uint32_t peak_packets, uint16_t port, uint8_t last_addr)
{
	struct neigh_hold_snapshot s;

	memset(&s, 0, sizeof(s));
	s.key.neigh = neigh;
	s.key.sk = sk;
	s.hold.gen = gen;
	s.hold.release = release;
	s.hold.released_ns = released_ns;
	s.hold.bytes = bytes;
	s.hold.packets = (uint32_t)(bytes / 2304);
	s.hold.peak_bytes = peak;
	s.hold.peak_packets = peak_packets;
	s.hold.queued_packets = peak_packets;
	s.hold.port = port;
	s.hold.proto = 17;
	s.hold.family = SW_AF_INET;
	strcpy(s.hold.ifname, "eth0");
	s.hold.addr[0] = 10;
	s.hold.addr[3] = last_addr;
	return s;
}

/* Episode 7 of NEIGH_A is the open one; everything else ended. */
static bool only_a7_open(uint64_t neigh, uint32_t gen, void *ctx)
{
	(*(int *)ctx)++;
	return neigh == NEIGH_A && gen == 7;
}

static void test_socket_holdings_window(void **state)
{
	struct neigh_hold_snapshot snap[] = {
	    /* still parked in A: always reported, with its peak */
	    hold(NEIGH_A, SOCK_1, 7, NEIGH_HELD, 0, 4608, 9216, 4, 5060, 2),
	    /* released from B at t=100 s (the entry failed) */
	    hold(NEIGH_B, SOCK_1, 3, NEIGH_RELEASED_FAILED, 100 * SEC, 0, 46080, 20, 5060, 3),
	    /* another socket */
	    hold(NEIGH_B, SOCK_2, 3, NEIGH_RELEASED_FAILED, 100 * SEC, 0, 2304, 1, 40000, 3),
	};
	struct neigh_holding out[4];
	int calls = 0, n;

	/* Window starts before the release: both entries. */
	n = neigh_holdings_select(snap, 3, SOCK_1, 90 * SEC, only_a7_open, &calls, out, 4);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].ifname, "eth0");
	assert_int_equal(out[0].family, SW_AF_INET);
	assert_int_equal(out[0].addr[3], 2);
	assert_int_equal(out[0].bytes, 9216);
	assert_int_equal(out[0].packets, 4);
	assert_int_equal(out[1].addr[3], 3);
	assert_int_equal(out[1].bytes, 46080);
	assert_int_equal(out[1].packets, 20);
	assert_true(calls >= 1);

	/* Window starts after the release: only what is parked now. */
	n = neigh_holdings_select(snap, 3, SOCK_1, 101 * SEC, only_a7_open, &calls, out, 4);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].addr[3], 2);

	/* Released exactly at the window's start still counts. */
	assert_int_equal(
	    neigh_holdings_select(snap, 3, SOCK_2, 100 * SEC, only_a7_open, &calls, out, 4), 1);
	/* Bounded by max. */
	assert_int_equal(neigh_holdings_select(snap, 3, SOCK_1, 0, only_a7_open, &calls, out, 1),
			 1);
	/* A socket never seen. */
	assert_int_equal(neigh_holdings_select(snap, 3, 42, 0, only_a7_open, &calls, out, 4), 0);
}

/* A holding marked parked whose entry's episode is over (the release was missed) is not parked. */
static void test_stale_holding_not_reported(void **state)
{
	struct neigh_hold_snapshot snap[] = {
	    hold(NEIGH_A, SOCK_1, 6, NEIGH_HELD, 0, 2304, 2304, 1, 5060, 2),
	};
	struct neigh_holding out[2];
	int calls = 0;

	assert_int_equal(neigh_holdings_select(snap, 1, SOCK_1, 0, only_a7_open, &calls, out, 2),
			 0);
}

static bool sip_5060(uint16_t port)
{
	return port == 5060 || port == 5061;
}

static void test_sip_held_sum(void **state)
{
	struct neigh_hold_snapshot snap[] = {
	    hold(NEIGH_A, SOCK_1, 7, NEIGH_HELD, 0, 4608, 4608, 2, 5060, 2),
	    hold(NEIGH_A, SOCK_2, 7, NEIGH_HELD, 0, 2304, 2304, 1, 5060, 2),
	    /* not a SIP port */
	    hold(NEIGH_A, SOCK_2 + 1, 7, NEIGH_HELD, 0, 2304, 2304, 1, 40000, 2),
	    /* released: not held now */
	    hold(NEIGH_B, SOCK_1, 3, NEIGH_RELEASED_SENT, 5 * SEC, 0, 2304, 1, 5060, 3),
	    /* episode over unseen */
	    hold(NEIGH_B, SOCK_2, 2, NEIGH_HELD, 0, 2304, 2304, 1, 5061, 3),
	    /* TCP on the same port is its own row */
	    hold(NEIGH_A, SOCK_2 + 2, 7, NEIGH_HELD, 0, 1000, 1000, 1, 5060, 2),
	};
	struct neigh_sip_held out[4];
	int calls = 0, n;

	snap[5].hold.proto = 6;
	n = neigh_sip_held_sum(snap, 6, sip_5060, only_a7_open, &calls, out, 4);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].proto, 17);
	assert_int_equal(out[0].port, 5060);
	assert_int_equal(out[0].bytes, 4608 + 2304);
	assert_int_equal(out[1].proto, 6);
	assert_int_equal(out[1].bytes, 1000);
	/* Bounded by max: the rows that do not fit are left out, not merged. */
	n = neigh_sip_held_sum(snap, 6, sip_5060, only_a7_open, &calls, out, 1);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].bytes, 4608 + 2304);
}

static void test_ratelimit(void **state)
{
	struct ratelimit rl;
	uint64_t held;

	assert_int_equal(ratelimit_init(&rl, 10 * SEC, 2), 0);
	assert_true(ratelimit_allow(&rl, "eth0 10.0.0.2", 100 * SEC, &held));
	assert_int_equal(held, 0);
	/* Same key within the interval: held back and counted. */
	assert_false(ratelimit_allow(&rl, "eth0 10.0.0.2", 101 * SEC, &held));
	assert_false(ratelimit_allow(&rl, "eth0 10.0.0.2", 109 * SEC, &held));
	assert_int_equal(rl.suppressed_total, 2);
	/* Another key is independent. */
	assert_true(ratelimit_allow(&rl, "eth0 10.0.0.3", 102 * SEC, &held));
	/* After the interval: through, carrying what was held back. */
	assert_true(ratelimit_allow(&rl, "eth0 10.0.0.2", 110 * SEC, &held));
	assert_int_equal(held, 2);
	assert_false(ratelimit_allow(&rl, "eth0 10.0.0.2", 111 * SEC, &held));
	/* Table full (2 keys): a third key evicts the one let through longest ago (…3). */
	assert_true(ratelimit_allow(&rl, "eth0 10.0.0.4", 112 * SEC, &held));
	assert_true(ratelimit_allow(&rl, "eth0 10.0.0.3", 113 * SEC, &held));
	assert_int_equal(held, 0);
	/* …3 came back as a new key (its suppressions forgotten) and evicted …2, now the oldest. */
	assert_int_equal(rl.suppressed_total, 3);
	ratelimit_fini(&rl);

	/* Interval 0: everything goes through. */
	assert_int_equal(ratelimit_init(&rl, 0, 4), 0);
	assert_true(ratelimit_allow(&rl, "k", 1, &held));
	assert_true(ratelimit_allow(&rl, "k", 1, &held));
	assert_int_equal(rl.suppressed_total, 0);
	ratelimit_fini(&rl);
}

/* Issue 17 item 15: ?since= must not wrap when turned into nanoseconds. */
static void test_since_window(void **state)
{
	uint64_t ns = 7;

	assert_int_equal(neigh_since_window_ns("300", &ns), 0);
	assert_true(ns == 300 * SEC);
	assert_int_equal(neigh_since_window_ns("0", &ns), 0);
	assert_true(ns == 0);
	assert_int_equal(neigh_since_window_ns("31622400", &ns), 0);
	assert_true(ns == NEIGH_SINCE_MAX_S * SEC);
	ns = 7;
	/* 18446744074 s is 2^64 ns + 290448384 ns: wrapped, it would mean "the last 0.29 s". */
	assert_int_equal(neigh_since_window_ns("18446744074", &ns), -1);
	assert_int_equal(neigh_since_window_ns("18446744073709551617", &ns), -1);
	assert_int_equal(neigh_since_window_ns("99999999999999999999999", &ns), -1);
	assert_int_equal(neigh_since_window_ns("31622401", &ns), -1);
	assert_int_equal(neigh_since_window_ns("-1", &ns), -1);
	assert_int_equal(neigh_since_window_ns("+5", &ns), -1);
	assert_int_equal(neigh_since_window_ns(" 5", &ns), -1);
	assert_int_equal(neigh_since_window_ns("1.5", &ns), -1);
	assert_int_equal(neigh_since_window_ns("", &ns), -1);
	assert_true(ns == 7); /* untouched on error */
}

/*
 * Issue 21: fail-fast reports its refusals through neigh_add_drops(); the family comes out the
 * same whether the neighbour concern collects before or after it.
 */
static void test_add_drops_any_order(void **state)
{
	struct metrics *reg = metrics_new();
	struct metric_family *f = metrics_counter(reg, "sipwatch_neigh_dropped_packets_total", "d",
						  LABELS("ifname", "family", "reason"));

	neigh_drops_bind(f, false);
	/* fail-fast first, then neigh's rebuild */
	neigh_add_drops(1, "eth0", SW_AF_INET, "fail_fast", 5);
	assert_int_equal(neigh_drops_collect(), 0);
	assert_true(metric_value(f, LABELS("eth0", "ipv4", "fail_fast")) == 5);
	/* neigh first: the new running total lands at once, not at the next scrape */
	assert_int_equal(neigh_drops_collect(), 0);
	neigh_add_drops(1, "eth0", SW_AF_INET, "fail_fast", 8);
	assert_true(metric_value(f, LABELS("eth0", "ipv4", "fail_fast")) == 8);
	/* the same total again changes nothing; a rebuild keeps it */
	neigh_add_drops(1, "eth0", SW_AF_INET, "fail_fast", 8);
	assert_true(metric_value(f, LABELS("eth0", "ipv4", "fail_fast")) == 8);
	assert_int_equal(neigh_drops_collect(), 0);
	assert_true(metric_value(f, LABELS("eth0", "ipv4", "fail_fast")) == 8);
	/* another interface and family is its own series */
	neigh_add_drops(1, "eth1", SW_AF_INET6, "fail_fast", 2);
	assert_int_equal(neigh_drops_collect(), 0);
	assert_true(metric_value(f, LABELS("eth1", "ipv6", "fail_fast")) == 2);
	assert_true(metric_value(f, LABELS("eth0", "ipv4", "fail_fast")) == 8);
	assert_int_equal(metric_family_series(f), 2);
	neigh_drops_bind(NULL, false);
	metrics_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drop_reason_names),
	    cmocka_unit_test(test_socket_holdings_window),
	    cmocka_unit_test(test_stale_holding_not_reported),
	    cmocka_unit_test(test_sip_held_sum),
	    cmocka_unit_test(test_ratelimit),
	    cmocka_unit_test(test_since_window),
	    cmocka_unit_test(test_add_drops_any_order),
	};

	return cmocka_run_group_tests_name("neigh", tests, NULL, NULL);
}
