/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Records shared by bpf/tcp.bpf.c, bpf/tcp_policy.bpf.c and agent/tcp.c, agent/tcp_policy.c.
 * Times the kernel keeps in jiffies travel as jiffies; the agent converts them (it knows HZ).
 */
#ifndef SIPWATCH_TCP_ABI_H
#define SIPWATCH_TCP_ABI_H

#include "sipwatch.h"

/* Why the kernel gave up on a connection (label value of ..._timeouts_total{cause}). */
enum tcp_timeout_cause {
	TCP_CAUSE_KEEPALIVE = 0,
	TCP_CAUSE_RETRANSMISSION,
	TCP_CAUSE_USER_TIMEOUT,
	TCP_CAUSE_UNREACHABLE,
	TCP_CAUSE_MAX,
};

/* Counter keys: one per (SIP port, cause); the retransmit counter uses cause 0. */
struct tcp_port_key {
	__u16 port; /* the SIP port the connection matched (local first, else remote) */
	__u8 cause; /* enum tcp_timeout_cause */
	__u8 pad;
};

/* What the BPF side remembers about one SIP connection, keyed by its struct sock address. */
struct tcp_conn_track {
	__u64 established_ns; /* 0: established before the agent started watching */
	__u8 keepalive_reset; /* an active reset with reason TCP_KEEPALIVE_TIMEOUT was sent */
	__u8 pad[7];
};

/* Keepalive settings in force on a socket: per-socket value, or the netns sysctl when 0. */
struct tcp_keepalive_settings {
	__u32 idle_jiffies;
	__u32 intvl_jiffies;
	__u32 user_timeout_ms;
	__u8 probes;
	__u8 enabled;  /* SOCK_KEEPOPEN */
	__u8 own_idle; /* the socket sets its own value (else the sysctl applies) */
	__u8 own_intvl;
	__u8 own_probes;
	__u8 pad[3];
};

struct tcp_endpoints {
	__u8 family; /* SW_AF_INET / SW_AF_INET6 */
	__u8 state;  /* TCP state (TCP_ESTABLISHED = 1, ...) */
	__u16 sip_port;
	__u16 local_port; /* host byte order */
	__u16 remote_port;
	__u8 local_addr[16]; /* IPv4 in the first 4 bytes */
	__u8 remote_addr[16];
};

/* Ring-buffer record: the kernel closed a SIP connection for a timeout. */
struct tcp_timeout_event {
	struct sipwatch_event_hdr hdr;
	struct tcp_endpoints ep;
	struct tcp_keepalive_settings ka;
	__u64 age_ns;	    /* 0 when the establishment was not seen */
	__u32 idle_jiffies; /* since the peer last sent anything (data or ACK) */
	__s32 err;	    /* sk_err: ETIMEDOUT, EHOSTUNREACH, ... */
	__u32 uid;
	__u32 socket_ino; /* 0 when the socket has no file any more */
	__u8 cause;	  /* enum tcp_timeout_cause */
	__u8 retransmits; /* icsk_retransmits */
	__u8 probes_out;  /* icsk_probes_out */
	__u8 keepalive_reset;
	__u32 pad;
};

/*
 * One record per live SIP connection, written by the audit iterator (iter/tcp), after one clock
 * record (ep.sip_port 0, only jiffies and ktime_ns set).
 */
struct tcp_audit_record {
	struct tcp_endpoints ep;
	struct tcp_keepalive_settings ka;
	__u64 jiffies;	/* bpf_jiffies64() and bpf_ktime_get_ns() at the scan: lets the agent */
	__u64 ktime_ns; /* measure HZ when the kernel config is not readable */
	__u32 uid;
	__u32 socket_ino;
};

/* The keepalive policy the agent enforces (rodata of bpf/tcp_policy.bpf.c). */
struct tcp_policy_config {
	__u32 keepalive_idle_s; /* 0: keepalive not enforced */
	__u32 keepalive_intvl_s;
	__u32 keepalive_probes;
	__u32 user_timeout_ms; /* 0: not enforced */
};

/* What the policy iterator did to one existing connection (before → after). */
struct tcp_policy_record {
	struct tcp_endpoints ep;
	struct tcp_keepalive_settings before;
	__s32 err; /* first bpf_setsockopt error, 0 if all applied */
	__u32 pad;
};

#endif /* SIPWATCH_TCP_ABI_H */
