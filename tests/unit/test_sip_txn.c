// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIP transactions and registrations (agent/sip_txn.c, agent/sip_reg.c) driven with parsed
 * messages: matching (RFC 3261 branch, pre-3261 identifiers, CANCEL apart from its INVITE),
 * retransmissions, Timer B/F and Timer C, the bound, and every registration lapse cause.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"
#include "peers.h"
#include "sip_reg.h"
#include "sip_txn.h"

#define S  1000000000ULL
#define T0 (1000 * S)

static struct metrics *reg;
static bool fake_neigh_failed, fake_stalled, fake_tcp_timeout;
static uint64_t stall_t0, stall_t1;

static bool neigh_failed(const struct sip_peer_key *p, uint64_t t0, uint64_t t1)
{
	return fake_neigh_failed;
}

static bool send_stalled(uint64_t t0, uint64_t t1)
{
	stall_t0 = t0;
	stall_t1 = t1;
	return fake_stalled;
}

static bool tcp_timed_out(const struct sip_peer_key *p, uint64_t t0, uint64_t t1)
{
	return fake_tcp_timeout;
}

static const struct sip_reg_causes causes = {neigh_failed, send_stalled, tcp_timed_out};

static struct sip_peer_key phone(void)
{
	struct sip_peer_key k = {.family = SW_AF_INET, .addr = {10, 99, 0, 2}};

	return k;
}

static int setup(void **state)
{
	struct sip_peer_key k = phone();
	struct sip_peer_value v = {.last_rx_ns = T0, .rx_messages = 1};

	reg = metrics_new();
	fake_neigh_failed = fake_stalled = fake_tcp_timeout = false;
	assert_int_equal(peers_init(64, 3600 * S), 0);
	peers_sync_begin();
	assert_true(peers_sync_add(&k, &v, T0, true));
	peers_sync_end();
	sip_txn_register_metrics(reg);
	sip_reg_register_metrics(reg);
	assert_int_equal(sip_txn_init(64), 0);
	assert_int_equal(sip_reg_init(16, &causes, 60 * S), 0);
	return 0;
}

static int teardown(void **state)
{
	sip_txn_free();
	sip_reg_free();
	peers_free();
	metrics_free(reg);
	return 0;
}

static double value(const char *family, const char *const *labels)
{
	double v = metric_value(metrics_find(reg, family), labels);

	return isnan(v) ? 0 : v;
}

/* Feed one message: @start is the start line, @extra more headers. */
static void feed(int dir, uint64_t ts, const char *start, const char *branch, unsigned cseq,
		 const char *method, const char *extra)
{
	char buf[2048];
	struct sip_msg m;
	struct sip_msg_meta meta = {.ts_ns = ts, .dir = dir, .peer = phone()};
	int n = snprintf(buf, sizeof(buf),
			 "%s\r\nVia: SIP/2.0/UDP 10.99.0.2:5060;branch=%s\r\n"
			 "From: <sip:201@pbx>;tag=ft\r\nTo: <sip:201@pbx>\r\nCall-ID: call-1\r\n"
			 "CSeq: %u %s\r\n%s\r\n",
			 start, branch, cseq, method, extra ? extra : "");

	assert_int_equal(sip_msg_parse(buf, (size_t)n, false, &m), SIP_MSG_OK);
	sip_txn_message(&m, &meta);
}

#define RX SIP_DIR_RX
#define TX SIP_DIR_TX

