// SPDX-License-Identifier: GPL-2.0-only
/* `sipwatch doctor`: the rules, the report and the subcommand. Facts: agent/doctor_facts.c. */
#include "doctor.h"
#include "log.h"
#include "options.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const family_name[DOCTOR_NR_FAMILIES] = {"ipv4", "ipv6"};
static const char *const severity_name[] = {"info", "warn", "crit"};

static void add(struct doctor_report *r, enum doctor_severity sev, const char *rule,
		const char *subject, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void add(struct doctor_report *r, enum doctor_severity sev, const char *rule,
		const char *subject, const char *fix, const char *fmt, ...)
{
	struct doctor_finding *d;
	va_list ap;

	if (r->nr == DOCTOR_MAX_FINDINGS)
		return;
	d = &r->findings[r->nr++];
	d->severity = sev;
	snprintf(d->rule, sizeof(d->rule), "%s", rule);
	snprintf(d->subject, sizeof(d->subject), "%s", subject);
	snprintf(d->fix, sizeof(d->fix), "%s", fix ? fix : "");
	va_start(ap, fmt);
	vsnprintf(d->evidence, sizeof(d->evidence), fmt, ap);
	va_end(ap);
}

/* Queue time behind an unanswered resolution: the INCOMPLETE state sends mcast_solicit +
 * app_solicit probes, retrans_time apart (net/core/neighbour.c, neigh_max_probes()). */
static uint32_t hold_ms(const struct doctor_neigh_parms *p)
{
	return (p->mcast_solicit + p->app_solicit) * p->retrans_time_ms;
}

/*
 * A neighbour entry being resolved queues up to unres_qlen_bytes of packets (skb truesize), and
 * those bytes stay charged to the sending socket until resolution fails. A shared UDP SIP socket
 * whose SO_SNDBUF is S stalls once ceil(S / unres_qlen_bytes) dead peers are being resolved at
 * once. TCP sockets are per peer: a dead peer fills only its own connection's buffer.
 */
void doctor_rule_sndbuf(const struct doctor_facts *f, struct doctor_report *r)
{
	for (int s = 0; s < f->nr_sockets; s++) {
		const struct doctor_socket *so = &f->sockets[s];

		if (so->tcp || !so->sndbuf)
			continue;
		for (int i = 0; i < f->nr_ifaces; i++) {
			const struct doctor_iface *ifc = &f->ifaces[i];

			for (int fam = 0; fam < DOCTOR_NR_FAMILIES; fam++) {
				const struct doctor_neigh_parms *p = &ifc->neigh[fam];
				uint32_t dead, want;
				char subject[96], fix[256];

				/* An IPv4 socket never sends over IPv6; a v6 one may do both. */
				if (!p->present || !p->unres_qlen_bytes || (!so->ipv6 && fam))
					continue;
				dead = (so->sndbuf + p->unres_qlen_bytes - 1) / p->unres_qlen_bytes;
				if (dead >= DOCTOR_DEAD_PEERS_TARGET)
					continue;
				want = so->sndbuf / DOCTOR_DEAD_PEERS_TARGET;
				snprintf(subject, sizeof(subject), "udp %s via %s", so->local,
					 ifc->name);
				snprintf(fix, sizeof(fix),
					 "sysctl -w net.%s.neigh.%s.unres_qlen_bytes=%u (or "
					 "SO_SNDBUF >= "
					 "%u on the socket, net.core.wmem_max permitting)",
					 family_name[fam], ifc->name, want,
					 (uint32_t)DOCTOR_DEAD_PEERS_TARGET * p->unres_qlen_bytes);
				add(r, dead <= 2 ? DOCTOR_CRIT : DOCTOR_WARN, "sndbuf_unres_qlen",
				    subject, fix,
				    "SO_SNDBUF %u <= %u x %s unres_qlen_bytes %u: %u dead peer%s "
				    "being resolved stall%s this socket for up to %.1f s",
				    so->sndbuf, dead, family_name[fam], p->unres_qlen_bytes, dead,
				    dead == 1 ? "" : "s", dead == 1 ? "s" : "",
				    hold_ms(p) / 1000.0);
			}
		}
	}
}

void doctor_rule_rcvbuf(const struct doctor_facts *f, struct doctor_report *r)
{
	uint32_t peers = f->sip_peers[DOCTOR_IPV4] + f->sip_peers[DOCTOR_IPV6];
	uint32_t burst = peers > DOCTOR_RCV_BURST_MIN ? peers : DOCTOR_RCV_BURST_MIN;
	uint64_t need = (uint64_t)burst * DOCTOR_DATAGRAM_TRUESIZE;
	const char *why = peers > DOCTOR_RCV_BURST_MIN ? "one datagram from each SIP peer"
						       : "the burst sipwatch assumes at least";

	for (int s = 0; s < f->nr_sockets; s++) {
		const struct doctor_socket *so = &f->sockets[s];
		char subject[96], fix[256], cap[128] = "";

		if (so->tcp || !so->rcvbuf || so->rcvbuf >= need)
			continue;
		/* setsockopt(SO_RCVBUF, n) gives 2n, capped at 2 x rmem_max */
		if (f->rmem_max && (uint64_t)f->rmem_max * 2 < need)
			snprintf(cap, sizeof(cap),
				 "; first sysctl -w net.core.rmem_max=%llu (now %u: SO_RCVBUF is "
				 "capped at twice that)",
				 (unsigned long long)(need / 2), f->rmem_max);
		snprintf(subject, sizeof(subject), "udp %s", so->local);
		snprintf(fix, sizeof(fix), "setsockopt(SO_RCVBUF, %llu) in the SIP server%s",
			 (unsigned long long)(need / 2), cap);
		add(r, DOCTOR_WARN, "rcvbuf_burst", subject, fix,
		    "SO_RCVBUF %u holds %u datagrams of %u bytes truesize (a ~1.1 KB SIP message): "
		    "a burst of %u (%s) needs %llu; the rest are dropped "
		    "(sipwatch_sip_drops_total{reason=\"socket_rcvbuff\"})",
		    so->rcvbuf, so->rcvbuf / DOCTOR_DATAGRAM_TRUESIZE, DOCTOR_DATAGRAM_TRUESIZE,
		    burst, why, (unsigned long long)need);
	}
	if (f->netdev_max_backlog && f->netdev_max_backlog < burst)
		add(r, DOCTOR_INFO, "netdev_backlog", "net.core.netdev_max_backlog", "",
		    "%u packets may wait per CPU before the stack takes them (RPS, veth, "
		    "non-NAPI drivers): less than a burst of %u (%s)",
		    f->netdev_max_backlog, burst, why);
}

void doctor_rule_keepalive_sysctls(const struct doctor_facts *f, struct doctor_report *r)
{
	uint64_t detect =
	    (uint64_t)f->keepalive_time_s + (uint64_t)f->keepalive_intvl_s * f->keepalive_probes;

	if (detect <= DOCTOR_KEEPALIVE_BOUND_S)
		return;
	add(r, DOCTOR_WARN, "tcp_keepalive", "net.ipv4.tcp_keepalive_*",
	    "sysctl -w net.ipv4.tcp_keepalive_time=60 net.ipv4.tcp_keepalive_intvl=10 "
	    "net.ipv4.tcp_keepalive_probes=3 (detects in 90 s)",
	    "a dead TCP signalling connection is noticed after tcp_keepalive_time %u + "
	    "tcp_keepalive_probes %u x tcp_keepalive_intvl %u = %llu s (bound %u s)",
	    f->keepalive_time_s, f->keepalive_probes, f->keepalive_intvl_s,
	    (unsigned long long)detect, DOCTOR_KEEPALIVE_BOUND_S);
}

/* An established TCP socket with SO_KEEPALIVE always has its keepalive timer armed while idle
 * (sock_diag idiag_timer 2); no timer at all means nothing will ever probe the peer. */
void doctor_rule_tcp_without_keepalive(const struct doctor_facts *f, struct doctor_report *r)
{
	for (int s = 0; s < f->nr_sockets; s++) {
		const struct doctor_socket *so = &f->sockets[s];
		char subject[96];

		if (!so->tcp || !so->established || so->keepalive_timer)
			continue;
		snprintf(subject, sizeof(subject), "tcp %s -> %s", so->local, so->remote);
		add(r, DOCTOR_WARN, "tcp_no_keepalive", subject,
		    "enable TCP keepalive in the SIP server (SO_KEEPALIVE; e.g. kamailio "
		    "tcp_keepalive=yes, Genesys sip-enable-tcp-keep-alive=true)",
		    "SIP TCP connection without SO_KEEPALIVE: a peer that dies silently "
		    "(firewall, unplugged cable) is never detected");
	}
}

static uint32_t roundup_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 30))
		p <<= 1;
	return p;
}

