/* SPDX-License-Identifier: GPL-2.0-only */
/* Records shared by bpf/neigh.bpf.c and agent/neigh.c. */
#ifndef SIPWATCH_NEIGH_ABI_H
#define SIPWATCH_NEIGH_ABI_H

#include "sipwatch.h"

/* Key of the state-transition counters: one per (namespace, interface, family, new state). */
struct neigh_state_key {
	__u32 netns_ino;
	__u32 ifindex;
	char ifname[SIPWATCH_IFNAMSIZ];
	__u8 family; /* SW_AF_INET / SW_AF_INET6 */
	__u8 state;  /* SW_NUD_* the entry moved into */
	/* 1: an administrator asked for it (FAILED from `ip neigh del/flush`): counted as a state
	 * change, not as a resolution failure. Always 0 for drop keys. */
	__u8 admin;
	__u8 pad;
};

/* Why the kernel dropped a packet waiting for (or needing) a neighbour entry. */
enum neigh_drop_reason {
	NEIGH_DROP_FAILED = 0,	  /* the entry went FAILED with the packet in its queue */
	NEIGH_DROP_QUEUE_FULL,	  /* evicted: the queue was over unres_qlen_bytes */
	NEIGH_DROP_DEAD,	  /* sent to an entry being destroyed */
	NEIGH_DROP_CREATE_FAILED, /* no entry could be created (table full) */
	NEIGH_DROP_NR,
};

/* Drop counters reuse the transition key: state holds an enum neigh_drop_reason instead. */
#define neigh_drop_key neigh_state_key

/*
 * What the BPF side remembers about one neighbour entry, keyed by its kernel address. @gen counts
 * the times the entry's unresolved queue was emptied (resolved, failed or destroyed): a socket's
 * holding (below) belongs to the queue episode whose number it carries.
 */
struct neigh_track {
	__u8 state; /* last NUD state seen */
	__u8 family;
	__u8 nr_behind; /* valid entries of behind[] */
	__u8 queued;	/* packets were queued in this episode */
	__u32 gen;
	__u32 netns_ino;
	__u32 ifindex;
	char ifname[SIPWATCH_IFNAMSIZ];
	__u8 addr[16];	     /* primary key: IPv4 in the first 4 bytes */
	__u64 incomplete_ns; /* when it last went into INCOMPLETE (0: not seen) */
	__u64 queue_bytes;   /* n->arp_queue_len_bytes when last looked at */
	__u32 queue_packets; /* n->arp_queue.qlen when last looked at */
	__u8 admin_failing;  /* neigh_update was asked for FAILED with NEIGH_UPDATE_F_ADMIN */
	__u8 pad2[3];
	__u64 first_queued_ns; /* first packet queued in this episode */
#define NEIGH_MAX_BEHIND 4
	/* IP destinations of queued packets other than the entry's own address (it is a gateway):
	 * the first ones seen in the current queue episode. */
	__u8 behind[NEIGH_MAX_BEHIND][16];
};

/*
 * One socket's packets parked in one entry's unresolved queue, keyed by (entry, socket). Socket 0
 * collects packets without a socket (forwarded). Kept after the queue was emptied (released_ns
 * set) until the LRU map needs the room, so that a sender that wakes up later can still be told
 * where its buffer was.
 */
struct neigh_hold_key {
	__u64 neigh; /* struct neighbour * */
	__u64 sk;    /* struct sock *, as skb->sk */
};

enum neigh_release {
	NEIGH_HELD = 0,	       /* still parked */
	NEIGH_RELEASED_SENT,   /* the entry resolved: the queue was transmitted */
	NEIGH_RELEASED_FAILED, /* the entry failed: the queue was dropped */
	NEIGH_RELEASED_GONE,   /* the entry was destroyed */
};

struct neigh_hold {
	__u64 first_ns;	   /* first packet of this episode queued */
	__u64 last_ns;	   /* last packet queued */
	__u64 released_ns; /* queue emptied (0: still parked) */
	__u64 bytes;	   /* truesize now parked (until release) */
	__u64 peak_bytes;  /* most parked at once in this episode */
	__u64 dropped_bytes;
	__u32 packets;
	__u32 peak_packets;
	__u32 queued_packets; /* packets queued in this episode */
	__u32 dropped_packets;
	__u32 gen;  /* the entry's queue episode (neigh_track.gen) */
	__u32 tgid; /* task running when the first packet was queued (the sender, for UDP) */
	char comm[16];
	__u32 netns_ino;
	__u32 ifindex;
	char ifname[SIPWATCH_IFNAMSIZ];
	__u8 addr[16]; /* the entry's address */
	__u8 family;
	__u8 proto;   /* IPPROTO_UDP/TCP/...: sk->sk_protocol, 0 without socket */
	__u16 port;   /* local port, host order */
	__u8 release; /* enum neigh_release */
	__u8 pad[7];
};

/* Where a queued skb went: to attribute its eviction (queue full) to its entry and socket. */
struct neigh_parked_skb {
	__u64 neigh;
	__u32 gen;
	__u32 pad;
};

/* INCOMPLETE → REACHABLE duration histogram: upper bounds in ns, one more bucket for +Inf. */
#define NEIGH_RES_BUCKETS 12
#define NEIGH_RES_BOUNDS_US                                                                        \
	{                                                                                          \
		1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,   \
		    5000000                                                                        \
	}
struct neigh_res_hist {
	__u64 count[NEIGH_RES_BUCKETS + 1];
	__u64 sum_ns;
};

/* A (jiffies, ktime) pair read together: two of them a second apart give the kernel's HZ. */
struct neigh_clock {
	__u64 jiffies;
	__u64 ns;
};

/* Ring-buffer record: an entry reached FAILED. */
#define NEIGH_EVENT_F_SWEPT	1 /* found by the agent's sweep: no tracepoint call reported it */
#define NEIGH_EVENT_MAX_SOCKETS 8
struct neigh_failed_socket {
	__u64 sk;
	__u64 bytes; /* parked when the entry failed (dropped with it) */
	__u64 peak_bytes;
	__u32 packets; /* parked when the entry failed = dropped */
	__u32 tgid;
	char comm[16];
	__u8 proto;
	__u8 pad;
	__u16 port;
	__u32 pad2;
};

struct neigh_failed_event {
	struct sipwatch_event_hdr hdr;
	__u64 neigh;
	__u32 ifindex;
	char ifname[SIPWATCH_IFNAMSIZ];
	__u8 family;
	__u8 old_state;
	__u8 nr_sockets; /* valid entries of sockets[] */
	__u8 nr_behind;
	__u32 probes;
	__u8 addr[16];		       /* IPv4 in the first 4 bytes */
	__u64 since_confirmed_jiffies; /* jiffies - n->confirmed */
	__u64 queued_ns;     /* how long the oldest parked packet waited (0: none queued) */
	__u64 dropped_bytes; /* every socket's parked bytes, dropped with the entry */
	__u32 dropped_packets;
	__u32 other_sockets; /* sockets beyond sockets[] (their packets are in the totals) */
	__u32 other_packets;
	__u32 flags; /* NEIGH_EVENT_F_* */
	__u64 other_bytes;
	__u8 behind[NEIGH_MAX_BEHIND][16];
	struct neigh_failed_socket sockets[NEIGH_EVENT_MAX_SOCKETS];
};

#endif /* SIPWATCH_NEIGH_ABI_H */