static void test_invite_answered_with_retransmitted_200(void **state)
{
	const struct sip_peer *p;

	feed(RX, T0, "INVITE sip:300@pbx SIP/2.0", "z9hG4bKi1", 1, "INVITE", NULL);
	feed(TX, T0 + S / 10, "SIP/2.0 100 Trying", "z9hG4bKi1", 1, "INVITE", NULL);
	feed(TX, T0 + S / 2, "SIP/2.0 200 OK", "z9hG4bKi1", 1, "INVITE", NULL);
	feed(TX, T0 + S, "SIP/2.0 200 OK", "z9hG4bKi1", 1, "INVITE", NULL);
	feed(RX, T0 + S, "ACK sip:300@pbx SIP/2.0", "z9hG4bKa1", 1, "ACK", NULL);
	assert_int_equal(value("sipwatch_sip_transactions_total", LABELS("rx", "invite", "2xx")),
			 1);
	assert_int_equal(value("sipwatch_sip_final_responses_total", LABELS("rx", "invite", "2xx")),
			 1);
	assert_int_equal(value("sipwatch_sip_retransmissions_total", LABELS("tx", "invite")), 1);
	p = peers_find(&(struct sip_peer_key){.family = SW_AF_INET, .addr = {10, 99, 0, 2}});
	assert_non_null(p);
	assert_int_equal(p->sip.transactions, 1);
	assert_int_equal(p->sip.retransmissions, 1);
	assert_int_equal(p->sip.last_final_code, 200);
	assert_true(fabs(p->sip.latency_last_s - 0.5) < 1e-9);
	/* Finished: no timeout later. */
	sip_txn_tick(T0 + 40 * S);
	assert_int_equal(
	    value("sipwatch_sip_transactions_total", LABELS("rx", "invite", "timeout")), 0);
	assert_int_equal(sip_txn_in_flight(), 0);
}

static void test_unanswered_options_times_out_after_64_t1(void **state)
{
	const struct sip_peer *p;

	feed(TX, T0, "OPTIONS sip:201@10.99.0.2 SIP/2.0", "z9hG4bKo1", 5, "OPTIONS", NULL);
	feed(TX, T0 + S / 2, "OPTIONS sip:201@10.99.0.2 SIP/2.0", "z9hG4bKo1", 5, "OPTIONS", NULL);
	assert_int_equal(value("sipwatch_sip_retransmissions_total", LABELS("tx", "options")), 1);
	sip_txn_tick(T0 + 31 * S);
	assert_int_equal(
	    value("sipwatch_sip_transactions_total", LABELS("tx", "options", "timeout")), 0);
	sip_txn_tick(T0 + 32 * S);
	assert_int_equal(
	    value("sipwatch_sip_transactions_total", LABELS("tx", "options", "timeout")), 1);
	p = peers_find(&(struct sip_peer_key){.family = SW_AF_INET, .addr = {10, 99, 0, 2}});
	assert_int_equal(p->sip.unanswered, 1);
	/* A response after that matches nothing. */
	feed(RX, T0 + 33 * S, "SIP/2.0 200 OK", "z9hG4bKo1", 5, "OPTIONS", NULL);
	assert_int_equal(value("sipwatch_sip_responses_unmatched_total", LABELS("rx")), 1);
}

static void test_ringing_invite_waits_for_timer_c(void **state)
{
	feed(RX, T0, "INVITE sip:300@pbx SIP/2.0", "z9hG4bKr", 1, "INVITE", NULL);
	feed(TX, T0 + S, "SIP/2.0 180 Ringing", "z9hG4bKr", 1, "INVITE", NULL);
	sip_txn_tick(T0 + 60 * S);
	feed(TX, T0 + 61 * S, "SIP/2.0 486 Busy Here", "z9hG4bKr", 1, "INVITE", NULL);
	assert_int_equal(value("sipwatch_sip_transactions_total", LABELS("rx", "invite", "4xx")),
			 1);
	assert_int_equal(value("sipwatch_sip_final_responses_total", LABELS("rx", "invite", "486")),
			 1);
	assert_int_equal(
	    value("sipwatch_sip_transactions_total", LABELS("rx", "invite", "timeout")), 0);
}

