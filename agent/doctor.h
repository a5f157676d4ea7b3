/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `sipwatch doctor`: audit the host's network namespace against the failure modes sipwatch watches
 * for. Facts are gathered once (sysctls, sockets through sock_diag, neighbour counts through
 * rtnetlink, a trial start of every probe) into struct doctor_facts; every rule is a pure function
 * of those facts that appends findings, so each rule is unit-tested with fixture values.
 */
#ifndef SIPWATCH_DOCTOR_H
#define SIPWATCH_DOCTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "strbuf.h"

#define DOCTOR_MAX_IFACES   32
#define DOCTOR_MAX_SOCKETS  512
#define DOCTOR_MAX_PROBES   64
#define DOCTOR_MAX_FINDINGS 256

/* A shared SIP socket should survive this many dead peers before its send buffer is full. */
#define DOCTOR_DEAD_PEERS_TARGET 8
/* Dead-connection detection a signalling link can live with (GnuGk: 60 + 3 x 10 = 90 s). */
#define DOCTOR_KEEPALIVE_BOUND_S 120
/* Longer than the kernel default (3 x 1 s) queued behind an unanswered ARP/NDP resolution. */
#define DOCTOR_HOLD_BOUND_MS 3000
/*
 * A SIP UDP socket's receive buffer should absorb a burst of this many datagrams at least (every
 * phone re-registering at once after a switch reboot; more when more SIP peers are connected),
 * each costing DOCTOR_DATAGRAM_TRUESIZE bytes in the queue: the truesize of a ~1.1 KB datagram.
 */
#define DOCTOR_RCV_BURST_MIN	 256
#define DOCTOR_DATAGRAM_TRUESIZE 2304
/* Below this, entries go stale and are re-validated so often that resolution churn shows. */
#define DOCTOR_MIN_REACHABLE_MS 15000

enum doctor_family { DOCTOR_IPV4, DOCTOR_IPV6, DOCTOR_NR_FAMILIES };

/* /proc/sys/net/{ipv4,ipv6}/neigh/<ifname>/ */
struct doctor_neigh_parms {
	bool present;
	uint32_t unres_qlen_bytes;
	uint32_t base_reachable_time_ms;
	uint32_t retrans_time_ms;
	uint32_t gc_stale_time_s;
	uint32_t delay_first_probe_time_s;
	uint32_t mcast_solicit;
	uint32_t ucast_solicit;
	uint32_t app_solicit;
	uint32_t mcast_resolicit;
};

struct doctor_iface {
	char name[16];
	struct doctor_neigh_parms neigh[DOCTOR_NR_FAMILIES];
};

struct doctor_socket {
	bool tcp;
	bool ipv6;
	bool listening;
	bool established;
	bool keepalive_timer; /* TCP: the keepalive timer is armed (SO_KEEPALIVE) */
	char local[64];	      /* "addr:port" / "[addr]:port" */
	char remote[64];
	uint16_t local_port;
	uint16_t remote_port;
	uint32_t sndbuf; /* SO_SNDBUF as the kernel holds it (already doubled) */
	uint32_t rcvbuf; /* SO_RCVBUF likewise */
};

struct doctor_probe {
	char name[64];
	bool up;
};

struct doctor_facts {
	uint32_t keepalive_time_s;
	uint32_t keepalive_intvl_s;
	uint32_t keepalive_probes;
	uint32_t rmem_max;	     /* net.core.rmem_max: the cap on SO_RCVBUF (0: unknown) */
	uint32_t netdev_max_backlog; /* net.core.netdev_max_backlog (0: unknown) */
	uint32_t gc_thresh[DOCTOR_NR_FAMILIES][3]; /* gc_thresh1..3 */
	uint32_t neighbours[DOCTOR_NR_FAMILIES];   /* entries in the neighbour table */
	uint32_t sip_peers[DOCTOR_NR_FAMILIES];	   /* distinct remote addresses on SIP sockets */
	int nr_ifaces;
	struct doctor_iface ifaces[DOCTOR_MAX_IFACES];
	int nr_sockets;
	struct doctor_socket sockets[DOCTOR_MAX_SOCKETS];
	bool btf;
	bool probes_checked; /* false: could not try (why in probes_why) */
	char probes_why[160];
	int nr_probes;
	struct doctor_probe probes[DOCTOR_MAX_PROBES];
};

enum doctor_severity { DOCTOR_INFO, DOCTOR_WARN, DOCTOR_CRIT };

struct doctor_finding {
	enum doctor_severity severity;
	char rule[32];
	char subject[96];
	char evidence[384];
	char fix[256];
};

struct doctor_report {
	int nr;
	struct doctor_finding findings[DOCTOR_MAX_FINDINGS];
};

/* The rules: pure functions of @f that append findings to @r. */
void doctor_rule_sndbuf(const struct doctor_facts *f, struct doctor_report *r);
void doctor_rule_rcvbuf(const struct doctor_facts *f, struct doctor_report *r);
void doctor_rule_keepalive_sysctls(const struct doctor_facts *f, struct doctor_report *r);
void doctor_rule_tcp_without_keepalive(const struct doctor_facts *f, struct doctor_report *r);
void doctor_rule_neigh_table(const struct doctor_facts *f, struct doctor_report *r);
void doctor_rule_neigh_timers(const struct doctor_facts *f, struct doctor_report *r);
void doctor_rule_kernel(const struct doctor_facts *f, struct doctor_report *r);
void doctor_run_rules(const struct doctor_facts *f, struct doctor_report *r);

/* Highest severity in @r; exit status 1 when WARN or CRIT. */
bool doctor_at_risk(const struct doctor_report *r);
void doctor_render_text(const struct doctor_report *r, struct strbuf *out);
void doctor_render_json(const struct doctor_report *r, struct strbuf *out);

/* Gather facts about the current network namespace (agent/doctor_facts.c). */
int doctor_gather(struct doctor_facts *f, const struct config *cfg);
/* "sipwatch_probe_up{probe=\"x\"} 1" lines of an exposition → f->probes. */
void doctor_parse_probe_up(struct doctor_facts *f, const char *exposition);

/* `sipwatch doctor [--format=text|json] [agent flags]`: the exit status. */
int doctor_main(int argc, char **argv);

#endif
