// SPDX-License-Identifier: GPL-2.0-only
/* sipwatch doctor: each rule against fixture facts (kernel defaults, tuned values, edges). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "doctor.h"

static struct doctor_facts *facts;
static struct doctor_report *report;

/* A host with Linux defaults: eth0 with both families, one UDP SIP socket on 0.0.0.0:5060. */
static const struct doctor_neigh_parms default_parms = {
    .present = true,
    .unres_qlen_bytes = 212992,
    .base_reachable_time_ms = 30000,
    .retrans_time_ms = 1000,
    .gc_stale_time_s = 60,
    .delay_first_probe_time_s = 5,
    .mcast_solicit = 3,
    .ucast_solicit = 3,
    .app_solicit = 0,
    .mcast_resolicit = 0,
};

static int setup(void **state)
{
	facts = calloc(1, sizeof(*facts));
	report = calloc(1, sizeof(*report));
	facts->keepalive_time_s = 7200;
	facts->keepalive_intvl_s = 75;
	facts->keepalive_probes = 9;
	for (int fam = 0; fam < DOCTOR_NR_FAMILIES; fam++) {
		facts->gc_thresh[fam][0] = 128;
		facts->gc_thresh[fam][1] = 512;
		facts->gc_thresh[fam][2] = 1024;
	}
	facts->nr_ifaces = 1;
	strcpy(facts->ifaces[0].name, "eth0");
	facts->ifaces[0].neigh[DOCTOR_IPV4] = default_parms;
	facts->ifaces[0].neigh[DOCTOR_IPV6] = default_parms;
	facts->nr_sockets = 1;
	facts->sockets[0] = (struct doctor_socket){
	    .local = "0.0.0.0:5060", .remote = "0.0.0.0:0", .local_port = 5060, .sndbuf = 212992};
	facts->btf = true;
	facts->probes_checked = true;
	return 0;
}

static int teardown(void **state)
{
	free(facts);
	free(report);
	return 0;
}

static const struct doctor_finding *only(const char *rule)
{
	const struct doctor_finding *hit = NULL;

	for (int i = 0; i < report->nr; i++) {
		if (strcmp(report->findings[i].rule, rule))
			continue;
		assert_null(hit); /* exactly one */
		hit = &report->findings[i];
	}
	assert_non_null(hit);
	return hit;
}

static int count(const char *rule)
{
	int n = 0;

	for (int i = 0; i < report->nr; i++)
		n += !strcmp(report->findings[i].rule, rule);
	return n;
}

static void test_sndbuf_defaults_one_dead_peer(void **state)
{
	const struct doctor_finding *d;

	doctor_rule_sndbuf(facts, report);
	d = only("sndbuf_unres_qlen");
	assert_int_equal(d->severity, DOCTOR_CRIT);
	assert_string_equal(d->subject, "udp 0.0.0.0:5060 via eth0");
	assert_non_null(strstr(d->evidence, "SO_SNDBUF 212992 <= 1 x ipv4 unres_qlen_bytes 212992: "
					    "1 dead peer being resolved stalls this socket for "
					    "up to 3.0 s"));
	/* 212992 / 8 */
	assert_non_null(strstr(d->fix, "sysctl -w net.ipv4.neigh.eth0.unres_qlen_bytes=26624"));
	assert_non_null(strstr(d->fix, "SO_SNDBUF >= 1703936"));
}

static void test_sndbuf_counts_dead_peers(void **state)
{
	/* 212992 / 65536 = 3.25 -> 4 dead peers: below the target of 8, a warning. */
	facts->ifaces[0].neigh[DOCTOR_IPV4].unres_qlen_bytes = 65536;
	doctor_rule_sndbuf(facts, report);
	assert_int_equal(only("sndbuf_unres_qlen")->severity, DOCTOR_WARN);
	assert_non_null(strstr(only("sndbuf_unres_qlen")->evidence, "4 dead peers"));

	/* Exactly 8 dead peers needed: clean. */
	report->nr = 0;
	facts->ifaces[0].neigh[DOCTOR_IPV4].unres_qlen_bytes = 212992 / 8;
	doctor_rule_sndbuf(facts, report);
	assert_int_equal(report->nr, 0);

	/* 2 dead peers: still critical. */
	facts->ifaces[0].neigh[DOCTOR_IPV4].unres_qlen_bytes = 106496;
	doctor_rule_sndbuf(facts, report);
	assert_int_equal(only("sndbuf_unres_qlen")->severity, DOCTOR_CRIT);
}