static void test_cancel_is_its_own_transaction(void **state)
{
	feed(RX, T0, "INVITE sip:300@pbx SIP/2.0", "z9hG4bKc", 1, "INVITE", NULL);
	feed(RX, T0 + S, "CANCEL sip:300@pbx SIP/2.0", "z9hG4bKc", 1, "CANCEL", NULL);
	/* Same branch, other method: not a retransmission of the INVITE. */
	assert_int_equal(value("sipwatch_sip_retransmissions_total", LABELS("rx", "invite")), 0);
	feed(TX, T0 + S, "SIP/2.0 200 OK", "z9hG4bKc", 1, "CANCEL", NULL);
	feed(TX, T0 + S, "SIP/2.0 487 Request Terminated", "z9hG4bKc", 1, "INVITE", NULL);
	assert_int_equal(value("sipwatch_sip_transactions_total", LABELS("rx", "cancel", "2xx")),
			 1);
	assert_int_equal(value("sipwatch_sip_final_responses_total", LABELS("rx", "invite", "487")),
			 1);
}

static void test_pre_rfc3261_branch_matches_on_call_id(void **state)
{
	feed(RX, T0, "BYE sip:300@pbx SIP/2.0", "old1", 2, "BYE", NULL);
	feed(TX, T0 + S, "SIP/2.0 503 Service Unavailable", "old1", 2, "BYE", NULL);
	assert_int_equal(value("sipwatch_sip_final_responses_total", LABELS("rx", "bye", "503")),
			 1);
	/* Another CSeq is another transaction. */
	feed(TX, T0 + S, "SIP/2.0 200 OK", "old1", 3, "BYE", NULL);
	assert_int_equal(value("sipwatch_sip_responses_unmatched_total", LABELS("tx")), 1);
}

static void test_bounded_with_evictions_counted(void **state)
{
	char branch[32];

	for (int i = 0; i < 65; i++) {
		snprintf(branch, sizeof(branch), "z9hG4bKe%d", i);
		feed(TX, T0 + (uint64_t)i, "OPTIONS sip:x@10.99.0.2 SIP/2.0", branch, 1, "OPTIONS",
		     NULL);
	}
	assert_int_equal(sip_txn_in_flight(), 64);
	assert_int_equal(value("sipwatch_sip_transactions_evicted_total", NO_LABELS), 1);
}

static uint32_t hurt_calls, hurt_retrans, hurt_unanswered;

static void on_hurt(const struct sip_peer_key *peer, uint32_t retrans, uint32_t unanswered,
		    void *ctx)
{
	assert_int_equal(peer->addr[3], 2);
	hurt_calls++;
	hurt_retrans += retrans;
	hurt_unanswered += unanswered;
}

/* The send_stall join: retransmissions in the window, and transactions started in it that timed
 * out or are still unanswered; nothing outside it. */
static void test_peers_hurt_in_a_window(void **state)
{
	feed(TX, T0, "OPTIONS sip:201@10.99.0.2 SIP/2.0", "z9hG4bKh1", 1, "OPTIONS", NULL);
	feed(TX, T0 + S / 2, "OPTIONS sip:201@10.99.0.2 SIP/2.0", "z9hG4bKh1", 1, "OPTIONS", NULL);
	feed(RX, T0 + S, "INVITE sip:300@pbx SIP/2.0", "z9hG4bKh2", 1, "INVITE", NULL);
	feed(RX, T0 + 5 * S, "BYE sip:300@pbx SIP/2.0", "z9hG4bKh3", 2, "BYE", NULL);
	sip_txn_peers_hurt_between(T0, T0 + 2 * S, on_hurt, NULL);
	assert_int_equal(hurt_calls, 1);
	assert_int_equal(hurt_retrans, 1);
	assert_int_equal(hurt_unanswered, 2);
	/* After Timer B/F the two come from the timeout history instead. */
	sip_txn_tick(T0 + 34 * S);
	hurt_calls = hurt_retrans = hurt_unanswered = 0;
	sip_txn_peers_hurt_between(T0, T0 + 2 * S, on_hurt, NULL);
	assert_int_equal(hurt_calls, 1);
	assert_int_equal(hurt_retrans, 1);
	assert_int_equal(hurt_unanswered, 2);
	hurt_calls = 0;
	sip_txn_peers_hurt_between(T0 + 100 * S, T0 + 200 * S, on_hurt, NULL);
	assert_int_equal(hurt_calls, 0);
}

#define CONTACT60 "Contact: <sip:201@10.99.0.2:5060>;expires=60\r\n"