/* Above gc_thresh2 the kernel garbage-collects entries after 5 s; at gc_thresh3 new entries fail
 * ("neighbour table overflow") and packets to new peers are dropped. */
void doctor_rule_neigh_table(const struct doctor_facts *f, struct doctor_report *r)
{
	for (int fam = 0; fam < DOCTOR_NR_FAMILIES; fam++) {
		const uint32_t *t = f->gc_thresh[fam];
		uint32_t need =
		    f->neighbours[fam] > f->sip_peers[fam] ? f->neighbours[fam] : f->sip_peers[fam];
		uint32_t t1 = roundup_pow2(need + need / 2);
		enum doctor_severity sev;
		char subject[64], fix[256];

		if (!t[2] || need <= t[0])
			continue;
		sev = need >= t[2] ? DOCTOR_CRIT : need > t[1] ? DOCTOR_WARN : DOCTOR_INFO;
		snprintf(subject, sizeof(subject), "net.%s.neigh.default", family_name[fam]);
		snprintf(fix, sizeof(fix),
			 "sysctl -w net.%s.neigh.default.gc_thresh1=%u "
			 "net.%s.neigh.default.gc_thresh2=%u net.%s.neigh.default.gc_thresh3=%u",
			 family_name[fam], t1, family_name[fam], 2 * t1, family_name[fam], 4 * t1);
		add(r, sev, "neigh_table_limits", subject, fix,
		    "%u neighbour entries, %u SIP peers vs gc_thresh1/2/3 %u/%u/%u: %s",
		    f->neighbours[fam], f->sip_peers[fam], t[0], t[1], t[2],
		    sev == DOCTOR_CRIT ? "the table is full, new peers cannot be resolved"
		    : sev == DOCTOR_WARN
			? "entries are garbage-collected within 5 s and re-resolved"
			: "idle entries are garbage-collected and re-resolved");
	}
}