static void test_sndbuf_families_and_protocols(void **state)
{
	/* An IPv6 (dual-stack) socket is judged against both families' settings. */
	facts->sockets[0].ipv6 = true;
	doctor_rule_sndbuf(facts, report);
	assert_int_equal(count("sndbuf_unres_qlen"), 2);

	/* TCP is per peer: not judged. Nothing queued at all (0): not judged. A socket whose
	 * SO_SNDBUF was raised 8-fold: clean. */
	report->nr = 0;
	facts->sockets[0].tcp = true;
	doctor_rule_sndbuf(facts, report);
	facts->sockets[0].tcp = false;
	facts->ifaces[0].neigh[DOCTOR_IPV4].unres_qlen_bytes = 0;
	facts->ifaces[0].neigh[DOCTOR_IPV6].present = false;
	doctor_rule_sndbuf(facts, report);
	facts->ifaces[0].neigh[DOCTOR_IPV4].unres_qlen_bytes = 212992;
	facts->sockets[0].sndbuf = 8 * 212992;
	doctor_rule_sndbuf(facts, report);
	assert_int_equal(report->nr, 0);
}

static void test_rcvbuf_burst(void **state)
{
	const struct doctor_finding *d;

	/* Linux's default 212992: 92 datagrams of 2304 bytes, below a burst of 256. */
	facts->sockets[0].rcvbuf = 212992;
	facts->rmem_max = 212992;
	doctor_rule_rcvbuf(facts, report);
	d = only("rcvbuf_burst");
	assert_int_equal(d->severity, DOCTOR_WARN);
	assert_string_equal(d->subject, "udp 0.0.0.0:5060");
	assert_non_null(strstr(d->evidence, "SO_RCVBUF 212992 holds 92 datagrams of 2304 bytes"));
	assert_non_null(strstr(d->evidence, "a burst of 256 (the burst sipwatch assumes at least) "
					    "needs 589824"));
	/* setsockopt doubles, and rmem_max caps it */
	assert_non_null(strstr(d->fix, "setsockopt(SO_RCVBUF, 294912)"));
	assert_non_null(strstr(d->fix, "net.core.rmem_max=294912 (now 212992"));

	/* More SIP peers than the floor: the burst is one datagram each. */
	report->nr = 0;
	facts->sip_peers[DOCTOR_IPV4] = 1000;
	facts->rmem_max = 4194304;
	doctor_rule_rcvbuf(facts, report);
	d = only("rcvbuf_burst");
	assert_non_null(strstr(d->evidence, "a burst of 1000 (one datagram from each SIP peer)"));
	assert_null(strstr(d->fix, "rmem_max"));

	/* Big enough, TCP, or unknown: nothing. */
	report->nr = 0;
	facts->sockets[0].rcvbuf = 1000 * 2304;
	doctor_rule_rcvbuf(facts, report);
	facts->sockets[0].rcvbuf = 4096;
	facts->sockets[0].tcp = true;
	doctor_rule_rcvbuf(facts, report);
	facts->sockets[0].tcp = false;
	facts->sockets[0].rcvbuf = 0;
	doctor_rule_rcvbuf(facts, report);
	assert_int_equal(count("rcvbuf_burst"), 0);

	/* The per-CPU backlog ahead of the stack, below the burst: said, not a warning. */
	facts->netdev_max_backlog = 999;
	doctor_rule_rcvbuf(facts, report);
	assert_int_equal(only("netdev_backlog")->severity, DOCTOR_INFO);
	assert_non_null(strstr(only("netdev_backlog")->evidence, "999 packets"));
}

static void test_keepalive_sysctls(void **state)
{
	const struct doctor_finding *d;

	doctor_rule_keepalive_sysctls(facts, report);
	d = only("tcp_keepalive");
	assert_int_equal(d->severity, DOCTOR_WARN);
	assert_non_null(strstr(d->evidence, "7200 + tcp_keepalive_probes 9 x tcp_keepalive_intvl "
					    "75 = 7875 s"));
	assert_non_null(strstr(d->fix, "tcp_keepalive_time=60"));

	/* GnuGk's numbers: 60 + 3 x 10 = 90 s, clean; the bound itself is clean, one more not. */
	report->nr = 0;
	facts->keepalive_time_s = 60;
	facts->keepalive_intvl_s = 10;
	facts->keepalive_probes = 3;
	doctor_rule_keepalive_sysctls(facts, report);
	facts->keepalive_time_s = 90;
	doctor_rule_keepalive_sysctls(facts, report);
	assert_int_equal(report->nr, 0);
	facts->keepalive_time_s = 91;
	doctor_rule_keepalive_sysctls(facts, report);
	assert_int_equal(report->nr, 1);
}

