/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's configuration: what the flags decided, as one struct every layer may read. A leaf
 * module: it includes only libc and the ABI headers of include/, so any agent file can depend on
 * it without depending on the parser (agent/options.c, at the top) or on a concern.
 */
#ifndef SIPWATCH_CONFIG_H
#define SIPWATCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sipwatch.h"

/* --neigh.refresh (agent/refresh.c). */
enum refresh_mode { REFRESH_OFF, REFRESH_USE, REFRESH_MANAGED };

struct config {
	char listen_address[256];
	char telemetry_path[256];
	char web_config_file[256]; /* --web.config.file; loaded into web_config while parsing */
	uint16_t sip_ports[SIPWATCH_MAX_SIP_PORTS];
	int nr_sip_ports;
	int log_level;	/* enum log_level (agent/log.h) */
	int log_format; /* enum log_format (agent/log.h) */
	bool netns_all;
	bool bpf_stats;
	char probe_disable[512];     /* comma-separated probe names not to attach */
	uint64_t stall_threshold_ns; /* --stall.threshold: a send call this slow is a stall */
	int stall_hook;		     /* --stall.hook: enum sendq_rung (include/sendq_abi.h) */
	unsigned int neigh_incident_interval; /* seconds between identical neigh incident lines */
	int neigh_refresh;		      /* enum refresh_mode */
	uint64_t neigh_refresh_window_ms;     /* a SIP peer active this recently is a candidate */
	double neigh_refresh_rate;	      /* refresh requests per second, at most */
	bool neigh_failfast;
	uint32_t neigh_events_ring_kib; /* ring buffer for neighbour incidents, KiB (power of 2) */
	/* --tcp.keepalive: enforced on SIP TCP connections; idle 0 = no policy. One array, in the
	 * order of the flag's value (IDLE,INTERVAL,COUNT), so one list parser fills it. */
	union {
		uint32_t tcp_keepalive[3];
		struct {
			uint32_t tcp_keepalive_idle, tcp_keepalive_intvl, tcp_keepalive_probes;
		};
	};
	uint32_t tcp_user_timeout_ms; /* --tcp.user-timeout; 0 = no policy */
	bool tcp_policy_all_netns;    /* --tcp.policy-all-netns: the policy in every namespace */
	char ifaces[256];	      /* --ifaces: comma-separated; empty = every up non-loopback */
	int xdp_mode;		      /* enum sip_xdp_mode (agent/sip.h) */
	uint32_t peers_max;	      /* --peers.max: size of the kernel's SIP peer table */
	uint64_t peers_idle_timeout_ms; /* --peers.idle-timeout: peers idle this long are dropped */
	uint32_t metrics_peer_series;	/* --metrics.peer-series: cap on per-peer series */
	uint32_t sip_transactions_max;	/* --sip.transactions-max: 0 = no transaction tracking */
	uint32_t sip_registrations_max; /* --sip.registrations-max */
};

/*
 * --tcp.user-timeout below this (but not 0) is refused: one or two lost segments would reach it
 * (the first retransmissions come 1, 2 and 4 s apart with the kernel's initial RTO of 1 s),
 * taking down every SIP trunk at once on a moment's packet loss.
 */
#define TCP_USER_TIMEOUT_MIN_MS 10000u

/* A name an enum-valued flag accepts and the value it stands for; tables end with {NULL}. */
struct config_enum {
	const char *name;
	int value;
};

extern const struct config_enum refresh_mode_names[];
extern const struct config_enum stall_hook_names[];

/* The name of @value in @table, "unknown" if it has none (for log lines and probe labels). */
const char *config_enum_name(const struct config_enum *table, int value);
/* "auto", "fentry", "tracepoint", "syscalls": --stall.hook's values (enum sendq_rung). */
const char *stall_hook_name(int hook);

bool config_is_sip_port(const struct config *cfg, uint16_t port);
/* Is probe @name listed in --probe.disable? */
bool config_probe_disabled(const struct config *cfg, const char *name);

#endif