void doctor_rule_neigh_timers(const struct doctor_facts *f, struct doctor_report *r)
{
	for (int i = 0; i < f->nr_ifaces; i++) {
		for (int fam = 0; fam < DOCTOR_NR_FAMILIES; fam++) {
			const struct doctor_neigh_parms *p = &f->ifaces[i].neigh[fam];
			const char *fn = family_name[fam], *ifn = f->ifaces[i].name;
			char subject[64], fix[256];

			if (!p->present)
				continue;
			snprintf(subject, sizeof(subject), "net.%s.neigh.%s", fn, ifn);
			if (hold_ms(p) > DOCTOR_HOLD_BOUND_MS) {
				snprintf(fix, sizeof(fix),
					 "sysctl -w net.%s.neigh.%s.mcast_solicit=3 "
					 "net.%s.neigh.%s.app_solicit=0 "
					 "net.%s.neigh.%s.retrans_time_ms=1000",
					 fn, ifn, fn, ifn, fn, ifn);
				add(r, DOCTOR_WARN, "neigh_hold_time", subject, fix,
				    "a dead peer holds queued packets for (mcast_solicit %u + "
				    "app_solicit %u) x retrans_time_ms %u = %u ms (kernel default "
				    "3000 ms)",
				    p->mcast_solicit, p->app_solicit, p->retrans_time_ms,
				    hold_ms(p));
			}
			if (p->app_solicit) {
				snprintf(fix, sizeof(fix),
					 "sysctl -w net.%s.neigh.%s.app_solicit=0", fn, ifn);
				add(r, DOCTOR_WARN, "neigh_app_solicit", subject, fix,
				    "app_solicit %u: resolution waits for a user-space daemon "
				    "(arpd) "
				    "for %u extra probe%s; without one it only delays failure",
				    p->app_solicit, p->app_solicit, p->app_solicit == 1 ? "" : "s");
			}
			if (p->base_reachable_time_ms < DOCTOR_MIN_REACHABLE_MS) {
				snprintf(fix, sizeof(fix),
					 "sysctl -w net.%s.neigh.%s.base_reachable_time_ms=30000",
					 fn, ifn);
				add(r, DOCTOR_WARN, "neigh_reachable_time", subject, fix,
				    "base_reachable_time_ms %u: entries go stale after %u-%u ms "
				    "and "
				    "are re-validated that often (RFC 4861 default 30000)",
				    p->base_reachable_time_ms, p->base_reachable_time_ms / 2,
				    p->base_reachable_time_ms / 2 * 3);
			}
			/* Stale entries removed before they could have been re-validated by a
			 * unicast probe (DELAY/PROBE, nothing queued) must be resolved from
			 * scratch (INCOMPLETE, packets queued against the socket). */
			if ((uint64_t)p->gc_stale_time_s * 1000 <
			    (uint64_t)p->base_reachable_time_ms / 2 * 3) {
				snprintf(fix, sizeof(fix),
					 "sysctl -w net.%s.neigh.%s.gc_stale_time=%u", fn, ifn,
					 p->base_reachable_time_ms / 1000 * 2);
				add(r, DOCTOR_WARN, "neigh_gc_stale_time", subject, fix,
				    "gc_stale_time %u s < 1.5 x base_reachable_time %u ms: stale "
				    "entries are dropped and resolved again from scratch (queued) "
				    "instead of re-probed (mcast_resolicit %u, ucast_solicit %u)",
				    p->gc_stale_time_s, p->base_reachable_time_ms,
				    p->mcast_resolicit, p->ucast_solicit);
			}
		}
	}
}