static void test_tcp_without_keepalive(void **state)
{
	struct doctor_socket *so = &facts->sockets[1];

	facts->nr_sockets = 4;
	*so = (struct doctor_socket){
	    .tcp = true, .established = true, .local = "10.0.0.1:40000", .remote = "10.0.0.2:5060"};
	so[1] = *so;
	so[1].keepalive_timer = true; /* SO_KEEPALIVE: fine */
	so[2] = *so;
	so[2].established = false;
	so[2].listening = true; /* a listener has no peer to lose */
	doctor_rule_tcp_without_keepalive(facts, report);
	assert_string_equal(only("tcp_no_keepalive")->subject,
			    "tcp 10.0.0.1:40000 -> 10.0.0.2:5060");
	assert_int_equal(only("tcp_no_keepalive")->severity, DOCTOR_WARN);
}

static void test_neigh_table(void **state)
{
	const struct doctor_finding *d;

	/* At or below gc_thresh1: nothing. */
	facts->neighbours[DOCTOR_IPV4] = 128;
	doctor_rule_neigh_table(facts, report);
	assert_int_equal(report->nr, 0);

	/* 300 SIP peers: above gc_thresh1 (idle entries collected), info. */
	facts->sip_peers[DOCTOR_IPV4] = 300;
	doctor_rule_neigh_table(facts, report);
	d = only("neigh_table_limits");
	assert_int_equal(d->severity, DOCTOR_INFO);
	/* 300 * 1.5 = 450 -> 512, then 2x and 4x. */
	assert_string_equal(d->fix, "sysctl -w net.ipv4.neigh.default.gc_thresh1=512 "
				    "net.ipv4.neigh.default.gc_thresh2=1024 "
				    "net.ipv4.neigh.default.gc_thresh3=2048");

	report->nr = 0;
	facts->neighbours[DOCTOR_IPV4] = 600;
	doctor_rule_neigh_table(facts, report);
	assert_int_equal(only("neigh_table_limits")->severity, DOCTOR_WARN);

	report->nr = 0;
	facts->neighbours[DOCTOR_IPV6] = 1024;
	doctor_rule_neigh_table(facts, report);
	assert_int_equal(report->nr, 2);
	assert_int_equal(report->findings[1].severity, DOCTOR_CRIT);
	assert_string_equal(report->findings[1].subject, "net.ipv6.neigh.default");
	assert_non_null(strstr(report->findings[1].evidence, "the table is full"));
}

static void test_neigh_timers_defaults_clean(void **state)
{
	doctor_rule_neigh_timers(facts, report);
	assert_int_equal(report->nr, 0);
}

static void test_neigh_timers(void **state)
{
	struct doctor_neigh_parms *p = &facts->ifaces[0].neigh[DOCTOR_IPV4];

	p->mcast_solicit = 6; /* 6 x 1000 ms */
	doctor_rule_neigh_timers(facts, report);
	assert_non_null(strstr(only("neigh_hold_time")->evidence, "= 6000 ms"));
	assert_string_equal(only("neigh_hold_time")->subject, "net.ipv4.neigh.eth0");

	report->nr = 0;
	p->mcast_solicit = 3;
	p->app_solicit = 1; /* 4 x 1000 ms, and waits for arpd */
	doctor_rule_neigh_timers(facts, report);
	assert_int_equal(count("neigh_hold_time"), 1);
	assert_string_equal(only("neigh_app_solicit")->fix,
			    "sysctl -w net.ipv4.neigh.eth0.app_solicit=0");

	report->nr = 0;
	p->app_solicit = 0;
	p->base_reachable_time_ms = 10000;
	doctor_rule_neigh_timers(facts, report);
	assert_non_null(strstr(only("neigh_reachable_time")->evidence, "5000-15000 ms"));

	report->nr = 0;
	p->base_reachable_time_ms = 30000;
	p->gc_stale_time_s = 30; /* < 45 s */
	doctor_rule_neigh_timers(facts, report);
	assert_string_equal(only("neigh_gc_stale_time")->fix,
			    "sysctl -w net.ipv4.neigh.eth0.gc_stale_time=60");
	p->gc_stale_time_s = 45;
	report->nr = 0;
	doctor_rule_neigh_timers(facts, report);
	assert_int_equal(report->nr, 0);
}