/* A phone registers (REGISTER rx, 200 tx) at @ts, granted 60 s. */
static void inbound_register(uint64_t ts, unsigned cseq, int code)
{
	char branch[32], status[64];

	snprintf(branch, sizeof(branch), "z9hG4bKreg%u", cseq);
	snprintf(status, sizeof(status), "SIP/2.0 %d X", code);
	feed(RX, ts, "REGISTER sip:pbx SIP/2.0", branch, cseq, "REGISTER", CONTACT60);
	if (code)
		feed(TX, ts + S / 100, status, branch, cseq, "REGISTER",
		     code < 300 ? CONTACT60 : NULL);
}

static double lapsed(const char *cause)
{
	return value("sipwatch_sip_registrations_lapsed_total", LABELS("inbound", cause));
}

static void test_registration_active_then_silent_lapse(void **state)
{
	inbound_register(T0, 1, 200);
	sip_reg_tick(T0 + S);
	assert_int_equal(value("sipwatch_sip_registrations", LABELS("inbound", "active")), 1);
	/* Refreshed at 30 s: the expiry moves. */
	inbound_register(T0 + 30 * S, 2, 200);
	sip_reg_tick(T0 + 70 * S);
	assert_int_equal(lapsed("silent"), 0);
	sip_reg_tick(T0 + 93 * S);
	assert_int_equal(lapsed("silent"), 1);
	assert_int_equal(value("sipwatch_sip_registrations", LABELS("inbound", "active")), 0);
	assert_int_equal(value("sipwatch_sip_registrations", LABELS("inbound", "lapsed")), 1);
	/* Counted once. */
	sip_reg_tick(T0 + 200 * S);
	assert_int_equal(lapsed("silent"), 1);
}

/* Registered at @at, not refreshed, with the kernel cause @fake set when the expiry passes. */
static void lapse_with(bool *fake, uint64_t at, unsigned cseq, const char *cause)
{
	inbound_register(at, cseq, 200);
	*fake = true;
	sip_reg_tick(at + 63 * S);
	*fake = false;
	assert_int_equal(lapsed(cause), 1);
}

static void test_lapse_causes(void **state)
{
	/* neigh_failed wins over what SIP saw. */
	lapse_with(&fake_neigh_failed, T0, 1, "neigh_failed");

	/* Re-registered; its refresh unanswered while a send stalled: send_stall, and the window
	 * asked about starts at the refresh. */
	inbound_register(T0 + 100 * S, 2, 200);
	inbound_register(T0 + 130 * S, 3, 0);
	sip_txn_tick(T0 + 163 * S);
	fake_stalled = true;
	sip_reg_tick(T0 + 163 * S);
	assert_int_equal(lapsed("send_stall"), 1);
	assert_int_equal(stall_t0, T0 + 130 * S);
	assert_int_equal(sip_reg_lapsed_by_stall_between(T0 + 160 * S, T0 + 170 * S), 1);
	fake_stalled = false;

	/* The same without a kernel cause: unanswered. */
	inbound_register(T0 + 200 * S, 4, 200);
	inbound_register(T0 + 230 * S, 5, 0);
	sip_txn_tick(T0 + 263 * S);
	sip_reg_tick(T0 + 263 * S);
	assert_int_equal(lapsed("unanswered"), 1);

	lapse_with(&fake_tcp_timeout, T0 + 300 * S, 6, "tcp_timeout");

	/* A refresh answered 403: rejected, even with a kernel cause present. */
	inbound_register(T0 + 400 * S, 7, 200);
	inbound_register(T0 + 430 * S, 8, 403);
	fake_neigh_failed = true;
	sip_reg_tick(T0 + 463 * S);
	assert_int_equal(lapsed("rejected"), 1);
	fake_neigh_failed = false;
}

static void test_first_register_rejected_lapses_but_challenge_does_not(void **state)
{
	inbound_register(T0, 1, 401);
	assert_int_equal(lapsed("rejected"), 0);
	inbound_register(T0 + S, 2, 403);
	assert_int_equal(lapsed("rejected"), 1);
}