void doctor_rule_kernel(const struct doctor_facts *f, struct doctor_report *r)
{
	int up = 0;

	if (!f->btf) {
		add(r, DOCTOR_CRIT, "kernel_btf", "/sys/kernel/btf/vmlinux",
		    "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian 12, Ubuntu 22.04 ship "
		    "one)",
		    "the kernel exposes no BTF: sipwatch's CO-RE programs cannot load");
		return;
	}
	if (!f->probes_checked) {
		add(r, DOCTOR_INFO, "kernel_probes", "probes", "run sipwatch doctor as root",
		    "probes not checked: %s", f->probes_why);
		return;
	}
	for (int i = 0; i < f->nr_probes; i++)
		up += f->probes[i].up;
	add(r, DOCTOR_INFO, "kernel_probes", "probes", NULL,
	    "%d of %d probes attach on this kernel", up, f->nr_probes);
	for (int i = 0; i < f->nr_probes; i++) {
		if (f->probes[i].up)
			continue;
		add(r, DOCTOR_WARN, "kernel_probe", f->probes[i].name,
		    "see the agent's log line 'probe not attached' for the reason",
		    "the hook does not attach here (missing in this kernel, or --probe.disable): "
		    "sipwatch_probe_up{probe=\"%s\"} would be 0",
		    f->probes[i].name);
	}
}

void doctor_run_rules(const struct doctor_facts *f, struct doctor_report *r)
{
	doctor_rule_kernel(f, r);
	doctor_rule_sndbuf(f, r);
	doctor_rule_rcvbuf(f, r);
	doctor_rule_keepalive_sysctls(f, r);
	doctor_rule_tcp_without_keepalive(f, r);
	doctor_rule_neigh_table(f, r);
	doctor_rule_neigh_timers(f, r);
}

bool doctor_at_risk(const struct doctor_report *r)
{
	for (int i = 0; i < r->nr; i++)
		if (r->findings[i].severity >= DOCTOR_WARN)
			return true;
	return false;
}

