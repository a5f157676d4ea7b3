// SPDX-License-Identifier: GPL-2.0-only
/* Send path (agent/sendq.c): label values, per-port summaries of socket scans, doctor arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sendq.h"

static const uint16_t ports[] = {5060, 5061};

static struct sendq_sock_record rec(uint8_t proto, uint16_t lport, uint16_t rport, uint32_t queued,
				    uint32_t wmem_queued, uint32_t sndbuf)
{
	struct sendq_sock_record r = {.proto = proto,
				      .family = SW_AF_INET,
				      .local_port = lport,
				      .remote_port = rport,
				      .queued = queued,
				      .wmem_queued = wmem_queued,
				      .sndbuf = sndbuf};
	return r;
}

static void test_error_names(void **state)
{
	assert_string_equal(sendq_error_name(SENDQ_ERR_EAGAIN), "eagain");
	assert_string_equal(sendq_error_name(SENDQ_ERR_ENOBUFS), "enobufs");
	assert_string_equal(sendq_error_name(SENDQ_ERR_EHOSTUNREACH), "ehostunreach");
	assert_string_equal(sendq_error_name(SENDQ_ERR_ENETUNREACH), "enetunreach");
	assert_string_equal(sendq_error_name(SENDQ_ERR_ECONNREFUSED), "econnrefused");
	assert_string_equal(sendq_error_name(SENDQ_ERR_EPERM), "eperm");
	assert_string_equal(sendq_error_name(SENDQ_ERR_OTHER), "other");
	assert_string_equal(sendq_error_name(SENDQ_NR_ERRORS), "other");
	assert_string_equal(sendq_error_name(-1), "other");
	assert_string_equal(sendq_proto_name(SENDQ_PROTO_UDP), "udp");
	assert_string_equal(sendq_proto_name(SENDQ_PROTO_TCP), "tcp");
}

static void test_sip_port_local_then_remote(void **state)
{
	struct sendq_sock_record a = rec(SENDQ_PROTO_UDP, 5060, 0, 0, 0, 1);
	struct sendq_sock_record b = rec(SENDQ_PROTO_TCP, 40000, 5061, 0, 0, 1);
	struct sendq_sock_record c = rec(SENDQ_PROTO_TCP, 5061, 5060, 0, 0, 1);
	struct sendq_sock_record d = rec(SENDQ_PROTO_UDP, 40000, 40001, 0, 0, 1);

	assert_int_equal(sendq_record_sip_port(&a, ports, 2), 5060);
	assert_int_equal(sendq_record_sip_port(&b, ports, 2), 5061);
	assert_int_equal(sendq_record_sip_port(&c, ports, 2), 5061);
	assert_int_equal(sendq_record_sip_port(&d, ports, 2), 0);
}

static void test_summaries(void **state)
{
	struct sendq_sock_record recs[] = {
	    rec(SENDQ_PROTO_UDP, 5060, 0, 1000, 1000, 4000),	/* fill 0.25 */
	    rec(SENDQ_PROTO_UDP, 5060, 0, 3000, 3000, 6000),	/* fill 0.5 */
	    rec(SENDQ_PROTO_TCP, 40000, 5060, 700, 2000, 8000), /* fill 0.25 (wmem_queued) */
	    rec(SENDQ_PROTO_UDP, 40000, 40001, 9999, 9999, 1),	/* not SIP */
	    rec(SENDQ_PROTO_UDP, 5061, 0, 0, 0, 0),		/* sndbuf unknown */
	};
	struct sendq_port_summary s[4];
	int n = sendq_summarize(recs, 5, ports, 2, s, 4);

	assert_int_equal(n, 3);
	assert_int_equal(s[0].proto, SENDQ_PROTO_UDP);
	assert_int_equal(s[0].port, 5060);
	assert_int_equal(s[0].sockets, 2);
	assert_true(s[0].queued_bytes == 4000);
	assert_true(s[0].max_fill_ratio == 0.5);
	assert_int_equal(s[0].min_sndbuf, 4000);
	assert_int_equal(s[1].proto, SENDQ_PROTO_TCP);
	assert_int_equal(s[1].port, 5060);
	assert_true(s[1].queued_bytes == 700);
	assert_true(s[1].max_fill_ratio == 0.25);
	assert_int_equal(s[2].port, 5061);
	assert_true(s[2].max_fill_ratio == 0);
	assert_int_equal(s[2].min_sndbuf, 0);
	/* Capped: what does not fit is left out, never written past the array. */
	assert_int_equal(sendq_summarize(recs, 5, ports, 2, s, 1), 1);
	assert_int_equal(sendq_summarize(recs, 0, ports, 2, s, 4), 0);
}

static void test_dead_peers_to_stall(void **state)
{
	/* Defaults: SO_SNDBUF 212992 = unres_qlen_bytes: one dead peer evicts before it fills the
	 * buffer, two stall it (measured: 3.06 s). */
	assert_int_equal(sendq_dead_peers_to_stall(212992, 212992), 2);
	assert_int_equal(sendq_dead_peers_to_stall(425984, 212992), 3);
	assert_int_equal(sendq_dead_peers_to_stall(65536, 212992), 1);
	assert_int_equal(sendq_dead_peers_to_stall(0, 212992), 0);
	assert_int_equal(sendq_dead_peers_to_stall(212992, 0), 0);
}

static struct neigh_holding holding(const char *ifname, uint8_t last, uint64_t bytes)
{
	struct neigh_holding h = {.family = SW_AF_INET, .bytes = bytes, .packets = 1};

	strcpy(h.ifname, ifname);
	h.addr[0] = 10;
	h.addr[3] = last;
	return h;
}

static void test_merge_holdings_keeps_the_most_per_peer(void **state)
{
	struct neigh_holding out[2], a = holding("eth0", 2, 9216),
				     a_big = holding("eth0", 2, 108288),
				     b = holding("eth0", 3, 2304), c = holding("eth1", 2, 1);
	int n = 0;

	n = sendq_merge_holding(out, n, 2, &a);
	n = sendq_merge_holding(out, n, 2, &a_big);
	assert_int_equal(n, 1);
	assert_true(out[0].bytes == 108288);
	n = sendq_merge_holding(out, n, 2, &a); /* smaller: no change */
	assert_true(out[0].bytes == 108288);
	n = sendq_merge_holding(out, n, 2, &b);
	assert_int_equal(n, 2);
	/* Same address on another interface is another peer; no room for it. */
	n = sendq_merge_holding(out, n, 2, &c);
	assert_int_equal(n, 2);
	assert_true(out[1].bytes == 2304);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_names),
	    cmocka_unit_test(test_sip_port_local_then_remote),
	    cmocka_unit_test(test_summaries),
	    cmocka_unit_test(test_dead_peers_to_stall),
	    cmocka_unit_test(test_merge_holdings_keeps_the_most_per_peer),
	};

	return cmocka_run_group_tests_name("sendq", tests, NULL, NULL);
}
