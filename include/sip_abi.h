/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Records shared by bpf/sip.bpf.c, include/sip_parse.h and agent/sip.c, agent/peers.c: what one
 * SIP segment is classified as, the per-CPU counter layout, and the peer table's key and value.
 */
#ifndef SIPWATCH_SIP_ABI_H
#define SIPWATCH_SIP_ABI_H

#include "sipwatch.h"

/*
 * What the classifier makes of one UDP datagram or TCP segment on a SIP port. SIP_NONE is not
 * counted (no payload, not SIP traffic at all). The order fixes the label tables in agent/sip.c.
 */
enum sip_kind {
	SIP_NONE = 0,
	/* requests: the RFC 3261 family, then any other method token */
	SIP_REQ_INVITE,
	SIP_REQ_REGISTER,
	SIP_REQ_OPTIONS,
	SIP_REQ_ACK,
	SIP_REQ_BYE,
	SIP_REQ_CANCEL,
	SIP_REQ_NOTIFY,
	SIP_REQ_SUBSCRIBE,
	SIP_REQ_PRACK,
	SIP_REQ_UPDATE,
	SIP_REQ_INFO,
	SIP_REQ_REFER,
	SIP_REQ_MESSAGE,
	SIP_REQ_PUBLISH,
	SIP_REQ_OTHER,
	/* responses by class */
	SIP_RESP_1XX,
	SIP_RESP_2XX,
	SIP_RESP_3XX,
	SIP_RESP_4XX,
	SIP_RESP_5XX,
	SIP_RESP_6XX,
	/* keepalives (RFC 5626) */
	SIP_KA_CRLF_PING,
	SIP_KA_CRLF_PONG,
	SIP_KA_STUN_REQUEST,
	SIP_KA_STUN_RESPONSE,
	/* segments on a SIP port that do not start a SIP message: counted, never as SIP */
	SIP_UNPARSED_TLS,	    /* a TLS record (SIP over TLS, 5061) */
	SIP_UNPARSED_TCP_MIDSTREAM, /* a TCP segment that continues a message (or is not SIP) */
	SIP_UNPARSED_UDP_NOT_SIP,   /* a UDP datagram that is none of the above */
	SIP_KIND_MAX,
};

#define SIP_FIRST_REQUEST   SIP_REQ_INVITE
#define SIP_FIRST_RESPONSE  SIP_RESP_1XX
#define SIP_FIRST_KEEPALIVE SIP_KA_CRLF_PING
#define SIP_FIRST_UNPARSED  SIP_UNPARSED_TLS

enum sip_direction { SIP_DIR_RX = 0, SIP_DIR_TX = 1, SIP_DIR_MAX };
enum sip_transport { SIP_TRANSPORT_UDP = 0, SIP_TRANSPORT_TCP = 1, SIP_TRANSPORT_MAX };

/* Index into the per-CPU counter array "sip_counts". */
#define SIP_COUNTER_INDEX(dir, transport, kind)                                                    \
	((((dir)*SIP_TRANSPORT_MAX) + (transport)) * SIP_KIND_MAX + (kind))
#define SIP_NR_COUNTERS (SIP_DIR_MAX * SIP_TRANSPORT_MAX * SIP_KIND_MAX)

/*
 * Peer tables (LRU hashes in the kernel), one per family: sip_peers4 keyed by the IPv4 address
 * (__be32), sip_peers6 by the IPv6 address (16 bytes). One entry per remote address seen in SIP
 * traffic. Two maps, not one keyed by family + 16 bytes: hashing and comparing a 4-byte key is
 * most of what a SIP packet costs the classifier (make bench: about 9 ns of 30).
 *
 * Verified and unverified peers: a UDP source address is only a header field anyone can forge,
 * and one forged "\r\n\r\n" per address would otherwise create a peer. A peer is verified once
 * the PBX sends it a request or a ping (it chose to contact that address), or on its first TCP
 * message (a handshake took place). Unverified sources live in sip_unverified4/6, a second pair
 * of LRU maps of the same size, so a flood of them evicts only each other; the agent lists them
 * (verified first) but never makes them refresh or fail-fast candidates.
 *
 * The agent's own table (agent/peers.c) names a peer by family + address:
 */
struct sip_peer_key {
	__u8 family; /* SW_AF_INET / SW_AF_INET6 */
	__u8 pad[3];
	__u8 addr[16]; /* IPv4 in the first 4 bytes, the rest zero */
};

struct sip_peer_value {
	__u64
	    last_rx_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last message from the peer */
	__u64 last_tx_ns;  /* ... and to it; 0 = never */
	__u64 rx_messages; /* classified messages and keepalives, not unparsed segments */
	__u64 tx_messages;
	__u32 ifindex; /* interface the last message crossed */
	__u32 pad;
};

/*
 * One SIP message handed to the agent (ring buffer "sip_msgs", bpf/sip.bpf.c): the first
 * SIP_MSG_COPY bytes of a datagram or TCP segment that starts a request or a response, with where
 * it came from. The agent parses the headers (agent/sip_msg.c) and tracks transactions and
 * registrations; docs/sip-harm.md has the measurements behind copying rather than extracting
 * the fields in the kernel. Keepalives and unparsed segments are never copied.
 */
#define SIP_MSG_COPY 1024 /* a power of two: the copy length is masked, not tested */

struct sip_msg_event {
	__u64 ts_ns;	/* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 ifindex;	/* interface it crossed */
	__u16 copied;	/* bytes in data[], 1..SIP_MSG_COPY */
	__u16 msg_len;	/* the payload's length in the packet (copied < msg_len: truncated) */
	__u8 dir;	/* SIP_DIR_* */
	__u8 transport; /* SIP_TRANSPORT_* */
	__u8 family;	/* SW_AF_* */
	__u8 kind;	/* enum sip_kind the classifier gave it */
	__u16 sport;	/* host byte order */
	__u16 dport;
	__u8 saddr[16]; /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u8 data[SIP_MSG_COPY];
};

#endif /* SIPWATCH_SIP_ABI_H */