void doctor_render_text(const struct doctor_report *r, struct strbuf *out)
{
	for (int i = 0; i < r->nr; i++) {
		const struct doctor_finding *d = &r->findings[i];

		/* Subjects and evidence carry interface names: bytes, perhaps not UTF-8. */
		strbuf_printf(out, "%s %s ", severity_name[d->severity], d->rule);
		strbuf_text(out, d->subject, TEXT_PLAIN);
		strbuf_puts(out, ": ");
		strbuf_text(out, d->evidence, TEXT_PLAIN);
		if (d->fix[0]) {
			strbuf_puts(out, "; fix: ");
			strbuf_text(out, d->fix, TEXT_PLAIN);
		}
		strbuf_putc(out, '\n');
	}
	if (!doctor_at_risk(r))
		strbuf_puts(out, "ok: nothing at risk\n");
}

void doctor_render_json(const struct doctor_report *r, struct strbuf *out)
{
	strbuf_printf(out, "{\"at_risk\":%s,\"findings\":[", doctor_at_risk(r) ? "true" : "false");
	for (int i = 0; i < r->nr; i++) {
		const struct doctor_finding *d = &r->findings[i];

		strbuf_puts(out, i ? ",{\"severity\":" : "{\"severity\":");
		strbuf_json_string(out, severity_name[d->severity]);
		strbuf_puts(out, ",\"rule\":");
		strbuf_json_string(out, d->rule);
		strbuf_puts(out, ",\"subject\":");
		strbuf_json_string(out, d->subject);
		strbuf_puts(out, ",\"evidence\":");
		strbuf_json_string(out, d->evidence);
		strbuf_puts(out, ",\"fix\":");
		strbuf_json_string(out, d->fix);
		strbuf_putc(out, '}');
	}
	strbuf_puts(out, "]}\n");
}

int doctor_main(int argc, char **argv)
{
	struct doctor_facts *facts = calloc(1, sizeof(*facts));
	struct doctor_report *report = calloc(1, sizeof(*report));
	char **agent_argv = calloc((size_t)argc + 1, sizeof(char *));
	int agent_argc = 0, status = 2;
	bool json = false;
	struct config cfg;
	struct strbuf out;

	if (!facts || !report || !agent_argv) {
		fprintf(stderr, "sipwatch doctor: out of memory\n");
		goto out;
	}
	/* argv[0] is "doctor"; every agent flag is accepted, so `doctor $SIPWATCH_ARGS` works. */
	agent_argv[agent_argc++] = "sipwatch";
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;

		if (!strncmp(argv[i], "--format=", 9))
			v = argv[i] + 9;
		else if (!strcmp(argv[i], "--format") && i + 1 < argc)
			v = argv[++i];
		else if (!strcmp(argv[i], "--format")) {
			fprintf(stderr, "sipwatch: --format: needs a value (see --help)\n");
			goto out;
		}
		if (!v) {
			agent_argv[agent_argc++] = argv[i];
			continue;
		}
		if (strcmp(v, "text") && strcmp(v, "json")) {
			fprintf(stderr, "sipwatch: --format: expected text or json, got \"%s\"\n",
				v);
			goto out;
		}
		json = !strcmp(v, "json");
	}
	switch (options_parse(&cfg, agent_argc, agent_argv)) {
	case OPTIONS_EXIT_OK:
		status = 0;
		goto out;
	case OPTIONS_EXIT_USAGE:
		goto out;
	case OPTIONS_RUN:
		break;
	}
	/* The trial start of the probes logs what it does; only errors matter here. */
	log_setup(LOG_ERROR, cfg.log_format);
	if (doctor_gather(facts, &cfg)) {
		status = 2;
		goto out;
	}
	doctor_run_rules(facts, report);
	strbuf_init(&out);
	if (json)
		doctor_render_json(report, &out);
	else
		doctor_render_text(report, &out);
	fputs(out.data ? out.data : "", stdout);
	strbuf_free(&out);
	status = doctor_at_risk(report) ? 1 : 0;
out:
	free(agent_argv);
	free(report);
	free(facts);
	return status;
}