/* A REGISTER stamped after the tick's "now" (taken before the ring was drained) is kept. */
static void test_register_newer_than_tick_is_kept(void **state)
{
	feed(RX, T0 + 10 * S, "REGISTER sip:pbx SIP/2.0", "z9hG4bKn", 1, "REGISTER", CONTACT60);
	sip_reg_tick(T0 + 9 * S);
	feed(TX, T0 + 11 * S, "SIP/2.0 200 OK", "z9hG4bKn", 1, "REGISTER", CONTACT60);
	sip_reg_tick(T0 + 12 * S);
	assert_int_equal(value("sipwatch_sip_registrations", LABELS("inbound", "active")), 1);
}

static void test_deregister_ends_without_lapse(void **state)
{
	inbound_register(T0, 1, 200);
	feed(RX, T0 + 10 * S, "REGISTER sip:pbx SIP/2.0", "z9hG4bKd", 2, "REGISTER",
	     "Contact: <sip:201@10.99.0.2:5060>;expires=0\r\n");
	feed(TX, T0 + 10 * S, "SIP/2.0 200 OK", "z9hG4bKd", 2, "REGISTER", NULL);
	sip_reg_tick(T0 + 100 * S);
	for (int c = 0; c < SIP_REG_CAUSE_MAX; c++)
		assert_int_equal(lapsed(sip_reg_cause_name(c)), 0);
	assert_int_equal(value("sipwatch_sip_registrations", LABELS("inbound", "active")), 0);
	assert_int_equal(value("sipwatch_sip_registrations", LABELS("inbound", "lapsed")), 0);
}

static void test_outbound_and_expiry_from_header(void **state)
{
	/* This host registers to a trunk; the 2xx grants 30 s in its Expires header. */
	feed(TX, T0, "REGISTER sip:trunk SIP/2.0", "z9hG4bKt", 1, "REGISTER",
	     "Contact: <sip:pbx@10.99.0.1>\r\nExpires: 3600\r\n");
	feed(RX, T0 + S, "SIP/2.0 200 OK", "z9hG4bKt", 1, "REGISTER",
	     "Contact: <sip:pbx@10.99.0.1>\r\nExpires: 30\r\n");
	sip_reg_tick(T0 + 2 * S);
	assert_int_equal(value("sipwatch_sip_registrations", LABELS("outbound", "active")), 1);
	sip_reg_tick(T0 + 34 * S);
	assert_int_equal(
	    value("sipwatch_sip_registrations_lapsed_total", LABELS("outbound", "silent")), 1);
}

/* A bare 200 OK (no Contact, no Expires) grants what the REGISTER asked for. */
static void test_bare_200_grants_what_was_asked(void **state)
{
	feed(RX, T0, "REGISTER sip:pbx SIP/2.0", "z9hG4bKb", 1, "REGISTER",
	     "Contact: <sip:201@10.99.0.2>\r\nExpires: 40\r\n");
	feed(TX, T0 + S / 10, "SIP/2.0 200 OK", "z9hG4bKb", 1, "REGISTER", NULL);
	sip_reg_tick(T0 + 41 * S);
	assert_int_equal(lapsed("silent"), 0);
	sip_reg_tick(T0 + 43 * S);
	assert_int_equal(lapsed("silent"), 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_invite_answered_with_retransmitted_200),
	    T(test_unanswered_options_times_out_after_64_t1),
	    T(test_ringing_invite_waits_for_timer_c),
	    T(test_cancel_is_its_own_transaction),
	    T(test_pre_rfc3261_branch_matches_on_call_id),
	    T(test_bounded_with_evictions_counted),
	    T(test_peers_hurt_in_a_window),
	    T(test_registration_active_then_silent_lapse),
	    T(test_lapse_causes),
	    T(test_first_register_rejected_lapses_but_challenge_does_not),
	    T(test_register_newer_than_tick_is_kept),
	    T(test_deregister_ends_without_lapse),
	    T(test_outbound_and_expiry_from_header),
	    T(test_bare_200_grants_what_was_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
