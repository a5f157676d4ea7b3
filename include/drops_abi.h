/* SPDX-License-Identifier: GPL-2.0-only */
/* Records shared by bpf/drops.bpf.c and agent/drops.c: SIP packets the kernel dropped. */
#ifndef SIPWATCH_DROPS_ABI_H
#define SIPWATCH_DROPS_ABI_H

#include "sipwatch.h"

#define DROPS_DIR_RX 0
#define DROPS_DIR_TX 1

/* sipwatch_sip_drops_total: per kernel drop reason (the number; the agent names it from BTF). */
struct drops_key {
	__u32 reason; /* enum skb_drop_reason of the running kernel */
	__u16 port; /* the SIP port: this host's side of the packet if it is one, else the peer's */
	__u8 proto; /* IPPROTO_UDP, IPPROTO_TCP */
	__u8 dir;   /* DROPS_DIR_* */
};

/* The drops of one socket (the receiving one, or the sender's), for the sip_drops incident. */
struct drops_sock_key {
	__u64 sk;
	__u32 reason;
	__u8 dir;
	__u8 pad[3];
};

struct drops_sock {
	__u64 count;
	__u64 first_ns; /* bpf_ktime_get_ns of the first and the last drop */
	__u64 last_ns;
	__u32 ino; /* the socket's inode (0: a socket no process holds) */
	__u32 netns_ino;
	__u16 port; /* SIP port, as in drops_key */
	__u16 local_port;
	__u16 peer_port; /* of the last dropped packet */
	__u8 proto;
	__u8 family; /* SW_AF_* */
	__u8 local_addr[16];
	__u8 peer_addr[16];
};

#endif /* SIPWATCH_DROPS_ABI_H */
