/* SPDX-License-Identifier: GPL-2.0-only */
/* Records shared by bpf/sendq.bpf.c and agent/sendq.c: send calls on SIP sockets. */
#ifndef SIPWATCH_SENDQ_ABI_H
#define SIPWATCH_SENDQ_ABI_H

#include "sipwatch.h"

#define SENDQ_PROTO_UDP 17 /* IPPROTO_UDP */
#define SENDQ_PROTO_TCP 6  /* IPPROTO_TCP */

/*
 * Upper bounds (microseconds) of sipwatch_send_blocked_seconds: 1-2.5-5 steps from 100 us to 10 s.
 * A healthy send lands in the first bucket; a send parked behind dead peers' neighbour queues
 * (about 3 s with the default probe settings) lands in the 5 s one.
 */
#define SENDQ_BUCKET_BOUNDS_US                                                                     \
	{                                                                                          \
		100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,      \
		    1000000, 2500000, 5000000, 10000000                                            \
	}
#define SENDQ_NR_BOUNDS	 16
#define SENDQ_NR_BUCKETS (SENDQ_NR_BOUNDS + 1) /* the last one is +Inf */

/* Error classes of sipwatch_send_errors_total{error}, in label order of sendq_error_name(). */
enum sendq_error {
	SENDQ_ERR_EAGAIN,
	SENDQ_ERR_ENOBUFS,
	SENDQ_ERR_EHOSTUNREACH,
	SENDQ_ERR_ENETUNREACH,
	SENDQ_ERR_ECONNREFUSED,
	SENDQ_ERR_EPERM,
	SENDQ_ERR_OTHER,
	SENDQ_NR_ERRORS,
};

/* Syscall numbers of the send calls, from the agent (its own architecture's <sys/syscall.h>). */
struct sendq_syscalls {
	__s32 write;
	__s32 writev;
	__s32 sendto;
	__s32 sendmsg;
	__s32 sendmmsg;
};

/*
 * Per-(proto, SIP port) statistics: a per-CPU array with one slot per configured SIP port and
 * protocol, slot = index in --sip.ports * 2 + (1 for TCP). The agent sums the CPUs.
 */
#define SENDQ_NR_SLOTS (SIPWATCH_MAX_SIP_PORTS * 2)

struct sendq_stats {
	__u64 buckets[SENDQ_NR_BUCKETS]; /* per bucket, not cumulative */
	__u64 sum_ns;
	__u64 stalls;
	__u64 errors[SENDQ_NR_ERRORS];
};

/*
 * A send on a SIP socket in progress, per thread (bpf/sendq.bpf.c's sendq_calls). At most
 * SENDQ_MAX_CALLS threads are tracked at once: the map is preallocated (the sched_switch hook may
 * not allocate) and LRU (an entry whose end was never seen is evicted, not leaked).
 */
#define SENDQ_MAX_CALLS 4096

struct sendq_call {
	__u64 start_ns;	 /* fentry, syscalls: the call's start; tracepoint: its first sleep */
	__u64 sk;	 /* struct sock * */
	__u64 asleep_ns; /* tracepoint: when the current sleep began; 0 while the thread runs */
	__u64 slept_ns;	 /* tracepoint: the sleeps of this send so far */
	__u16 port;
	__u8 proto;
	__u8 slot;
	__u8 pad[4];
};

/* How send calls are timed: the hooks of bpf/sendq.bpf.c the agent loads (--stall.hook). */
enum sendq_rung {
	SENDQ_RUNG_AUTO,       /* fentry where the kernel allows it, else tracepoint */
	SENDQ_RUNG_FENTRY,     /* fentry/fexit on inet_sendmsg, inet6_sendmsg */
	SENDQ_RUNG_TRACEPOINT, /* tp_btf sock_send_length + sched_switch (6.3+) */
	SENDQ_RUNG_SYSCALLS,   /* raw sys_enter/sys_exit: costs every system call of the host */
	SENDQ_NR_RUNGS,
};

/* Ring-buffer record: a send call that took at least the stall threshold. */
struct sendq_stall_event {
	struct sipwatch_event_hdr hdr; /* ts_ns = when the call returned */
	__u64 sk;
	__u64 start_ns; /* when the call entered the kernel (bpf_ktime_get_ns) */
	__u64 blocked_ns;
	__s64 ret;
	__u32 pid; /* tgid */
	__u32 tid;
	char comm[16];
	__u32 sndbuf;
	__u16 sip_port;
	__u16 local_port;
	__u8 proto;
	__u8 family; /* SW_AF_* */
	__u8 pad[2];
	__u8 local_addr[16]; /* IPv4 in the first 4 bytes */
};

/* Written by the iter/udp and iter/tcp programs, one per SIP socket, read by the agent. */
struct sendq_sock_record {
	__u64 sk;
	__u32 queued;	   /* UDP: sk_wmem_alloc - 1; TCP: write_seq - snd_una */
	__u32 wmem_queued; /* TCP: sk_wmem_queued (what SO_SNDBUF limits); UDP: = queued */
	__u32 sndbuf;	   /* sk_sndbuf */
	__u16 local_port;
	__u16 remote_port;
	__u8 proto;
	__u8 family;
	__u8 state; /* TCP state (TCP_ESTABLISHED = 1 ...); UDP: 7 (CLOSE) or 1 (connected) */
	__u8 pad;
	__u8 local_addr[16];
	__u8 remote_addr[16];
	/* the receive side, for sipwatch_socket_receive_* */
	__u32 rx_drops;	 /* the kernel's own count of packets dropped for this socket (sk_drops) */
	__u32 rx_queued; /* bytes in the receive queue (sk_rmem_alloc) */
	__u32 rcvbuf;	 /* sk_rcvbuf (SO_RCVBUF as the kernel doubled it) */
	__u32 pad2;
};

#endif /* SIPWATCH_SENDQ_ABI_H */