static void test_kernel(void **state)
{
	facts->nr_probes = 2;
	strcpy(facts->probes[0].name, "neigh_update");
	facts->probes[0].up = true;
	strcpy(facts->probes[1].name, "sendq_xdp");
	doctor_rule_kernel(facts, report);
	assert_string_equal(only("kernel_probes")->evidence, "1 of 2 probes attach on this kernel");
	assert_int_equal(only("kernel_probe")->severity, DOCTOR_WARN);
	assert_string_equal(only("kernel_probe")->subject, "sendq_xdp");

	report->nr = 0;
	facts->probes_checked = false;
	strcpy(facts->probes_why, "not root");
	doctor_rule_kernel(facts, report);
	assert_int_equal(only("kernel_probes")->severity, DOCTOR_INFO);
	assert_false(doctor_at_risk(report));

	report->nr = 0;
	facts->btf = false;
	doctor_rule_kernel(facts, report);
	assert_int_equal(only("kernel_btf")->severity, DOCTOR_CRIT);
}

static void test_parse_probe_up(void **state)
{
	doctor_parse_probe_up(facts, "# HELP sipwatch_probe_up x\n"
				     "# TYPE sipwatch_probe_up gauge\n"
				     "sipwatch_probe_up{probe=\"a\"} 1\n"
				     "sipwatch_probe_upx{probe=\"no\"} 1\n"
				     "sipwatch_probe_up{probe=\"b\"} 0\n"
				     "sipwatch_build_info{version=\"1\"} 1\n"
				     "sipwatch_probe_up{probe=\"c\"} 1");
	assert_int_equal(facts->nr_probes, 3);
	assert_string_equal(facts->probes[0].name, "a");
	assert_true(facts->probes[0].up);
	assert_false(facts->probes[1].up);
	assert_string_equal(facts->probes[2].name, "c");
	assert_true(facts->probes[2].up);
}

static void test_render(void **state)
{
	struct strbuf out;

	strbuf_init(&out);
	doctor_render_text(report, &out);
	assert_string_equal(out.data, "ok: nothing at risk\n");
	strbuf_reset(&out);
	doctor_render_json(report, &out);
	assert_string_equal(out.data, "{\"at_risk\":false,\"findings\":[]}\n");

	doctor_run_rules(facts, report);
	assert_true(doctor_at_risk(report));
	strbuf_reset(&out);
	doctor_render_text(report, &out);
	assert_non_null(strstr(out.data, "crit sndbuf_unres_qlen udp 0.0.0.0:5060 via eth0: "));
	assert_null(strstr(out.data, "ok: nothing at risk"));
	strbuf_reset(&out);
	/* Issue 17 item 12: an interface name that is not UTF-8, or holds an escape sequence. */
	strcpy(report->findings[0].subject, "net.ipv4.neigh.v\xff\x1b[2J");
	doctor_render_text(report, &out);
	assert_non_null(strstr(out.data, " net.ipv4.neigh.v\\xff\\x1b[2J: "));
	strbuf_reset(&out);
	doctor_render_json(report, &out);
	assert_non_null(strstr(out.data, "\"subject\":\"net.ipv4.neigh.v\\\\xff\\u001b[2J\""));
	strbuf_reset(&out);
	strcpy(report->findings[0].subject, "quote\" and \\ backslash");
	doctor_render_json(report, &out);
	assert_non_null(strstr(out.data, "\"subject\":\"quote\\\" and \\\\ backslash\""));
	assert_non_null(strstr(out.data, "{\"at_risk\":true,"));
	strbuf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sndbuf_defaults_one_dead_peer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sndbuf_counts_dead_peers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sndbuf_families_and_protocols, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rcvbuf_burst, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive_sysctls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_without_keepalive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_neigh_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_neigh_timers_defaults_clean, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_neigh_timers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kernel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_probe_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_render, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
