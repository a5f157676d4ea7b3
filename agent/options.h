/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Command-line options, declared once in a table (name, value name, default, help, parser) so that
 * --help, the README's flag table and the parser cannot disagree. A bad flag or value is one
 * error line naming the flag and exit status 2.
 */
#ifndef SIPWATCH_OPTIONS_H
#define SIPWATCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "sipwatch.h"

struct config {
	char listen_address[256];
	char telemetry_path[256];
	uint16_t sip_ports[SIPWATCH_MAX_SIP_PORTS];
	int nr_sip_ports;
	enum log_level log_level;
	enum log_format log_format;
	bool netns_all;
	bool bpf_stats;
	char probe_disable[512];     /* comma-separated probe names not to attach */
	uint64_t stall_threshold_ns; /* --stall.threshold: a send call this slow is a stall */
	int stall_hook;		     /* --stall.hook: enum sendq_rung (include/sendq_abi.h) */
	unsigned int neigh_incident_interval; /* seconds between identical neigh incident lines */
	int neigh_refresh;		      /* enum refresh_mode (agent/refresh.h) */
	uint64_t neigh_refresh_window_ms;     /* a SIP peer active this recently is a candidate */
	double neigh_refresh_rate;	      /* refresh requests per second, at most */
	bool neigh_failfast;
	uint32_t neigh_events_ring_kib; /* ring buffer for neighbour incidents, KiB (power of 2) */
	/* --tcp.keepalive: enforced on SIP TCP connections; idle 0 = no policy */
	unsigned tcp_keepalive_idle, tcp_keepalive_intvl, tcp_keepalive_probes; /* s, s, count */
	unsigned tcp_user_timeout_ms; /* --tcp.user-timeout; 0 = no policy */
	bool tcp_policy_all_netns;    /* --tcp.policy-all-netns: the policy in every namespace */
	char ifaces[256];	      /* --ifaces: comma-separated; empty = every up non-loopback */
	int xdp_mode;		      /* enum sip_xdp_mode (agent/sip.h) */
	uint32_t peers_max;	      /* --peers.max: size of the kernel's SIP peer table */
	uint64_t peers_idle_timeout_ms; /* --peers.idle-timeout: peers idle this long are dropped */
	uint32_t metrics_peer_series;	/* --metrics.peer-series: cap on per-peer series */
	uint32_t sip_transactions_max;	/* --sip.transactions-max: 0 = no transaction tracking */
	uint32_t sip_registrations_max; /* --sip.registrations-max */
};

/* --tcp.user-timeout below this (but not 0) is refused: see parse_tcp_user_timeout(). */
#define TCP_USER_TIMEOUT_MIN_MS 10000u

struct option_def {
	const char *name;    /* without the leading "--" */
	const char *metavar; /* NULL for a boolean flag */
	const char *def;     /* default, as it would be typed */
	const char *help;
	int (*parse)(struct config *cfg, const char *value, char *err, size_t errlen);
};

extern const struct option_def option_table[];
extern const size_t option_count;

enum options_result { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_EXIT_USAGE };

/*
 * Fill @cfg with defaults, then parse @argv. Prints --help/--version itself; on a bad flag
 * writes "sipwatch: <message>" to stderr and returns OPTIONS_EXIT_USAGE.
 */
enum options_result options_parse(struct config *cfg, int argc, char **argv);
void options_usage(FILE *out);
bool config_is_sip_port(const struct config *cfg, uint16_t port);
/* "auto", "fentry", "tracepoint", "syscalls": --stall.hook's values (enum sendq_rung). */
const char *stall_hook_name(int hook);
/* Is probe @name listed in --probe.disable? */
bool config_probe_disabled(const struct config *cfg, const char *name);

#endif
